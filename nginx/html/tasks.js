// tasks.js — the tasks page: search by id prefix, state, queue, kind, owner, creation time and
// payload fragment (GET /api/tasks; a payload search names a queue and "created after", which
// the page says), the views of failed, retrying, delayed and blocked tasks, keyset pages
// (older: before = the last id), and actions on many tasks at once (POST /api/tasks/bulk):
// the selected ones by id, or every task matching the search, page after page of the answer's
// "next" until it ends. The search lives in the URL, so a view is a link.

import { api, errorOf, describeError, taskPageHref } from "./api.js";
import { el, shortId, renderState, fmtAge, fmtTime, renderLive } from "./ui.js";
import { mountNav, getJson, showError, cell, say } from "./console.js";

mountNav();
const $ = (id) => document.getElementById(id);
const form = $("search");
const FIELDS = ["id_prefix", "state", "queue", "kind", "owner", "created_after", "created_before", "payload", "waiting", "worker"];
const PAGE = 50;
let query = new URLSearchParams();
let pages = [];      // the "before" of each page shown so far ("" for the newest)
let shown = [];      // the tasks of this page
let next = null;

// datetime-local (the browser's local time) ↔ RFC 3339 UTC
const toUtc = (v) => (v ? new Date(v).toISOString() : "");
const toLocal = (iso) => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};

function readForm() {
  const q = new URLSearchParams();
  for (const f of FIELDS) {
    let v = (form.elements[f].value || "").trim();
    if (f.startsWith("created_")) v = toUtc(v);
    if (v) q.set(f, v);
  }
  return q;
}

function fillForm(q) {
  for (const f of FIELDS) {
    const v = q.get(f) || "";
    form.elements[f].value = f.startsWith("created_") ? (v ? toLocal(v) : "") : v;
  }
  const view = q.get("waiting") || (q.get("state") === "failed" || q.get("state") === "running" ? q.get("state") : "");
  for (const a of document.querySelectorAll("nav.views a")) a.setAttribute("aria-current", a.dataset.view === view && [...q.keys()].length <= 1 ? "page" : "false");
}

// the payload fragment must be a JSON object, with a queue and a start time (said before asking)
function checkPayload(q) {
  const p = q.get("payload");
  if (!p) return null;
  try {
    const v = JSON.parse(p);
    if (!v || typeof v !== "object" || Array.isArray(v)) return "The payload fragment must be a JSON object, such as {\"user\": 42}.";
  } catch { return "The payload fragment is not valid JSON (keys in double quotes: {\"user\": 42})."; }
  if (!q.get("queue") || !q.get("created_after")) return "A payload search needs a queue and a “created after” time (it reads that queue’s tasks of that range through an index).";
  return null;
}

function row(t) {
  const box = el("input", { type: "checkbox", "aria-label": `select task ${shortId(t.id)}`, "data-id": t.id });
  const badge = el("span");
  renderState(badge, t);
  const st = el("td", { class: "st" }, badge);
  return el("tr", { "data-id": t.id },
    el("td", { class: "sel" }, box),
    el("td", { class: "id" }, el("a", { href: taskPageHref(t.id), text: shortId(t.id), title: t.id })),
    st,
    cell(t.kind, "kind", "kind"),
    cell(t.queue, "queue", "queue"),
    cell(t.owner, "owner-c", "owner"),
    cell(String(t.attempts), "num att", "attempts"),
    el("td", { class: "age", title: fmtTime(t.created_at), text: fmtAge(t.created_at) }),
    el("td", { class: "msg", title: t.error || t.message || "", text: t.error || t.message || "" }));
}

function selectedIds() {
  return [...$("results").querySelectorAll("tbody input:checked")].map((b) => b.dataset.id);
}

function updateSelected() {
  const n = selectedIds().length;
  const all = $("all-matching").checked;
  $("selected").textContent = all ? "every task matching the search" : n ? `${n} selected` : "none selected";
  for (const b of document.querySelectorAll(".bulk button")) b.disabled = !all && !n;
  const boxes = $("results").querySelectorAll("tbody input");
  $("select-page").checked = boxes.length > 0 && n === boxes.length;
}

async function load(before = "") {
  const q = new URLSearchParams(query);
  q.set("limit", String(PAGE));
  if (before) q.set("before", before);
  const bad = checkPayload(query);
  if (bad) { $("search-error").textContent = bad; return; }
  try {
    const data = await getJson(`/api/tasks?${q}`);
    shown = data.tasks;
    next = data.next;
    $("results").querySelector("tbody").replaceChildren(...shown.map(row));
    $("results-empty").hidden = shown.length > 0;
    $("page-older").disabled = !next;
    $("page-newest").disabled = pages.length <= 1;
    $("page-where").textContent = `page ${pages.length} · ${shown.length} task${shown.length === 1 ? "" : "s"}`;
    showError($("search-error"), null);
    renderLive($("live"), { state: "live", mode: "on demand" });
  } catch (e) {
    showError($("search-error"), e, "the tasks");
    renderLive($("live"), { state: e.status === 401 || e.status === 403 ? "auth" : "offline" });
  }
  updateSelected();
}

function search(q, push = true) {
  query = q;
  if (push) history.pushState(null, "", `?${q}`);
  fillForm(q);
  pages = [""];
  $("all-matching").checked = false;
  return load("");
}

const VERB = { retry: "retried", cancel: "cancelled", delete: "deleted", run_now: "made due now" };
const GOOD = { retry: ["queued"], cancel: ["cancelled", "requested"], delete: ["deleted"], run_now: ["queued"] };

// bulk(action) — by ids, or for "all matching" by the search's filter, page after page
async function bulk(action) {
  const all = $("all-matching").checked;
  const ids = selectedIds();
  const what = all ? "every task matching the search" : `${ids.length} task${ids.length === 1 ? "" : "s"}`;
  if ((action === "delete" || action === "cancel") && !confirm(`${action === "delete" ? "Delete" : "Cancel"} ${what}?`)) return;
  const out = $("bulk-outcome");
  const counts = {};
  let done = 0;
  for (const b of document.querySelectorAll(".bulk button")) b.disabled = true;
  say(out, `Working… (${what})`);
  try {
    let filter = all ? Object.fromEntries(query) : null;
    for (let round = 0; round < 1000; round++) {
      const resp = await api("/api/tasks/bulk", { method: "POST", body: all ? { action, filter } : { action, ids }, timeoutMs: 120000 });
      if (!resp.ok) throw errorOf(resp);
      for (const [k, n] of Object.entries(resp.data.outcomes)) counts[k] = (counts[k] || 0) + n;
      done += resp.data.matched;
      if (!all || !resp.data.next) break;
      filter = { ...filter, before: resp.data.next };
      say(out, `Working… ${done} so far`);
    }
    const good = GOOD[action].reduce((a, k) => a + (counts[k] || 0), 0);
    const rest = Object.entries(counts).filter(([k]) => !GOOD[action].includes(k)).map(([k, n]) => `${n} ${k.replace("_", " ")}`);
    say(out, `${good} ${VERB[action]}${rest.length ? `; not changed: ${rest.join(", ")}` : ""} (of ${done}).`, good > 0 || done === 0);
  } catch (e) {
    say(out, `Not done: ${describeError(e)}`, false);
  }
  await load(pages.at(-1));
}

form.addEventListener("submit", (ev) => { ev.preventDefault(); search(readForm()); });
form.addEventListener("reset", () => setTimeout(() => search(new URLSearchParams())));
$("page-older").addEventListener("click", () => { if (next) { pages.push(next); load(next); } });
$("page-newest").addEventListener("click", () => { pages = [""]; load(""); });
$("results").addEventListener("change", (ev) => { if (ev.target.matches("tbody input")) updateSelected(); });
$("select-page").addEventListener("change", (ev) => {
  for (const b of $("results").querySelectorAll("tbody input")) b.checked = ev.target.checked;
  updateSelected();
});
$("all-matching").addEventListener("change", updateSelected);
for (const b of document.querySelectorAll(".bulk button")) b.addEventListener("click", () => bulk(b.dataset.action));
for (const a of document.querySelectorAll("nav.views a")) {
  a.addEventListener("click", (ev) => { ev.preventDefault(); search(new URLSearchParams(a.getAttribute("href").slice(1))); });
}
window.addEventListener("popstate", () => search(new URLSearchParams(location.search), false));
search(new URLSearchParams(location.search), false);
