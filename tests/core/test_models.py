import math

import pytest

from mcp_memory.errors import InvalidInputError
from mcp_memory.models import Memory, check_metadata, content_hash, iso, normalize_tags, parse_timestamp


def test_hash_ignores_case_and_surrounding_space_but_not_inner_text():
    assert content_hash("  Hello World\n") == content_hash("hello world")
    assert content_hash("hello world") != content_hash("hello  world")
    assert len(content_hash("x")) == 64


def test_normalize_tags_trims_lowercases_dedups_and_splits_strings():
    assert normalize_tags([" Foo ", "foo", "BAR", "", "  "]) == ["foo", "bar"]
    assert normalize_tags("a, B ,a,,c") == ["a", "b", "c"]
    assert normalize_tags(None) == []
    assert normalize_tags(["multi   word"]) == ["multi word"]


@pytest.mark.parametrize("bad", [[1], [None], 5, ["x" * 101]])
def test_normalize_tags_rejects_non_strings_and_huge_tags(bad):
    with pytest.raises(InvalidInputError):
        normalize_tags(bad)


def test_metadata_must_be_json_object():
    assert check_metadata(None) == {}
    assert check_metadata({"a": [1, {"b": None}]}) == {"a": [1, {"b": None}]}
    for bad in ([1], "x", {"n": math.nan}, {"o": object()}):
        with pytest.raises(InvalidInputError):
            check_metadata(bad)


def test_timestamps_parse_both_forms_and_reject_junk():
    assert parse_timestamp(0) == 0.0
    assert parse_timestamp("1970-01-01T00:00:10Z") == 10.0
    assert parse_timestamp("1970-01-01T00:00:10") == 10.0
    assert parse_timestamp("2023-05-08T13:56:00+02:00") == parse_timestamp("2023-05-08T11:56:00Z")
    for bad in ("yesterday", math.inf, True, [1]):
        with pytest.raises(InvalidInputError):
            parse_timestamp(bad)
    assert iso(0) == "1970-01-01T00:00:00Z"


def test_memory_dict_round_trip():
    m = Memory.create("Some fact", tags=["A"], memory_type="note", metadata={"k": 1}, created_at=1000.5)
    assert m.tags == ["a"] and m.created_at == m.updated_at == 1000.5
    d = m.to_dict()
    assert d["created_at_iso"].startswith("1970-01-01T00:16:40.5")
    assert Memory.from_dict(d) == m
    assert Memory.from_dict({"content": "x", "created_at": "1970-01-01T00:00:01Z"}).created_at == 1.0
    with pytest.raises(InvalidInputError):
        Memory.from_dict({"content": 5})
