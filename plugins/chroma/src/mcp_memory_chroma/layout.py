"""How a Memory is laid out in a Chroma record, and back. Pure functions, no chromadb import.

A record is: id = content hash, document = content, embedding = our vector, metadata =
``created_at``/``updated_at`` (floats), ``memory_type`` (absent for None), ``tags_json`` (the ordered
tag list as JSON), ``metadata_json`` (the user's metadata as JSON) and one boolean key ``tag:<tag>``
per tag, so that any/all tag filters are exact equality tests, never substring matches.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mcp_memory.models import Memory

TAG_PREFIX = "tag:"


def tag_key(tag: str) -> str:
    return TAG_PREFIX + tag


def to_record_metadata(memory: Memory) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "created_at": float(memory.created_at),
        "updated_at": float(memory.updated_at),
        "tags_json": json.dumps(list(memory.tags), ensure_ascii=False),
        "metadata_json": json.dumps(memory.metadata, ensure_ascii=False),
    }
    if memory.memory_type is not None:
        meta["memory_type"] = memory.memory_type
    for tag in memory.tags:
        meta[tag_key(tag)] = True
    return meta


def update_metadata(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The patch for ``collection.update``: Chroma merges keys, so keys to drop are set to None."""
    patch = dict(new)
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def _tags(meta: dict[str, Any]) -> list[str]:
    raw = meta.get("tags_json")
    if isinstance(raw, str):
        try:
            tags = json.loads(raw)
            if isinstance(tags, list):
                return [str(t) for t in tags]
        except json.JSONDecodeError:
            pass
    legacy = meta.get("tags")  # tolerate records written by other tools: "a,b" or '["a","b"]'
    if isinstance(legacy, str) and legacy.strip():
        if legacy.strip().startswith("["):
            try:
                return [str(t) for t in json.loads(legacy)]
            except json.JSONDecodeError:
                pass
        return [t.strip() for t in legacy.split(",") if t.strip()]
    return sorted(k[len(TAG_PREFIX):] for k, v in meta.items() if k.startswith(TAG_PREFIX) and v is True)


def _user_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    raw = meta.get("metadata_json")
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
            if isinstance(value, dict):
                return value
        except json.JSONDecodeError:
            pass
    return {}


def to_memory(record_id: str, document: str | None, meta: dict[str, Any] | None) -> Memory:
    meta = meta or {}
    created = meta.get("created_at", meta.get("timestamp", 0.0))
    created = float(created) if isinstance(created, (int, float)) else 0.0
    updated = meta.get("updated_at", created)
    updated = float(updated) if isinstance(updated, (int, float)) else created
    memory_type = meta.get("memory_type", meta.get("type"))
    return Memory(
        content=document or "",
        content_hash=record_id,
        tags=_tags(meta),
        memory_type=memory_type if isinstance(memory_type, str) else None,
        metadata=_user_metadata(meta),
        created_at=created,
        updated_at=updated,
    )


def tags_filter(tags: Sequence[str], match_all: bool = False) -> dict[str, Any]:
    """A Chroma ``where`` matching any (or all) of ``tags``."""
    clauses = [{tag_key(t): True} for t in tags]
    if len(clauses) == 1:
        return clauses[0]
    return {"$and" if match_all else "$or": clauses}


def combine(*clauses: dict[str, Any] | None) -> dict[str, Any] | None:
    present = [c for c in clauses if c]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return {"$and": present}


def newest_first(memories: list[Memory]) -> list[Memory]:
    return sorted(memories, key=lambda m: (m.created_at, m.content_hash), reverse=True)
