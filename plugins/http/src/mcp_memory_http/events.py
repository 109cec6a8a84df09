"""Server-sent events: a small in-process bus, and a service wrapper that publishes every write."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
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
                log.warning("SSE subscriber too slow: event dropped", sse_event=event)

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
    """The service as the HTTP surfaces see it: every write that changes something also publishes an event.

    Events: ``stored`` (a StoreResult), ``updated`` (an UpdateResult), ``deleted`` (a TrashResult: hashes moved to
    the trash), ``restored`` (the memories back from the trash), ``purged`` (how many left the trash for good),
    ``ingested`` (a document's chunks stored or replaced) and ``pruned`` (chunks of removed documents trashed).
    Reads and everything else go to the wrapped service unchanged.
    """

    def __init__(self, service: Any, bus: EventBus):
        self._service = service
        self.bus = bus

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    @property
    def coordination_mode(self) -> str:
        return self._service.coordination_mode

    def _stored(self, results: list[Any]) -> None:
        for result in results:
            if result.stored:
                self.bus.publish("stored", result.to_dict())

    def _trashed(self, result: Any) -> Any:
        if result.hashes and result.reason != "dry run":
            self.bus.publish("deleted", result.to_dict())
        return result

    async def store(self, *args: Any, **kwargs: Any) -> Any:
        result = await self._service.store(*args, **kwargs)
        self._stored([result])
        return result

    async def store_batch(self, items: Any) -> Any:
        results = await self._service.store_batch(items)
        self._stored(results)
        return results

    async def update(self, *args: Any, **kwargs: Any) -> Any:
        result = await self._service.update(*args, **kwargs)
        self.bus.publish("updated", result.to_dict())
        return result

    async def update_metadata(self, content_hash: Any, **changes: Any) -> Any:
        return (await self.update(content_hash, **changes)).memory

    async def delete(self, content_hash: Any) -> Any:
        return self._trashed(await self._service.delete(content_hash))

    async def delete_by_tag(self, *args: Any, **kwargs: Any) -> Any:
        return self._trashed(await self._service.delete_by_tag(*args, **kwargs))

    async def delete_matching(self, *args: Any, **kwargs: Any) -> Any:
        return self._trashed(await self._service.delete_matching(*args, **kwargs))

    async def cleanup_duplicates(self) -> Any:
        return self._trashed(await self._service.cleanup_duplicates())

    async def restore(self, hashes: Any) -> Any:
        restored = await self._service.restore(hashes)
        if restored:
            self.bus.publish("restored", {"content_hashes": [m.content_hash for m in restored],
                                          "memories": [m.to_dict() for m in restored]})
        return restored

    async def purge(self, hashes: Any = None, older_than_days: Any = None) -> int:
        purged = await self._service.purge(hashes, older_than_days)
        if purged:
            self.bus.publish("purged", {"purged": purged})
        return purged

    async def purge_expired(self) -> int:
        purged = await self._service.purge_expired()
        if purged:
            self.bus.publish("purged", {"purged": purged})
        return purged

    async def ingest_document(self, *args: Any, **kwargs: Any) -> Any:
        found = await self._service.ingest_document(*args, **kwargs)
        if found.status in ("stored", "updated"):
            self.bus.publish("ingested", asdict(found))
        return found

    async def prune_documents(self, folders: Any, dry_run: Any = False) -> Any:
        results = await self._service.prune_documents(folders, dry_run)
        pruned = [asdict(f) for f in results if f.status == "pruned"]
        if pruned:
            self.bus.publish("pruned", {"results": pruned})
        return results
