"""How a Memory is laid out in a Chroma record, and back. Pure functions, no chromadb import.

A record is: id = content hash, document = content, embedding = our vector, and scalar metadata (Chroma takes
no nested values):

- ``created_at``, ``updated_at`` (floats); ``memory_type`` (absent for None);
- ``tags_json``: the ordered tag list as JSON, plus one key ``tag:<tag>`` = True per tag, so that any/all tag
  filters are exact equality tests in a ``where``, never substring matches;
- ``metadata_json``: the user's metadata as JSON (round-trips exactly, nesting included);
- ``project``: the project name, ``""`` for a global memory (names are never empty);
- ``use_count`` (int) and ``last_used_at`` (float, absent for None);
- ``trashed`` (bool), and for trashed memories ``deleted_at``, ``deleted_reason``, ``replaced_by`` (absent
  for None).

The collection's metadata holds ``layout_version`` (this is layout 2; the previous code wrote layout 1, no
version key: no project, trash or usage keys) and the embedding model and dimension.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_memory.models import Memory

LAYOUT_VERSION = 2
TAG_PREFIX = "tag:"
GLOBAL = ""


def tag_key(tag: str) -> str:
    return TAG_PREFIX + tag


def to_record_metadata(memory: Memory) -> dict[str, Any]:
    """The metadata of the record of ``memory`` (its content is the record's document)."""
    meta: dict[str, Any] = {
        "created_at": float(memory.created_at),
        "updated_at": float(memory.updated_at),
        "tags_json": json.dumps(list(memory.tags), ensure_ascii=False),
        "metadata_json": json.dumps(memory.metadata, ensure_ascii=False),
        "project": memory.project if memory.project is not None else GLOBAL,
        "use_count": int(memory.use_count),
        "trashed": memory.deleted_at is not None,
    }
    optional = {"memory_type": memory.memory_type,
                "last_used_at": None if memory.last_used_at is None else float(memory.last_used_at)}
    if memory.deleted_at is not None:
        optional.update(deleted_at=float(memory.deleted_at), deleted_reason=memory.deleted_reason,
                        replaced_by=memory.replaced_by)
    meta.update((key, value) for key, value in optional.items() if value is not None)
    for tag in memory.tags:
        meta[tag_key(tag)] = True
    return meta


def patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The metadata for ``collection.update`` turning ``old`` into ``new``: Chroma merges keys, so keys of
    ours that must go are set to None (keys written by other tools are left alone)."""
    out = {key: value for key, value in new.items()
           if key not in old or type(old[key]) is not type(value) or old[key] != value}
    for key in old:
        if key not in new and _ours(key):
            out[key] = None
    return out


_KEYS = frozenset({"created_at", "updated_at", "tags_json", "metadata_json", "project", "use_count", "trashed",
                   "memory_type", "last_used_at", "deleted_at", "deleted_reason", "replaced_by"})


def _ours(key: str) -> bool:
    return key in _KEYS or key.startswith(TAG_PREFIX)


def _number(value: Any, default: float | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _tags(meta: dict[str, Any]) -> list[str]:
    raw = meta.get("tags_json")
    if isinstance(raw, str):
        try:
            tags = json.loads(raw)
            if isinstance(tags, list):
                return [str(t) for t in tags]
        except json.JSONDecodeError:
            pass
    legacy = meta.get("tags")  # records written by other tools: "a,b" or '["a","b"]'
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
    """The Memory of a record of layout 2, or of layout 1 (read as a live, global, unused memory)."""
    meta = meta or {}
    created = _number(meta.get("created_at", meta.get("timestamp")), 0.0)
    memory_type = meta.get("memory_type", meta.get("type"))
    use_count = meta.get("use_count")
    trashed = meta.get("trashed") is True
    return Memory(
        content=document or "",
        content_hash=record_id,
        tags=_tags(meta),
        memory_type=memory_type if isinstance(memory_type, str) else None,
        metadata=_user_metadata(meta),
        created_at=created,  # type: ignore[arg-type]
        updated_at=_number(meta.get("updated_at"), created),  # type: ignore[arg-type]
        project=_text(meta.get("project")) or None,
        last_used_at=_number(meta.get("last_used_at"), None),
        use_count=use_count if isinstance(use_count, int) and not isinstance(use_count, bool) else 0,
        deleted_at=_number(meta.get("deleted_at"), 0.0) if trashed else None,
        deleted_reason=_text(meta.get("deleted_reason")) if trashed else None,
        replaced_by=_text(meta.get("replaced_by")) if trashed else None,
    )


def upgrade_patch(meta: dict[str, Any] | None) -> dict[str, Any]:
    """What a layout-1 record needs to become a layout-2 record: a live, global, unused memory with every
    field it had (empty when it is layout 2 already)."""
    meta = meta or {}
    return patch(meta, to_record_metadata(to_memory("", "", meta)))


def sort_key(memory: Memory) -> tuple[float, str]:
    """Listing order, applied descending: live by creation, the trash by deletion (then hash)."""
    if memory.deleted_at is not None:
        return (memory.deleted_at, memory.content_hash)
    return (memory.created_at, memory.content_hash)
