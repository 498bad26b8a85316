// overview.js — the overview page: queue counts, the submit form and the task table.
//
// The table shows one page (50 tasks, newest first) of GET /api/tasks with the filters;
// "older" pages with before=<next>, "newest" goes back. The page on screen is refreshed in
// place (every 1.5 s for the first page, 5 s for older ones, never while the tab is hidden):
// rows are kept by id and updated, so focus, scroll and paging stay where they are. Filters and
// the page are in the URL, so a filtered view can be bookmarked.

import { api, errorOf, describeError, errorTitle, taskPageHref, whoAmI, feedPath } from "./api.js";
import { el, shortId, renderState, progressBar, setProgress, fmtAge, fmtDuration, fmtTime, renderLive, initAuth, signInNeeded, STATES } from "./ui.js";
import { initSubmit } from "./submit.js";
import { followFeed } from "./live.js";

const LIMIT = 50;
const FIRST_PAGE_MS = 1500;
const OLDER_PAGE_MS = 5000;
const QUEUES_MS = 3000;
const QUEUES_MISSING_MS = 30000;
const MAX_BACKOFF_MS = 10000;

const $ = (id) => document.getElementById(id);
const liveNode = $("live");
const tbody = $("tasks").querySelector("tbody");
const filtersForm = $("filters");
const rows = new Map();          // id → <tr>
const knownKinds = new Set(["sleep", "noop", "http"]);

// ---- view state, mirrored in the URL -----------------------------------------------------
const view = { state: "", queue: "", kind: "", before: null, stack: [] };
{
  const q = new URLSearchParams(location.search);
  view.state = STATES.includes(q.get("state")) ? q.get("state") : "";
  view.queue = q.get("queue") || "";
  view.kind = q.get("kind") || "";
  view.before = q.get("before") || null;
  filtersForm.elements.state.value = view.state;
  filtersForm.elements.queue.value = view.queue;
  filtersForm.elements.kind.value = view.kind;
}

function syncUrl() {
  const q = new URLSearchParams();
  for (const k of ["state", "queue", "kind"]) if (view[k]) q.set(k, view[k]);
  if (view.before) q.set("before", view.before);
  const s = q.toString();
  history.replaceState(null, "", s ? `?${s}${location.hash}` : `${location.pathname}${location.hash}`);
}

function listUrl() {
  const q = new URLSearchParams();
  for (const k of ["state", "queue", "kind"]) if (view[k]) q.set(k, view[k]);
  q.set("limit", String(LIMIT));
  if (view.before) q.set("before", view.before);
  return `/api/tasks?${q}`;
}

// ---- the connection indicator (the table's refresh) --------------------------------------
let failures = 0;
let lastStatus = ["connecting", ""];
function status(state, detail = "") {
  lastStatus = [state, detail];
  const mode = state === "live" ? (feedState === "live" ? "stream" : "auto-refresh") : null;
  renderLive(liveNode, { state, mode, detail });
}

// ---- the live feed: row updates as they happen --------------------------------------------
// Changes of the tasks on screen are applied at once from the feed (when the server has it):
// /api/stream for an admin, /api/stream/{owner} for an owner's token (GET /api/me says which);
// a change of a task the page does not show yet, that belongs on it, refreshes the page.
let feed = null;
let feedGen = 0;
let feedState = "unavailable";
let soonTimer = null;

const matches = (t) => (!view.state || t.state === view.state) && (!view.queue || t.queue === view.queue) && (!view.kind || t.kind === view.kind);

function refreshSoon() {
  if (soonTimer) return;
  soonTimer = setTimeout(() => { soonTimer = null; refresh(); }, 250);
}

function onFeed(list) {
  for (const t of list) {
    const tr = rows.get(t.id);
    if (tr) {
      if (Number(t.version) > Number(tr.dataset.version)) {
        updateRow(tr, t);
        if (!matches(t)) refreshSoon();      // it left the filtered set
      }
    } else if (!view.before && matches(t)) {
      refreshSoon();                          // a task that belongs on this page
    }
  }
}

async function startFeed() {
  if (feed) return;
  const my = ++feedGen;
  const who = await whoAmI();
  // an admin (with auth on) sees every owner's tasks: the table says whose each one is
  if (who) $("tasks").classList.toggle("with-owner", who.auth && who.admin);
  // not told who we are (401, unreachable): the periodic refresh carries on without a feed
  if (!who || my !== feedGen || feed || document.hidden) return;
  feed = followFeed({
    path: feedPath(who),
    onTasks: onFeed,
    onStatus: (s) => { feedState = s; status(...lastStatus); },
  });
}

function stopFeed() {
  feedGen++;
  if (feed) { feed.stop(); feed = null; }
  feedState = "unavailable";
}

// ---- signed out: the API refused the token (or its absence) ---------------------------------
// Nothing could be read: no rows, no "No tasks match", no "live"; the token field says why.
// Nothing is polled in this state: a token saved here or in another tab reloads the page.
let signedOut = false;

function showSignedOut(e) {
  signedOut = true;
  clearTimeout(timer);
  timer = null;
  stopFeed();
  status("auth", errorTitle(e));
  signInNeeded(e, "the tasks");
  tbody.replaceChildren();
  rows.clear();
  $("tasks-error").textContent = "";
  $("tasks-empty").hidden = true;
  $("tasks").hidden = true;
  $("tasks-pager").hidden = true;
  $("tasks-signin").hidden = false;
}

function showSignedIn() {
  if (!signedOut) return;
  signedOut = false;
  $("tasks").hidden = false;
  $("tasks-pager").hidden = false;
  $("tasks-signin").hidden = true;
}

// ---- the task table ----------------------------------------------------------------------
function makeRow(task) {
  const link = el("a", { href: taskPageHref(task.id), title: task.id, text: shortId(task.id) });
  const tr = el("tr", { "data-id": task.id },
    el("td", { class: "id" }, link),
    el("td", { class: "st" }, el("span", { class: "state" })),
    el("td", { class: "kind" }),
    el("td", { class: "queue" }),
    el("td", { class: "owner" }),
    el("td", { class: "prog" }, progressBar(`progress of task ${shortId(task.id)}`)),
    el("td", { class: "msg" }),
    el("td", { class: "age" }),
    el("td", { class: "att num" }),
  );
  return tr;
}

function updateRow(tr, task) {
  const c = tr.children;
  // a list answer can be older than a change the feed already showed: never step back
  if (tr.dataset.rendered !== "1" || Number(task.version) > Number(tr.dataset.version)) {
    tr.dataset.version = String(task.version);
    tr.dataset.rendered = "1";
    tr.dataset.state = task.state;
    renderState(c[1].firstElementChild, task);
    // names may be cut with … to keep the table in the page: the title has them whole
    for (const [i, v] of [[2, task.kind], [3, task.queue], [4, task.owner || ""]]) {
      c[i].textContent = v;
      c[i].title = v;
    }
    setProgress(c[5].firstElementChild, task);
    // a queued task of a queue no live worker serves says so (when it has nothing else to say)
    const msg = task.state === "failed" && task.error ? task.error : task.message || (task.state === "queued" && task.warning) || "";
    c[6].textContent = msg;
    c[6].title = msg;
    c[8].textContent = `${task.attempts}/${task.max_attempts}`;
    c[7].title = `created ${fmtTime(task.created_at)}`;
    if (task.kind && !knownKinds.has(task.kind)) {
      knownKinds.add(task.kind);
      $("kind-list").append(el("option", { value: task.kind }));
    }
  }
  c[7].textContent = fmtAge(task.created_at);
}

// renderTasks(list, next, readable) — readable false: the list could not be read (an error is
// shown instead), so an empty list does not say "No tasks match".
function renderTasks(list, next, readable = true) {
  const seen = new Set();
  list.forEach((task, i) => {
    seen.add(task.id);
    let tr = rows.get(task.id);
    if (!tr) { tr = makeRow(task); rows.set(task.id, tr); }
    updateRow(tr, task);
    // move only what is out of place: an unchanged order touches nothing (focus stays)
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
  });
  for (const [id, tr] of rows) {
    if (!seen.has(id)) { tr.remove(); rows.delete(id); }
  }
  $("tasks-empty").hidden = list.length > 0 || !readable;
  $("page-older").disabled = !next;
  $("page-newer").disabled = !view.before;
  $("page-newest").disabled = !view.before;
  view.next = next || null;
  const page = view.before ? (view.stack.length ? `page ${view.stack.length + 1}` : "an older page") : "newest";
  $("page-where").textContent = `${page} · ${list.length} task${list.length === 1 ? "" : "s"}${next ? "" : " (the last page)"}`;
}

// setError(e) — the list's error line: words, with the status and code in its title
function setError(e) {
  const box = $("tasks-error");
  box.textContent = e ? `The tasks could not be read. ${describeError(e)}` : "";
  if (e) box.title = errorTitle(e); else box.removeAttribute("title");
}

let timer = null;
let seq = 0;
let inflight = null;

function schedule(ms) {
  clearTimeout(timer);
  timer = null;
  if (document.hidden) return;      // resumed by visibilitychange
  timer = setTimeout(refresh, ms);
}

async function refresh() {
  clearTimeout(timer);
  timer = null;
  const my = ++seq;
  if (inflight) inflight.abort();
  const ctrl = new AbortController();
  inflight = ctrl;
  let resp;
  try {
    resp = await api(listUrl(), { signal: ctrl.signal, timeoutMs: 10000 });
  } catch (err) {
    if (my !== seq) return;
    failures++;
    status(failures >= 3 ? "offline" : "reconnecting", errorTitle(err));
    schedule(Math.min(MAX_BACKOFF_MS, FIRST_PAGE_MS * 2 ** (failures - 1)));
    return;
  } finally {
    if (inflight === ctrl) inflight = null;
  }
  if (my !== seq) return;
  const period = view.before ? OLDER_PAGE_MS : FIRST_PAGE_MS;
  if (resp.status === 200 && resp.data && Array.isArray(resp.data.tasks)) {
    failures = 0;
    showSignedIn();
    status("live");
    setError("");
    renderTasks(resp.data.tasks, resp.data.next);
    schedule(period);
    return;
  }
  const e = errorOf(resp);
  if (resp.status === 401 || resp.status === 403) {
    showSignedOut(e);
    return;
  }
  if (resp.status >= 400 && resp.status < 500 && resp.status !== 429) {
    // the request itself is wrong (a filter): say so; the server is there ("live")
    failures = 0;
    status("live");
    setError(e);
    renderTasks([], null, false);
    schedule(Math.max(period, 5000));
    return;
  }
  failures++;
  status(failures >= 3 ? "offline" : "reconnecting", errorTitle(e));
  const ra = Number(resp.headers.get("Retry-After"));
  schedule(Math.min(MAX_BACKOFF_MS, Math.max(ra > 0 ? ra * 1000 : 0, FIRST_PAGE_MS * 2 ** (failures - 1))));
}

// ---- filters and paging ------------------------------------------------------------------
function applyFilters() {
  const f = filtersForm.elements;
  const next = { state: f.state.value, queue: f.queue.value.trim(), kind: f.kind.value.trim() };
  if (next.state === view.state && next.queue === view.queue && next.kind === view.kind) return;
  Object.assign(view, next, { before: null, stack: [] });
  syncUrl();
  refresh();
}

let debounce = null;
filtersForm.addEventListener("input", (ev) => {
  clearTimeout(debounce);
  debounce = setTimeout(applyFilters, ev.target.tagName === "SELECT" ? 0 : 300);
});
filtersForm.addEventListener("change", () => { clearTimeout(debounce); applyFilters(); });
filtersForm.addEventListener("submit", (ev) => { ev.preventDefault(); clearTimeout(debounce); applyFilters(); });
filtersForm.addEventListener("reset", () => setTimeout(applyFilters, 0));

function goPage(before, stack) {
  view.before = before;
  view.stack = stack;
  syncUrl();
  refresh();
  $("tasks-h").focus({ preventScroll: true });
}
$("page-older").addEventListener("click", () => {
  if (view.next) goPage(view.next, [...view.stack, view.before]);
});
$("page-newer").addEventListener("click", () => {
  const stack = [...view.stack];
  goPage(stack.length ? stack.pop() : null, stack);
});
$("page-newest").addEventListener("click", () => goPage(null, []));

document.addEventListener("visibilitychange", () => {
  if (signedOut) return;            // nothing is polled until a token reloads the page
  if (document.hidden) {
    clearTimeout(timer);
    timer = null;
    clearTimeout(queuesTimer);
    queuesTimer = null;
    stopFeed();
    status("paused", "the tab is hidden");
  } else {
    startFeed();
    refresh();
    refreshQueues();
  }
});

// ---- queues ------------------------------------------------------------------------------
let queuesTimer = null;
let queuesSeq = 0;
let queuesAdmin = false;           // GET /api/me: only an admin may pause a queue
const queueNames = new Set(["default"]);

// The queue table is updated in place, like the task table: a row per queue, kept while the
// queue is listed, its cells rewritten only when their text changes, so a keyboard user
// tabbing through the queue links keeps the focus (and the place) across refreshes.
const queueRows = new Map();     // queue → <tr>
// Cells after the queue's name, in the order of the header (index.html); the queue cell also
// holds the warning of a queue whose queued tasks no live worker serves.
const QUEUE_CELLS = ["queued", "delayed", "blocked", "running", "succeeded", "failed", "cancelled", "longest wait", "done / min", "workers", "held", "waiting"];

function makeQueueRow(name) {
  const link = el("a", { href: `?queue=${encodeURIComponent(name)}`, text: name, title: `show the tasks of queue ${name}` });
  link.addEventListener("click", (ev) => {
    ev.preventDefault();
    filtersForm.elements.queue.value = name;
    applyFilters();
    $("tasks-h").focus();
  });
  if (!queueNames.has(name)) {
    queueNames.add(name);
    $("queue-list").append(el("option", { value: name }));
  }
  const warn = el("span", { class: "q-warn", hidden: true, text: "no worker" });
  const aging = el("span", { class: "q-aging", hidden: true });
  const paused = el("span", { class: "q-paused", hidden: true, text: "paused" });
  const button = el("button", { type: "button", class: "secondary small", text: "Pause" });
  button.addEventListener("click", () => pauseOrResume(name, button));
  return el("tr", { "data-queue": name }, el("td", { class: "q" }, link, " ", warn, " ", paused, " ", aging),
    ...QUEUE_CELLS.map((label) => el("td", { class: "num", "data-label": label })),
    el("td", { "data-label": "pause" }, button));
}

// Pause or resume a queue (POST /api/queues/{name}/pause|resume, admins): the button says
// what a click does; the row says "paused" while the queue is.
async function pauseOrResume(name, button) {
  const verb = button.dataset.paused === "1" ? "resume" : "pause";
  button.disabled = true;
  try {
    const resp = await api(`/api/queues/${encodeURIComponent(name)}/${verb}`, { method: "POST", timeoutMs: 15000 });
    button.title = resp.ok ? "" : `Could not ${verb} the queue. ${describeError(errorOf(resp))}`;
  } catch (err) {
    button.title = `Could not ${verb} the queue. ${describeError(err)}`;
  } finally {
    button.disabled = false;
    refreshQueues();
  }
}

function setQueuePaused(tr, paused, admin) {
  const button = tr.querySelector("button");
  tr.querySelector(".q-paused").hidden = !paused;
  tr.classList.toggle("paused", paused);
  button.dataset.paused = paused ? "1" : "0";
  const text = paused ? "Resume" : "Pause";
  if (button.textContent !== text) button.textContent = text;
  button.setAttribute("aria-label", `${text} queue ${tr.dataset.queue}`);
  button.hidden = !admin;
}

// The queue's warning (GET /api/queues: "no live worker serves queue …" while tasks are
// queued and no live worker lists the queue), shown beside its name and in its title.
function setQueueWarning(tr, warning) {
  const warn = tr.querySelector(".q-warn");
  const text = warning || "";
  if (warn.title !== text) warn.title = text;
  warn.hidden = !text;
  tr.classList.toggle("unserved", !!text);
}

function setCell(td, value, zero) {
  const text = value === null || value === undefined ? "—" : String(value);
  if (td.textContent !== text) td.textContent = text;
  td.classList.toggle("zero", zero);
}

function renderQueues(queues) {
  const table = $("queues");
  const body = table.querySelector("tbody");
  const note = $("queues-note");
  if (!queues.length) {
    table.hidden = true;
    note.hidden = false;
    note.textContent = "No tasks yet.";
    note.removeAttribute("title");
    return;
  }
  note.hidden = true;
  table.hidden = false;
  const seen = new Set();
  queues.forEach((q, i) => {
    seen.add(q.queue);
    let tr = queueRows.get(q.queue);
    if (!tr) { tr = makeQueueRow(q.queue); queueRows.set(q.queue, tr); }
    const c = q.counts || {};
    const cells = tr.children;
    [c.queued, q.delayed, q.blocked, c.running, c.succeeded, c.failed, c.cancelled].forEach((n, k) => setCell(cells[k + 1], n, !n));
    // the longest wait of a runnable task: delayed and blocked ones are not waiting for a worker
    const oldest = q.oldest_queued_s === null || q.oldest_queued_s === undefined ? null : fmtDuration(q.oldest_queued_s);
    setCell(cells[8], oldest, false);
    setCell(cells[9], q.finished_last_minute, !q.finished_last_minute);
    setCell(cells[10], q.workers, !q.workers && !q.warning);
    cells[10].classList.toggle("warn", !!q.warning);
    setQueueWarning(tr, q.warning);
    // priority aging (aging_s): its waiting tasks gain a step of priority per aging_s seconds
    const aging = tr.querySelector(".q-aging");
    aging.hidden = !q.aging_s;
    aging.textContent = q.aging_s ? `aging ${fmtDuration(q.aging_s)}` : "";
    aging.title = q.aging_s ? `priority aging: +1 priority per ${fmtDuration(q.aging_s)} of wait` : "";
    setCell(cells[11], c.held, !c.held);
    setCell(cells[12], c.waiting, !c.waiting);
    setQueuePaused(tr, !!q.paused, queuesAdmin);
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  for (const [name, tr] of queueRows) {
    if (!seen.has(name)) { tr.remove(); queueRows.delete(name); }
  }
}

// The upstream hosts of the http kind that asked the workers to wait (GET /api/queues'
// "throttled"): one line each under the queue table, "api.example.com throttled until …",
// with the tasks that wait and the answer that asked; its title is the tasks' message.
function renderThrottles(list) {
  const ul = $("throttles");
  const items = (Array.isArray(list) ? list : []).map((t) => {
    const waiting = t.waiting === 1 ? "1 task waits" : `${t.waiting} tasks wait`;
    return el("li", { title: t.message || "" },
      el("span", { class: "host", text: t.host }),
      ` throttled until ${fmtTime(t.until)} (${fmtDuration(t.seconds_left)} left) · ${waiting}`,
      t.reason ? el("span", { class: "why", text: ` · ${t.reason}` }) : null);
  });
  ul.replaceChildren(...items);
  ul.hidden = items.length === 0;
}

function queuesNote(text, e) {
  const note = $("queues-note");
  $("queues").hidden = true;
  note.hidden = false;
  note.textContent = text;
  note.title = errorTitle(e);
}

async function refreshQueues() {
  clearTimeout(queuesTimer);
  queuesTimer = null;
  const my = ++queuesSeq;
  let next = QUEUES_MS;
  try {
    const resp = await api("/api/queues", { timeoutMs: 10000 });
    if (my !== queuesSeq) return;
    const who = await whoAmI();
    queuesAdmin = !!who && (who.admin || !who.auth);
    if (resp.status === 200 && resp.data && Array.isArray(resp.data.queues)) {
      renderQueues(resp.data.queues);
      renderThrottles(resp.data.throttled);
    } else if (resp.status === 404 || resp.status === 405) {
      queuesNote("Queue statistics are not available from this server.", errorOf(resp));
      next = QUEUES_MISSING_MS;
    } else if (resp.status === 401 || resp.status === 403) {
      queuesNote("The queues show here once you sign in with an API token.", errorOf(resp));
      return;                 // nothing to poll for: a new token reloads the page
    } else {
      queuesNote(`Queue statistics could not be read. ${describeError(errorOf(resp))}`, errorOf(resp));
      next = QUEUES_MS * 2;
    }
  } catch (err) {
    if (my !== queuesSeq) return;
    queuesNote(`Queue statistics could not be read. ${describeError(err)}`, err);
    next = MAX_BACKOFF_MS;
  }
  if (!document.hidden) queuesTimer = setTimeout(refreshQueues, next);
}

// ---- submit ------------------------------------------------------------------------------
const details = $("submit-details");
initSubmit($("submit-form"));
function openSubmit(focus) {
  details.open = true;
  if (focus) $("submit-form").elements.kind.focus();
}
$("nav-new").addEventListener("click", (ev) => {
  ev.preventDefault();
  openSubmit(true);
  $("new-task").scrollIntoView({ block: "start" });
  history.replaceState(null, "", `${location.search}#new-task`);
});
if (location.hash === "#new-task") openSubmit(false);

window.addEventListener("pagehide", stopFeed);
window.addEventListener("pageshow", (ev) => { if (ev.persisted && !document.hidden) { startFeed(); refresh(); } });

initAuth();
status("connecting");
refresh();
refreshQueues();
if (!document.hidden) startFeed();
