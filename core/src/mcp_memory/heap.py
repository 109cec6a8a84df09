"""Giving freed memory back to the operating system after the large one-off allocations of a process.

glibc keeps the blocks a thread frees in that thread's heap, and they stay in the process's resident memory until
the heap is trimmed. Loading the embedding model (in a warm-up thread) frees about 25 MB there; loading the
in-memory vector index frees the chunks it read. ``release_free_memory()`` after each returns those pages at once
(``memory http`` at 100,000 memories: peak RSS 413-431 MB without, see docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable
from typing import Any


@functools.cache
def _malloc_trim() -> Callable[[int], Any] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def release_free_memory() -> None:
    """Return the free pages of every thread's heap to the OS (glibc ``malloc_trim``); a no-op elsewhere."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
