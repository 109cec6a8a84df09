"""Projects, the trash, edits with history, near-duplicates, hash prefixes and usage, in the service."""

import re
import time
from dataclasses import replace

import pytest

from mcp_memory.errors import InvalidInputError, NotFoundError
from mcp_memory.inputs import Scope
from mcp_memory.ranking import same_numbers
from mcp_memory.service import DELETED, EDITED, MemoryService, NewMemory
from mcp_memory.testing import HashEmbedder, InMemoryStorage

pytestmark = pytest.mark.anyio


async def contents_of(results):
    return [getattr(r, "memory", r).content for r in results]


# -- projects ------------------------------------------------------------------------------------
async def test_reads_cover_the_current_project_and_global(service):
    await service.store("api uses postgres", project="api")
    await service.store("web uses react", project="web")
    await service.store("the user prefers tabs")
    api = Scope(current="api")
    assert {r.memory.content for r in await service.retrieve("uses", 10, scope=api, min_relevance=0.0)} == \
        {"api uses postgres", "the user prefers tabs"}
    assert (await service.list_memories(scope=api)).total == 2
    assert (await service.list_memories(scope=Scope(current="api", project="web"))).total == 2
    assert (await service.list_memories(scope=Scope(current="api", project="global"))).total == 1
    assert (await service.list_memories(scope=Scope(current="api", everything=True))).total == 3
    assert (await service.list_memories(scope=Scope())).total == 3  # no current project: everything
    assert await service.projects() == [(None, 1), ("api", 1), ("web", 1)]
    assert Scope(current="api").describe() == "project api and global memories"


async def test_writes_go_to_the_given_project(service):
    stored = await service.store("deploy on fridays", project="ops")
    assert stored.memory.project == "ops"
    assert (await service.store("a global note", project="global")).memory.project is None
    moved = await service.update(stored.memory.content_hash, project="global")
    assert moved.memory.project is None
    with pytest.raises(InvalidInputError, match="project must be a string"):
        await service.store("x", project=5)


# -- exact and near duplicates ----------------------------------------------------------------------
async def test_near_duplicates_of_the_same_project_are_not_stored_twice(settings):
    service = MemoryService(InMemoryStorage(), HashEmbedder(), settings.with_changes(duplicate_threshold=0.9))
    first = await service.store("the staging database runs postgres sixteen", project="api")
    near = await service.store("The staging database runs Postgres sixteen!", project="api")
    assert near.near_duplicate and not near.stored and near.memory.content_hash == first.memory.content_hash
    assert near.similarity >= 0.9
    assert (await service.store("the staging database runs postgres sixteen!!", project="web")).stored
    anyway = await service.store("The staging database runs Postgres sixteen!", project="api",
                                 allow_near_duplicate=True)
    assert anyway.stored and await service.count() == 3
    assert (await service.store("something else entirely", project="api")).stored


class DigitBlindEmbedder(HashEmbedder):
    """Like the real model, it barely sees numbers (here: not at all)."""

    def embed(self, texts):
        return super().embed([re.sub(r"\d", "", t) for t in texts])


async def test_texts_that_differ_in_their_numbers_are_two_facts(settings):
    service = MemoryService(InMemoryStorage(), DigitBlindEmbedder(), settings.with_changes(duplicate_threshold=0.9))
    first = await service.store("the staging database listens on port 5432, since 2024-03-01")
    assert (await service.store("The staging database listens on port 5433, since 2024-03-01")).stored
    assert (await service.store("the staging database listens on port 5432, since 2024-06-01")).stored
    again = await service.store("The staging database listens on port 5432 since 2024-03-01!")
    assert again.near_duplicate and again.memory.content_hash == first.memory.content_hash
    assert same_numbers("v1.2 at 10:30", "version 1.2, at 10:30") and not same_numbers("v1.2", "v1.3")
    assert not same_numbers("moved from 2 to 3", "moved from 3 to 2")


async def test_the_same_text_from_another_project_becomes_global(service):
    first = await service.store("run make test before committing", project="api")
    again = await service.store("Run make test before committing", project="web")
    assert again.duplicate and again.memory.content_hash == first.memory.content_hash
    assert again.memory.project is None and (await service.get(first.memory.content_hash)).project is None
    same = await service.store("run make test before committing", project="global")
    assert same.duplicate and same.memory.project is None


async def test_storing_a_trashed_text_brings_it_back_with_new_tags(service):
    h = (await service.store("remember the milk", tags=["shopping"])).memory.content_hash
    await service.delete(h)
    back = await service.store("Remember the milk", tags=["urgent"])
    assert back.restored and back.stored and back.memory.content_hash == h
    assert back.memory.tags == ["shopping", "urgent"] and await service.count() == 1


# -- the trash ------------------------------------------------------------------------------------
async def test_every_delete_path_goes_to_the_trash_and_restores_exactly(service):
    a = (await service.store("alpha fact", tags=["x"], metadata={"k": 1}, project="p")).memory
    b = (await service.store("beta fact", tags=["x", "y"])).memory
    c = (await service.store("gamma fact", tags=["z"], created_at=100.0)).memory
    await service.storage.mark_used([a.content_hash], 50.0)
    before = {m.content_hash: m for m in [await service.storage.get_by_hash(h) for h in
                                           (a.content_hash, b.content_hash, c.content_hash)]}
    assert (await service.delete(a.content_hash[:10])).hashes == [a.content_hash]
    assert (await service.delete_by_tag("y")).hashes == [b.content_hash]
    assert (await service.delete_matching(end=150.0)).hashes == [c.content_hash]
    assert await service.count() == 0 and (await service.trash_list()).total == 3
    assert await service.retrieve("fact", 5, min_relevance=0.0) == []
    with pytest.raises(NotFoundError, match="in the trash"):
        await service.get(a.content_hash)
    restored = await service.restore([a.content_hash, b.content_hash[:12], c.content_hash])
    for memory in restored:
        assert memory == before[memory.content_hash]
    with pytest.raises(InvalidInputError, match="not in the trash"):
        await service.restore(a.content_hash)


async def test_delete_matching_needs_a_filter_and_has_a_dry_run(service):
    await service.store("one", tags=["t"])
    with pytest.raises(InvalidInputError, match="tags and/or a time range"):
        await service.delete_matching()
    preview = await service.delete_matching(tags=["t"], dry_run=True)
    assert preview.count == 1 and await service.count() == 1


async def test_purge_is_explicit_or_after_the_trash_days(service):
    old = (await service.store("old trash")).memory.content_hash
    new = (await service.store("new trash")).memory.content_hash
    await service.storage.trash([old], time.time() - 40 * 86400, DELETED)
    await service.storage.trash([new], time.time(), DELETED)
    assert await service.purge_expired() == 1  # 30 days by default
    assert await service.storage.get_by_hash(old, trashed=None) is None
    with pytest.raises(InvalidInputError):
        await service.purge()
    assert await service.purge([new[:9]]) == 1 and (await service.trash_list()).total == 0


# -- edits and history ----------------------------------------------------------------------------
async def test_editing_content_keeps_the_previous_version(service):
    first = (await service.store("the meeting is on monday", tags=["work"], project="p")).memory
    edited = await service.update(first.content_hash, content="the meeting is on tuesday")
    assert edited.previous == first.content_hash
    new = edited.memory
    assert new.content_hash != first.content_hash and new.tags == ["work"] and new.project == "p"
    assert new.created_at == first.created_at
    found = await contents_of(await service.retrieve("meeting", 5, min_relevance=0.0))
    assert found == ["the meeting is on tuesday"]
    history = await service.history(new.content_hash)
    assert [v.content for v in history] == ["the meeting is on tuesday", "the meeting is on monday"]
    assert history[1].deleted_reason == EDITED and history[1].replaced_by == new.content_hash
    assert [v.content for v in await service.history(first.content_hash)] == [v.content for v in history]
    third = (await service.update(new.content_hash, content="the meeting is on wednesday")).memory
    assert len(await service.history(third.content_hash)) == 3
    await service.restore([first.content_hash])  # an earlier version becomes current again
    assert await contents_of((await service.list_memories()).memories) == ["the meeting is on monday"]
    assert (await service.trash_list(reason=EDITED)).total == 2


async def test_editing_to_an_existing_text_is_refused(service):
    a = (await service.store("text one")).memory.content_hash
    await service.store("text two")
    with pytest.raises(InvalidInputError, match="already stored"):
        await service.update(a, content="Text two")
    same = await service.update(a, content="TEXT ONE", tags=["t"])
    assert same.previous is None and same.memory.tags == ["t"]


# -- hashes ---------------------------------------------------------------------------------------
async def test_unique_hash_prefixes_of_eight_or_more_work(service):
    memories = [(await service.store(f"note {i}")).memory for i in range(40)]
    target = memories[0].content_hash
    assert (await service.get(target[:8].upper())).content_hash == target
    with pytest.raises(InvalidInputError, match="too short"):
        await service.get(target[:7])
    with pytest.raises(InvalidInputError, match="not a content hash"):
        await service.get("zzzzzzzzzz")
    with pytest.raises(NotFoundError):
        await service.get("0123456789abcdef")
    ambiguous = [m for m in memories if m.content_hash[0] == target[0]]
    storage = service.storage
    prefix = target[:8]
    clash = replace(memories[1], content="a clash", content_hash=prefix + "0" * 56)
    await storage.store(clash, [1.0] + [0.0] * 63)
    with pytest.raises(InvalidInputError, match="ambiguous") as error:
        await service.get(prefix)
    assert target[:16] in str(error.value) and ambiguous


# -- usage ----------------------------------------------------------------------------------------
async def test_returned_memories_are_marked_used(service):
    h = (await service.store("used memory about cats")).memory.content_hash
    await service.store("never returned about dogs")
    await service.retrieve("cats", 1, min_relevance=0.0)
    await service.close()  # waits for the bookkeeping in the background
    used = await service.storage.get_by_hash(h)
    assert used.use_count == 1 and used.last_used_at is not None


async def test_relevance_floor_drops_weak_results(settings):
    service = MemoryService(InMemoryStorage(), HashEmbedder(), settings.with_changes(min_relevance=0.5))
    await service.store("apples are red")
    await service.store("completely unrelated text about ships")
    assert await contents_of(await service.retrieve("apples red", 5)) == ["apples are red"]
    assert len(await service.retrieve("apples red", 5, min_relevance=0.0)) == 2


async def test_batch_projects(service):
    results = await service.store_batch([NewMemory("a", project="p"), NewMemory("b")])
    assert [r.memory.project for r in results] == ["p", None]


# -- auto-captured memories ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["semantic", "hybrid", "lexical"])
async def test_auto_captured_notes_never_crowd_a_curated_memory_out(service, mode):
    await service.store("alpha beta gamma", tags=["decision"])
    await service.store_prepared([service.prepare(NewMemory(f"alpha beta gamma delta epsilon note{i}",
                                                            ["auto-captured"])) for i in range(300)])
    found = await service.retrieve("alpha beta gamma delta epsilon", 5, mode=mode, min_relevance=0.0)
    assert found[0].memory.content == "alpha beta gamma"  # a place of its own, and the first one
    assert len(found) == 5
