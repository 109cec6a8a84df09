"""The sqlite_vec plugin's settings and hooks: declared variables (pragmas validated), its default location, its
own hook specs called one implementation at a time, and the checks of ``memory health`` / ``memory verify``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mcp_memory import hookimpl
from mcp_memory.config import Settings, default_data_dir, describe
from mcp_memory.errors import ConfigError
from mcp_memory.models import Memory
from mcp_memory.registration import StoreLocation
from mcp_memory_sqlite_vec import hookspecs
from mcp_memory_sqlite_vec.settings import SQLITE_SETTINGS, parse_pragmas
from mcp_memory_sqlite_vec.storage import SqliteVecStorage

from sqlite_vec_helpers import open_store, settings

pytestmark = pytest.mark.anyio


def sidecars(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.glob(path.name + "-*"))


# -- settings --------------------------------------------------------------------------------------------
def test_settings_defaults_and_values():
    mine = Settings().section(SQLITE_SETTINGS)
    assert mine.sqlite_path == default_data_dir() / "sqlite_vec.db" and mine.sqlite_pragmas == ()
    mine = settings(MCP_MEMORY_SQLITE_PATH="~/x/m.db", MCP_MEMORY_SQLITE_PRAGMAS="Busy_Timeout=10000, cache_size=-2000"
                    ).section(SQLITE_SETTINGS)
    assert mine.sqlite_path == Path("~/x/m.db").expanduser()
    assert mine.sqlite_pragmas == (("busy_timeout", "10000"), ("cache_size", "-2000"))


@pytest.mark.parametrize("text, message", [
    ("busy_timeout", "is not name=value"), ("nope=1", "unknown or unsupported pragma 'nope'"),
    ("busy_timeout=ten", "bad value 'ten'"), ("synchronous=sometimes", "bad value"),
    ("cache_size=1;DROP TABLE memories", "bad value"),
])
def test_bad_pragmas_are_refused_naming_the_variable(text, message):
    with pytest.raises(ValueError, match=message):
        parse_pragmas(text)
    with pytest.raises(ConfigError, match="MCP_MEMORY_SQLITE_PRAGMAS") as err:
        SqliteVecStorage(settings(MCP_MEMORY_SQLITE_PRAGMAS=text))
    assert message.split("'")[0] in str(err.value)


def test_the_settings_are_declared_for_memory_config(only_plugins):
    pm = only_plugins("sqlite_vec")
    shown = {r.setting.env: (owner, r.source) for owner, r in describe(
        settings(MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=9000"), pm.setting_groups())}
    assert shown["MCP_MEMORY_SQLITE_PATH"] == ("sqlite_vec", "default")
    assert shown["MCP_MEMORY_SQLITE_PRAGMAS"] == ("sqlite_vec", "environment")


def test_storage_location_answers_for_sqlite_vec_only(only_plugins, tmp_path):
    pm = only_plugins("sqlite_vec")
    chosen = settings(MCP_MEMORY_SQLITE_PATH=str(tmp_path / "a.db"))
    assert pm.first_result("memory_storage_location", backend="sqlite_vec", settings=chosen, location=None) == \
        StoreLocation(text=str(tmp_path / "a.db"), path=tmp_path / "a.db")
    given = str(tmp_path / "b.db")
    assert pm.first_result("memory_storage_location", backend="sqlite_vec", settings=chosen, location=given) == \
        StoreLocation(text=given, path=tmp_path / "b.db")
    assert pm.first_result("memory_storage_location", backend="chroma", settings=chosen, location=None) is None


# -- its own hook specs --------------------------------------------------------------------------------
def test_hook_specs_are_added_and_documented(only_plugins):
    pm = only_plugins("sqlite_vec")
    for name in ("memory_configure_sqlite", "memory_sqlite_write_retry"):
        spec = getattr(pm.hook, name).spec
        assert spec is not None and spec.namespace is hookspecs
        assert len((getattr(hookspecs, name).__doc__ or "").strip()) > 100


class Broken:
    """A policy plugin whose hooks raise: the store goes on as if it were not installed."""

    @hookimpl
    def memory_configure_sqlite(self, connection, pragmas):
        raise RuntimeError("policy plugin bug")

    @hookimpl
    def memory_sqlite_write_retry(self):
        raise RuntimeError("retry plugin bug")


async def test_a_raising_policy_plugin_is_contained(only_plugins, tmp_path):
    pm = only_plugins("sqlite_vec")
    pm.register_object(Broken(), "broken")
    store = await open_store(tmp_path / "m.db", MCP_MEMORY_SQLITE_PRAGMAS="busy_timeout=4321")
    try:
        assert await store._call(lambda conn: conn.execute("PRAGMA busy_timeout").fetchone()[0]) == 4321
        assert await store.store(Memory.create("still works"), [0.5] * 8)
    finally:
        await store.close()
    assert {(f.name, f.stage) for f in pm.failed} == {("broken", "memory_configure_sqlite"),
                                                     ("broken", "memory_sqlite_write_retry")}


# -- checks ----------------------------------------------------------------------------------------------
def checks(pm, chosen: Settings, location, deep: bool) -> dict:
    [answer] = [result for _, result in pm.call_each("memory_store_checks", backend="sqlite_vec", settings=chosen,
                                                        location=location, deep=deep) if result is not None]
    return {c.name: c for c in answer}


def test_cheap_checks_without_a_database(only_plugins, tmp_path):
    pm = only_plugins("sqlite_vec", "wal")
    found = checks(pm, Settings(), str(tmp_path / "new" / "m.db"), deep=True)
    assert list(found) == ["extension loading", "sqlite-vec", "full-text search", "database path", "journal mode"]
    assert all(c.ok for c in found.values()), [c.line() for c in found.values()]
    assert "will be created" in found["database path"].detail
    assert "wal plugin" in found["journal mode"].detail
    assert [r for _, r in pm.call_each("memory_store_checks", backend="chroma", settings=Settings(),
                                       location=None, deep=False)] == [None]


def test_without_the_wal_plugin_journal_mode_fails_with_the_fix(only_plugins, tmp_path):
    pm = only_plugins("sqlite_vec")
    journal = checks(pm, Settings(), str(tmp_path / "m.db"), deep=False)["journal mode"]
    assert not journal.ok and journal.fix == "pip install mcp-memory-wal"
    journal = checks(pm, settings(MCP_MEMORY_SQLITE_PRAGMAS="journal_mode=wal"), str(tmp_path / "m.db"), False)
    assert journal["journal mode"].ok


def test_unwritable_path_fails(only_plugins, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    found = checks(only_plugins("sqlite_vec", "wal"), Settings(), str(blocker / "m.db"), deep=False)
    assert not found["database path"].ok and "MCP_MEMORY_SQLITE_PATH" in found["database path"].fix


async def filled(path: Path, n: int = 400) -> None:
    store = await open_store(path)
    await store.store_batch([(Memory.create(f"memory {i} " + "words " * 40), [float(i % 7) + 1.0] * 8)
                             for i in range(n)])
    await store.close()


async def test_deep_check_of_a_read_only_file_writes_nothing(only_plugins, tmp_path):
    pm = only_plugins("sqlite_vec", "wal")
    db = tmp_path / "m.db"
    await filled(db)
    assert sidecars(db) == []
    os.chmod(db, 0o444)
    before = db.read_bytes()
    try:
        found = checks(pm, Settings(), str(db), deep=True)
        assert found["integrity_check"].ok and found["integrity_check"].detail == "ok"
        assert "file is in WAL mode" in found["journal mode"].detail
        assert sidecars(db) == [] and db.read_bytes() == before
    finally:
        os.chmod(db, 0o644)


async def test_deep_check_beside_a_running_store(only_plugins, tmp_path):
    pm = only_plugins("sqlite_vec", "wal")
    db = tmp_path / "m.db"
    await filled(db, 50)
    store = await open_store(db)
    try:
        await store.store(Memory.create("only in the WAL so far"), [1.0] * 8)
        assert "m.db-wal" in sidecars(db)
        assert checks(pm, Settings(), str(db), deep=True)["integrity_check"].ok
    finally:
        await store.close()


async def test_deep_check_finds_damage_in_the_middle(only_plugins, tmp_path):
    pm = only_plugins("sqlite_vec", "wal")
    db = tmp_path / "m.db"
    await filled(db)
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page * 10:page * 20] = os.urandom(page * 10)
    db.write_bytes(bytes(data))
    integrity = checks(pm, Settings(), str(db), deep=True)["integrity_check"]
    assert not integrity.ok and "restore from a backup" in integrity.fix


def test_checks_use_the_configured_path(only_plugins, tmp_path):
    found = checks(only_plugins("sqlite_vec"), settings(MCP_MEMORY_SQLITE_PATH=str(tmp_path / "c.db")), None, False)
    assert str(tmp_path / "c.db") in found["database path"].detail

