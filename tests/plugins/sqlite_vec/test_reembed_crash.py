"""Re-embedding survives kill -9: a process stages vectors of another model and commits them; it is SIGKILLed
at random moments, during the staging and during the commit. After every kill the file passes
``PRAGMA integrity_check`` and holds exactly one model (every vector has the recorded dimension, one vector per
memory), a store opens on that model and refuses the other; at the end a resumed re-embedding completes."""

from __future__ import annotations

import inspect
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sqlite_vec_helpers import open_store, raw

from mcp_memory.errors import EmbeddingError
from mcp_memory.models import Memory
from mcp_memory.protocols import LIVE, TRASH, EmbeddingInfo

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

MODELS = {"model-a": 64, "model-b": 96}
N = 3000
ROUNDS = 12  # kills: half while staging, half after the commit started



def vector(content_hash: str, model: str, dimension: int) -> np.ndarray:
    """The vector of a memory under a model: the same here and in the subprocess (which gets this source)."""
    seed = int(content_hash[:12], 16) + (7 if model == "model-b" else 0)
    v = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    return v / np.linalg.norm(v)


REEMBED = textwrap.dedent("""
    import asyncio, sys, time
    import numpy as np
    from mcp_memory.config import Settings
    from mcp_memory.protocols import EmbeddingInfo
    from mcp_memory_sqlite_vec.storage import SqliteVecStorage
    """) + inspect.getsource(vector) + textwrap.dedent("""
    async def main(path, model, dimension):
        store = SqliteVecStorage(Settings(), location=path)
        await store.initialize(None)
        state = await store.reembed_begin(EmbeddingInfo(model, dimension))
        print("begin", state.staged, state.total, flush=True)
        while True:
            pending = await store.reembed_pending(100)
            if not pending:
                break
            await store.reembed_stage([(m.content_hash, vector(m.content_hash, model, dimension)) for m in pending])
            print("staged", len(pending), flush=True)
        print("commit", flush=True)
        started = time.perf_counter()
        done = await store.reembed_commit()
        print("done", done, time.perf_counter() - started, flush=True)
        await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
""")


def recorded(db: Path) -> tuple[str, int]:
    conn = raw(db)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()
    return meta["embedding_model"], int(meta["embedding_dimension"])


def check_one_model(db: Path) -> tuple[str, int, int]:
    """Integrity, one model, one vector per memory; returns (model, dimension, staged vectors)."""
    conn = raw(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute("INSERT INTO memory_fts (memory_fts, rank) VALUES ('integrity-check', 1)")
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        model, dimension = meta["embedding_model"], int(meta["embedding_dimension"])
        assert MODELS[model] == dimension
        lengths = conn.execute("SELECT length(embedding), count(*) FROM memory_vectors GROUP BY 1").fetchall()
        assert lengths == [(4 * dimension, N)], lengths
        assert conn.execute("SELECT count(*) FROM memories m WHERE NOT EXISTS "
                            "(SELECT 1 FROM memory_vectors v WHERE v.rowid = m.id)").fetchone()[0] == 0
        staged = conn.execute("SELECT count(*) FROM reembed_vectors").fetchone()[0]
        if staged:
            target = MODELS[meta["reembed_model"]]
            assert meta["reembed_model"] != model and int(meta["reembed_dimension"]) == target
            assert conn.execute("SELECT DISTINCT length(embedding) FROM reembed_vectors").fetchall() == [(4 * target,)]
        return model, dimension, staged
    finally:
        conn.close()


def other(model: str) -> str:
    return next(name for name in MODELS if name != model)


def start(db: Path, model: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", REEMBED, str(db), model, str(MODELS[model])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(proc: subprocess.Popen, word: str | tuple[str, ...]) -> str:
    while True:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"the re-embedding process ended before {word!r}: {proc.stderr.read()[-2000:]}")
        if line.startswith(word):
            return line


def finish(proc: subprocess.Popen) -> float:
    """Let the process end normally; the seconds its commit took."""
    line = wait_for(proc, "done")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and line.split()[1] == "True", err[-2000:]
    return float(line.split()[2])


async def test_kill_9_during_reembedding_leaves_one_model_and_resumes(tmp_path):
    db = tmp_path / "m.db"
    store = await open_store(db, EmbeddingInfo("model-a", MODELS["model-a"]))
    mems = [Memory.create(f"memory number {i} about re-embedding", tags=[f"t{i % 5}"], project=("p", None)[i % 2])
            for i in range(N)]
    await store.store_batch([(m, vector(m.content_hash, "model-a", 64)) for m in mems])
    await store.trash([m.content_hash for m in mems[::10]], 1.0, "deleted")  # the trash is re-embedded too
    await store.close()

    commit_seconds = finish(start(db, "model-b"))  # one whole run: how long a commit takes here
    assert check_one_model(db)[:2] == ("model-b", 96)
    trashed = {m.content_hash for m in mems[::10]}
    rng = random.Random(1234)
    kills = {"staging": 0, "commit": 0}
    outcomes = {"commit killed, old model kept": 0, "commit done before the kill": 0}
    for round_ in range(ROUNDS):
        before, _, _ = check_one_model(db)
        target = other(before)
        proc = start(db, target)
        if round_ % 2 == 0:  # after a random number of the batches left to stage, while the next one stages
            _, staged, total = wait_for(proc, "begin").split()
            batches_left = -(-(int(total) - int(staged)) // 100)
            for _ in range(rng.randint(0, max(0, batches_left - 2))):
                wait_for(proc, "staged")
            phase = "staging"
        else:
            wait_for(proc, "commit")
            time.sleep(rng.uniform(0.0, 1.2 * commit_seconds))
            phase = "commit"
        proc.kill()
        proc.communicate(timeout=60)
        if proc.returncode == -9:
            kills[phase] += 1
        after, _, _ = check_one_model(db)
        assert after in (before, target)
        if phase == "commit" and proc.returncode == -9:
            outcomes["commit done before the kill" if after == target else "commit killed, old model kept"] += 1
        opened = await open_store(db, EmbeddingInfo(after, MODELS[after]))
        try:
            assert await opened.count() + await opened.count(TRASH) == N
            probe = mems[round_ * 7]
            top = await opened.retrieve(vector(probe.content_hash, after, MODELS[after]), 1,
                                        TRASH if probe.content_hash in trashed else LIVE)
            assert top[0].memory.content_hash == probe.content_hash and top[0].relevance_score > 0.999
        finally:
            await opened.close()
        with pytest.raises(EmbeddingError, match="reembed"):
            await open_store(db, EmbeddingInfo(other(after), MODELS[other(after)]))
    assert kills["staging"] >= 3 and kills["commit"] >= 3, kills
    print(f"\nSIGKILLs: {kills}; after the commit started: {outcomes}; a commit of {N} vectors takes "
          f"{commit_seconds:.3f} s")

    current, _, _ = check_one_model(db)
    target = other(current)
    finish(start(db, target))  # resumes any staging left for this target, then commits
    assert check_one_model(db)[:3] == (target, MODELS[target], 0)
    conn = raw(db)
    try:
        stored = dict(conn.execute("SELECT m.content_hash, v.embedding FROM memories m "
                                   "JOIN memory_vectors v ON v.rowid = m.id"))
    finally:
        conn.close()
    assert len(stored) == N
    assert all(stored[m.content_hash] == vector(m.content_hash, target, MODELS[target]).tobytes() for m in mems)
    reopened = await open_store(db, EmbeddingInfo(target, MODELS[target]))
    try:
        assert await reopened.reembed_state() is None
        live = mems[1]
        assert (await reopened.nearest_above(vector(live.content_hash, target, MODELS[target]), 0.99)
                ).memory.content_hash == live.content_hash
    finally:
        await reopened.close()

