"""Which store a process is configured for: a server states it in ``/api/health``, a client compares it with its
own before using the server (a process only ever uses the store it is configured for)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.maintenance import store_location
from mcp_memory.plugins import get_plugin_manager


@dataclass(frozen=True)
class StoreIdentity:
    """A backend and where its data is: ``location`` as the store's plugin shows it (a DSN's password masked),
    ``path`` the absolute local file or directory when there is one. Both None when the plugin does not say
    (or is not installed here)."""

    backend: str
    location: str | None = None
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "location": self.location, "path": self.path}

    @classmethod
    def from_dict(cls, data: Any) -> StoreIdentity | None:
        if not isinstance(data, dict) or not isinstance(data.get("backend"), str):
            return None
        text = data.get("location")
        path = data.get("path")
        return cls(data["backend"], text if isinstance(text, str) else None, path if isinstance(path, str) else None)

    def describe(self) -> str:
        return f"{self.backend} at {self.location}" if self.location else f"{self.backend} (location not known)"

    def same_store(self, other: StoreIdentity) -> bool:
        """Same backend and, when both sides know it, the same location (local paths compared resolved)."""
        if self.backend != other.backend:
            return False
        if self.path is not None and other.path is not None:
            return self.path == other.path
        if self.location is not None and other.location is not None:
            return self.location == other.location
        return True  # one side cannot tell where its data is: the backend is all there is to compare


def configured_store(settings: Settings) -> StoreIdentity:
    """The store ``settings`` select, located by its plugin; the backend name alone when that plugin is not
    installed in this process."""
    pm = get_plugin_manager(settings)
    backend = settings.storage_backend
    if backend not in pm.registry.storages:
        return StoreIdentity(backend)
    found = store_location(pm, backend, settings)
    if found is None:
        return StoreIdentity(backend)
    path = str(Path(found.path).expanduser().resolve()) if found.path is not None else None
    return StoreIdentity(backend, found.text, path)
