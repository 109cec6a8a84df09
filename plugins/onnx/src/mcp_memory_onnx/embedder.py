"""OnnxEmbedder: a sentence-transformers model (mean pooling, L2-normalised) run by onnxruntime.

Nothing heavy is imported here: onnxruntime, tokenizers and numpy load on the first ``embed`` (and onnx only
when the model has to be built); torch never.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, InvalidInputError
from mcp_memory.heap import release_free_memory
from mcp_memory.logging import get_logger
from mcp_memory.protocols import embed_inputs

from .graph import NOT_BERT_FIX
from .model_dir import (
    BUILD_HINT,
    DEFAULT_DIMENSION,
    DEFAULT_MAX_SEQ_LENGTH,
    DEFAULT_MODEL,
    Manifest,
    canonical_name,
    hidden_size,
    quantize_setting,
    read_manifest,
    resolve,
)

#: texts per model run: small batches keep the activations in the CPU caches. Embedding 10,000 short memories
#: (22 tokens each) on 2 cores, runs taking turns: 572 texts/s in batches of 16, 557 of 32, 525 of 64; texts of
#: 44 and 86 tokens: 16% and 6% faster in batches of 16 than of 64
BATCH_SIZE = 16
#: batch size x longest length squared stays under this: attention memory grows with both, so a batch of long
#: texts is smaller (8 texts of 180 tokens, 4 of 256) and the process's peak RSS stays bounded
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


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))  # never empty: the process runs on one of them
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class OnnxEmbedder:
    """Embeds texts into L2-normalised float32 vectors with an ONNX build of a sentence-transformers model.

    ``model_name`` is the name the build recorded (``all-MiniLM-L6-v2`` for the default), the same name the
    sentence-transformers embedder records, so either embedder opens a store made by the other. The int8 build
    (``MCP_MEMORY_ONNX_QUANTIZE=int8``) records the same name: its vectors stay within a small angle of float32.
    """

    def __init__(self, settings: Settings | None = None):
        settings = settings or Settings()
        self.location = resolve(settings)
        self.quantize = quantize_setting(settings)
        manifest = read_manifest(self.location.directory)
        configured = canonical_name(settings.embedding_model or DEFAULT_MODEL)
        self.model_name = manifest.model_name if manifest else configured
        self._apply(manifest)
        source_dir = Path(self.location.source) if self.location.source else None
        self._dimension = (manifest.dimension if manifest else None) or hidden_size(self.location.directory) or (
            hidden_size(source_dir) if source_dir else None) or (
            DEFAULT_DIMENSION if self.model_name == DEFAULT_MODEL else None)
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: tuple[str, ...] = ()
        self._input_types: dict[str, Any] = {}
        self._pad_id = 0
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def _apply(self, manifest: Manifest | None) -> None:
        self.max_seq_length = manifest.max_seq_length if manifest else DEFAULT_MAX_SEQ_LENGTH
        self.lowercase = manifest.lowercase if manifest else False
        if manifest is not None and manifest.pooling != "mean":
            raise EmbeddingError(f"{self.location.directory}: pooling {manifest.pooling!r} is not supported "
                                 "(only mean)")

    @property
    def model_file(self) -> Path:
        """The ONNX file this embedder runs (``model.int8.onnx`` with int8)."""
        return self.location.file_for(self.quantize)

    def __repr__(self) -> str:
        return (f"OnnxEmbedder(model={self.model_name!r}, path={str(self.model_file)!r}, quantize={self.quantize!r}, "
                f"loaded={self.loaded})")

    @property
    def loaded(self) -> bool:
        return self._session is not None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            raise EmbeddingError(
                f"cannot tell the dimension of the ONNX model in {self.location.directory} (no manifest, no "
                f"config.json): {BUILD_HINT}, or set MCP_MEMORY_ONNX_PATH to a directory made by it; for a model "
                f"that is not BERT, {NOT_BERT_FIX}")
        return self._dimension

    def warm_up(self) -> None:
        self._load()

    def embed(self, texts: Sequence[str]) -> Any:
        """A float32 array of shape (len(texts), dimension), one normalised row per text, in order."""
        import numpy as np

        texts = embed_inputs(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._load()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if self.lowercase:
            texts = [t.lower() for t in texts]
        with self._run_lock:  # one tokenizer, one session: serialise callers
            if len(texts) == 1:
                encodings = [self._tokenizer.encode(texts[0])]
            else:
                encodings = self._tokenizer.encode_batch(texts)
            for rows in batches([len(e.ids) for e in encodings]):
                out[rows] = self._embed_batch([encodings[i] for i in rows])
        return out

    def _embed_batch(self, encodings: list[Any]) -> Any:
        """Pad one batch on the right, run the model; pool and normalise here if the model gives token vectors."""
        import numpy as np

        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)], mask[row, :len(e.ids)] = e.ids, 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        feeds = {k: v.astype(self._input_types[k], copy=False) for k, v in feeds.items() if k in self._inputs}
        output = self._session.run(None, feeds)[0]
        if output.ndim == 2 and output.shape[-1] == self.dimension:  # our builds pool and normalise in the graph
            return output
        if output.ndim != 3 or output.shape[-1] != self.dimension:
            raise EmbeddingError(f"the ONNX model {self.model_file} returned shape {output.shape}, expected "
                                 f"(batch, {self.dimension}) or (batch, tokens, {self.dimension}); {BUILD_HINT} "
                                 "with --force")
        weights = mask[:, :, None].astype(np.float32)
        pooled = (output * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
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
        started = time.perf_counter()
        try:
            import numpy as np
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(f"the onnx embedder needs onnxruntime, tokenizers and numpy ({exc}): "
                                 "pip install mcp-memory-onnx") from exc
        from .build import ensure

        try:
            ready = ensure(self.location, self.quantize)
        except InvalidInputError as exc:  # a model the builder refuses: an embedder failure for the caller
            raise EmbeddingError(str(exc)) from exc
        if ready.manifest is not None:
            self._apply(ready.manifest)
            self.model_name, self._dimension = ready.manifest.model_name, ready.manifest.dimension
        if not ready.tokenizer.is_file():
            raise EmbeddingError(f"no {ready.tokenizer.name} beside {self.model_file}; {BUILD_HINT} with --force")
        where = "memory" if isinstance(ready.model, bytes) else str(ready.model)
        try:
            tokenizer = Tokenizer.from_file(str(ready.tokenizer))
            tokenizer.enable_truncation(max_length=self.max_seq_length)
            tokenizer.no_padding()  # each batch is padded to its own longest text in _embed_batch
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # errors only: ORT's warnings would flood the server log
            # idle ORT threads would spin on the cores that the vector scan and SQLite need next: a search at
            # 100k took 23 ms with spinning, 14.5 ms without (an embedding alone takes 0.6 ms longer)
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # a count of our own, unpinned: left at 0, onnxruntime counts the machine's cores and pins a thread to
            # each, which in containers that give the process fewer CPUs can log "pthread_setaffinity_np failed"
            options.intra_op_num_threads = usable_cpus()
            model = ready.model if isinstance(ready.model, bytes) else str(ready.model)
            session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EmbeddingError(f"cannot load the ONNX model {where}: {type(exc).__name__}: {exc}; "
                                 f"{BUILD_HINT} with --force") from exc
        kinds = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
        self._inputs = tuple(i.name for i in session.get_inputs())
        self._input_types = {i.name: kinds.get(i.type, np.int64) for i in session.get_inputs()}
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        self._tokenizer, self._session = tokenizer, session
        release_free_memory()  # what loading the model freed (about 25 MB) leaves the process now
        log.info("embedding model loaded", model=self.model_name, runtime="onnxruntime", path=where,
                 quantize=self.quantize, dimension=self._dimension, seconds=round(time.perf_counter() - started, 2))
