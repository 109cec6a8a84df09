from datetime import datetime, timezone

import pytest

from mcp_memory.errors import InvalidInputError
from mcp_memory.timeparse import parse_time_expression

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)  # a Wednesday


def ts(*args):
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def window(text):
    found = parse_time_expression(text, NOW)
    assert found is not None, text
    return found


def test_no_time_expression():
    assert parse_time_expression("what is my favourite colour", NOW) is None


@pytest.mark.parametrize("text,start,end_before", [
    ("what did I do yesterday", ts(2026, 11, 24), ts(2026, 11, 25)),
    ("notes from today", ts(2026, 11, 25), ts(2026, 11, 26)),
    ("2 days ago", ts(2026, 11, 23), ts(2026, 11, 24)),
    ("last week", ts(2026, 11, 16), ts(2026, 11, 23)),
    ("last month", ts(2026, 10, 1), ts(2026, 11, 1)),
    ("in March", ts(2026, 3, 1), ts(2026, 4, 1)),
    ("in December", ts(2025, 12, 1), ts(2026, 1, 1)),
    ("march 2024", ts(2024, 3, 1), ts(2024, 4, 1)),
    ("between 2026-01-01 and 2026-02-01", ts(2026, 1, 1), ts(2026, 2, 2)),
    ("on 2026-05-04", ts(2026, 5, 4), ts(2026, 5, 5)),
    ("in 2025", ts(2025, 1, 1), ts(2026, 1, 1)),
])
def test_expressions(text, start, end_before):
    w = window(text)
    assert w.start == start
    assert start < w.end < end_before


def test_rest_is_the_semantic_part():
    w = window("what did we decide about the database yesterday?")
    assert w.rest == "what did we decide about the database"
    assert w.expression == "yesterday"


def test_open_ranges():
    assert window("since 2026-01-01").end is None
    assert window("before 2026-01-01").start is None


@pytest.mark.parametrize("bad", ["between 2026-13-45 and 2026-01-01", "between 2026-02-01 and 2026-01-01",
                                 "on 2026-02-30", "999999999 days ago"])
def test_malformed_expressions_are_errors(bad):
    with pytest.raises(InvalidInputError):
        parse_time_expression(bad, NOW)
