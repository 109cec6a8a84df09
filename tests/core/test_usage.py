"""Use bookkeeping is batched: searches return before their use is written, a burst makes one write per level of
repetition, close() writes what is pending, and a failing write never fails anything."""

from __future__ import annotations

import asyncio

import pytest

from mcp_memory.usage import UsageLog

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Recorder:
    def __init__(self, fail: bool = False):
        self.calls: list[tuple[list[str], float]] = []
        self.fail = fail

    async def __call__(self, hashes, at):
        if self.fail:
            raise OSError("database is locked")
        self.calls.append((sorted(hashes), at))


async def test_a_burst_of_searches_is_written_once_after_the_delay():
    marks = Recorder()
    usage = UsageLog(marks, delay=0.2)
    usage.record(["a", "b"])
    usage.record(["b", "c", "c"])  # one search counts a memory once
    await asyncio.sleep(0.05)
    assert marks.calls == []  # nothing written yet: searches never wait for it
    await asyncio.sleep(0.3)
    assert [hashes for hashes, _ in marks.calls] == [["a", "b", "c"], ["b"]]  # b was returned twice
    usage.record(["d"])
    await usage.close()  # no need to wait for the delay
    assert marks.calls[-1][0] == ["d"]


async def test_close_writes_what_is_pending_at_once():
    marks = Recorder()
    usage = UsageLog(marks, delay=60)
    usage.record(["a"])
    await asyncio.wait_for(usage.close(), 5)
    assert [hashes for hashes, _ in marks.calls] == [["a"]]


async def test_a_failing_write_is_logged_not_raised(capsys):
    usage = UsageLog(Recorder(fail=True), delay=0.01)
    usage.record(["a"])
    await usage.close()  # does not raise
    err = capsys.readouterr().err
    assert "could not record memory use" in err and "database is locked" in err
