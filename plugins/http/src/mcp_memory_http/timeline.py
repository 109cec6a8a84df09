"""Memories stored per day over the last days (the dashboard's chart), read through the service."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from mcp_memory.errors import InvalidInputError
from mcp_memory.inputs import Scope

PAGE_SIZE = 500
MAX_DAYS = 366
MAX_OFFSET_MINUTES = 14 * 60


async def counts_per_day(service: Any, days: int = 30, utc_offset_minutes: int = 0,
                         now: datetime | None = None, scope: Scope | None = None) -> dict[str, Any]:
    """``{"days": [{"date", "count"}], "start", "total"}`` for the ``days`` calendar days ending today,
    in the caller's time zone (``utc_offset_minutes`` east of UTC), within ``scope``. Pages newest first until
    older."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInputError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    if abs(utc_offset_minutes) > MAX_OFFSET_MINUTES:
        raise InvalidInputError(f"utc_offset_minutes must be between -{MAX_OFFSET_MINUTES} and "
                                f"{MAX_OFFSET_MINUTES}, got {utc_offset_minutes}")
    zone = timezone(timedelta(minutes=utc_offset_minutes))
    today = (now or datetime.now(timezone.utc)).astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(), zone).timestamp()
    counts: dict[date, int] = {first + timedelta(days=i): 0 for i in range(days)}
    page = 1
    while True:
        listed = await service.list_memories(page=page, page_size=PAGE_SIZE, scope=scope)
        for memory in listed.memories:
            if memory.created_at < start:
                return _answer(counts, start)
            day = datetime.fromtimestamp(memory.created_at, zone).date()
            if day in counts:  # memories dated in the future are left out
                counts[day] += 1
        if not listed.has_more or not listed.memories:
            return _answer(counts, start)
        page += 1


def _answer(counts: dict[date, int], start: float) -> dict[str, Any]:
    return {"days": [{"date": day.isoformat(), "count": n} for day, n in counts.items()],
            "start": start, "total": sum(counts.values())}
