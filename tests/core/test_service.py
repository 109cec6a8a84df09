from datetime import datetime, timezone

import pytest

from mcp_memory.errors import InvalidInputError, NotFoundError
from mcp_memory.service import NewMemory

pytestmark = pytest.mark.anyio


async def test_store_dedups_by_normalised_content(service):
    first = await service.store("The sky is blue", tags=["Sky", "colour"], memory_type="fact")
    again = await service.store("  the SKY is blue ")
    assert not first.duplicate and again.duplicate
    assert again.memory.content_hash == first.memory.content_hash
    assert first.memory.tags == ["sky", "colour"] and first.memory.memory_type == "fact"
    assert await service.count() == 1


async def test_unknown_memory_type_is_kept_verbatim(service):
    result = await service.store("x", memory_type="My-Custom_Type")
    assert result.memory.memory_type == "My-Custom_Type"


@pytest.mark.parametrize("content", ["", "   ", None, 5, ["a"], "x" * 1001])
async def test_bad_content_is_rejected(service, content):
    with pytest.raises(InvalidInputError):
        await service.store(content)
    assert await service.count() == 0


async def test_batch_rejects_all_when_one_is_invalid(service):
    with pytest.raises(InvalidInputError):
        await service.store_batch([NewMemory("ok"), NewMemory("")])
    assert await service.count() == 0
    results = await service.store_batch([NewMemory("a"), NewMemory("b"), NewMemory("A")])
    assert [r.duplicate for r in results] == [False, False, True]
    assert service.embedder.calls == 1  # one embedding pass for the batch


async def test_retrieve_with_filters_and_relevance(service):
    await service.store("apples are red fruit", tags=["food"])
    await service.store("bananas are yellow fruit", tags=["food"], memory_type="fact")
    await service.store("cars have four wheels", tags=["vehicle"])
    top = await service.retrieve("red apples", n_results=1)
    assert top[0].memory.content == "apples are red fruit"
    assert [r.memory.content for r in await service.retrieve("fruit", 5, memory_type="fact")] == \
        ["bananas are yellow fruit"]
    assert all("food" in r.memory.tags for r in await service.retrieve("wheels", 5, tags="food"))
    assert await service.retrieve("apples are red fruit", 5, min_relevance=0.999) != []
    for bad in ({"n_results": 0}, {"n_results": "5"}, {"min_relevance": 2}, {"n_results": True}):
        with pytest.raises(InvalidInputError):
            await service.retrieve("x", **bad)
    with pytest.raises(InvalidInputError):
        await service.retrieve("   ")


async def test_huge_n_results_is_capped(service):
    for i in range(60):
        await service.store(f"memory {i}")
    assert len(await service.retrieve("memory", 1_000_000)) == 50


async def test_tags_any_all_and_delete_by_tag(service):
    await service.store("one", tags="a,b")
    await service.store("two", tags=["b", "c"])
    assert {m.content for m in await service.search_by_tag(["A", "c"])} == {"one", "two"}
    assert [m.content for m in await service.search_by_tag(["b", "c"], match_all=True)] == ["two"]
    with pytest.raises(InvalidInputError):
        await service.search_by_tag([])
    with pytest.raises(InvalidInputError):
        await service.search_by_tag(["a"], match_all="yes")
    assert (await service.delete_by_tag("c")).count == 1
    assert await service.count() == 1


async def test_update_metadata_merges_and_keeps_content(service):
    h = (await service.store("meeting on friday", tags=["work"], metadata={"a": 1})).memory.content_hash
    updated = await service.update_metadata(h, tags=["Work", "urgent"], metadata={"b": 2})
    assert updated.tags == ["work", "urgent"] and updated.metadata == {"a": 1, "b": 2}
    assert updated.memory_type is None and updated.updated_at >= updated.created_at
    replaced = await service.update_metadata(h, metadata={"c": 3}, merge_metadata=False, memory_type="event")
    assert replaced.metadata == {"c": 3} and replaced.memory_type == "event" and replaced.tags == ["work", "urgent"]
    assert (await service.get(h)).content == "meeting on friday"
    with pytest.raises(NotFoundError):
        await service.update_metadata("f" * 64, tags=["x"])


async def test_delete_unknown_hash_is_not_found(service):
    with pytest.raises(NotFoundError):
        await service.delete("deadbeef")
    with pytest.raises(InvalidInputError):
        await service.delete("")
    with pytest.raises(NotFoundError):
        await service.get("deadbeef")


async def test_exact_match(service):
    await service.store("Exact Text")
    assert (await service.exact_match("exact text")).content == "Exact Text"
    assert await service.exact_match("other") is None


async def test_recall_prefers_the_time_window_then_ranks(service):
    day = 86400.0
    now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    base = now.timestamp()
    await service.store("we chose postgres for the database", created_at=base - day)
    await service.store("lunch was pasta", created_at=base - day + 60)
    await service.store("we chose sqlite for the database", created_at=base - 10 * day)
    found = await service.recall("database choice yesterday", n_results=5, now=now)
    contents = [r.memory.content for r in found.results]
    assert contents[0] == "we chose postgres for the database"
    # the window is a preference (boost), not a wall: the older match may follow, never lead
    assert "lunch was pasta" in contents and contents.index("we chose sqlite for the database") > 0
    assert found.time_expression == "yesterday" and found.semantic_query == "database choice"
    only_time = await service.recall("yesterday", now=now)
    assert [r.memory.content for r in only_time.results] == ["lunch was pasta", "we chose postgres for the database"]
    plain = await service.recall("sqlite database", now=now)
    assert plain.time_expression is None and plain.results[0].memory.content.startswith("we chose sqlite")
    with pytest.raises(InvalidInputError):
        await service.recall("between 2026-13-45 and 2026-01-01", now=now)


async def test_list_memories_pages(service):
    for i in range(25):
        await service.store(f"item {i}", tags=["even" if i % 2 == 0 else "odd"], created_at=1000.0 + i)
    page = await service.list_memories(page=2, page_size=10)
    assert [m.content for m in page.memories][0] == "item 14" and page.total == 25 and page.has_more
    last = await service.list_memories(page=3, page_size=10)
    assert len(last.memories) == 5 and not last.has_more
    assert (await service.list_memories(tag="odd")).total == 12
    with pytest.raises(InvalidInputError):
        await service.list_memories(page=0)


async def test_cleanup_duplicates_keeps_oldest(service):
    from mcp_memory.models import Memory

    await service.store("Same text", created_at=100.0)
    foreign = Memory.create("same TEXT", created_at=200.0).with_changes(content_hash="foreign-hash")
    await service.store_prepared([foreign])
    assert await service.count() == 2
    assert (await service.cleanup_duplicates()).hashes == ["foreign-hash"]
    assert (await service.list_memories()).memories[0].created_at == 100.0
    assert [m.content_hash for m in (await service.trash_list()).memories] == ["foreign-hash"]


async def test_stats_and_health(service):
    await service.store("x", tags=["t"])
    stats = await service.stats()
    assert stats["total_memories"] == 1 and stats["coordination_mode"] == "direct"
    health = await service.health()
    assert health["status"] == "healthy" and health["embedder"]["dimension"] == 64


async def test_store_prepared_with_vectors_lets_the_store_report_duplicates(service, monkeypatch):
    """Given vectors, nothing is embedded and only hashes the store already had are looked up."""
    first = (await service.store("kept as it was", tags=["old"])).memory
    lookups: list[str] = []
    original = service.storage.get_by_hash

    async def counting(content_hash, trashed=False):
        lookups.append(content_hash)
        return await original(content_hash, trashed)

    monkeypatch.setattr(service.storage, "get_by_hash", counting)
    calls = service.embedder.calls
    fresh = [service.prepare(NewMemory(f"fresh {i}")) for i in range(5)]
    again = service.prepare(NewMemory("Kept as it was", tags=["new"]))
    vectors = service.embedder.embed([m.content for m in [*fresh, again]])
    results = await service.store_prepared([*fresh, again, fresh[0]], [*vectors, vectors[0]])
    assert [r.duplicate for r in results] == [False] * 5 + [True, True]
    assert results[5].memory == first  # the stored memory, not the one offered
    assert lookups == [first.content_hash] and service.embedder.calls == calls + 1
    assert await service.count() == 6
