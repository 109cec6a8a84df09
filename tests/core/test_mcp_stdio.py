"""run_stdio in a real subprocess with only the core: stdout hygiene, warm-up, exit on EOF and on SIGTERM.

The child serves an in-memory store through a noisy embedder that prints to stdout (as some libraries do).
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent("""
    import os, sys
    from mcp_memory.config import Settings
    from mcp_memory.mcp_server import LazyService, run_stdio
    from mcp_memory.service import MemoryService
    from mcp_memory.testing import HashEmbedder, InMemoryStorage

    class NoisyEmbedder(HashEmbedder):
        def embed(self, texts):
            print("NOISE-PRINT")
            os.write(1, b"NOISE-FD\\n")
            return super().embed(texts)

        def warm_up(self):
            print("WARMUP-PRINT")

    class Store(InMemoryStorage):
        async def close(self):
            sys.stderr.write("STORE-CLOSED\\n")

        async def warm_up(self):
            print("STORE-WARMUP-PRINT")

    settings = Settings()

    async def opener():
        service = MemoryService(Store(), NoisyEmbedder(), settings)
        await service.initialize()
        return service

    sys.exit(run_stdio(settings, LazyService(settings, opener)))
""")


def child_env(**extra):
    """Buffered stdout, as under Claude Desktop: a stray print must not wait in a buffer bound for the wire."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**env, **extra}


def start(tmp_path, warmup="true"):
    with open(tmp_path / "stderr.log", "w") as stderr:
        return subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=stderr, text=True, env=child_env(MCP_MEMORY_WARMUP=warmup))


def exchange(proc, *messages):
    """Send requests/notifications; return the responses (every stdout line must be JSON-RPC)."""
    responses = []
    for message in messages:
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        proc.stdin.flush()
        if "id" in message:
            while True:
                response = json.loads(proc.stdout.readline())
                if response.get("id") == message["id"]:
                    responses.append(response)
                    break
    return responses


def wait_for(path, marker, timeout=20.0):
    deadline = time.monotonic() + timeout
    while marker not in path.read_text():
        assert time.monotonic() < deadline, f"{marker} never appeared in {path}"
        time.sleep(0.05)


SESSION = [
    {"id": 1, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
    {"method": "notifications/initialized"},
    {"id": 2, "method": "tools/list"},
    {"id": 3, "method": "tools/call", "params": {"name": "store_memory", "arguments": {"content": "hello"}}},
    {"id": 4, "method": "tools/call", "params": {"name": "store_memory", "arguments": {"content": ""}}},
    {"id": 5, "method": "tools/call", "params": {"name": "retrieve_memory", "arguments": {"query": "hello"}}},
]


def check_session(responses):
    assert len(responses[1]["result"]["tools"]) == 15
    assert responses[2]["result"]["isError"] is False
    assert responses[3]["result"]["isError"] is True and "content is empty" in responses[3]["result"]["content"][0]["text"]
    assert responses[4]["result"]["structuredContent"]["total_results"] == 1


def test_stdout_carries_only_protocol_and_eof_exits_zero(tmp_path):
    proc = start(tmp_path)
    try:
        check_session(exchange(proc, *SESSION))
        wait_for(tmp_path / "stderr.log", "WARMUP-PRINT")  # the background warm-up ran while serving
        wait_for(tmp_path / "stderr.log", "STORE-WARMUP-PRINT")  # and the store's own warm-up
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    assert rest == ""
    err = (tmp_path / "stderr.log").read_text()
    for marker in ("NOISE-PRINT", "NOISE-FD", "WARMUP-PRINT", "STORE-CLOSED", "stdin closed"):
        assert marker in err


def test_sigterm_closes_the_store_and_exits_zero(tmp_path):
    proc = start(tmp_path, warmup="false")
    try:
        check_session(exchange(proc, *SESSION))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        proc.kill()
    err = (tmp_path / "stderr.log").read_text()
    assert "STORE-CLOSED" in err and "SIGTERM" in err and "WARMUP-PRINT" not in err


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX signals and fd diversion")
