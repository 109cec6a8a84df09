// The REST API and the event stream, with the API key kept for this browser tab only.

const KEY_NAME = "mcp-memory-api-key";

export class ApiError extends Error {
  constructor(status, name, detail) {
    super(detail);
    this.status = status;
    this.name = name || "ApiError";
  }
}

/** 401: no key, or the wrong one. */
export class AuthError extends ApiError {}

/** The server could not be reached at all. */
export class NetworkError extends Error {}

export const auth = {
  get key() {
    return sessionStorage.getItem(KEY_NAME) || "";
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY_NAME, value);
    else sessionStorage.removeItem(KEY_NAME);
  },
};

function headers(extra = {}) {
  const all = { Accept: "application/json", ...extra };
  if (auth.key) all.Authorization = `Bearer ${auth.key}`;
  return all;
}

function unreachable(err) {
  return new NetworkError(
    `Cannot reach the memory server at ${location.host}: is "memory http" still running? (${err.message})`);
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

function failure(response, data, usedKey) {
  const detail = (data && data.detail) || response.statusText || `HTTP ${response.status}`;
  const Kind = response.status === 401 ? AuthError : ApiError;
  const err = new Kind(response.status, data && data.error, detail);
  err.key = usedKey; // tells a refusal of the current key from a late answer to an older one
  return err;
}

/** Call the API; resolves to the JSON answer, rejects with ApiError, AuthError or NetworkError. */
export async function api(method, path, body) {
  const usedKey = auth.key;
  const init = { method, headers: headers(), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw unreachable(err);
  }
  const data = await readJson(response);
  if (!response.ok) throw failure(response, data, usedKey);
  return data;
}

/** Send a file as the body of a POST (documents); resolves to the JSON answer, rejects like ``api``. */
export async function upload(path, file) {
  const usedKey = auth.key;
  let response;
  try {
    response = await fetch(path, {
      method: "POST", body: file, cache: "no-store",
      headers: headers({ "Content-Type": "application/octet-stream" }),
    });
  } catch (err) {
    throw unreachable(err);
  }
  const data = await readJson(response);
  if (!response.ok) throw failure(response, data, usedKey);
  return data;
}

/** One server-sent event block ("event: x\ndata: {...}") as {event, data}. */
function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // keep-alive comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  try {
    return { event, data: JSON.parse(data.join("\n")) };
  } catch {
    return { event, data: {} };
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follow /api/events with fetch (EventSource cannot send the key header), reconnecting with a growing pause.
 * onState("live" | "reconnecting" | "offline", {reconnected}); onEvent(name, data); onAuthError(err).
 * Returns a function that stops listening.
 */
export function listen({ onEvent, onState, onAuthError }) {
  let stopped = false;
  let controller = null;
  let pause = 1000;
  let connectedBefore = false;

  async function followOnce() {
    controller = new AbortController();
    const usedKey = auth.key;
    let response;
    try {
      response = await fetch("/api/events", {
        headers: headers({ Accept: "text/event-stream" }), signal: controller.signal, cache: "no-store",
      });
    } catch (err) {
      throw unreachable(err);
    }
    if (!response.ok || !response.body) throw failure(response, await readJson(response), usedKey);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r/g, "");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const message = parseBlock(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (!message) continue;
        if (message.event === "ready") {
          pause = 1000;
          onState("live", { reconnected: connectedBefore });
          connectedBefore = true;
        } else {
          onEvent(message.event, message.data);
        }
      }
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await followOnce();
      } catch (err) {
        if (stopped) return;
        if (err instanceof AuthError) {
          onState("offline", {});
          onAuthError(err);
          return;
        }
      }
      if (stopped) return;
      onState("reconnecting", {});
      await sleep(pause);
      pause = Math.min(pause * 2, 15000);
    }
  })();

  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}

/** Parse a metadata field: {ok: true, value} for a JSON object (or empty text), else {ok: false, message}. */
export function parseMetadata(text) {
  const trimmed = text.trim();
  if (!trimmed) return { ok: true, value: null };
  let value;
  try {
    value = JSON.parse(trimmed);
  } catch (err) {
    return { ok: false, message: `Metadata is not valid JSON: ${err.message}. Example: {"source": "meeting"}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    return { ok: false, message: `Metadata must be a JSON object in braces, not ${kind}. Example: {"source": "meeting"}` };
  }
  return { ok: true, value };
}

/** "a, B ,c" -> ["a", "b", "c"] (the server normalises the same way). */
export function parseTags(text) {
  const seen = new Set();
  for (const tag of text.split(",")) {
    const clean = tag.trim().toLowerCase();
    if (clean) seen.add(clean);
  }
  return [...seen];
}
