"""Answers sized for a model's context: fit a list of memories into a budget of approximate tokens.

Every surface that hands memories to a model (MCP tools, Claude Code hooks) uses ``fit``: contents are cut at
a word boundary with a visible marker naming the hash to fetch the whole text (``get_memory``), and when even
cut memories do not fit, the last ones are left out and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .models import Memory

#: about four characters of English text per token (the usual rule of thumb for BPE tokenizers)
CHARS_PER_TOKEN = 4
#: the default budget of one answer, in tokens (a typical answer stays under about 1,500 tokens)
DEFAULT_TOKENS = 1200
#: characters a rendered memory costs besides its content (hash, date, tags, score, punctuation)
OVERHEAD_CHARS = 120
#: never cut a content shorter than this many characters (a cut that leaves nothing readable helps no one)
MIN_CONTENT_CHARS = 160
#: a compact memory shows its first line cut to this length
COMPACT_CHARS = 140


def tokens_to_chars(tokens: int) -> int:
    return max(1, int(tokens)) * CHARS_PER_TOKEN


def cut(text: str, limit: int, content_hash: str) -> str:
    """``text`` if it fits in ``limit`` characters, else its start (at a word boundary) and a marker."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    if space > limit * 0.6:
        head = head[:space]
    return f"{head.rstrip()} [... {len(text) - len(head):,} more characters: get_memory {content_hash[:12]}]"


def first_line(text: str, limit: int = COMPACT_CHARS) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    more = len(text.strip()) > len(line)
    if len(line) > limit:
        return line[:limit].rstrip() + "…"
    return line + (" …" if more else "")


@dataclass(frozen=True)
class Fitted:
    """Memories as they fit the budget (contents possibly cut), and how many were left out."""

    memories: list[Memory]
    omitted: int
    truncated: int

    def note(self) -> str:
        """A line telling the model what the budget changed, or an empty string."""
        parts = []
        if self.truncated:
            parts.append(f"{self.truncated} cut to fit (get_memory HASH gives the whole text)")
        if self.omitted:
            parts.append(f"{self.omitted} more not shown (raise max_tokens, or narrow the search)")
        return ("Note: " + "; ".join(parts) + ".") if parts else ""


def fit(memories: Sequence[Memory], max_tokens: int = DEFAULT_TOKENS, compact: bool = False) -> Fitted:
    """Fit ``memories`` (best or newest first) into about ``max_tokens`` tokens.

    Compact form keeps the first line of each content. Full form shares the budget equally, cutting only the
    contents longer than their share (never below ``MIN_CONTENT_CHARS``); memories that still do not fit are
    left out from the end.
    """
    budget = tokens_to_chars(max_tokens)
    if compact:
        shown = [replace(m, content=first_line(m.content)) for m in memories]
    else:
        shown = _share(list(memories), budget)
    kept: list[Memory] = []
    used = 0
    for memory in shown:
        cost = len(memory.content) + OVERHEAD_CHARS + sum(len(t) + 2 for t in memory.tags)
        if kept and used + cost > budget:
            break
        kept.append(memory)
        used += cost
    truncated = sum(1 for a, b in zip(memories, kept, strict=False) if a.content != b.content and not compact)
    return Fitted(kept, len(memories) - len(kept), truncated)


def _share(memories: list[Memory], budget: int) -> list[Memory]:
    """Cut the longest contents until the list fits ``budget`` characters (water-filling)."""
    if not memories:
        return []
    room = budget - len(memories) * OVERHEAD_CHARS
    lengths = sorted(len(m.content) for m in memories)
    if sum(lengths) <= room:
        return memories
    cap, rest, left = MIN_CONTENT_CHARS, len(lengths), room
    for length in lengths:  # the largest cap such that sum(min(len, cap)) <= room
        share = left // rest if rest else 0
        if length <= share:
            left -= length
            rest -= 1
            continue
        cap = max(MIN_CONTENT_CHARS, share)
        break
    return [replace(m, content=cut(m.content, cap, m.content_hash)) for m in memories]
