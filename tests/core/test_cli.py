"""The CLI in-process against the in-memory test plugin (the core alone, no real store)."""

import json

import pytest

from mcp_memory.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plugins_without_any_store_says_so(capsys, monkeypatch):
    from mcp_memory import plugins

    monkeypatch.setenv("MCP_MEMORY_PLUGINS", "nothing-at-all")
    monkeypatch.setattr(plugins, "_default", None)
    code, out, _ = run(capsys, "plugins")
    assert code == 0 and "no store is installed" in out and "no embedder is installed" in out
    monkeypatch.setattr(plugins, "_default", None)


def test_store_retrieve_search_delete(capsys, test_plugin, monkeypatch):
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    code, out, _ = run(capsys, "store", "Paris is the capital of France", "--tags", "geo,Europe", "--json")
    assert code == 0
    stored = json.loads(out)
    assert stored["duplicate"] is False and stored["memory"]["tags"] == ["geo", "europe"]
    code, out, _ = run(capsys, "store", "paris is the capital of france")
    assert code == 0 and out.startswith("duplicate of")
    code, out, _ = run(capsys, "retrieve", "capital of France", "--json")
    assert json.loads(out)["results"][0]["memory"]["content"] == "Paris is the capital of France"
    code, out, _ = run(capsys, "search-tag", "geo", "missing", "--all", "--json")
    assert json.loads(out)["memories"] == []
    code, out, _ = run(capsys, "delete", stored["content_hash"])
    assert code == 0
    code, _, err = run(capsys, "delete", stored["content_hash"])
    assert code == 1 and "no memory with content_hash" in err and err.count("\n") == 1


def test_bad_input_gives_one_line_and_nonzero(capsys, test_plugin, monkeypatch):
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    code, _, err = run(capsys, "store", "   ")
    assert code == 1 and "content is empty" in err
    code, _, err = run(capsys, "store", "x", "--metadata", "{broken")
    assert code == 1 and "--metadata is not valid JSON" in err
    monkeypatch.setenv("MCP_MEMORY_SQLITE_PRAGMAS", "bogus")
    code, _, err = run(capsys, "stats")
    assert code == 1 and "MCP_MEMORY_SQLITE_PRAGMAS" in err


def test_import_reports_bad_lines_and_imports_the_rest(capsys, test_plugin, monkeypatch, tmp_path):
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"content": "first", "tags": ["a"], "created_at": "2023-05-08T13:56:00+00:00"}),
        "{not json",
        json.dumps({"content": ""}),
        json.dumps([1, 2]),
        json.dumps({"content": "second", "metadata": {"id": "D1:2"}, "memory_type": "conversation"}),
        json.dumps({"content": "FIRST"}),
    ]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "import", str(src), "--json", "--quiet")
    summary = json.loads(out)
    assert code == 1
    assert (summary["imported"], summary["duplicates"], summary["errors"]) == (2, 1, 3)
    assert "line 2: invalid JSON" in err and "line 3: content is empty" in err and "line 4:" in err
    dst = tmp_path / "out.jsonl"
    code, out, _ = run(capsys, "export", str(dst), "--quiet")
    assert code == 0
    rows = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [r["content"] for r in rows] == ["first", "second"]
    assert rows[0]["created_at"] == "2023-05-08T13:56:00Z" and rows[1]["metadata"] == {"id": "D1:2"}


def test_import_missing_file(capsys, test_plugin, monkeypatch, tmp_path):
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    code, _, err = run(capsys, "import", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "cannot read" in err


def test_retrieve_mode_is_passed_and_checked(capsys, test_plugin, monkeypatch):
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    run(capsys, "store", "Lisbon is sunny in June")
    code, out, _ = run(capsys, "retrieve", "sunny Lisbon", "--mode", "semantic", "--json")
    assert code == 0 and json.loads(out)["results"][0]["memory"]["content"] == "Lisbon is sunny in June"
    with pytest.raises(SystemExit):
        main(["retrieve", "x", "--mode", "fuzzy"])
