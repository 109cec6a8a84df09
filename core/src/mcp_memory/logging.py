"""structlog setup: once per process, always to stderr (stdout is the MCP protocol channel)."""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


class _StderrLogger:
    """Writes each line to the *current* sys.stderr (never stdout, and survives stream swaps)."""

    def msg(self, message: str) -> None:
        try:
            print(message, file=sys.stderr, flush=True)
        except (ValueError, OSError):  # stderr closed at interpreter shutdown
            pass

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _stderr_logger_factory(*_args: object) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(level: str = "INFO", debug: bool = False) -> None:
    """Send structlog and stdlib logging to stderr at ``level``. Safe to call more than once."""
    global _configured
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        numeric = logging.INFO
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mcp_memory", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._mcp_memory = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(numeric)
    # Chatty libraries stay quiet unless debugging.
    for name in ("httpx", "httpcore", "chromadb", "sentence_transformers", "urllib3", "mcp"):
        logging.getLogger(name).setLevel(logging.DEBUG if debug else max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *(() if debug else (structlog.processors.format_exc_info,)),  # tracebacks of log.exception
            structlog.dev.ConsoleRenderer(colors=False) if debug else structlog.processors.KeyValueRenderer(
                key_order=["timestamp", "level", "event"], drop_missing=True
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger_factory,
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; configures stderr logging with defaults if nobody did yet."""
    if not _configured:
        configure_logging()
    return structlog.get_logger(name) if name else structlog.get_logger()
