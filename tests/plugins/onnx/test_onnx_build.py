"""The model is built from the bundled safetensors weights, without torch: on first use, by the command, in
place of a stale build, in memory when nothing can be written, and int8 on request. Real builds, real
onnxruntime."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError
from mcp_memory_onnx import OnnxEmbedder
from mcp_memory_onnx.build import source_dir
from mcp_memory_onnx.model_dir import BUILDER_VERSION, MANIFEST_FILE

pytestmark = pytest.mark.slow

SAMPLE = ["The staging database moved to PostgreSQL 16.", "Maria prefers oat milk flat whites.", "x", "   ",
          "紅茶 and 寿司 🎉", "word " * 400, "def add(a, b):\n    return a + b"]
OUR_FILES = ["config.json", MANIFEST_FILE, "model.onnx", "model.onnx.data", "tokenizer.json"]

NO_TORCH = """
import importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
try:
    import torch
    blocked = False
except ImportError:
    blocked = True
from mcp_memory.config import Settings
from mcp_memory_onnx import OnnxEmbedder

embedder = OnnxEmbedder(Settings.from_env())
vectors = embedder.embed(%r)
print(json.dumps({"blocked": blocked, "file": str(embedder.model_file), "vectors": vectors.tolist(),
                  "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))}))
"""


def run_no_torch(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", NO_TORCH % (SAMPLE,)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out), err


@pytest.fixture(scope="module")
def reference(onnx_dir):
    """The sample embedded with the session's build (made by `memory onnx-export`)."""
    return OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(onnx_dir))).embed(SAMPLE)


def test_first_use_builds_the_default_model_without_torch(tmp_path, make_env, reference):
    report, err = finish(run_no_torch(make_env(XDG_DATA_HOME=str(tmp_path))))
    built = tmp_path / "mcp-memory" / "onnx" / "all-MiniLM-L6-v2"
    assert report["blocked"] and report["heavy"] == []
    assert report["file"] == str(built / "model.onnx")
    assert sorted(p.name for p in built.iterdir()) == OUR_FILES
    assert sorted(p.name for p in built.parent.iterdir()) == ["all-MiniLM-L6-v2"]  # no temporary leftovers
    # the weights sit beside the graph (onnxruntime maps them instead of copying), readable like the rest
    assert (built / "model.onnx").stat().st_size < 100_000 < 80_000_000 < (built / "model.onnx.data").stat().st_size
    assert (built / "model.onnx.data").stat().st_mode & 0o777 == 0o644
    manifest = json.loads((built / MANIFEST_FILE).read_text())
    assert manifest["builder_version"] == BUILDER_VERSION and manifest["source"] == "all-MiniLM-L6-v2"
    assert (manifest["model_name"], manifest["dimension"], manifest["max_seq_length"]) == ("all-MiniLM-L6-v2", 384, 256)
    lines = [line for line in err.splitlines() if "built the ONNX embedding model" in line]
    assert len(lines) == 1 and "level='info'" in lines[0] and "seconds=" in lines[0], err
    np.testing.assert_allclose(np.array(report["vectors"]), reference, atol=1e-5)


def test_two_processes_building_at_once_both_get_a_whole_model(tmp_path, make_env, reference):
    env = make_env(XDG_DATA_HOME=str(tmp_path))
    first, second = run_no_torch(env), run_no_torch(env)
    reports = [finish(first)[0], finish(second)[0]]
    built = tmp_path / "mcp-memory" / "onnx" / "all-MiniLM-L6-v2"
    assert sorted(p.name for p in built.iterdir()) == OUR_FILES
    assert sorted(p.name for p in built.parent.iterdir()) == ["all-MiniLM-L6-v2"]
    for report in reports:
        np.testing.assert_allclose(np.array(report["vectors"]), reference, atol=1e-5)


@pytest.mark.parametrize("manifest_change", [{"builder_version": BUILDER_VERSION - 1}, {"builder_version": None}],
                         ids=["older-builder", "torch-era-manifest"])
def test_a_build_from_an_older_builder_is_rebuilt_in_place(tmp_path, onnx_dir, reference, manifest_change):
    stale = tmp_path / "stale"
    shutil.copytree(onnx_dir, stale)
    manifest = json.loads((stale / MANIFEST_FILE).read_text())
    for key, value in manifest_change.items():
        manifest.pop(key) if value is None else manifest.__setitem__(key, value)
    manifest.pop("source")
    (stale / MANIFEST_FILE).write_text(json.dumps(manifest))
    before = (stale / "model.onnx").stat().st_ino
    vectors = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(stale))).embed(SAMPLE)
    assert json.loads((stale / MANIFEST_FILE).read_text())["builder_version"] == BUILDER_VERSION
    assert (stale / "model.onnx").stat().st_ino != before
    assert sorted(p.name for p in stale.iterdir()) == OUR_FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stale"]
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def test_a_current_build_is_not_rebuilt(onnx_dir):
    before = (onnx_dir / "model.onnx").stat().st_mtime_ns
    OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(onnx_dir))).warm_up()
    assert (onnx_dir / "model.onnx").stat().st_mtime_ns == before


def test_a_data_dir_that_cannot_be_written_builds_in_memory(tmp_path, reference, monkeypatch, capsys):
    blocker = tmp_path / "a-file"  # tests run as root here, so a data dir "under" a file stands for a read-only one
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    embedder = OnnxEmbedder(Settings())
    assert embedder.location.directory == blocker / "mcp-memory" / "onnx" / "all-MiniLM-L6-v2"
    vectors = embedder.embed(SAMPLE)
    err = capsys.readouterr().err
    assert "level='warning'" in err and "built it in memory" in err
    assert "path='memory'" in err
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def test_int8_is_built_beside_the_model_on_first_use(tmp_path, onnx_dir, reference, monkeypatch, capsys):
    directory = tmp_path / "minilm"
    shutil.copytree(onnx_dir, directory)
    settings = Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(directory), MCP_MEMORY_ONNX_QUANTIZE="int8")
    embedder = OnnxEmbedder(settings)
    vectors = embedder.embed(SAMPLE)
    int8 = directory / "model.int8.onnx"
    # the embedding table stays float32
    assert int8.is_file() and int8.stat().st_size < (directory / "model.onnx.data").stat().st_size * 0.7
    assert embedder.model_name == "all-MiniLM-L6-v2" and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() > 0.95 and cosine.mean() > 0.98, cosine
    assert not np.allclose(vectors, reference, atol=1e-4)  # really another model
    err = capsys.readouterr().err
    assert "built the int8 ONNX model" in err and "quantize='int8'" in err
    assert "Quantization parameters" not in err and "pre-processing" not in err  # the quantizer's chatter
    mtime = int8.stat().st_mtime_ns
    OnnxEmbedder(settings).warm_up()
    assert int8.stat().st_mtime_ns == mtime  # reused
    os.utime(directory / "model.onnx", ns=(mtime + 10**9, mtime + 10**9))
    OnnxEmbedder(settings).warm_up()
    assert int8.stat().st_mtime_ns > mtime  # made again from the newer model.onnx


def st_copy(tmp_path: Path, name: str = "st-copy") -> Path:
    """A sentence-transformers directory: links to the bundled files, changed by the test where it needs."""
    target = tmp_path / name
    shutil.copytree(source_dir("all-MiniLM-L6-v2"), target, copy_function=os.symlink)
    return target


def test_a_model_that_is_not_bert_is_refused_with_the_fix(tmp_path, make_env, memory_cmd):
    model = st_copy(tmp_path)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").unlink()
    (model / "config.json").write_text(json.dumps({**config, "model_type": "mpnet", "architectures": ["MPNetModel"]}))
    proc = subprocess.run([*memory_cmd, "onnx-export", "--model", str(model), "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, env=make_env(), timeout=300)
    assert proc.returncode == 1
    assert "model_type 'mpnet' is not BERT" in proc.stderr
    assert "MCP_MEMORY_EMBEDDER=sentence_transformers" in proc.stderr
    assert not (tmp_path / "out").exists()
    settings = Settings(embedding_model=str(model)).with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path / "out"))
    embedder = OnnxEmbedder(settings)
    with pytest.raises(EmbeddingError, match="not BERT.*sentence_transformers"):
        embedder.embed(["hello"])


def test_a_local_bert_directory_builds_under_its_own_name(tmp_path, reference, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    model = st_copy(tmp_path, "my-minilm")
    embedder = OnnxEmbedder(Settings(embedding_model=str(model)))
    np.testing.assert_allclose(embedder.embed(SAMPLE), reference, atol=1e-5)
    manifest = json.loads((embedder.location.directory / MANIFEST_FILE).read_text())
    assert manifest["model_name"] == embedder.model_name == str(model) and manifest["source"] == str(model)


@pytest.mark.parametrize("damage, message", [
    ("truncate", "not a readable safetensors file.*truncated"),
    ("garbage", "not a readable safetensors file"),
    ("missing", r"no model.safetensors \(weights found: pytorch_model.bin\)"),
])
def test_damaged_or_missing_safetensors_is_a_clear_error(tmp_path, damage, message):
    model = st_copy(tmp_path)
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    weights.unlink()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        weights.write_bytes(b"\xff" * 64)
    else:
        (model / "pytorch_model.bin").write_bytes(b"")
    settings = Settings(embedding_model=str(model)).with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path / "out"))
    embedder = OnnxEmbedder(settings)
    with pytest.raises(EmbeddingError, match=message):
        embedder.embed(["hello"])
    assert not (tmp_path / "out").exists()


def test_fused_and_plain_graphs_compute_the_same_vectors(reference):
    import onnxruntime
    from tokenizers import Tokenizer

    from mcp_memory_onnx.build import load_weights
    from mcp_memory_onnx.graph import BertConfig, Weights, build_bert

    source = source_dir("all-MiniLM-L6-v2")
    config = BertConfig.from_json(json.loads((source / "config.json").read_text()), str(source))
    plain = build_bert(config, Weights(load_weights(source), str(source)), fused=False)
    assert {n.domain for n in plain.graph.node} == {""}  # standard ONNX operators only
    session = onnxruntime.InferenceSession(plain.SerializeToString(), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding()
    encodings = tokenizer.encode_batch(SAMPLE)
    feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
             "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
    np.testing.assert_allclose(session.run(None, feeds)[0], reference, atol=1e-5)
