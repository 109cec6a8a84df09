"""API key: when MCP_API_KEY is set every request needs it (Bearer or X-API-Key), compared in constant time."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

from mcp_memory.errors import ConfigError

from .wire import respond

#: Open without the key: a minimal identity (so clients can find the server), and the pages of the dashboard and
#: the API docs with their files (they hold no data: the pages ask for the key and send it on every call).
OPEN_PATHS = frozenset({"/api/health", "/", "/docs"})
OPEN_PREFIXES = ("/static/",)


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def presented_key(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def key_ok(headers: Mapping[str, str], api_key: str | None) -> bool:
    if not api_key:
        return True
    given = presented_key(headers)
    return given is not None and hmac.compare_digest(given.encode(), api_key.encode())


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """Refuse to listen beyond this machine without a key."""
    if not is_loopback(host) and not api_key:
        raise ConfigError(
            f"refusing to serve on {host}: that address is reachable from other machines and MCP_API_KEY is "
            "not set, so anyone there could read and change the memories. Set MCP_API_KEY to a long random "
            "secret, or bind 127.0.0.1 (MCP_HTTP_HOST=127.0.0.1 or --host 127.0.0.1)"
        )


class ApiKeyMiddleware:
    """Pure ASGI middleware (works with streaming answers such as SSE and MCP)."""

    def __init__(self, app: Any, api_key: str | None):
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.api_key or is_open(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if key_ok(headers, self.api_key):
            await self.app(scope, receive, send)
            return
        reason = "wrong API key" if presented_key(headers) else "missing API key"
        await respond(send, 401, "Unauthorized", f"{reason}: send 'Authorization: Bearer <MCP_API_KEY>' or "
                      "'X-API-Key: <MCP_API_KEY>'", headers=((b"www-authenticate", b"Bearer"),))
