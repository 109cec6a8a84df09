"""Where the ONNX model lives, what its manifest says, and the quantize setting (no onnx, no numpy here)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings, default_data_dir
from mcp_memory.errors import EmbeddingError

from .settings import ONNX_SETTINGS

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_ALIASES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
DEFAULT_DIMENSION = 384
DEFAULT_MAX_SEQ_LENGTH = 256
MODEL_FILE = "model.onnx"
#: the weights of a built model.onnx, beside it (see build.write_model)
WEIGHTS_FILE = "model.onnx.data"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "mcp_memory_onnx.json"
BUILDER = "mcp-memory-onnx"
#: bump when the graph or the quantization changes: directories built by an older builder are rebuilt on first
#: use. 1 was the torch export (its manifests carry no version); 2 is the BERT graph written from safetensors;
#: 3 the same graph with its weights in WEIGHTS_FILE.
BUILDER_VERSION = 3
BUILD_HINT = "run `memory onnx-export` (it builds the model from the bundled weights, no torch needed)"


def quantize_setting(settings: Settings | None) -> str:
    """``MCP_MEMORY_ONNX_QUANTIZE``: ``none`` (default, float32) or ``int8`` (dynamic quantization)."""
    return str((settings or Settings()).section(ONNX_SETTINGS).onnx_quantize)


@dataclass(frozen=True)
class Manifest:
    """What the builder recorded next to the model: the name stores record, how to pool, who built it."""

    model_name: str
    dimension: int
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH
    pooling: str = "mean"
    lowercase: bool = False
    builder_version: int = 1
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "dimension": self.dimension, "max_seq_length": self.max_seq_length,
                "pooling": self.pooling, "normalize": True, "lowercase": self.lowercase, "builder": BUILDER,
                "builder_version": self.builder_version, "source": self.source, **self.extra}


@dataclass(frozen=True)
class Location:
    """Where the embedder reads its model, and what it may build there when the model is missing or stale."""

    directory: Path
    model_file: Path
    source: str | None  # the model to build from (default name or a local sentence-transformers dir); None: never
    explicit_file: bool = False  # MCP_MEMORY_ONNX_PATH named a .onnx file: used as is, never built

    @property
    def int8_file(self) -> Path:
        """``model.int8.onnx`` beside ``model.onnx`` (``x.int8.onnx`` beside ``x.onnx``)."""
        return self.model_file.with_name(self.model_file.stem + ".int8.onnx")

    def file_for(self, quantize: str) -> Path:
        return self.int8_file if quantize == "int8" else self.model_file


def slug(name: str) -> str:
    """A directory name for a model name (``org/name`` -> ``org--name``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "--", name.strip()).strip("-") or "model"


def canonical_name(name: str) -> str:
    """Both spellings of the default model are recorded as ``all-MiniLM-L6-v2`` (as the sentence-transformers
    embedder does), so a store made with one embedder opens with the other."""
    name = name.strip()
    return DEFAULT_MODEL if name in DEFAULT_ALIASES else name


def default_dir(model: str = DEFAULT_MODEL) -> Path:
    """``<data dir>/onnx/<model>``: where the model is built by default and the embedder looks."""
    return default_data_dir() / "onnx" / slug(canonical_name(model))


def buildable(model: str) -> bool:
    """Whether the builder can make ``model``: the bundled default, or a local sentence-transformers directory."""
    model = model.strip()
    return model in DEFAULT_ALIASES or (Path(model).expanduser() / "config.json").is_file()


def resolve(settings: Settings | None) -> Location:
    """The location for the settings in force.

    ``MCP_MEMORY_ONNX_PATH`` (a directory or a ``.onnx`` file) wins; else ``MCP_MEMORY_EMBEDDING_MODEL`` when it
    names an ONNX directory or a ``.onnx`` file; else ``<data dir>/onnx/<model>``, built from the model (the
    bundled default or a local sentence-transformers directory) when missing.
    """
    settings = settings or Settings()
    explicit = settings.section(ONNX_SETTINGS).onnx_path
    name = (settings.embedding_model or DEFAULT_MODEL).strip()
    source = name if buildable(name) else None
    if explicit is not None:
        path = Path(explicit).expanduser()
    elif name not in DEFAULT_ALIASES and name.endswith(".onnx"):
        path, source = Path(name).expanduser(), None
    elif name not in DEFAULT_ALIASES and _is_onnx_dir(Path(name).expanduser()):
        path, source = Path(name).expanduser(), None
    else:
        path = default_dir(name)
    if path.suffix == ".onnx":
        return Location(path.parent, path, None, explicit_file=True)
    return Location(path, path / MODEL_FILE, source)


def _is_onnx_dir(path: Path) -> bool:
    return (path / MODEL_FILE).is_file() or (path / MANIFEST_FILE).is_file()


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of a built directory, or None when there is none (a model exported by another tool)."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        known = {"model_name", "dimension", "max_seq_length", "pooling", "normalize", "lowercase", "builder",
                 "builder_version", "source"}
        return Manifest(str(data["model_name"]), int(data["dimension"]),
                        int(data.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH)), str(data.get("pooling", "mean")),
                        bool(data.get("lowercase", False)), int(data.get("builder_version", 1)),
                        data.get("source"), {k: v for k, v in data.items() if k not in known})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EmbeddingError(f"{path} is unreadable ({exc}); {BUILD_HINT} with --force") from None


def write_manifest(directory: Path, manifest: Manifest) -> None:
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")


def hidden_size(directory: Path) -> int | None:
    """``hidden_size`` from a ``config.json`` in ``directory``, if any."""
    try:
        value = json.loads((directory / "config.json").read_text(encoding="utf-8")).get("hidden_size")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None
