// console.js — what the console's pages share (fleet, queues, tasks, schedules, rate limits,
// breakers): the navigation between pages, reading the API with its errors said in words, a
// refresh loop that rests while the tab is hidden, and small table helpers. Each page is one
// module of its own; none of them needs a build step.

import { api, errorOf, describeError, errorTitle } from "./api.js";
import { el, initAuth, signInNeeded } from "./ui.js";

export const PAGES = [
  ["./", "Overview"], ["fleet.html", "Fleet"], ["queues.html", "Queues"], ["tasks.html", "Tasks"],
  ["ops.html?view=schedules", "Schedules"], ["ops.html?view=limits", "Rate limits"],
  ["ops.html?view=breakers", "Breakers"],
];

// mountNav() — fills the header's <nav id="nav"> with every page, the current one marked.
export function mountNav() {
  const nav = document.getElementById("nav");
  const file = location.pathname.split("/").pop() || "./";
  const view = new URLSearchParams(location.search).get("view") || "schedules";
  const current = (href) => href === file || href === `${file}?view=${view}` || (href === "./" && file === "index.html");
  for (const [href, name] of PAGES) {
    nav.append(el("a", { href, text: name, "aria-current": current(href) ? "page" : null }));
  }
  initAuth();
}

// getJson(path) — the answer's JSON; throws {status, code, message} for an error answer.
export async function getJson(path, options = {}) {
  const resp = await api(path, { timeoutMs: 15000, ...options });
  if (!resp.ok) throw errorOf(resp);
  return resp.data;
}

// showError(node, err, what) — err in words in node (empty: none); a 401/403 opens the token
// field, saying what could not be shown.
export function showError(node, err, what = "this page") {
  node.textContent = err ? describeError(err) : "";
  node.title = err ? errorTitle(err) : "";
  if (err && (err.status === 401 || err.status === 403)) signInNeeded(err, what);
}

// every(ms, fn) — runs fn now and then every ms while the tab is visible (at once when it
// shows again); returns a function that runs it now.
export function every(ms, fn) {
  let timer = null;
  const run = async () => {
    clearTimeout(timer);
    try { await fn(); } finally { timer = setTimeout(() => { if (!document.hidden) run(); }, ms); }
  };
  document.addEventListener("visibilitychange", () => { if (!document.hidden) run(); });
  run();
  return run;
}

// cell(text, cls, label) — a <td>; label names the column on phones (data-label).
export const cell = (text, cls = null, label = null) => el("td", { class: cls, text: text ?? "—", "data-label": label });

// fmtNum(n, digits) — a number for a table, "—" for none.
export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

// fmtMs(ms) — a latency: "840 ms", "3.2 s", "4 min".
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

// say(node, text, good) — an outcome line (role=status in the page).
export function say(node, text, good = true) {
  node.textContent = text;
  node.className = `outcome ${good ? "good" : "bad"}`;
}
