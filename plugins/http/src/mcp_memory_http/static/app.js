// The dashboard: search, browse, edit and watch the memories through the REST API and /api/events.

import { ApiError, AuthError, NetworkError, api, auth, listen, parseMetadata, parseTags, upload } from "./api.js";
import { renderChart } from "./chart.js";

const PAGE_SIZE = 10;
const SEARCH_RESULTS = 20;
const TIME_SCAN = 1000; // newest memories read for a time-filtered listing
const CHIP_COUNT = 16;
const TOP_TAGS = 8;
const CHECK_MS = 10000; // how often to look for writes made directly to the database file (no event for those)

const $ = (id) => document.getElementById(id);

const state = {
  mode: "memories", // or "trash"
  project: "", // "" every project, "global" global memories only, else a project (with the global memories)
  projects: [],
  query: "",
  days: "",
  tags: new Set(),
  page: 1,
  items: [],
  view: null,
  allTags: [],
  open: null,
  fresh: new Set(),
  stopLive: null,
  loadSeq: 0,
  total: null,
  lastWriteSeen: 0,
  confirmAction: null,
};

// -- small helpers -------------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const when = (seconds) => dateFormat.format(new Date(seconds * 1000));
const timeEl = (seconds, iso) => el("time", { datetime: iso }, when(seconds));
const preview = (text, n = 80) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function sizeText(mb) {
  if (typeof mb !== "number") return "–";
  return mb < 1 ? `${Math.max(1, Math.round(mb * 1024))} KB` : `${mb.toFixed(1)} MB`;
}

function showAlert(message) {
  $("alert-text").textContent = message;
  $("alert").hidden = false;
}

function hideAlert() {
  $("alert").hidden = true;
}

function toast(message) {
  const node = el("div", { class: "toast" }, message);
  $("toasts").append(node);
  setTimeout(() => node.remove(), 4000);
}

function setLive(status) {
  const labels = { live: "● Live", reconnecting: "Reconnecting…", offline: "Offline", connecting: "Connecting…" };
  $("live").dataset.state = status;
  $("live").textContent = labels[status];
}

function fieldError(id, message) {
  const node = $(id);
  node.textContent = message || "";
  node.hidden = !message;
}

/** Show what went wrong: a 401 asks for the key again, the rest goes to the alert bar. */
function report(err) {
  if (err instanceof AuthError) {
    if (auth.key && err.key !== auth.key) return; // a late answer to a key already replaced
    askForKey(auth.key ? "The server refused this key (401). Check MCP_API_KEY and enter it again." : "");
  } else if (err instanceof NetworkError) {
    showAlert(err.message);
  } else if (err instanceof ApiError) {
    showAlert(`The server answered ${err.status}: ${err.message}`);
  } else {
    showAlert(`Unexpected error: ${err.message}`);
  }
}

const run = (task) => task().catch(report);

// -- API key -------------------------------------------------------------------------------------

function askForKey(message) {
  if (state.stopLive) state.stopLive();
  state.stopLive = null;
  auth.key = "";
  setLive("offline");
  const dialog = $("key-dialog");
  if (message || !dialog.open) fieldError("key-error", message);
  if (!dialog.open) dialog.showModal();
  $("key-input").focus();
}

function connect() {
  hideAlert();
  refreshAll();
  startLive();
}

async function start() {
  let health;
  try {
    health = await api("GET", "/api/health");
  } catch (err) {
    report(err);
    setLive("offline");
    setTimeout(start, 5000);
    return;
  }
  if (health.auth_required && !auth.key) askForKey("");
  else connect();
}

// -- results -------------------------------------------------------------------------------------

const since = () => (state.days ? Date.now() / 1000 - Number(state.days) * 86400 : null);
const scope = () => (state.project ? { project: state.project } : {});
const matchesTags = (memory) => !state.tags.size || memory.tags.some((t) => state.tags.has(t));

async function pageView() {
  const params = new URLSearchParams({ page: state.page, page_size: PAGE_SIZE, ...scope() });
  if (state.tags.size) params.set("tag", [...state.tags].join(","));
  const data = await api("GET", `/api/memories?${params}`);
  return { items: data.memories.map((memory) => ({ memory })), total: data.total, hasMore: data.has_more };
}

async function trashView() {
  const params = new URLSearchParams({ page: state.page, page_size: PAGE_SIZE });
  const data = await api("GET", `/api/trash?${params}`);
  return { items: data.memories.map((memory) => ({ memory })), total: data.total, hasMore: data.has_more, trash: true };
}

async function timeView() {
  const data = await api("POST", "/api/search/by-time", { start: since(), limit: TIME_SCAN, ...scope() });
  const memories = data.memories.filter(matchesTags).sort((a, b) => b.created_at - a.created_at);
  const from = (state.page - 1) * PAGE_SIZE;
  return {
    items: memories.slice(from, from + PAGE_SIZE).map((memory) => ({ memory })), total: memories.length,
    hasMore: from + PAGE_SIZE < memories.length, capped: data.memories.length >= TIME_SCAN,
  };
}

async function searchView() {
  const body = { query: state.query, n_results: state.days ? 100 : SEARCH_RESULTS, ...scope() };
  if (state.tags.size) body.tags = [...state.tags];
  const data = await api("POST", "/api/search", body);
  const start = since();
  const items = data.results.filter((r) => start === null || r.memory.created_at >= start).slice(0, SEARCH_RESULTS);
  return { items, total: items.length, search: true };
}

async function loadResults() {
  const seq = ++state.loadSeq;
  $("results").setAttribute("aria-busy", "true");
  try {
    const view = await (state.mode === "trash" ? trashView()
      : state.query ? searchView() : state.days ? timeView() : pageView());
    if (seq !== state.loadSeq) return;
    if (!view.items.length && state.page > 1 && !view.search) {
      state.page -= 1; // the last page emptied (deletes): show the one before
      await loadResults();
      return;
    }
    state.view = view;
    state.items = view.items;
    renderResults();
  } catch (err) {
    if (seq === state.loadSeq) report(err);
  } finally {
    if (seq === state.loadSeq) $("results").setAttribute("aria-busy", "false");
  }
}

function projectText() {
  if (state.project === "global") return "global memories";
  return state.project ? `project ${state.project} and global memories` : "";
}

function filtersText() {
  const parts = [];
  if (state.project) parts.push(projectText());
  if (state.tags.size) parts.push(`tagged ${[...state.tags].join(" or ")}`);
  if (state.days) parts.push($("time-filter").selectedOptions[0].textContent.toLowerCase());
  return parts.length ? ` · ${parts.join(" · ")}` : "";
}

function relevance(score) {
  const fill = el("span", { class: "relevance-fill" });
  fill.style.width = `${Math.round(score * 100)}%`;
  return el("span", { class: "relevance", title: "Relevance, from 0 to 1" },
    el("span", { class: "relevance-track", "aria-hidden": "true" }, fill), `relevance ${score.toFixed(2)}`);
}

function card(item) {
  const m = item.memory;
  if (m.deleted_at) return trashCard(m);
  const edited = m.updated_at - m.created_at > 1;
  return el("li", { class: state.fresh.has(m.content_hash) ? "card fresh" : "card", dataset: { hash: m.content_hash } },
    el("button", { type: "button", class: "card-content", onclick: () => openMemory(m.content_hash) }, m.content),
    el("div", { class: "card-meta" },
      item.relevance_score !== undefined ? relevance(item.relevance_score) : null,
      m.project ? el("span", { class: "project", title: "Project" }, m.project) : null,
      m.memory_type ? el("span", { class: "type", title: "Type" }, m.memory_type) : null,
      m.tags.map((tag) => el("span", { class: "tag" }, tag)),
      el("span", { class: "grow" }),
      el("span", { class: "dates muted" }, "created ", timeEl(m.created_at, m.created_at_iso),
        edited ? [" · updated ", timeEl(m.updated_at, m.updated_at_iso)] : null)));
}

const REASONS = { deleted: "deleted", edited: "earlier version", merged: "merged", duplicate: "duplicate",
  expired: "expired" };

function trashCard(m) {
  return el("li", { class: "card", dataset: { hash: m.content_hash } },
    el("p", { class: "card-content" }, m.content),
    el("div", { class: "card-meta" },
      el("span", { class: "reason" }, REASONS[m.deleted_reason] || m.deleted_reason || "deleted"),
      m.project ? el("span", { class: "project", title: "Project" }, m.project) : null,
      m.tags.map((tag) => el("span", { class: "tag" }, tag)),
      el("span", { class: "grow" }),
      el("span", { class: "dates muted" }, "deleted ", timeEl(m.deleted_at, m.deleted_at_iso)),
      el("span", { class: "trash-actions" },
        el("button", { type: "button", onclick: () => run(() => restore(m)) }, "Restore"),
        el("button", { type: "button", class: "danger", onclick: () => askPurge(m) }, "Delete forever"))));
}

function renderResults() {
  const view = state.view;
  $("results-heading").textContent = view.trash ? "Trash" : view.search ? "Search results" : "Newest memories";
  $("results").replaceChildren(...state.items.map(card));
  $("empty-trash").hidden = !view.trash || !view.total;
  const empty = $("empty");
  empty.hidden = state.items.length > 0;
  empty.textContent = view.trash ? "The trash is empty."
    : view.search ? "Nothing matches this search." : "No memories here yet: add one, or clear the filters.";
  if (view.trash) {
    const from = (state.page - 1) * PAGE_SIZE + 1;
    $("results-info").textContent = view.total ? `${from}–${from + state.items.length - 1} of ${view.total}` : "";
  } else if (view.search) {
    const results = view.total === 1 ? "1 result" : `${view.total} results`;
    $("results-info").textContent = `${results} for “${state.query}”${filtersText()}`;
  } else {
    const from = (state.page - 1) * PAGE_SIZE + 1;
    const to = from + state.items.length - 1;
    const range = view.total ? `${from}–${to} of ${view.total}${view.capped ? "+" : ""}` : "none";
    $("results-info").textContent = `${range}${filtersText()}`;
  }
  const pages = Math.max(1, Math.ceil(view.total / PAGE_SIZE));
  $("pager").hidden = Boolean(view.search) || pages <= 1;
  $("page-info").textContent = `Page ${state.page} of ${pages}`;
  $("prev-page").disabled = state.page <= 1;
  $("next-page").disabled = !view.hasMore;
}

function reloadFromFirstPage() {
  state.page = 1;
  $("notice").hidden = true;
  loadResults();
}

// -- tags and stats ------------------------------------------------------------------------------

function toggleTag(tag) {
  if (state.tags.has(tag)) state.tags.delete(tag);
  else state.tags.add(tag);
  renderChips();
  reloadFromFirstPage();
}

function renderChips() {
  const shown = state.allTags.slice(0, CHIP_COUNT).map((t) => t.tag);
  for (const tag of state.tags) if (!shown.includes(tag)) shown.push(tag);
  const counts = new Map(state.allTags.map((t) => [t.tag, t.count]));
  const chips = shown.map((tag) => el("button", {
    type: "button", class: "chip", "aria-pressed": String(state.tags.has(tag)), onclick: () => toggleTag(tag),
  }, tag, el("span", { class: "count", "aria-label": `${counts.get(tag) ?? 0} memories` }, String(counts.get(tag) ?? 0))));
  $("tag-chips").replaceChildren(...(chips.length ? chips : [el("span", { class: "muted" }, "No tags yet")]));
}

function renderTopTags() {
  const top = state.allTags.slice(0, TOP_TAGS);
  const max = Math.max(1, ...top.map((t) => t.count));
  $("top-tags").replaceChildren(...top.map((t) => {
    const bar = el("span", { class: "top-bar" });
    bar.style.width = `${Math.round((t.count / max) * 100)}%`;
    return el("li", {}, el("span", { class: "top-name" }, t.tag),
      el("span", { class: "top-track", "aria-hidden": "true" }, bar), el("span", { class: "top-count" }, String(t.count)));
  }));
  if (!top.length) $("top-tags").append(el("li", { class: "muted" }, "No tags yet"));
}

async function loadTags() {
  state.allTags = (await api("GET", `/api/tags?${new URLSearchParams(scope())}`)).tags;
  renderChips();
  renderTopTags();
}

async function loadProjects() {
  state.projects = (await api("GET", "/api/projects")).projects;
  const total = state.projects.reduce((sum, p) => sum + p.count, 0);
  const global = state.projects.find((p) => p.project === null);
  const options = [el("option", { value: "" }, `All projects (${total})`),
    el("option", { value: "global" }, `Global only (${global ? global.count : 0})`)];
  for (const p of state.projects) {
    if (p.project !== null) options.push(el("option", { value: p.project }, `${p.project} (${p.count})`));
  }
  if (state.project && state.project !== "global" && !state.projects.some((p) => p.project === state.project)) {
    options.push(el("option", { value: state.project }, `${state.project} (0)`));
  }
  $("project-filter").replaceChildren(...options);
  $("project-filter").value = state.project;
}

async function loadStats() {
  const offset = -new Date().getTimezoneOffset();
  const params = new URLSearchParams({ days: 30, utc_offset_minutes: offset, ...scope() });
  const [health, timeline] = await Promise.all([
    api("GET", "/api/health/detailed"),
    api("GET", `/api/stats/timeline?${params}`),
  ]);
  const store = health.storage || {};
  const embedder = health.embedder || {};
  state.total = store.total_memories ?? null;
  $("stat-total").textContent = (store.total_memories ?? "–").toLocaleString();
  $("stat-tags").textContent = (store.unique_tags ?? "–").toLocaleString();
  $("stat-size").textContent = sizeText(store.database_size_mb);
  $("stat-backend").textContent = store.backend || "–";
  $("stat-embedder").textContent = embedder.model
    ? `${embedder.model} (${embedder.dimension} dims${embedder.loaded ? "" : ", loads on first use"})`
    : embedder.error || "–";
  $("stat-mode").textContent = health.coordination_mode || "–";
  if (health.status !== "healthy") showAlert(`The store is unhealthy: ${store.error || "see the server log"}`);
  renderChart($("chart"), timeline.days);
}

function refreshAll() {
  run(loadStats);
  run(loadTags);
  run(loadProjects);
  loadResults();
}

// -- live updates --------------------------------------------------------------------------------

let refreshTimer = null;

function refreshSoon(results) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    run(loadStats);
    run(loadTags);
    run(loadProjects);
    if (results) loadResults();
  }, 250);
}

function onEvent(name, data) {
  const hash = data.content_hash;
  state.lastWriteSeen = Date.now();
  const listing = state.mode === "memories" && !state.query;
  if (name === "stored") {
    state.fresh.add(hash);
    toast(`New memory: ${preview(data.memory ? data.memory.content : hash)}`);
    if (state.query && state.mode === "memories") $("notice").hidden = false;
    refreshSoon(listing);
  } else if (name === "updated" && data.memory) {
    replaceItem(data.memory, data.previous_hash);
    refreshSoon(state.mode === "trash" && Boolean(data.previous_hash));
  } else if (name === "deleted") {
    const gone = data.content_hashes || [];
    if (state.mode === "memories") for (const h of gone) removeItem(h);
    if (state.open && gone.includes(state.open.content_hash)) fieldError("memory-error", "This memory was just deleted.");
    refreshSoon(listing || state.mode === "trash");
  } else if (name === "restored" || name === "purged" || name === "ingested" || name === "pruned") {
    refreshSoon(listing || state.mode === "trash");
  }
}

function replaceItem(memory, previous) {
  const hashes = [memory.content_hash, previous];
  state.items = state.items.map((item) => (hashes.includes(item.memory.content_hash) ? { ...item, memory } : item));
  if (state.view) renderResults();
}

function removeItem(hash) {
  state.items = state.items.filter((item) => item.memory.content_hash !== hash);
  if (state.view) renderResults();
}

/** Writes made directly to the database file (the memory CLI, a client with HTTP off) send no event:
 *  a cheap count now and then catches stores and deletes among them. */
async function checkForDirectWrites() {
  if (document.hidden || state.total === null || $("key-dialog").open) return;
  let stats;
  try {
    stats = await api("GET", "/api/stats");
  } catch {
    return; // the live status and the next action report what is wrong
  }
  // a count that moved without a write seen lately (those refresh the page themselves)
  if (stats.total_memories !== state.total && Date.now() - state.lastWriteSeen > CHECK_MS) {
    state.total = stats.total_memories;
    toast("Refreshed: memories were changed directly in the database");
    if (state.query) $("notice").hidden = false;
    refreshSoon(!state.query);
  }
}

function startLive() {
  if (state.stopLive) state.stopLive();
  setLive("connecting");
  state.stopLive = listen({
    onEvent,
    onState: (status, { reconnected }) => {
      setLive(status);
      if (status === "live" && reconnected) { // back after a break: events may have been missed
        hideAlert();
        refreshAll();
      }
    },
    onAuthError: report,
  });
}

// -- one memory: open, edit, delete --------------------------------------------------------------

function fillMemoryDialog(memory) {
  state.open = memory;
  $("memory-content").textContent = memory.content;
  $("memory-created").replaceChildren(timeEl(memory.created_at, memory.created_at_iso));
  $("memory-updated").replaceChildren(timeEl(memory.updated_at, memory.updated_at_iso));
  $("memory-hash").textContent = memory.content_hash;
  $("edit-tags").value = memory.tags.join(", ");
  $("edit-type").value = memory.memory_type || "";
  $("edit-project").value = memory.project || "";
  $("edit-metadata").value = Object.keys(memory.metadata).length ? JSON.stringify(memory.metadata, null, 2) : "";
  $("edit-metadata").removeAttribute("aria-invalid");
  fieldError("edit-metadata-error", "");
  fieldError("memory-error", "");
}

async function openMemory(hash) {
  try {
    fillMemoryDialog(await api("GET", `/api/memories/${encodeURIComponent(hash)}`));
    $("memory-dialog").showModal();
  } catch (err) {
    report(err);
  }
}

function checkedMetadata(fieldId, errorId) {
  const parsed = parseMetadata($(fieldId).value);
  fieldError(errorId, parsed.ok ? "" : parsed.message);
  if (parsed.ok) $(fieldId).removeAttribute("aria-invalid");
  else {
    $(fieldId).setAttribute("aria-invalid", "true");
    $(fieldId).focus();
  }
  return parsed;
}

/** Errors inside a dialog: shown there, except a missing key (asked for) and an unreachable server. */
function dialogError(err, errorId) {
  if (err instanceof AuthError) report(err);
  else fieldError(errorId, err instanceof ApiError ? `The server answered ${err.status}: ${err.message}` : err.message);
}

async function saveMemory(event) {
  event.preventDefault();
  const metadata = checkedMetadata("edit-metadata", "edit-metadata-error");
  if (!metadata.ok) return;
  const hash = state.open.content_hash;
  const body = {
    tags: parseTags($("edit-tags").value), memory_type: $("edit-type").value.trim() || null,
    metadata: metadata.value || {}, merge_metadata: false,
  };
  const project = $("edit-project").value.trim() || null;
  if (project !== state.open.project) body.project = project;
  try {
    const updated = await api("PATCH", `/api/memories/${encodeURIComponent(hash)}`, body);
    replaceItem(updated.memory); // the event follows; this page need not wait for it
    $("memory-dialog").close();
    toast("Changes saved");
  } catch (err) {
    dialogError(err, "memory-error");
  }
}

/** Ask before a destructive action; ``action`` runs on confirmation and reports its own errors. */
function confirmThen({ title, text, note, button, action }) {
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-note").textContent = note;
  $("confirm-delete").textContent = button;
  state.confirmAction = action;
  $("confirm-dialog").showModal();
  $("confirm-cancel").focus();
}

async function confirmed(event) {
  event.preventDefault();
  const action = state.confirmAction;
  state.confirmAction = null;
  $("confirm-dialog").close();
  if (action) await action();
}

function askDelete() {
  confirmThen({
    title: "Delete this memory?", text: `“${preview(state.open.content, 160)}”`,
    note: "It goes to the trash: you can restore it from there.", button: "Delete", action: deleteMemory,
  });
}

async function deleteMemory() {
  const hash = state.open.content_hash;
  try {
    await api("DELETE", `/api/memories/${encodeURIComponent(hash)}`);
    $("memory-dialog").close();
    state.lastWriteSeen = Date.now();
    removeItem(hash);
    refreshSoon(!state.query);
    toast("Moved to the trash");
  } catch (err) {
    dialogError(err, "memory-error");
  }
}

// -- trash -----------------------------------------------------------------------------------------

function setMode(mode) {
  state.mode = mode;
  state.page = 1;
  $("trash-button").setAttribute("aria-pressed", String(mode === "trash"));
  $("trash-button").textContent = mode === "trash" ? "Back to memories" : "Trash";
  $("search-form").hidden = mode === "trash";
  $("tag-chips").parentElement.hidden = mode === "trash";
  $("notice").hidden = true;
  loadResults();
}

async function restore(memory) {
  await api("POST", "/api/trash/restore", { content_hashes: [memory.content_hash] });
  state.lastWriteSeen = Date.now();
  toast(`Restored: ${preview(memory.content)}`);
  refreshSoon(true);
}

function askPurge(memory) {
  confirmThen({
    title: "Delete this memory for good?", text: `“${preview(memory.content, 160)}”`,
    note: "It leaves the trash: this cannot be undone.", button: "Delete forever",
    action: () => run(async () => {
      await api("POST", "/api/trash/purge", { content_hashes: [memory.content_hash] });
      toast("Deleted for good");
      refreshSoon(true);
    }),
  });
}

function askEmptyTrash() {
  const n = state.view ? state.view.total : 0;
  confirmThen({
    title: "Empty the trash?", text: `${n} ${n === 1 ? "memory" : "memories"} in the trash.`,
    note: "They are deleted for good: this cannot be undone.", button: "Empty the trash",
    action: () => run(async () => {
      const answer = await api("POST", "/api/trash/purge", { older_than_days: 0 });
      toast(`Deleted ${answer.purged} for good`);
      refreshSoon(true);
    }),
  });
}

// -- add -----------------------------------------------------------------------------------------

function openAdd() {
  $("add-form").reset();
  $("add-project").value = state.project === "global" ? "" : state.project;
  fieldError("add-metadata-error", "");
  fieldError("add-error", "");
  $("add-dialog").showModal();
  $("add-content").focus();
}

async function addMemory(event) {
  event.preventDefault();
  const content = $("add-content").value.trim();
  if (!content) {
    fieldError("add-error", "Content is empty: type what should be remembered.");
    $("add-content").focus();
    return;
  }
  const metadata = checkedMetadata("add-metadata", "add-metadata-error");
  if (!metadata.ok) return;
  const body = { content, tags: parseTags($("add-tags").value) };
  if ($("add-type").value.trim()) body.memory_type = $("add-type").value.trim();
  if ($("add-project").value.trim()) body.project = $("add-project").value.trim();
  if (metadata.value) body.metadata = metadata.value;
  try {
    const result = await api("POST", "/api/memories", body);
    state.lastWriteSeen = Date.now();
    $("add-dialog").close();
    toast(result.duplicate ? "Already stored: a memory with this exact content exists" : "Memory stored");
    if (!state.query) reloadFromFirstPage();
    refreshSoon(false);
  } catch (err) {
    dialogError(err, "add-error");
  }
}

// -- documents -----------------------------------------------------------------------------------

/** Add files as memories (their chunks), into the selected project; one message per file. */
async function ingestFiles(files) {
  for (const file of files) {
    const params = new URLSearchParams({ name: file.name });
    if (state.project && state.project !== "global") params.set("project", state.project);
    try {
      const result = await upload(`/api/documents?${params}`, file);
      if (result.status === "error") showAlert(`Could not add ${file.name}: ${result.error}`);
      else if (result.status === "unchanged") toast(`${file.name} is already stored, unchanged`);
      else if (result.status === "updated") {
        toast(`Updated ${file.name}: ${result.new_chunks} new, ${result.outdated} outdated to the trash`);
      } else toast(`Added ${file.name}: ${result.chunks} ${result.chunks === 1 ? "memory" : "memories"}`);
      state.lastWriteSeen = Date.now();
    } catch (err) {
      if (err instanceof ApiError && !(err instanceof AuthError)) showAlert(`Could not add ${file.name}: ${err.message}`);
      else report(err);
    }
  }
  refreshSoon(state.mode === "memories" && !state.query);
}

function wireDrop() {
  let depth = 0; // dragenter/dragleave pairs of nested elements
  const hint = $("drop-hint");
  const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  window.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    depth += 1;
    hint.hidden = false;
  });
  window.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) hint.hidden = true;
  });
  window.addEventListener("dragover", (event) => {
    if (carriesFiles(event)) event.preventDefault(); // allow the drop
  });
  window.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    hint.hidden = true;
    ingestFiles([...event.dataTransfer.files]);
  });
}

// -- wiring --------------------------------------------------------------------------------------

function wire() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = $("query").value.trim();
    reloadFromFirstPage();
  });
  $("clear-search").addEventListener("click", () => {
    $("query").value = "";
    state.query = "";
    reloadFromFirstPage();
  });
  $("time-filter").addEventListener("change", () => {
    state.days = $("time-filter").value;
    reloadFromFirstPage();
  });
  $("project-filter").addEventListener("change", () => {
    state.project = $("project-filter").value;
    state.tags.clear();
    run(loadTags);
    run(loadStats);
    reloadFromFirstPage();
  });
  $("trash-button").addEventListener("click", () => setMode(state.mode === "trash" ? "memories" : "trash"));
  $("empty-trash").addEventListener("click", askEmptyTrash);
  $("notice-refresh").addEventListener("click", reloadFromFirstPage);
  $("prev-page").addEventListener("click", () => { state.page -= 1; loadResults(); });
  $("next-page").addEventListener("click", () => { state.page += 1; loadResults(); });
  $("alert-close").addEventListener("click", hideAlert);

  $("memory-form").addEventListener("submit", saveMemory);
  $("memory-close").addEventListener("click", () => $("memory-dialog").close());
  $("memory-dialog").addEventListener("close", () => { state.open = null; });
  $("delete-button").addEventListener("click", askDelete);
  $("confirm-form").addEventListener("submit", confirmed);
  $("confirm-cancel").addEventListener("click", () => $("confirm-dialog").close());

  $("add-button").addEventListener("click", openAdd);
  $("upload-button").addEventListener("click", () => $("upload-input").click());
  $("upload-input").addEventListener("change", () => {
    const files = [...$("upload-input").files];
    $("upload-input").value = "";
    ingestFiles(files);
  });
  wireDrop();
  $("add-form").addEventListener("submit", addMemory);
  $("add-cancel").addEventListener("click", () => $("add-dialog").close());

  $("key-dialog").addEventListener("cancel", (event) => event.preventDefault()); // nothing works without it
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) {
      fieldError("key-error", "Enter the server's MCP_API_KEY.");
      return;
    }
    auth.key = key;
    $("key-input").value = "";
    $("key-dialog").close();
    connect();
  });
}

wire();
start();
setInterval(checkForDirectWrites, CHECK_MS);
