"""``MemoryAPI``: the one interface of a memory service, whichever way this process reaches the data.

``MemoryService`` (the store in this process), the http plugin's remote client (a ``memory http`` server does
the work) and its event-publishing wrapper all implement it; the MCP tools, the CLI and the hooks use only
this. Methods take caller input as given (``Any``) and validate it; results are ``mcp_memory.results`` types.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .inputs import Scope
from .models import Memory, QueryResult
from .results import FileResult, NewMemory, Page, RecallResult, StoreResult, TrashResult, UpdateResult


@runtime_checkable
class MemoryAPI(Protocol):
    """Memory operations (see ``MemoryService`` for what each does)."""

    coordination_mode: str

    async def close(self) -> None: ...

    # -- writes ------------------------------------------------------------------------------
    async def store(self, content: Any, tags: Any = None, memory_type: Any = None, metadata: Any = None,
                    created_at: Any = None, project: Any = None, allow_near_duplicate: Any = False
                    ) -> StoreResult: ...

    async def store_batch(self, items: Iterable[NewMemory]) -> list[StoreResult]: ...

    async def update(self, content_hash: Any, content: Any = ..., tags: Any = ..., memory_type: Any = ...,
                     metadata: Any = ..., merge_metadata: Any = True, project: Any = ...) -> UpdateResult: ...

    async def delete(self, content_hash: Any) -> TrashResult: ...

    async def delete_by_tag(self, tags: Any, scope: Scope | None = None) -> TrashResult: ...

    async def delete_matching(self, tags: Any = None, match_all: Any = False, start: Any = None, end: Any = None,
                              scope: Scope | None = None, dry_run: Any = False) -> TrashResult: ...

    async def cleanup_duplicates(self) -> TrashResult: ...

    async def trash_list(self, page: Any = 1, page_size: Any = 10, reason: Any = None) -> Page: ...

    async def restore(self, hashes: Any) -> list[Memory]: ...

    async def purge(self, hashes: Any = None, older_than_days: Any = None) -> int: ...

    async def history(self, content_hash: Any) -> list[Memory]: ...

    async def ingest_document(self, data: Any, name: Any, source: Any = None, tags: Any = None, project: Any = None,
                              dry_run: Any = False, encoding: Any = None, chunk_chars: Any = None,
                              overlap: Any = None) -> FileResult: ...

    async def prune_documents(self, folders: Any, dry_run: Any = False) -> list[FileResult]: ...

    # -- reads -------------------------------------------------------------------------------
    async def get(self, content_hash: Any) -> Memory: ...

    async def exact_match(self, content: Any) -> Memory | None: ...

    async def retrieve(self, query: Any, n_results: Any = 5, tags: Any = None, memory_type: Any = None,
                       min_relevance: Any = None, mode: Any = None, scope: Scope | None = None,
                       start: Any = None, end: Any = None) -> list[QueryResult]: ...

    async def recall(self, query: Any, n_results: Any = 5, now: datetime | None = None, mode: Any = None,
                     scope: Scope | None = None) -> RecallResult: ...

    async def search_by_tag(self, tags: Any, match_all: Any = False, limit: Any = None,
                            scope: Scope | None = None, start: Any = None, end: Any = None) -> list[Memory]: ...

    async def search_by_time(self, start: Any = None, end: Any = None, limit: Any = None,
                             scope: Scope | None = None) -> list[Memory]: ...

    async def list_memories(self, page: Any = 1, page_size: Any = 10, tag: Any = None, memory_type: Any = None,
                            scope: Scope | None = None, match_all: Any = False) -> Page: ...

    async def all_tags(self, scope: Scope | None = None) -> list[tuple[str, int]]: ...

    async def count(self, scope: Scope | None = None) -> int: ...

    async def projects(self) -> list[tuple[str | None, int]]: ...

    async def stats(self) -> dict[str, Any]: ...

    async def health(self) -> dict[str, Any]: ...
