"""An in-memory float32 copy of the live memories' vectors for exact nearest-neighbour search with numpy.

A matrix-vector product over every row is several times faster than sqlite-vec's brute-force ``vec0`` scan
and returns the same exact top-k. The copy holds live memories only (trashed ones keep their vector in
``vec0``), with each row's project as a small integer code, so a search within projects needs no SQL. It loads
lazily on the first search and stays in step with the file through the ``vector_changes`` log that every write
of any process fills in its own transaction: each search first applies the entries it has not seen.
Only the store's worker thread touches it, so it needs no lock.

``nearest_above`` (the near-duplicate check before every store) skips most rows with a 256-bit sign code per
vector (``prefilter.py``) and computes the exact cosine of the few that can reach the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from mcp_memory.errors import EmbeddingError
from mcp_memory.heap import release_free_memory
from mcp_memory.logging import get_logger
from mcp_memory.protocols import EmbeddingInfo

from . import schema
from .prefilter import SLACK, SignCodes
from .rows import chunks, transaction

log = get_logger(__name__)

Hit = tuple[int, float]  # (memory id, cosine distance)


class VectorIndex:
    """Row-normalised vectors of the live memories with their ids and project codes; exact cosine search."""

    def __init__(self, info: EmbeddingInfo):
        self.info = info
        self.dimension = info.dimension
        self.loaded = False
        self._seq = 0  # last vector_changes entry applied
        self._n = 0
        self._ids = np.zeros(0, dtype=np.int64)
        self._rows = np.zeros((0, self.dimension), dtype=np.float32)
        self._projects = np.zeros(0, dtype=np.int32)  # code of each row's project, 0 = global
        self._project_codes: dict[str | None, int] = {None: 0}
        self._order: np.ndarray | None = None  # argsort of ids, for id -> row lookups
        self.codes = SignCodes(self.dimension)

    def __len__(self) -> int:
        return self._n

    # -- keeping in step with the file ---------------------------------------------------------------
    def refresh(self, conn: Any) -> None:
        """Load everything on first use; later apply the change log (or reload when it was pruned past us)."""
        if self.loaded and not conn.execute("SELECT 1 FROM vector_changes WHERE seq > ? LIMIT 1",
                                            (self._seq,)).fetchone():
            return
        with transaction(conn, "DEFERRED"):  # one snapshot for the log position, the vectors and the projects
            if self.loaded:
                changes = conn.execute("SELECT seq, memory_id, added FROM vector_changes WHERE seq > ? ORDER BY seq",
                                       (self._seq,)).fetchall()
                if changes and changes[0][0] == self._seq + 1:  # writers are serialised: only a prune or a
                    self._apply(conn, changes)                   # re-embedding leaves a gap
                    return
            self._load(conn)

    def _load(self, conn: Any) -> None:
        recorded = schema.recorded_embedding(schema.read_meta(conn))
        if recorded != self.info:
            raise EmbeddingError(
                f"the store now holds vectors of {recorded.model if recorded else None!r} "
                f"({recorded.dimension if recorded else '?'} dims): it was re-embedded while this process ran on "
                f"{self.info.model!r}; restart it with the new model")
        seq = conn.execute("SELECT coalesce(max(seq), 0) FROM vector_changes").fetchone()[0]
        found = read_chunks(conn, self.dimension)
        if found is None:
            log.warning("sqlite-vec chunk layout not recognised; reading vectors through vec0 (slower)")
            rows = conn.execute("SELECT rowid, embedding FROM memory_vectors").fetchall()
            found = (np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
                     np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(-1, self.dimension))
        live_ids, live_codes = self._live_projects(conn)
        ids, vectors = found
        keep = np.isin(ids, live_ids)
        if not keep.all():  # trashed memories keep their vector in vec0, not here
            ids, vectors = ids[keep], vectors[keep]
        self._ids, self._rows = ids, _normalised(vectors)
        self._projects = live_codes[np.searchsorted(live_ids, ids)] if len(ids) else np.zeros(0, dtype=np.int32)
        self._n, self._seq, self._order, self.loaded = len(ids), seq, None, True
        self.codes.clear()
        release_free_memory()  # the chunks read to build it
        log.debug("vector index loaded", vectors=self._n)

    def _live_projects(self, conn: Any) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the live memories, sorted, with their project codes. The live partial index (project,
        created_at) covers both, and one comma-joined string per project is 3x faster than a row per memory."""
        groups = conn.execute("SELECT project, group_concat(id) FROM memories INDEXED BY idx_memories_project "
                              "WHERE deleted_at IS NULL GROUP BY project").fetchall()
        ids = [np.array(joined.split(","), dtype=np.int64) for _, joined in groups]
        codes = [np.full(len(part), self._code(project), dtype=np.int32)
                 for part, (project, _) in zip(ids, groups, strict=True)]
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        live_ids, live_codes = np.concatenate(ids), np.concatenate(codes)
        by_id = np.argsort(live_ids)
        return live_ids[by_id], live_codes[by_id]

    def _apply(self, conn: Any, changes: list[tuple[int, int, int]]) -> None:
        """Net effect of the log: every id it names is dropped, those whose last entry adds are re-read."""
        final = {memory_id: added for _, memory_id, added in changes}
        self._remove(np.fromiter(final, dtype=np.int64))
        wanted = [memory_id for memory_id, added in final.items() if added]
        for part, q in chunks(wanted):
            projects = dict(conn.execute(f"SELECT id, project FROM memories WHERE id IN ({q}) "
                                         "AND deleted_at IS NULL", part).fetchall())
            rows = conn.execute(f"SELECT rowid, embedding FROM memory_vectors WHERE rowid IN ({q})", part).fetchall()
            self._append([(i, blob, projects[i]) for i, blob in rows if i in projects])
        self._seq = changes[-1][0]

    def _code(self, project: str | None) -> int:
        return self._project_codes.setdefault(project, len(self._project_codes))

    def _remove(self, ids: np.ndarray) -> None:
        if not self._n or not len(ids):
            return
        keep = ~np.isin(self._ids[:self._n], ids)
        if keep.all():
            return
        count = int(keep.sum())
        self._ids[:count] = self._ids[:self._n][keep]
        self._rows[:count] = self._rows[:self._n][keep]
        self._projects[:count] = self._projects[:self._n][keep]
        self.codes.keep(keep, count)
        self._n, self._order = count, None

    def _append(self, rows: list[tuple[int, bytes, str | None]]) -> None:
        if not rows:
            return
        need = self._n + len(rows)
        if need > len(self._ids):
            capacity = max(need, 2 * len(self._ids), 1024)
            self._ids = _grown(self._ids, self._n, capacity)
            self._rows = _grown(self._rows, self._n, capacity)
            self._projects = _grown(self._projects, self._n, capacity)
        self._ids[self._n:need] = [r[0] for r in rows]
        self._rows[self._n:need] = _normalised(np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                                               .reshape(len(rows), self.dimension))
        self._projects[self._n:need] = [self._code(r[2]) for r in rows]
        self.codes.append(self._rows[self._n:need], self._n, len(self._ids))
        self._n, self._order = need, None

    # -- searching -----------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, candidates: Sequence[int] | None = None,
               projects: Iterable[str | None] | None = None) -> list[Hit]:
        """The k nearest (memory id, cosine distance), nearest first, ties by id; among the memories ``candidates``
        (ids) or of ``projects`` (None = global) if given."""
        q = self._unit(query)
        if q is None or k < 1:
            return []
        rows = self._rows_of(candidates) if candidates is not None else self._project_rows(projects)
        if rows is not None and not len(rows):
            return []
        if rows is None:
            scores = self._rows[:self._n] @ q
        else:  # a full product then a gather beats gathering a large share of the rows first
            scores = (self._rows[:self._n] @ q)[rows] if 4 * len(rows) > self._n else self._rows[rows] @ q
        if k < len(scores):
            top = np.argpartition(-scores, k - 1)[:k]
        else:
            top = np.arange(len(scores))
        ids = self._ids[top if rows is None else rows[top]]
        order = np.lexsort((ids, -scores[top]))
        return [(int(ids[i]), float(1.0 - scores[top][i])) for i in order]

    def nearest_above(self, query: np.ndarray, threshold: float,
                      projects: Iterable[str | None] | None = None) -> Hit | None:
        """The nearest memory (of ``projects`` if given) whose cosine similarity is at least ``threshold``."""
        q = self._unit(query)
        if q is None:
            return None
        rows = self.codes.candidates(q, threshold, self._rows, self._n)
        if rows is None:  # the threshold is too low for the codes to skip anything
            nearest = self.search(query, 1, projects=projects)
            return nearest[0] if nearest and 1.0 - nearest[0][1] >= threshold - SLACK else None
        wanted = self._project_filter(projects)
        if wanted is not None:
            rows = rows[np.isin(self._projects[rows], wanted)]
        if not len(rows):
            return None
        scores = self._rows[rows] @ q
        best = float(scores.max())
        if best < threshold - SLACK:
            return None
        return int(self._ids[rows[scores == best]].min()), 1.0 - best

    def warm(self) -> None:
        """Compute the sign codes now (the first near-duplicate check would)."""
        self.codes.ensure(self._rows, self._n)

    def _unit(self, query: np.ndarray) -> np.ndarray | None:
        norm = float(np.linalg.norm(query))
        if not self._n or norm == 0.0:
            return None
        return (query / norm).astype(np.float32)

    def _project_filter(self, projects: Iterable[str | None] | None) -> np.ndarray | None:
        if projects is None:
            return None
        return np.array([self._project_codes[p] for p in projects if p in self._project_codes], dtype=np.int32)

    def _project_rows(self, projects: Iterable[str | None] | None) -> np.ndarray | None:
        wanted = self._project_filter(projects)
        if wanted is None:
            return None
        mask = np.zeros(self._n, dtype=bool)
        for code in wanted:
            mask |= self._projects[:self._n] == code
        return np.flatnonzero(mask)

    def _rows_of(self, memory_ids: Sequence[int]) -> np.ndarray:
        if self._order is None:
            self._order = np.argsort(self._ids[:self._n], kind="stable")
        wanted = np.asarray(memory_ids, dtype=np.int64)
        sorted_ids = self._ids[:self._n][self._order]
        at = np.clip(np.searchsorted(sorted_ids, wanted), 0, max(self._n - 1, 0))
        hit = sorted_ids[at] == wanted
        return self._order[at[hit]]


def _grown(array: np.ndarray, n: int, capacity: int) -> np.ndarray:
    bigger = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    bigger[:n] = array[:n]
    return bigger


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
