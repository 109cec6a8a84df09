"""Recording which memories searches returned (``last_used_at``, ``use_count``), a batch at a time.

A search returns before its use is written: the hashes wait here, and one background task writes them
``FLUSH_SECONDS`` after the first of them, or at close. A burst of searches makes one write instead of one each
(a write takes the store's write lock, which other clients then wait for), and no search waits behind the
write of the one before it. A process killed in between loses at most ``FLUSH_SECONDS`` of use counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

from .logging import get_logger

log = get_logger(__name__)

FLUSH_SECONDS = 2.0


class UsageLog:
    """Pending uses, written with ``mark_used(hashes, at)`` (each call counts a hash once, as one search does)."""

    def __init__(self, mark_used: Callable[[Sequence[str], float], Awaitable[None]],
                 delay: float = FLUSH_SECONDS):
        self._mark_used = mark_used
        self.delay = delay
        self._pending: dict[str, int] = {}  # hash -> searches that returned it
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    def record(self, hashes: Iterable[str]) -> None:
        """One search returned these memories."""
        for content_hash in dict.fromkeys(hashes):
            self._pending[content_hash] = self._pending.get(content_hash, 0) + 1
        self._last = time.time()
        if self._task is None and self._pending:
            self._task = asyncio.ensure_future(self._flush_later())

    async def close(self) -> None:
        """Write what is pending now."""
        self._closing.set()
        if self._task is not None:
            await self._task
        await self.flush()

    async def _flush_later(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.delay)
        self._task = None
        await self.flush()

    async def flush(self) -> None:
        pending, at = self._pending, self._last
        self._pending = {}
        try:
            for level in range(1, max(pending.values(), default=0) + 1):  # a hash returned n times counts n
                await self._mark_used([h for h, times in pending.items() if times >= level], at)
        except Exception as exc:  # noqa: BLE001 - bookkeeping must never fail a search
            log.warning("could not record memory use", error=f"{type(exc).__name__}: {exc}")
