"""An in-memory float32 copy of the store's vectors for exact nearest-neighbour search with numpy.

A matrix-vector product over every row is several times faster than sqlite-vec's brute-force ``vec0`` scan
and returns the same exact top-k. The copy loads lazily on the first search and stays in step with the file
through the ``vector_changes`` log that triggers on ``memories`` fill in the same transaction as every
insert and delete, by this process or any other: each search first applies the entries it has not seen.
Only the store's worker thread touches it, so it needs no lock.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mcp_memory.logging import get_logger

log = get_logger(__name__)


class VectorIndex:
    """Row-normalised vectors with their memory ids; exact cosine top-k."""

    def __init__(self, dimension: int):
        self.dimension = dimension
        self.loaded = False
        self._seq = 0  # last vector_changes entry applied
        self._ids = np.zeros(0, dtype=np.int64)
        self._rows = np.zeros((0, dimension), dtype=np.float32)
        self._n = 0
        self._order: np.ndarray | None = None  # argsort of ids, for id -> row lookups

    def __len__(self) -> int:
        return self._n

    # -- keeping in step with the file ---------------------------------------------------------------
    def refresh(self, conn: Any) -> None:
        """Load everything on first use; later apply the change log (or reload when it was pruned past us)."""
        if self.loaded:
            changes = conn.execute("SELECT seq, memory_id, added FROM vector_changes WHERE seq > ? ORDER BY seq",
                                   (self._seq,)).fetchall()
            if not changes:
                return
            if changes[0][0] == self._seq + 1:  # writers are serialised, so only pruning leaves a gap
                self._apply(conn, changes)
                return
        self._load(conn)

    def _load(self, conn: Any) -> None:
        conn.execute("BEGIN")  # one snapshot for the log position and the vectors
        try:
            seq = conn.execute("SELECT coalesce(max(seq), 0) FROM vector_changes").fetchone()[0]
            found = read_chunks(conn, self.dimension)
            if found is None:
                log.warning("sqlite-vec chunk layout not recognised; reading vectors through vec0 (slower)")
                rows = conn.execute("SELECT rowid, embedding FROM memory_vectors").fetchall()
                found = (np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
                         np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, self.dimension))
        finally:
            conn.execute("COMMIT")
        self._ids, self._rows = found[0], _normalised(found[1])
        self._n, self._seq, self._order, self.loaded = len(self._ids), seq, None, True
        log.debug("vector index loaded", vectors=self._n)

    def _apply(self, conn: Any, changes: list[tuple[int, int, int]]) -> None:
        """Net effect of the log: every id it names is dropped, those whose last entry adds are re-read."""
        final = {memory_id: added for _, memory_id, added in changes}
        self._remove(np.fromiter(final, dtype=np.int64))
        wanted = [memory_id for memory_id, added in final.items() if added]
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            marks = ",".join("?" * len(part))
            rows = conn.execute(f"SELECT rowid, embedding FROM memory_vectors WHERE rowid IN ({marks})", part).fetchall()
            self._append(rows)
        self._seq = changes[-1][0]

    def _remove(self, ids: np.ndarray) -> None:
        if not self._n or not len(ids):
            return
        keep = ~np.isin(self._ids[:self._n], ids)
        if keep.all():
            return
        count = int(keep.sum())
        self._ids[:count] = self._ids[:self._n][keep]
        self._rows[:count] = self._rows[:self._n][keep]
        self._n, self._order = count, None

    def _append(self, rows: list[tuple[int, bytes]]) -> None:
        if not rows:
            return
        need = self._n + len(rows)
        if need > len(self._ids):
            capacity = max(need, 2 * len(self._ids), 1024)
            ids = np.zeros(capacity, dtype=np.int64)
            vectors = np.zeros((capacity, self.dimension), dtype=np.float32)
            ids[:self._n], vectors[:self._n] = self._ids[:self._n], self._rows[:self._n]
            self._ids, self._rows = ids, vectors
        self._ids[self._n:need] = [r[0] for r in rows]
        self._rows[self._n:need] = _normalised(np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                                               .reshape(len(rows), self.dimension))
        self._n, self._order = need, None

    # -- searching -----------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, candidates: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """The k nearest (memory id, cosine distance), nearest first, ties by id; among ``candidates`` if given."""
        norm = float(np.linalg.norm(query))
        if not self._n or k < 1 or norm == 0.0:
            return []
        q = (query / norm).astype(np.float32)
        if candidates is None:
            rows = None
            scores = self._rows[:self._n] @ q
        else:
            rows = self._rows_of(candidates)
            if not len(rows):
                return []
            # a full product then a gather beats gathering a large share of the rows first
            scores = (self._rows[:self._n] @ q)[rows] if 4 * len(rows) > self._n else self._rows[rows] @ q
        if k < len(scores):
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(len(scores))
        ids = self._ids[top if rows is None else rows[top]]
        order = np.lexsort((ids, -scores[top]))
        return [(int(ids[i]), float(1.0 - scores[top][i])) for i in order]

    def _rows_of(self, memory_ids: Sequence[int]) -> np.ndarray:
        if self._order is None:
            self._order = np.argsort(self._ids[:self._n], kind="stable")
        wanted = np.asarray(memory_ids, dtype=np.int64)
        sorted_ids = self._ids[:self._n][self._order]
        at = np.clip(np.searchsorted(sorted_ids, wanted), 0, max(self._n - 1, 0))
        hit = sorted_ids[at] == wanted
        return self._order[at[hit]]


def read_chunks(conn: Any, dimension: int) -> tuple[np.ndarray, np.ndarray] | None:
    """All (rowids, vectors) of ``memory_vectors`` read from vec0's own chunk tables, several times faster than
    a scan through the virtual table. Checked against vec0 (every row placed, a sample of vectors equal); None
    when the layout is not the one expected, and the caller reads through vec0 instead."""
    try:
        places = np.array(conn.execute("SELECT rowid, chunk_id, chunk_offset FROM memory_vectors_rowids").fetchall(),
                          dtype=np.int64).reshape(-1, 3)
        places = places[np.lexsort((places[:, 2], places[:, 1]))]  # by chunk, then slot: mostly runs to copy
        vectors = np.empty((len(places), dimension), dtype=np.float32)
        filled = 0
        for chunk_id, blob in conn.execute("SELECT rowid, vectors FROM memory_vectors_vector_chunks00"):
            if len(blob) % (4 * dimension):
                return None
            chunk = np.frombuffer(blob, dtype=np.float32).reshape(-1, dimension)
            lo, hi = np.searchsorted(places[:, 1], [chunk_id, chunk_id + 1])
            if lo == hi:
                continue
            slots = places[lo:hi, 2]
            if slots[-1] >= len(chunk) or slots[0] < 0:
                return None
            if slots[-1] - slots[0] == hi - lo - 1:  # a run of consecutive slots: one plain copy
                vectors[lo:hi] = chunk[slots[0]:slots[-1] + 1]
            else:
                vectors[lo:hi] = chunk[slots]
            filled += hi - lo
    except Exception:  # another sqlite-vec layout: the caller falls back
        return None
    if filled != len(places):
        return None
    for i in np.linspace(0, len(places) - 1, num=min(8, len(places)), dtype=np.int64):
        row = conn.execute("SELECT embedding FROM memory_vectors WHERE rowid = ?", (int(places[i, 0]),)).fetchone()
        if row is None or row[0] != vectors[i].tobytes():
            return None
    return places[:, 0].copy(), vectors


def _normalised(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, in place when the array is writable (zero rows stay zero)."""
    matrix = matrix if matrix.flags.writeable else matrix.copy()
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix))[:, None]  # no temporary the size of the matrix
    matrix /= np.where(norms == 0, 1.0, norms)
    return matrix
