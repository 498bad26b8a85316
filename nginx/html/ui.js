// ui.js — small DOM helpers shared by the pages: state badges, progress bars, times, the
// connection indicator and the token field.

import { getToken, setToken, serverNow, whoAmI } from "./api.js";

export const STATES = ["queued", "running", "succeeded", "failed", "cancelled"];

// A symbol for each state, always next to the word (never colour alone).
const SYMBOLS = { queued: "◷", running: "▶", succeeded: "✓", failed: "✗", cancelled: "⊘" };

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// shortId — the first 8 characters of the id (what the CLI and logs show) and its last 4:
// ids are UUIDv7, whose first 8 characters are a timestamp shared by every task created in
// the same minute, so the random tail tells neighbours apart.
export const shortId = (id) => {
  const s = String(id || "");
  return s.length > 16 ? `${s.slice(0, 8)}…${s.slice(-4)}` : s;
};

// stateText — the words a person reads: "running (cancelling)".
export function stateText(task) {
  const s = task.state || "unknown";
  if (task.cancel_requested && s === "running") return "running (cancelling)";
  if (task.blocked && s === "queued") return "queued (blocked)";
  return s;
}

// renderState(node, task) — fills node with "<sym> word" and the state's class.
export function renderState(node, task, extraClass = "") {
  const s = task.state || "unknown";
  const text = stateText(task);
  if (node.dataset.text === text) return;
  node.dataset.text = text;
  node.dataset.state = s;
  node.className = `state ${s} ${extraClass}`.trim();
  node.replaceChildren(el("span", { class: "sym", "aria-hidden": "true", text: SYMBOLS[s] || "?" }), el("span", { class: "word", text }));
}

// progressBar(label) — a role=progressbar element; setProgress updates it.
export function progressBar(label = "progress", large = false) {
  const fill = el("span");
  const bar = el("div", {
    class: "bar", role: "progressbar", "aria-label": label,
    "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
  }, fill);
  const pct = el("span", { class: "pct", "aria-hidden": "true", text: "0%" });
  return el("div", { class: large ? "progress large" : "progress" }, bar, pct);
}

export function setProgress(wrap, task) {
  const p = Math.max(0, Math.min(100, Math.round(Number(task.progress) || 0)));
  const bar = wrap.querySelector("[role=progressbar]");
  const state = task.state || "";
  if (bar.getAttribute("aria-valuenow") !== String(p)) {
    bar.setAttribute("aria-valuenow", String(p));
    bar.firstElementChild.style.width = `${p}%`;
    wrap.querySelector(".pct").textContent = `${p}%`;
  }
  const vt = `${p}% ${state}${task.message ? ", " + task.message : ""}`;
  if (bar.getAttribute("aria-valuetext") !== vt) bar.setAttribute("aria-valuetext", vt);
  const cls = `progress${wrap.classList.contains("large") ? " large" : ""} ${state}`;
  if (wrap.className !== cls) wrap.className = cls;
}

// ---- times ----------------------------------------------------------------------------------
export function fmtDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return "—";
  s = Math.max(0, s);
  if (s < 1) return "<1 s";
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  const two = (big, bigUnit, small, smallUnit) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);
  if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
  return two(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
}

export function ageOf(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return null;
  return (serverNow() - t) / 1000;
}

export function fmtAge(iso) {
  const a = ageOf(iso);
  return a === null ? "—" : `${fmtDuration(a)} ago`;
}

export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

// ---- the connection indicator ---------------------------------------------------------------
const LIVE_TEXT = {
  connecting: ["◌", "connecting…"],
  live: ["●", "live"],
  reconnecting: ["↻", "reconnecting"],
  offline: ["✕", "offline"],
  ended: ["■", "finished"],
  paused: ["❚❚", "paused"],
};

export function renderLive(node, { state, mode, detail }) {
  const [sym, word] = LIVE_TEXT[state] || ["?", state];
  node.dataset.state = state;
  node.dataset.mode = mode || "";
  node.title = detail || (state === "ended" ? "the task is finished: nothing to follow" : "");
  const parts = [el("span", { class: "sym", "aria-hidden": "true", text: sym }), el("span", { class: "word", text: word })];
  if (mode && state !== "ended") parts.push(el("span", { class: "mode", text: `· ${mode}` }));
  node.replaceChildren(...parts);
}

// ---- the token field (auth) -----------------------------------------------------------------
// Shown when the API answers 401 or a token is stored. The token is kept in localStorage and
// sent as "Authorization: Bearer <token>" (api.js). A page never outlives its token: a new
// token (here, in another tab, or while the page sat in the back/forward cache) reloads it,
// so nothing seen with the old one stays on screen.
export function initAuth() {
  const loaded = getToken();
  const reloadIfChanged = () => { if (getToken() !== loaded) location.reload(); };
  window.addEventListener("storage", (ev) => { if (ev.key === null || ev.key === "taskq.token") reloadIfChanged(); });
  window.addEventListener("pageshow", (ev) => { if (ev.persisted) reloadIfChanged(); });
  showWho();
  const box = document.getElementById("auth");
  if (!box) return;
  const form = box.querySelector("form");
  const input = form.querySelector("input");
  const note = box.querySelector(".auth-note");
  const toggle = document.getElementById("auth-toggle");
  const show = (why) => {
    box.hidden = false;
    if (toggle) toggle.hidden = false;
    if (why) note.textContent = why;
  };
  if (loaded) { if (toggle) toggle.hidden = false; input.value = loaded; }
  if (toggle) toggle.addEventListener("click", () => { box.hidden = !box.hidden; if (!box.hidden) input.focus(); });
  window.addEventListener("taskq:auth-required", () => show(getToken()
    ? "The server refused this token (401). Enter another one."
    : "This server requires a token (401). Enter your API token."));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    location.reload();
  });
  form.querySelector("button.clear").addEventListener("click", () => { setToken(""); location.reload(); });
}

// showWho — "owner alice", "admin" or "auth off" in the header's #who (from GET /api/me).
async function showWho() {
  const node = document.getElementById("who");
  const who = await whoAmI();
  if (!node || !who || !who.owner) return;
  node.textContent = !who.auth ? "auth off" : who.admin ? "admin" : `owner ${who.owner}`;
  node.title = !who.auth ? "the server runs without authentication: every task is visible"
    : `signed in as ${who.owner}${who.admin ? " (admin: every owner's tasks)" : ""}`;
  node.hidden = false;
}
