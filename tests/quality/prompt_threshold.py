#!/usr/bin/env python3
"""How the UserPromptSubmit relevance threshold (MCP_MEMORY_CLAUDE_PROMPT_RELEVANCE) trades noise for recall.

Stores invented project memories, asks invented prompts (some about a stored memory, some not) through the same
``retrieve`` call as the hook, and prints, for each threshold, how many prompts about a memory get it (recall)
and how many unrelated prompts get anything (noise). Uses the configured store and embedder in a temporary
database.

usage: python tests/quality/prompt_threshold.py [--backend sqlite_vec]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from mcp_memory.config import Settings
from mcp_memory.inputs import Scope
from mcp_memory.service import open_service

MEMORIES = [
    "We use Postgres 16 for the billing service; MySQL is not an option.",
    "Never push directly to main; every change goes through a pull request.",
    "The staging database is reset every Sunday night.",
    "Our CI runs on GitHub Actions with self-hosted runners.",
    "Dana owns the design system; ask her before changing colours.",
    "We decided to keep rate limiting in the Kong gateway, not in the app.",
    "I prefer small focused commits with imperative subject lines.",
    "The integration suite needs docker compose v2 and takes about six minutes.",
    "Uploaded files go to S3; the database keeps only the object key.",
    "Password hashes use Argon2id with the library defaults.",
    "Feature flags live in LaunchDarkly, not in environment variables.",
    "The nightly billing report runs at 02:00 UTC from Celery beat.",
    "Use structlog for logging, never print.",
    "The mobile app still calls the v1 endpoints, so v1 stays until June.",
    "Customer IDs are UUIDv7, sortable by creation time.",
]
#: (prompt, index of the memory it is about, or None)
PROMPTS = [
    ("which postgres version does billing use", 0), ("can I push this fix straight to main", 1),
    ("the data I put in staging on Friday is gone, why", 2), ("where do our CI jobs run", 3),
    ("change the primary button colour to teal", 4), ("add rate limiting to the upload endpoint", 5),
    ("commit these changes", 6), ("run the integration tests", 7), ("store the uploaded invoice file", 8),
    ("how are passwords hashed", 9), ("add a feature flag for the new checkout", 10),
    ("when does the billing report run", 11), ("add some debug output to the retry loop", 12),
    ("can we remove the v1 endpoints", 13), ("generate ids for the new orders table", 14),
    ("write a haiku about autumn", None), ("what is the capital of Australia", None),
    ("explain how python generators work", None), ("fix the typo in the README title", None),
    ("convert this list comprehension to a loop", None), ("rename the variable x to count", None),
    ("what does HTTP 418 mean", None), ("sort these names alphabetically", None),
    ("center this div with flexbox", None), ("summarise the last paragraph", None),
]


async def main(backend: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "threshold.db"
        settings = Settings.from_env().with_changes(storage_backend=backend, MCP_MEMORY_SQLITE_PATH=str(db))
        service = await open_service(settings, location=str(db))
        try:
            hashes = [(await service.store(text, project="p")).memory.content_hash for text in MEMORIES]
            rows = []
            for prompt, about in PROMPTS:
                found = await service.retrieve(prompt, n_results=3, min_relevance=0.0, scope=Scope.of(project="p"))
                scores = {r.memory.content_hash: r.relevance_score for r in found}
                rows.append((prompt, about, scores.get(hashes[about], 0.0) if about is not None else None,
                             max(scores.values(), default=0.0)))
        finally:
            await service.close()
    for prompt, about, own, top in rows:
        label = f"about #{about}" if about is not None else "unrelated"
        shown = f"{own:.3f}" if own is not None else "-"
        print(f"{label:<10} own {shown:<6} top {top:.3f}  {prompt}")
    related = [r for r in rows if r[1] is not None]
    unrelated = [r for r in rows if r[1] is None]
    print(f"\n{'threshold':>9} {'recall':>7} {'noise':>6}")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        recall = sum(1 for r in related if r[2] >= threshold) / len(related)
        noise = sum(1 for r in unrelated if r[3] >= threshold) / len(unrelated)
        print(f"{threshold:>9.2f} {recall:>7.2f} {noise:>6.2f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="sqlite_vec")
    sys.exit(asyncio.run(main(parser.parse_args().backend)))
