"""Quality gate: the onnx embedder (built from the safetensors weights without torch) gives the vectors of
sentence-transformers, text by text, on 1,000 varied texts. Runs where both plugins are installed."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mcp_memory.config import Settings

pytest.importorskip("mcp_memory_onnx", reason="the onnx plugin (mcp-memory-onnx) is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "quality"))
from equivalence_texts import texts  # noqa: E402

pytestmark = pytest.mark.slow

MIN_COSINE = 0.9999


def test_onnx_gives_the_vectors_of_sentence_transformers_on_1000_texts(tmp_path, record_property):
    from mcp_memory_onnx import OnnxEmbedder
    from mcp_memory_onnx.build import export
    from mcp_memory_sentence_transformers import SentenceTransformerEmbedder

    sample = texts()
    assert len(sample) >= 1000 and len(set(sample)) > 700
    export(tmp_path / "onnx", "all-MiniLM-L6-v2")
    onnx = OnnxEmbedder(Settings().with_changes(MCP_MEMORY_ONNX_PATH=str(tmp_path / "onnx")))
    reference = SentenceTransformerEmbedder(Settings())
    started = time.perf_counter()
    ours, theirs = onnx.embed(sample), reference.embed(sample)
    assert ours.shape == theirs.shape == (len(sample), 384)
    assert onnx.model_name == reference.model_name == "all-MiniLM-L6-v2"
    tokens = np.array([len(e.ids) for e in onnx._tokenizer.encode_batch(sample)])
    assert (tokens == 256).sum() >= 100  # the long paragraphs really are truncated
    cosine = (ours * theirs).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    worst = int(np.argmin(cosine))
    record_property("min_cosine", float(cosine.min()))
    record_property("mean_cosine", float(cosine.mean()))
    print(f"\nonnx vs sentence-transformers on {len(sample)} texts: min cosine {cosine.min():.7f}, "
          f"mean {cosine.mean():.7f} (embedding both took {time.perf_counter() - started:.1f} s)")
    assert cosine.min() >= MIN_COSINE, f"cosine {cosine.min()} for text {worst}: {sample[worst][:200]!r}"
