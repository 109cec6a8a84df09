"""A small progress bar on stderr for long CLI work (import, export, migration, backup)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws one line on a terminal; on a pipe or log file prints at most every 10%.

    Use as a context manager: ``with Progress("import", total) as bar: bar.advance(n)``.
    """

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None, enabled: bool = True):
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self._draw("\r")
        elif self.total:
            decile = int(10 * self.done / self.total)
            if decile > self._last_decile and decile < 10:
                self._last_decile = decile
                self._draw("", "\n")

    def _draw(self, prefix: str, suffix: str = "") -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            frac = min(1.0, self.done / self.total) if self.total else 1.0
            bar = "#" * int(frac * 30)
            text = f"{self.label} [{bar:<30}] {self.done}/{self.total} {frac:4.0%} {rate:,.0f}/s"
        else:
            text = f"{self.label} {self.done} {rate:,.0f}/s"
        self.stream.write(prefix + text + suffix)
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw("\r" if self.tty else "", "\n")
            self.enabled = False

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
