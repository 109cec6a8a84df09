"""schemathesis against a real ``memory http`` server, driven by its own /openapi.json: every operation gets
generated valid and invalid requests. No answer may be a 5xx, every answer is the one the document declares
(status, content type, body schema; errors are {"error", "detail"}), the server logs no unexpected error, and its
database passes integrity_check afterwards."""

from __future__ import annotations

import importlib.util
import json

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from processes import HttpServer, base_env, free_port
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("mcp_memory_sqlite_vec") is None,
                                                   reason="checks a sqlite_vec database afterwards")]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

STREAMING = {"/api/events"}  # an endless SSE stream: covered by the security tests instead


def check_answer(method: str, path: str, status: int, body: str) -> None:
    assert status < 500, f"{method} {path} -> {status}: {body[:500]}"
    if status >= 400:
        data = json.loads(body)
        assert isinstance(data.get("error"), str) and isinstance(data.get("detail"), str) and data["detail"], data


def fuzz(operation, mode: GenerationMode, url: str, examples: int, statuses: dict[int, int]) -> None:
    """Send ``examples`` generated requests of one operation and mode; count the answers by status."""
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case):
        response = case.call_and_validate(base_url=url, checks=CHECKS, timeout=60)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        check_answer(operation.method.upper(), operation.path, response.status_code, response.text)

    try:
        call()
    except Unsatisfiable:  # nothing can be invalid in a request without parameters or body
        assert mode is GenerationMode.NEGATIVE, operation.path


def test_openapi_operations_never_give_a_server_error(tmp_path, sizes, figure):
    db = tmp_path / "api.db"
    server = HttpServer(base_env(db, free_port(), MCP_MEMORY_MAX_RESULTS="50", MCP_HTTP_MAX_BODY_BYTES="1000000"),
                        tmp_path / "server.log").wait_ready()
    statuses: dict[int, int] = {}
    operations = 0
    try:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        for found in schema.get_all_operations():
            operation = found.ok()
            if operation.path in STREAMING:
                continue
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz(operation, mode, server.url, sizes.api_examples, statuses)
        raw = raw_hostile_requests(server.url)
    finally:
        code = server.stop()
    log = server.log_path.read_text()
    assert code == 0 and "unexpected error" not in log and "Traceback" not in log, log[-5000:]
    from dbcheck import inspect  # sqlean: installed with the sqlite_vec plugin

    state = inspect(db)
    assert state.integrity == "ok" and state.problems == [], state.problems[:5]
    total = sum(statuses.values())
    five = sum(n for s, n in statuses.items() if s >= 500)
    figure(f"fuzz http openapi (schemathesis) operations={operations} cases={total} raw_cases={raw} "
           f"status={dict(sorted(statuses.items()))} 5xx={five} integrity=ok memories={len(state.memories)}")


def raw_hostile_requests(url: str) -> int:
    """Bodies no schema describes: broken JSON, other content types, huge numbers, path tricks."""
    requests = [
        ("POST", "/api/memories", {"content": b"{not json"}),
        ("POST", "/api/memories", {"content": b"\xff\xfe\x00garbage", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/memories", {"content": b"content=x",
                                   "headers": {"content-type": "application/x-www-form-urlencoded"}}),
        ("POST", "/api/memories", {"content": b'{"content": "\\ud800"}',
                                   "headers": {"content-type": "application/json"}}),
        ("POST", "/api/memories", {"json": {"content": "x" * 2_000_000}}),
        ("POST", "/api/memories", {"json": [1, 2, 3]}),
        ("POST", "/api/memories", {"content": b'{"content": "a", "created_at": 1e400}',
                                   "headers": {"content-type": "application/json"}}),
        ("POST", "/api/search", {"json": {"query": "x", "n_results": 10**40}}),
        ("GET", "/api/memories?page=99999999999999999999999&page_size=1000000", {}),
        ("GET", "/api/memories?page=-1", {}),
        ("GET", "/api/memories/..%2F..%2Fetc%2Fpasswd", {}),
        ("GET", "/api/memories/%00", {}),
        ("DELETE", "/api/memories/" + "%2e%2e/" * 8, {}),
        ("PATCH", "/api/memories/abc", {"content": b"[]", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/recall", {"json": {"query": "on 9999-12-31", "now": 253402300799}}),
        ("POST", "/api/recall", {"json": {"query": "last week", "now": -1e20}}),
        ("POST", "/api/search/by-time", {"json": {"start": "0000-00-00", "end": 1e308}}),
        ("PUT", "/api/memories", {"json": {}}),
        ("TRACE", "/api/stats", {}),
        ("GET", "/api/memories?page=1&page=2&projct=x", {}),
        ("GET", "/api/memories/..%2F..%2Fetc%2Fpasswd/history", {}),
        ("POST", "/api/trash/restore", {"json": {"content_hashes": ["%2e%2e", "0" * 7, "g" * 64, None]}}),
        ("POST", "/api/trash/purge", {"json": {"older_than_days": -1}}),
        ("POST", "/api/trash/purge", {"json": {"older_than_days": 1e308}}),
        ("POST", "/api/documents?name=..%2F..%2Fetc%2Fpasswd&source=/etc/passwd", {"content": b"just bytes"}),
        ("POST", "/api/documents?name=x.pdf", {"content": b"%PDF-1.7 broken"}),
        ("POST", "/api/documents?name=x.md&encoding=no-such-codec", {"content": b"\xff\xfe"}),
        ("POST", "/api/documents?name=x.md&chunk_chars=-5&overlap=99999999", {"content": b"# x"}),
        ("POST", "/api/documents/prune", {"json": {"folders": ["relative", "", "/", "\x00"]}}),
        ("POST", "/api/memories", {"content": b"x" * 1_000_001, "headers": {"content-type": "application/json"}}),
        ("GET", "/api/stats", {"headers": {"Host": "evil.example"}}),
        ("GET", "/api/stats", {"headers": {"Origin": "null"}}),
    ]
    with httpx2.Client(base_url=url, timeout=60) as client:
        for method, path, kwargs in requests:
            response = client.request(method, path, **kwargs)
            check_answer(method, path, response.status_code, response.text)
    return len(requests)
