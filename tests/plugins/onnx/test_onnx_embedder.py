"""The onnx embedder runs the same all-MiniLM-L6-v2 as sentence-transformers: same vectors, same name."""

import os
import random
import subprocess
import sys
import threading

import numpy as np
import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import InvalidInputError
from mcp_memory_onnx import OnnxEmbedder

pytestmark = pytest.mark.slow

SUBJECTS = ["Maria", "The billing team", "Our CI pipeline", "Kenji's daughter", "The staging cluster", "Le client",
            "The on-call engineer", "Priya", "The mobile app", "Der Server"]
VERBS = ["moved to", "prefers", "crashed after", "was replaced by", "depends on", "mag", "asked about",
         "finished", "rejected", "will review"]
OBJECTS = ["PostgreSQL 16", "oat milk flat whites", "the Friday deploy", "a managed Redis", "dark mode",
           "the Q3 roadmap", "GDPR retention rules", "café au lait", "the invoice PDF bug", "紅茶 and 寿司"]


def texts(n: int = 300) -> list[str]:
    """Short and long sentences, punctuation, accents, CJK, emoji, and a few past the 256-token limit."""
    r = random.Random(7)
    out = []
    for i in range(n):
        sentence = f"{r.choice(SUBJECTS)} {r.choice(VERBS)} {r.choice(OBJECTS)}"
        if i % 10 == 0:
            sentence += " because " + " and ".join(r.choice(OBJECTS) for _ in range(r.randint(5, 80)))
        if i % 17 == 0:
            sentence += " 🎉!!"
        out.append(sentence + ".")
    return out + ["x", "   padded with spaces   ", "UPPER CASE TEXT", "word " * 600]


@pytest.fixture(scope="module")
def onnx(onnx_dir):
    embedder = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(onnx_dir)))
    assert embedder.loaded is False
    return embedder


@pytest.fixture(scope="module")
def reference():
    from mcp_memory_sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(Settings())


def test_same_vectors_as_sentence_transformers(onnx, reference):
    sample = texts()
    ours, theirs = onnx.embed(sample), reference.embed(sample)
    assert ours.shape == theirs.shape == (len(sample), 384)
    cosine = (ours * theirs).sum(axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() > 1 - 1e-3, f"cosine {cosine.min()} for {sample[worst]!r}"
    assert onnx.model_name == reference.model_name == "all-MiniLM-L6-v2"
    assert onnx.dimension == reference.dimension


def test_vectors_are_normalised_float32_in_input_order(onnx):
    sample = ["short", "a much longer sentence that will be sorted first for batching purposes", "mid length"]
    vectors = onnx.embed(sample)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for text, vector in zip(sample, vectors):
        np.testing.assert_allclose(onnx.embed([text])[0], vector, atol=1e-5)


def test_batches_and_padding_do_not_change_a_vector(onnx):
    sample = [f"memory {i}: " + "detail " * (i % 40) for i in range(150)]  # three batches of 64
    together = onnx.embed(sample)
    for i in (0, 63, 64, 149):
        np.testing.assert_allclose(onnx.embed([sample[i]])[0], together[i], atol=1e-5)


def test_empty_list_and_bad_input(onnx_dir):
    fresh = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(onnx_dir)))
    assert fresh.embed([]).shape == (0, 384)
    assert fresh.loaded is False  # nothing to embed: the model stays on disk
    with pytest.raises(InvalidInputError, match="takes strings"):
        fresh.embed(["ok", 3])


def test_concurrent_callers_get_their_own_vectors(onnx):
    sample = texts(40)
    expected = onnx.embed(sample)
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = onnx.embed(sample[i::4])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        np.testing.assert_allclose(results[i], expected[i::4], atol=1e-5)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_threads_follow_the_cpus_the_process_may_use(onnx_dir, make_env):
    """Limited to one CPU, the session runs one unpinned thread and onnxruntime writes no affinity errors."""
    script = (
        "import os, sys\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "from mcp_memory.config import Settings\n"
        "from mcp_memory_onnx import OnnxEmbedder\n"
        "e = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=sys.argv[1]))\n"
        "assert e.embed(['one CPU only']).shape == (1, 384)\n"
        "print(e._session.get_session_options().intra_op_num_threads)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(onnx_dir)], capture_output=True, text=True,
                          env=make_env(LOG_LEVEL="warning"), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["1"]
    assert "affinity" not in proc.stderr and "error" not in proc.stderr.lower(), proc.stderr[-3000:]
