"""Failover: when the memory server goes away, run coordination again and retry the call once.

Stores are idempotent by content hash, so a write retried after the connection dropped is applied
once. A retried store that comes back as a duplicate of what this client had just sent is reported
as stored (the first try reached the server before it died); a retried delete of a memory the first try
moved to the trash answers as that first try would have.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.errors import NotFoundError
from mcp_memory.logging import get_logger
from mcp_memory.results import DELETED, StoreResult, TrashResult

from .client import ServerUnavailable

log = get_logger(__name__)

Reopen = Callable[[Settings], Awaitable[Any]]


async def redetect(settings: Settings) -> Any:
    """Coordination from scratch (the core's detect), opened; never a nested failover wrapper."""
    from mcp_memory.coordination import detect

    chosen = await asyncio.to_thread(detect, settings)
    service = await chosen.open()
    return service.inner if isinstance(service, FailoverService) else service


class FailoverService:
    """Delegates to the current service; a ``ServerUnavailable`` triggers one re-detection and one retry."""

    def __init__(self, inner: Any, settings: Settings, reopen: Reopen = redetect):
        self.inner = inner
        self.settings = settings
        self._reopen = reopen
        self._lock = asyncio.Lock()
        self._generation = 0
        self._closed = False

    @property
    def coordination_mode(self) -> str:
        return self.inner.coordination_mode

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._call(name, args, kwargs)

        return call

    async def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        generation = self._generation
        try:
            return await getattr(self.inner, name)(*args, **kwargs)
        except ServerUnavailable as exc:
            log.warning("memory server unreachable: running coordination again", call=name, error=str(exc))
            await self._failover(generation)
            try:
                result = await getattr(self.inner, name)(*args, **kwargs)
            except NotFoundError:
                if name == "delete" and exc.sent:  # the first try may have trashed it before the server went away
                    trashed = await self._trashed_by_first_try(*args, **kwargs)
                    if trashed is not None:
                        return trashed
                raise
            return _as_sent(name, result) if exc.sent else result

    async def _trashed_by_first_try(self, content_hash: Any) -> TrashResult | None:
        """The answer a delete that reached the server would have given, if the memory is in the trash now."""
        try:
            [current, *_] = await self.inner.history(content_hash)
        except Exception:  # noqa: BLE001 - nothing to report beyond the NotFoundError of the retry
            return None
        return TrashResult([current.content_hash]) if current.deleted_reason == DELETED else None

    async def _failover(self, generation: int) -> None:
        async with self._lock:
            if self._generation != generation:  # another call already failed over
                return
            old = self.inner
            self.inner = await self._reopen(self.settings)
            self._generation += 1
            with contextlib.suppress(Exception):
                await old.close()
            log.info(f"Detected coordination mode: {self.inner.coordination_mode}",
                     mode=self.inner.coordination_mode, after="failover")

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.inner.close()


def _as_sent(name: str, result: Any) -> Any:
    """A duplicate answer to a retried store means our first try was written: report it as stored."""
    def stored(r: Any) -> Any:
        return StoreResult(r.memory, duplicate=False) if isinstance(r, StoreResult) and r.duplicate else r

    if name == "store":
        return stored(result)
    if name == "store_batch" and isinstance(result, list):
        return [stored(r) for r in result]
    return result
