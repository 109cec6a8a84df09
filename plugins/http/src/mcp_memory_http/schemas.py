"""What travels in REST bodies (pydantic): requests, which refuse unknown fields, and the answers, which are the
service results' own ``to_dict`` forms described for the OpenAPI document. Values are checked by the service."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Tags = list[str] | str | None
Timestamp = float | str | None

PROJECT_HELP = ('a project: reads cover it and the global memories ("global": global memories only); omitted: '
                "every project")


class Body(BaseModel):
    """A request body: an unknown field is refused (422), never ignored."""

    model_config = ConfigDict(extra="forbid")


class Scoped(Body):
    project: str | None = Field(None, description=PROJECT_HELP)
    all_projects: bool = Field(False, description="read every project (overrides project)")


class NewMemoryIn(Body):
    content: str = Field(description="The text to remember")
    tags: Tags = Field(None, description="List of tags, or one comma-separated string")
    memory_type: str | None = Field(None, description="e.g. note, decision, fact")
    metadata: dict[str, Any] | None = None
    created_at: Timestamp = Field(None, description="Unix seconds or ISO 8601; default now")
    project: str | None = Field(None, description='project it belongs to; omitted, null or "global": global')


class MemoryCreate(NewMemoryIn):
    allow_near_duplicate: bool = Field(False, description="store even if a memory of the project says nearly the "
                                                          "same (otherwise that one is answered, near_duplicate=true)")


class MemoryBatch(Body):
    memories: list[NewMemoryIn] = Field(max_length=1000, description="At most 1000 memories a request")


class MemoryUpdate(Body):
    """Only the fields sent change. New content makes a new memory (new hash); the previous version stays in
    the trash as history."""

    content: str | None = None
    tags: Tags = None
    memory_type: str | None = None
    metadata: dict[str, Any] | None = None
    merge_metadata: bool = Field(True, description="merge metadata into the current one (false: replace it)")
    project: str | None = Field(None, description='move it to this project (null or "global": global)')


class SearchRequest(Scoped):
    query: str
    n_results: int = 5
    tags: Tags = Field(None, description="only memories with any of these tags")
    memory_type: str | None = None
    min_relevance: float | None = Field(None, description="drop weaker results (0..1; default: the server's)")
    mode: str | None = Field(None, description="hybrid (default), semantic or lexical")
    start: Timestamp = Field(None, description="created at or after (Unix seconds or ISO 8601)")
    end: Timestamp = Field(None, description="created at or before")


class RecallRequest(Scoped):
    query: str = Field(description="Natural language with an optional time expression, e.g. 'last week'")
    n_results: int = 5
    now: Timestamp = Field(None, description="Reference time for the expression (default now)")
    mode: str | None = Field(None, description="Ranking mode, as in /api/search")


class TagSearchRequest(Scoped):
    tags: list[str] | str
    match_all: bool = False
    limit: int | None = None
    start: Timestamp = Field(None, description="created at or after (Unix seconds or ISO 8601)")
    end: Timestamp = Field(None, description="created at or before")


class TimeSearchRequest(Scoped):
    start: Timestamp = Field(None, description="Unix seconds or ISO 8601; open if omitted")
    end: Timestamp = None
    limit: int | None = None


class ExactMatchRequest(Body):
    content: str


class DeleteByTagRequest(Scoped):
    tags: list[str] | str


class DeleteMatchingRequest(Scoped):
    tags: Tags = None
    match_all: bool = False
    start: Timestamp = None
    end: Timestamp = None
    dry_run: bool = Field(False, description="only say which memories would go to the trash")


class RestoreRequest(Body):
    content_hashes: list[str] = Field(description="hashes or unique prefixes (8+ characters) of trashed memories")


class PruneRequest(Body):
    folders: list[str] | str = Field(description="absolute folders (a list): chunks of documents that were "
                                                       "under them and whose file no longer exists (on the server's "
                                                       "machine) go to the trash")
    dry_run: bool = False


class PurgeRequest(Body):
    content_hashes: list[str] | None = Field(None, description="trashed memories to delete for good")
    older_than_days: float | None = Field(None, description="or: everything deleted this many days ago or "
                                                               "earlier (0 empties the trash)")


# -- answers ----------------------------------------------------------------------------------------
class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="the error's name, e.g. InvalidInputError, NotFoundError")
    detail: str = Field(description="what is wrong, and what to do")


class MemoryOut(BaseModel):
    content: str
    content_hash: str
    tags: list[str]
    memory_type: str | None
    metadata: dict[str, Any]
    project: str | None
    created_at: float
    updated_at: float
    created_at_iso: str
    updated_at_iso: str
    last_used_at: float | None
    use_count: int
    deleted_at: float | None = Field(None, description="trashed memories only")
    deleted_at_iso: str | None = Field(None, description="trashed memories only")
    deleted_reason: str | None = Field(None, description="trashed memories only: deleted, edited, merged, ...")
    replaced_by: str | None = Field(None, description="trashed memories only: the version that replaced it")


class StoreAnswer(BaseModel):
    duplicate: bool = Field(description="this text was already stored: nothing new")
    near_duplicate: bool = Field(description="not stored: memory says nearly the same (similarity)")
    similarity: float | None
    restored: bool = Field(description="this text was in the trash: it is back")
    content_hash: str
    memory: MemoryOut


class BatchAnswer(BaseModel):
    results: list[StoreAnswer]


class UpdateAnswer(BaseModel):
    memory: MemoryOut
    content_hash: str
    previous_hash: str | None = Field(description="the version replaced, when the content changed")
    content_changed: bool


class TrashAnswer(BaseModel):
    trashed: int = Field(description="how many memories went (or, in a dry run, would go) to the trash")
    content_hashes: list[str]
    reason: str
    dry_run: bool = False
    message: str


class RestoreAnswer(BaseModel):
    restored: list[MemoryOut]


class PurgeAnswer(BaseModel):
    purged: int


class PageAnswer(BaseModel):
    memories: list[MemoryOut]
    page: int
    page_size: int
    total: int
    has_more: bool


class MemoriesAnswer(BaseModel):
    memories: list[MemoryOut]


class VersionsAnswer(BaseModel):
    versions: list[MemoryOut] = Field(description="newest first: the current version, then those it replaced")


class ExactAnswer(BaseModel):
    memory: MemoryOut | None


class Scored(BaseModel):
    memory: MemoryOut
    relevance_score: float


class SearchAnswer(BaseModel):
    results: list[Scored]


class RecallAnswer(BaseModel):
    results: list[Scored]
    start: float | None
    end: float | None
    time_expression: str | None
    semantic_query: str


class TagCount(BaseModel):
    tag: str
    count: int


class TagsAnswer(BaseModel):
    tags: list[TagCount]


class ProjectCount(BaseModel):
    project: str | None = Field(description="null: the global memories")
    count: int


class ProjectsAnswer(BaseModel):
    projects: list[ProjectCount]


class CountAnswer(BaseModel):
    count: int


class StoreOut(BaseModel):
    backend: str
    location: str | None = Field(description="where its data is (a URL's password masked); null if not known")
    path: str | None = Field(description="the local file or directory, when there is one")


class HealthAnswer(BaseModel):
    status: str
    service: str
    version: str
    core_version: str
    auth_required: bool
    coordination_mode: str | None = Field(None, description="with the API key only")
    store: StoreOut | None = Field(None, description="the store this server serves (with the API key only)")


class Open(BaseModel):
    """An object whose fields depend on the store or embedder."""

    model_config = ConfigDict(extra="allow")


class DetailedHealth(Open):
    status: str
    coordination_mode: str
    storage: dict[str, Any]
    embedder: dict[str, Any]
    store: StoreOut


class Stats(Open):
    backend: str | None = None
    total_memories: int | None = None
    trashed_memories: int | None = None
    coordination_mode: str | None = None


class DocumentAnswer(BaseModel):
    """What happened to one document."""

    source: str
    status: str = Field(description="stored, unchanged, updated, would store, pruned, would prune or error")
    chunks: int
    new_chunks: int
    outdated: int
    pages: int | None
    error: str | None


class PruneAnswer(BaseModel):
    results: list[DocumentAnswer]


class DayCount(BaseModel):
    date: str
    count: int


class Timeline(BaseModel):
    days: list[DayCount]
    start: float
    total: int
