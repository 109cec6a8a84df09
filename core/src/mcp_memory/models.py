"""The data model: memories, query results and content hashing."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from .errors import InvalidInputError

#: A vector as the core sees it: any sequence of floats (plugins may pass numpy arrays).
Vector = Sequence[float]

MAX_TAG_LENGTH = 100
MAX_METADATA_DEPTH = 32
#: the timestamps that have an ISO 8601 form in UTC: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
MIN_TIMESTAMP = -62135596800.0
MAX_TIMESTAMP = 253402300799.0


def content_hash(content: str) -> str:
    """SHA-256 of the stripped, lower-cased content: the same text is stored once.

    Metadata, tags and type never enter the hash (same rule as the reference service).
    """
    return hashlib.sha256(content.strip().lower().encode("utf-8")).hexdigest()


def normalize_tags(tags: str | Iterable[str] | None) -> list[str]:
    """Trim, lower-case and de-duplicate tags, keeping first-seen order.

    Accepts a list of strings or one comma-separated string; empty tags are dropped.
    """
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    elif not isinstance(tags, Iterable):
        raise InvalidInputError(f"tags must be a list of strings, got {type(tags).__name__}")
    seen: dict[str, None] = {}
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidInputError(f"every tag must be a string, got {type(tag).__name__}: {tag!r}")
        clean = " ".join(check_text(tag, "a tag").split()).lower()
        if not clean:
            continue
        if len(clean) > MAX_TAG_LENGTH:
            raise InvalidInputError(f"tag longer than {MAX_TAG_LENGTH} characters: {clean[:40]!r}...")
        seen.setdefault(clean, None)
    return list(seen)


def check_metadata(metadata: Any) -> dict[str, Any]:
    """Return metadata as a JSON-safe dict, or raise InvalidInputError saying why it is not."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a JSON object, got {type(metadata).__name__}")
    if _depth(metadata) > MAX_METADATA_DEPTH:
        raise InvalidInputError(f"metadata is nested more than {MAX_METADATA_DEPTH} levels deep; flatten it")
    try:
        check_text(json.dumps(metadata, allow_nan=False, ensure_ascii=False), "metadata")
    except InvalidInputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"metadata is not valid JSON: {exc}") from None
    return metadata


def _depth(value: Any) -> int:
    """Nesting depth of lists and dicts (without recursion, so any input is safe)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            deepest = max(deepest, level)
            if level <= MAX_METADATA_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


MAX_PROJECT_LENGTH = 200


def check_project(project: Any) -> str | None:
    """A project name as stored: trimmed text, or None for a global memory (None or empty)."""
    if project is None:
        return None
    if not isinstance(project, str):
        raise InvalidInputError(f"project must be a string, got {type(project).__name__}")
    clean = " ".join(check_text(project, "project").split())
    if len(clean) > MAX_PROJECT_LENGTH:
        raise InvalidInputError(f"project name longer than {MAX_PROJECT_LENGTH} characters: {clean[:40]!r}...")
    return clean or None


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    return value


def check_text(value: str, name: str) -> str:
    """Refuse text that cannot be stored as UTF-8, such as a lone surrogate ('\\ud800')."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"{name} holds an invalid character at position {exc.start} "
                                f"({value[exc.start]!r} is half of a surrogate pair); send valid UTF-8 text") from None
    return value


def iso(timestamp: float) -> str:
    """ISO 8601 form of a Unix timestamp, in UTC."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def parse_timestamp(value: Any) -> float:
    """Accept Unix seconds or an ISO 8601 string (naive means UTC) and return Unix seconds."""
    if isinstance(value, bool):
        raise InvalidInputError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInputError(f"not a finite timestamp: {value!r}")
        return _in_range(value, value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"not an ISO 8601 timestamp: {value!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return _in_range(parsed.timestamp(), value)
    raise InvalidInputError(f"not a timestamp: {value!r}")


def _in_range(seconds: float, given: Any) -> float:
    """Timestamps must have an ISO form (years 1 to 9999), or the memory could never be shown again."""
    if not MIN_TIMESTAMP <= seconds <= MAX_TIMESTAMP:
        raise InvalidInputError(f"timestamp out of range: {given!r:.60}; use a date between the years 1 and 9999")
    return float(seconds)


@dataclass(frozen=True)
class Memory:
    """One stored memory. Timestamps are Unix seconds in UTC."""

    content: str
    content_hash: str
    tags: list[str] = field(default_factory=list)
    memory_type: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    project: str | None = None
    last_used_at: float | None = None
    use_count: int = 0
    deleted_at: float | None = None
    deleted_reason: str | None = None
    replaced_by: str | None = None

    @classmethod
    def create(
        cls,
        content: str,
        tags: Iterable[str] | str | None = None,
        memory_type: str | None = None,
        metadata: dict[str, Any] | None = None,
        created_at: float | None = None,
        project: str | None = None,
    ) -> Memory:
        """Build a new memory with its hash and normalised tags."""
        now = time.time()
        created = now if created_at is None else created_at
        return cls(
            content=content,
            content_hash=content_hash(content),
            tags=normalize_tags(tags),
            memory_type=memory_type,
            metadata=dict(metadata or {}),
            created_at=created,
            updated_at=max(created, now) if created_at is None else created,
            project=project,
        )

    @property
    def trashed(self) -> bool:
        return self.deleted_at is not None

    @property
    def created_at_iso(self) -> str:
        return iso(self.created_at)

    @property
    def updated_at_iso(self) -> str:
        return iso(self.updated_at)

    def with_changes(self, **changes: Any) -> Memory:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the CLI, the MCP tools, the REST API and backups.

        The trash fields (``deleted_at``, ``deleted_reason``, ``replaced_by``) appear only for trashed memories.
        """
        data: dict[str, Any] = {
            "content": self.content,
            "content_hash": self.content_hash,
            "tags": list(self.tags),
            "memory_type": self.memory_type,
            "metadata": dict(self.metadata),
            "project": self.project,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "created_at_iso": self.created_at_iso,
            "updated_at_iso": self.updated_at_iso,
            "last_used_at": self.last_used_at,
            "use_count": self.use_count,
        }
        if self.deleted_at is not None:
            data.update(deleted_at=self.deleted_at, deleted_at_iso=iso(self.deleted_at),
                        deleted_reason=self.deleted_reason, replaced_by=self.replaced_by)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Memory:
        """Inverse of to_dict; accepts Unix seconds or ISO strings for the timestamps."""
        content = data.get("content")
        if not isinstance(content, str):
            raise InvalidInputError("memory needs a string 'content'")
        created = parse_timestamp(data["created_at"]) if data.get("created_at") is not None else time.time()
        updated = parse_timestamp(data["updated_at"]) if data.get("updated_at") is not None else created
        optional = {name: parse_timestamp(data[name]) if data.get(name) is not None else None
                    for name in ("last_used_at", "deleted_at")}
        use_count = data.get("use_count") or 0
        if isinstance(use_count, bool) or not isinstance(use_count, int) or use_count < 0:
            raise InvalidInputError(f"use_count must be a non-negative integer, got {use_count!r}")
        return cls(
            content=content,
            content_hash=data.get("content_hash") or content_hash(content),
            tags=normalize_tags(data.get("tags")),
            memory_type=data.get("memory_type"),
            metadata=check_metadata(data.get("metadata")),
            created_at=created,
            updated_at=updated,
            project=check_project(data.get("project")),
            use_count=use_count,
            deleted_reason=_optional_text(data, "deleted_reason") if optional["deleted_at"] is not None else None,
            replaced_by=_optional_text(data, "replaced_by") if optional["deleted_at"] is not None else None,
            **optional,
        )


@dataclass(frozen=True)
class QueryResult:
    """A memory found by a search, with a relevance score in [0, 1] (1 = best)."""

    memory: Memory
    relevance_score: float

    @property
    def content_hash(self) -> str:
        return self.memory.content_hash

    @property
    def tags(self) -> Sequence[str]:
        return self.memory.tags

    def with_relevance(self, relevance: float) -> QueryResult:
        return QueryResult(self.memory, relevance)

    def to_dict(self) -> dict[str, Any]:
        return {"memory": self.memory.to_dict(), "relevance_score": round(self.relevance_score, 6)}


@dataclass(frozen=True)
class Hit:
    """A search result before its memory is read: the hash and tags that ranking reads, and the relevance as
    ``QueryResult`` has it. Stores with the ``SearchHits`` capability give these for the candidates of a search;
    the service reads in full only the memories it returns."""

    content_hash: str
    tags: tuple[str, ...]
    relevance_score: float

    def with_relevance(self, relevance: float) -> Hit:
        return Hit(self.content_hash, self.tags, relevance)


def relevance_from_cosine_distance(distance: float) -> float:
    """Map a cosine distance (0..2) to a relevance in [0, 1]: cosine similarity clipped at 0.

    A zero vector has no direction: its distance is NULL or NaN, and its relevance 0.
    """
    if distance is None or math.isnan(distance):
        return 0.0
    return min(1.0, max(0.0, 1.0 - float(distance)))
