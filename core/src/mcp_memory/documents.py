"""Reading documents into blocks of text that know where they stand (heading path, page).

The core reads plain text, Markdown and HTML with the standard library; a plugin adds a format by registering a
``DocumentReader`` (the ``pdf`` plugin adds PDF). A reader returns a ``Document``: a title and its blocks in
order; ``chunking.py`` then groups blocks into memories.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .errors import InvalidInputError


@dataclass(frozen=True)
class Block:
    """A paragraph (or list item, table row, code block) with the headings above it and its page."""

    text: str
    headings: tuple[str, ...] = ()
    page: int | None = None


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None


@dataclass(frozen=True)
class DocumentReader:
    """A document format: ``read(data, name, encoding)`` turns a file's bytes into a ``Document``, or raises
    ``InvalidInputError`` saying why it cannot (corrupt, encrypted, not this format). ``encoding`` is what the
    user gave for text formats (None: UTF-8); binary formats ignore it."""

    name: str
    suffixes: tuple[str, ...]
    read: Callable[[bytes, str, str | None], Document]
    description: str = ""


# -- text decoding ------------------------------------------------------------------------------------
def decode(data: bytes, name: str, encoding: str | None = None) -> str:
    """Text of a file: UTF-8 (with or without BOM), UTF-16 with a BOM, or the encoding given. Binary data and
    other encodings are clear errors (nothing is guessed)."""
    if not data.strip():
        raise InvalidInputError(f"{name} is empty: nothing to ingest")
    if encoding:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{name} cannot be read as {encoding}: {exc}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:8192]:
        raise InvalidInputError(f"{name} is a binary file, not text: skipped")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); give its encoding "
            "(--encoding latin-1, cp1252 ...) or convert it to UTF-8") from None


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


# -- plain text and Markdown --------------------------------------------------------------------------
def read_text(data: bytes, name: str, encoding: str | None = None) -> Document:
    """Paragraphs separated by blank lines; the title is the file name."""
    return Document(Path(name).stem, [Block(p) for p in _paragraphs(decode(data, name, encoding))])


_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)


def read_markdown(data: bytes, name: str, encoding: str | None = None) -> Document:
    """Blocks under their heading path (ATX ``#`` and setext headings); fenced code stays one block."""
    text = _FRONT_MATTER.sub("", decode(data, name, encoding).replace("\r\n", "\n"))
    lines = text.split("\n")
    headings: list[tuple[int, str]] = []
    blocks: list[Block] = []
    buffer: list[str] = []
    fence: str | None = None
    title = ""

    def flush() -> None:
        for paragraph in _paragraphs("\n".join(buffer)):
            blocks.append(Block(paragraph, tuple(h for _, h in headings)))
        buffer.clear()

    def heading(level: int, words: str) -> None:
        nonlocal title
        flush()
        while headings and headings[-1][0] >= level:
            headings.pop()
        headings.append((level, words))
        title = title or (words if level == 1 else "")

    code: list[str] = []
    for i, line in enumerate(lines):
        if fence is not None:
            code.append(line)
            if line.strip().startswith(fence):
                fence = None
                blocks.append(Block("\n".join(code).strip("\n"), tuple(h for _, h in headings)))
                code.clear()
            continue
        opened = _FENCE.match(line)
        if opened:
            flush()  # the prose before; then the code block as one block, blank lines and all
            fence = opened.group(1)
            code.append(line)
            continue
        atx = _ATX.match(line)
        if atx and atx.group(2):
            heading(len(atx.group(1)), atx.group(2).strip())
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"=+\s*|-+\s*", following) and len(following.strip()) >= 2 \
                and not (buffer and buffer[-1].strip()):
            heading(1 if following.strip()[0] == "=" else 2, line.strip())
            lines[i + 1] = ""
            continue
        buffer.append(line)
    buffer.extend(code)  # a fence never closed: its lines are text
    flush()
    return Document(title or Path(name).stem, blocks)


# -- HTML ---------------------------------------------------------------------------------------------
class _HTMLBlocks(HTMLParser):
    """Headings h1-h6 and the text of block elements; script, style, nav and the like are left out."""

    SKIP = {"script", "style", "noscript", "nav", "header", "footer", "svg", "template", "form", "button"}
    BLOCKS = {"p", "li", "td", "th", "pre", "blockquote", "dt", "dd", "div", "section", "article", "tr",
              "figcaption", "caption", "br"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.blocks: list[Block] = []
        self.title = ""
        self._text: list[str] = []
        self._skip = 0
        self._heading: int | None = None
        self._in_title = False

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        self._text.clear()
        if not text:
            return
        if self._heading is not None:
            while self.headings and self.headings[-1][0] >= self._heading:
                self.headings.pop()
            self.headings.append((self._heading, text))
        else:
            self.blocks.append(Block(text, tuple(h for _, h in self.headings)))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in self.BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = None
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._text.append(data)


def read_html(data: bytes, name: str, encoding: str | None = None) -> Document:
    """Headings and block text of an HTML page; the title is ``<title>`` (else the first h1, else the name)."""
    text = decode(data, name, encoding)
    parser = _HTMLBlocks()
    parser.feed(text)
    parser.close()
    parser._flush()
    first_h1 = next((b.headings[0] for b in parser.blocks if b.headings), "")
    title = " ".join(parser.title.split()) or first_h1 or Path(name).stem
    return Document(title, parser.blocks)


BUILTIN_READERS = (
    DocumentReader("text", (".txt", ".text", ".log", ".rst", ".csv"), read_text, "plain text, paragraph by paragraph"),
    DocumentReader("markdown", (".md", ".markdown", ".mdx"), read_markdown, "Markdown under its headings"),
    DocumentReader("html", (".html", ".htm", ".xhtml"), read_html, "HTML headings and block text"),
)
