"""PDF text as blocks with their page number: paragraphs of each page's text layer, in reading order.

A PDF has no reliable headings; the title comes from the document's metadata, else its first line. Pages without
a text layer (scans) give no block. Corrupt, encrypted or empty files are ``InvalidInputError``s.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from mcp_memory.documents import Block, Document
from mcp_memory.errors import InvalidInputError

_HYPHEN_BREAK = re.compile(r"(\w)-\n(\w)")


def _paragraphs(text: str) -> list[str]:
    """A page's text split at blank lines, each paragraph's lines joined with single spaces."""
    text = _HYPHEN_BREAK.sub(r"\1\2", text.replace("\r\n", "\n"))
    parts = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [" ".join(p.split()) for p in parts]


def _page_text(page: object) -> str:
    """The page's text with its vertical gaps kept as blank lines (pypdf's layout mode), so paragraphs show."""
    try:
        return page.extract_text(extraction_mode="layout") or ""  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError, ZeroDivisionError):  # odd font metrics: the plain text at least
        return page.extract_text() or ""  # type: ignore[attr-defined]


def read_pdf(data: bytes, name: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.strip():
        raise InvalidInputError(f"{name} is empty: nothing to ingest")
    if not data.lstrip().startswith(b"%PDF"):
        raise InvalidInputError(f"{name} is not a PDF (no %PDF header)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about odd files would flood the log
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InvalidInputError(f"{name} is encrypted; decrypt it first (qpdf --decrypt in.pdf out.pdf)")
        pages = [_page_text(page) for page in reader.pages]
        title = str(reader.metadata.get("/Title") or "").strip() if reader.metadata else ""
    except InvalidInputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise InvalidInputError(f"{name} is not a readable PDF ({type(exc).__name__}: {exc})") from None
    blocks = [Block(paragraph, (), number) for number, text in enumerate(pages, start=1)
              for paragraph in _paragraphs(text)]
    if not blocks:
        raise InvalidInputError(f"{name} has no text layer (a scan?); run OCR first (ocrmypdf in.pdf out.pdf)")
    return Document(title or blocks[0].text[:80] or Path(name).stem, blocks, pages=len(pages))
