"""Read a memory database from outside the service and say whether it is sound.

``inspect(path)`` runs ``PRAGMA integrity_check``, the FTS5 index check against its content table, and
counts orphans both ways between memories and their vectors (vec0) and tags. It returns every memory's
tags and metadata so that a test can compare the file with its model of what was acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import sqlean
import sqlite_vec

from mcp_memory.models import content_hash


@dataclass
class DbState:
    integrity: str
    memories: dict[str, dict] = field(default_factory=dict)  # hash -> {"content", "tags", "metadata", ...}

    @property
    def live(self) -> dict[str, dict]:
        """The memories not in the trash."""
        return {h: m for h, m in self.memories.items() if m.get("deleted_at") is None}
    problems: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return self.integrity == "ok" and not self.problems


def connect(path: Path):
    conn = sqlean.connect(str(path), isolation_level=None, timeout=30)
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    return conn


def _table(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def inspect(path: Path) -> DbState:
    """The state of the file at ``path`` (which must exist)."""
    conn = connect(path)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        state = DbState("ok" if rows == ["ok"] else "; ".join(map(str, rows[:5])))
        if not _table(conn, "memories"):
            return state
        ids: dict[int, str] = {}
        columns = {row[1] for row in conn.execute("PRAGMA table_info(memories)")}
        deleted = "deleted_at" if "deleted_at" in columns else "NULL"  # schema 5: the trash is in the table
        for mid, h, content, mtype, meta, created, deleted_at in conn.execute(
                f"SELECT id, content_hash, content, memory_type, metadata, created_at, {deleted} FROM memories"):
            ids[mid] = h
            state.memories[h] = {"content": content, "memory_type": mtype, "metadata": json.loads(meta),
                                 "created_at": created, "deleted_at": deleted_at, "tags": []}
        for mid, tag in conn.execute("SELECT memory_id, tag FROM memory_tags ORDER BY memory_id, position"):
            if mid in ids:
                state.memories[ids[mid]]["tags"].append(tag)
            else:
                state.problems.append(f"tag row {tag!r} of missing memory id {mid}")
        if _table(conn, "memory_vectors"):
            vectors = {r[0] for r in conn.execute("SELECT rowid FROM memory_vectors")}
            for mid in sorted(set(ids) - vectors):
                state.problems.append(f"memory {ids[mid][:12]} (id {mid}) has no vector")
            for mid in sorted(vectors - set(ids)):
                state.problems.append(f"orphan vector rowid {mid}")
        elif ids:
            state.problems.append("memories but no vector table")
        if _table(conn, "memory_fts"):
            try:  # rank 1: also compare the index with the content of the memories table
                conn.execute("INSERT INTO memory_fts (memory_fts, rank) VALUES ('integrity-check', 1)")
            except sqlean.Error as exc:
                state.problems.append(f"full-text index out of step with memories: {exc}")
        normalised = [content_hash(m["content"]) for m in state.memories.values()]
        if len(set(normalised)) != len(normalised):
            state.problems.append(f"{len(normalised) - len(set(normalised))} duplicate contents")
        for h, memory in state.memories.items():
            if content_hash(memory["content"]) != h:
                state.problems.append(f"memory {h[:12]} is stored under a hash that is not its content's")
        return state
    finally:
        conn.close()


def file_bytes(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def sidecars(path: Path) -> list[str]:
    """The -wal / -shm / -journal files next to ``path`` (a read that writes nothing leaves none)."""
    return sorted(p.name for p in path.parent.glob(path.name + "-*"))
