"""The ``memory`` command. With no subcommand it runs the stdio MCP server (as Claude Desktop calls it).

Exit codes: 0 success, 1 a failure reported on stderr in one line (bad input, unknown hash, broken
store ...), 2 a usage error (argparse). ``--json`` prints machine-readable output on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from . import __version__
from .config import Settings
from .errors import InvalidInputError, MemoryServiceError
from .logging import configure_logging
from .models import Memory, QueryResult
from .ranking import MODES

Handler = Callable[[argparse.Namespace, Settings], int]

#: Commands that serve until stopped; they log at LOG_LEVEL (INFO by default). Others log warnings only
#: unless LOG_LEVEL or DEBUG_MODE is set.
LONG_RUNNING = {None, "serve", "http"}


# -- output helpers ----------------------------------------------------------------------------
def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(text)


def _line(memory: Memory, score: float | None = None) -> str:
    head = f"[{score:.3f}] " if score is not None else ""
    tags = f"  tags: {', '.join(memory.tags)}" if memory.tags else ""
    kind = f"  type: {memory.memory_type}" if memory.memory_type else ""
    return f"{head}{memory.content}\n    {memory.content_hash[:12]}  {memory.created_at_iso}{tags}{kind}"


def _results_text(results: list[QueryResult]) -> str:
    return "\n".join(_line(r.memory, r.relevance_score) for r in results) or "no memories found"


def _memories_text(memories: list[Memory]) -> str:
    return "\n".join(_line(m) for m in memories) or "no memories found"


def _run(coro_factory: Callable[..., Any], settings: Settings, coordinated: bool = False, **open_kwargs: Any) -> Any:
    """Open the service, run one coroutine with it, close it.

    ``coordinated`` commands use a running ``memory http`` server when one answers (no model load in this
    process, and the server's live events fire); they never become the server themselves.
    """
    from .coordination import detect
    from .service import open_service

    async def main() -> Any:
        if coordinated:
            service = await detect(settings.with_changes(http_auto_start=False)).open()
        else:
            service = await open_service(settings, **open_kwargs)
        try:
            return await coro_factory(service)
        finally:
            await service.close()

    return asyncio.run(main())


# -- commands ----------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .mcp_server import run_stdio

    return run_stdio(settings)


def cmd_store(args: argparse.Namespace, settings: Settings) -> int:
    metadata = None
    if args.metadata:
        try:
            metadata = json.loads(args.metadata)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"--metadata is not valid JSON: {exc}") from None
    result = _run(lambda s: s.store(args.text, tags=args.tags, memory_type=args.type, metadata=metadata), settings, coordinated=True)
    verb = "duplicate of" if result.duplicate else "stored"
    _emit(args, result.to_dict(), f"{verb} {result.memory.content_hash}")
    return 0


def cmd_retrieve(args: argparse.Namespace, settings: Settings) -> int:
    results = _run(lambda s: s.retrieve(args.query, n_results=args.n, tags=args.tags, memory_type=args.type,
                                        min_relevance=args.min_relevance, mode=args.mode), settings, coordinated=True)
    _emit(args, {"results": [r.to_dict() for r in results]}, _results_text(results))
    return 0


def cmd_recall(args: argparse.Namespace, settings: Settings) -> int:
    found = _run(lambda s: s.recall(args.query, n_results=args.n, mode=args.mode), settings, coordinated=True)
    data = {"results": [r.to_dict() for r in found.results], "start": found.start, "end": found.end,
            "time_expression": found.time_expression, "semantic_query": found.semantic_query}
    _emit(args, data, _results_text(found.results))
    return 0


def cmd_search_tag(args: argparse.Namespace, settings: Settings) -> int:
    memories = _run(lambda s: s.search_by_tag(args.tags, match_all=args.all), settings, coordinated=True)
    _emit(args, {"memories": [m.to_dict() for m in memories]}, _memories_text(memories))
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    _run(lambda s: s.delete(args.content_hash), settings, coordinated=True)
    _emit(args, {"deleted": args.content_hash}, f"deleted {args.content_hash}")
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = _run(lambda s: s.stats(), settings, with_embedder=False)
    _emit(args, stats, "\n".join(f"{k}: {v}" for k, v in stats.items()))
    return 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    report = _run(lambda s: s.health(), settings)
    _emit(args, report, json.dumps(report, indent=2, default=str))
    return 0 if report.get("status") == "healthy" else 1


def cmd_coordination(args: argparse.Namespace, settings: Settings) -> int:
    from .coordination import detect

    chosen = detect(settings)
    _emit(args, {"mode": chosen.mode, "reason": chosen.reason}, f"{chosen.mode}: {chosen.reason}")
    return 0


def cmd_plugins(args: argparse.Namespace, settings: Settings) -> int:
    from .plugins import get_plugin_manager

    pm = get_plugin_manager(settings)
    reg = pm.registry
    data = {
        "loaded": [p.__dict__ for p in pm.loaded],
        "failed": [f.__dict__ for f in pm.failed],
        "skipped": pm.skipped,
        "storage_backends": sorted(reg.storages),
        "embedders": sorted(reg.embedders),
        "migrators": sorted(reg.migrators),
        "commands": sorted(reg.cli_commands),
    }
    lines = [f"mcp-memory-core {__version__}"]
    for p in pm.loaded:
        lines.append(f"  {p.name:<24} {p.distribution} {p.version}  hooks: {', '.join(p.hooks) or '-'}")
    for f in pm.failed:
        lines.append(f"  {f.name:<24} {f.distribution} {f.version}  FAILED: {f.error}")
    for name in pm.skipped:
        lines.append(f"  {name:<24} disabled by MCP_MEMORY_PLUGINS / MCP_MEMORY_DISABLE_PLUGINS")
    if not reg.storages:
        lines.append("no store is installed: pip install mcp-memory-sqlite-vec")
    else:
        lines.append(f"storage backends: {', '.join(sorted(reg.storages))} (selected: {settings.storage_backend})")
    if not reg.embedders:
        lines.append("no embedder is installed: pip install mcp-memory-sentence-transformers")
    else:
        lines.append(f"embedders: {', '.join(sorted(reg.embedders))}")
    _emit(args, data, "\n".join(lines))
    return 0


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
            items.append((number, obj))
    return items, errors


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from .progress import Progress
    from .service import NewMemory

    path = Path(args.file)
    items, errors = _read_jsonl(path)

    async def work(service: Any) -> dict[str, int]:
        counts = {"imported": 0, "duplicates": 0}
        with Progress(f"import {path.name}", len(items), enabled=not args.quiet) as bar:
            for start in range(0, len(items), args.batch_size):
                batch = []
                for number, obj in items[start:start + args.batch_size]:
                    try:
                        batch.append(service.prepare(NewMemory(obj.get("content"), obj.get("tags"),
                                                               obj.get("memory_type"), obj.get("metadata"),
                                                               obj.get("created_at"))))
                    except MemoryServiceError as exc:
                        errors.append(f"line {number}: {exc}")
                for result in await service.store_prepared(batch):
                    counts["duplicates" if result.duplicate else "imported"] += 1
                bar.advance(len(items[start:start + args.batch_size]))
        return counts

    counts = _run(work, settings)
    for message in errors:
        print(f"{path}: {message}", file=sys.stderr)
    summary = {**counts, "errors": len(errors), "error_lines": errors}
    _emit(args, summary, f"imported {counts['imported']}, duplicates {counts['duplicates']}, errors {len(errors)}")
    return 1 if errors else 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from .progress import Progress

    path = Path(args.file)

    async def work(service: Any) -> int:
        total = await service.count()
        written = 0
        tmp = path.with_name(path.name + ".partial")
        with tmp.open("w", encoding="utf-8") as out, Progress(f"export {path.name}", total,
                                                              enabled=not args.quiet) as bar:
            async for batch in service.iter_memories():
                for memory, _ in batch:
                    record = {"content": memory.content, "content_hash": memory.content_hash,
                              "tags": memory.tags, "memory_type": memory.memory_type,
                              "metadata": memory.metadata, "created_at": memory.created_at_iso,
                              "updated_at": memory.updated_at_iso}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    written += 1
                bar.advance(len(batch))
        tmp.replace(path)
        return written

    try:
        written = _run(work, settings, with_embedder=False)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from None
    _emit(args, {"exported": written, "file": str(path)}, f"exported {written} memories to {path}")
    return 0


# -- parser ------------------------------------------------------------------------------------
def _tags(value: str) -> list[str]:
    return [t for t in value.split(",")]


def build_parser(plugin_commands: dict[str, Any] | None = None) -> argparse.ArgumentParser:
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
    p = add("store", cmd_store, "store a memory")
    p.add_argument("text")
    p.add_argument("--tags", type=_tags, help="comma-separated tags")
    p.add_argument("--type", help="memory type, e.g. note, decision, fact")
    p.add_argument("--metadata", help="metadata as a JSON object")
    p = add("retrieve", cmd_retrieve, "search by meaning and words")
    p.add_argument("query")
    p.add_argument("-n", type=int, default=5, help="number of results (default 5)")
    p.add_argument("--tags", type=_tags, help="only memories with any of these tags")
    p.add_argument("--type", help="only memories of this type")
    p.add_argument("--min-relevance", type=float, default=0.0)
    p.add_argument("--mode", choices=MODES, help="hybrid (default), semantic or lexical")
    p = add("recall", cmd_recall, "time-aware recall, e.g. 'what did I decide last week'")
    p.add_argument("query")
    p.add_argument("-n", type=int, default=5)
    p.add_argument("--mode", choices=MODES, help="hybrid (default), semantic or lexical")
    p = add("search-tag", cmd_search_tag, "memories carrying any (or --all) of the tags")
    p.add_argument("tags", nargs="+")
    p.add_argument("--all", action="store_true", help="require every tag")
    p = add("delete", cmd_delete, "delete a memory by content hash")
    p.add_argument("content_hash")
    add("stats", cmd_stats, "database statistics")
    add("health", cmd_health, "health of store, embedder and coordination")
    add("coordination", cmd_coordination, "print the coordination mode this process would use, and why")
    add("plugins", cmd_plugins, "installed plugins, versions, hooks and load failures")
    p = add("import", cmd_import, "import memories from JSONL (one JSON object a line)")
    p.add_argument("file")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = add("export", cmd_export, "export every memory to JSONL")
    p.add_argument("file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    from .cli_maintenance import add_commands

    add_commands(add)  # migrate, backup, restore, verify, optimize

    for name, (help_text, configure, run) in sorted((plugin_commands or {}).items()):
        if name in sub.choices:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(handler=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        settings = Settings.from_env()
    except MemoryServiceError as exc:
        print(f"memory: configuration error: {exc}", file=sys.stderr)
        return 1
    configure_logging(settings.log_level, settings.debug)
    from .plugins import get_plugin_manager

    parser = build_parser(get_plugin_manager(settings).registry.cli_commands)
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


if __name__ == "__main__":
    sys.exit(main())
