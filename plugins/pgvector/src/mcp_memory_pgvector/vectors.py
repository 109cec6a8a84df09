"""pgvector's ``vector`` type in psycopg: float32 numpy arrays sent and read in pgvector's binary format.

Binary format (pgvector ``vector_send``): uint16 dimension, uint16 unused (0), then float32 values, big-endian.
"""

from __future__ import annotations

import struct
from typing import Any, Sequence

import numpy as np
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format

from mcp_memory.errors import EmbeddingError, InvalidInputError

_HEADER = struct.Struct(">HH")
MAX_DIMENSION = 16000  # pgvector's limit for the vector type


class PgVector:
    """A vector to send: a float32 array already checked for its dimension and finite values."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray):
        self.array = array


def to_param(vector: Any, dimension: int | None) -> PgVector:
    """Check a vector from the core (any sequence of floats) and wrap it for a query."""
    array = np.asarray(vector, dtype=np.float32)
    if array.ndim != 1 or array.size == 0:
        raise InvalidInputError(f"a vector must be a flat, non-empty sequence of floats, got shape {array.shape}")
    if dimension is not None and array.size != dimension:
        raise EmbeddingError(f"the vector has {array.size} dimensions, the store holds {dimension}-dimensional "
                             "vectors; use the store's embedding model, or switch the store with `memory reembed`")
    if not np.all(np.isfinite(array)):
        raise InvalidInputError("a vector holds NaN or infinite values, which pgvector cannot store")
    return PgVector(array)


class _VectorBinaryDumper(Dumper):
    format = Format.BINARY
    oid = 0  # set per database by register()

    def dump(self, obj: PgVector) -> bytes:
        return _HEADER.pack(obj.array.size, 0) + obj.array.astype(">f4").tobytes()


class _VectorBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: Any) -> np.ndarray:
        dimension, _unused = _HEADER.unpack_from(data)
        return np.frombuffer(bytes(data[4:4 + 4 * dimension]), dtype=">f4").astype(np.float32)


class _VectorTextLoader(Loader):
    format = Format.TEXT

    def load(self, data: Any) -> np.ndarray:
        text = bytes(data).decode("ascii").strip("[]")
        return np.array(text.split(","), dtype=np.float32) if text else np.zeros(0, dtype=np.float32)


def register(connection: Any, oid: int) -> None:
    """Make ``connection`` send ``PgVector`` as ``vector`` and read ``vector`` columns as float32 arrays."""
    dumper = type("VectorBinaryDumper", (_VectorBinaryDumper,), {"oid": oid})
    adapters = connection.adapters
    adapters.register_dumper(PgVector, dumper)
    adapters.register_loader(oid, _VectorBinaryLoader)
    adapters.register_loader(oid, _VectorTextLoader)


def as_list(vectors: Sequence[Any]) -> list[np.ndarray]:
    """Vectors read from the database as float32 arrays (``None`` kept)."""
    return [None if v is None else np.asarray(v, dtype=np.float32) for v in vectors]
