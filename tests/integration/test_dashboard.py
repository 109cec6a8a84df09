"""The web dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright; nothing downloads a
browser) against real ``memory http`` processes on 127.0.0.1: add, search, filter by tag, edit, delete, a memory
stored by another process appearing live, paging and the time filter, projects, the trash, the API-key flow, the
error messages, and the API docs page with the network blocked.

The main flow runs on the real stack (sqlite-vec and the real MiniLM model); the other tests use the HashEmbedder
and the in-memory test store. Screenshots are saved in artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from playwright.sync_api import Page, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))

from processes import API_KEY, HttpServer, base_env, free_port, memory_command  # noqa: E402

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("MCP_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).parents[2] / "artifacts" / "screenshots"
WAIT_MS = 30_000
MAX_CONTENT = 2000

expect.set_options(timeout=WAIT_MS)

needs_real_stack = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("mcp_memory_sqlite_vec", "mcp_memory_onnx")),
    reason="the real stack (sqlite_vec store, onnx embedder) is not installed")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = (f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
                   "scripts/test.sh does it when run as root")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def real_server(tmp_path_factory):
    """The real stack: sqlite-vec and the real model (loaded in the background at start)."""
    tmp = tmp_path_factory.mktemp("dashboard")
    env = base_env(tmp / "m.db", free_port(), hash_embedder=False, MCP_MEMORY_WARMUP="true",
                   MCP_MEMORY_MAX_CONTENT_LENGTH=str(MAX_CONTENT))
    server = HttpServer(env, tmp / "server.log", hash_embedder=False).wait_ready()
    yield server
    server.stop()


@pytest.fixture
def hash_server(tmp_path):
    """Starts a fresh HashEmbedder server, with or without the API key; stops them all afterwards."""
    started = []

    def start(**extra: str) -> HttpServer:
        env = base_env(tmp_path / f"m{len(started)}.db", free_port(), store="memory", **extra)
        server = HttpServer(env, tmp_path / f"server{len(started)}.log").wait_ready()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class Dashboard:
    """One browser tab on the dashboard, with the console errors it logged."""

    def __init__(self, page: Page, url: str):
        self.page, self.url = page, url
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.set_default_timeout(WAIT_MS)
        page.goto(url)

    def card(self, text: str):
        return self.page.locator("#results > li.card", has_text=text)

    def cards(self):
        return self.page.locator("#results > li.card")

    def chip(self, tag: str):
        return self.page.locator("#tag-chips button.chip", has_text=tag)

    def wait_loaded(self) -> Dashboard:
        expect(self.page.locator("#live")).to_have_text("● Live")
        expect(self.page.locator("#results")).to_have_attribute("aria-busy", "false")
        expect(self.page.locator("#chart svg")).to_be_visible()
        return self

    def search(self, query: str) -> None:
        self.page.get_by_label("Search memories by meaning").fill(query)
        self.page.get_by_role("button", name="Search", exact=True).click()
        expect(self.page.locator("#results-heading")).to_have_text("Search results")
        expect(self.page.locator("#results-info")).to_contain_text(query)

    def open(self, text: str) -> None:
        self.card(text).locator(".card-content").click()
        expect(self.page.locator("#memory-dialog")).to_be_visible()
        expect(self.page.locator("#memory-content")).to_have_text(text)

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def dashboard(browser):
    """Opens a fresh tab (own session storage) at a URL; the tabs close after the test."""
    contexts = []

    def open_tab(url: str) -> Dashboard:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        return Dashboard(context.new_page(), url)

    yield open_tab
    for context in contexts:
        context.close()


def rest(server: HttpServer, method: str, path: str, key: str | None = None, **kwargs) -> httpx2.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx2.request(method, server.url + path, headers=headers, timeout=60, **kwargs)


def store(server: HttpServer, content: str, key: str | None = None, **fields) -> dict:
    response = rest(server, "POST", "/api/memories", key, json={"content": content, **fields})
    assert response.status_code == 201, response.text
    return response.json()["memory"]


SEEDS = [
    ("Team lunch is on Fridays at noon in the cafeteria", ["team"], "note"),
    ("Alice prefers asynchronous code reviews over meetings", ["team", "people"], "fact"),
    ("Backups run nightly at 02:00 UTC and are kept for 30 days", ["infra", "backup"], "fact"),
    ("Use ruff for linting and keep lines under 120 characters", ["code-style"], "decision"),
    ("Customer Acme asked for single sign-on with Okta in the first quarter", ["customers"], "note"),
]
POSTGRES = "The staging database was upgraded to PostgreSQL 16 last week"


@needs_real_stack
def test_add_search_filter_edit_delete_with_the_real_model(dashboard, real_server):
    for content, tags, memory_type in SEEDS:
        store(real_server, content, tags=tags, memory_type=memory_type)
    tab = dashboard(real_server.url + "/").wait_loaded()
    page = tab.page
    expect(tab.cards()).to_have_count(len(SEEDS))
    expect(page.locator("#stat-backend")).to_have_text("sqlite_vec")
    expect(page.locator("#stat-embedder")).to_contain_text("all-MiniLM-L6-v2")
    expect(page.locator("#stat-mode")).to_have_text("http_server")
    expect(page.locator("#chart svg")).to_have_attribute("aria-label", f"{len(SEEDS)} stored in the last 30 days"
                                                         f"; most on {_today_label(page)} ({len(SEEDS)})")

    # add, with a metadata field that is first wrong, then right
    page.get_by_role("button", name="Add memory").click()
    page.get_by_label("Content").fill(POSTGRES)
    page.locator("#add-tags").fill("Infra, database")
    page.locator("#add-type").fill("decision")
    page.locator("#add-metadata").fill('["not", "an object"]')
    page.get_by_role("button", name="Store memory").click()
    expect(page.locator("#add-metadata-error")).to_contain_text("must be a JSON object")
    page.locator("#add-metadata").fill('{"source": "standup"}')
    page.get_by_role("button", name="Store memory").click()
    expect(page.locator("#add-dialog")).to_be_hidden()
    expect(tab.card(POSTGRES)).to_be_visible()
    expect(tab.cards().first).to_contain_text(POSTGRES)  # newest first
    expect(tab.card(POSTGRES).locator(".tag")).to_have_text(["infra", "database"])
    expect(page.locator("#stat-total")).to_have_text(str(len(SEEDS) + 1))
    stored = _find(real_server, POSTGRES)
    assert stored["memory_type"] == "decision" and stored["metadata"] == {"source": "standup"}
    tab.shot("dashboard-browse")

    # semantic search: no shared keyword with the stored text
    tab.search("which version of postgres does staging run?")
    expect(tab.cards().first).to_contain_text(POSTGRES)
    expect(tab.cards().first.locator(".relevance")).to_contain_text("relevance 0.")
    tab.shot("dashboard-search")

    # filter by tag (any of the chips pressed), in browse mode
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#results-heading")).to_have_text("Newest memories")
    tab.chip("team").click()
    expect(tab.chip("team")).to_have_attribute("aria-pressed", "true")
    expect(tab.cards()).to_have_count(2)
    for i in range(2):
        expect(tab.cards().nth(i).locator(".tag", has_text="team")).to_have_count(1)
    tab.chip("backup").click()
    expect(tab.cards()).to_have_count(3)
    expect(page.locator("#results-info")).to_contain_text("tagged team or backup")
    tab.shot("dashboard-tag-filter")
    tab.chip("team").click()
    tab.chip("backup").click()
    expect(tab.cards()).to_have_count(len(SEEDS) + 1)

    # edit tags, type and metadata; invalid JSON is refused in the page and nothing is sent
    tab.open(POSTGRES)
    editor = page.locator("#memory-dialog")
    expect(editor.get_by_label("Metadata")).to_have_value(json.dumps({"source": "standup"}, indent=2))
    editor.get_by_label("Tags").fill("infra, database, postgres")
    editor.get_by_label("Type").fill("fact")
    editor.get_by_label("Metadata").fill('{"source": "standup", reviewed: true}')
    editor.get_by_role("button", name="Save changes").click()
    expect(page.locator("#edit-metadata-error")).to_contain_text("Metadata is not valid JSON")
    expect(page.locator("#edit-metadata")).to_have_attribute("aria-invalid", "true")
    tab.shot("dashboard-edit-invalid-json")
    assert _find(real_server, POSTGRES)["tags"] == ["infra", "database"]
    editor.get_by_label("Metadata").fill('{"source": "standup", "reviewed": true}')
    editor.get_by_role("button", name="Save changes").click()
    expect(page.locator("#memory-dialog")).to_be_hidden()
    expect(tab.card(POSTGRES).locator(".tag")).to_have_text(["infra", "database", "postgres"])
    expect(tab.card(POSTGRES).locator(".type")).to_have_text("fact")
    edited = _find(real_server, POSTGRES)
    assert edited["tags"] == ["infra", "database", "postgres"] and edited["memory_type"] == "fact"
    assert edited["metadata"] == {"source": "standup", "reviewed": True}

    # delete asks first; cancel keeps it, confirm moves it to the trash
    tab.open(POSTGRES)
    page.get_by_role("button", name="Delete…").click()
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text(POSTGRES)
    expect(confirm).to_contain_text("It goes to the trash")
    tab.shot("dashboard-delete-confirm")
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    assert rest(real_server, "GET", f"/api/memories/{edited['content_hash']}").status_code == 200
    page.get_by_role("button", name="Delete…").click()
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.locator("#memory-dialog")).to_be_hidden()
    expect(tab.card(POSTGRES)).to_have_count(0)
    expect(page.locator("#stat-total")).to_have_text(str(len(SEEDS)))
    assert rest(real_server, "GET", f"/api/memories/{edited['content_hash']}").status_code == 404
    assert tab.errors == []


def store_through_an_mcp_client(env: dict[str, str], log: Path, content: str, tags: list[str]) -> str:
    """A real stdio ``memory`` process, as Claude Desktop starts it, stores with the MCP tool; returns its mode."""
    async def main() -> str:
        cmd = memory_command(hash_embedder=False)
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)
        with open(log, "w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=120) as client:
                stored = await client.call_tool("store_memory", {"content": content, "tags": tags})
                assert not stored.is_error, stored.content[0].text
                health = await client.call_tool("check_database_health", {})
                return health.structured_content["coordination_mode"]

    with ThreadPoolExecutor(1) as pool:  # its own event loop, beside Playwright's
        return pool.submit(asyncio.run, main()).result(timeout=180)


@needs_real_stack
def test_memories_stored_by_other_processes_appear_live(dashboard, real_server, tmp_path):
    tab = dashboard(real_server.url + "/").wait_loaded()
    page = tab.page
    before = int(page.locator("#stat-total").inner_text())
    page.evaluate("window.notReloaded = true")

    # an MCP client process using the server: the write arrives as a server-sent event
    content = "The on-call rotation switches every Monday at 09:00"
    mode = store_through_an_mcp_client(real_server.env, tmp_path / "client.log", content, ["oncall", "team"])
    assert mode == "http_client"
    expect(tab.card(content)).to_be_visible()
    expect(tab.cards().first).to_contain_text(content)
    expect(tab.card(content)).to_have_class("card fresh")
    expect(page.locator("#toasts")).to_contain_text("New memory: The on-call rotation")
    expect(page.locator("#stat-total")).to_have_text(str(before + 1))
    expect(tab.chip("oncall")).to_be_visible()
    tab.shot("dashboard-live")

    # an edit and a delete by another client show up too
    hash_ = _find(real_server, content)["content_hash"]
    assert rest(real_server, "PATCH", f"/api/memories/{hash_}", json={"tags": ["oncall", "rota"]}).status_code == 200
    expect(tab.card(content).locator(".tag")).to_have_text(["oncall", "rota"])
    assert rest(real_server, "DELETE", f"/api/memories/{hash_}").status_code == 200
    expect(tab.card(content)).to_have_count(0)

    # `memory store` uses the running server too: its write arrives as an event
    via_cli = "Stored by the memory CLI through the running server"
    done = subprocess.run([*memory_command(hash_embedder=False), "store", via_cli, "--tags", "cli"],
                          env=real_server.env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    expect(tab.card(via_cli)).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("New memory: Stored by the memory CLI")

    # a process with HTTP coordination off writes to the database file directly (no event):
    # the periodic count check finds it
    direct = "Written straight into the database file with HTTP coordination off"
    done = subprocess.run([*memory_command(hash_embedder=False), "store", direct, "--tags", "cli"],
                          env={**real_server.env, "MCP_HTTP_ENABLED": "false"},
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    expect(tab.card(direct)).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("changed directly in the database")
    assert page.evaluate("window.notReloaded") is True
    assert tab.errors == []


def test_paging_newest_first_and_the_time_filter(dashboard, hash_server):
    server = hash_server()
    now = time.time()
    recent = [f"paging memory {i:02d}, {i} hours old" for i in range(11)]
    old = ["paging memory from six weeks ago", "paging memory from two months ago"]
    for i, content in enumerate(recent):
        store(server, content, tags=["paging"], created_at=now - i * 3600)
    store(server, old[0], tags=["paging"], created_at=now - 42 * 86400)
    store(server, old[1], tags=["archive"], created_at=now - 60 * 86400)
    tab = dashboard(server.url + "/").wait_loaded()
    page = tab.page

    expect(page.locator("#page-info")).to_have_text("Page 1 of 2")
    expect(tab.cards()).to_have_count(10)
    expect(tab.cards().locator(".card-content")).to_have_text(recent[:10])
    expect(page.get_by_role("button", name="← Newer")).to_be_disabled()
    page.get_by_role("button", name="Older →").click()
    expect(page.locator("#page-info")).to_have_text("Page 2 of 2")
    expect(tab.cards().locator(".card-content")).to_have_text([recent[10], *old])
    expect(page.get_by_role("button", name="Older →")).to_be_disabled()
    expect(page.locator("#results-info")).to_have_text("11–13 of 13")
    tab.shot("dashboard-page-2")

    page.get_by_label("Time").select_option(label="Last 7 days")
    expect(page.locator("#page-info")).to_have_text("Page 1 of 2")
    expect(page.locator("#results-info")).to_have_text("1–10 of 11 · last 7 days")
    page.get_by_role("button", name="Older →").click()
    expect(tab.cards().locator(".card-content")).to_have_text([recent[10]])
    page.get_by_label("Time").select_option(label="Last 12 months")
    tab.chip("archive").click()
    expect(tab.cards().locator(".card-content")).to_have_text([old[1]])
    expect(page.locator("#pager")).to_be_hidden()
    # the chart counts the days of the last 30 only
    expect(page.locator("#chart figcaption")).to_contain_text("11 stored in the last 30 days")
    assert tab.errors == []


def test_api_key_asked_once_per_session_and_sent_on_every_call(dashboard, hash_server):
    server = hash_server(MCP_API_KEY=API_KEY)
    store(server, "Keyed memory: the deploy freeze starts on December 20", key=API_KEY, tags=["release"])
    assert rest(server, "GET", "/").status_code == 200  # the page itself needs no key
    assert rest(server, "GET", "/api/memories").status_code == 401
    tab = dashboard(server.url + "/")
    page = tab.page
    key_dialog = page.locator("#key-dialog")
    expect(key_dialog).to_be_visible()
    expect(tab.cards()).to_have_count(0)
    tab.shot("dashboard-key-asked")

    page.get_by_role("textbox", name="API key").fill("not-the-key")
    page.get_by_role("button", name="Connect").click()
    expect(key_dialog).to_be_visible()
    expect(page.locator("#key-error")).to_contain_text("refused this key")
    assert page.evaluate("sessionStorage.length") == 0  # a refused key is not kept
    tab.shot("dashboard-key-refused")

    page.get_by_role("textbox", name="API key").fill(API_KEY)
    page.get_by_role("button", name="Connect").click()
    expect(key_dialog).to_be_hidden()
    tab.wait_loaded()  # "Live": the event stream is authenticated too
    expect(tab.card("deploy freeze")).to_be_visible()
    expect(page.locator("#stat-total")).to_have_text("1")
    store(server, "Keyed memory stored elsewhere: staging is frozen too", key=API_KEY)
    expect(tab.card("staging is frozen too")).to_be_visible()

    page.reload()  # same tab, same session: not asked again
    tab.wait_loaded()
    expect(key_dialog).to_be_hidden()
    expect(tab.cards()).to_have_count(2)
    assert API_KEY not in server.log()
    # the console shows the refused requests as 401 resources, and nothing else
    assert [e for e in tab.errors if "401" not in e] == []


def test_errors_are_shown_clearly(dashboard, hash_server):
    server = hash_server(MCP_MEMORY_MAX_CONTENT_LENGTH=str(MAX_CONTENT))
    tab = dashboard(server.url + "/").wait_loaded()
    page = tab.page

    # a 4xx from the server, shown in the dialog with its message
    page.get_by_role("button", name="Add memory").click()
    page.get_by_role("button", name="Store memory").click()
    expect(page.locator("#add-error")).to_have_text("Content is empty: type what should be remembered.")
    page.get_by_label("Content").fill("x" * (MAX_CONTENT + 1))
    page.get_by_role("button", name="Store memory").click()
    expect(page.locator("#add-error")).to_contain_text("The server answered 400: content has 2,001 characters")
    expect(page.locator("#add-dialog")).to_be_visible()
    tab.shot("dashboard-error-4xx")
    page.get_by_role("button", name="Cancel").click()

    # the server goes away: the live status says so and a search explains what is wrong
    server.stop()
    expect(page.locator("#live")).not_to_have_text("● Live")
    page.get_by_label("Search memories by meaning").fill("anything")
    page.get_by_role("button", name="Search", exact=True).click()
    alert = page.locator("#alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Cannot reach the memory server")
    expect(alert).to_contain_text('is "memory http" still running?')
    tab.shot("dashboard-error-offline")

    # the server comes back on the same port: the page reconnects by itself and clears the message
    back = HttpServer(server.env, server.log_path).wait_ready()
    try:
        store(back, "Stored while the page was reconnecting")
        expect(page.locator("#live")).to_have_text("● Live")
        expect(alert).to_be_hidden()
        page.get_by_role("button", name="Clear").click()
        expect(tab.card("Stored while the page was reconnecting")).to_be_visible()
    finally:
        back.stop()
    page.get_by_label("Search memories by meaning").fill("anything")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(alert).to_be_visible()
    page.get_by_role("button", name="Dismiss the message").click()
    expect(alert).to_be_hidden()


def test_projects_and_the_trash(dashboard, hash_server):
    server = hash_server(MCP_MEMORY_DUPLICATE_THRESHOLD="off", MCP_MEMORY_MIN_RELEVANCE="0")
    store(server, "Billing retries failed charges three times", project="billing", tags=["payments"])
    store(server, "Invoices are emailed on the first of the month", project="billing", tags=["payments"])
    store(server, "The gateway times out after 30 seconds", project="gateway", tags=["timeouts"])
    store(server, "Lunch is on Fridays at noon", tags=["team"])
    obsolete = store(server, "The old staging host was staging-01", project="gateway", tags=["infra"])
    assert rest(server, "DELETE", f"/api/memories/{obsolete['content_hash'][:10]}").status_code == 200
    tab = dashboard(server.url + "/").wait_loaded()
    page = tab.page

    # the selector lists every project with its count; all projects by default
    selector = page.get_by_label("Project", exact=True)
    expect(selector.locator("option")).to_have_text(["All projects (4)", "Global only (1)", "billing (2)",
                                                     "gateway (1)"])
    expect(selector).to_have_value("")
    expect(tab.cards()).to_have_count(4)
    expect(tab.card("Billing retries").locator(".project")).to_have_text("billing")
    selector.select_option(label="billing (2)")
    expect(tab.cards()).to_have_count(3)  # the project and the global memories
    expect(page.locator("#results-info")).to_contain_text("project billing and global memories")
    expect(tab.chip("timeouts")).to_have_count(0)  # tags of the project and global memories only
    tab.shot("dashboard-project")
    page.get_by_label("Search memories by meaning").fill("gateway timeout seconds")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#results-info")).to_contain_text("3 results for “gateway timeout seconds”")
    expect(page.locator("#results-info")).to_contain_text("project billing and global memories")
    expect(tab.cards()).to_have_count(3)  # billing's two and the global one (no floor here): never gateway's
    expect(page.locator("#results")).not_to_contain_text("gateway times out")
    page.get_by_role("button", name="Clear").click()
    selector.select_option(label="Global only (1)")
    expect(tab.cards().locator(".card-content")).to_have_text(["Lunch is on Fridays at noon"])

    # a memory added while a project is selected goes to that project (the field says so, and can be changed)
    selector.select_option(label="gateway (1)")
    page.get_by_role("button", name="Add memory").click()
    expect(page.locator("#add-project")).to_have_value("gateway")
    page.get_by_label("Content").fill("The gateway retries idempotent requests once")
    page.get_by_role("button", name="Store memory").click()
    expect(tab.card("retries idempotent requests")).to_be_visible()
    assert _find(server, "The gateway retries idempotent requests once")["project"] == "gateway"
    expect(selector.locator("option", has_text="gateway")).to_have_text("gateway (2)")

    # the trash: the deleted memory is there, with why; restore brings it back
    page.get_by_role("button", name="Trash").click()
    expect(page.locator("#results-heading")).to_have_text("Trash")
    expect(page.locator("#search-form")).to_be_hidden()
    expect(tab.cards()).to_have_count(1)
    expect(tab.card("staging-01").locator(".reason")).to_have_text("deleted")
    tab.shot("dashboard-trash")
    tab.card("staging-01").get_by_role("button", name="Restore").click()
    expect(tab.cards()).to_have_count(0)
    expect(page.locator("#empty")).to_have_text("The trash is empty.")
    assert rest(server, "GET", f"/api/memories/{obsolete['content_hash']}").status_code == 200

    # deleting from the dashboard moves to the trash; "Delete forever" purges after asking
    page.get_by_role("button", name="Back to memories").click()
    selector.select_option(label="All projects (6)")
    tab.open("The old staging host was staging-01")
    page.get_by_role("button", name="Delete…").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete", exact=True).click()
    expect(tab.card("staging-01")).to_have_count(0)
    page.get_by_role("button", name="Trash").click()
    expect(tab.cards()).to_have_count(1)
    tab.card("staging-01").get_by_role("button", name="Delete forever").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("this cannot be undone")
    page.locator("#confirm-dialog").get_by_role("button", name="Delete forever").click()
    expect(tab.cards()).to_have_count(0)
    assert rest(server, "GET", "/api/trash").json()["total"] == 0

    # a delete by another client shows up in the open trash view; "Empty the trash" purges all of it
    lunch = _find(server, "Lunch is on Fridays at noon")["content_hash"]
    assert rest(server, "DELETE", f"/api/memories/{lunch}").status_code == 200
    expect(tab.card("Lunch is on Fridays")).to_be_visible()
    page.get_by_role("button", name="Empty the trash…").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Empty the trash").click()
    expect(page.locator("#empty")).to_have_text("The trash is empty.")
    assert rest(server, "GET", "/api/trash").json()["total"] == 0
    assert tab.errors == []


def test_documents_are_added_by_picking_or_dropping_files(dashboard, hash_server, tmp_path):
    server = hash_server(MCP_MEMORY_DUPLICATE_THRESHOLD="off")
    store(server, "A memory of the billing project", project="billing")
    tab = dashboard(server.url + "/").wait_loaded()
    page = tab.page
    page.get_by_label("Project", exact=True).select_option(label="billing (1)")
    runbook = tmp_path / "runbook.md"
    runbook.write_text("# Runbook\n\nRestart the billing worker with make restart.\n\n## Escalation\n\n"
                       "Page the billing on-call engineer.\n")
    page.locator("#upload-input").set_input_files(str(runbook))
    expect(page.locator("#toasts")).to_contain_text("Added runbook.md: 2 memories")
    expect(tab.card("Page the billing on-call engineer")).to_be_visible()
    chunks = rest(server, "POST", "/api/search/by-tag", json={"tags": ["runbook.md"]}).json()["memories"]
    assert len(chunks) == 2 and {m["project"] for m in chunks} == {"billing"}
    assert {m["metadata"]["source"] for m in chunks} == {"upload:runbook.md"}

    # a drop on the page: the same file again is unchanged, a new one is added, an unreadable one is reported
    dropped = page.evaluate_handle("""() => {
        const data = new DataTransfer();
        data.items.add(new File(["# Runbook\\n\\nRestart the billing worker with make restart.\\n\\n## Escalation"
                                 + "\\n\\nPage the billing on-call engineer.\\n"], "runbook.md"));
        data.items.add(new File(["Invoices are generated on the first day of the month."], "invoices.txt"));
        data.items.add(new File([new Uint8Array([0, 1, 2])], "blob.unknown"));
        return data;
    }""")
    page.dispatch_event("body", "dragenter", {"dataTransfer": dropped})
    expect(page.locator("#drop-hint")).to_be_visible()
    tab.shot("dashboard-drop")
    page.dispatch_event("body", "drop", {"dataTransfer": dropped})
    expect(page.locator("#drop-hint")).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text("runbook.md is already stored, unchanged")
    expect(page.locator("#toasts")).to_contain_text("Added invoices.txt: 1 memory")
    expect(page.locator("#alert")).to_contain_text("Could not add blob.unknown")
    expect(tab.card("Invoices are generated")).to_be_visible()
    assert [e for e in tab.errors if "blob.unknown" not in e] == []


def test_the_api_docs_work_offline(browser, hash_server):
    """/docs shows every endpoint with nothing but this server reachable (no CDN, no other host)."""
    server = hash_server()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    elsewhere: list[str] = []

    def only_this_server(route) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(server.url + "/docs")
        paths = rest(server, "GET", "/openapi.json").json()["paths"]
        operations = page.locator("details.operation")
        expect(operations).to_have_count(sum(len(item) for item in paths.values()))
        for path in ("/api/memories", "/api/trash/restore", "/api/documents", "/api/search"):
            expect(page.locator("code.path", has_text=path).first).to_be_visible()
        restore = page.locator("details.operation", has=page.locator("code.path", has_text="/api/trash/restore"))
        restore.locator("summary").click()
        expect(restore).to_contain_text("RestoreRequest")
        expect(restore.locator("tr", has_text="422")).to_contain_text("ErrorBody")
        page.get_by_placeholder("Filter, e.g. trash or /api/search").fill("trash")
        expect(page.locator("details.operation:visible")).to_have_count(3)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "api-docs.png"))
        assert elsewhere == [] and errors == []
    finally:
        context.close()


def test_the_api_docs_ask_for_the_key(browser, hash_server):
    server = hash_server(MCP_API_KEY=API_KEY)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url + "/docs")
        expect(page.get_by_label("API key")).to_be_visible()
        page.get_by_label("API key").fill("not-the-key")
        page.get_by_role("button", name="Show the API").click()
        expect(page.locator("#docs-key-error")).to_contain_text("refused this key")
        page.get_by_label("API key").fill(API_KEY)
        page.get_by_role("button", name="Show the API").click()
        expect(page.locator("code.path", has_text="/api/memories").first).to_be_visible()
        expect(page.locator("#docs-key-form")).to_be_hidden()
    finally:
        context.close()


def _find(server: HttpServer, content: str) -> dict:
    response = rest(server, "POST", "/api/search/exact", json={"content": content})
    memory = response.json()["memory"]
    assert memory is not None, f"not stored: {content}"
    return memory


def _today_label(page: Page) -> str:
    return page.evaluate("new Date().toLocaleDateString(undefined, {month: 'short', day: 'numeric'})")
