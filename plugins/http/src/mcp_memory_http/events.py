"""Server-sent events: a small in-process bus, and a service wrapper that publishes every write."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp_memory.logging import get_logger

log = get_logger(__name__)

QUEUE_SIZE = 1000
_CLOSED = object()


class EventBus:
    """Fan-out of events to SSE subscribers. A subscriber too slow to keep up loses events, not the server."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[Any]] = set()
        self.closed = False

    def subscribe(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        if self.closed:
            queue.put_nowait(_CLOSED)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Any]) -> None:
        self._queues.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait((event, data))
            except asyncio.QueueFull:
                log.warning("SSE subscriber too slow: event dropped", event=event)

    def close(self) -> None:
        """End every subscription (server shutdown)."""
        self.closed = True
        for queue in list(self._queues):
            try:
                queue.put_nowait(_CLOSED)
            except asyncio.QueueFull:
                pass

    @staticmethod
    def is_closed_marker(item: Any) -> bool:
        return item is _CLOSED


class PublishingService:
    """The service as the surfaces see it: every successful write also publishes an event."""

    def __init__(self, service: Any, bus: EventBus):
        self._service = service
        self.bus = bus

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    async def store(self, *args: Any, **kwargs: Any) -> Any:
        result = await self._service.store(*args, **kwargs)
        if not result.duplicate:
            self.bus.publish("stored", result.to_dict())
        return result

    async def store_batch(self, items: Any) -> Any:
        results = await self._service.store_batch(items)
        for result in results:
            if not result.duplicate:
                self.bus.publish("stored", result.to_dict())
        return results

    async def update_metadata(self, content_hash: Any, **changes: Any) -> Any:
        memory = await self._service.update_metadata(content_hash, **changes)
        self.bus.publish("updated", {"content_hash": memory.content_hash, "memory": memory.to_dict()})
        return memory

    async def delete(self, content_hash: Any) -> None:
        await self._service.delete(content_hash)
        self.bus.publish("deleted", {"content_hash": str(content_hash).strip().lower()})

    async def delete_by_tag(self, tags: Any) -> int:
        count = await self._service.delete_by_tag(tags)
        if count:
            self.bus.publish("deleted", {"tags": tags, "count": count})
        return count

    async def cleanup_duplicates(self) -> int:
        count = await self._service.cleanup_duplicates()
        if count:
            self.bus.publish("deleted", {"duplicates_removed": count})
        return count
