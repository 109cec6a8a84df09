"""The onnx embedder in the service and the stdio server: interchangeable with sentence-transformers, no torch."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from mcp_memory.config import Settings
from mcp_memory.service import NewMemory, open_service

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

FACTS = ["The user's favourite programming language is Rust", "The office wifi password changes every Monday",
         "We moved the billing database to PostgreSQL 16", "Maria from design prefers oat milk flat whites"]
HEAVY = ("torch", "transformers", "sentence_transformers")


def settings(make_env, db: Path, embedder: str, onnx_dir: Path) -> Settings:
    return Settings.from_env(make_env(MCP_MEMORY_SQLITE_PATH=str(db), MCP_MEMORY_EMBEDDER=embedder,
                                       MCP_MEMORY_ONNX_PATH=str(onnx_dir)))


@pytest.mark.parametrize("first, second", [("sentence_transformers", "onnx"), ("onnx", "sentence_transformers")])
async def test_a_store_made_with_one_embedder_opens_with_the_other(tmp_path, onnx_dir, make_env, first, second):
    db = tmp_path / "memory.db"
    service = await open_service(settings(make_env, db, first, onnx_dir))
    try:
        await service.store_batch([NewMemory(f) for f in FACTS])
        before = await service.retrieve("Which coding language does the user like best?", 4)
    finally:
        await service.close()
    service = await open_service(settings(make_env, db, second, onnx_dir))
    try:
        assert type(service.embedder).__module__.startswith(f"mcp_memory_{second}")
        after = await service.retrieve("Which coding language does the user like best?", 4)
        assert (await service.stats())["embedding_model"] == "all-MiniLM-L6-v2"
    finally:
        await service.close()
    assert [r.memory.content_hash for r in after] == [r.memory.content_hash for r in before]
    assert after[0].memory.content == FACTS[0]
    for a, b in zip(after, before):
        assert abs(a.relevance_score - b.relevance_score) < 1e-3


CHILD = """
import asyncio, json, sys
from mcp_memory.config import Settings
from mcp_memory.service import NewMemory, open_service

async def main():
    service = await open_service(Settings.from_env())
    await service.store("The staging database moved to Postgres 16", tags=["infra"])
    found = await service.retrieve("which postgres version does staging use?", 1)
    await service.close()
    print(json.dumps({"top": found[0].memory.content, "embedder": type(service.embedder).__name__,
                      "heavy": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))

asyncio.run(main())
"""


def test_embedding_with_onnx_never_imports_torch(tmp_path, onnx_dir, make_env):
    env = make_env(MCP_MEMORY_SQLITE_PATH=str(tmp_path / "m.db"), MCP_MEMORY_EMBEDDER="onnx",
                    MCP_MEMORY_ONNX_PATH=str(onnx_dir), MCP_HTTP_ENABLED="false")
    proc = subprocess.run([sys.executable, "-c", CHILD % (HEAVY,)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["embedder"] == "OnnxEmbedder"
    assert report["top"] == "The staging database moved to Postgres 16"
    assert report["heavy"] == []


def _server_pid() -> int:
    pids = [int(p) for c in Path(f"/proc/{os.getpid()}/task").glob("*/children") for p in c.read_text().split()]
    mine = [p for p in pids if b"memory" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(mine) == 1, mine
    return mine[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_stdio_server_with_onnx_answers_without_loading_torch(tmp_path, onnx_dir, make_env, memory_cmd):
    env = make_env(MCP_MEMORY_SQLITE_PATH=str(tmp_path / "m.db"), MCP_MEMORY_EMBEDDER="onnx",
                    MCP_MEMORY_ONNX_PATH=str(onnx_dir), MCP_HTTP_ENABLED="false", LOG_LEVEL="INFO")
    cmd = memory_cmd
    with open(tmp_path / "server.log", "w") as errlog:
        async with Client(stdio_client(StdioServerParameters(command=cmd[0], args=cmd[1:], env=env), errlog=errlog),
                          read_timeout_seconds=300) as client:
            stored = await client.call_tool("store_memory", {"content": FACTS[3], "tags": ["people"]})
            assert not stored.is_error, stored.content[0].text
            found = await client.call_tool("retrieve_memory", {"query": "what does Maria drink?", "n_results": 1})
            assert not found.is_error, found.content[0].text
            assert found.structured_content["results"][0]["memory"]["content"] == FACTS[3]
            maps = Path(f"/proc/{_server_pid()}/maps").read_text()
    assert "onnxruntime" in maps
    assert "libtorch" not in maps
    assert "runtime='onnxruntime'" in (tmp_path / "server.log").read_text()


def test_export_command_is_idempotent_and_plugins_lists_onnx(tmp_path, onnx_dir, make_env, memory_cmd):
    before = (onnx_dir / "model.onnx").stat().st_mtime_ns
    proc = subprocess.run([*memory_cmd, "onnx-export", "--output", str(onnx_dir)], capture_output=True, text=True,
                          env=make_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{onnx_dir} already holds a current build of all-MiniLM-L6-v2" in proc.stdout
    assert (onnx_dir / "model.onnx").stat().st_mtime_ns == before
    copy = tmp_path / "copy"
    shutil.copytree(onnx_dir, copy)
    inode = (copy / "model.onnx").stat().st_ino
    proc = subprocess.run([*memory_cmd, "onnx-export", "--output", str(copy), "--force"], capture_output=True,
                          text=True, env=make_env(), timeout=300)
    assert proc.returncode == 0 and f"built all-MiniLM-L6-v2 into {copy}" in proc.stdout, proc.stderr[-3000:]
    assert (copy / "model.onnx").stat().st_ino != inode  # --force rebuilds a current build
    listed = subprocess.run([*memory_cmd, "plugins", "--json"], capture_output=True, text=True, env=make_env(),
                            timeout=120)
    data = json.loads(listed.stdout)
    assert "onnx" in data["embedders"] and "onnx-export" in data["commands"]


def test_export_command_replaces_another_model_only_with_force(tmp_path, make_env, memory_cmd):
    (tmp_path / "model.onnx").write_bytes(b"someone else's model")
    command = [*memory_cmd, "onnx-export", "--output", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True, env=make_env(), timeout=300)
    assert proc.returncode == 1 and "already holds another model" in proc.stderr and "--force" in proc.stderr
    assert (tmp_path / "model.onnx").read_bytes() == b"someone else's model"
    proc = subprocess.run([*command, "--force", "--quantize", "int8"], capture_output=True, text=True, env=make_env(),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"built all-MiniLM-L6-v2 into {tmp_path}" in proc.stdout and "model.int8.onnx" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "mcp_memory_onnx.json", "model.int8.onnx",
                                                          "model.onnx", "model.onnx.data", "tokenizer.json"]
