"""Where the exported ONNX model lives and what its manifest says (no onnxruntime, no numpy here)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_memory.config import default_data_dir
from mcp_memory.errors import EmbeddingError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
DEFAULT_DIMENSION = 384
DEFAULT_MAX_SEQ_LENGTH = 256
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "mcp_memory_onnx.json"
EXPORT_HINT = "run `memory onnx-export` once (it needs torch, only for the export)"


@dataclass(frozen=True)
class Manifest:
    """What ``memory onnx-export`` recorded next to the model: the name stores record, and how to pool."""

    model_name: str
    dimension: int
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    pooling: str = "mean"

    def to_dict(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "dimension": self.dimension,
                "max_seq_length": self.max_seq_length, "pooling": self.pooling, "normalize": True}


def slug(name: str) -> str:
    """A directory name for a model name (``org/name`` -> ``org--name``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "--", name.strip()).strip("-") or "model"


def canonical_name(name: str) -> str:
    """Both spellings of the default model are recorded as ``all-MiniLM-L6-v2`` (as the sentence-transformers
    embedder does), so a store made with one embedder opens with the other."""
    name = name.strip()
    return DEFAULT_MODEL if name in DEFAULT_ALIASES else name


def default_dir(model: str = DEFAULT_MODEL) -> Path:
    """``<data dir>/onnx/<model>``: where ``memory onnx-export`` writes and the embedder looks by default."""
    return default_data_dir() / "onnx" / slug(canonical_name(model))


def resolve(settings: Any) -> tuple[Path, Path]:
    """(directory, model file) for the settings in force.

    ``MCP_MEMORY_ONNX_PATH`` (a directory or a ``.onnx`` file) wins; else ``MCP_MEMORY_EMBEDDING_MODEL`` when it
    names an existing directory or a ``.onnx`` file; else the default directory of the configured model.
    """
    explicit = getattr(settings, "onnx_path", None)
    name = (getattr(settings, "embedding_model", None) or DEFAULT_MODEL).strip()
    if explicit is not None:
        path = Path(explicit).expanduser()
    elif name not in DEFAULT_ALIASES and (name.endswith(".onnx") or Path(name).expanduser().is_dir()):
        path = Path(name).expanduser()
    else:
        path = default_dir(name)
    if path.suffix == ".onnx":
        return path.parent, path
    return path, path / MODEL_FILE


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of an export, or None when there is none (a model exported by another tool)."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(str(data["model_name"]), int(data["dimension"]),
                        int(data.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH)), str(data.get("pooling", "mean")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError(f"{path} is unreadable ({exc}); {EXPORT_HINT} again with --force") from None


def write_manifest(directory: Path, manifest: Manifest) -> None:
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")


def hidden_size(directory: Path) -> int | None:
    """``hidden_size`` from a ``config.json`` beside the model, if any."""
    try:
        value = json.loads((directory / "config.json").read_text(encoding="utf-8")).get("hidden_size")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None
