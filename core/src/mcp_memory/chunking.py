"""Cutting a ``Document`` into chunks that follow its structure: one section (heading path, page) at a time,
paragraphs kept whole when they fit, long ones cut at sentence ends, with an overlap inside a section.

The sizes are in characters; the defaults were chosen on this repository's docs (docs/retrieval.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .documents import Block, Document

#: the chunk size aimed at, in characters (all-MiniLM-L6-v2 reads 256 tokens: about 1,000 characters of prose,
#: fewer of code and technical text)
TARGET_CHARS = 800
#: characters of the end of a chunk repeated at the start of the next one of the same section
OVERLAP_CHARS = 100
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class Chunk:
    text: str
    headings: tuple[str, ...]
    page: int | None
    index: int


def chunk(document: Document, target: int = TARGET_CHARS, overlap: int = OVERLAP_CHARS) -> list[Chunk]:
    """The chunks of ``document`` in reading order, indexed from 0."""
    if target < 100:
        raise ValueError("chunks under 100 characters cannot hold a thought")
    overlap = max(0, min(overlap, target // 2))
    pieces: list[tuple[str, tuple[str, ...], int | None]] = []
    for section in _sections(document.blocks):
        heads, page = section[0].headings, section[0].page
        for text in _pack([p for block in section for p in _split(block.text, target)], target, overlap):
            pieces.append((text, heads, page))
    return [Chunk(text, heads, page, i) for i, (text, heads, page) in enumerate(pieces)]


def _sections(blocks: list[Block]) -> list[list[Block]]:
    """Runs of consecutive blocks under the same headings on the same page."""
    runs: list[list[Block]] = []
    for block in blocks:
        if runs and (runs[-1][0].headings, runs[-1][0].page) == (block.headings, block.page):
            runs[-1].append(block)
        else:
            runs.append([block])
    return runs


def _split(text: str, target: int) -> list[str]:
    """A paragraph as pieces of at most ``target`` characters: whole sentences, else hard cuts at spaces. A block
    of lines (code, a table) is cut at line ends, so its rows stay rows."""
    if len(text) <= target:
        return [text]
    if "\n" in text:
        return _split_lines(text, target)
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence) > target:  # one sentence longer than a chunk: cut at a space
            cut = sentence.rfind(" ", 0, target)
            cut = cut if cut > target // 2 else target
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > target:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def _split_lines(text: str, target: int) -> list[str]:
    """Lines joined into pieces of at most ``target`` characters; a line longer than that is split as prose."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        for part in _split(line, target) if len(line) > target else [line]:
            if current and len(current) + 1 + len(part) > target:
                pieces.append(current)
                current = part
            else:
                current = f"{current}\n{part}" if current else part
    if current.strip():
        pieces.append(current)
    return pieces


def _pack(paragraphs: list[str], target: int, overlap: int) -> list[str]:
    """Paragraphs joined into chunks of up to ``target`` characters; each chunk after the first starts with the
    last ``overlap`` characters of the one before (from a word boundary)."""
    chunks: list[str] = []
    current = ""
    for paragraph in paragraphs:
        if current and len(current) + 2 + len(paragraph) > target:
            chunks.append(current)
            tail = _tail(current, overlap)
            current = f"{tail}\n\n{paragraph}" if tail and len(tail) + 2 + len(paragraph) <= target else paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        chunks.append(current)
    return chunks


def _tail(text: str, size: int) -> str:
    """The last ``size`` characters of ``text`` from a word start, marked with an ellipsis ("" for short texts)."""
    if size <= 0 or len(text) <= 2 * size:
        return ""
    tail = text[-size:]
    space = tail.find(" ")
    return ("… " + tail[space + 1:]) if 0 <= space < size // 2 else ""
