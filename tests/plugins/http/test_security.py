"""Who may talk to the server: the API key on every request, the Host and Origin of browser requests on every route
(DNS rebinding, foreign pages), the size of request bodies, and the refusal of an open bind without a key."""

from __future__ import annotations

import select
import socket
import subprocess
import time

import httpx2
import pytest
from http_support import start_server
from processes import API_KEY, HttpServer, base_env, free_port, memory_command

from mcp_memory.errors import ConfigError
from mcp_memory_http.auth import check_bind, is_loopback, key_ok

MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
#: What a browser sends when a page of another site makes it call this server.
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126 Safari/537.36",
           "Accept": "*/*", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
#: One route of each family: (method, path, body or None)
FAMILIES = {
    "rest-read": ("GET", "/api/memories", None),
    "rest-write": ("POST", "/api/memories", {"content": "written by a foreign page"}),
    "health": ("GET", "/api/health", None),
    "dashboard": ("GET", "/", None),
    "static": ("GET", "/static/app.js", None),
    "sse": ("GET", "/api/events", None),
    "mcp": ("POST", "/mcp", INIT),
    "docs": ("GET", "/docs", None),
    "openapi": ("GET", "/openapi.json", None),
}
SMALL_LIMIT = 65536


def ask(server, family: str, headers: dict[str, str]) -> httpx2.Response:
    method, path, body = FAMILIES[family]
    extra = MCP_HEADERS if path == "/mcp" else {}
    return httpx2.request(method, server.url + path, headers={**BROWSER, **extra, **headers}, json=body, timeout=10)


def refused(response: httpx2.Response, status: int, error: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == error
    return body


def stored_count(server) -> int:
    return httpx2.get(f"{server.url}/api/count", timeout=10).json()["count"]


# -- Host and Origin ----------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_a_foreign_host_is_refused_on_every_route(server, family):
    """DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1."""
    before = stored_count(server)
    body = refused(ask(server, family, {"Host": f"evil.example:{server.port}", "Origin": "http://evil.example"}),
                   421, "MisdirectedRequest")
    assert "'evil.example:" in body["detail"] and "MCP_HTTP_ALLOWED_HOSTS" in body["detail"]
    assert stored_count(server) == before  # refused before any route ran


@pytest.mark.parametrize("family", FAMILIES)
def test_a_foreign_origin_is_refused_on_every_route(server, family):
    before = stored_count(server)
    body = refused(ask(server, family, {"Origin": "https://evil.example"}), 403, "Forbidden")
    assert "'https://evil.example'" in body["detail"] and "MCP_HTTP_ALLOWED_ORIGINS" in body["detail"]
    assert stored_count(server) == before


@pytest.mark.parametrize("origin", ["null", "file://", "http://127.0.0.1.evil.example", "ftp://localhost",
                                    "http://localhost/path", "https://evil.example:443"])
def test_odd_origins_are_refused(server, origin):
    refused(ask(server, "rest-read", {"Origin": origin}), 403, "Forbidden")


@pytest.mark.parametrize("host,origin", [
    ("127.0.0.1:{port}", None), ("localhost:{port}", "http://localhost:{port}"), ("[::1]:{port}", "http://[::1]:{port}"),
    ("LOCALHOST", "https://localhost"), ("127.0.0.1", "http://127.0.0.1:3000"),
])
def test_loopback_names_and_same_machine_pages_are_answered(server, host, origin):
    headers = {"Host": host.format(port=server.port)}
    if origin:
        headers["Origin"] = origin.format(port=server.port)
    for family in ("rest-read", "dashboard", "docs", "openapi", "static"):
        assert ask(server, family, headers).status_code == 200, (family, headers)


def test_a_request_without_host_is_refused(server):
    reply = raw(server.port, b"GET /api/health HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 421") and b"no Host header" in reply


def test_allowed_hosts_and_origins_come_from_the_settings(tmp_path):
    server = start_server(tmp_path, MCP_HTTP_ALLOWED_HOSTS="memory.internal, [fd00::7]",
                          MCP_HTTP_ALLOWED_ORIGINS="https://tools.example.com")
    try:
        for headers in ({"Host": "memory.internal:8080"}, {"Host": "[fd00::7]:1"},
                        {"Origin": "https://memory.internal:8443"}, {"Origin": "https://tools.example.com"},
                        {"Host": "memory.internal", "Origin": "http://memory.internal"}):
            assert ask(server, "rest-read", headers).status_code == 200, headers
        refused(ask(server, "rest-read", {"Origin": "https://tools.example.com:8443"}), 403, "Forbidden")
        refused(ask(server, "rest-read", {"Host": "tools.example.com"}), 421, "MisdirectedRequest")
    finally:
        server.stop()


@pytest.mark.parametrize("variable,value", [("MCP_HTTP_ALLOWED_HOSTS", "memory.internal:8080"),
                                            ("MCP_HTTP_ALLOWED_ORIGINS", "tools.example.com"),
                                            ("MCP_HTTP_MAX_BODY_BYTES", "12")])
def test_bad_host_origin_and_size_settings_are_clear_errors(tmp_path, variable, value):
    done = subprocess.run([*memory_command(True), "http"], capture_output=True, text=True, timeout=120,
                          env=base_env(tmp_path / "m", free_port(), store="memory", **{variable: value}))
    assert done.returncode == 1 and f"memory: {variable} must" in done.stderr, done.stderr


def test_host_is_checked_before_the_key(keyed_server):
    refused(ask(keyed_server, "rest-read", {"Host": "evil.example"}), 421, "MisdirectedRequest")
    refused(ask(keyed_server, "rest-read", {"Origin": "http://evil.example"}), 403, "Forbidden")
    refused(ask(keyed_server, "rest-read", {}), 401, "Unauthorized")


# -- body size -----------------------------------------------------------------------------------------
def raw(port: int, head: bytes, chunks=(), timeout: float = 20.0) -> bytes:
    """Send ``head`` and then the ``chunks`` (stopping as soon as the server answers); return its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered before the body was all sent
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            answer += data
            if b"\r\n\r\n" in answer and answer.count(b"}") >= 1:
                break
        return answer


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """A server that takes bodies of 64 KiB at most."""
    srv = start_server(tmp_path_factory.mktemp("small"), MCP_HTTP_MAX_BODY_BYTES=str(SMALL_LIMIT))
    yield srv
    srv.stop()


BODY_ROUTES = {"rest": ("/api/memories", {}), "batch": ("/api/memories/batch", {}), "mcp": ("/mcp", MCP_HEADERS),
               "unknown": ("/api/nowhere", {}), "static": ("/static/app.js", {})}


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_a_60_mb_content_length_is_refused_before_the_body_is_read(small_server, route):
    path, headers = BODY_ROUTES[route]
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{small_server.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 60000000\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    started = time.monotonic()
    answer = raw(small_server.port, head, [b"x" * 65536] * 4)  # 256 KiB sent of the 60 MB announced
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b'"error": "RequestTooLarge"' in answer and b"MCP_HTTP_MAX_BODY_BYTES" in answer
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("route", ["rest", "batch", "mcp"])
def test_an_oversized_chunked_body_is_refused_while_it_streams(small_server, route):
    path, headers = BODY_ROUTES[route]
    before = stored_count(small_server)
    head = (f"POST {path} HTTP/1.1\r\nHost: localhost:{small_server.port}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    piece = b'{"content": "' + b"y" * 16000
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    answer = raw(small_server.port, head, [chunk] * 64)  # up to 1 MB, never terminated
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"RequestTooLarge" in answer
    assert stored_count(small_server) == before


def test_a_valid_body_padded_past_the_limit_is_not_acted_on(small_server):
    """The first bytes of an oversized chunked body may be a complete request: it is refused all the same."""
    before = stored_count(small_server)
    head = (f"POST /api/memories HTTP/1.1\r\nHost: localhost:{small_server.port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    piece = b'{"content": "stored only if the padding were ignored"}' + b" " * 40000
    chunks = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (piece, b" " * 40000)] + [b"0\r\n\r\n"]
    answer = raw(small_server.port, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    time.sleep(0.5)
    assert stored_count(small_server) == before


def test_bodies_within_the_limit_are_served(small_server):
    content = "z" * 30000  # a memory of 30,000 characters is a body under 64 KiB
    created = httpx2.post(f"{small_server.url}/api/memories", json={"content": content}, timeout=30)
    assert created.status_code == 201, created.text

    def chunks():
        yield b'{"content": "chunked '
        yield b"w" * 20000
        yield b'"}'

    chunked = httpx2.post(f"{small_server.url}/api/memories", content=chunks(),
                          headers={"content-type": "application/json"}, timeout=30)
    assert chunked.status_code == 201, chunked.text
    too_big = httpx2.post(f"{small_server.url}/api/memories", json={"content": "q" * 70000}, timeout=30)
    refused(too_big, 413, "RequestTooLarge")


def test_documents_have_their_own_limit(tmp_path):
    """A document upload is bounded by MCP_MEMORY_MAX_DOCUMENT_BYTES, every other body by MCP_HTTP_MAX_BODY_BYTES."""
    server = start_server(tmp_path, MCP_HTTP_MAX_BODY_BYTES=str(SMALL_LIMIT), MCP_MEMORY_MAX_DOCUMENT_BYTES="200000")
    try:
        text = ("A paragraph of a long document about deploys and rollbacks. " * 1600).encode()  # 96 KB
        done = httpx2.post(f"{server.url}/api/documents", params={"name": "long.md"}, content=text, timeout=60)
        assert done.status_code == 200 and done.json()["status"] == "stored", done.text[:300]
        as_memory = httpx2.post(f"{server.url}/api/memories", json={"content": text.decode()[:90000]}, timeout=30)
        refused(as_memory, 413, "RequestTooLarge")
        too_long = httpx2.post(f"{server.url}/api/documents", params={"name": "longer.md"}, content=text * 3,
                               timeout=30)
        assert "MCP_MEMORY_MAX_DOCUMENT_BYTES" in refused(too_long, 413, "RequestTooLarge")["detail"]
    finally:
        server.stop()


def test_the_default_limit_takes_the_largest_memory(server):
    """8 MiB by default: a memory at MCP_MEMORY_MAX_CONTENT_LENGTH (100,000 characters), every one escaped in
    JSON (6 bytes each), with as much metadata, is still far under it."""
    content = "\u00e9\u4e2d" * 50_000
    body = '{"content": "' + "".join(f"\\u{ord(c):04x}" for c in content) + '", "metadata": {"note": "' + \
        "".join(f"\\u{ord(c):04x}" for c in "m" * 99_000) + '"}}'
    assert len(body) > 1_100_000
    created = httpx2.post(f"{server.url}/api/memories", content=body.encode(),
                          headers={"content-type": "application/json"}, timeout=60)
    assert created.status_code == 201, created.text[:300]


# -- API key -------------------------------------------------------------------------------------------
PROTECTED = [("GET", "/api/memories"), ("POST", "/api/search"), ("GET", "/api/stats"), ("GET", "/api/projects"),
             ("GET", "/api/health/detailed"), ("GET", "/api/events"), ("POST", "/mcp"), ("GET", "/openapi.json"),
             ("GET", "/api/trash"), ("POST", "/api/trash/purge"), ("DELETE", "/api/memories/" + "0" * 64)]


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"},
                                     {"Authorization": API_KEY}, {"Authorization": "Basic " + API_KEY}],
                         ids=["missing", "wrong-bearer", "wrong-x-api-key", "no-scheme", "basic"])
def test_every_route_needs_the_key(keyed_server, method, path, headers):
    response = httpx2.request(method, keyed_server.url + path, headers=headers, json={}, timeout=10)
    body = refused(response, 401, "Unauthorized")
    assert "API key" in body["detail"] and API_KEY not in response.text


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {API_KEY}"}, {"X-API-Key": API_KEY},
                                     {"authorization": f"bearer {API_KEY}"}])
def test_the_right_key_in_either_header_is_accepted(keyed_server, headers):
    url = keyed_server.url
    created = httpx2.post(f"{url}/api/memories", json={"content": f"secret note {sorted(headers)}"},
                          headers=headers, timeout=30)
    assert created.status_code in (200, 201), created.text
    assert httpx2.get(f"{url}/api/stats", headers=headers, timeout=10).status_code == 200


def test_health_without_key_only_identifies_the_service(keyed_server):
    open_body = httpx2.get(f"{keyed_server.url}/api/health", timeout=10).json()
    assert open_body["service"] == "mcp-memory" and open_body["auth_required"] is True
    assert "coordination_mode" not in open_body and "store" not in open_body  # no file path for strangers
    keyed = httpx2.get(f"{keyed_server.url}/api/health", headers={"X-API-Key": API_KEY}, timeout=10).json()
    assert keyed["coordination_mode"] == "http_server" and keyed["store"]["backend"] == "memory"


def test_the_pages_need_no_key_but_their_data_does(keyed_server):
    for path in ("/", "/docs", "/static/docs.js"):
        assert httpx2.get(keyed_server.url + path, timeout=10).status_code == 200, path
    assert httpx2.get(keyed_server.url + "/openapi.json", timeout=10).status_code == 401


def test_the_key_never_reaches_the_log(keyed_server):
    httpx2.get(f"{keyed_server.url}/api/stats", headers={"X-API-Key": API_KEY}, timeout=10)
    httpx2.get(f"{keyed_server.url}/api/stats", headers={"X-API-Key": API_KEY + "x"}, timeout=10)
    assert API_KEY not in keyed_server.log()


def test_key_comparison_helpers():
    assert key_ok({}, None) and not key_ok({}, "k")
    assert key_ok({"authorization": "Bearer k"}, "k") and key_ok({"x-api-key": "k"}, "k")
    assert not key_ok({"authorization": "Bearer k2"}, "k") and not key_ok({"x-api-key": "é"}, "k")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")


# -- bind ----------------------------------------------------------------------------------------------
def test_non_loopback_bind_without_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MCP_API_KEY"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "a-key")  # allowed with a key
    port = free_port()
    env = base_env(tmp_path / "m", port, store="memory")
    done = subprocess.run([*memory_command(True), "http", "--host", "0.0.0.0", "--port", str(port)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert "refusing to serve on 0.0.0.0" in done.stderr and "MCP_API_KEY" in done.stderr


def test_non_loopback_bind_with_key_serves_and_says_which_names_it_answers(tmp_path):
    port = free_port()
    server = HttpServer(base_env(tmp_path / "m", port, store="memory", MCP_API_KEY=API_KEY), tmp_path / "s.log",
                        "--host", "0.0.0.0").wait_ready()
    try:
        assert httpx2.get(f"{server.url}/api/stats", timeout=10).status_code == 401
        assert httpx2.get(f"{server.url}/api/stats", headers={"X-API-Key": API_KEY}, timeout=10).status_code == 200
        assert "MCP_HTTP_ALLOWED_HOSTS" in server.log()  # the warning: other machines' names must be listed
    finally:
        server.stop()


def test_bad_port_option_is_a_clear_error(tmp_path):
    done = subprocess.run([*memory_command(True), "http", "--port", "70000"], capture_output=True, text=True,
                          timeout=120, env=base_env(tmp_path / "m", free_port(), store="memory"))
    assert done.returncode == 1 and "MCP_HTTP_PORT must be between 1 and 65535" in done.stderr
    assert "--host/--port" in done.stderr


def test_port_in_use_is_a_clear_error(server, tmp_path):
    env = base_env(tmp_path / "m", server.port, store="memory")
    done = subprocess.run([*memory_command(True), "http"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{server.port}" in done.stderr


def test_cors_is_closed_by_default(server):
    response = httpx2.options(f"{server.url}/api/memories", timeout=10,
                              headers={"Origin": f"http://localhost:{server.port}",
                                       "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers
