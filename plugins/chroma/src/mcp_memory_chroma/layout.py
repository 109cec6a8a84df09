"""How a Memory is laid out in a Chroma record, and back. Pure functions, no chromadb import.

A record is: id = content hash, document = content, embedding = our vector, and scalar metadata (Chroma takes
no nested values). Chroma's cost of reading metadata grows with the number of keys per record (about 10 us
per key and record here), so only what a ``where`` clause needs gets a key of its own:

- ``trashed`` (1 or 0), ``project`` (the name, ``""`` for a global memory: names are never empty),
  ``created_at`` (float), ``memory_type`` (absent for None), ``replaced_by`` (trashed memories only, absent for
  None), and one key ``tag:<tag>`` = 1 per tag, so that any/all tag filters are exact equality tests. Flags are
  integers, not booleans: Chroma answers ``{"key": 1}`` three to six times faster than ``{"key": True}``;
- ``data``: everything else as one JSON object: ``tags`` (in order), ``metadata`` (the user's, round-tripping
  exactly), ``updated_at``, ``use_count``, ``last_used_at``, and for trashed memories ``deleted_at`` and
  ``deleted_reason``.

The collection's metadata holds ``layout_version`` (this is layout 2). Layout 1, written by the previous code,
had no version key and ``created_at``, ``updated_at``, ``memory_type``, ``tags_json``, ``metadata_json`` and
``tag:<tag>`` = True: no project, trash or usage.
"""

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
    data: dict[str, Any] = {"tags": list(memory.tags), "metadata": memory.metadata,
                            "updated_at": float(memory.updated_at), "use_count": int(memory.use_count),
                            "last_used_at": None if memory.last_used_at is None else float(memory.last_used_at)}
    meta: dict[str, Any] = {
        "trashed": int(memory.deleted_at is not None),
        "project": memory.project if memory.project is not None else GLOBAL,
        "created_at": float(memory.created_at),
    }
    if memory.memory_type is not None:
        meta["memory_type"] = memory.memory_type
    if memory.deleted_at is not None:
        data.update(deleted_at=float(memory.deleted_at), deleted_reason=memory.deleted_reason)
        if memory.replaced_by is not None:
            meta["replaced_by"] = memory.replaced_by
    meta["data"] = json.dumps(data, ensure_ascii=False, allow_nan=False)
    for tag in memory.tags:
        meta[tag_key(tag)] = 1
    return meta


def patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The metadata for ``collection.update`` turning ``old`` into ``new``: Chroma merges keys, so keys of
    ours (either layout) that must go are set to None; keys written by other tools are left alone."""
    out = {key: value for key, value in new.items()
           if key not in old or type(old[key]) is not type(value) or old[key] != value}
    for key in old:
        if key not in new and _ours(key):
            out[key] = None
    return out


_KEYS = frozenset({"trashed", "project", "created_at", "memory_type", "replaced_by", "data",  # layout 2
                   "updated_at", "tags_json", "metadata_json"})  # layout 1 only


def _ours(key: str) -> bool:
    return key in _KEYS or key.startswith(TAG_PREFIX)


def _number(value: Any, default: float | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _data(meta: dict[str, Any]) -> dict[str, Any]:
    raw = meta.get("data")
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
            if isinstance(value, dict):
                return value
        except json.JSONDecodeError:
            pass
    return {}


def _json(raw: Any, kind: type) -> Any:
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
            if isinstance(value, kind):
                return value
        except json.JSONDecodeError:
            pass
    return None


def _tags(meta: dict[str, Any], data: dict[str, Any]) -> list[str]:
    tags = data.get("tags")
    if not isinstance(tags, list):
        tags = _json(meta.get("tags_json"), list)  # layout 1
    if isinstance(tags, list):
        return [str(t) for t in tags]
    legacy = meta.get("tags")  # records written by other tools: "a,b" or '["a","b"]'
    if isinstance(legacy, str) and legacy.strip():
        listed = _json(legacy, list) if legacy.strip().startswith("[") else None
        if listed is not None:
            return [str(t) for t in listed]
        return [t.strip() for t in legacy.split(",") if t.strip()]
    return sorted(k[len(TAG_PREFIX):] for k, v in meta.items() if k.startswith(TAG_PREFIX) and v in (1, True))


def to_memory(record_id: str, document: str | None, meta: dict[str, Any] | None) -> Memory:
    """The Memory of a record of layout 2, or of layout 1 (read as a live, global, unused memory)."""
    meta = meta or {}
    data = _data(meta)
    created = created_of(meta)
    memory_type = meta.get("memory_type", meta.get("type"))
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        metadata = _json(meta.get("metadata_json"), dict) or {}
    use_count = data.get("use_count")
    trashed = is_trashed(meta)
    return Memory(
        content=document or "",
        content_hash=record_id,
        tags=_tags(meta, data),
        memory_type=memory_type if isinstance(memory_type, str) else None,
        metadata=metadata,
        created_at=created,
        updated_at=_number(data.get("updated_at", meta.get("updated_at")), created),  # type: ignore[arg-type]
        project=_text(meta.get("project")) or None,
        last_used_at=_number(data.get("last_used_at"), None),
        use_count=use_count if isinstance(use_count, int) and not isinstance(use_count, bool) else 0,
        deleted_at=_number(data.get("deleted_at"), 0.0) if trashed else None,
        deleted_reason=_text(data.get("deleted_reason")) if trashed else None,
        replaced_by=_text(meta.get("replaced_by")) if trashed else None,
    )


def upgrade_patch(meta: dict[str, Any] | None) -> dict[str, Any]:
    """What a layout-1 record needs to become a layout-2 record: a live, global, unused memory with every
    field it had (empty when it is layout 2 already)."""
    meta = meta or {}
    return patch(meta, to_record_metadata(to_memory("", "", meta)))


def is_trashed(meta: dict[str, Any]) -> bool:
    return meta.get("trashed") == 1


def created_of(meta: dict[str, Any]) -> float:
    return _number(meta.get("created_at", meta.get("timestamp")), 0.0)  # type: ignore[return-value]


def listing_key(record_id: str, meta: dict[str, Any]) -> tuple[float, str]:
    """Listing order, applied descending: live by creation, the trash by deletion (then hash). Reads no JSON
    for live records: listings sort every match."""
    if is_trashed(meta):
        return (_number(_data(meta).get("deleted_at"), 0.0), record_id)  # type: ignore[return-value]
    return (created_of(meta), record_id)


def tag_keys(meta: dict[str, Any]) -> list[str]:
    """The tags of a record from its ``tag:`` keys (unordered; no JSON read)."""
    return [k[len(TAG_PREFIX):] for k, v in meta.items() if k.startswith(TAG_PREFIX) and v in (1, True)]
