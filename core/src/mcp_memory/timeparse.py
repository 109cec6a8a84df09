"""Natural-language time expressions -> (start, end) in Unix seconds, relative to a reference time.

Understood (case-insensitive, anywhere in the query): today, yesterday, this/last week, this/last
month, this/last year, N minutes/hours/days/weeks/months ago, last N days/weeks/months, in <month>
[year], <month> <year>, in <year>, since/after <date>, before/until <date>, between <date> and <date>,
on <date>, and a bare ISO date. Whatever is not a time expression is returned as the semantic part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from .errors import InvalidInputError

MONTHS = {
    name: index
    for index, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
_DATE = r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2})?)?"
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


@dataclass(frozen=True)
class TimeRange:
    start: float | None
    end: float | None
    expression: str
    rest: str  # the query with the time expression removed (may be empty)


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=timezone.utc)


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def _parse_date(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("t", "T"))
    except ValueError:
        raise InvalidInputError(f"not a valid date: {text!r} (use YYYY-MM-DD)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _shift_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))


def parse_time_expression(query: str, now: datetime | None = None) -> TimeRange | None:
    """Find the first time expression in ``query``. None when there is none.

    Raises InvalidInputError for an expression that is recognisably temporal but malformed
    (an impossible date, a range whose end precedes its start).
    """
    if not isinstance(query, str):
        raise InvalidInputError("query must be a string")
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    today = now.date()
    text = query.lower()
    day = timedelta(days=1)

    def result(match: re.Match[str], start: datetime | None, end: datetime | None) -> TimeRange:
        if start is not None and end is not None and end < start:
            raise InvalidInputError(f"time range ends before it starts: {match.group(0)!r}")
        rest = " ".join((query[: match.start()] + " " + query[match.end():]).split())
        return TimeRange(
            start.timestamp() if start else None,
            # end bounds are inclusive in the store: subtract a microsecond from exclusive ends
            (end - timedelta(microseconds=1)).timestamp() if end else None,
            match.group(0).strip(),
            rest.strip(" ,.?!"),
        )

    patterns: list[tuple[str, object]] = [
        (rf"\bbetween\s+(?P<a>{_DATE})\s+and\s+(?P<b>{_DATE})\b",
         lambda m: (_parse_date(m["a"]), _parse_date(m["b"]) + (day if len(m["b"]) == 10 else timedelta()))),
        (rf"\b(?:since|after|from)\s+(?P<a>{_DATE})\b", lambda m: (_parse_date(m["a"]), None)),
        (rf"\b(?:before|until)\s+(?P<a>{_DATE})\b", lambda m: (None, _parse_date(m["a"]))),
        (r"\b(?:on\s+)?(?P<a>\d{4}-\d{2}-\d{2})\b",
         lambda m: (_parse_date(m["a"]), _parse_date(m["a"]) + day)),
        (r"\btoday\b|\bthis (?:morning|afternoon|evening)\b|\btonight\b",
         lambda m: (_day_start(today), _day_start(today) + day)),
        (r"\byesterday\b", lambda m: (_day_start(today) - day, _day_start(today))),
        (r"\b(?P<n>\d+|an?|one|two|three|four|five|six|seven)\s+(?P<unit>minute|hour|day|week|month|year)s?\s+ago\b",
         lambda m: _ago(now, _count(m["n"]), m["unit"])),
        (r"\b(?:last|past|previous)\s+(?P<n>\d+)\s+(?P<unit>minute|hour|day|week|month|year)s?\b",
         lambda m: (_minus(now, _count(m["n"]), m["unit"]), now + timedelta(seconds=1))),
        (r"\bthis week\b",
         lambda m: (_day_start(today - timedelta(days=today.weekday())), now + timedelta(seconds=1))),
        (r"\blast week\b",
         lambda m: (_day_start(today - timedelta(days=today.weekday() + 7)),
                    _day_start(today - timedelta(days=today.weekday())))),
        (r"\bthis month\b", lambda m: (_month_range(today.year, today.month)[0], now + timedelta(seconds=1))),
        (r"\blast month\b", lambda m: _month_range(*((today.year - 1, 12) if today.month == 1
                                                    else (today.year, today.month - 1)))),
        (r"\bthis year\b", lambda m: (datetime(today.year, 1, 1, tzinfo=timezone.utc), now + timedelta(seconds=1))),
        (r"\blast year\b", lambda m: (datetime(today.year - 1, 1, 1, tzinfo=timezone.utc),
                                      datetime(today.year, 1, 1, tzinfo=timezone.utc))),
        (rf"\b(?:in\s+)?{_MONTH}\s+(?P<year>\d{{4}})\b", lambda m: _month_range(int(m["year"]), MONTHS[m["month"]])),
        (rf"\bin\s+{_MONTH}\b", lambda m: _latest_month(today, MONTHS[m["month"]])),
        (r"\bin\s+(?P<year>(?:19|20)\d{2})\b",
         lambda m: (datetime(int(m["year"]), 1, 1, tzinfo=timezone.utc),
                    datetime(int(m["year"]) + 1, 1, 1, tzinfo=timezone.utc))),
    ]
    for pattern, build in patterns:
        match = re.search(pattern, text)
        if match:
            try:
                start, end = build(match)  # type: ignore[operator]
                return result(match, start, end)
            except InvalidInputError:
                raise
            except (OverflowError, ValueError):  # e.g. "on 9999-12-31" ends in the year 10000
                raise InvalidInputError(f"date out of range in {match.group(0)!r}: dates run from the year 1 "
                                        "to 9999") from None
    return None


def _count(word: str) -> int:
    words = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
    value = words.get(word) or int(word)
    if value > 100_000:
        raise InvalidInputError(f"time offset too large: {word}")
    return value


def _minus(now: datetime, n: int, unit: str) -> datetime:
    if unit == "month":
        return _shift_months(now, n)
    if unit == "year":
        return _shift_months(now, 12 * n)
    return now - timedelta(seconds=n * _UNIT_SECONDS[unit])


def _ago(now: datetime, n: int, unit: str) -> tuple[datetime, datetime]:
    """'3 days ago' is that calendar day; '2 hours ago' is that hour; months/years: that month/year."""
    moment = _minus(now, n, unit)
    if unit in ("day", "week"):
        start = _day_start(moment.date())
        return start, start + timedelta(days=1 if unit == "day" else 7)
    if unit == "month":
        return _month_range(moment.year, moment.month)
    if unit == "year":
        return datetime(moment.year, 1, 1, tzinfo=timezone.utc), datetime(moment.year + 1, 1, 1, tzinfo=timezone.utc)
    span = timedelta(seconds=_UNIT_SECONDS[unit])
    return moment - span / 2, moment + span / 2


def _latest_month(today: date, month: int) -> tuple[datetime, datetime]:
    """'in March' means the most recent March that has started (this year's or last year's)."""
    year = today.year if month <= today.month else today.year - 1
    return _month_range(year, month)
