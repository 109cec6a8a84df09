"""embed_inputs: the shared argument check of every embedder's embed()."""

import pytest

from mcp_memory.errors import InvalidInputError
from mcp_memory.protocols import embed_inputs


def test_strings_come_back_as_a_list_in_order():
    assert embed_inputs(("b", "a", "")) == ["b", "a", ""]
    assert embed_inputs(iter(["x"])) == ["x"]
    assert embed_inputs([]) == []


def test_other_types_are_named_once_each():
    with pytest.raises(InvalidInputError, match=r"embed\(\) takes strings, got NoneType, bytes, int$"):
        embed_inputs(["ok", 1, b"raw", None, 2])
