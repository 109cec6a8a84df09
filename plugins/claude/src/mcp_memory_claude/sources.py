"""Migration sources ``claude-code``, ``claude-export`` and ``chatgpt-export`` for ``memory import --format``.

Each reads conversations (``transcripts``), keeps what the user stated (``capture``) and, for Claude Code
sessions, one record per session. Memories are auto-captured ones, like the hooks'. A Claude Code session
belongs to the project of its ``cwd``; a chat export has no project: its memories go to ``MCP_MEMORY_PROJECT``
when set, else they are global.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError
from mcp_memory.models import Memory

from .capture import to_memories
from .plugin import SOURCES as KINDS
from .project import project_for
from .transcripts import read_all

BATCH = 100
class TranscriptSource:
    """Memories extracted from one location, read once when opened (``count`` and ``skipped`` are known)."""

    def __init__(self, kind: str, location: str | None):
        if not location:
            raise InvalidInputError(f"give the {kind} file or folder to import ({KINDS[kind]})")
        path = Path(location).expanduser()
        if not path.exists():
            raise InvalidInputError(f"{path} does not exist ({KINDS[kind]})")
        settings = Settings.from_env()
        self.memories: list[Memory] = []
        self.skipped: list[str] = []
        for conv in read_all(kind, path):
            project = project_for(conv.cwd, settings) if kind == "claude-code" else \
                project_for(None, settings)
            self.memories += to_memories(conv, project, captured_by=f"import:{kind}", record=kind == "claude-code")
            self.skipped += conv.skipped
        self.count = len(self.memories)

    async def _batches(self) -> AsyncIterator[list[tuple[Memory, Any]]]:
        for start in range(0, len(self.memories), BATCH):
            yield [(m, None) for m in self.memories[start:start + BATCH]]

    def __aiter__(self) -> AsyncIterator[list[tuple[Memory, Any]]]:
        return self._batches()
