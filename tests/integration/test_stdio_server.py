"""`memory` as a real subprocess on stdio: real SQLite + sqlite-vec, the real MiniLM model, the SDK's stdio client."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_memory.config import Settings
from mcp_memory.service import open_service

pytestmark = pytest.mark.slow

DAY = 86400.0
MEMORY_BIN = Path(sys.executable).with_name("memory")


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path):
    """Server environment: database in tmp_path, offline model, no HTTP server to coordinate with."""
    return {
        "MCP_MEMORY_STORAGE_BACKEND": "sqlite_vec",
        "MCP_MEMORY_SQLITE_PATH": str(tmp_path / "memory.db"),
        "MCP_MEMORY_MAX_CONTENT_LENGTH": "2000",
        "MCP_HTTP_PORT": str(_free_port()),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture
def errlog(tmp_path):
    """The server's stderr, kept in tmp_path."""
    with open(tmp_path / "server.log", "w") as log:
        yield log


def command() -> list[str]:
    return [str(MEMORY_BIN)] if MEMORY_BIN.exists() else [sys.executable, "-m", "mcp_memory.cli"]


def client_for(env: dict[str, str], errlog) -> Client:
    cmd = command()
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)
    return Client(stdio_client(params, errlog=errlog), read_timeout_seconds=300)


def noon_days_ago(days: int) -> float:
    now = time.time()
    return now - now % DAY - days * DAY + DAY / 2


async def prepopulate(env: dict[str, str]) -> None:
    """Memories with older creation dates, written through the service in this process."""
    service = await open_service(Settings.from_env(env))
    try:
        await service.store("We decided to move the billing database to PostgreSQL 16", tags=["decision", "db"],
                            created_at=noon_days_ago(3))
        await service.store("Lunch with Maria from the design team", tags=["social"], created_at=noon_days_ago(3))
        await service.store("Quarterly planning notes: hire two engineers", tags=["planning"],
                            created_at=noon_days_ago(40))
    finally:
        await service.close()


async def call(client: Client, name: str, **arguments):
    res = await client.call_tool(name, arguments)
    assert not res.is_error, res.content[0].text
    return res.structured_content, res.content[0].text


async def call_error(client: Client, name: str, **arguments) -> str:
    res = await client.call_tool(name, arguments)
    assert res.is_error, res.structured_content
    return res.content[0].text


@pytest.mark.anyio
async def test_full_session_over_stdio(env, errlog):
    await prepopulate(env)
    async with client_for(env, errlog) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert len(tools) == 15 and {"store_memory", "retrieve_memory", "recall_memory"} <= tools

        stored, text = await call(client, "store_memory",
                                  content="The user's favourite programming language is Rust",
                                  tags="preference,programming", memory_type="preference")
        assert stored["duplicate"] is False and "Stored" in text
        await call(client, "store_memory", content="The office wifi password changes every Monday",
                   tags=["office"])

        # a paraphrase, with no word of the stored sentence, finds the fact
        data, text = await call(client, "retrieve_memory", query="Which coding language does the user like best?",
                                n_results=3)
        assert data["results"][0]["memory"]["content_hash"] == stored["content_hash"], text
        assert len(data["results"]) == 1, text  # the others are under the relevance floor: no padding

        data, text = await call(client, "recall_memory", query="3 days ago")
        assert {r["memory"]["content"] for r in data["results"]} == {
            "We decided to move the billing database to PostgreSQL 16", "Lunch with Maria from the design team"}
        data, _ = await call(client, "recall_memory", query="what did we decide about databases 3 days ago",
                             n_results=1)
        assert data["results"][0]["memory"]["content"].startswith("We decided to move the billing database")
        assert data["semantic_query"] == "what did we decide about databases"
        data, _ = await call(client, "recall_memory", query="last 7 days", n_results=10)
        assert "Quarterly planning notes: hire two engineers" not in {r["memory"]["content"]
                                                                     for r in data["results"]}

        data, _ = await call(client, "search_by_tag", tags=["decision", "office"])
        assert data["total_results"] == 2
        data, _ = await call(client, "search_by_tag", tags="preference,programming", match_all=True)
        assert [m["content_hash"] for m in data["memories"]] == [stored["content_hash"]]
        data, _ = await call(client, "search_by_tag", tags="preference,office", match_all=True)
        assert data["total_results"] == 0

        data, _ = await call(client, "update_memory_metadata", content_hash=stored["content_hash"],
                             updates={"tags": ["preference", "rust"], "metadata": {"confidence": "high"}})
        assert data["memory"]["tags"] == ["preference", "rust"]
        data, _ = await call(client, "search_by_tag", tags="rust")
        assert data["memories"][0]["metadata"] == {"confidence": "high"}

        again, text = await call(client, "store_memory",
                                 content="the user's favourite programming language is rust ")
        assert again["duplicate"] is True and again["content_hash"] == stored["content_hash"]
        assert "Duplicate" in text

        data, _ = await call(client, "list_memories", page=1, page_size=2)
        assert data["total"] == 5 and data["has_more"] is True

        office = await call(client, "exact_match_retrieve", content="The office wifi password changes every Monday")
        await call(client, "delete_memory", content_hash=office[0]["memory"]["content_hash"])
        data, _ = await call(client, "exact_match_retrieve", content="The office wifi password changes every Monday")
        assert data["found"] is False
        data, text = await call(client, "delete_by_tag", tags="social")
        assert data["trashed_count"] == 1 and "memory_trash" in text
        data, _ = await call(client, "cleanup_duplicates")
        assert data["trashed_count"] == 0
        data, _ = await call(client, "memory_trash", action="list")
        assert len(data["memories"]) == 2  # the wifi note and the lunch

        data, text = await call(client, "check_database_health")
        assert data["status"] == "healthy" and data["storage"]["backend"] == "sqlite_vec"
        assert data["storage"]["total_memories"] == 3 and data["embedder"]["loaded"] is True
        assert data["embedder"]["model"] == "all-MiniLM-L6-v2" and data["embedder"]["dimension"] == 384

        stats = json.loads((await client.read_resource("memory://stats")).contents[0].text)
        assert stats["total_memories"] == 3
        tags = json.loads((await client.read_resource("memory://tags")).contents[0].text)
        assert {"tag": "rust", "count": 1} in tags
        recent = json.loads((await client.read_resource("memory://recent")).contents[0].text)
        assert recent[0]["content_hash"] == stored["content_hash"]


@pytest.mark.anyio
async def test_bad_input_gets_tool_errors_and_the_server_keeps_serving(env, errlog):
    cases = [
        ("store_memory", {}, "content: Field required"),
        ("store_memory", {"content": ["not", "a", "string"]}, "content: Input should be a valid string"),
        ("store_memory", {"content": "  "}, "content is empty"),
        ("store_memory", {"content": "x" * 2001}, "MCP_MEMORY_MAX_CONTENT_LENGTH"),
        ("retrieve_memory", {"query": "x", "n_results": "lots"}, "n_results"),
        ("delete_memory", {"content_hash": "0" * 64}, "no memory with content_hash"),
        ("update_memory_metadata", {"content_hash": "0" * 64, "updates": {"tags": "x"}}, "no memory"),
        ("recall_memory", {"query": "between 2026-13-45 and x"}, "not a valid date"),
        ("search_by_tag", {"tags": []}, "at least one tag"),
    ]
    async with client_for(env, errlog) as client:
        for name, arguments, expected in cases:
            assert expected in await call_error(client, name, **arguments), name
            data, _ = await call(client, "list_memories")
            assert data["page"] == 1
        stored, _ = await call(client, "store_memory", content="stored after the errors")
        data, _ = await call(client, "retrieve_memory", query="stored after the errors", n_results=1)
        assert data["results"][0]["memory"]["content_hash"] == stored["content_hash"]


# -- raw JSON-RPC over pipes: exit codes, stdout hygiene, timings -----------------------------------
class RawServer:
    """The server process driven line by line, to see its exit code and every byte of its stdout."""

    def __init__(self, env: dict[str, str], stderr_path: Path):
        self.started = time.perf_counter()
        with open(stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                         env={**os.environ, **env}, text=True, encoding="utf-8")
        self.next_id = 0

    def send(self, method: str, params: dict | None = None, notify: bool = False) -> int | None:
        message: dict = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        if not notify:
            self.next_id += 1
            message["id"] = self.next_id
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        return message.get("id")

    def request(self, method: str, params: dict | None = None) -> tuple[dict, float]:
        """Send a request; return its response (every stdout line must be JSON-RPC) and seconds since start."""
        request_id = self.send(method, params)
        while True:
            line = self.proc.stdout.readline()
            assert line, "server closed stdout"
            message = json.loads(line)  # anything that is not protocol on stdout fails here
            assert message.get("jsonrpc") == "2.0"
            if message.get("id") == request_id:
                return message, time.perf_counter() - self.started

    def initialize(self) -> float:
        response, elapsed = self.request("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}})
        assert response["result"]["serverInfo"]["name"] == "mcp-memory"
        self.send("notifications/initialized", notify=True)
        return elapsed

    def call_tool(self, name: str, **arguments) -> tuple[dict, float]:
        response, elapsed = self.request("tools/call", {"name": name, "arguments": arguments})
        return response["result"], elapsed

    def close_stdin_and_wait(self, timeout: float = 60) -> tuple[int, str]:
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        return self.proc.wait(timeout), rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def raw_server(env, tmp_path):
    servers = []

    def start(**extra: str) -> RawServer:
        servers.append(RawServer({**env, **extra}, tmp_path / f"stderr{len(servers)}.log"))
        return servers[-1]

    yield start
    for server in servers:
        server.kill()


def runtime_loaded(pid: int) -> bool | None:
    """Whether the embedding runtime (ONNX Runtime, the default, or libtorch) is mapped in the process (Linux
    /proc); None where that cannot be seen."""
    maps = Path(f"/proc/{pid}/maps")
    if not maps.exists():
        return None
    text = maps.read_text()
    return "onnxruntime" in text or "libtorch" in text


def wal_is_checkpointed(db: Path) -> bool:
    wal = db.with_name(db.name + "-wal")
    return not wal.exists() or wal.stat().st_size == 0


def test_clean_exit_when_stdin_closes(raw_server, env, tmp_path):
    server = raw_server()
    server.initialize()
    result, _ = server.call_tool("store_memory", content="written just before the client leaves", tags="exit")
    assert result["isError"] is False and result["structuredContent"]["duplicate"] is False
    code, rest = server.close_stdin_and_wait()
    assert code == 0 and rest == ""
    assert wal_is_checkpointed(Path(env["MCP_MEMORY_SQLITE_PATH"]))
    assert "memory service closed" in (tmp_path / "stderr0.log").read_text()


def test_clean_exit_on_sigterm(raw_server, env, tmp_path):
    server = raw_server()
    server.initialize()
    result, _ = server.call_tool("store_memory", content="written just before SIGTERM")
    assert result["isError"] is False
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(60) == 0
    assert wal_is_checkpointed(Path(env["MCP_MEMORY_SQLITE_PATH"]))
    assert "memory service closed" in (tmp_path / "stderr0.log").read_text()


def test_exit_while_the_model_is_still_warming_up(raw_server, tmp_path):
    server = raw_server()  # warm-up on (the default)
    server.initialize()
    response, _ = server.request("tools/list")
    assert len(response["result"]["tools"]) == 15
    log = tmp_path / "stderr0.log"
    deadline = time.monotonic() + 60
    while "Detected coordination mode" not in log.read_text():  # the warm-up has opened the store
        assert time.monotonic() < deadline and server.proc.poll() is None
        time.sleep(0.02)
    time.sleep(0.3)  # the model is loading in the background now (it takes seconds)
    code, rest = server.close_stdin_and_wait()
    assert code == 0 and rest == ""
    text = log.read_text()
    assert "memory service closed" in text
    assert "exiting while the embedding model is still loading" in text or "embedding model loaded" in text


@pytest.mark.parametrize("warmup, ask_after_warmup", [("true", False), ("false", False), ("true", True)])
def test_startup_times(raw_server, tmp_path, warmup, ask_after_warmup):
    """Measures (prints, never asserts on time) start -> tools/list and start -> first retrieve_memory."""
    server = raw_server(MCP_MEMORY_WARMUP=warmup)
    initialized = server.initialize()
    response, listed = server.request("tools/list")
    assert len(response["result"]["tools"]) == 15
    if warmup == "false":  # nothing has asked for the model yet: its runtime is not loaded
        assert runtime_loaded(server.proc.pid) in (False, None)
    if ask_after_warmup:  # the user's first question comes once the background warm-up is done
        log = tmp_path / "stderr0.log"
        deadline = time.monotonic() + 120
        while "embedding model loaded" not in log.read_text():
            assert time.monotonic() < deadline and server.proc.poll() is None
            time.sleep(0.05)
    asked = time.perf_counter() - server.started
    result, retrieved = server.call_tool("retrieve_memory", query="what does the user like to drink?")
    assert result["isError"] is False and result["structuredContent"]["results"] == []
    assert runtime_loaded(server.proc.pid) in (True, None)
    print(f"\n[startup, warm-up {warmup}{', asked after warm-up' if ask_after_warmup else ''}] "
          f"initialize {initialized:.2f} s, tools/list {listed:.2f} s, first retrieve_memory {retrieved:.2f} s "
          f"after process start ({retrieved - asked:.2f} s after it was sent)")
    code, _ = server.close_stdin_and_wait()
    assert code == 0
