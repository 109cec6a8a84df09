"""Hypothesis strategies for hostile input, and a service over a real sqlite_vec file run from sync tests.

The service lives in an event loop of its own (an anyio blocking portal), so that plain ``@given``
functions can call it; ``Calls`` counts what was tried and what came back as a clear error.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from mcp_memory.config import Settings
from mcp_memory.errors import MemoryServiceError
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder

SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
any_text = st.one_of(
    st.text(),
    st.text(st.one_of(st.characters(), SURROGATES), max_size=30),
    st.sampled_from(["", " ", "\n\t ", "\x00", "\u200b", "\ufeff", "NULL", "null", "'); DROP TABLE memories;--",
                     "../../etc/passwd", "/etc/shadow", "C:\\Windows\\win.ini", "%s%n%x", "${jndi:x}",
                     "\u202eevil", "a" * 101, "🙂" * 50, "ß", "İ", "ﬀ"]),
)
big_text = st.sampled_from([10_001, 100_000, 100_001, 1_000_000]).map(lambda n: "x" * (n - 1) + "y")
clean_text = st.text(min_size=1).filter(lambda t: t.strip())  # never a surrogate: st.text() excludes them
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                      st.floats(allow_nan=True, allow_infinity=True), any_text)
clean_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                       st.floats(allow_nan=False, allow_infinity=False), st.text())
json_like = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(any_text, inner, max_size=3), max_leaves=12)
clean_json = st.recursive(clean_leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(), inner, max_size=3), max_leaves=12)

#: parameter -> (valid values, hostile values): a valid call must succeed, a hostile one may be refused
VALID = {
    "content": clean_text,
    "tags": st.one_of(st.none(), st.lists(st.text(max_size=30), max_size=6),
                      st.text(max_size=40)),
    "memory_type": st.one_of(st.none(), st.text(max_size=20)),
    "metadata": st.one_of(st.none(), st.dictionaries(st.text(max_size=10), clean_json, max_size=5)),
    "created_at": st.one_of(st.none(), st.floats(0, 4e9), st.datetimes(
        max_value=datetime(9999, 12, 31, 23, 59, 59)).map(lambda d: d.isoformat())),
}
HOSTILE = {
    "content": st.one_of(any_text, big_text, st.integers(), st.none(), st.binary(max_size=10),
                         st.lists(st.text(max_size=5), max_size=3)),
    "tags": st.one_of(any_text, st.lists(any_text, max_size=6),
                      st.lists(st.one_of(any_text, st.integers(), st.none()), max_size=3),
                      st.integers(), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)),
    "memory_type": st.one_of(any_text, st.integers(), st.booleans()),
    "metadata": st.one_of(st.dictionaries(any_text, json_like, max_size=5), json_leaf,
                          st.lists(json_leaf, max_size=3), st.integers(1, 60).map(lambda depth: nested(depth))),
    "created_at": st.one_of(st.floats(), st.integers(min_value=-(10**20), max_value=10**20), any_text,
                            st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                                             "2024-02-30", "now"])),
}


@st.composite
def store_arguments(draw: Any) -> tuple[str | None, dict[str, Any]]:
    """Arguments of a store with at most one hostile parameter; returns (its name or None, arguments)."""
    names = list(VALID)
    hostile = draw(st.sampled_from([*names, None, None]))
    return hostile, {name: draw(HOSTILE[name] if name == hostile else VALID[name]) for name in names}


content = st.one_of(VALID["content"], HOSTILE["content"])
metadata = st.one_of(VALID["metadata"], HOSTILE["metadata"])
tags = st.one_of(VALID["tags"], HOSTILE["tags"])
memory_type = st.one_of(VALID["memory_type"], HOSTILE["memory_type"])
timestamps = st.one_of(VALID["created_at"], HOSTILE["created_at"])
numbers = st.one_of(st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from([0, 1, 10**6, 2**63]),
                    st.floats(), st.none(), st.booleans(), st.text(max_size=4))
hashes = st.one_of(any_text, st.text("0123456789abcdefABCDEF", min_size=64, max_size=64), st.integers(),
                   st.none())
_FRAGMENTS = ["last {n} days", "{n} weeks ago", "{n} months ago", "last {n} years", "{n} minutes ago",
              "between {d} and {d2}", "since {d}", "before {d}", "on {d}", "in {m} {y}", "in {y}", "{d}",
              "yesterday", "last week", "this month", "last year", "in {m}", "after {d}T25:61"]
_MONTHS = ["january", "feb", "march", "dec", "sept", "may"]
time_expression = st.one_of(any_text, st.builds(
    lambda parts, words: " ".join(words[:1] + parts + words[1:]),
    st.lists(st.builds(lambda f, n, y, y2, m, mo, da: f.format(
        n=n, y=y, m=m, d=f"{y:04d}-{mo:02d}-{da:02d}", d2=f"{y2:04d}-{mo:02d}-{da:02d}"),
        st.sampled_from(_FRAGMENTS), st.integers(0, 10**25), st.integers(0, 99999), st.integers(0, 99999),
        st.sampled_from(_MONTHS), st.integers(0, 13), st.integers(0, 32)), min_size=1, max_size=3),
    st.lists(st.text(max_size=8), max_size=2)))


def nested(depth: int) -> dict:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


def json_round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value, allow_nan=False))


class Calls:
    """Runs service calls in the portal; a non-service exception escapes (and fails the property)."""

    def __init__(self, portal: Any, service: MemoryService):
        self.portal = portal
        self.service = service
        self.tried: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        self.tried[name] += 1
        try:
            return True, self.portal.call(lambda: getattr(self.service, name)(*args, **kwargs))
        except MemoryServiceError as exc:
            assert str(exc).strip(), f"{name}: an error without a message"
            self.refused[name] += 1
            return False, exc

    @property
    def total(self) -> int:
        return sum(self.tried.values())


def open_sqlite_service(portal: Any, path: Path, **settings: Any) -> MemoryService:
    """A service over a sqlite_vec file at ``path`` (hash embedder, no near-duplicate policy unless given)."""
    from mcp_memory.plugins import get_plugin_manager

    config = Settings(embedder="hash", **{"duplicate_threshold": None, **settings})
    storage = get_plugin_manager(config).storage_backend("sqlite_vec").factory(config, str(path))
    service = MemoryService(storage, HashEmbedder(dimension=64), config)
    portal.call(service.initialize)
    return service


def dump(value: Any) -> bytes:
    """What every surface does with an answer: UTF-8 JSON (must never fail)."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")


def to_plain(result: Any) -> Any:
    """An answer of the service as JSON data."""
    if hasattr(result, "to_dict"):
        return result.to_dict()
    if isinstance(result, list):
        return [to_plain(r) for r in result]
    if hasattr(result, "results"):  # RecallResult
        return {"results": [r.to_dict() for r in result.results], "start": result.start, "end": result.end}
    return result

