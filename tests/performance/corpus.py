"""A deterministic corpus of realistic short memories (text, tags, type, timestamp) and queries.

The corpus of size n is the first n items of the corpus of any larger size (same seed), so vectors
computed once for the largest size serve every smaller one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mcp_memory.models import content_hash

SEED = 20260101
START = 1_704_067_200.0  # 2024-01-01T00:00:00Z
SPAN = 2 * 365 * 86400.0  # memories spread over two years

PEOPLE = ["Maria", "Tom", "Aisha", "Kenji", "Lucas", "Priya", "Olga", "Samir", "Elena", "David", "Chen", "Fatima",
          "Jonas", "Ines", "Marco", "Yuki", "Noah", "Sara", "Ravi", "Hannah", "Diego", "Lena", "Omar", "Grace"]
TEAMS = ["design", "platform", "billing", "mobile", "data", "security", "support", "sales", "infra", "search"]
PROJECTS = ["atlas", "hermes", "orion", "phoenix", "nimbus", "aurora", "zephyr", "kepler", "vega", "titan"]
SYSTEMS = ["the billing database", "the search index", "the staging cluster", "the CI pipeline",
           "the mobile app backend", "the auth service", "the data warehouse", "the message queue",
           "the payment gateway", "the recommendation service", "the web frontend", "the logging stack"]
TARGETS = ["PostgreSQL 16", "Kubernetes", "a managed Redis", "ClickHouse", "Kafka", "S3 with lifecycle rules",
           "GitHub Actions", "a single ARM instance", "SQLite in WAL mode", "Elasticsearch 8", "Cloud Run",
           "Terraform modules", "a read replica", "gRPC", "OpenTelemetry"]
REASONS = ["to cut the monthly cost", "because the old setup kept timing out", "after the outage last sprint",
           "to simplify on-call", "because latency doubled under load", "to meet the audit requirements",
           "so that deploys take minutes instead of hours", "since the vendor ends support next year",
           "after the load test showed headroom", "to let the data team self-serve"]
TOPICS = ["the Q3 roadmap", "hiring two backend engineers", "the pricing change", "the onboarding flow",
          "GDPR data retention", "the incident review", "dark mode", "the API rate limits", "offline sync",
          "the migration plan", "accessibility fixes", "the customer churn report", "release notes",
          "the on-call rotation", "test coverage", "the design system", "SSO for enterprise customers"]
OUTCOMES = ["we agreed to ship it next month", "postponed until the budget is approved",
            "Maria will write the proposal", "needs a follow-up with legal", "approved with small changes",
            "we will run an A/B test first", "blocked on the security review", "everyone liked the prototype",
            "split into three smaller tickets", "we need more data before deciding"]
FOODS = ["oat milk flat white", "green tea", "sparkling water", "dark roast coffee", "vegetarian food",
         "spicy ramen", "sushi", "espresso without sugar", "chai latte", "mint tea"]
THINGS = ["tabs over spaces", "dark mode in every editor", "short standups", "written specs before coding",
          "async updates over meetings", "Rust for new services", "Python type hints everywhere",
          "squash merges", "feature flags for every release", "pair programming on hard bugs",
          "Vim keybindings", "morning meetings only", "small pull requests", "Postgres over MySQL"]
COMPONENTS = ["the login form", "the CSV export", "the push notifications", "the invoice PDF", "the search box",
              "the file uploader", "the settings page", "the webhook retries", "the cache layer",
              "the date picker", "the checkout page", "the sync worker", "the email templates"]
SYMPTOMS = ["crashes", "times out", "shows stale data", "double-charges customers", "leaks memory",
            "returns a 500 error", "drops the last row", "renders blank", "ignores the time zone",
            "sends duplicate emails", "freezes for several seconds"]
CONDITIONS = ["the file is larger than 10 MB", "the user switches language", "two tabs are open",
              "the network is slow", "the account has no avatar", "daylight saving time starts",
              "the list has more than 1000 items", "the token expires mid-request", "on Safari only"]
FIXES = ["adding a retry with backoff", "an index on created_at", "streaming instead of buffering",
         "pinning the library version", "a database transaction around the write", "a timeout of 30 seconds",
         "normalising to UTC", "debouncing the input", "a unique constraint", "lazy loading the images"]
RELATIONS = ["daughter", "son", "partner", "manager", "brother", "sister", "mentor", "dog", "cat"]
NAMES = ["Mia", "Leo", "Zoe", "Max", "Ava", "Finn", "Ivy", "Kai", "Luna", "Oscar", "Nora", "Theo", "Bruno"]
CITIES = ["Lisbon", "Berlin", "Toronto", "Osaka", "Nairobi", "Madrid", "Oslo", "Austin", "Lyon", "Seoul"]
HOBBIES = ["climbing", "chess", "sourdough baking", "trail running", "watercolour painting", "jazz piano",
           "birdwatching", "cycling", "pottery", "salsa dancing"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the end of the month", "the next release"]
ARTIFACTS = ["the design doc", "the migration script", "the release checklist", "the dashboard",
             "the test plan", "the API docs", "the budget sheet", "the runbook", "the changelog"]
VERBS = ["review", "update", "finish", "rewrite", "share", "archive", "benchmark", "clean up"]
ARTICLES = ["vector databases", "retrieval-augmented generation", "SQLite performance", "team rituals",
            "zero-downtime deploys", "event sourcing", "carbon-aware computing", "prompt caching"]
POINTS = ["measure before optimising", "small batches beat big releases", "indexes matter more than hardware",
          "write the rollback plan first", "most latency hides in the network", "cache invalidation needs owners"]


@dataclass(frozen=True)
class Item:
    """One memory of the corpus."""

    content: str
    tags: list[str]
    memory_type: str
    created_at: float


def _decision(r: random.Random) -> tuple[str, list[str], str]:
    system, target = r.choice(SYSTEMS), r.choice(TARGETS)
    project = r.choice(PROJECTS)
    text = f"Decided to move {system} of project {project} to {target} {r.choice(REASONS)}."
    return text, ["decision", project, r.choice(["infra", "database", "architecture"])], "decision"


def _meeting(r: random.Random) -> tuple[str, list[str], str]:
    person, team, topic = r.choice(PEOPLE), r.choice(TEAMS), r.choice(TOPICS)
    text = f"Meeting with {person} from the {team} team about {topic}: {r.choice(OUTCOMES)}."
    return text, ["meeting", team, person.lower()], "meeting"


def _preference(r: random.Random) -> tuple[str, list[str], str]:
    person = r.choice(PEOPLE)
    if r.random() < 0.5:
        text = f"{person} always orders {r.choice(FOODS)} and prefers {r.choice(THINGS)}."
    else:
        text = f"{person} prefers {r.choice(THINGS)} and dislikes {r.choice(THINGS).split(' over ')[0]} at work."
    return text, ["preference", person.lower()], "preference"


def _bug(r: random.Random) -> tuple[str, list[str], str]:
    component, project = r.choice(COMPONENTS), r.choice(PROJECTS)
    text = (f"Bug in {component} of {project}: it {r.choice(SYMPTOMS)} when {r.choice(CONDITIONS)}; "
            f"fixed by {r.choice(FIXES)}.")
    return text, ["bug", project, r.choice(["frontend", "backend", "performance"])], "bug"


def _todo(r: random.Random) -> tuple[str, list[str], str]:
    project = r.choice(PROJECTS)
    text = (f"TODO: {r.choice(VERBS)} {r.choice(ARTIFACTS)} for {project} before {r.choice(DAYS)} "
            f"with {r.choice(PEOPLE)}.")
    return text, ["todo", project], "todo"


def _fact(r: random.Random) -> tuple[str, list[str], str]:
    person = r.choice(PEOPLE)
    text = (f"{person}'s {r.choice(RELATIONS)} is called {r.choice(NAMES)}, lives in {r.choice(CITIES)} "
            f"and loves {r.choice(HOBBIES)}.")
    return text, ["personal", person.lower()], "fact"


def _note(r: random.Random) -> tuple[str, list[str], str]:
    text = (f"Read an article about {r.choice(ARTICLES)} recommended by {r.choice(PEOPLE)}; "
            f"key point: {r.choice(POINTS)}, relevant to {r.choice(PROJECTS)}.")
    return text, ["reading", "learning"], "note"


KINDS = [(_decision, 3), (_meeting, 4), (_preference, 2), (_bug, 4), (_todo, 3), (_fact, 2), (_note, 2)]


def corpus(n: int, seed: int = SEED) -> list[Item]:
    """``n`` distinct memories (by content hash), the same for the same seed whatever ``n``."""
    r = random.Random(seed)
    makers = [maker for maker, weight in KINDS for _ in range(weight)]
    seen: set[str] = set()
    items: list[Item] = []
    while len(items) < n:
        text, tags, kind = r.choice(makers)(r)
        created = START + r.random() * SPAN
        h = content_hash(text)
        if h in seen:
            continue
        seen.add(h)
        items.append(Item(text, list(dict.fromkeys(tags)), kind, created))
    return items


QUERY_FORMS = [
    lambda r: f"what did we decide about {r.choice(SYSTEMS)}?",
    lambda r: f"why did we move to {r.choice(TARGETS)}",
    lambda r: f"meetings with the {r.choice(TEAMS)} team about {r.choice(TOPICS)}",
    lambda r: f"what does {r.choice(PEOPLE)} like to drink",
    lambda r: f"bugs where {r.choice(COMPONENTS)} {r.choice(SYMPTOMS)}",
    lambda r: f"how was the {r.choice(COMPONENTS)} problem fixed",
    lambda r: f"what is left to do for {r.choice(PROJECTS)}",
    lambda r: f"who lives in {r.choice(CITIES)}",
    lambda r: f"articles about {r.choice(ARTICLES)}",
    lambda r: f"{r.choice(PEOPLE)}'s opinion on {r.choice(THINGS)}",
]


def queries(n: int, seed: int = SEED + 1) -> list[str]:
    """``n`` natural-language questions about the corpus."""
    r = random.Random(seed)
    return [r.choice(QUERY_FORMS)(r) for _ in range(n)]


def tag_queries(n: int, seed: int = SEED + 2) -> list[tuple[list[str], bool]]:
    """``n`` tag searches: mostly one tag, some two tags with any/all."""
    r = random.Random(seed)
    pool = ["decision", "meeting", "bug", "todo", "preference", "personal", "reading", "infra", "frontend",
            *PROJECTS, *TEAMS, *(p.lower() for p in PEOPLE)]
    out = []
    for _ in range(n):
        if r.random() < 0.8:
            out.append(([r.choice(pool)], False))
        else:
            out.append((r.sample(pool, 2), r.random() < 0.5))
    return out


def time_windows(n: int, days: float = 7.0, seed: int = SEED + 3) -> list[tuple[float, float]]:
    """``n`` windows of ``days`` inside the corpus span."""
    r = random.Random(seed)
    width = days * 86400.0
    return [(s, s + width) for s in (START + r.random() * (SPAN - width) for _ in range(n))]
