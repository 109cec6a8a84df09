"""The CLI in-process against the in-memory test plugin (the core alone, no real store)."""

import json

import pytest

from mcp_memory.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def outside_git(tmp_path, monkeypatch):
    """Run from a folder outside any git repository: no current project unless a test sets one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MCP_MEMORY_PROJECT", raising=False)


@pytest.fixture
def cli(test_plugin, monkeypatch):
    monkeypatch.setenv("MCP_MEMORY_STORAGE_BACKEND", "memory")
    monkeypatch.setenv("MCP_MEMORY_EMBEDDER", "hash")
    monkeypatch.setenv("MCP_MEMORY_DUPLICATE_THRESHOLD", "off")
    return test_plugin


def test_plugins_without_any_store_says_so(capsys, monkeypatch):
    from mcp_memory import plugins

    monkeypatch.setenv("MCP_MEMORY_PLUGINS", "nothing-at-all")
    monkeypatch.setattr(plugins, "_managers", {})
    code, out, _ = run(capsys, "plugins")
    assert code == 0 and "none (pip install mcp-memory-sqlite-vec)" in out
    assert "none (pip install mcp-memory-onnx)" in out


def test_store_retrieve_search_delete(capsys, cli):
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
    code, out, _ = run(capsys, "delete", stored["content_hash"][:12])
    assert code == 0 and "trash" in out and f"memory trash restore {stored['content_hash'][:12]}" in out
    code, _, err = run(capsys, "delete", stored["content_hash"])
    assert code == 1 and "no memory with content_hash" in err and err.count("\n") == 1


def test_bad_input_gives_one_line_and_nonzero(capsys, cli, monkeypatch):
    code, _, err = run(capsys, "store", "   ")
    assert code == 1 and "content is empty" in err
    code, _, err = run(capsys, "store", "x", "--metadata", "{broken")
    assert code == 1 and "--metadata is not valid JSON" in err
    monkeypatch.setenv("MCP_MEMORY_MAX_RESULTS", "bogus")
    code, _, err = run(capsys, "stats")
    assert code == 1 and "MCP_MEMORY_MAX_RESULTS must be an integer" in err and err.count("\n") == 1


def test_import_reports_bad_lines_and_imports_the_rest(capsys, cli, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"content": "first", "tags": ["a"], "created_at": "2023-05-08T13:56:00+00:00"}),
        "{not json",
        json.dumps({"content": ""}),
        json.dumps([1, 2]),
        json.dumps({"content": "second", "metadata": {"id": "D1:2"}, "memory_type": "conversation"}),
        json.dumps({"content": "FIRST"}),
        json.dumps({"content": "typo", "tag": ["x"]}),
    ]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "import", str(src), "--json", "--quiet")
    summary = json.loads(out)
    assert code == 1
    assert (summary["imported"], summary["duplicates"], summary["errors"]) == (2, 1, 4)
    assert "line 2: invalid JSON" in err and "line 3: content is empty" in err and "line 4:" in err
    assert "line 7: unknown field(s) tag" in err
    dst = tmp_path / "out.jsonl"
    code, out, _ = run(capsys, "export", str(dst), "--quiet")
    assert code == 0
    rows = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert [r["content"] for r in rows] == ["first", "second"]
    assert rows[0]["created_at"] == "2023-05-08T13:56:00Z" and rows[1]["metadata"] == {"id": "D1:2"}
    code, out, err = run(capsys, "export", "-", "--quiet")
    assert code == 0 and [json.loads(line) for line in out.splitlines()] == rows
    assert "exported 2 memories" in err and not (tmp_path / "-").exists()


def test_import_missing_file(capsys, cli, tmp_path):
    code, _, err = run(capsys, "import", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "cannot read" in err


def test_retrieve_mode_is_passed_and_checked(capsys, cli):
    run(capsys, "store", "Lisbon is sunny in June")
    code, out, _ = run(capsys, "retrieve", "sunny Lisbon", "--mode", "semantic", "--json")
    assert code == 0 and json.loads(out)["results"][0]["memory"]["content"] == "Lisbon is sunny in June"
    with pytest.raises(SystemExit):
        main(["retrieve", "x", "--mode", "fuzzy"])


def test_trash_history_and_update(capsys, cli):
    stored = json.loads(run(capsys, "store", "the launch is in May", "--json")[1])
    h = stored["content_hash"]
    code, out, _ = run(capsys, "update", h[:10], "--text", "the launch is in June")
    assert code == 0 and "was " + h in out and "memory history" in out
    new = json.loads(run(capsys, "retrieve", "launch", "--json", "--min-relevance", "0")[1])["results"]
    assert [r["memory"]["content"] for r in new] == ["the launch is in June"]
    code, out, _ = run(capsys, "history", new[0]["memory"]["content_hash"][:12])
    assert code == 0 and out.index("June") < out.index("May") and "earlier" in out
    run(capsys, "delete", new[0]["memory"]["content_hash"])
    code, out, _ = run(capsys, "trash", "list")
    assert code == 0 and "2 in the trash" in out and "deleted" in out and "edited" in out
    code, out, _ = run(capsys, "trash", "restore", new[0]["memory"]["content_hash"][:12])
    assert code == 0 and "June" in out
    code, _, err = run(capsys, "trash", "purge")
    assert code == 1 and "--older-than" in err
    code, out, _ = run(capsys, "trash", "purge", "--older-than", "0")
    assert code == 0 and "deleted 0 memories" in out  # an earlier version is history, kept unless named
    code, out, _ = run(capsys, "trash", "purge", h[:12])
    assert code == 0 and "deleted 1 memories" in out


def test_projects_scope_reads_and_writes(capsys, cli, monkeypatch):
    monkeypatch.setenv("MCP_MEMORY_PROJECT", "api")
    run(capsys, "store", "api uses postgres")
    run(capsys, "store", "a global preference", "--project", "global")
    run(capsys, "store", "web uses react", "--project", "web")
    found = json.loads(run(capsys, "retrieve", "uses", "--json", "--min-relevance", "0")[1])
    assert {r["memory"]["content"] for r in found["results"]} == {"api uses postgres", "a global preference"}
    assert found["scope"] == "project api and global memories"
    every = json.loads(run(capsys, "retrieve", "uses", "--json", "--all-projects", "--min-relevance", "0")[1])
    assert len(every["results"]) == 3
    code, out, _ = run(capsys, "projects")
    assert code == 0 and "api" in out and "<- current" in out and "(global)" in out and "web" in out


def test_stats_and_health_read_as_text(capsys, cli):
    run(capsys, "store", "something", "--tags", "a,b")
    code, out, _ = run(capsys, "stats")
    assert code == 0 and "total memories" in out and "[" not in out and "True" not in out
    code, out, _ = run(capsys, "health")
    assert code == 0 and out.startswith("status: healthy") and "{" not in out
    code, out, _ = run(capsys, "health", "--json")
    assert json.loads(out)["status"] == "healthy"


def test_config_lists_every_setting_with_its_source(capsys, cli, monkeypatch):
    code, out, _ = run(capsys, "config")
    assert code == 0 and "[core]" in out and "MCP_MEMORY_STORAGE_BACKEND" in out and "(environment)" in out
    rows = json.loads(run(capsys, "config", "--json")[1])
    by_name = {r["variable"]: r for r in rows}
    embedder = by_name["MCP_MEMORY_EMBEDDER"]
    assert embedder["value"] == "hash" and embedder["source"] == "environment"
    assert by_name["MCP_MEMORY_TRASH_DAYS"]["source"] == "default"


def test_import_from_a_plugin_format_with_dry_run(capsys, cli, tmp_path):
    from mcp_memory import plugins
    from mcp_memory.hookspecs import hookimpl
    from mcp_memory.models import Memory
    from mcp_memory.registration import MigrationSource

    class Lines:
        """A toy transcript format: one memory per non-empty line, tagged auto-captured."""

        def __init__(self, location):
            self.lines = [line for line in open(location, encoding="utf-8").read().splitlines() if line.strip()]
            self.count = len(self.lines)

        async def _batches(self):
            yield [(Memory.create(line, tags=["auto-captured"], project="demo"), None) for line in self.lines]

        def __aiter__(self):
            return self._batches()

    class Format:
        @hookimpl
        def memory_register_migrators(self, register):
            register(MigrationSource(name="lines", open=Lines))

    plugins._override.register_object(Format(), "lines")
    src = tmp_path / "talk.txt"
    src.write_text("we decided to use postgres\nthe user prefers dark mode\nwe decided to use postgres\n",
                   encoding="utf-8")
    code, out, _ = run(capsys, "import", str(src), "--format", "lines", "--dry-run")
    assert code == 0 and "would import 2, duplicates 1" in out and "+ the user prefers dark mode" in out
    assert json.loads(run(capsys, "stats", "--json")[1])["total_memories"] == 0
    code, out, _ = run(capsys, "import", str(src), "--format", "lines", "--json")
    summary = json.loads(out)
    assert code == 0 and (summary["imported"], summary["duplicates"]) == (2, 1)
    found = json.loads(run(capsys, "search-tag", "auto-captured", "--all-projects", "--json")[1])["memories"]
    assert {m["project"] for m in found} == {"demo"} and len(found) == 2
