// ui.js — small DOM helpers shared by the pages: state badges, progress bars, times, the
// connection indicator and the token field.

import { getToken, setToken, serverNow, whoAmI, checkToken, describeError, errorTitle } from "./api.js";

// The parts every page shares, written once here rather than in each page: the right of the
// header (who is signed in, the token button, the connection indicator) and the token panel
// under it. ui.js is imported before a page's own code runs, and modules run once the
// document is parsed, so these are in place when the page looks them up.
const HEADER_END = `
  <span class="spacer"></span>
  <span class="who" id="who" hidden></span>
  <button type="button" class="secondary" id="auth-toggle" aria-controls="auth" aria-expanded="false" hidden>Token</button>
  <p class="live" id="live" role="status" data-state="connecting"><span class="word">connecting…</span></p>`;
const AUTH_PANEL = `
<div id="auth" hidden>
  <div class="wrap">
    <section class="card" aria-labelledby="auth-h">
      <h2 id="auth-h">Sign in with an API token</h2>
      <p class="auth-note" id="auth-note">Enter your API token.</p>
      <form class="row">
        <label>token <input name="token" type="password" autocomplete="off" size="40" aria-describedby="auth-note"></label>
        <button type="submit">Save</button>
        <button type="button" class="secondary clear">Forget</button>
      </form>
      <p class="error auth-error" role="alert"></p>
      <p class="note small">Kept in this browser (localStorage) and sent as <code>Authorization: Bearer …</code>; live streams get it from the cookie <code>taskq_token</code>, which the server takes for reading only.</p>
    </section>
  </div>
</div>`;
{
  const header = document.querySelector("header.top");
  header.insertAdjacentHTML("beforeend", HEADER_END);
  header.insertAdjacentHTML("afterend", AUTH_PANEL);
}

export const STATES = ["queued", "running", "succeeded", "failed", "cancelled", "held", "waiting"];

// A symbol for each state, always next to the word (never colour alone).
const SYMBOLS = { queued: "◷", running: "▶", succeeded: "✓", failed: "✗", cancelled: "⊘", held: "⏸", waiting: "⏳" };

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
  if (s === "waiting" && task.waiting_for) return `waiting for ${task.waiting_for.signal}`;
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
  auth: ["○", "sign-in needed"],      // the API refused the page's token (or its lack of one)
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
// Shown when a token is stored (behind the header's Token button) and, opened and explained,
// when the API refuses the page (signInNeeded). The token is kept in localStorage and sent as
// "Authorization: Bearer <token>" (api.js); Save asks GET /api/me about it first, so a token
// the server refuses is said so at once and not kept. A page never outlives its token: a new
// token (here, in another tab, or while the page sat in the back/forward cache) reloads it,
// so nothing seen with the old one stays on screen.
let authUi = null;

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
  const formError = box.querySelector(".auth-error");
  const toggle = document.getElementById("auth-toggle");
  authUi = { box, input, note, toggle };
  if (loaded) { if (toggle) toggle.hidden = false; input.value = loaded; }
  if (toggle) {
    toggle.addEventListener("click", () => {
      box.hidden = !box.hidden;
      toggle.setAttribute("aria-expanded", String(!box.hidden));
      if (!box.hidden) input.focus();
    });
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    formError.textContent = "";
    formError.removeAttribute("title");
    if (!token) { formError.textContent = "Paste a token first (or Forget the one kept here)."; input.focus(); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const check = await checkToken(token);
    button.disabled = false;
    if (check.ok === false) {
      formError.textContent = `Not saved. ${describeError(check.error)}`;
      formError.title = errorTitle(check.error);
      input.focus();
      input.select();
      return;
    }
    setToken(token);
    location.reload();
  });
  form.querySelector("button.clear").addEventListener("click", () => { setToken(""); location.reload(); });
  // any other request the server refused for want of a token (the page's own handling of its
  // main request says more precisely what could not be shown)
  window.addEventListener("taskq:auth-required", (ev) => { if (box.hidden) signInNeeded(ev.detail || { status: 401 }, "this page"); });
}

// signInNeeded(error, what) — the API refused this page (error: {status 401|403, code,
// message}): the token field opens, says why in words and takes the focus (unless the person
// is busy elsewhere on the page); what names what the page could not show ("the tasks").
// The page itself hides what it could not read and shows no "live" state.
export function signInNeeded(error, what) {
  if (!authUi) return;
  const { box, input, note, toggle } = authUi;
  const has = !!getToken();
  let why;
  if (error.status === 403) why = `This token may not see ${what}${error.message ? ` (${error.message})` : ""}. Enter an API token of your own.`;
  else if (has) why = `The server does not accept the token kept in this browser (unknown, expired or revoked), so ${what} cannot be shown. Enter another one.`;
  else why = `This server needs an API token to show ${what}. Paste yours below; an administrator makes one with “taskq token create NAME”.`;
  note.textContent = why;
  note.title = errorTitle(error);
  box.hidden = false;
  box.classList.add("needed");
  if (toggle) { toggle.hidden = false; toggle.setAttribute("aria-expanded", "true"); }
  const who = document.getElementById("who");
  if (who) { who.textContent = "not signed in"; who.title = ""; who.hidden = false; }
  if (!document.activeElement || document.activeElement === document.body) input.focus({ preventScroll: true });
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
