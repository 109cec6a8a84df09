"""API key on every request, constant-time check, no key in logs, and the refusal of an open bind."""

from __future__ import annotations

import subprocess

import httpx2
import pytest
from processes import API_KEY, HttpServer, base_env, free_port, memory_command

from mcp_memory.errors import ConfigError
from mcp_memory_http.auth import check_bind, is_loopback, key_ok

PROTECTED = [("GET", "/api/memories"), ("POST", "/api/search"), ("GET", "/api/stats"),
             ("GET", "/api/health/detailed"), ("GET", "/api/events"), ("POST", "/mcp"), ("GET", "/openapi.json"),
             ("DELETE", "/api/memories/" + "0" * 64)]


@pytest.mark.parametrize("method,path", PROTECTED)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"},
                                     {"Authorization": API_KEY}, {"Authorization": "Basic " + API_KEY}],
                         ids=["missing", "wrong-bearer", "wrong-x-api-key", "no-scheme", "basic"])
def test_every_route_needs_the_key(keyed_server, method, path, headers):
    response = httpx2.request(method, keyed_server.url + path, headers=headers, json={}, timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "Unauthorized" and "API key" in body["detail"]
    assert API_KEY not in response.text


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
    assert "coordination_mode" not in open_body
    keyed = httpx2.get(f"{keyed_server.url}/api/health", headers={"X-API-Key": API_KEY}, timeout=10).json()
    assert keyed["coordination_mode"] == "http_server"


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


def test_non_loopback_bind_without_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MCP_API_KEY"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "a-key")  # allowed with a key
    port = free_port()
    env = base_env(tmp_path / "m.db", port)
    done = subprocess.run([*memory_command(True), "http", "--host", "0.0.0.0", "--port", str(port)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert "refusing to serve on 0.0.0.0" in done.stderr and "MCP_API_KEY" in done.stderr
    assert not (tmp_path / "m.db").exists()  # refused before opening anything


def test_non_loopback_bind_with_key_serves(tmp_path):
    port = free_port()
    server = HttpServer(base_env(tmp_path / "m.db", port, MCP_API_KEY=API_KEY), tmp_path / "s.log",
                        "--host", "0.0.0.0").wait_ready()
    try:
        assert httpx2.get(f"{server.url}/api/stats", timeout=10).status_code == 401
        assert httpx2.get(f"{server.url}/api/stats", headers={"X-API-Key": API_KEY}, timeout=10).status_code == 200
    finally:
        server.stop()


def test_port_in_use_is_a_clear_error(server, tmp_path):
    env = base_env(tmp_path / "m.db", server.port)
    done = subprocess.run([*memory_command(True), "http"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{server.port}" in done.stderr


def test_cors_is_closed_by_default(server):
    response = httpx2.options(f"{server.url}/api/memories", timeout=10,
                              headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers
