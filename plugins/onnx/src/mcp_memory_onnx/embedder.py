"""OnnxEmbedder: a sentence-transformers model (mean pooling, L2-normalised) run by onnxruntime.

Nothing heavy is imported here: onnxruntime, tokenizers and numpy load on the first ``embed``; torch never.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Sequence

from mcp_memory.errors import EmbeddingError
from mcp_memory.logging import get_logger
from mcp_memory.protocols import embed_inputs

from .model_dir import (
    DEFAULT_DIMENSION,
    DEFAULT_MAX_SEQ_LENGTH,
    DEFAULT_MODEL,
    EXPORT_HINT,
    TOKENIZER_FILE,
    canonical_name,
    hidden_size,
    read_manifest,
    resolve,
)

BATCH_SIZE = 64
#: batch size x longest length squared stays under this: attention memory grows with both, so a batch of long
#: texts is smaller (64 texts of 64 tokens, or 4 of 256) and the process's peak RSS stays bounded
ATTENTION_BUDGET = 64 * 64 * 64

log = get_logger(__name__)


def batches(lengths: list[int]) -> list[list[int]]:
    """Indexes grouped longest first (similar lengths pad less), at most ``BATCH_SIZE`` a batch and within
    ``ATTENTION_BUDGET``."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out: list[list[int]] = []
    for i in order:
        if out and len(out[-1]) < BATCH_SIZE and (len(out[-1]) + 1) * lengths[out[-1][0]] ** 2 <= ATTENTION_BUDGET:
            out[-1].append(i)
        else:
            out.append([i])
    return out


class OnnxEmbedder:
    """Embeds texts into L2-normalised float32 vectors with an ONNX export of a sentence-transformers model.

    ``model_name`` is the name the export recorded (``all-MiniLM-L6-v2`` for the default), the same name the
    sentence-transformers embedder records, so either embedder opens a store made by the other.
    """

    def __init__(self, settings: Any = None):
        self.directory, self.model_file = resolve(settings)
        manifest = read_manifest(self.directory)
        configured = canonical_name(getattr(settings, "embedding_model", None) or DEFAULT_MODEL)
        self.model_name = manifest.model_name if manifest else configured
        self.max_seq_length = manifest.max_seq_length if manifest else DEFAULT_MAX_SEQ_LENGTH
        if manifest is not None and manifest.pooling != "mean":
            raise EmbeddingError(f"{self.directory}: pooling {manifest.pooling!r} is not supported (only mean)")
        self._dimension = (manifest.dimension if manifest else None) or hidden_size(self.directory) or (
            DEFAULT_DIMENSION if self.model_name == DEFAULT_MODEL else None)
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: tuple[str, ...] = ()
        self._pad_id = 0
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OnnxEmbedder(model={self.model_name!r}, path={str(self.model_file)!r}, loaded={self.loaded})"

    @property
    def loaded(self) -> bool:
        return self._session is not None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            raise EmbeddingError(
                f"cannot tell the dimension of the ONNX model in {self.directory} (no manifest, no config.json); "
                f"{EXPORT_HINT}, or set MCP_MEMORY_ONNX_PATH to a directory made by it")
        return self._dimension

    def warm_up(self) -> None:
        self._load()

    def embed(self, texts: Sequence[str]) -> Any:
        """A float32 array of shape (len(texts), dimension), one normalised row per text, in order."""
        import numpy as np

        texts = embed_inputs(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        self._load()
        with self._run_lock:  # one tokenizer, one session: serialise callers
            encodings = self._tokenizer.encode_batch(texts)
            for rows in batches([len(e.ids) for e in encodings]):
                out[rows] = self._embed_batch([encodings[i] for i in rows])
        return out

    def _embed_batch(self, encodings: list[Any]) -> Any:
        """Pad one batch, run the model, mean-pool over the real tokens and L2-normalise."""
        import numpy as np

        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)], mask[row, :len(e.ids)], types[row, :len(e.ids)] = e.ids, 1, e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = types
        tokens = self._session.run(None, feeds)[0]
        if tokens.ndim != 3 or tokens.shape[-1] != self.dimension:
            raise EmbeddingError(f"the ONNX model in {self.directory} returned shape {tokens.shape}, expected "
                                 f"(batch, tokens, {self.dimension}); {EXPORT_HINT} again with --force")
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    # -- loading ---------------------------------------------------------------------------------
    def _load(self) -> None:
        if self._session is not None:
            return
        with self._load_lock:
            if self._session is None:
                self._open()

    def _open(self) -> None:
        if not self.model_file.is_file():
            raise EmbeddingError(
                f"no ONNX model at {self.model_file}: {EXPORT_HINT} "
                f"(`memory onnx-export --output {self.directory}`), or set MCP_MEMORY_ONNX_PATH to an exported "
                "model directory; or use MCP_MEMORY_EMBEDDER=sentence_transformers")
        tokenizer_file = self.directory / TOKENIZER_FILE
        if not tokenizer_file.is_file():
            raise EmbeddingError(f"no {TOKENIZER_FILE} beside {self.model_file}; {EXPORT_HINT} again with --force")
        started = time.perf_counter()
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(f"the onnx embedder needs onnxruntime and tokenizers ({exc}): "
                                 "pip install mcp-memory-onnx") from exc
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
            tokenizer.enable_truncation(max_length=self.max_seq_length)
            tokenizer.no_padding()  # each batch is padded to its own longest text in _embed_batch
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # errors only: ORT's warnings would flood the server log
            # idle ORT threads would spin on the cores that the vector scan and SQLite need next: a search at
            # 100k took 23 ms with spinning, 14.5 ms without (an embedding alone takes 0.6 ms longer)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = onnxruntime.InferenceSession(str(self.model_file), sess_options=options,
                                                   providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EmbeddingError(f"cannot load the ONNX model {self.model_file}: {type(exc).__name__}: {exc}; "
                                 f"{EXPORT_HINT} again with --force") from exc
        self._inputs = tuple(i.name for i in session.get_inputs())
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        self._tokenizer, self._session = tokenizer, session
        log.info("embedding model loaded", model=self.model_name, runtime="onnxruntime", path=str(self.model_file),
                 dimension=self._dimension, seconds=round(time.perf_counter() - started, 2))
