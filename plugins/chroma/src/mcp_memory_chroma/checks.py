"""``memory health`` / ``memory verify`` checks of the chroma store. They never write and never create anything.

Cheap (``deep=False``): chromadb imports, and the directory is readable and writable (or can be created) or the
server answers its heartbeat. Deep: the collection opens, with its record count, layout and model.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.registration import Check

from .config import Remote, local_path, parse_remote
from .layout import LAYOUT_VERSION

HEARTBEAT_TIMEOUT = 3.0


def driver() -> Check:
    try:
        import chromadb
    except Exception as exc:  # noqa: BLE001 - a broken install can raise anything on import
        return Check("chromadb", False, f"cannot import chromadb: {type(exc).__name__}: {exc}",
                     "pip install -U mcp-memory-chroma")
    return Check("chromadb", True, f"chromadb {getattr(chromadb, '__version__', '?')}")


def directory(path: Path) -> Check:
    """The directory can be read and written, or created on the first write."""
    if path.exists():
        if not path.is_dir():
            return Check("chroma directory", False, f"{path} is a file", "point MCP_MEMORY_CHROMA_PATH at a directory")
        ok = os.access(path, os.R_OK | os.W_OK | os.X_OK)
        store = "a Chroma store" if (path / "chroma.sqlite3").exists() else "no Chroma store yet"
        return Check("chroma directory", ok, f"{path} ({store}){'' if ok else ': not readable and writable'}",
                     "" if ok else f"give this user read and write access to {path}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    ok = os.access(parent, os.W_OK | os.X_OK)
    return Check("chroma directory", ok, f"{path} does not exist yet; the first write creates it in {parent}"
                 + ("" if ok else " (not writable)"), "" if ok else f"make {parent} writable or set MCP_MEMORY_CHROMA_PATH")


def heartbeat(remote: Remote) -> Check:
    url = f"{remote.base}/api/v2/heartbeat"
    context = ssl.create_default_context() if remote.ssl else None
    try:
        with urllib.request.urlopen(url, timeout=HEARTBEAT_TIMEOUT, context=context) as response:
            json.loads(response.read() or b"{}")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer of the check
        return Check("chroma server", False, f"{url} does not answer: {exc}",
                     "start it (chroma run --path DIR --host HOST --port PORT) or check MCP_MEMORY_CHROMA_HOST/_PORT")
    return Check("chroma server", True, f"{remote.url} answers its heartbeat")


def collection(remote: Remote | None, path: Path) -> Check:
    """Open the collection without creating it: record count, layout, model."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import NotFoundError

    from .config import COLLECTION

    name = remote.collection if remote else COLLECTION
    if remote is None and not (path / "chroma.sqlite3").exists():
        return Check("chroma collection", True, f"no store at {path} yet (created on the first write)")
    settings = ChromaSettings(anonymized_telemetry=False)
    try:
        client = (chromadb.HttpClient(host=remote.host, port=remote.port, ssl=remote.ssl, settings=settings)
                  if remote else chromadb.PersistentClient(path=str(path), settings=settings))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer of the check
        return Check("chroma collection", False, f"cannot open Chroma: {type(exc).__name__}: {exc}",
                     "restore from a backup (memory restore FILE.json)")
    try:
        try:
            found: Any = client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return Check("chroma collection", True, f"no collection {name!r} yet (created on the first write)")
        meta = found.metadata or {}
        version = meta.get("layout_version", 1)
        model = f"{meta.get('embedding_model')} ({meta.get('embedding_dimension')} dims)"
        detail = f"{name}: {found.count()} records, layout {version}, model {model}"
        if not isinstance(version, int) or version > LAYOUT_VERSION:
            return Check("chroma collection", False, f"{detail}: newer than this plugin ({LAYOUT_VERSION})",
                         "pip install -U mcp-memory-chroma")
        if version < LAYOUT_VERSION:
            detail += f" (upgraded in place to layout {LAYOUT_VERSION} when next opened)"
        return Check("chroma collection", True, detail)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer of the check
        return Check("chroma collection", False, f"cannot read {name!r}: {type(exc).__name__}: {exc}",
                     "restore from a backup (memory restore FILE.json)")
    finally:
        if hasattr(client, "close"):
            client.close()


def run(settings: Settings, location: str | None, deep: bool) -> list[Check]:
    checks = [driver()]
    remote = parse_remote(location, settings)
    path = local_path(location, settings)
    checks.append(heartbeat(remote) if remote else directory(path))
    if deep and all(c.ok for c in checks):
        checks.append(collection(remote, path))
    return checks
