// The API docs: /openapi.json rendered in the page (no external script: works offline, under the page's CSP).

import { AuthError, api, auth } from "./api.js";

const $ = (id) => document.getElementById(id);
const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

const refName = (ref) => ref.split("/").pop();

/** A schema as a short type: "string", "MemoryOut[]", "integer | null", a link for named schemas. */
function typeOf(schema) {
  if (!schema) return "any";
  if (schema.$ref) return el("a", { href: `#schema-${refName(schema.$ref)}` }, refName(schema.$ref));
  const options = schema.anyOf || schema.oneOf;
  if (options) return options.flatMap((s, i) => (i ? [" | ", typeOf(s)] : [typeOf(s)]));
  if (schema.type === "array") return [typeOf(schema.items), "[]"];
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  return schema.type || "object";
}

function fieldRows(schema) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, prop]) => el("tr", {},
    el("td", {}, el("code", {}, name), required.has(name) ? el("span", { class: "required" }, " required") : null),
    el("td", {}, el("code", {}, typeOf(prop))),
    el("td", {}, prop.description || "", prop.default !== undefined && prop.default !== null
      ? el("span", { class: "muted" }, ` (default ${JSON.stringify(prop.default)})`) : null)));
}

function table(head, rows) {
  return el("table", { class: "fields" }, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

function operation(method, path, op) {
  const params = (op.parameters || []).map((p) => el("tr", {},
    el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "required" }, " required") : null),
    el("td", {}, p.in, " · ", el("code", {}, typeOf(p.schema))),
    el("td", {}, p.description || (p.schema && p.schema.description) || "")));
  const body = op.requestBody && op.requestBody.content["application/json"];
  const responses = Object.entries(op.responses || {}).map(([status, answer]) => {
    const content = answer.content || {};
    const kind = Object.keys(content)[0];
    return el("tr", {}, el("td", {}, el("code", {}, status)), el("td", {}, answer.description || ""),
      el("td", {}, kind ? [el("code", {}, typeOf(content[kind].schema)), kind === "application/json" ? null : ` (${kind})`]
        : "no body"));
  });
  const id = `op-${method}-${path.replace(/[^a-z0-9]+/gi, "-")}`;
  return el("details", { class: "operation", id, "data-search": `${method} ${path} ${op.summary || ""} ${(op.tags || []).join(" ")}`.toLowerCase() },
    el("summary", {}, el("span", { class: `method method-${method}` }, method.toUpperCase()),
      el("code", { class: "path" }, path), el("span", { class: "summary muted" }, op.summary || "")),
    op.description ? el("p", { class: "description" }, op.description) : null,
    params.length ? [el("h4", {}, "Parameters"), table(["name", "where · type", "meaning"], params)] : null,
    body ? [el("h4", {}, "Body"), el("p", {}, el("code", {}, typeOf(body.schema)))] : null,
    el("h4", {}, "Answers"), table(["status", "meaning", "body"], responses));
}

function render(spec) {
  $("api-version").textContent = `version ${spec.info.version}`;
  $("api-description").textContent = spec.info.description || "";
  const groups = new Map();
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const tag = (item[method].tags || ["other"])[0];
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operation(method, path, item[method]));
    }
  }
  $("operations").replaceChildren(...[...groups].map(([tag, ops]) => el("section", { class: "tag-group" },
    el("h2", {}, tag), ops)));
  const schemas = Object.entries((spec.components && spec.components.schemas) || {});
  $("schemas").replaceChildren(...schemas.map(([name, schema]) => el("section", { class: "schema", id: `schema-${name}` },
    el("h3", {}, name), schema.description ? el("p", { class: "muted" }, schema.description) : null,
    schema.properties ? table(["field", "type", "meaning"], fieldRows(schema)) : el("p", {}, el("code", {}, typeOf(schema))))));
  $("schemas-heading").hidden = !schemas.length;
  $("docs-filter").hidden = false;
  $("operations").setAttribute("aria-busy", "false");
}

async function load() {
  $("alert").hidden = true;
  try {
    const spec = await api("GET", "/openapi.json");
    $("docs-key-form").hidden = true;
    render(spec);
  } catch (err) {
    if (err instanceof AuthError) {
      $("docs-key-form").hidden = false;
      const error = $("docs-key-error");
      error.textContent = auth.key ? "The server refused this key (401). Check MCP_API_KEY and enter it again." : "";
      error.hidden = !auth.key;
      auth.key = "";
      $("docs-key").focus();
    } else {
      $("alert-text").textContent = `Cannot show the API: ${err.message}`;
      $("alert").hidden = false;
    }
  }
}

$("docs-key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  auth.key = $("docs-key").value.trim();
  $("docs-key").value = "";
  load();
});
$("docs-filter").addEventListener("input", () => {
  const words = $("docs-filter").value.trim().toLowerCase();
  for (const node of document.querySelectorAll(".operation")) node.hidden = Boolean(words) && !node.dataset.search.includes(words);
});
load();
