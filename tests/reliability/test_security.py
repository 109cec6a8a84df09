"""Security: loopback by default, the API key on every route (compared in constant time), Host and Origin checked
on every route, no request path to the filesystem, SQL only through bound parameters, CORS closed, and no secret
in any log."""

from __future__ import annotations

import contextlib
import re
import secrets
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import anyio
import httpx2
import pytest
from anyio.from_thread import start_blocking_portal
from dbcheck import inspect
from fuzzing import open_sqlite_service
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from processes import HttpServer, base_env, free_port, memory_command

from mcp_memory.config import Settings
from mcp_memory.mcp_server import build_server
from mcp_memory_http import auth
from mcp_memory_http.app import create_app
from mcp_memory_http.settings import HttpSettings

pytestmark = pytest.mark.slow

KEY = "sk-" + secrets.token_hex(24)
OPEN = {"/api/health", "/", "/docs"}  # identity, the dashboard and API docs pages: no data (checked below)
INJECTIONS = ["'); DROP TABLE memories;--", "x' OR '1'='1", "\" OR 1=1 --", "a'; ATTACH DATABASE '/tmp/pwn.db' AS p;--",
              "NEAR(a b)", "content:*", "\"unbalanced", "memories); DELETE FROM memory_tags; --", "%' --", "\\'; --"]
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """memory http with MCP_API_KEY and DEBUG logging (the log is searched for the key)."""
    tmp = tmp_path_factory.mktemp("keyed")
    env = base_env(tmp / "m.db", free_port(), MCP_API_KEY=KEY, LOG_LEVEL="DEBUG", DEBUG_MODE="true")
    server = HttpServer(env, tmp / "server.log").wait_ready()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("open")
    server = HttpServer(base_env(tmp / "m.db", free_port(), MCP_MEMORY_DUPLICATE_THRESHOLD="off"),
                        tmp / "server.log").wait_ready()
    server.db = tmp / "m.db"
    yield server
    server.stop()


def every_route() -> list[tuple[str, str]]:
    """(method, path) of every route the app has, path parameters filled in: the operations of its OpenAPI
    document, and the routes the document does not list (pages, their files, /mcp, the document itself)."""
    app = create_app(object(), Settings().with_changes(MCP_API_KEY="k"))
    found = [(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item]
    listed = {path for _, path in found}
    for route in app.routes:
        path = getattr(route, "path", None)
        if path is None or path in listed:
            continue  # the API's own routes (an included router) are in the document
        methods = sorted(getattr(route, "methods", None) or ["GET", "POST", "DELETE"])
        if type(route).__name__ == "Mount":
            path, methods = path + "/app.js", ["GET"]
        found += [(method, path) for method in methods if method != "HEAD"]
    return [(method, re.sub(r"\{[^}]+\}", "0" * 64, path)) for method, path in found]


# -- bind ----------------------------------------------------------------------------------------------
def listening(port: int) -> set[str]:
    """Local addresses listening on ``port``, read from /proc/net/tcp{,6} (state 0A = LISTEN)."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                host, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    addresses.add(host)
    return addresses


def test_default_bind_is_loopback_only(open_server, figure):
    assert HttpSettings.of(Settings()).host == HttpSettings.of(Settings.from_env({})).host == "127.0.0.1"
    assert listening(open_server.port) == {"0100007F"}  # 127.0.0.1, nothing on 0.0.0.0 or ::
    figure(f"security bind default=127.0.0.1 listening={sorted(listening(open_server.port))} (127.0.0.1 only)")


# -- API key -------------------------------------------------------------------------------------------
def test_key_is_compared_in_constant_time(monkeypatch):
    seen = []
    real = auth.hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert auth.key_ok({"x-api-key": KEY}, KEY)
    assert not auth.key_ok({"authorization": f"Bearer {KEY[:-1]}"}, KEY)
    assert not auth.key_ok({"x-api-key": "x"}, KEY)  # a shorter key is compared too, not refused on length
    assert len(seen) == 3 and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in seen)


def test_every_route_refuses_a_missing_or_wrong_key(keyed, figure):
    routes = every_route()
    assert ("POST", "/mcp") in routes and ("GET", "/api/events") in routes
    wrong = [{}, {"X-API-Key": KEY[:-1]}, {"X-API-Key": KEY + "x"}, {"Authorization": f"Bearer {KEY.upper()}"},
             {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}, {"X-API-Key": ""}]
    checked = 0
    with httpx2.Client(base_url=keyed.url, timeout=30) as http:
        for method, path in routes:
            for headers in wrong:
                extra = MCP_HEADERS if path == "/mcp" else {}
                response = http.request(method, path, headers={**extra, **headers},
                                        json=INIT if path == "/mcp" else {})
                if path in OPEN or path.startswith("/static/"):
                    assert response.status_code in (200, 405), (method, path, response.status_code)
                    continue
                checked += 1
                assert response.status_code == 401, (method, path, headers, response.status_code)
                assert response.json()["error"] == "Unauthorized" and KEY not in response.text
        health = http.get("/api/health").json()
        assert set(health) <= {"status", "service", "version", "core_version", "auth_required"}  # no store path
        page = http.get("/")
        assert "memory" in page.text.lower() and KEY not in page.text
        good = http.post("/mcp", headers={**MCP_HEADERS, "Authorization": f"Bearer {KEY}"}, json=INIT)
        assert good.status_code == 200 and "serverInfo" in good.text
        with http.stream("GET", "/api/events", headers={"X-API-Key": KEY}) as events:
            assert events.status_code == 200 and next(events.iter_lines()).startswith("event: ready")
    figure(f"security api_key routes={len(routes)} refused_requests={checked} "
           f"open_routes={sorted(OPEN)}+/static (no data) compare=hmac.compare_digest")


def test_the_key_never_reaches_a_log(keyed, tmp_path, figure):
    """DEBUG logs of the server, of a stdio client using it and of CLI commands hold no key."""
    headers = {"X-API-Key": KEY}
    with httpx2.Client(base_url=keyed.url, timeout=60) as http:
        http.post("/api/memories", json={"content": "a secret-free note"}, headers=headers)
        http.get("/api/stats", headers={"Authorization": f"Bearer {KEY}"})
        http.get("/api/stats", headers={"X-API-Key": KEY + "-wrong"})
        http.post("/mcp", headers={**MCP_HEADERS, **headers}, json=INIT)
    env = {**keyed.env, "MCP_MEMORY_WARMUP": "false"}
    client_log = tmp_path / "client.log"

    async def stdio_client_round() -> str:
        cmd = memory_command(True)
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)
        with client_log.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=120) as client:
                await client.call_tool("store_memory", {"content": "stored through the http client"})
                health = await client.call_tool("check_database_health", {})
                return health.structured_content["coordination_mode"]

    assert anyio.run(stdio_client_round) == "http_client"
    outputs = [client_log.read_text()]
    for command in (["coordination"], ["stats"], ["plugins"], ["health"]):
        done = subprocess.run([*memory_command(True), *command], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        outputs += [done.stdout, done.stderr]
    time.sleep(0.2)
    logs = [keyed.log_path.read_text(), *outputs]
    assert re.search(r"\[debug\s*\]|level='debug'| DEBUG ", logs[0]), logs[0][-2000:]  # really at DEBUG
    leaks = [text[max(0, text.find(KEY[:12]) - 200):text.find(KEY[:12]) + 100] for text in logs if KEY[:12] in text]
    assert leaks == []
    figure(f"security secrets DEBUG log lines searched={sum(text.count(chr(10)) for text in logs)} "
           f"(server, stdio http_client, 4 CLI commands) key_found=0")


# -- filesystem ----------------------------------------------------------------------------------------
def test_no_request_reaches_the_filesystem(open_server, tmp_path, figure):
    with httpx2.Client(base_url=open_server.url, timeout=30) as http:
        spec = http.get("/openapi.json").json()
        paths = list(spec["paths"])
        # /api/trash/restore brings memories back from the trash: no file is involved
        assert not [p for p in paths if re.search(r"backup|restore|migrat|export|import|file|path|dump", p)
                    and p != "/api/trash/restore"], paths
        names = {p["name"] for item in spec["paths"].values() for op in item.values() for p in op.get("parameters", [])}
        names |= request_fields(spec)
        assert "content" in names and "content_hash" in names
        assert not names & {"path", "file", "filename", "location", "directory", "source_path", "target_path",
                            "backup_path", "url"}, names
        canary = tmp_path / "canary.json"
        for text in [str(canary), f"file://{canary}", "../../../../etc/passwd", "~/.ssh/id_rsa"]:
            created = http.post("/api/memories", json={"content": f"{text} {time.time()}", "tags": [text],
                                                       "metadata": {"path": text, "backup": text}})
            assert created.status_code == 201, created.text
        assert not canary.exists()
        # a document comes as the body; its source is a label, never opened (here: a readable secret file)
        uploaded = http.post("/api/documents", params={"name": "n.md", "source": "/etc/passwd"}, content=b"# hi\n\nok")
        assert uploaded.status_code == 200 and uploaded.json()["status"] == "stored", uploaded.text
        chunks = http.post("/api/search/exact", json={"content": "hi\nok"}).json()
        assert "root:x:0:0" not in str(chunks)
        for probe in ["/api/memories/" + quote("../../../../etc/passwd", safe=""),
                      "/api/memories/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
                      "/static/../../../../etc/passwd", "/api/../../etc/passwd"]:
            response = http.get(probe)
            assert "root:x:0:0" not in response.text and response.status_code in (404, 400), (probe, response.text)
    with start_blocking_portal() as portal:
        service = open_sqlite_service(portal, tmp_path / "tools.db")

        async def get_service():
            return service

        with portal.wrap_async_context_manager(Client(build_server(get_service, Settings()))) as client:
            tools = portal.call(client.list_tools).tools
        portal.call(service.close)
    # ingest_document reads files, but only under the client's roots or MCP_MEMORY_INGEST_ROOTS (tested in core)
    tools = [t for t in tools if t.name not in ("ingest_document", "memory_ingest")]
    names = [t.name for t in tools]
    arguments = {arg for t in tools for arg in t.input_schema.get("properties", {})}
    assert not [n for n in names if re.search(r"backup|restore|migrat|export|import", n)]
    assert not arguments & {"path", "file", "filename", "location", "source_path", "target_path"}
    figure(f"security filesystem openapi_paths={len(paths)} mcp_tools={len(names)} with a path argument=0 "
           "(backup/restore/migrate are CLI only); path-like inputs stored as data, traversal -> 404")


def request_fields(spec: dict) -> set[str]:
    """Every field of every request body of the document, nested ones included (answers are not requests)."""
    schemas = spec.get("components", {}).get("schemas", {})
    todo = [op["requestBody"]["content"] for item in spec["paths"].values() for op in item.values()
            if "requestBody" in op]
    todo = [schema for content in todo for kind in content.values() for schema in [kind["schema"]]]
    fields: set[str] = set()
    seen: set[str] = set()
    while todo:
        schema = todo.pop()
        for ref in re.findall(r"#/components/schemas/(\w+)", str(schema)):
            if ref not in seen:
                seen.add(ref)
                fields |= set(schemas[ref].get("properties", {}))
                todo.append(schemas[ref])
    return fields


# -- SQL -----------------------------------------------------------------------------------------------
DENIED = {"DROP", "CREATE", "ALTER", "ATTACH", "DETACH"}


def authorizer(seen: list[str]):
    """An SQLite authorizer that records and denies schema changes and ATTACH (action codes only: error
    codes share their numbers)."""
    denied = {getattr(sqlite3, n): n for n in dir(sqlite3)
              if n.startswith("SQLITE_") and any(word in n for word in DENIED)}

    def check(action: int, *_args: object) -> int:
        if action in denied:
            seen.append(denied[action])
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK
    return check


def test_injection_payloads_are_data_in_the_service(tmp_path, figure):
    """Store, search, filter and delete with hostile tags, types and queries; an authorizer on the store's
    connection would catch any DROP/CREATE/ALTER/ATTACH that a payload managed to run."""
    ddl: list[str] = []
    calls = 0
    with start_blocking_portal() as portal:
        service = open_sqlite_service(portal, tmp_path / "sql.db")
        portal.call(lambda: service.storage._call(lambda conn: conn.set_authorizer(authorizer(ddl))))
        for i, payload in enumerate(INJECTIONS):
            stored = portal.call(lambda p=payload, i=i: service.store(f"note {i} {p}", tags=[p, "inj"], memory_type=p,
                                                                     metadata={p: p}))
            found = portal.call(lambda p=payload: service.search_by_tag([p]))
            assert [m.content_hash for m in found] == [stored.memory.content_hash]
            for mode in ("semantic", "lexical", "hybrid"):
                hits = portal.call(lambda p=payload, m=mode: service.retrieve(p, n_results=5, tags=[p],
                                                                              memory_type=p, mode=m))
                assert [r.memory.content_hash for r in hits] in ([stored.memory.content_hash], [])
            portal.call(lambda p=payload: service.list_memories(tag=[p], memory_type=p))
            portal.call(lambda p=payload: service.recall(f"{p} last week"))
            portal.call(lambda p=payload, h=stored.memory.content_hash: service.update_metadata(h, tags=[p, "updated"]))
            calls += 8
        assert portal.call(lambda: service.delete_by_tag([INJECTIONS[0]])).count == 1
        assert portal.call(service.count) == len(INJECTIONS) - 1
        assert ddl == [], ddl
        with pytest.raises(Exception, match="not authorized"):  # the watch itself works
            portal.call(lambda: service.storage._call(lambda conn: conn.execute("DROP TABLE memory_tags")))
        assert ddl == ["SQLITE_DROP_TABLE"]
        portal.call(service.close)
    state = inspect(tmp_path / "sql.db")
    assert state.sound and len(state.memories) == len(INJECTIONS)  # the deleted one is in the trash, a row still
    figure(f"security sql payloads={len(INJECTIONS)} service_calls={calls} ddl_or_attach_attempted=0 "
           f"tables_intact=yes integrity=ok")


def test_injection_payloads_are_data_over_rest_and_mcp(open_server, figure):
    with httpx2.Client(base_url=open_server.url, timeout=60) as http:
        for payload in INJECTIONS:
            created = http.post("/api/memories", json={"content": f"rest {payload}", "tags": [payload]})
            assert created.status_code == 201, created.text
            found = http.post("/api/search/by-tag", json={"tags": [payload]}).json()["memories"]
            assert [m["content"] for m in found] == [f"rest {payload}"]
            assert http.post("/api/search", json={"query": payload, "tags": [payload], "mode": "lexical"}
                             ).status_code == 200
            assert http.get("/api/memories", params={"tag": payload, "memory_type": payload}).status_code == 200
        mcp_answers = 0
        session = http.post("/mcp", headers=MCP_HEADERS, json=INIT)
        sid = session.headers.get("mcp-session-id")
        base = {**MCP_HEADERS, **({"mcp-session-id": sid} if sid else {}), "mcp-protocol-version": "2025-06-18"}
        http.post("/mcp", headers=base, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        for n, payload in enumerate(INJECTIONS):
            for name, args in [("store_memory", {"content": f"mcp {payload}", "tags": [payload, "mcp"]}),
                               ("search_by_tag", {"tags": [payload]}),
                               ("retrieve_memory", {"query": payload, "tags": payload, "mode": "hybrid"})]:
                answer = http.post("/mcp", headers=base, json={"jsonrpc": "2.0", "id": 10 + n, "method": "tools/call",
                                                               "params": {"name": name, "arguments": args}})
                assert answer.status_code == 200 and '"isError":true' not in answer.text.replace(" ", ""), answer.text
                mcp_answers += 1
        total = http.get("/api/memories", params={"page_size": 1}).json()["total"]
    assert total >= 2 * len(INJECTIONS)
    assert not Path("/tmp/pwn.db").exists()  # the ATTACH payload created no file
    figure(f"security sql over rest+mcp payloads={len(INJECTIONS)} requests={4 * len(INJECTIONS) + mcp_answers} "
           f"memories_after={total} (nothing dropped)")


def test_foreign_hosts_and_origins_are_refused_on_every_route(open_server, keyed, figure):
    """DNS rebinding (a foreign Host) and foreign pages (a foreign Origin), on every route of the app."""
    checked = 0
    for server in (open_server, keyed):
        for method, path in every_route():
            for headers, status in (({"Host": f"rebind.evil.example:{server.port}"}, 421),
                                    ({"Origin": "https://evil.example"}, 403), ({"Origin": "null"}, 403)):
                extra = MCP_HEADERS if path == "/mcp" else {}
                response = httpx2.request(method, server.url + path, headers={**extra, **headers}, timeout=30,
                                          json=INIT if path == "/mcp" else {})
                assert response.status_code == status, (method, path, headers, response.status_code)
                assert set(response.json()) == {"error", "detail"}
                checked += 1
    figure(f"security host/origin requests={checked} (every route, with and without a key) refused=all "
           "(421 foreign Host, 403 foreign Origin)")


def test_cors_is_closed(open_server, keyed, figure):
    evil = {"Origin": "https://evil.example"}
    checked = 0
    for server in (open_server, keyed):
        for method, path, extra in [("OPTIONS", "/api/memories", {"Access-Control-Request-Method": "POST"}),
                                    ("OPTIONS", "/mcp", {"Access-Control-Request-Method": "POST"}),
                                    ("GET", "/api/stats", {}), ("GET", "/api/health", {}),
                                    ("POST", "/api/search", {})]:
            response = httpx2.request(method, server.url + path, headers={**evil, **extra}, json={"query": "x"},
                                      timeout=30)
            assert not any(h.startswith("access-control-allow") for h in response.headers), (path, response.headers)
            checked += 1
    figure(f"security cors foreign-origin requests={checked} access-control-allow-*=0")
