"""Entry point of the ``http`` plugin: coordination (tried first) and the ``memory http`` command."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from mcp_memory import hookimpl


@hookimpl(tryfirst=True)
def memory_coordinate(settings: Any, open_direct: Callable[[], Any]) -> Any:
    from .coordinate import decide

    return decide(settings, open_direct)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default MCP_HTTP_HOST or 127.0.0.1); "
                                       "a non-loopback address needs MCP_API_KEY")
    parser.add_argument("--port", type=int, help="port (default MCP_HTTP_PORT or 8000)")


def _run(args: argparse.Namespace, settings: Any) -> int:
    from .server import run_foreground

    from mcp_memory.errors import ConfigError

    if args.port is not None and not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    changes = {k: v for k, v in (("http_host", args.host), ("http_port", args.port)) if v is not None}
    return run_foreground(settings.with_changes(**changes))


@hookimpl
def memory_register_cli(register: Callable[..., None]) -> None:
    register("http", "serve the REST API, server-sent events and MCP over HTTP (other clients use it)",
             _configure, _run)
