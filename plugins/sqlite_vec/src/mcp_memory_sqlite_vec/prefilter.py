"""Sign codes: which rows can reach a cosine threshold, without reading the vectors.

Each vector gets 256 bits, the side of each of 256 fixed random (Gaussian) hyperplanes it lies on, packed in
four uint64 words. For two vectors at angle theta, each bit differs with probability theta / pi whatever the
data (random hyperplanes through the origin), so the number of differing bits of a pair with cosine >= t is
Binomial(256, p) with p <= arccos(t) / pi. A row whose code differs from the query's in more bits than the
point where that tail falls below ``MISS`` is skipped: each memory at or above the threshold is kept with
probability at least 1 - MISS (1e-9), and the survivors get the exact cosine. XOR and popcount over 32 bytes a
row (``np.bitwise_count``) cost a fraction of a millisecond at 100k rows.

The codes take about 0.3 to 0.6 s per 100k vectors to compute: a process computes them at its third
near-duplicate check (or in ``warm_up``), so that a one-shot command answers its check with one exact scan
instead; then they are kept in step with the rows.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

BITS = 256
WORDS = BITS // 64
MISS = 1e-9  # bound on the probability that one memory at or above the threshold is skipped
SEED = 0x5EED_C0DE
CHUNK = 8192  # rows projected at once while computing codes (bounds the temporary)
SLACK = 1e-6  # float32 rounding of a cosine at the threshold
LAZY_CHECKS = 2  # checks answered by an exact scan before the codes are computed


@lru_cache(maxsize=64)
def cutoff(threshold: float) -> int | None:
    """Most differing bits a pair with cosine >= ``threshold`` shows except with probability ``MISS``; None when
    the threshold is so low that the codes would skip little (the caller scans every row)."""
    if threshold <= 0.0:
        return None
    p = math.acos(min(1.0, threshold - SLACK)) / math.pi
    tail = 0.0
    for h in range(BITS, -1, -1):
        mass = math.comb(BITS, h) * p ** h * (1 - p) ** (BITS - h)
        if tail + mass > MISS:
            return h if h < 0.4 * BITS else None
        tail += mass
    return 0


class SignCodes:
    """The codes of an index's rows, in a (WORDS, capacity) array so that each word is one contiguous pass."""

    def __init__(self, dimension: int):
        self.planes = np.random.default_rng(SEED).standard_normal((dimension, BITS)).astype(np.float32)
        self._codes: np.ndarray | None = None
        self._scratch: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._checks = 0

    @property
    def active(self) -> bool:
        return self._codes is not None

    def encode(self, rows: np.ndarray) -> np.ndarray:
        """(WORDS, len(rows)) codes of ``rows``."""
        out = np.empty((WORDS, len(rows)), dtype=np.uint64)
        for i in range(0, len(rows), CHUNK):
            bits = (rows[i:i + CHUNK] @ self.planes) > 0
            out[:, i:i + CHUNK] = np.packbits(bits, axis=1, bitorder="little").view(np.uint64).T
        return out

    def clear(self) -> None:
        self._codes = self._scratch = None

    def ensure(self, rows: np.ndarray, n: int) -> None:
        """Compute the codes of ``rows[:n]`` unless they are there."""
        if self._codes is None:
            self._codes = np.zeros((WORDS, max(len(rows), 1)), dtype=np.uint64)
            self._codes[:, :n] = self.encode(rows[:n])

    def keep(self, mask: np.ndarray, count: int) -> None:
        if self._codes is not None:
            self._codes[:, :count] = self._codes[:, :len(mask)][:, mask]

    def append(self, rows: np.ndarray, start: int, capacity: int) -> None:
        if self._codes is None:
            return
        if capacity > self._codes.shape[1]:
            bigger = np.zeros((WORDS, capacity), dtype=np.uint64)
            bigger[:, :start] = self._codes[:, :start]
            self._codes, self._scratch = bigger, None
        self._codes[:, start:start + len(rows)] = self.encode(rows)

    def candidates(self, query: np.ndarray, threshold: float, rows: np.ndarray, n: int) -> np.ndarray | None:
        """Positions of the rows that may reach ``threshold`` with the unit ``query``; None: scan them all."""
        most = cutoff(round(float(threshold), 9))
        if most is None:
            return None
        if self._codes is None and self._checks < LAZY_CHECKS:
            self._checks += 1
            return None
        self.ensure(rows, n)
        assert self._codes is not None
        if self._scratch is None or len(self._scratch[0]) < n:
            size = self._codes.shape[1]
            self._scratch = (np.empty(size, np.uint64), np.empty(size, np.uint8), np.empty(size, np.uint8))
        word, bits, total = (a[:n] for a in self._scratch)
        code = self.encode(query[None, :])[:, 0]
        for w in range(WORDS):  # uint8 sums: only a pair differing in all 256 bits wraps (to 0: a false candidate)
            np.bitwise_xor(self._codes[w, :n], code[w], out=word)
            np.bitwise_count(word, out=bits if w else total)
            if w:
                np.add(total, bits, out=total)
        return np.flatnonzero(total <= most)
