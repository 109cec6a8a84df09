"""heap.settle(): start-up objects leave the collector's view, the young generation is collected less often, and
garbage made before it is still freed (collected first, never frozen)."""

from __future__ import annotations

import gc
import platform
import sys
import threading
import weakref

import pytest

from mcp_memory import heap


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it


def test_settle_freezes_start_up_objects_and_raises_the_young_threshold(restored_gc):
    garbage = Node()
    gone = weakref.ref(garbage)
    del garbage
    heap.settle()
    assert gone() is None  # collected before freezing, not kept for the life of the process
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_free_memory_gives_freed_heap_pages_back():
    def churn():  # blocks under the mmap threshold come from this thread's heap, and stay there once freed
        blocks = [bytearray(100_000) for _ in range(600)]
        del blocks[1:]  # one survivor at the start keeps the heap from shrinking by itself
        return blocks

    kept: list = []
    worker = threading.Thread(target=lambda: kept.append(churn()))
    worker.start()
    worker.join()
    before = rss_mb()
    heap.release_free_memory()
    assert rss_mb() < before - 30  # 60 MB were freed


def test_release_free_memory_is_a_no_op_without_glibc(monkeypatch):
    heap._malloc_trim.cache_clear()
    monkeypatch.setattr(sys, "platform", "darwin")
    try:
        assert heap._malloc_trim() is None
        heap.release_free_memory()
    finally:
        heap._malloc_trim.cache_clear()
