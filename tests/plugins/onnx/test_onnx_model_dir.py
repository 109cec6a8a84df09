"""Where the onnx embedder looks, what it knows without loading, and its errors (no model needed)."""

import json

import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, InvalidInputError
from mcp_memory_onnx import OnnxEmbedder
from mcp_memory_onnx.export import check_modules, export
from mcp_memory_onnx.model_dir import MANIFEST_FILE, default_dir, resolve


def test_default_location_is_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path)})
    directory, model_file = resolve(settings)
    assert directory == default_dir() == tmp_path / "mcp-memory" / "onnx" / "all-MiniLM-L6-v2"
    assert model_file == directory / "model.onnx"
    spelled = Settings(embedding_model="sentence-transformers/all-MiniLM-L6-v2")
    assert resolve(spelled)[0] == directory


def test_onnx_path_may_be_a_directory_or_a_file(tmp_path):
    assert resolve(Settings.from_env({"MCP_MEMORY_ONNX_PATH": str(tmp_path)})) == (tmp_path, tmp_path / "model.onnx")
    file = tmp_path / "custom.onnx"
    assert resolve(Settings(onnx_path=file)) == (tmp_path, file)


def test_embedding_model_naming_a_directory_is_used(tmp_path):
    assert resolve(Settings(embedding_model=str(tmp_path)))[0] == tmp_path


def test_name_and_dimension_without_any_file(tmp_path):
    embedder = OnnxEmbedder(Settings(onnx_path=tmp_path / "nothing-here"))
    assert (embedder.model_name, embedder.dimension, embedder.loaded) == ("all-MiniLM-L6-v2", 384, False)


def test_missing_model_says_to_run_the_export(tmp_path):
    embedder = OnnxEmbedder(Settings(onnx_path=tmp_path / "nothing-here"))
    with pytest.raises(EmbeddingError, match="memory onnx-export") as info:
        embedder.embed(["hello"])
    assert str(tmp_path / "nothing-here" / "model.onnx") in str(info.value)
    with pytest.raises(EmbeddingError, match="memory onnx-export"):
        embedder.warm_up()


def test_manifest_names_the_model(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"model_name": "my-model", "dimension": 768}))
    embedder = OnnxEmbedder(Settings(onnx_path=tmp_path))
    assert (embedder.model_name, embedder.dimension) == ("my-model", 768)


def test_broken_manifest_is_a_clear_error(tmp_path):
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(EmbeddingError, match="unreadable"):
        OnnxEmbedder(Settings(onnx_path=tmp_path))


def test_unknown_model_without_manifest_has_no_dimension(tmp_path):
    embedder = OnnxEmbedder(Settings(embedding_model=str(tmp_path)))
    assert embedder.model_name == str(tmp_path)
    with pytest.raises(EmbeddingError, match="dimension"):
        embedder.dimension


def test_corrupt_model_file_is_a_clear_error(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"not an onnx graph")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(EmbeddingError, match="cannot load the ONNX model"):
        OnnxEmbedder(Settings(onnx_path=tmp_path)).embed(["hello"])


def _st_dir(tmp_path, pooling):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "modules.json").write_text(json.dumps([
        {"type": "sentence_transformers.models.Transformer", "path": ""},
        {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"}]))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    return tmp_path


def test_export_refuses_what_the_embedder_cannot_pool(tmp_path):
    source = _st_dir(tmp_path, {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    with pytest.raises(InvalidInputError, match="only mean pooling"):
        check_modules(source)
    with pytest.raises(InvalidInputError, match="only mean pooling"):
        export(tmp_path / "out", str(source))
    assert check_modules(_st_dir(tmp_path / "mean", {"pooling_mode_mean_tokens": True})) == 256


def test_export_needs_a_local_model_directory(tmp_path):
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
