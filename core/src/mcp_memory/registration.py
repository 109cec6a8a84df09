"""What plugins hand to the core: typed registration objects, built with keyword arguments.

A plugin's ``memory_register_*`` hook calls ``register(StorageBackend(name=..., factory=...))`` and so on. Names
are unique across plugins: a second plugin registering a name already taken is recorded as a plugin failure
naming both plugins (and ignored).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .config import Settings
    from .models import Memory, Vector
    from .protocols import Embedder, MemoryStorage


@dataclass(frozen=True)
class StorageBackend:
    """A store. ``factory(settings, location)`` returns an uninitialised ``MemoryStorage`` without doing I/O;
    ``location`` (a path, directory, URL or DSN) overrides the store's configured one (migration, tests)."""

    name: str
    factory: Callable[[Settings, str | None], MemoryStorage]
    description: str = ""


@dataclass(frozen=True)
class EmbedderBackend:
    """An embedder. ``factory(settings)`` returns an ``Embedder`` without loading its model.

    With no ``MCP_MEMORY_EMBEDDER`` set, the installed embedder of highest ``priority`` is used.
    """

    name: str
    factory: Callable[[Settings], Embedder]
    priority: int = 0
    description: str = ""


class MigrationReader(Protocol):
    """A migration source opened on a location: async-iterable of batches ``[(Memory, vector or None)]``.

    Optional attributes, read with ``getattr``: ``count`` (memories, shown by the progress bar),
    ``embedding_model`` and ``embedding_dimension`` (vectors are reused when the target's embedder matches),
    ``skipped`` (a list of messages for records that could not be read).
    """

    def __aiter__(self) -> AsyncIterator[list[tuple[Memory, Vector | None]]]: ...


@dataclass(frozen=True)
class MigrationSource:
    """A source for ``memory migrate --from NAME`` that is not a store (a file format, another product).

    ``open(location)`` returns a ``MigrationReader``; it must never modify what it reads, and raises
    ``InvalidInputError`` with a clear message for a missing or unreadable source.
    """

    name: str
    open: Callable[[str | None], MigrationReader]
    description: str = ""


@dataclass(frozen=True)
class Command:
    """A ``memory NAME`` subcommand: ``configure(parser)`` adds its arguments, ``run(args, settings)`` returns
    the exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Settings], int]


@dataclass(frozen=True)
class StoreLocation:
    """Where a store keeps its data when no location is given: shown to users, compared to tell stores apart.

    ``path`` is set for local files and directories (checked to exist before a migration reads them);
    ``text`` is what users see (a path, or a URL/DSN with any password masked).
    """

    text: str
    path: Path | None = None


@dataclass
class Check:
    """One line of ``memory verify`` or ``memory health``: OK or FAIL, what was seen, and the fix."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        text = f"{'OK  ' if self.ok else 'FAIL'}  {self.name:<20} {self.detail}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"
