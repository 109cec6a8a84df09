"""How this process reaches the data: asks the coordination plugins, falls back to ``direct``.

A coordination plugin (``http``, ``wal``) answers ``memory_coordinate(settings, open_direct)`` with a
``Coordination``; the first answer wins, and a plugin whose hook raises is skipped (and recorded). ``open()``
returns an object with the ``MemoryService`` interface: the local service (direct, http_server) or a remote one
(http_client); the caller closes it with ``close()``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .config import Settings
from .logging import get_logger
from .service_api import MemoryAPI

log = get_logger(__name__)

DIRECT = "direct"


@dataclass
class Coordination:
    """The chosen mode, why it was chosen, and how to open the service in that mode."""

    mode: str
    reason: str
    open: Callable[[], Awaitable[MemoryAPI]]


def direct_opener(settings: Settings, mode: str = DIRECT) -> Callable[[], Awaitable[MemoryAPI]]:
    """An async callable that opens the configured store and embedder in this process."""

    async def open_direct() -> MemoryAPI:
        from .service import open_service

        return await open_service(settings, coordination_mode=mode)

    return open_direct


def detect(settings: Settings) -> Coordination:
    """Ask the installed coordination plugins; with no answer, open the store directly."""
    from .plugins import get_plugin_manager

    open_direct = direct_opener(settings)
    answer = get_plugin_manager(settings).first_result("memory_coordinate", settings=settings,
                                                       open_direct=open_direct)
    chosen = answer if isinstance(answer, Coordination) else None
    chosen = chosen or Coordination(DIRECT, "no coordination plugin answered: opening the store directly", open_direct)
    log.info(f"Detected coordination mode: {chosen.mode}", mode=chosen.mode, reason=chosen.reason)
    return chosen
