"""The REST API of a real ``memory http`` process: shapes, projects, hash prefixes, trash, history, edits, errors."""

from __future__ import annotations

import httpx2
import pytest
from http_support import start_server

from mcp_memory.models import content_hash


@pytest.fixture(scope="module")
def api(server):
    with httpx2.Client(base_url=server.url, timeout=30) as client:
        yield client


def store(api, content, **fields):
    response = api.post("/api/memories", json={"content": content, **fields})
    assert response.status_code in (200, 201), response.text
    return response.json()


def contents(answer: dict, key: str = "memories") -> list[str]:
    return [m["content"] for m in answer[key]]


def test_health_identifies_the_service_and_the_store_it_serves(api, server):
    body = api.get("/api/health").json()
    assert body["service"] == "mcp-memory" and body["version"] == "0.1.0" and body["status"] == "ok"
    assert body["auth_required"] is False and body["coordination_mode"] == "http_server"
    assert body["store"] == {"backend": "memory", "location": f"memory:{server.env['MCP_MEMORY_TEST_STORE']}",
                             "path": None}
    detailed = api.get("/api/health/detailed").json()
    assert detailed["status"] == "healthy" and detailed["storage"]["backend"] == "memory"
    assert detailed["store"] == body["store"] and detailed["embedder"]["model"] == "test-hash-embedder"


def test_openapi_lists_every_route(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("/api/health", "/api/memories", "/api/memories/{content_hash}", "/api/memories/{content_hash}/history",
                 "/api/memories/delete-matching", "/api/search", "/api/search/by-tag", "/api/search/by-time",
                 "/api/recall", "/api/stats", "/api/projects", "/api/count", "/api/trash", "/api/trash/restore",
                 "/api/trash/purge", "/api/events"):
        assert path in paths, path
    assert set(paths["/api/memories/{content_hash}"]) == {"get", "patch", "delete"}


def test_create_get_update_delete_restore(api):
    response = api.post("/api/memories", json={"content": "Paris is the capital of France",
                                               "tags": ["geo", "Europe"], "memory_type": "fact",
                                               "metadata": {"source": "atlas"}})
    assert response.status_code == 201
    created = response.json()
    h = created["content_hash"]
    assert h == content_hash("Paris is the capital of France") and created["duplicate"] is False
    assert created["memory"]["tags"] == ["geo", "europe"] and created["memory"]["project"] is None
    assert "deleted_at" not in created["memory"]  # trash fields only on trashed memories

    again = api.post("/api/memories", json={"content": "  paris is the capital of france "})
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["content_hash"] == h

    got = api.get(f"/api/memories/{h[:8]}").json()  # any unique prefix of 8+ characters
    assert got["content"] == "Paris is the capital of France" and got["metadata"] == {"source": "atlas"}

    patched = api.patch(f"/api/memories/{h[:10]}", json={"tags": ["geo"], "metadata": {"checked": True}}).json()
    assert patched["content_hash"] == h and patched["previous_hash"] is None and patched["content_changed"] is False
    assert patched["memory"]["tags"] == ["geo"] and patched["memory"]["metadata"] == {"source": "atlas",
                                                                                       "checked": True}
    assert patched["memory"]["memory_type"] == "fact"  # not sent, not changed
    replaced = api.patch(f"/api/memories/{h}", json={"metadata": {"only": 1}, "merge_metadata": False}).json()
    assert replaced["memory"]["metadata"] == {"only": 1}

    deleted = api.delete(f"/api/memories/{h[:12]}").json()
    assert deleted["trashed"] == 1 and deleted["content_hashes"] == [h] and deleted["reason"] == "deleted"
    assert "/api/trash/restore" in deleted["message"] and deleted["dry_run"] is False
    gone = api.get(f"/api/memories/{h}")
    assert gone.status_code == 404 and "in the trash" in gone.json()["detail"]
    trash = api.get("/api/trash", params={"page_size": 50}).json()
    assert h in [m["content_hash"] for m in trash["memories"]]
    trashed = next(m for m in trash["memories"] if m["content_hash"] == h)
    assert trashed["deleted_reason"] == "deleted" and trashed["deleted_at_iso"].endswith("Z")

    restored = api.post("/api/trash/restore", json={"content_hashes": [h[:9]]}).json()["restored"]
    assert [m["content_hash"] for m in restored] == [h] and "deleted_at" not in restored[0]
    assert api.get(f"/api/memories/{h}").status_code == 200


def test_update_with_content_gives_new_and_previous_hash_and_history(api):
    first = store(api, "The build uses Python 3.11", tags=["build"])["content_hash"]
    edited = api.patch(f"/api/memories/{first[:8]}", json={"content": "The build uses Python 3.12"}).json()
    new = edited["content_hash"]
    assert edited["previous_hash"] == first and edited["content_changed"] is True and new != first
    assert edited["memory"]["content"] == "The build uses Python 3.12" and edited["memory"]["tags"] == ["build"]
    versions = api.get(f"/api/memories/{new[:8]}/history").json()["versions"]
    assert [v["content_hash"] for v in versions] == [new, first]
    assert versions[1]["deleted_reason"] == "edited" and versions[1]["replaced_by"] == new
    assert api.get(f"/api/memories/{first}").status_code == 404  # the earlier version is history, not live


def test_projects_scope_every_read_and_write(api):
    store(api, "billing uses stripe webhooks", tags=["proj-test"], project="billing")
    store(api, "billing invoices are sent monthly", tags=["proj-test"], project="billing")
    store(api, "the api gateway times out after 30 s", tags=["proj-test"], project="gateway")
    store(api, "the team lunch is on fridays", tags=["proj-test"], project="global")  # "global": no project

    counts = {p["project"]: p["count"] for p in api.get("/api/projects").json()["projects"]}
    assert counts["billing"] == 2 and counts["gateway"] == 1 and counts[None] >= 1

    def listed(**params):
        return contents(api.get("/api/memories", params={"tag": "proj-test", "page_size": 50, **params}).json())

    assert len(listed()) == 4  # no project named: every project (a server has no current project)
    assert sorted(listed(project="billing")) == ["billing invoices are sent monthly", "billing uses stripe webhooks",
                                                 "the team lunch is on fridays"]
    assert listed(project="global") == ["the team lunch is on fridays"]
    assert len(listed(project="billing", all_projects="true")) == 4
    assert api.get("/api/count", params={"project": "gateway"}).json()["count"] >= 2  # gateway + global

    found = api.post("/api/search", json={"query": "stripe webhooks billing", "project": "gateway",
                                          "tags": ["proj-test"], "min_relevance": 0}).json()
    assert found["results"] and {r["memory"]["project"] for r in found["results"]} <= {"gateway", None}
    by_tag = api.post("/api/search/by-tag", json={"tags": ["proj-test"], "project": "billing"}).json()
    assert {m["project"] for m in by_tag["memories"]} == {"billing", None}
    tags = {t["tag"]: t["count"] for t in api.get("/api/tags", params={"project": "gateway"}).json()["tags"]}
    assert tags["proj-test"] == 2

    moved = api.patch(f"/api/memories/{content_hash('the team lunch is on fridays')}", json={"project": "billing"})
    assert moved.json()["memory"]["project"] == "billing"
    dry = api.post("/api/memories/delete-matching", json={"tags": ["proj-test"], "project": "billing",
                                                           "dry_run": True}).json()
    assert dry["dry_run"] is True and dry["trashed"] == 3 and "would go to the trash" in dry["message"]
    assert len(listed(project="billing")) == 3  # a dry run moves nothing
    done = api.post("/api/memories/delete-matching", json={"tags": ["proj-test"], "project": "global"}).json()
    assert done["trashed"] == 0 and "nothing matched" in done["message"]


def test_search_answer_has_the_documented_shape(api):
    store(api, "The deploy pipeline runs on every push to main", tags=["ci"], memory_type="note")
    store(api, "Bananas are rich in potassium", tags=["food"])
    response = api.post("/api/search", json={"query": "deploy pipeline push", "n_results": 2})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["results"]
    first = body["results"][0]
    assert set(first) == {"memory", "relevance_score"} and isinstance(first["relevance_score"], float)
    assert first["memory"]["content"] == "The deploy pipeline runs on every push to main"
    filtered = api.post("/api/search", json={"query": "deploy pipeline", "n_results": 5, "tags": ["food"],
                                             "min_relevance": 0}).json()
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
    assert api.get("/api/memories", params={"tag": "paging,p1", "match_all": "true"}).json()["total"] == 2
    assert api.get("/api/memories", params={"memory_type": "page-test", "page_size": 50}).json()["total"] == 5
    newest_first = [m["created_at"] for m in api.get("/api/memories", params={"page_size": 50}).json()["memories"]]
    assert newest_first == sorted(newest_first, reverse=True)


def test_tag_time_exact_recall_tags_stats_batch(api):
    a = store(api, "alpha tagged memory", tags=["alpha", "shared"], created_at="2020-01-02T10:00:00Z")
    store(api, "beta tagged memory", tags=["beta", "shared"], created_at="2020-01-05T10:00:00Z")
    any_tag = api.post("/api/search/by-tag", json={"tags": ["alpha", "beta"]}).json()["memories"]
    assert {m["content"] for m in any_tag} == {"alpha tagged memory", "beta tagged memory"}
    both = api.post("/api/search/by-tag", json={"tags": "alpha,shared", "match_all": True}).json()
    assert contents(both) == ["alpha tagged memory"]

    window = api.post("/api/search/by-time", json={"start": "2020-01-01", "end": "2020-01-03"}).json()
    assert [m["content_hash"] for m in window["memories"]] == [a["content_hash"]]
    ranged = api.post("/api/search", json={"query": "tagged memory", "start": "2020-01-04", "end": "2020-01-06"})
    assert [r["memory"]["content"] for r in ranged.json()["results"]] == ["beta tagged memory"]

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
    assert stats["backend"] == "memory" and stats["total_memories"] >= 2

    batch = api.post("/api/memories/batch", json={"memories": [
        {"content": "batch one", "tags": ["batch"], "project": "batchy"}, {"content": "batch two", "tags": ["batch"]},
        {"content": "alpha tagged memory"}]}).json()
    assert [r["duplicate"] for r in batch["results"]] == [False, False, True]
    assert batch["results"][0]["memory"]["project"] == "batchy"
    deleted = api.post("/api/memories/delete-by-tag", json={"tags": ["batch"]}).json()
    assert deleted["trashed"] == 2 and deleted["reason"] == "deleted"
    assert api.post("/api/memories/cleanup-duplicates").json()["trashed"] == 0


def test_a_near_duplicate_answers_the_memory_already_there(tmp_path):
    server = start_server(tmp_path, MCP_MEMORY_DUPLICATE_THRESHOLD="0.8")
    try:
        with httpx2.Client(base_url=server.url, timeout=30) as api:
            first = store(api, "the staging database runs PostgreSQL 16", project="infra")
            near = api.post("/api/memories", json={"content": "the staging database runs PostgreSQL 16 now",
                                                   "project": "infra"})
            assert near.status_code == 200
            assert near.json()["near_duplicate"] is True and near.json()["content_hash"] == first["content_hash"]
            assert 0.8 <= near.json()["similarity"] <= 1
            other_project = api.post("/api/memories", json={"content": "the staging database runs PostgreSQL 16 now",
                                                            "project": "web"})
            assert other_project.status_code == 201  # near-duplicates are looked for within the project
            anyway = api.post("/api/memories", json={"content": "the staging database runs PostgreSQL 16 now!",
                                                     "project": "infra", "allow_near_duplicate": True})
            assert anyway.status_code == 201 and anyway.json()["near_duplicate"] is False
    finally:
        server.stop()


def test_a_document_is_uploaded_as_the_body(api):
    text = "# Deploys\n\nDeploys go out on Tuesdays.\n\n## Rollback\n\nRoll back with make rollback."
    params = {"name": "deploys.md", "tags": "ops,runbook", "project": "infra"}
    dry = api.post("/api/documents", params={**params, "dry_run": "true"}, content=text.encode(),
                   headers={"content-type": "application/octet-stream"}).json()
    assert dry["status"] == "would store" and dry["source"] == "upload:deploys.md"
    done = api.post("/api/documents", params=params, content=text.encode()).json()
    assert done["status"] == "stored" and done["new_chunks"] == done["chunks"] >= 1 and done["error"] is None
    chunks = api.post("/api/search/by-tag", json={"tags": ["runbook"], "project": "infra"}).json()["memories"]
    assert len(chunks) == done["chunks"] and {m["project"] for m in chunks} == {"infra"}
    again = api.post("/api/documents", params=params, content=text.encode()).json()
    assert again["status"] == "unchanged"
    unreadable = api.post("/api/documents", params={"name": "x.unknown-suffix"}, content=b"data").json()
    assert unreadable["status"] == "error" and unreadable["error"]
    missing = api.post("/api/documents", content=b"no name")
    assert missing.status_code == 422 and "name" in missing.json()["detail"]
    pruned = api.post("/api/documents/prune", json={"folders": ["/nonexistent-folder"], "dry_run": True}).json()
    assert pruned == {"results": []}


def test_purge_removes_from_the_trash_for_good(api):
    h = store(api, "a memory to purge for good")["content_hash"]
    api.delete(f"/api/memories/{h}")
    assert api.post("/api/trash/purge", json={"content_hashes": [h[:8]]}).json() == {"purged": 1}
    assert api.post("/api/trash/restore", json={"content_hashes": [h]}).status_code == 404
    keep = store(api, "a memory in the trash until it is emptied")["content_hash"]
    api.delete(f"/api/memories/{keep}")
    assert api.post("/api/trash/purge", json={"older_than_days": 0}).json()["purged"] >= 1
    assert api.get("/api/trash", params={"reason": "deleted"}).json()["memories"] == []


def test_an_ambiguous_or_short_prefix_is_a_clear_400(api):
    short = api.get("/api/memories/abcdef1")
    assert short.status_code == 400 and "at least 8" in short.json()["detail"]
    not_hex = api.get("/api/memories/not-a-hash-at-all")
    assert not_hex.status_code == 400 and "not a content hash" in not_hex.json()["detail"]


BAD_REQUESTS = [
    ("post", "/api/memories", {"content": ""}, 400, "content is empty"),
    ("post", "/api/memories", {"content": 42}, 422, "content"),
    ("post", "/api/memories", {}, 422, "content"),
    ("post", "/api/memories", {"content": "x", "tags": 5}, 422, "tags"),
    ("post", "/api/memories", {"content": "x", "metadata": [1]}, 422, "metadata"),
    ("post", "/api/memories", {"content": "x", "created_at": "yesterday-ish"}, 400, "ISO 8601"),
    ("post", "/api/memories", {"content": "x", "colour": "red"}, 422, "unknown field 'colour' (known: "),
    ("post", "/api/memories", {"content": "x" * 100_001}, 400, "MCP_MEMORY_MAX_CONTENT_LENGTH"),
    ("post", "/api/memories/batch", {"memories": [{"content": "x", "colour": "red"}]}, 422,
     "unknown field 'memories.0.colour' (known: content, created_at"),
    ("post", "/api/memories/batch", {"memories": [{"content": str(i)} for i in range(1001)]}, 422, "memories"),
    ("post", "/api/search", {"query": "x", "n_results": 0}, 400, "n_results"),
    ("post", "/api/search", {"query": "x", "n_results": "many"}, 422, "n_results"),
    ("post", "/api/search", {"query": "   "}, 400, "query is empty"),
    ("post", "/api/search", {"query": "x", "min_relevance": 2}, 400, "min_relevance"),
    ("post", "/api/search", {"query": "x", "mode": "psychic"}, 400, "mode"),
    ("post", "/api/search", {"query": "x", "projct": "a"}, 422, "unknown field 'projct'"),
    ("post", "/api/search/by-tag", {"tags": []}, 400, "at least one tag"),
    ("post", "/api/search/by-tag", {"tags": ["a"], "match_all": "sometimes"}, 422, "match_all"),
    ("post", "/api/search/by-time", {"start": "2021-01-01", "end": "2020-01-01"}, 400, "end is before start"),
    ("post", "/api/search/by-time", {"start": "not a date"}, 400, "ISO 8601"),
    ("post", "/api/recall", {"query": "between 2026-13-45 and x"}, 400, "date"),
    ("post", "/api/memories/delete-matching", {}, 400, "deleting everything is not offered"),
    ("post", "/api/trash/purge", {}, 400, "older_than_days"),
    ("post", "/api/trash/restore", {"content_hashes": ["0" * 64]}, 404, "no memory"),
    ("get", "/api/memories?page=0", None, 400, "page"),
    ("get", "/api/memories?page_size=abc", None, 422, "page_size"),
    ("get", "/api/memories?projct=billing", None, 422, "unknown query parameter 'projct' (known: all_projects"),
    ("get", "/api/stats?verbose=1", None, 422, "unknown query parameter 'verbose' (known: none)"),
    ("get", "/api/memories/" + "0" * 64, None, 404, "no memory with content_hash"),
    ("patch", "/api/memories/" + "0" * 64, {"tags": ["x"]}, 404, "no memory"),
    ("patch", "/api/memories/" + "0" * 64, {}, 400, "nothing to update"),
    ("patch", "/api/memories/" + "0" * 64, {"colour": "red"}, 422, "unknown field 'colour'"),
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
    assert "not valid JSON" in response.json()["detail"]
