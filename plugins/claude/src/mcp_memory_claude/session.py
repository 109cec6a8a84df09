"""Capture at PreCompact and SessionEnd: statements and the session record stored once, then expiry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mcp_memory.errors import MemoryServiceError
from mcp_memory.logging import get_logger
from mcp_memory.models import Memory
from mcp_memory.ranking import AUTO_CAPTURED_TAG

from .capture import captured_at, to_memories
from .context import scope_of
from .kinds import SESSION
from .transcripts import read_claude_code

log = get_logger(__name__)
DAY = 86_400.0
#: pages of auto-captured memories read when looking for expired ones
EXPIRY_PAGE, EXPIRY_PAGES = 200, 25


async def capture_session(service: Any, transcript: Path, project: str | None, session_id: Any, event: str,
                          expiry_days: int) -> str:
    """Store what the user stated in this session (exact and near duplicates are skipped by the service), keep
    one session record up to date, and expire old auto-captured memories. Returns a one-line summary."""
    conv = read_claude_code(transcript)
    if isinstance(session_id, str) and session_id:
        conv.session_id = session_id
    memories = to_memories(conv, project, captured_by=event)
    stored = skipped = 0
    for memory in memories:
        if SESSION in memory.tags:
            stored += await _keep_record(service, memory, project)
            continue
        result = await service.store(memory.content, tags=memory.tags, memory_type=memory.memory_type,
                                     metadata=memory.metadata, created_at=memory.created_at, project=project)
        if result.duplicate or result.near_duplicate:
            skipped += 1
        else:
            stored += 1
    expired = await expire_old(service, project, expiry_days)
    return f"stored {stored}, already known {skipped}, expired {expired} (session {conv.session_id[:8]})"


async def _keep_record(service: Any, record: Memory, project: str | None) -> int:
    """Store the session's record, or replace the one an earlier capture of the same session stored."""
    session_id = record.metadata.get("session_id")
    earlier = await service.search_by_tag([AUTO_CAPTURED_TAG, SESSION], match_all=True, limit=50,
                                          scope=scope_of(project))
    previous = next((m for m in earlier if m.metadata.get("session_id") == session_id), None)
    if previous is not None:
        if previous.content_hash == record.content_hash:
            return 0
        try:
            await service.update(previous.content_hash, content=record.content, metadata=record.metadata)
            return 1
        except MemoryServiceError as exc:  # deleted meanwhile, or the text exists already: store anew
            log.debug("session record not replaced", error=str(exc))
    result = await service.store(record.content, tags=record.tags, memory_type=record.memory_type,
                                 metadata=record.metadata, created_at=record.created_at, project=project)
    return 0 if result.duplicate or result.near_duplicate else 1


async def expire_old(service: Any, project: str | None, days: int, now: float | None = None) -> int:
    """Move auto-captured memories of the project neither captured nor recalled in ``days`` to the trash
    (reason expired). 0 days keeps them all."""
    if not days:
        return 0
    cutoff = (time.time() if now is None else now) - days * DAY
    doomed: list[str] = []
    for page in range(1, EXPIRY_PAGES + 1):
        listed = await service.list_memories(page=page, page_size=EXPIRY_PAGE, tag=[AUTO_CAPTURED_TAG],
                                             scope=scope_of(project))
        doomed += [m.content_hash for m in listed.memories
                   if AUTO_CAPTURED_TAG in m.tags and max(captured_at(m), m.last_used_at or 0.0) < cutoff]
        if not listed.has_more:
            break
    if not doomed:
        return 0
    expire = getattr(service, "expire", None)
    if expire is not None:
        return int((await expire(doomed)).count)
    return await _expire_directly(doomed)


async def _expire_directly(hashes: list[str]) -> int:
    """A remote service without ``expire`` (a ``memory http`` server of another version): open the store in this
    process, without the model, just to move these memories to the trash."""
    from mcp_memory.config import Settings
    from mcp_memory.service import open_service

    direct = await open_service(Settings.from_env(), with_embedder=False)
    try:
        return (await direct.expire(hashes)).count
    finally:
        await direct.close()
