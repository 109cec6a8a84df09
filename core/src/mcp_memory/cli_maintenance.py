"""CLI commands for operators: ``migrate``, ``backup``, ``restore``, ``verify``, ``optimize`` and ``reembed``.

``cli.py`` registers them through ``add_commands(add)``; each handler is ``(args, settings) -> exit code``.
Results go to stdout (``--json`` for machines), progress bars and logs to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from .cli import emit, run_with_service
from .config import Settings

if TYPE_CHECKING:  # every command builds the parser that lists these: the migration code loads when one runs
    from .migration import MigrationReport


def _where(name: str, location: str | None) -> str:
    return f"{name} ({location})" if location else name


def report_text(report: MigrationReport) -> str:
    """The human summary of a migration, backup or restore."""
    lines = [f"source: {_where(report.source, report.source_location)}: {report.source_count} memories"]
    if report.dry_run:
        lines.append(f"dry run: would copy up to {report.source_count} memories into "
                     f"{_where(report.target, report.target_location)}; nothing was written")
        return "\n".join(lines)
    if report.backup_path:
        lines.append(f"backup: {report.backup_count} memories written to {report.backup_path}")
    lines.append(f"target: {_where(report.target, report.target_location)}")
    if report.target == "json":
        lines.append(f"wrote {report.copied} memories")
    else:
        lines.append(f"copied {report.copied}, already present {report.already_present}; vectors: "
                     f"{report.copied - report.embedded} taken from the source, {report.embedded} embedded again")
    for reason in report.skipped[:10]:
        lines.append(f"skipped: {reason}")
    if report.verified:
        lines.append(f"verification OK: all {report.copied + report.already_present} source memories are in "
                     f"the target (target holds {report.target_count})")
    else:
        missing = ", ".join(h[:12] for h in report.missing[:10])
        lines.append(f"verification FAILED: source count {report.source_count}, read {report.records_read}, "
                     f"skipped {len(report.skipped)}, missing from the target {len(report.missing)}"
                     + (f": {missing}" if missing else ""))
    lines.append(f"done in {report.seconds:.1f} s")
    return "\n".join(lines)


def _finish(args: argparse.Namespace, report: MigrationReport) -> int:
    emit(args, report.to_dict(), report_text(report))
    return 0 if report.dry_run or report.verified else 1


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from .migration import migrate

    report = asyncio.run(migrate(
        settings, args.source, args.target or settings.storage_backend, args.source_path, args.target_path,
        backup=args.backup, backup_path=args.backup_path, dry_run=args.dry_run, batch_size=args.batch_size,
        quiet=args.quiet))
    return _finish(args, report)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from .migration import backup_store

    return _finish(args, asyncio.run(backup_store(settings, args.file, args.source, args.source_path, args.quiet)))


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from .migration import restore

    return _finish(args, asyncio.run(restore(settings, args.file, args.target, args.target_path, args.quiet)))


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from .maintenance import run_checks

    checks = run_checks(settings, load_model=not args.no_model)
    failed = [c for c in checks if not c.ok]
    summary = "all checks passed" if not failed else f"{len(failed)} check(s) failed"
    emit(args, {"ok": not failed, "checks": [c.to_dict() for c in checks]},
          "\n".join(c.line() for c in checks) + f"\n{summary}")
    return 1 if failed else 0


def cmd_optimize(args: argparse.Namespace, settings: Settings) -> int:
    from .maintenance import optimize

    result = run_with_service(optimize, settings, with_embedder=False)
    store = result.get("store") or {}
    actions = ", ".join(store.get("actions") or []) or store.get("note") or "nothing to do"
    emit(args, result, f"moved {result['duplicates_trashed']} duplicate memories to the trash\n"
                       f"purged {result['trash_purged']} memories deleted more than {settings.trash_days} days ago\n"
                       f"store: {actions}\n"
                       f"size: {result['size_before_mb']} MB -> {result['size_after_mb']} MB")
    return 0


def cmd_reembed(args: argparse.Namespace, settings: Settings) -> int:
    from .plugins import get_plugin_manager
    from .reembed import reembed

    changes = {k: v for k, v in (("MCP_MEMORY_EMBEDDER", args.embedder), ("MCP_MEMORY_EMBEDDING_MODEL", args.model))
               if v}
    settings = settings.with_changes(**changes)
    embedder = get_plugin_manager(settings).embedder_backend(settings.embedder).factory(settings)
    report = asyncio.run(reembed(settings, embedder, backup=not args.no_backup, backup_path=args.backup_path,
                                 batch_size=args.batch_size, quiet=args.quiet))
    if report.embedded == 0 and report.resumed_from == 0 and report.done:
        text = f"the {report.backend} store already uses {report.model_to}: nothing to do"
    else:
        text = (f"re-embedded {report.resumed_from + report.embedded} memories: {report.model_from} -> "
                f"{report.model_to} ({report.dimension_to} dims) in {report.seconds:.1f} s"
                + (f" (resumed at {report.resumed_from})" if report.resumed_from else "")
                + (f"\nbackup first: {report.backup_path}" if report.backup_path else "")
                + f"\nuse it from now on with MCP_MEMORY_EMBEDDER={settings.embedder or '(default)'} "
                  f"MCP_MEMORY_EMBEDDING_MODEL={settings.embedding_model}")
    emit(args, report.to_dict(), text)
    return 0


def cmd_consolidate(args: argparse.Namespace, settings: Settings) -> int:
    from . import consolidate
    from .cli import memory_text
    from .inputs import Scope
    from .service import MemoryService

    if args.undo:
        restored = run_with_service(lambda s: consolidate.undo(s, args.undo), settings)
        emit(args, {"restored": [m.to_dict() for m in restored]},
             f"undone: {len(restored)} memories are back\n" + "\n".join(memory_text(m) for m in restored))
        return 0
    threshold = args.threshold or settings.duplicate_threshold or 0.95
    scope = Scope.of(project=args.project) if args.project else Scope(everything=True)

    async def work(service: MemoryService) -> consolidate.ConsolidationReport:
        report = await consolidate.find_clusters(service, threshold, scope)
        return await consolidate.apply(service, report) if args.apply else report

    report = run_with_service(work, settings)
    lines = [f"scanned {report.scanned} memories: {len(report.clusters)} clusters of near-duplicates "
             f"(similarity >= {threshold:g})"]
    for cluster in report.clusters:
        lines.append(f"- keep {cluster.keep.content_hash[:12]} (newest), merge {len(cluster.others)} "
                     f"(similarity >= {cluster.similarity:.2f}), project {cluster.keep.project or '(global)'}")
        lines += [f"    {m.content_hash[:12]}  {m.content[:100]}" for m in cluster.members]
    if args.apply:
        lines.append(f"merged {report.merged} memories into {len(report.clusters)}; the originals are in the trash; "
                     "`memory consolidate --undo HASH` reverses a merge")
    elif report.clusters:
        lines.append("dry run: nothing changed; add --apply to merge")
    emit(args, report.to_dict(), "\n".join(lines))
    return 0


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the commands with ``cli.build_parser``'s ``add(name, handler, help)``."""
    p = add("migrate", cmd_migrate, "copy every memory from one store or file into another, then verify")
    p.add_argument("--from", dest="source", required=True,
                   help="source: a backend (sqlite_vec, chroma, ...), json (a backup), or a source a plugin adds "
                        "(memory plugins lists them; mcp-memory-service for the reference service's files)")
    p.add_argument("--to", dest="target",
                   help="target backend, or json for a backup file (default: the configured store)")
    p.add_argument("--source-path", help="source file, directory or http://host:port (default: the backend's own)")
    p.add_argument("--target-path", help="target file, directory or http://host:port (default: the backend's own)")
    p.add_argument("--backup", action="store_true", help="write a JSON backup of the source first")
    p.add_argument("--backup-path",
                   help="where to write that backup (default: <data dir>/backups/<source>-<time>.json)")
    p.add_argument("--dry-run", action="store_true", help="only count what would be copied; write nothing")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("backup", cmd_backup, "write every memory of the configured store to a JSON backup file")
    p.add_argument("file", help="the backup file to write, e.g. memories.json")
    p.add_argument("--from", dest="source", help="backend to back up (default: the configured one)")
    p.add_argument("--source-path", help="its file, directory or http://host:port")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("restore", cmd_restore, "load a JSON backup into the configured store (existing memories are kept)")
    p.add_argument("file", help="a backup written by 'memory backup'")
    p.add_argument("--to", dest="target", help="target backend (default: the configured one)")
    p.add_argument("--target-path", help="its file, directory or http://host:port")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = add("verify", cmd_verify, "check Python, plugins, embedder, and the store's own prerequisites and integrity")
    p.add_argument("--no-model", action="store_true", help="do not load the embedding model")

    add("optimize", cmd_optimize, "trash duplicate memories, purge the old trash, then the store's own upkeep")

    p = add("consolidate", cmd_consolidate, "report clusters of near-duplicate memories; --apply merges them "
                                           "(reversibly: the originals go to the trash)")
    p.add_argument("--apply", action="store_true", help="merge the clusters (default: a dry run)")
    p.add_argument("--threshold", type=float, help="cosine similarity that links two memories "
                                                   "(default: MCP_MEMORY_DUPLICATE_THRESHOLD)")
    p.add_argument("--undo", metavar="HASH", help="reverse the merge that produced this memory")
    p.add_argument("--project", help="only this project and global memories (default: every project)")

    p = add("reembed", cmd_reembed, "switch the store to another embedding model (resumable, backup first)")
    p.add_argument("--embedder", help="embedder plugin (default: MCP_MEMORY_EMBEDDER, else the default one)")
    p.add_argument("--model", help="model name or local directory (default: MCP_MEMORY_EMBEDDING_MODEL)")
    p.add_argument("--no-backup", action="store_true", help="skip the JSON backup written first")
    p.add_argument("--backup-path", help="where to write that backup (default: <data dir>/backups/)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
