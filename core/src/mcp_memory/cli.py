"""The ``memory`` command. With no subcommand it runs the stdio MCP server (as Claude Desktop calls it).

Exit codes: 0 success, 1 a failure reported on stderr in one line (bad input, unknown hash, broken
store ...), 2 a usage error (argparse). ``--json`` prints machine-readable output on stdout.
Reads cover the current project (``MCP_MEMORY_PROJECT``, else the git folder of the working directory) plus
global memories; ``--project NAME`` reads another, ``--all-projects`` every one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import __version__
from .config import Settings
from .errors import InvalidInputError, MemoryServiceError
from .inputs import GLOBAL, Scope
from .logging import configure_logging
from .models import Memory, QueryResult
from .projects import current_project
from .ranking import MODES
from .results import FileResult
from .threads import calm_blas_threads

Handler = Callable[[argparse.Namespace, Settings], int]

#: Commands that serve until stopped; they log at LOG_LEVEL (INFO by default). Others log warnings only
#: unless LOG_LEVEL or DEBUG_MODE is set.
LONG_RUNNING = {None, "serve", "http"}
#: the fields a line of ``memory import`` may have (what ``memory export`` writes, plus project)
IMPORT_FIELDS = frozenset({"content", "content_hash", "tags", "memory_type", "metadata", "created_at", "updated_at",
                           "project"})


# -- output helpers ----------------------------------------------------------------------------
def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """``data`` as JSON with ``--json``, else ``text``."""
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def memory_text(memory: Memory, score: float | None = None) -> str:
    """Two lines: the content (with the score first, if any), then hash prefix, date, tags, type, project."""
    head = f"[{score:.3f}] " if score is not None else ""
    details = [memory.content_hash[:12], memory.created_at_iso[:19].replace("T", " ")]
    if memory.tags:
        details.append("tags: " + ", ".join(memory.tags))
    if memory.memory_type:
        details.append(f"type: {memory.memory_type}")
    if memory.project:
        details.append(f"project: {memory.project}")
    from .ingest import source_text  # not at the top: every command (and each Claude Code hook) starts faster

    source = source_text(memory)
    if source:
        details.append(f"source: {source}")
    if memory.trashed:
        details.append(f"in trash ({memory.deleted_reason}) since {str(memory.to_dict()['deleted_at_iso'])[:19]}")
    return f"{head}{memory.content}\n    {'  '.join(details)}"


def _results_text(results: list[QueryResult], scope: Scope) -> str:
    if not results:
        return f"no memories found ({scope.describe()})"
    return "\n".join(memory_text(r.memory, r.relevance_score) for r in results)


def _memories_text(memories: list[Memory], empty: str = "no memories found") -> str:
    return "\n".join(memory_text(m) for m in memories) or empty


def run_with_service(coro_factory: Callable[..., Any], settings: Settings, coordinated: bool = False,
                     **open_kwargs: Any) -> Any:
    """Open the service, run one coroutine with it, close it.

    ``coordinated`` commands use a running ``memory http`` server when one serves the configured store (no model
    load in this process, and the server's live events fire); they never become the server themselves.
    """
    async def main() -> Any:
        if coordinated:
            from .coordination import detect

            service = await detect(settings.with_changes(MCP_MEMORY_HTTP_AUTO_START="false")).open()
        else:
            from .service import open_service

            service = await open_service(settings, **open_kwargs)
        try:
            return await coro_factory(service)
        finally:
            await service.close()

    return asyncio.run(main())


def scope_of(args: argparse.Namespace, settings: Settings) -> Scope:
    """The projects a command reads or writes: ``--project``/``--all-projects``, else the current project."""
    return Scope.of(current_project(settings, cwd=Path.cwd()), getattr(args, "project", None),
                    bool(getattr(args, "all_projects", False)))


# -- memory commands ---------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .mcp_server import run_stdio

    return run_stdio(settings)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from .ingest import find_files, known_suffixes
    from .plugins import get_plugin_manager
    from .progress import Progress
    from .results import IngestReport

    project = scope_of(args, settings).write_project
    suffixes = known_suffixes(get_plugin_manager(settings).registry.readers.values())
    files = find_files([Path(p) for p in args.paths], suffixes, args.include or (), args.exclude or ())
    report = IngestReport(dry_run=args.dry_run)

    async def work(service: Any) -> IngestReport:
        started = time.monotonic()
        with Progress("ingest", len(files), enabled=not args.quiet) as bar:
            for file in files:
                try:
                    data = file.read_bytes()
                except OSError as exc:
                    report.files.append(FileResult(str(file), "error", error=f"cannot read: {exc.strerror or exc}"))
                else:
                    report.files.append(await service.ingest_document(
                        data, file.name, str(file), tags=args.tags, project=project, dry_run=args.dry_run,
                        encoding=args.encoding, chunk_chars=args.chunk_chars, overlap=args.overlap))
                bar.advance(1)
        folders = [str(Path(p).expanduser().resolve()) for p in args.paths if Path(p).is_dir()]
        if args.prune and folders:
            report.files.extend(await service.prune_documents(folders, args.dry_run))
        report.seconds = round(time.monotonic() - started, 3)
        return report

    run_with_service(work, settings, coordinated=True)
    counts = {status: report.count(status) for status in dict.fromkeys(f.status for f in report.files)}
    chunks = sum(f.new_chunks for f in report.files)
    lines = [f"{len(report.files)} files in {report.seconds:.1f} s: "
             + (", ".join(f"{n} {status}" for status, n in counts.items()) or "nothing to read")
             + f"; {chunks} new chunks" + (" (dry run: nothing written)" if args.dry_run else "")]
    lines += [f"  error: {f.source}: {f.error}" for f in report.errors]
    if args.verbose:
        lines += [f"  {f.status:<11} {f.source} ({f.chunks} chunks)" for f in report.files if f.status != "error"]
    emit(args, report.to_dict(), "\n".join(lines))
    return 1 if report.errors else 0


def _metadata(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"--metadata is not valid JSON: {exc}") from None


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    scope = scope_of(args, settings)
    result = run_with_service(lambda s: s.store(args.text, tags=args.tags, memory_type=args.type,
                                                metadata=_metadata(args.metadata), project=scope.write_project,
                                                allow_near_duplicate=args.anyway), settings, coordinated=True)
    m = result.memory
    if result.near_duplicate:
        text = (f"not stored: {m.content_hash[:12]} says nearly the same (similarity {result.similarity:.2f}):\n"
                f"{memory_text(m)}\nadd --anyway to store it too")
    elif result.duplicate:
        text = f"duplicate of {m.content_hash}"
    else:
        where = f" in project {m.project}" if m.project else " (global)"
        text = f"{'restored from the trash' if result.restored else 'stored'} {m.content_hash}{where}"
    emit(args, result.to_dict(), text)
    return 1 if result.near_duplicate else 0


def cmd_retrieve(args: argparse.Namespace, settings: Settings) -> int:
    scope = scope_of(args, settings)
    results = run_with_service(lambda s: s.retrieve(args.query, n_results=args.n, tags=args.tags, memory_type=args.type,
                                                    min_relevance=args.min_relevance, mode=args.mode, scope=scope),
                               settings, coordinated=True)
    emit(args, {"scope": scope.describe(), "results": [r.to_dict() for r in results]}, _results_text(results, scope))
    return 0


def cmd_recall(args: argparse.Namespace, settings: Settings) -> int:
    scope = scope_of(args, settings)
    found = run_with_service(lambda s: s.recall(args.query, n_results=args.n, mode=args.mode, scope=scope), settings,
                             coordinated=True)
    data = {"results": [r.to_dict() for r in found.results], "start": found.start, "end": found.end,
            "time_expression": found.time_expression, "semantic_query": found.semantic_query}
    emit(args, data, _results_text(found.results, scope))
    return 0


def cmd_search_tag(args: argparse.Namespace, settings: Settings) -> int:
    scope = scope_of(args, settings)
    memories = run_with_service(lambda s: s.search_by_tag(args.tags, match_all=args.all, limit=args.limit, scope=scope),
                                settings, coordinated=True)
    emit(args, {"memories": [m.to_dict() for m in memories]}, _memories_text(memories))
    return 0


def cmd_get(args: argparse.Namespace, settings: Settings) -> int:
    memory = run_with_service(lambda s: s.get(args.content_hash), settings, coordinated=True)
    emit(args, memory.to_dict(), memory_text(memory))
    return 0


def cmd_update(args: argparse.Namespace, settings: Settings) -> int:
    changes: dict[str, Any] = {}
    if args.text is not None:
        changes["content"] = args.text
    if args.tags is not None:
        changes["tags"] = args.tags
    if args.type is not None:
        changes["memory_type"] = args.type
    if args.metadata is not None:
        changes["metadata"] = _metadata(args.metadata)
    if args.project is not None:
        changes["project"] = args.project
    if not changes:
        raise InvalidInputError("nothing to change: give --text, --tags, --type, --metadata and/or --project")
    updated = run_with_service(lambda s: s.update(args.content_hash, **changes), settings, coordinated=True)
    text = (f"updated: new text is {updated.memory.content_hash} (was {updated.previous}; `memory history` lists "
            "the versions)" if updated.previous else f"updated {updated.memory.content_hash}")
    emit(args, updated.to_dict(), text + "\n" + memory_text(updated.memory))
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    trashed = run_with_service(lambda s: s.delete(args.content_hash), settings, coordinated=True)
    h = trashed.hashes[0]
    emit(args, trashed.to_dict(), f"moved {h} to the trash; `memory trash restore {h[:12]}` brings it back")
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    versions = run_with_service(lambda s: s.history(args.content_hash), settings, coordinated=True)
    lines = [f"{'current' if i == 0 and not v.trashed else 'earlier'}: {memory_text(v)}"
             for i, v in enumerate(versions)]
    if len(versions) > 1:
        lines.append(f"`memory trash restore {versions[1].content_hash[:12]}` makes an earlier version current again")
    emit(args, {"versions": [v.to_dict() for v in versions]}, "\n".join(lines))
    return 0


def cmd_trash(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "list":
        page = run_with_service(lambda s: s.trash_list(page=args.page, page_size=args.page_size), settings,
                                coordinated=True)
        title = f"{page.total} in the trash (page {page.page}); memories stay {settings.trash_days} days" \
            if settings.trash_days else f"{page.total} in the trash (page {page.page})"
        emit(args, page.to_dict(), title + "\n" + _memories_text(page.memories, "the trash is empty"))
        return 0
    if args.action == "restore":
        if not args.hashes:
            raise InvalidInputError("give the hashes to restore (memory trash list shows them)")
        restored = run_with_service(lambda s: s.restore(args.hashes), settings, coordinated=True)
        emit(args, {"restored": [m.to_dict() for m in restored]},
             "restored:\n" + "\n".join(memory_text(m) for m in restored))
        return 0
    if not args.hashes and args.older_than is None:
        raise InvalidInputError("give the hashes to purge, or --older-than DAYS (0 empties the trash)")
    purged = run_with_service(lambda s: s.purge(args.hashes or None, args.older_than), settings, coordinated=True)
    emit(args, {"purged": purged}, f"deleted {purged} memories from the trash for good")
    return 0


def cmd_projects(args: argparse.Namespace, settings: Settings) -> int:
    projects = run_with_service(lambda s: s.projects(), settings, coordinated=True)
    current = current_project(settings, cwd=Path.cwd())
    width = max([len(name or GLOBAL) for name, _ in projects] + [10])
    lines = [f"{(name or '(global)'):<{width + 2}} {n:>8}{'  <- current' if name == current and name else ''}"
             for name, n in projects]
    if current is None:
        lines.append("no current project here (not in a git folder, MCP_MEMORY_PROJECT unset): reads cover all")
    emit(args, {"current": current, "projects": [{"project": p, "count": n} for p, n in projects]},
         "\n".join(lines) or "no memories yet")
    return 0


def _stats_text(stats: dict[str, Any]) -> str:
    """Stats as aligned ``name: value`` lines (lists joined, booleans as yes/no)."""
    def shown(value: Any) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value) or "-"
        if isinstance(value, dict):
            return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        return "-" if value is None else str(value)

    width = max((len(k) for k in stats), default=0)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {shown(v)}" for k, v in stats.items())


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = run_with_service(lambda s: s.stats(), settings, with_embedder=False)
    emit(args, stats, _stats_text(stats))
    return 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from .maintenance import health_report

    report = run_with_service(lambda s: health_report(s, settings), settings)
    emit(args, report, report.pop("text"))
    return 0 if report.get("status") == "healthy" else 1


def cmd_coordination(args: argparse.Namespace, settings: Settings) -> int:
    from .coordination import detect

    chosen = detect(settings)
    emit(args, {"mode": chosen.mode, "reason": chosen.reason}, f"{chosen.mode}: {chosen.reason}")
    return 0


def cmd_plugins(args: argparse.Namespace, settings: Settings) -> int:
    from .plugins import get_plugin_manager

    pm = get_plugin_manager(settings)
    reg = pm.registry
    pm.check_pending()
    data = {"loaded": [p.__dict__ for p in pm.loaded], "failed": [f.to_dict() for f in pm.failed],
            "skipped": pm.skipped, "storage_backends": sorted(reg.storages), "embedders": sorted(reg.embedders),
            "migrators": sorted(reg.migrators), "commands": sorted(reg.commands)}
    lines = [f"mcp-memory-core {__version__}"]
    for p in pm.loaded:
        lines.append(f"  {p.name:<24} {p.distribution} {p.version}  hooks: {', '.join(p.hooks) or '-'}")
    for name in pm.skipped:
        lines.append(f"  {name:<24} disabled by MCP_MEMORY_PLUGINS / MCP_MEMORY_DISABLE_PLUGINS")
    for f in pm.failed:
        lines.append(f"  FAILED {f.name} ({f.distribution} {f.version}, {f.stage}): {f.error}\n         fix: {f.fix}")
    lines.append(f"storage backends: {', '.join(sorted(reg.storages)) or 'none (pip install mcp-memory-sqlite-vec)'}"
                 f" (selected: {settings.storage_backend})")
    default = max(reg.embedders.values(), key=lambda e: (e.priority, e.name)).name if reg.embedders else None
    lines.append(f"embedders: {', '.join(sorted(reg.embedders)) or 'none (pip install mcp-memory-onnx)'}"
                 + (f" (selected: {settings.embedder or default})" if default else ""))
    emit(args, data, "\n".join(lines))
    return 1 if pm.failed else 0


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    from .config import describe
    from .plugins import get_plugin_manager

    rows = describe(settings, get_plugin_manager(settings).setting_groups())
    data = [{"owner": owner, "variable": r.setting.env, "value": r.shown(), "source": r.source,
             "secret": r.setting.secret, "help": r.setting.help} for owner, r in rows]
    width = max((len(r.setting.env) for _, r in rows), default=0)
    lines = [f"config file: {settings.config_file or '(none)'}"]
    owner_seen = None
    for owner, r in rows:
        if owner != owner_seen:
            lines.append(f"[{owner}]")
            owner_seen = owner
        lines.append(f"  {r.setting.env:<{width}}  {r.shown() or '-':<30}  ({r.source})")
    emit(args, data, "\n".join(lines))
    return 0


# -- JSONL import / export ---------------------------------------------------------------------
def _read_jsonl(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """Parse a JSONL file into (line number, object) pairs and one error message per bad line."""
    items: list[tuple[int, dict[str, Any]]] = []
    errors: list[str] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                errors.append(f"line {number}: invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                errors.append(f"line {number}: expected a JSON object, got {type(obj).__name__}")
                continue
            unknown = sorted(set(obj) - IMPORT_FIELDS)
            if unknown:
                errors.append(f"line {number}: unknown field(s) {', '.join(unknown)} (known: "
                              f"{', '.join(sorted(IMPORT_FIELDS))})")
                continue
            items.append((number, obj))
    return items, errors


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    if args.format == "jsonl":
        return _import_jsonl(args, settings)
    return _import_source(args, settings)


def _import_jsonl(args: argparse.Namespace, settings: Settings) -> int:
    """One JSON object a line, stored in batches (exact duplicates are skipped)."""
    from .progress import Progress
    from .service import NewMemory

    path = Path(args.file)
    items, errors = _read_jsonl(path)
    default_project = scope_of(args, settings).write_project

    async def work(service: Any) -> dict[str, int]:
        counts = {"imported": 0, "duplicates": 0}
        with Progress(f"import {path.name}", len(items), enabled=not args.quiet) as bar:
            for start in range(0, len(items), args.batch_size):
                batch = []
                for number, obj in items[start:start + args.batch_size]:
                    try:
                        project = obj["project"] if "project" in obj else default_project
                        batch.append(service.prepare(NewMemory(obj.get("content"), obj.get("tags"),
                                                               obj.get("memory_type"), obj.get("metadata"),
                                                               obj.get("created_at"), project)))
                    except MemoryServiceError as exc:
                        errors.append(f"line {number}: {exc}")
                if args.dry_run:
                    for memory in batch:
                        known = await service.storage.get_by_hash(memory.content_hash, trashed=None)
                        counts["duplicates" if known is not None else "imported"] += 1
                else:
                    for result in await service.store_prepared(batch):
                        counts["duplicates" if result.duplicate else "imported"] += 1
                bar.advance(len(items[start:start + args.batch_size]))
        return counts

    counts = run_with_service(work, settings)
    for message in errors:
        print(f"{path}: {message}", file=sys.stderr)
    summary = {**counts, "errors": len(errors), "error_lines": errors, "dry_run": args.dry_run}
    verb = "would import" if args.dry_run else "imported"
    emit(args, summary, f"{verb} {counts['imported']}, duplicates {counts['duplicates']}, errors {len(errors)}")
    return 1 if errors else 0


def _import_source(args: argparse.Namespace, settings: Settings) -> int:
    """A format a plugin registers as a migration source (transcripts, other products' exports): each record
    goes through the same checks as ``memory store``, near-duplicates included; ``--dry-run`` lists them."""
    from .migration import open_source
    from .progress import Progress

    async def work(service: Any) -> dict[str, Any]:
        source = await open_source(settings, args.format, args.file)
        outcome: dict[str, Any] = {"imported": 0, "duplicates": 0, "near_duplicates": 0, "memories": []}
        seen: set[str] = set()  # a dry run stores nothing: repeats within the file are found here
        try:
            with Progress(f"import {Path(args.file).name}", source.count, enabled=not args.quiet) as bar:
                async for batch in source.batches():
                    for memory, _ in batch:
                        result = await service.store_memory(memory, dry_run=args.dry_run)
                        key = "near_duplicates" if result.near_duplicate else \
                            "duplicates" if result.duplicate or memory.content_hash in seen else "imported"
                        seen.add(memory.content_hash)
                        outcome[key] += 1
                        if key == "imported" and args.dry_run:
                            outcome["memories"].append(memory.to_dict())
                    bar.advance(len(batch))
            outcome["skipped"] = source.skipped()
        finally:
            await source.close()
        return outcome

    outcome = run_with_service(work, settings)
    verb = "would import" if args.dry_run else "imported"
    lines = [f"{verb} {outcome['imported']}, duplicates {outcome['duplicates']}, near-duplicates "
             f"{outcome['near_duplicates']}, skipped {len(outcome['skipped'])}"]
    lines += [f"  + {m['content'][:160]}" + (f"  [{', '.join(m['tags'])}]" if m["tags"] else "")
              for m in outcome["memories"]]
    lines += [f"  skipped: {reason}" for reason in outcome["skipped"][:20]]
    emit(args, outcome, "\n".join(lines))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from .progress import Progress

    to_stdout = args.file == "-"
    path = Path(args.file)

    async def work(service: Any) -> int:
        total = await service.count(Scope(everything=True))
        written = 0
        tmp = path.with_name(path.name + ".partial")
        with (contextlib.nullcontext(sys.stdout) if to_stdout else tmp.open("w", encoding="utf-8")) as out, \
                Progress(f"export {'to stdout' if to_stdout else path.name}", total, enabled=not args.quiet) as bar:
            async for batch in service.iter_memories():
                live = [m for m, _ in batch if not m.trashed]
                for memory in live:
                    record = {"content": memory.content, "content_hash": memory.content_hash,
                              "tags": memory.tags, "memory_type": memory.memory_type,
                              "metadata": memory.metadata, "project": memory.project,
                              "created_at": memory.created_at_iso, "updated_at": memory.updated_at_iso}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += len(live)
                bar.advance(len(live))
        if not to_stdout:
            tmp.replace(path)
        return written

    try:
        written = run_with_service(work, settings, with_embedder=False)
    except BrokenPipeError:
        raise  # the reader of stdout went away: main() ends quietly
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if to_stdout:  # stdout carries the memories: the summary goes to stderr
        print(f"exported {written} memories", file=sys.stderr)
        return 0
    emit(args, {"exported": written, "file": str(path)}, f"exported {written} memories to {path}")
    return 0


# -- parser ------------------------------------------------------------------------------------
def _tags(value: str) -> list[str]:
    return [t for t in value.split(",")]


def _scope_flags(p: argparse.ArgumentParser, read: bool = True) -> None:
    p.add_argument("--project", help='project name instead of the current one ("global": no project)')
    if read:
        p.add_argument("--all-projects", action="store_true", help="read every project")


def build_parser(plugin_commands: dict[str, Any] | None = None,
                 on_conflict: Callable[[str], None] | None = None) -> argparse.ArgumentParser:
    """The argument parser; plugin commands come last, and one named like a core command is left out (and
    reported to ``on_conflict``)."""
    parser = argparse.ArgumentParser(
        prog="memory",
        description="Long-term memory for AI assistants. With no command: run the MCP server on stdio.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-memory {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    add("serve", cmd_serve, "run the MCP server on stdio (the default)", json_flag=False)
    p = add("store", cmd_store, "store a memory (in the current project)")
    p.add_argument("text")
    p.add_argument("--tags", type=_tags, help="comma-separated tags")
    p.add_argument("--type", help="memory type, e.g. note, decision, fact")
    p.add_argument("--metadata", help="metadata as a JSON object")
    p.add_argument("--anyway", action="store_true", help="store even if a near-duplicate exists")
    _scope_flags(p, read=False)
    p = add("retrieve", cmd_retrieve, "search by meaning and words")
    p.add_argument("query")
    p.add_argument("-n", type=int, default=5, help="number of results (default 5)")
    p.add_argument("--tags", type=_tags, help="only memories with any of these tags")
    p.add_argument("--type", help="only memories of this type")
    p.add_argument("--min-relevance", type=float, help="drop weaker results (default MCP_MEMORY_MIN_RELEVANCE)")
    p.add_argument("--mode", choices=MODES, help="hybrid (default), semantic or lexical")
    _scope_flags(p)
    p = add("recall", cmd_recall, "time-aware recall, e.g. 'what did I decide last week'")
    p.add_argument("query")
    p.add_argument("-n", type=int, default=5, help="number of results (default 5)")
    p.add_argument("--mode", choices=MODES, help="hybrid (default), semantic or lexical")
    _scope_flags(p)
    p = add("search-tag", cmd_search_tag, "memories carrying any (or --all) of the tags, newest first")
    p.add_argument("tags", nargs="+")
    p.add_argument("--all", action="store_true", help="require every tag")
    p.add_argument("--limit", type=int, default=50, help="newest this many (default 50)")
    _scope_flags(p)
    p = add("get", cmd_get, "show one memory (a hash or a unique prefix of 8+ characters)")
    p.add_argument("content_hash")
    p = add("update", cmd_update, "change a memory's text, tags, type, metadata or project")
    p.add_argument("content_hash")
    p.add_argument("--text", help="new text (the old version stays in the history)")
    p.add_argument("--tags", type=_tags, help="replace the tags")
    p.add_argument("--type", help="new memory type")
    p.add_argument("--metadata", help="JSON object merged into the metadata")
    p.add_argument("--project", help='move it to this project ("global": no project)')
    p = add("delete", cmd_delete, "move a memory to the trash (a hash or a unique prefix of 8+ characters)")
    p.add_argument("content_hash")
    p = add("history", cmd_history, "the versions of an edited memory, newest first")
    p.add_argument("content_hash")
    p = add("trash", cmd_trash, "list, restore or purge deleted memories")
    p.add_argument("action", choices=("list", "restore", "purge"))
    p.add_argument("hashes", nargs="*", help="hashes or prefixes (restore, purge)")
    p.add_argument("--older-than", type=float, metavar="DAYS", help="purge: everything deleted this long ago")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--page-size", type=int, default=20)
    add("projects", cmd_projects, "projects with their number of memories")
    add("stats", cmd_stats, "database statistics")
    add("health", cmd_health, "health of store, embedder, plugins and coordination")
    add("coordination", cmd_coordination, "print the coordination mode this process would use, and why")
    add("plugins", cmd_plugins, "installed plugins, versions, hooks and failures")
    add("config", cmd_config, "every setting with its value and where it comes from (secrets masked)")
    p = add("import", cmd_import, "import memories: JSONL (one JSON object a line), or a format a plugin adds")
    p.add_argument("file")
    p.add_argument("--format", default="jsonl", help="jsonl (default), or a source a plugin registers "
                                                     "(memory plugins lists them: claude-code, chatgpt-export...)")
    p.add_argument("--dry-run", action="store_true", help="check and show what would be stored; write nothing")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--project", help="project of lines without one (default: the current project)")
    p = add("ingest", cmd_ingest, "read documents into memory (Markdown, text, HTML; PDF with the pdf plugin)")
    p.add_argument("paths", nargs="+", help="files and folders (folders: every readable file, .gitignore respected)")
    p.add_argument("--include", action="append", metavar="GLOB", help="only files matching (repeatable)")
    p.add_argument("--exclude", action="append", metavar="GLOB", help="skip files matching (repeatable)")
    p.add_argument("--tags", type=_tags, help="tags added to every chunk (the file name is always a tag)")
    p.add_argument("--prune", action="store_true", help="trash the chunks of files gone from these folders")
    p.add_argument("--dry-run", action="store_true", help="read and chunk, write nothing")
    p.add_argument("--encoding", help="encoding of text files that are not UTF-8 (latin-1, cp1252 ...)")
    p.add_argument("--chunk-chars", type=int, help="target chunk size in characters (default 800)")
    p.add_argument("--overlap", type=int, help="characters repeated between chunks of a section (default 100)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="one line per file")
    _scope_flags(p, read=False)
    p = add("export", cmd_export, "export every live memory to JSONL")
    p.add_argument("file", help="the JSONL file to write; - for standard output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from .cli_maintenance import add_commands

    add_commands(add)  # migrate, backup, restore, verify, optimize, reembed

    for name, command in sorted((plugin_commands or {}).items()):
        if name in sub.choices:
            if on_conflict is not None:
                on_conflict(name)
            continue
        p = sub.add_parser(name, help=command.help, description=command.help)
        command.configure(p)
        p.set_defaults(handler=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    calm_blas_threads()  # before any plugin imports numpy
    argv = sys.argv[1:] if argv is None else argv
    try:
        settings = Settings.from_env()
    except MemoryServiceError as exc:
        print(f"memory: configuration error: {exc}", file=sys.stderr)
        return 1
    configure_logging(settings.log_level, settings.debug)
    from .plugins import get_plugin_manager

    pm = get_plugin_manager(settings)

    def conflict(name: str) -> None:
        pm.record_failure(pm.owner("command", name) or "?", f"registers the command {name!r}, which the core "
                          "already has; it is ignored", "memory_register_cli")

    parser = build_parser(pm.registry.commands, conflict)
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", cmd_serve)
    if args.command not in LONG_RUNNING and not ({"LOG_LEVEL", "DEBUG_MODE"} & os.environ.keys()):
        configure_logging("WARNING")  # one-shot commands: only their answer, warnings and errors
    try:
        return handler(args, settings)
    except MemoryServiceError as exc:
        print(f"memory: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("memory: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``memory export - | head``): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141


if __name__ == "__main__":
    sys.exit(main())
