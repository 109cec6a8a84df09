"""The plugin's settings and where a store lives: a local directory or a Chroma server (no chromadb import).

A location is a directory, or ``http(s)://host[:port][/collection]``; with ``MCP_MEMORY_CHROMA_HOST`` set an
empty location means that server and ``host:port`` is accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_memory.config import (
    Setting,
    Settings,
    as_bool,
    as_int,
    as_optional_str,
    as_path,
    default_data_dir,
)
from mcp_memory.errors import InvalidInputError

#: the collection that holds the memories unless a server URL names another
COLLECTION = "mcp_memory"
DEFAULT_PORT = 8000

CHROMA_SETTINGS: tuple[Setting, ...] = (
    Setting("MCP_MEMORY_CHROMA_PATH", "local Chroma directory (used when no server is set)",
            lambda: default_data_dir() / "chroma_db", as_path),
    Setting("MCP_MEMORY_CHROMA_HOST", "Chroma server host: when set, the store lives on that server "
            "(chroma run) instead of the local directory", None, as_optional_str),
    Setting("MCP_MEMORY_CHROMA_PORT", "port of that Chroma server", DEFAULT_PORT, as_int(1, 65535)),
    Setting("MCP_MEMORY_CHROMA_LEXICAL", "word search (lexical and hybrid modes): BM25 over Chroma's regex filter, "
            "which reads every document holding a query word per search (about 0.1 s at 10k memories, 1 s at "
            "100k); off: those modes answer semantically", False, as_bool),
)

_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\])(?::(?P<port>\d{1,5}))?$")
#: Chroma's rule for collection names
_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


@dataclass(frozen=True)
class Remote:
    """A Chroma server and the collection on it."""

    host: str
    port: int
    ssl: bool = False
    collection: str = COLLECTION

    @property
    def base(self) -> str:
        """``http(s)://host:port`` of the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl else 'http'}://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The location of the store: the server, plus the collection when it is not the default one."""
        return self.base if self.collection == COLLECTION else f"{self.base}/{self.collection}"


def section(settings: Settings | None) -> Any:
    """This plugin's settings (defaults when ``settings`` is None)."""
    return (settings or Settings()).section(CHROMA_SETTINGS)


def check_collection(name: str) -> str:
    if not _COLLECTION_NAME.match(name) or ".." in name:
        raise InvalidInputError(f"{name!r} is not a Chroma collection name: use 3 to 512 letters, digits, "
                                "'.', '_' or '-', starting and ending with a letter or digit")
    return name


def _host_port(text: str, default_port: int) -> tuple[str, int] | None:
    match = _HOST_PORT.match(text)
    if not match:
        return None
    port = int(match["port"]) if match["port"] else default_port
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"port {port} of {text!r} is not between 1 and 65535")
    return match["host"].strip("[]"), port


def parse_remote(location: str | None, settings: Settings | None) -> Remote | None:
    """The server this store talks to, or None for a local directory."""
    if location and location.startswith(("http://", "https://")):
        ssl = location.startswith("https://")
        rest = location.split("://", 1)[1].rstrip("/")
        address, _, collection = rest.partition("/")
        found = _host_port(address, 443 if ssl else DEFAULT_PORT)
        if found is None:
            raise InvalidInputError(f"{location!r} is not a Chroma server URL: use http(s)://host[:port][/collection]")
        return Remote(found[0], found[1], ssl, check_collection(collection) if collection else COLLECTION)
    values = section(settings)
    if not values.chroma_host:
        return None
    if location:
        found = _host_port(location, DEFAULT_PORT) if ":" in location and "/" not in location else None
        return Remote(*found) if found else None
    return Remote(values.chroma_host, values.chroma_port)


def local_path(location: str | None, settings: Settings | None) -> Path:
    """The local directory of a store that is not on a server."""
    return Path(location).expanduser() if location else section(settings).chroma_path


def describe(location: str | None, settings: Settings | None) -> tuple[str, Path | None]:
    """(what users see, local path or None) of the store at ``location``."""
    remote = parse_remote(location, settings)
    if remote is not None:
        return remote.url, None
    path = local_path(location, settings)
    return str(path), path
