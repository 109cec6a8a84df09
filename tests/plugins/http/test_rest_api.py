"""The REST API of a real ``memory http`` process: shapes, paging, filters, errors, OpenAPI."""

from __future__ import annotations

import httpx2
import pytest

from mcp_memory.models import content_hash


@pytest.fixture(scope="module")
def api(server):
    with httpx2.Client(base_url=server.url, timeout=30) as client:
        yield client


def store(api, content, **fields):
    response = api.post("/api/memories", json={"content": content, **fields})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_health_identifies_the_service_without_touching_the_store(api):
    body = api.get("/api/health").json()
    assert body["service"] == "mcp-memory" and body["version"] == "0.1.0" and body["status"] == "ok"
    assert body["auth_required"] is False and body["coordination_mode"] == "http_server"
    detailed = api.get("/api/health/detailed").json()
    assert detailed["status"] == "healthy" and detailed["storage"]["backend"] == "sqlite_vec"
    assert detailed["storage"]["journal_mode"] == "wal"


def test_openapi_lists_every_route(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/health", "/api/memories", "/api/memories/{content_hash}", "/api/search",
                 "/api/search/by-tag", "/api/search/by-time", "/api/stats", "/api/events"):
        assert path in paths
    assert set(paths["/api/memories/{content_hash}"]) == {"get", "patch", "delete"}


def test_create_get_update_delete(api):
    response = api.post("/api/memories", json={"content": "Paris is the capital of France",
                                               "tags": ["geo", "Europe"], "memory_type": "fact",
                                               "metadata": {"source": "atlas"}})
    assert response.status_code == 201
    created = response.json()
    h = created["content_hash"]
    assert h == content_hash("Paris is the capital of France") and created["duplicate"] is False
    assert created["memory"]["tags"] == ["geo", "europe"]

    again = api.post("/api/memories", json={"content": "  paris is the capital of france "})
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["content_hash"] == h

    got = api.get(f"/api/memories/{h}").json()
    assert got["content"] == "Paris is the capital of France" and got["metadata"] == {"source": "atlas"}

    patched = api.patch(f"/api/memories/{h}", json={"tags": ["geo"], "metadata": {"checked": True}}).json()
    assert patched["tags"] == ["geo"] and patched["metadata"] == {"source": "atlas", "checked": True}
    assert patched["memory_type"] == "fact"  # not sent, not changed
    replaced = api.patch(f"/api/memories/{h}", json={"metadata": {"only": 1}, "merge_metadata": False}).json()
    assert replaced["metadata"] == {"only": 1}

    assert api.delete(f"/api/memories/{h}").json() == {"deleted": h}
    assert api.get(f"/api/memories/{h}").status_code == 404


def test_search_answer_has_the_documented_shape(api):
    store(api, "The deploy pipeline runs on every push to main", tags=["ci"], memory_type="note")
    store(api, "Bananas are rich in potassium", tags=["food"])
    response = api.post("/api/search", json={"query": "deploy pipeline push", "n_results": 2})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["results"]
    first = body["results"][0]
    assert set(first) == {"memory", "relevance_score"} and isinstance(first["relevance_score"], float)
    assert {"content", "content_hash", "tags", "memory_type", "metadata", "created_at", "updated_at"} <= set(
        first["memory"])
    assert first["memory"]["content"] == "The deploy pipeline runs on every push to main"
    filtered = api.post("/api/search", json={"query": "deploy pipeline", "n_results": 5, "tags": ["food"]}).json()
    assert [r["memory"]["tags"] for r in filtered["results"]] == [["food"]]
    typed = api.post("/api/search", json={"query": "deploy", "n_results": 5, "memory_type": "note"}).json()
    assert {r["memory"]["memory_type"] for r in typed["results"]} == {"note"}
    strict = api.post("/api/search", json={"query": "deploy pipeline push", "min_relevance": 0.99}).json()
    assert strict["results"] == []


def test_list_pages_and_filters(api):
    for i in range(5):
        store(api, f"paging memory number {i}", tags=["paging", f"p{i % 2}"], memory_type="page-test")
    page = api.get("/api/memories", params={"page": 1, "page_size": 2, "tag": "paging"}).json()
    assert page["total"] == 5 and len(page["memories"]) == 2 and page["has_more"] is True
    last = api.get("/api/memories", params={"page": 3, "page_size": 2, "tag": "paging"}).json()
    assert len(last["memories"]) == 1 and last["has_more"] is False
    assert api.get("/api/memories", params={"tag": "p1", "page_size": 50}).json()["total"] == 2
    assert api.get("/api/memories", params={"memory_type": "page-test", "page_size": 50}).json()["total"] == 5
    newest_first = [m["created_at"] for m in api.get("/api/memories", params={"page_size": 50}).json()["memories"]]
    assert newest_first == sorted(newest_first, reverse=True)


def test_tag_time_exact_recall_tags_stats_batch(api):
    a = store(api, "alpha tagged memory", tags=["alpha", "shared"], created_at="2020-01-02T10:00:00Z")
    store(api, "beta tagged memory", tags=["beta", "shared"], created_at="2020-01-05T10:00:00Z")
    any_tag = api.post("/api/search/by-tag", json={"tags": ["alpha", "beta"]}).json()["memories"]
    assert {m["content"] for m in any_tag} == {"alpha tagged memory", "beta tagged memory"}
    both = api.post("/api/search/by-tag", json={"tags": "alpha,shared", "match_all": True}).json()["memories"]
    assert [m["content"] for m in both] == ["alpha tagged memory"]

    window = api.post("/api/search/by-time", json={"start": "2020-01-01", "end": "2020-01-03"}).json()
    assert [m["content_hash"] for m in window["memories"]] == [a["content_hash"]]

    assert api.post("/api/search/exact", json={"content": "ALPHA tagged memory"}).json()["memory"]["content_hash"] \
        == a["content_hash"]
    assert api.post("/api/search/exact", json={"content": "never stored"}).json() == {"memory": None}

    recalled = api.post("/api/recall", json={"query": "on 2020-01-05", "n_results": 3}).json()
    assert recalled["time_expression"] == "on 2020-01-05"
    assert [r["memory"]["content"] for r in recalled["results"]] == ["beta tagged memory"]
    relative = api.post("/api/recall", json={"query": "yesterday", "now": "2020-01-03T12:00:00Z"}).json()
    assert [r["memory"]["content"] for r in relative["results"]] == ["alpha tagged memory"]

    tags = {t["tag"]: t["count"] for t in api.get("/api/tags").json()["tags"]}
    assert tags["shared"] == 2
    stats = api.get("/api/stats").json()
    assert stats["backend"] == "sqlite_vec" and stats["total_memories"] >= 2

    batch = api.post("/api/memories/batch", json={"memories": [{"content": "batch one", "tags": ["batch"]},
                                                               {"content": "batch two", "tags": ["batch"]},
                                                               {"content": "alpha tagged memory"}]}).json()
    assert [r["duplicate"] for r in batch["results"]] == [False, False, True]
    assert api.post("/api/memories/delete-by-tag", json={"tags": ["batch"]}).json() == {"deleted": 2}
    assert api.post("/api/memories/cleanup-duplicates").json() == {"removed": 0}


BAD_REQUESTS = [
    ("post", "/api/memories", {"content": ""}, 400, "content is empty"),
    ("post", "/api/memories", {"content": 42}, 422, "content"),
    ("post", "/api/memories", {}, 422, "content"),
    ("post", "/api/memories", {"content": "x", "tags": 5}, 422, "tags"),
    ("post", "/api/memories", {"content": "x", "metadata": [1]}, 422, "metadata"),
    ("post", "/api/memories", {"content": "x", "created_at": "yesterday-ish"}, 400, "ISO 8601"),
    ("post", "/api/memories", {"content": "x", "colour": "red"}, 422, "colour"),
    ("post", "/api/memories", {"content": "x" * 100_001}, 400, "MCP_MEMORY_MAX_CONTENT_LENGTH"),
    ("post", "/api/memories/batch", {"memories": []}, 422, "memories"),
    ("post", "/api/search", {"query": "x", "n_results": 0}, 422, "n_results"),
    ("post", "/api/search", {"query": "x", "n_results": "many"}, 422, "n_results"),
    ("post", "/api/search", {"query": "   "}, 400, "query is empty"),
    ("post", "/api/search", {"query": "x", "min_relevance": 2}, 422, "min_relevance"),
    ("post", "/api/search", {"query": "x", "mode": "psychic"}, 400, "mode"),
    ("post", "/api/search/by-tag", {"tags": []}, 400, "at least one tag"),
    ("post", "/api/search/by-tag", {"tags": ["a"], "match_all": "sometimes"}, 422, "match_all"),
    ("post", "/api/search/by-time", {"start": "2021-01-01", "end": "2020-01-01"}, 400, "end is before start"),
    ("post", "/api/search/by-time", {"start": "not a date"}, 400, "ISO 8601"),
    ("post", "/api/recall", {"query": "between 2026-13-45 and x"}, 400, "date"),
    ("get", "/api/memories?page=0", None, 422, "page"),
    ("get", "/api/memories?page_size=abc", None, 422, "page_size"),
    ("get", "/api/memories/" + "0" * 64, None, 404, "no memory with content_hash"),
    ("patch", "/api/memories/" + "0" * 64, {"tags": ["x"]}, 404, "no memory"),
    ("patch", "/api/memories/" + "0" * 64, {}, 400, "nothing to update"),
    ("delete", "/api/memories/" + "0" * 64, None, 404, "no memory"),
    ("get", "/api/nowhere", None, 404, "Not Found"),
    ("put", "/api/memories", {"content": "x"}, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize("method,path,body,status,needle", BAD_REQUESTS,
                         ids=[f"{m} {p[:40]} {s}" for m, p, _, s, _ in BAD_REQUESTS])
def test_bad_input_gets_a_4xx_json_error(api, method, path, body, status, needle):
    response = api.request(method.upper(), path, json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"error", "detail"} and needle in error["detail"], error


def test_malformed_json_body_is_a_422_not_a_500(api):
    response = api.post("/api/memories", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["error"] == "InvalidInputError"
