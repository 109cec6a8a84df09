"""What the context hooks add: a brief of the project at session start, relevant memories for a prompt."""

from __future__ import annotations

from typing import Any

from mcp_memory.budget import fit
from mcp_memory.inputs import Scope
from mcp_memory.models import Memory
from mcp_memory.ranking import AUTO_CAPTURED_TAG

from .kinds import SESSION

#: memory types and tags that make a memory a decision or a preference
KEY_KINDS = ("decision", "preference")
#: newest memories of the project read to find its decisions and preferences
RECENT = 60
#: memories of the project taken by relevance to the project
RELEVANT = 10


def scope_of(project: str | None) -> Scope:
    return Scope.of(project=project) if project else Scope()


def is_auto(memory: Memory) -> bool:
    return AUTO_CAPTURED_TAG in memory.tags


def is_key(memory: Memory) -> bool:
    return memory.memory_type in KEY_KINDS or any(t in KEY_KINDS for t in memory.tags)


def render(memory: Memory) -> str:
    """One line: kind, content, where to get it, when; auto-captured memories are marked."""
    kind = memory.memory_type or "note"
    mark = ", auto-captured" if is_auto(memory) else ""
    body = " ".join(memory.content.split())
    return f"- [{kind}] {body} ({memory.content_hash[:12]}, {memory.created_at_iso[:10]}{mark})"


def _block(title: str, memories: list[Memory], tokens: int) -> str | None:
    fitted = fit(memories, tokens)
    if not fitted.memories:
        return None
    lines = [title, *(render(m) for m in fitted.memories)]
    if fitted.note():
        lines.append(fitted.note())
    return "\n".join(lines)


async def session_brief(service: Any, project: str | None, tokens: int) -> str | None:
    """The project's decisions and preferences (newest first) and its memories most relevant to the project,
    curated before auto-captured, then the last session's record; within ``tokens``."""
    scope = scope_of(project)
    recent = (await service.list_memories(page=1, page_size=RECENT, scope=scope)).memories
    key = [m for m in recent if is_key(m)]
    relevant: list[Memory] = []
    if project:
        query = f"{project}: architecture, conventions, decisions, preferences, people"
        # a ranking for the brief, not an answer to a question: no relevance floor
        relevant = [r.memory for r in await service.retrieve(query, n_results=RELEVANT, scope=scope,
                                                             min_relevance=0.0)]
    last_session = next((m for m in recent if SESSION in m.tags and is_auto(m)), None)
    ordered: dict[str, Memory] = {}
    for group in ([m for m in key if not is_auto(m)], [m for m in relevant if not is_auto(m)],
                  [m for m in key if is_auto(m)], [m for m in relevant if is_auto(m) and SESSION not in m.tags],
                  [last_session] if last_session else []):
        for memory in group:
            ordered.setdefault(memory.content_hash, memory)
    if not ordered:
        return None
    where = f"project {project}" if project else "all projects"
    title = (f"Long-term memory (mcp-memory) for {where}: decisions, preferences and notes, curated first. "
             "get_memory HASH shows one in full; retrieve_memory searches more.")
    return _block(title, list(ordered.values()), tokens)


async def prompt_context(service: Any, prompt: str, project: str | None, section: Any) -> str | None:
    """Memories relevant to the prompt above the threshold (at most a few, within the budget), or None."""
    results = await service.retrieve(prompt, n_results=section.prompt_results, min_relevance=section.prompt_relevance,
                                     scope=scope_of(project))
    if not results:
        return None
    return _block("Memories that may be relevant to this prompt (mcp-memory):", [r.memory for r in results],
                  section.prompt_tokens)
