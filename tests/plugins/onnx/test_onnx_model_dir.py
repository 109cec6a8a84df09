"""Where the onnx embedder looks, what it knows without loading, its settings and errors (no model built)."""

import json
import subprocess
import sys

import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import ConfigError, EmbeddingError, InvalidInputError
from mcp_memory_onnx import OnnxEmbedder
from mcp_memory_onnx.build import check_modules, export
from mcp_memory_onnx.model_dir import MANIFEST_FILE, default_dir, quantize_setting, resolve


def test_default_location_is_under_the_data_dir_and_builds_the_bundled_model(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    location = resolve(Settings.from_env({"XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path)}))
    assert location.directory == default_dir() == tmp_path / "mcp-memory" / "onnx" / "all-MiniLM-L6-v2"
    assert location.model_file == location.directory / "model.onnx"
    assert location.int8_file == location.directory / "model.int8.onnx"
    assert location.source == "all-MiniLM-L6-v2" and not location.explicit_file
    assert resolve(Settings(embedding_model="sentence-transformers/all-MiniLM-L6-v2")).directory == location.directory


def test_onnx_path_may_be_a_directory_or_a_file(tmp_path):
    directory = resolve(Settings.from_env({"MCP_MEMORY_ONNX_PATH": str(tmp_path)}))
    assert (directory.directory, directory.model_file, directory.source) == (
        tmp_path, tmp_path / "model.onnx", "all-MiniLM-L6-v2")
    file = resolve(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path / "custom.onnx")))
    assert (file.directory, file.model_file, file.explicit_file) == (tmp_path, tmp_path / "custom.onnx", True)
    assert file.int8_file == tmp_path / "custom.int8.onnx" and file.source is None


def test_embedding_model_naming_an_onnx_directory_is_used_as_is(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"")
    location = resolve(Settings(embedding_model=str(tmp_path)))
    assert (location.directory, location.source) == (tmp_path, None)


def test_embedding_model_naming_a_sentence_transformers_directory_is_built_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"hidden_size": 768}))
    embedder = OnnxEmbedder(Settings(embedding_model=str(model)))
    assert embedder.location.source == str(model)
    assert embedder.location.directory.parent == tmp_path / "data" / "mcp-memory" / "onnx"
    assert (embedder.model_name, embedder.dimension, embedder.loaded) == (str(model), 768, False)


def test_name_and_dimension_without_any_file(tmp_path):
    embedder = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path / "nothing-here")))
    assert (embedder.model_name, embedder.dimension, embedder.loaded) == ("all-MiniLM-L6-v2", 384, False)
    assert not (tmp_path / "nothing-here").exists()  # creating the embedder builds nothing


def test_creating_the_embedder_imports_nothing_heavy(tmp_path):
    code = ("import sys; from mcp_memory.config import Settings; from mcp_memory_onnx import OnnxEmbedder; "
            f"e = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH={str(tmp_path)!r})); "
            "print(e.model_name, e.dimension); "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'numpy', 'tokenizers', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.splitlines() == ["all-MiniLM-L6-v2 384", "[]"]


def test_quantize_setting(monkeypatch):
    assert quantize_setting(Settings()) == quantize_setting(None) == "none"
    assert quantize_setting(Settings.from_env({"MCP_MEMORY_ONNX_QUANTIZE": " INT8 "})) == "int8"
    assert quantize_setting(Settings.from_env({"MCP_MEMORY_ONNX_QUANTIZE": ""})) == "none"
    with pytest.raises(ConfigError, match=r"MCP_MEMORY_ONNX_QUANTIZE must be one of none, int8, got 'fp16'"):
        quantize_setting(Settings.from_env({"MCP_MEMORY_ONNX_QUANTIZE": "fp16"}))
    monkeypatch.setenv("MCP_MEMORY_ONNX_QUANTIZE", "int4")
    with pytest.raises(ConfigError, match="int4"):
        OnnxEmbedder(Settings.from_env())
    monkeypatch.setenv("MCP_MEMORY_ONNX_QUANTIZE", "int8")
    embedder = OnnxEmbedder(Settings.from_env().with_changes(MCP_MEMORY_ONNX_PATH="/nowhere"))
    assert embedder.quantize == "int8" and embedder.model_file.name == "model.int8.onnx"
    assert embedder.model_name == "all-MiniLM-L6-v2"  # int8 keeps the identity stores record


def test_manifest_names_the_model(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"model_name": "my-model", "dimension": 768}))
    embedder = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path)))
    assert (embedder.model_name, embedder.dimension) == ("my-model", 768)


def test_broken_manifest_is_a_clear_error(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(EmbeddingError, match="unreadable.*memory onnx-export"):
        OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path)))


def test_unknown_model_without_manifest_has_no_dimension(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"")
    embedder = OnnxEmbedder(Settings(embedding_model=str(tmp_path)))
    assert embedder.model_name == str(tmp_path)
    with pytest.raises(EmbeddingError, match="dimension"):
        embedder.dimension


def test_a_hub_model_name_cannot_be_built(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    embedder = OnnxEmbedder(Settings(embedding_model="sentence-transformers/all-mpnet-base-v2"))
    assert embedder.location.source is None
    with pytest.raises(EmbeddingError, match="nothing to build it from.*MCP_MEMORY_EMBEDDER=sentence_transformers"):
        embedder.embed(["hello"])


def test_a_missing_explicit_onnx_file_is_never_built(tmp_path):
    embedder = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path / "custom.onnx")))
    with pytest.raises(EmbeddingError, match="no ONNX model at .*custom.onnx.*memory onnx-export"):
        embedder.warm_up()
    assert list(tmp_path.iterdir()) == []


def test_corrupt_model_file_is_a_clear_error(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not an onnx graph")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(EmbeddingError, match="cannot load the ONNX model"):
        OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path))).embed(["hello"])


def _st_dir(tmp_path, pooling):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "modules.json").write_text(json.dumps([
        {"type": "sentence_transformers.models.Transformer", "path": ""},
        {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"}]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    return tmp_path


def test_build_refuses_what_the_embedder_cannot_pool(tmp_path):
    source = _st_dir(tmp_path, {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    with pytest.raises(InvalidInputError, match="only mean pooling.*sentence_transformers"):
        check_modules(source)
    with pytest.raises(InvalidInputError, match="only mean pooling"):
        export(tmp_path / "out", str(source))
    assert check_modules(_st_dir(tmp_path / "mean", {"pooling_mode_mean_tokens": True})) == (256, False)


def test_build_needs_a_local_model_directory(tmp_path):
    with pytest.raises(InvalidInputError, match="not a local sentence-transformers model directory"):
        export(tmp_path / "out", str(tmp_path / "missing"))


def test_batches_keep_long_texts_small_and_cover_every_text():
    from mcp_memory_onnx.embedder import ATTENTION_BUDGET, BATCH_SIZE, batches

    lengths = [256] * 10 + [12] * 200 + [100, 3, 64]
    groups = batches(lengths)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for group in groups:
        longest = max(lengths[i] for i in group)
        assert len(group) <= BATCH_SIZE and (len(group) == 1 or len(group) * longest ** 2 <= ATTENTION_BUDGET)
        assert lengths[group[0]] == longest  # longest first: padding stays short
    assert max(len(g) for g in groups if lengths[g[0]] == 256) == 4 and max(len(g) for g in groups) == BATCH_SIZE
    assert batches([]) == []
