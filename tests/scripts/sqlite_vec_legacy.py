"""The triggers of schemas 2 and 3, to rebuild older files in upgrade tests (schema 4 has no triggers)."""

from __future__ import annotations

from typing import Any

FTS_TRIGGERS = (
    """CREATE TRIGGER memory_fts_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memory_fts (rowid, content) VALUES (new.id, new.content);
    END""",
    """CREATE TRIGGER memory_fts_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memory_fts (memory_fts, rowid, content) VALUES ('delete', old.id, old.content);
    END""",
    """CREATE TRIGGER memory_fts_update AFTER UPDATE OF content ON memories BEGIN
        INSERT INTO memory_fts (memory_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO memory_fts (rowid, content) VALUES (new.id, new.content);
    END""",
)
LOG_TRIGGERS = (
    """CREATE TRIGGER vector_changes_insert AFTER INSERT ON memories BEGIN
        INSERT INTO vector_changes (memory_id, added) VALUES (new.id, 1);
    END""",
    """CREATE TRIGGER vector_changes_delete AFTER DELETE ON memories BEGIN
        INSERT INTO vector_changes (memory_id, added) VALUES (old.id, 0);
    END""",
)


def add_triggers(conn: Any, *groups: tuple[str, ...]) -> None:
    for group in groups:
        for statement in group:
            conn.execute(statement)


def triggers(conn: Any) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
