"""Checks of every request before any route runs (a pure ASGI middleware, so they cover REST, the dashboard, its
files, the event stream, the docs and the MCP app alike):

- Host: a web page of another site can make a browser talk to 127.0.0.1 under its own name (DNS rebinding);
  only the loopback names, the listening address and ``MCP_HTTP_ALLOWED_HOSTS`` are answered (else 421).
- Origin: a browser request from a page must come from ``http(s)://<an accepted host>[:port]`` or from
  ``MCP_HTTP_ALLOWED_ORIGINS`` (else 403).
- Size: a body larger than ``MCP_HTTP_MAX_BODY_BYTES`` is refused with 413 before it is read whole: at once from
  its Content-Length, or as soon as a chunked body passes the limit (the route then gets a body that cannot parse
  as JSON and does nothing with it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from mcp_memory.logging import get_logger

from .settings import HttpSettings
from .wire import respond

log = get_logger(__name__)

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: A 413 is sent at once, but the response ends only after the rest of the body was read and dropped (this much at
#: most, for this long at most): a client still sending then reads the answer instead of a reset connection.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 5.0
WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def host_name(value: str) -> str:
    """The name part of a Host header or origin authority, lower-case, without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def accepted_hosts(http: HttpSettings) -> frozenset[str]:
    """Loopback names, the listening address (unless a wildcard) and ``MCP_HTTP_ALLOWED_HOSTS``."""
    bound = http.host.strip().lower().strip("[]")  # an address or name, without port
    return LOOPBACK_NAMES | http.allowed_hosts | ({bound} - WILDCARDS)


class RequestGuard:
    """Refuses a request with a foreign Host (421), a foreign Origin (403) or a body too large (413).

    ``body_limits`` maps a path to its own limit and the setting behind it (document uploads are bounded by
    MCP_MEMORY_MAX_DOCUMENT_BYTES); every other path takes MCP_HTTP_MAX_BODY_BYTES.
    """

    def __init__(self, app: Any, http: HttpSettings, body_limits: Mapping[str, tuple[int, str]] | None = None):
        self.app = app
        self.hosts = accepted_hosts(http)
        self.origins = http.allowed_origins
        self.default_limit = (http.max_body_bytes, "MCP_HTTP_MAX_BODY_BYTES")
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        limit = self.body_limits.get(scope.get("path", ""), self.default_limit)
        refusal = self.refusal(headers)
        if refusal is None and scope["type"] == "http":
            refusal = self.declared_too_large(headers, limit)
        if refusal is not None:
            log.warning("request refused", path=scope.get("path"), status=refusal[0], reason=refusal[1])
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                too_large = refusal[0] == 413
                await respond(send, *refusal, close=True, more=too_large)
                if too_large:
                    await drain(receive, send)
            return
        if scope["type"] == "http":
            await self._counted(scope, receive, send, limit)
        else:
            await self.app(scope, receive, send)

    def refusal(self, headers: Mapping[str, str]) -> tuple[int, str, str] | None:
        """(status, error, detail) for a foreign Host or Origin, else None."""
        host = headers.get("host")
        if not host or host_name(host) not in self.hosts:
            shown = repr(host[:100]) if host else "no Host header"
            return (421, "MisdirectedRequest",
                    f"this memory server does not answer requests for {shown}: it answers for "
                    f"{', '.join(sorted(self.hosts))}. A web page of another site may be trying to reach it "
                    "(DNS rebinding); if you reach it by this name on purpose, add the name to MCP_HTTP_ALLOWED_HOSTS")
        origin = headers.get("origin")
        if origin is not None and not self.origin_ok(origin):
            return (403, "Forbidden",
                    f"requests from the web page origin {origin[:100]!r} are refused: this memory server accepts "
                    f"pages of {', '.join(sorted(self.hosts))} (http or https, any port)"
                    f"{' and ' + ', '.join(sorted(self.origins)) if self.origins else ''}. To allow that site, add "
                    "it to MCP_HTTP_ALLOWED_ORIGINS")
        return None

    def origin_ok(self, origin: str) -> bool:
        value = origin.strip().lower().rstrip("/")
        if value in self.origins:
            return True
        scheme, sep, authority = value.partition("://")
        return bool(sep) and scheme in ("http", "https") and "/" not in authority \
            and host_name(authority) in self.hosts

    @staticmethod
    def too_large(limit: tuple[int, str]) -> tuple[int, str, str]:
        size, setting = limit
        return (413, "RequestTooLarge", f"the request body is larger than {size:,} bytes ({setting}); split it "
                                        "into smaller requests")

    def declared_too_large(self, headers: Mapping[str, str], limit: tuple[int, str]) -> tuple[int, str, str] | None:
        length = headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > limit[0]:
            return self.too_large(limit)
        return None

    async def _counted(self, scope: dict[str, Any], receive: Receive, send: Send, limit: tuple[int, str]) -> None:
        """Run the app, counting the body as it arrives; past the limit answer 413 and end the request."""
        received = 0
        started = refused = ended = False

        async def counting_receive() -> Message:
            nonlocal received, refused, ended
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                ended = ended or not message.get("more_body")
                if received > limit[0] and not refused:
                    refused = True
                    log.warning("request refused", path=scope.get("path"), status=413, reason="RequestTooLarge")
                    if not started:
                        await respond(send, *self.too_large(limit), close=True, more=True)
                if refused:  # the body ends here with a NUL byte, which no JSON text may hold: it cannot parse,
                    # so nothing is done with it, and the route's error answer is dropped below
                    return {"type": "http.request", "body": b"\0", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)
        if refused and not started:
            await drain(receive, send, ended)


async def drain(receive: Receive, send: Send, ended: bool = False) -> None:
    """Read and drop what remains of a refused body (unless it ``ended``; bounded in bytes and time), then end
    the response."""
    dropped = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while not ended and dropped < DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
            dropped += len(message.get("body", b""))
    await send({"type": "http.response.body", "body": b"", "more_body": False})
