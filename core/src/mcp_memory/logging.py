"""structlog setup: once per process, always to stderr (stdout is the MCP protocol channel).

structlog itself (and rich, which its console renderer imports when installed) loads on the first log line that
passes the level, not on import: a short command that logs nothing (a Claude Code hook, ``memory --help``) never
pays for it. The lines, when they are written, are the same.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import structlog

_configured = False
#: what the last ``configure_logging`` asked for: the lowest level written, and the debug renderer
_level = logging.INFO
_debug = False
#: True once structlog is loaded and configured with ``_level`` and ``_debug``
_applied = False
#: the filtering methods of a structlog bound logger and their levels (others go to structlog as they are)
_METHOD_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
                  "error": logging.ERROR, "exception": logging.ERROR, "critical": logging.CRITICAL,
                  "fatal": logging.CRITICAL}


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
    global _configured, _level, _debug, _applied
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
    _level, _debug, _configured = numeric, debug, True
    _applied = False
    if "structlog" in sys.modules:  # loaded already (by us or by a library): configure it now, as before
        _apply()


def _apply() -> None:
    """Load structlog and configure it as the last ``configure_logging`` asked."""
    global _applied
    import structlog

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *(() if _debug else (structlog.processors.format_exc_info,)),  # tracebacks of log.exception
            structlog.dev.ConsoleRenderer(colors=False) if _debug else structlog.processors.KeyValueRenderer(
                key_order=["timestamp", "level", "event"], drop_missing=True
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_level),
        logger_factory=_stderr_logger_factory,
        cache_logger_on_first_use=False,
    )
    _applied = True


def _nothing(*_args: Any, **_kwargs: Any) -> None:
    """A log call below the level (what structlog's filtering logger does with it)."""
    return None


class _Logger:
    """What ``get_logger`` returns: a log method below the configured level does nothing here, as structlog's
    filtering logger would; anything else goes to the structlog logger of that name, loaded on first use."""

    __slots__ = ("_name",)

    def __init__(self, name: str | None):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        level = _METHOD_LEVELS.get(attr)
        if level is not None and level < _level:
            return _nothing
        if not _applied:
            _apply()
        import structlog

        real = structlog.get_logger(self._name) if self._name else structlog.get_logger()
        return getattr(real, attr)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger; configures stderr logging with defaults if nobody did yet."""
    if not _configured:
        configure_logging()
    return cast("structlog.stdlib.BoundLogger", _Logger(name))
