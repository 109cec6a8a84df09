"""Hypothesis-generated arguments for every MCP tool, through the SDK client in process, over a real
sqlite_vec file: each call answers (a result that matches the tool's output schema) or is a tool error
with a clear message, never an internal error; the file passes integrity_check afterwards."""

from __future__ import annotations

import json

import pytest
from anyio.from_thread import start_blocking_portal
from dbcheck import inspect
from fuzzing import (
    HOSTILE,
    VALID,
    any_text,
    hashes,
    nested,
    open_sqlite_service,
    time_expression,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mcp import Client

from mcp_memory.mcp_server import build_server

finite_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
              st.floats(allow_nan=False, allow_infinity=False), any_text),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3), max_leaves=8)
integer_like = st.one_of(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from([0, 1, 10**6]),
                         st.floats(allow_nan=False), st.text(max_size=4), st.none(), st.booleans())
tag_values = st.one_of(VALID["tags"], HOSTILE["tags"])
metadata_values = st.one_of(VALID["metadata"], st.dictionaries(any_text, finite_json, max_size=4), finite_json)
VALUES = {
    "content": st.one_of(VALID["content"], any_text, finite_json),
    "query": st.one_of(VALID["content"], any_text, time_expression, finite_json),
    "tags": tag_values, "tag": tag_values,
    "memory_type": st.one_of(VALID["memory_type"], finite_json),
    "metadata": metadata_values,
    "updates": st.one_of(st.fixed_dictionaries({}, optional={"tags": tag_values, "memory_type": any_text,
                                                              "metadata": metadata_values, "content": any_text,
                                                              "extra": finite_json}), finite_json),
    "n_results": integer_like, "page": integer_like, "page_size": integer_like,
    "min_relevance": st.one_of(st.floats(allow_nan=False), st.none(), any_text),
    "mode": st.one_of(st.sampled_from(["semantic", "lexical", "hybrid"]), finite_json),
    "match_all": st.one_of(st.booleans(), finite_json),
    "content_hash": hashes,
}
TOOLS = {
    "store_memory": ["content", "tags", "memory_type", "metadata"],
    "retrieve_memory": ["query", "n_results", "min_relevance", "tags", "memory_type", "mode"],
    "recall_memory": ["query", "n_results"],
    "search_by_tag": ["tags", "match_all"],
    "exact_match_retrieve": ["content"],
    "list_memories": ["page", "page_size", "tag", "memory_type"],
    "delete_memory": ["content_hash"],
    "delete_by_tag": ["tags"],
    "update_memory_metadata": ["content_hash", "updates"],
    "cleanup_duplicates": [],
    "check_database_health": [],
}


def sendable(arguments: dict) -> bool:
    try:
        json.dumps(arguments, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@st.composite
def tool_call(draw) -> tuple[str, dict]:
    name = draw(st.sampled_from(sorted(TOOLS)))
    chosen = draw(st.lists(st.sampled_from(TOOLS[name] + ["unknown_argument"]), unique=True,
                           max_size=len(TOOLS[name]) + 1))
    required = {"store_memory": "content", "retrieve_memory": "query", "recall_memory": "query",
                "search_by_tag": "tags", "exact_match_retrieve": "content", "delete_memory": "content_hash",
                "delete_by_tag": "tags", "update_memory_metadata": "content_hash"}.get(name)
    if required and draw(st.integers(0, 9)) > 0 and required not in chosen:
        chosen.append(required)
    return name, {arg: draw(VALUES.get(arg, finite_json)) for arg in chosen}


def test_every_tool_with_generated_arguments(tmp_path, sizes, figure):
    db = tmp_path / "mcp.db"
    outcomes = {"answered": 0, "tool_errors": 0}
    per_tool: dict[str, int] = {}
    with start_blocking_portal() as portal:
        service = open_sqlite_service(portal, db, max_results=50)

        async def get_service():
            return service

        server = build_server(get_service, service.settings, use_cwd=False)
        with portal.wrap_async_context_manager(Client(server)) as client:
            portal.call(client.list_tools)  # the client then checks every result against its output schema

            @settings(max_examples=sizes.examples * 3, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(call=tool_call())
            def any_call(call):
                name, arguments = call
                assume(sendable(arguments))  # the client cannot even send a lone surrogate
                per_tool[name] = per_tool.get(name, 0) + 1
                result = portal.call(client.call_tool, name, arguments)
                text = result.content[0].text if result.content else ""
                if result.is_error:
                    outcomes["tool_errors"] += 1
                    assert text.strip(), f"{name}: an error without a message"
                    assert "internal error" not in text, f"{name}({arguments!r:.300}): {text}"
                else:
                    outcomes["answered"] += 1
                    assert result.structured_content is not None and text

            any_call()
        count = portal.call(service.count)
        portal.call(service.close)
    state = inspect(db)
    assert state.integrity == "ok" and state.problems == [], state.problems[:5]
    assert len(state.memories) == count
    figure(f"fuzz mcp tools cases={sum(per_tool.values())} answered={outcomes['answered']} "
           f"clear_tool_errors={outcomes['tool_errors']} internal_errors=0 tools={len(per_tool)} "
           f"integrity=ok memories={count}")


@pytest.mark.parametrize("arguments", [{"content": "x" * 1_000_001}, {"content": "ok", "tags": [None]},
                                       {"content": "ok", "memory_type": 7}, {"content": "ok", "metadata": [1]},
                                       {"content": "ok", "metadata": nested(40)}, {"content": "   "}],
                         ids=["1MB", "tag-None", "type-int", "metadata-list", "metadata-40-deep", "blank"])
def test_hostile_store_arguments_are_tool_errors(tmp_path, arguments):
    with start_blocking_portal() as portal:
        service = open_sqlite_service(portal, tmp_path / "m.db")

        async def get_service():
            return service

        server = build_server(get_service, service.settings, use_cwd=False)
        with portal.wrap_async_context_manager(Client(server)) as client:
            result = portal.call(client.call_tool, "store_memory", arguments)
        portal.call(service.close)
    text = result.content[0].text
    assert result.is_error and text.strip() and "internal error" not in text, text
