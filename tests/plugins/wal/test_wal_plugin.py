"""The wal plugin: pragma policy, bounded busy retry, its hook answers (for the sqlite_vec store only), and a
real locked write that it saves."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlean

from mcp_memory.config import Settings
from mcp_memory.coordination import detect
from mcp_memory.errors import StorageError
from mcp_memory.models import Memory
from mcp_memory.protocols import EmbeddingInfo
from mcp_memory_sqlite_vec.storage import SqliteVecStorage
from mcp_memory_wal import plugin
from mcp_memory_wal.policy import WAL_DEFAULT_PRAGMAS, BusyRetry, apply_pragmas, effective_pragmas

INFO = EmbeddingInfo("unit-test-model", 4)
VECTOR = [0.5, 0.5, 0.5, 0.5]


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Busy(Exception):
    pass


def is_busy(exc: BaseException) -> bool:
    return isinstance(exc, Busy)


# -- pragmas -----------------------------------------------------------------------------------
def test_the_wal_defaults():
    assert dict(WAL_DEFAULT_PRAGMAS) == {"journal_mode": "WAL", "busy_timeout": "5000", "synchronous": "NORMAL"}


def test_user_pragmas_override_defaults_and_busy_timeout_comes_first():
    pairs = effective_pragmas((("synchronous", "FULL"), ("cache_size", "-4000"), ("busy_timeout", "9000")))
    assert pairs[0] == ("busy_timeout", "9000")
    assert dict(pairs) == {"busy_timeout": "9000", "journal_mode": "WAL", "synchronous": "FULL",
                           "cache_size": "-4000"}


def test_policy_applies_to_a_real_connection(tmp_path: Path):
    conn = sqlean.connect(str(tmp_path / "p.db"), isolation_level=None)
    try:
        applied = apply_pragmas(conn, (("cache_size", "-2000"),))
        assert applied["journal_mode"] == "wal"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -2000
    finally:
        conn.close()


def test_malformed_pragma_is_refused(tmp_path: Path):
    conn = sqlean.connect(str(tmp_path / "p.db"), isolation_level=None)
    try:
        with pytest.raises(StorageError, match="malformed pragma"):
            apply_pragmas(conn, (("cache_size", "1; DROP TABLE x"),))
    finally:
        conn.close()


# -- retry -------------------------------------------------------------------------------------
def test_busy_writes_are_retried_with_bounded_jittered_sleeps():
    sleeps: list[float] = []
    calls = []

    def attempt():
        calls.append(1)
        if len(calls) < 4:
            raise Busy("database is locked")
        return "done"

    retry = BusyRetry(attempts=6, base_delay=0.05, max_delay=0.1, sleep=sleeps.append)
    assert retry(attempt, is_busy) == "done"
    assert len(calls) == 4 and len(sleeps) == 3
    assert all(0 <= s <= cap for s, cap in zip(sleeps, (0.05, 0.1, 0.1)))


def test_other_errors_are_not_retried():
    calls = []

    def attempt():
        calls.append(1)
        raise ValueError("constraint failed")

    with pytest.raises(ValueError):
        BusyRetry(sleep=lambda s: None)(attempt, is_busy)
    assert len(calls) == 1


def test_after_the_bound_a_clear_storage_error():
    calls = []

    def attempt():
        calls.append(1)
        raise Busy("database is locked")

    with pytest.raises(StorageError) as err:
        BusyRetry(attempts=3, sleep=lambda s: None)(attempt, is_busy)
    assert len(calls) == 3
    message = str(err.value)
    assert "database is locked" in message and "3 attempts" in message and "busy_timeout" in message
    assert isinstance(err.value.__cause__, Busy)


# -- hooks -------------------------------------------------------------------------------------
def test_wal_answers_direct_with_its_policy_as_reason(only_plugins):
    only_plugins("sqlite_vec", "wal")
    chosen = detect(Settings().with_changes(MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=7000"))
    assert chosen.mode == "direct"
    assert "WAL" in chosen.reason and "busy_timeout=7000" in chosen.reason
    assert plugin.memory_sqlite_write_retry().attempts > 1


def test_wal_answers_only_for_the_sqlite_vec_store(only_plugins):
    only_plugins("sqlite_vec", "wal")
    other = Settings(storage_backend="chroma")
    assert plugin.memory_coordinate(settings=other, open_direct=lambda: None) is None
    assert "WAL" not in detect(other).reason  # the core's own fallback answered


def test_wal_implements_the_hook_specs_of_the_sqlite_vec_plugin(only_plugins):
    pm = only_plugins("sqlite_vec", "wal")
    for name in ("memory_configure_sqlite", "memory_sqlite_write_retry"):
        caller = getattr(pm.hook, name)
        assert caller.spec is not None and caller.spec.namespace.__name__ == "mcp_memory_sqlite_vec.hookspecs"
        assert [impl.plugin_name for impl in pm.implementations(name)] == ["wal"]
    assert pm.check_pending() == [] and pm.failed == []


def test_without_the_sqlite_vec_plugin_its_hooks_are_optional(only_plugins):
    """With the sqlite_vec plugin disabled its hook specs are missing: wal's implementations are marked
    ``optionalhook``, so they are no misspellings (``PluginManager.check_pending`` skips optional hooks)."""
    pm = only_plugins("wal")
    for name in ("memory_configure_sqlite", "memory_sqlite_write_retry"):
        assert getattr(pm.hook, name).spec is None
        assert [impl.optionalhook for impl in pm.implementations(name)] == [True]
    assert pm.failed == []


def _hold_write_lock(path: Path, seconds: float, locked: threading.Event) -> None:
    conn = sqlean.connect(str(path), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    locked.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


@pytest.mark.anyio
@pytest.mark.parametrize("with_wal", [True, False])
async def test_a_write_blocked_longer_than_busy_timeout(tmp_path: Path, only_plugins, with_wal):
    """busy_timeout=50 ms, another process holds the write lock for 250 ms: the wal plugin's retry saves the
    write; without the plugin the store reports 'database is locked'."""
    only_plugins("sqlite_vec", "wal") if with_wal else only_plugins("sqlite_vec")
    db = tmp_path / "m.db"
    store = SqliteVecStorage(Settings().with_changes(MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=50"), location=str(db))
    await store.initialize(INFO)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db, 0.25, locked))
    holder.start()
    try:
        locked.wait(5)
        if with_wal:
            assert await store.store(Memory.create("written despite the lock"), VECTOR) is True
            assert await store.count() == 1
        else:
            with pytest.raises(StorageError, match="database is locked"):
                await store.store(Memory.create("written despite the lock"), VECTOR)
    finally:
        holder.join()
        await store.close()
