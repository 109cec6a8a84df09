"""The pdf plugin: real PDFs made with fpdf2 (several pages), read with pypdf, ingested through the service."""

import io

import pytest
from mcp_memory_pdf.plugin import memory_register_document_readers, read

from mcp_memory.errors import InvalidInputError
from mcp_memory.service import MemoryService
from mcp_memory.testing import HashEmbedder, InMemoryStorage

fpdf = pytest.importorskip("fpdf", reason="fpdf2 makes the test PDFs (requirements-dev.txt)")
pypdf = pytest.importorskip("pypdf")

pytestmark = pytest.mark.anyio


def make_pdf(pages: list[list[str]], title: str | None = "Quarterly Report") -> bytes:
    doc = fpdf.FPDF()
    if title:
        doc.set_title(title)
    doc.set_font("helvetica", size=11)
    for paragraphs in pages:
        doc.add_page()
        for paragraph in paragraphs:
            doc.multi_cell(0, 6, paragraph)
            doc.ln(6)
    return bytes(doc.output())


PAGES = [["Revenue grew by twelve percent in the third quarter.", "The growth came from the new region."],
         ["Costs rose because of hiring.", "Hiring will slow down in the fourth quarter."],
         ["The board approved the budget for next year."]]


def test_pages_become_blocks_with_their_page_number():
    doc = read(make_pdf(PAGES), "report.pdf")
    assert doc.title == "Quarterly Report" and doc.pages == 3
    assert [(b.page, b.text) for b in doc.blocks] == [(1, PAGES[0][0]), (1, PAGES[0][1]), (2, PAGES[1][0]),
                                                       (2, PAGES[1][1]), (3, PAGES[2][0])]
    assert read(make_pdf(PAGES, title=None), "r.pdf").title == PAGES[0][0]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"), (b"hello, not a pdf", "not a PDF"), (b"%PDF-1.7\n%garbage without objects\n", "not a readable PDF"),
])
def test_bad_files_are_clear_errors(data, message):
    with pytest.raises(InvalidInputError, match=message):
        read(data, "bad.pdf")


def test_truncated_and_encrypted_pdfs_are_refused():
    data = make_pdf(PAGES)
    with pytest.raises(InvalidInputError, match="not a readable PDF|no text layer"):
        read(data[: len(data) // 3], "cut.pdf")
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(InvalidInputError, match="encrypted"):
        read(out.getvalue(), "locked.pdf")


def test_a_pdf_without_text_is_refused():
    doc = fpdf.FPDF()
    doc.add_page()
    doc.rect(10, 10, 50, 50)
    with pytest.raises(InvalidInputError, match="no text layer"):
        read(bytes(doc.output()), "scan.pdf")


async def test_ingest_records_pages_and_stores_nothing_for_a_corrupt_pdf():
    readers = []
    memory_register_document_readers(readers.append)
    service = MemoryService(InMemoryStorage(), HashEmbedder(), readers=readers)
    await service.initialize()
    result = await service.ingest_document(make_pdf(PAGES), "report.pdf", "/docs/report.pdf", tags=["finance"])
    assert result.status == "stored" and result.pages == 3 and result.chunks == 3
    found = await service.retrieve("budget approved by the board", 1, min_relevance=0.0)
    memory = found[0].memory
    assert memory.metadata["page"] == 3 and memory.metadata["source"] == "/docs/report.pdf"
    assert {"report.pdf", "document", "finance"} <= set(memory.tags)
    bad = await service.ingest_document(b"%PDF-1.4 broken", "broken.pdf", "/docs/broken.pdf")
    assert bad.status == "error" and "not a readable PDF" in bad.error and await service.count() == 3
