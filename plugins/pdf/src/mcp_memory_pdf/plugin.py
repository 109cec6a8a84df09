"""Entry point of the ``pdf`` plugin: a ``DocumentReader`` for ``.pdf``. pypdf loads on the first PDF read."""

from __future__ import annotations

from collections.abc import Callable

from mcp_memory import hookimpl
from mcp_memory.documents import Document, DocumentReader


def read(data: bytes, name: str, encoding: str | None = None) -> Document:
    from .reader import read_pdf

    return read_pdf(data, name)


@hookimpl
def memory_register_document_readers(register: Callable[[DocumentReader], None]) -> None:
    register(DocumentReader(name="pdf", suffixes=(".pdf",), read=read,
                            description="PDF text, page by page (pypdf); scanned pages without text are skipped"))
