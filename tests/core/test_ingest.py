"""Documents into memory: readers, structure-following chunks, idempotent re-ingest, prune, errors per file."""

import json
from pathlib import Path

import pytest
from mcp import Client, types

from mcp_memory.chunking import chunk
from mcp_memory.cli import main
from mcp_memory.documents import read_html, read_markdown, read_text
from mcp_memory.errors import InvalidInputError
from mcp_memory.gitignore import Ignorer
from mcp_memory.ingest import find_files, source_text
from mcp_memory.mcp_server import build_server
from mcp_memory.protocols import TRASH, Filter
from mcp_memory.service import MemoryService

pytestmark = pytest.mark.anyio

GUIDE = """---
title: ignored front matter
---
# Guide

Intro paragraph of the guide.

## Install

### Linux

Run the installer with bash. It creates a virtual environment.

```bash
bash scripts/install.sh
# not a heading
```

### Windows

Use PowerShell.

Setext heading
--------------

Text under the setext heading.
"""


def test_markdown_blocks_keep_their_heading_path():
    doc = read_markdown(GUIDE.encode(), "guide.md")
    assert doc.title == "Guide"
    paths = {b.text[:12]: b.headings for b in doc.blocks}
    assert paths["Intro paragr"] == ("Guide",)
    assert paths["Run the inst"] == ("Guide", "Install", "Linux")
    assert paths["```bash\nbash"] == ("Guide", "Install", "Linux")  # the fenced comment is not a heading
    assert paths["Use PowerShe"] == ("Guide", "Install", "Windows")
    assert paths["Text under t"] == ("Guide", "Setext heading")
    assert not any("front matter" in b.text for b in doc.blocks)


def test_html_headings_and_blocks_without_scripts():
    page = b"""<html><head><title>Ops Handbook</title><script>var x = 'secret';</script></head><body>
    <nav>menu menu</nav><h1>Handbook</h1><p>Welcome &amp; hello.</p><h2>On call</h2>
    <ul><li>Page the lead</li><li>Write the report</li></ul><footer>copyright</footer></body></html>"""
    doc = read_html(page, "ops.html")
    assert doc.title == "Ops Handbook"
    assert [(b.text, b.headings) for b in doc.blocks] == [
        ("Welcome & hello.", ("Handbook",)), ("Page the lead", ("Handbook", "On call")),
        ("Write the report", ("Handbook", "On call"))]


@pytest.mark.parametrize("data, message", [(b"", "empty"), (b"   \n\n", "empty"),
                                           (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
                                           ("caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8 text")])
def test_unreadable_text_is_a_clear_error(data, message):
    with pytest.raises(InvalidInputError, match=message):
        read_text(data, "notes.txt")


def test_other_encodings_when_given_and_utf16_with_bom():
    assert read_text("caf\u00e9".encode("latin-1"), "a.txt", "latin-1").blocks[0].text == "café"
    assert read_text("hello".encode("utf-16"), "a.txt").blocks[0].text == "hello"
    assert read_text("\ufeffhello".encode("utf-8"), "a.txt").blocks[0].text == "hello"


def test_chunks_follow_sections_respect_the_size_and_overlap():
    text = "# Doc\n\n" + "\n\n".join(f"Paragraph {i}. " + "Words of the paragraph. " * 12 for i in range(10))
    text += "\n\n## Other\n\nShort other section."
    pieces = chunk(read_markdown(text.encode(), "d.md"), target=600, overlap=80)
    assert all(len(p.text) <= 600 for p in pieces)
    assert [p.index for p in pieces] == list(range(len(pieces)))
    assert pieces[-1].headings == ("Doc", "Other") and pieces[-1].text == "Short other section."
    assert pieces[1].text.startswith("… ")  # overlap with the previous chunk of the same section
    assert not pieces[-1].text.startswith("…")  # never across sections
    one_long = chunk(read_text(("A sentence here. " * 200).encode(), "t.txt"), target=500, overlap=0)
    assert len(one_long) > 5 and all(len(p.text) <= 500 for p in one_long)


def test_code_blocks_and_tables_stay_in_lines():
    line = "value = compute(x)  # a line of code with a comment"
    code = "\n".join([line] * 8 + [""] + [line] * 8 + [""] + [line] * 8)
    table = "| a | b |\n|---|---|\n" + "\n".join(f"| row {i} | {'v ' * 20}|" for i in range(30))
    doc = read_markdown(f"# G\n\n```python\n{code}\n```\n\n{table}\n".encode(), "g.md")
    assert [b.text.splitlines()[0] for b in doc.blocks] == ["```python", "| a | b |"]  # blank lines inside: one block
    assert doc.blocks[0].text == f"```python\n{code}\n```"
    chunks = chunk(doc, 400, 0)
    assert all(len(c.text) <= 400 for c in chunks) and len(chunks) > 4
    for c in chunks:  # cut at line ends: every line is a whole line of the source
        assert all(row in {line, "", "```python", "```", "| a | b |", "|---|---|"} or row.startswith("| row ")
                   and row.endswith("|") for row in c.text.splitlines()), c.text


def test_gitignore_rules(tmp_path):
    (tmp_path / ".gitignore").write_text("build/\n*.log\n!keep.log\n/top.md\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("secret*.md\n", encoding="utf-8")
    ignorer = Ignorer(tmp_path)
    ignorer.load(tmp_path / "sub")
    assert ignorer.ignored(tmp_path / "build", True) and ignorer.ignored(tmp_path / "x.log", False)
    assert not ignorer.ignored(tmp_path / "keep.log", False)
    assert ignorer.ignored(tmp_path / "top.md", False) and not ignorer.ignored(tmp_path / "sub" / "top.md", False)
    assert ignorer.ignored(tmp_path / "sub" / "secret-plan.md", False)
    assert not ignorer.ignored(tmp_path / "secret-plan.md", False)
    assert ignorer.ignored(tmp_path / ".git", True)


def make_tree(root: Path) -> None:
    (root / "docs" / "build").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".gitignore").write_text("docs/build/\n", encoding="utf-8")
    (root / "docs" / "guide.md").write_text(GUIDE, encoding="utf-8")
    (root / "docs" / "notes.txt").write_text("First note.\n\nSecond note about deploys.", encoding="utf-8")
    (root / "docs" / "page.html").write_text("<h1>Page</h1><p>The page body.</p>", encoding="utf-8")
    (root / "docs" / "build" / "generated.md").write_text("# Generated\n\nIgnored.", encoding="utf-8")
    (root / "docs" / "image.png").write_bytes(b"\x89PNG\x00\x00")


def test_find_files_respects_globs_and_gitignore(tmp_path):
    make_tree(tmp_path)
    names = [p.name for p in find_files([tmp_path], [".md", ".txt", ".html"])]
    assert names == ["guide.md", "notes.txt", "page.html"]
    assert [p.name for p in find_files([tmp_path], [".md"], include=["*.txt"])] == ["notes.txt"]
    assert [p.name for p in find_files([tmp_path], [".md", ".txt"], exclude=["notes*"])] == ["guide.md"]
    with pytest.raises(InvalidInputError, match="does not exist"):
        find_files([tmp_path / "nope"], [".md"])


async def test_ingest_is_idempotent_replaces_changed_files_and_prunes(service, tmp_path):
    make_tree(tmp_path)
    guide = tmp_path / "docs" / "guide.md"
    first = await service.ingest_document(guide.read_bytes(), "guide.md", str(guide), tags=["manual"],
                                          project="p")
    assert first.status == "stored" and first.new_chunks == first.chunks >= 4
    chunks = await service.storage.list_memories(Filter(metadata=(("source", str(guide)),)), 0, None)
    linux = next(m for m in chunks if m.metadata["headings"] == ["Guide", "Install", "Linux"])
    assert linux.memory_type == "document" and linux.project == "p"
    assert set(linux.tags) == {"guide.md", "document", "manual"} and linux.metadata["title"] == "Guide"
    assert linux.content.startswith("Guide — Install > Linux\n")
    assert source_text(linux) == f"{guide} > Guide > Install > Linux"
    again = await service.ingest_document(guide.read_bytes(), "guide.md", str(guide))
    assert again.status == "unchanged" and await service.count() == first.chunks
    guide.write_text(GUIDE.replace("Use PowerShell.", "Use PowerShell 7 or later."), encoding="utf-8")
    changed = await service.ingest_document(guide.read_bytes(), "guide.md", str(guide))
    assert changed.status == "updated" and changed.new_chunks == 1 and changed.outdated == 1
    assert await service.count() == first.chunks
    [outdated] = (await service.trash_list()).memories
    assert outdated.deleted_reason == "outdated" and "Use PowerShell." in outdated.content
    found = await service.retrieve("PowerShell version for Windows", 1, min_relevance=0.0)
    assert "PowerShell 7" in found[0].memory.content
    guide.unlink()
    pruned = await service.prune_documents([str(tmp_path / "docs")])
    assert [(p.status, p.outdated) for p in pruned] == [("pruned", first.chunks)]
    assert await service.count() == 0 and await service.storage.count(TRASH) == first.chunks + 1


async def test_a_failing_document_stores_nothing(service):
    result = await service.ingest_document(b"\x00\x01binary", "data.md", "/x/data.md")
    assert result.status == "error" and "binary" in result.error and await service.count() == 0
    result = await service.ingest_document(b"text", "data.xyz")
    assert result.status == "error" and "no reader for .xyz" in result.error
    small = MemoryService(service.storage, service.embedder, service.settings.with_changes(max_document_bytes=5))
    with pytest.raises(InvalidInputError, match="MCP_MEMORY_MAX_DOCUMENT_BYTES"):
        await small.ingest_document(b"x" * 10, "a.md")


def test_cli_ingest_dry_run_then_real_with_errors_per_file(capsys, test_plugin, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    make_tree(tmp_path)
    (tmp_path / "docs" / "latin.txt").write_bytes("caf\u00e9".encode("latin-1"))
    (tmp_path / "docs" / "empty.md").write_text("", encoding="utf-8")
    assert main(["ingest", str(tmp_path / "docs"), "--dry-run", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "3 would store" in out and "2 error" in out and "nothing written" in out
    assert "latin.txt: latin.txt is not UTF-8" in out and "empty.md: empty.md is empty" in out
    assert main(["stats", "--json"]) == 0 and json.loads(capsys.readouterr().out)["total_memories"] == 0
    code = main(["ingest", str(tmp_path / "docs"), "--quiet", "--json", "--tags", "team"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["errors"] == 2 and report["stored_chunks"] >= 6
    assert main(["retrieve", "deploys note", "--json", "--min-relevance", "0"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert any(r["memory"]["metadata"].get("source", "").endswith("notes.txt") for r in results)
    assert main(["retrieve", "deploys note"]) == 0
    assert "source: " in capsys.readouterr().out


async def test_mcp_ingest_is_limited_to_the_clients_roots(service, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_tree(tmp_path)
    outside = tmp_path.parent / f"{tmp_path.name}-outside.md"
    outside.write_text("# Secret\n\nNot to be read.", encoding="utf-8")

    async def get_service():
        return service

    async def roots(context):
        return types.ListRootsResult(roots=[types.Root(uri=(tmp_path / "docs").as_uri())])

    async with Client(build_server(get_service, settings), list_roots_callback=roots, mode="legacy") as client:
        res = await client.call_tool("ingest_document", {"path": str(tmp_path / "docs" / "guide.md")})
        assert not res.is_error and res.structured_content["files"][0]["status"] == "stored"
        res = await client.call_tool("ingest_document", {"path": "notes.txt"})  # relative to the first root
        assert not res.is_error and res.structured_content["stored_chunks"] == 1
        res = await client.call_tool("ingest_document", {"path": str(outside)})
        assert res.is_error and "outside the folders this server may read" in res.content[0].text
        res = await client.call_tool("ingest_document", {"path": str(tmp_path / "docs" / ".." / ".." / outside.name)})
        assert res.is_error
        res = await client.call_tool("retrieve_memory", {"query": "installer for Linux", "n_results": 1,
                                                         "min_relevance": 0.0})
        assert "source:" in res.content[0].text
    async with Client(build_server(get_service, settings)) as no_roots:
        res = await no_roots.call_tool("ingest_document", {"path": str(tmp_path / "docs" / "guide.md")})
        assert res.is_error and "MCP_MEMORY_INGEST_ROOTS" in res.content[0].text
    allowed = settings.with_changes(ingest_roots=(tmp_path,))
    async with Client(build_server(get_service, allowed)) as configured:
        res = await configured.call_tool("ingest_document", {"path": str(tmp_path / "docs")})
        assert not res.is_error and len(res.structured_content["files"]) == 3


def test_a_plugin_reader_adds_a_format(capsys, test_plugin, monkeypatch, tmp_path):
    from mcp_memory import plugins
    from mcp_memory.documents import Block, Document, DocumentReader
    from mcp_memory.hookspecs import hookimpl

    class Notes:
        """Reads ``.note`` files: one block per line, each line's first word its heading."""

        @hookimpl
        def memory_register_document_readers(self, register):
            def read(data, name, encoding):
                lines = data.decode("utf-8").splitlines()
                return Document("notes", [Block(line, (line.split()[0],)) for line in lines if line.strip()])
            register(DocumentReader(name="notes", suffixes=(".note",), read=read))

    plugins._override.register_object(Notes(), "notes")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    (tmp_path / "a.note").write_text("alpha first note\nbeta second note\n", encoding="utf-8")
    assert main(["ingest", str(tmp_path), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stored_chunks"] == 2 and report["files"][0]["status"] == "stored"
