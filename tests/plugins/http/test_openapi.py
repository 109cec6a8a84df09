"""The OpenAPI document matches the real answers: every operation of a real server gets generated requests (valid
and invalid, by schemathesis from /openapi.json) and every answer is checked against the document: its status is
declared, its content type too, and its body fits the declared schema (success models and ``{"error", "detail"}``)."""

from __future__ import annotations

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ERRORS = {"400", "401", "403", "404", "413", "421", "422"}
STREAMING = {"/api/events"}  # an endless event stream: its answer is checked in test_events_and_mcp.py


@pytest.fixture(scope="module")
def spec(server):
    return httpx2.get(f"{server.url}/openapi.json", timeout=10).json()


def test_every_operation_declares_its_answers(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's default 422 is not ours
    error = {"$ref": "#/components/schemas/ErrorBody"}
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]) == {"error", "detail"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert ERRORS <= set(responses), (method, path)
            for status in ERRORS:
                assert responses[status]["content"]["application/json"]["schema"] == error, (method, path, status)
            successes = [s for s in responses if s.startswith("2")]
            assert successes, (method, path)
            for status in successes:
                content = responses[status]["content"]
                schema = next(iter(content.values()))["schema"]
                assert schema.get("$ref") or path in STREAMING, (method, path, status, schema)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_answers_match_the_document(server, mode):
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    checked = 0
    for found in schema.get_all_operations():
        operation = found.ok()
        if operation.path in STREAMING:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def call(case):
            case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=60)

        try:
            call()
        except Unsatisfiable:  # nothing can be invalid in a request without parameters or body
            assert mode is GenerationMode.NEGATIVE, operation.path
        checked += 1
    assert checked >= 25
