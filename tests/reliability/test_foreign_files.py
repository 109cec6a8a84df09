"""Pointing ``memory stats``, the stdio server and ``memory http`` at a file that is not a sound memory
database of ours, or at a place it cannot write: a clear error at start, and nothing written (the bytes
of the file unchanged, no -wal/-shm/-journal created). Tests run as root, so read-only places are made
real with a file as directory, /proc, or ``setpriv`` dropping the capability to override permissions."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import anyio
import pytest
import sqlean
from dbcheck import sidecars
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from processes import base_env, free_port, memory_command

pytestmark = pytest.mark.slow

NO_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture(scope="module")
def sound_db(tmp_path_factory) -> Path:
    """A real memory database (300 memories, closed cleanly)."""
    tmp = tmp_path_factory.mktemp("sound")
    rows = tmp / "m.jsonl"
    rows.write_text("".join(json.dumps({"content": f"memory {i} about foreign files", "tags": ["t"]}) + "\n"
                            for i in range(300)))
    db = tmp / "sound.db"
    done = subprocess.run([*memory_command(True), "import", str(rows), "--quiet"],
                          env=base_env(db, free_port(), MCP_HTTP_ENABLED="false"), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and sidecars(db) == [], done.stderr
    return db


@pytest.fixture
def world_dir(tmp_path):
    """A directory that a process without CAP_DAC_OVERRIDE can reach (pytest's tmp is 0700 root)."""
    base = Path("/tmp") / f"mcp-memory-ro-{os.getpid()}-{tmp_path.name}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)
    yield base
    for folder in base.rglob("*"):
        if folder.is_dir():
            os.chmod(folder, 0o755)
    shutil.rmtree(base, ignore_errors=True)


def make_case(name: str, tmp_path: Path, sound: Path, world: Path) -> tuple[Path, list[str], str]:
    """(database path, command prefix, what the error must say) for one kind of bad place."""
    data = sound.read_bytes()
    page = int.from_bytes(data[16:18], "big")
    place = tmp_path / "place"
    place.mkdir()
    path = place / f"{name}.db"
    prefix: list[str] = []
    if name == "not-sqlite":
        path.write_text("name,email\nada,ada@example.org\n" * 200)
        return path, prefix, "is not a SQLite database"
    if name == "truncated-half":
        path.write_bytes(data[:len(data) // 2 + 100])
        return path, prefix, "truncated or corrupt"
    if name == "truncated-pages":
        path.write_bytes(data[:page * 3])
        return path, prefix, "truncated or corrupt"
    if name == "newer-schema":
        path.write_bytes(data)
        conn = sqlean.connect(str(path))
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        conn.commit()
        conn.close()
        return path, prefix, "schema version 99, newer than this"
    if name == "other-application":
        conn = sqlean.connect(str(path))
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.commit()
        conn.close()
        return path, prefix, "not an mcp-memory store"
    if name == "file-as-directory":
        (place / "plain-file").write_text("x")
        return place / "plain-file" / "sub" / "m.db", prefix, "cannot create the directory"
    if name == "proc":
        return Path("/proc/mcp-memory-no-such-dir/m.db"), prefix, "cannot create the directory"
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop CAP_DAC_OVERRIDE as root")
    readonly = world / "readonly"
    readonly.mkdir()
    if name == "read-only-directory-new":
        os.chmod(readonly, 0o555)
        return readonly / "new.db", NO_DAC, "check the directory exists and is writable"
    if name == "read-only-directory-existing":
        shutil.copy(sound, readonly / "m.db")
        os.chmod(readonly, 0o555)
        return readonly / "m.db", NO_DAC, "is read-only"
    if name == "read-only-file":
        shutil.copy(sound, readonly / "m.db")
        os.chmod(readonly / "m.db", stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        return readonly / "m.db", NO_DAC, "is read-only"
    raise AssertionError(name)


def run_stdio(prefix: list[str], env: dict[str, str], errlog: Path) -> str:
    """Start the stdio server, call a tool; the tool error text (the server must still answer)."""
    async def session() -> str:
        cmd = [*prefix, *memory_command(True)]
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env={**env, "MCP_MEMORY_WARMUP": "true"})
        with errlog.open("w") as log, anyio.fail_after(120):
            async with Client(stdio_client(params, errlog=log), read_timeout_seconds=60) as client:
                assert len((await client.list_tools()).tools) == 15  # the handshake works regardless
                result = await client.call_tool("store_memory", {"content": "must not be written"})
                assert result.is_error
                return result.content[0].text
    return anyio.run(session)


CASES = ["not-sqlite", "truncated-half", "truncated-pages", "newer-schema", "other-application", "file-as-directory",
         "proc", "read-only-directory-new", "read-only-directory-existing", "read-only-file"]


@pytest.mark.parametrize("case", CASES)
def test_bad_database_place_is_a_clear_error_and_nothing_is_written(case, tmp_path, sound_db, world_dir, figure):
    path, prefix, message = make_case(case, tmp_path, sound_db, world_dir)
    before = path.read_bytes() if path.is_file() else None
    listing = sorted(os.listdir(path.parent)) if path.parent.is_dir() else None
    env = base_env(path, free_port(), MCP_HTTP_ENABLED="false", HOME=str(tmp_path))
    answers = {}
    for name, args in [("stats", ["stats"]), ("http", ["http", "--port", env["MCP_HTTP_PORT"]])]:
        try:
            done = subprocess.run([*prefix, *memory_command(True), *args], env=env, capture_output=True, text=True,
                                  timeout=60, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"memory {name} started on {case} instead of refusing it")
        assert done.returncode == 1, (name, done.stdout, done.stderr[-2000:])
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("memory: ") and message in last and "Traceback" not in done.stderr, done.stderr
        answers[name] = last
    tool_error = run_stdio(prefix, env, tmp_path / "stdio.log")
    assert message in tool_error, tool_error
    assert message in (tmp_path / "stdio.log").read_text()  # logged at start by the warm-up
    assert (path.read_bytes() if path.is_file() else None) == before, "the file was changed"
    assert (sorted(os.listdir(path.parent)) if path.parent.is_dir() else None) == listing, "files were created"
    figure(f"foreign-file {case}: memory stats, memory http, stdio server refused at start ('{message}'); "
           "bytes_unchanged=yes files_created=0")


def test_middle_corruption_is_found_by_verify(tmp_path, sound_db, figure):
    """Damage in the middle of a database passes the start checks (they read the header only);
    ``memory verify`` runs integrity_check and says what to do."""
    data = bytearray(sound_db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page * 20:page * 40] = os.urandom(page * 20)
    path = tmp_path / "damaged.db"
    path.write_bytes(bytes(data))
    done = subprocess.run([*memory_command(True), "verify", "--no-model"], capture_output=True, text=True,
                          env=base_env(path, free_port(), MCP_HTTP_ENABLED="false"), timeout=120, check=False)
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if "integrity_check" in x)
    assert line.startswith("FAIL") and "restore from a backup" in done.stdout, done.stdout
    figure("foreign-file damaged-middle: memory verify FAIL integrity_check with the fix (restore from a backup)")
