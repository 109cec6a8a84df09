"""RemoteMemoryService: ``MemoryAPI`` over the REST API (coordination mode ``http_client``).

All memory logic runs once, on the server; this process loads no store and no embedding model. Error answers
come back as the same ``mcp_memory.errors`` classes the server raised. A ``Scope`` travels as ``project`` /
``all_projects``: the server has no current project, so the caller's current one is sent as the named project.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError, StorageError
from mcp_memory.inputs import Scope
from mcp_memory.models import Memory, QueryResult
from mcp_memory.results import FileResult, NewMemory, Page, RecallResult, StoreResult, TrashResult, UpdateResult

from .settings import HttpSettings
from .transport import Client, Dropped, Response, TimedOut, Timeouts, Unreachable
from .wire import to_exception

HTTP_CLIENT = "http_client"
_MISSING: Any = object()


class ServerUnavailable(StorageError):
    """The memory server cannot be reached. ``sent`` is True when the request may have arrived."""

    def __init__(self, message: str, sent: bool):
        super().__init__(message)
        self.sent = sent


def client_host(host: str) -> str:
    """Where a client connects when the server listens on ``host`` (a wildcard means this machine)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host


def base_url(http: HttpSettings) -> str:
    host = client_host(http.host).strip("[]")
    return f"http://{'[' + host + ']' if ':' in host else host}:{http.port}"


def auth_headers(http: HttpSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {http.api_key}"} if http.api_key else {}


def scope_fields(scope: Scope | None) -> dict[str, Any]:
    """The request fields that make the server read what ``scope`` reads (see ``Scope.projects``)."""
    if scope is None:
        return {}
    if scope.everything:
        return {"all_projects": True}
    named = scope.project if scope.project is not None else scope.current
    return {} if named is None else {"project": named}


def _hash(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError("content_hash must be a non-empty string")
    return quote(value.strip(), safe="")


def _memory(data: dict[str, Any]) -> Memory:
    return Memory.from_dict(data)


def _memories(items: list[dict[str, Any]]) -> list[Memory]:
    return [Memory.from_dict(m) for m in items]


def _scored(items: list[dict[str, Any]]) -> list[QueryResult]:
    return [QueryResult(_memory(r["memory"]), float(r["relevance_score"])) for r in items]


def _stored(data: dict[str, Any]) -> StoreResult:
    return StoreResult(_memory(data["memory"]), duplicate=bool(data["duplicate"]),
                       near_duplicate=bool(data.get("near_duplicate")), similarity=data.get("similarity"),
                       restored=bool(data.get("restored")))


def _trashed(data: dict[str, Any]) -> TrashResult:
    return TrashResult(list(data["content_hashes"]), data["reason"])


def _page(data: dict[str, Any]) -> Page:
    return Page(_memories(data["memories"]), data["page"], data["page_size"], data["total"])


def _new(item: NewMemory) -> dict[str, Any]:
    return {"content": item.content, "tags": item.tags, "memory_type": item.memory_type,
            "metadata": item.metadata, "created_at": item.created_at, "project": item.project}


class RemoteMemoryService:
    """``MemoryAPI`` over HTTP (see ``MemoryService`` for what each method does)."""

    coordination_mode = HTTP_CLIENT
    embedder = None

    def __init__(self, settings: Settings, url: str | None = None):
        self.settings = settings
        http = HttpSettings.of(settings)
        self.url = url or base_url(http)
        # connect fast (a dead server is noticed at once); embedding a big batch may take a while
        self._http = Client(self.url, auth_headers(http), Timeouts(connect=3.0, write=60.0, read=300.0))

    async def _request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None,
                       raw: bytes | None = None) -> Any:
        try:
            content = raw if raw is not None else None if body is None else json.dumps(body, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"arguments are not valid JSON: {exc}") from None
        kind = "application/octet-stream" if raw is not None else "application/json"
        headers = {"content-type": kind} if content is not None else None
        target = f"{path}?{urlencode(params, quote_via=quote)}" if params else path
        sent = content.encode() if isinstance(content, str) else content
        try:
            response: Response = await asyncio.to_thread(self._http.request, method, target, sent, headers)
        except Unreachable as exc:
            raise ServerUnavailable(f"the memory server at {self.url} is not reachable ({exc})", sent=False) from exc
        except Dropped as exc:
            raise ServerUnavailable(f"the memory server at {self.url} dropped the connection ({exc})",
                                    sent=True) from exc
        except RuntimeError as exc:  # this client was closed (replaced after a failover): nothing was sent
            raise ServerUnavailable(f"the connection to {self.url} is closed ({exc})", sent=False) from exc
        except TimedOut as exc:
            raise StorageError(f"the memory server at {self.url} did not answer in time ({exc.kind}); "
                               "it may be overloaded: retry, or check its log") from exc
        try:
            data = response.json()
        except ValueError:
            data = {"detail": response.text[:200]}
        if response.status >= 400:
            raise to_exception(response.status, data)
        return data

    async def _query(self, path: str, scope: Scope | None = None, method: str = "GET", raw: bytes | None = None,
                     **params: Any) -> Any:
        """A request whose arguments travel in the query string (None left out, booleans as true/false)."""
        given = {k: v for k, v in {**params, **scope_fields(scope)}.items() if v is not None}
        return await self._request(method, path, raw=raw, params={k: json.dumps(v) if isinstance(v, bool) else v
                                                                  for k, v in given.items()})

    # -- writes ----------------------------------------------------------------------------------
    async def store(self, content: Any, tags: Any = None, memory_type: Any = None, metadata: Any = None,
                    created_at: Any = None, project: Any = None, allow_near_duplicate: Any = False) -> StoreResult:
        body = {**_new(NewMemory(content, tags, memory_type, metadata, created_at, project)),
                "allow_near_duplicate": allow_near_duplicate}
        return _stored(await self._request("POST", "/api/memories", body))

    async def store_batch(self, items: Iterable[NewMemory]) -> list[StoreResult]:
        body = {"memories": [_new(item) for item in items]}
        return [_stored(r) for r in (await self._request("POST", "/api/memories/batch", body))["results"]]

    async def update(self, content_hash: Any, content: Any = _MISSING, tags: Any = _MISSING,
                     memory_type: Any = _MISSING, metadata: Any = _MISSING, merge_metadata: Any = True,
                     project: Any = _MISSING) -> UpdateResult:
        body: dict[str, Any] = {"merge_metadata": merge_metadata}
        for name, value in (("content", content), ("tags", tags), ("memory_type", memory_type),
                            ("metadata", metadata), ("project", project)):
            if value is not _MISSING and value is not Ellipsis:
                body[name] = value
        data = await self._request("PATCH", f"/api/memories/{_hash(content_hash)}", body)
        return UpdateResult(_memory(data["memory"]), data["previous_hash"])

    async def delete(self, content_hash: Any) -> TrashResult:
        return _trashed(await self._request("DELETE", f"/api/memories/{_hash(content_hash)}"))

    async def delete_by_tag(self, tags: Any, scope: Scope | None = None) -> TrashResult:
        return _trashed(await self._request("POST", "/api/memories/delete-by-tag",
                                            {"tags": tags, **scope_fields(scope)}))

    async def delete_matching(self, tags: Any = None, match_all: Any = False, start: Any = None, end: Any = None,
                              scope: Scope | None = None, dry_run: Any = False) -> TrashResult:
        body = {"tags": tags, "match_all": match_all, "start": start, "end": end, "dry_run": dry_run,
                **scope_fields(scope)}
        return _trashed(await self._request("POST", "/api/memories/delete-matching", body))

    async def cleanup_duplicates(self) -> TrashResult:
        return _trashed(await self._request("POST", "/api/memories/cleanup-duplicates"))

    async def trash_list(self, page: Any = 1, page_size: Any = 10, reason: Any = None) -> Page:
        return _page(await self._query("/api/trash", page=page, page_size=page_size, reason=reason))

    async def restore(self, hashes: Any) -> list[Memory]:
        body = {"content_hashes": [hashes] if isinstance(hashes, str) else hashes}
        return _memories((await self._request("POST", "/api/trash/restore", body))["restored"])

    async def purge(self, hashes: Any = None, older_than_days: Any = None) -> int:
        body = {"content_hashes": [hashes] if isinstance(hashes, str) else (hashes or None),
                "older_than_days": older_than_days}
        return int((await self._request("POST", "/api/trash/purge", body))["purged"])

    async def history(self, content_hash: Any) -> list[Memory]:
        return _memories((await self._request("GET", f"/api/memories/{_hash(content_hash)}/history"))["versions"])

    async def ingest_document(self, data: Any, name: Any, source: Any = None, tags: Any = None, project: Any = None,
                              dry_run: Any = False, encoding: Any = None, chunk_chars: Any = None,
                              overlap: Any = None) -> FileResult:
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidInputError(f"a document is bytes, got {type(data).__name__}")
        tags = tags if tags is None or isinstance(tags, str) else ",".join(tags)
        found = await self._query("/api/documents", method="POST", raw=bytes(data), name=name, source=source,
                                  tags=tags or None, project=project, dry_run=dry_run, encoding=encoding,
                                  chunk_chars=chunk_chars, overlap=overlap)
        return FileResult(**found)

    async def prune_documents(self, folders: Any, dry_run: Any = False) -> list[FileResult]:
        found = await self._request("POST", "/api/documents/prune", {"folders": folders, "dry_run": dry_run})
        return [FileResult(**f) for f in found["results"]]

    # -- reads -----------------------------------------------------------------------------------
    async def get(self, content_hash: Any) -> Memory:
        return _memory(await self._request("GET", f"/api/memories/{_hash(content_hash)}"))

    async def exact_match(self, content: Any) -> Memory | None:
        found = (await self._request("POST", "/api/search/exact", {"content": content}))["memory"]
        return _memory(found) if found else None

    async def retrieve(self, query: Any, n_results: Any = 5, tags: Any = None, memory_type: Any = None,
                       min_relevance: Any = None, mode: Any = None, scope: Scope | None = None,
                       start: Any = None, end: Any = None) -> list[QueryResult]:
        body = {"query": query, "n_results": n_results, "tags": tags, "memory_type": memory_type,
                "min_relevance": min_relevance, "mode": mode, "start": start, "end": end, **scope_fields(scope)}
        return _scored((await self._request("POST", "/api/search", body))["results"])

    async def recall(self, query: Any, n_results: Any = 5, now: datetime | None = None, mode: Any = None,
                     scope: Scope | None = None) -> RecallResult:
        body = {"query": query, "n_results": n_results, "now": now.timestamp() if now else None, "mode": mode,
                **scope_fields(scope)}
        data = await self._request("POST", "/api/recall", body)
        return RecallResult(_scored(data["results"]), data["start"], data["end"], data["time_expression"],
                            data["semantic_query"])

    async def search_by_tag(self, tags: Any, match_all: Any = False, limit: Any = None,
                            scope: Scope | None = None, start: Any = None, end: Any = None) -> list[Memory]:
        body = {"tags": tags, "match_all": match_all, "limit": limit, "start": start, "end": end,
                **scope_fields(scope)}
        return _memories((await self._request("POST", "/api/search/by-tag", body))["memories"])

    async def search_by_time(self, start: Any = None, end: Any = None, limit: Any = None,
                             scope: Scope | None = None) -> list[Memory]:
        body = {"start": start, "end": end, "limit": limit, **scope_fields(scope)}
        return _memories((await self._request("POST", "/api/search/by-time", body))["memories"])

    async def list_memories(self, page: Any = 1, page_size: Any = 10, tag: Any = None, memory_type: Any = None,
                            scope: Scope | None = None, match_all: Any = False) -> Page:
        tags = tag if tag is None or isinstance(tag, str) else ",".join(tag)
        return _page(await self._query("/api/memories", scope, page=page, page_size=page_size, tag=tags or None,
                                       memory_type=memory_type, match_all=match_all))

    async def all_tags(self, scope: Scope | None = None) -> list[tuple[str, int]]:
        return [(t["tag"], int(t["count"])) for t in (await self._query("/api/tags", scope))["tags"]]

    async def count(self, scope: Scope | None = None) -> int:
        return int((await self._query("/api/count", scope))["count"])

    async def projects(self) -> list[tuple[str | None, int]]:
        return [(p["project"], int(p["count"])) for p in (await self._request("GET", "/api/projects"))["projects"]]

    async def stats(self) -> dict[str, Any]:
        stats = await self._request("GET", "/api/stats")
        stats.update(coordination_mode=HTTP_CLIENT, http_server=self.url)
        return stats

    async def health(self) -> dict[str, Any]:
        """The server's health, seen from here: this process is an ``http_client`` of it."""
        report = await self._request("GET", "/api/health/detailed")
        storage = report.get("storage") if isinstance(report.get("storage"), dict) else {}
        report["storage"] = {**storage, "coordination_mode": HTTP_CLIENT, "http_server": self.url,
                             "server_coordination_mode": report.get("coordination_mode")}
        report["coordination_mode"] = HTTP_CLIENT
        return report

    async def close(self) -> None:
        self._http.close()

    async def __aenter__(self) -> RemoteMemoryService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
