"""Entry point of the ``http`` plugin: its settings, coordination (tried first) and the ``memory http`` command."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from mcp_memory import hookimpl
from mcp_memory.config import Setting, Settings
from mcp_memory.errors import ConfigError
from mcp_memory.registration import Command

from .settings import HTTP_SETTINGS, HttpSettings


@hookimpl
def memory_settings() -> Sequence[Setting]:
    return HTTP_SETTINGS


@hookimpl(tryfirst=True)
def memory_coordinate(settings: Settings, open_direct: Callable[[], Any]) -> Any:
    from .coordinate import decide

    return decide(settings, open_direct)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default MCP_HTTP_HOST or 127.0.0.1); "
                                       "a non-loopback address needs MCP_API_KEY")
    parser.add_argument("--port", help="port (default MCP_HTTP_PORT or 8000)")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .server import run_foreground

    given = {name: value for name, value in (("MCP_HTTP_HOST", args.host), ("MCP_HTTP_PORT", args.port))
             if value is not None}
    changed = settings.with_changes(**given)
    try:
        HttpSettings.of(changed)
    except ConfigError as exc:
        raise ConfigError(f"{exc}{' (given with --host/--port)' if given else ''}") from None
    return run_foreground(changed)


@hookimpl
def memory_register_cli(register: Callable[[Command], None]) -> None:
    register(Command(name="http", help="serve the dashboard, the REST API, server-sent events and MCP over HTTP "
                                       "(other memory processes use it)", configure=_configure, run=_run))
