"""Detection: use a server of ours that serves the store this process is configured for, else become the server
(auto-start), else go direct.

A process only ever uses the store it is configured for: a server that serves another store (another file,
another backend) is not used; the process opens its own store directly and says so in one warning naming both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.coordination import DIRECT, Coordination
from mcp_memory.errors import MemoryServiceError
from mcp_memory.logging import get_logger

from . import SERVICE_NAME
from .auth import check_bind
from .client import HTTP_CLIENT, RemoteMemoryService, auth_headers, base_url
from .failover import FailoverService
from .identity import StoreIdentity, configured_store
from .listen import HTTP_SERVER, bind_socket
from .settings import HttpSettings
from .transport import TIMEOUTS, Failure, get

log = get_logger(__name__)

PROBE_TIMEOUT = 1.0
#: A server that accepted the connection but is slow to answer (busy machine, model loading) gets this long.
BUSY_PROBE_TIMEOUT = 10.0
RACE_WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class Probe:
    """What answers on host:port: ``ours`` (usable), ``locked`` (ours, key refused), ``other``, ``none``;
    for ``ours``, the store it serves (None if it does not say)."""

    state: str
    detail: str
    url: str = ""
    store: StoreIdentity | None = None


def probe(settings: Settings, timeout: float = PROBE_TIMEOUT) -> Probe:
    """GET /api/health with a short timeout and check that it is an mcp-memory server.

    Nothing listening answers at once; a listener that is merely slow is asked again with a longer timeout,
    so a busy server is not mistaken for none (which would send its clients to direct mode).
    """
    http = HttpSettings.of(settings)
    url = base_url(http)
    try:
        response = get(url, "/api/health", auth_headers(http), timeout)
    except Failure as exc:
        if exc.kind not in TIMEOUTS:
            return Probe("none", f"nothing answers on {url} ({exc.kind})", url)
        if timeout < BUSY_PROBE_TIMEOUT:
            log.info("health probe timed out, asking again with a longer timeout", url=url, timeout=timeout)
            return probe(settings, BUSY_PROBE_TIMEOUT)
        return Probe("none", f"{url} accepted the connection but did not answer in {timeout:g} s ({exc.kind})", url)
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status != 200 or not isinstance(data, dict) or data.get("service") != SERVICE_NAME:
        return Probe("other", f"{url} answers, but it is not an mcp-memory server (HTTP {response.status})", url)
    version = data.get("version", "?")
    if data.get("auth_required") and "coordination_mode" not in data:
        why = "a wrong MCP_API_KEY" if http.api_key else "no MCP_API_KEY"
        return Probe("locked", f"the mcp-memory server {version} at {url} requires an API key and this process has "
                               f"{why}; set the server's MCP_API_KEY here to use it", url)
    return Probe("ours", f"an mcp-memory server {version} answers on {url}", url,
                 StoreIdentity.from_dict(data.get("store")))


def other_store(settings: Settings, found: Probe) -> str | None:
    """None when the server found serves the store ``settings`` select; else why it is not used (logged as one
    warning naming both stores)."""
    own = configured_store(settings)
    if found.store is not None and found.store.same_store(own):
        return None
    served = found.store.describe() if found.store is not None else "a store it does not name"
    message = (f"the mcp-memory server at {found.url} serves {served}, but this process is configured for "
               f"{own.describe()}: not using that server")
    log.warning(message, server_store=served, configured_store=own.describe())
    return message


def port_free(host: str, port: int) -> bool:
    try:
        bind_socket(host, port).close()
    except OSError:
        return False
    return True


def decide(settings: Settings, open_direct: Callable[[], Any]) -> Coordination:
    """The coordination answer of the http plugin (see the module docstring)."""
    http = HttpSettings.of(settings)
    if not http.enabled:
        return Coordination(DIRECT, "HTTP coordination is disabled (MCP_HTTP_ENABLED=false): opening the store "
                                    "directly", open_direct)
    found = probe(settings)
    if found.state == "ours":
        return _use_server(settings, found, open_direct)
    if found.state in ("other", "locked"):
        return Coordination(DIRECT, f"{found.detail}: opening the store directly", open_direct)
    if not http.auto_start:
        return Coordination(DIRECT, f"{found.detail} and MCP_MEMORY_HTTP_AUTO_START is off: opening the store "
                                    "directly", open_direct)
    try:
        check_bind(http.host, http.api_key)
    except MemoryServiceError as exc:
        return Coordination(DIRECT, f"auto-start refused: {exc}; opening the store directly", open_direct)
    if not port_free(http.host, http.port):
        # taken since the probe? Another client may have just become the server: it answers once it is up
        again = probe(settings)
        if again.state == "ours":
            return _use_server(settings, again, open_direct)
        return Coordination(DIRECT, f"{again.detail} but the port {http.address} is taken by another program: "
                                    "opening the store directly (choose a free MCP_HTTP_PORT to share it)", open_direct)
    return Coordination(HTTP_SERVER, f"{found.detail}, the port is free and MCP_MEMORY_HTTP_AUTO_START is on: "
                                     f"this process serves HTTP on {http.address} for other clients",
                        _server_opener(settings, open_direct))


def _use_server(settings: Settings, found: Probe, open_direct: Callable[[], Any]) -> Coordination:
    """A client of the server that answered, if it serves the configured store; else direct."""
    mismatch = other_store(settings, found)
    if mismatch is not None:
        return Coordination(DIRECT, f"{mismatch}; opening the configured store directly", open_direct)
    return Coordination(HTTP_CLIENT, f"{found.detail} and serves the configured store: using it as a client",
                        _client_opener(settings))


def _client_opener(settings: Settings) -> Callable[[], Any]:
    async def open_client() -> Any:
        return FailoverService(RemoteMemoryService(settings), settings)
    return open_client


def _server_opener(settings: Settings, open_direct: Callable[[], Any]) -> Callable[[], Any]:
    async def open_server() -> Any:
        from .server import serve_in_background  # the server stack (FastAPI, uvicorn) loads only to serve

        http = HttpSettings.of(settings)
        try:
            sock = bind_socket(http.host, http.port)
        except OSError:
            return await _after_lost_race(settings, open_direct)
        return await serve_in_background(settings, sock)
    return open_server


async def _after_lost_race(settings: Settings, open_direct: Callable[[], Any]) -> Any:
    """Another process took the port between detection and bind: use it once it answers (if it serves our
    store), else go direct."""
    deadline = time.monotonic() + RACE_WAIT_SECONDS
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(probe, settings, 0.5)
        if found.state == "ours":
            if await asyncio.to_thread(other_store, settings, found) is not None:
                return await open_direct()
            log.info("another process became the server first: using it as a client", detail=found.detail)
            return FailoverService(RemoteMemoryService(settings), settings)
        if found.state != "none":
            break
        await asyncio.sleep(0.1)
    log.warning("the HTTP port was taken and no mcp-memory server answers there: opening the store directly",
                address=HttpSettings.of(settings).address)
    return await open_direct()
