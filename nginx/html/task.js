// task.js — one task's page (task.html?id=<uuid>): everything about it, live, with Cancel
// and Retry. taskq.follow() (client/taskq-client.js, the same follower any page embedding
// taskq uses) keeps it current; the history is re-read when the task changes (at most once a
// second); its streamed output (client/taskq-output.js, read every second) shows in the
// Output card.

import { api, errorOf, describeError, errorTitle, taskPath, whoAmI, taskq } from "./api.js";
import { el, shortId, renderState, stateText, progressBar, setProgress, fmtTime, fmtAge, fmtDuration, renderLive, initAuth, signInNeeded } from "./ui.js";
import { FINAL } from "./client/taskq-client.js";
import { mountChain } from "./graph.js";
import { followOutput } from "./client/taskq-output.js";

const $ = (id) => document.getElementById(id);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const id = (new URLSearchParams(location.search).get("id") || "").trim().toLowerCase();

let task = null;
let follower = null;
let output = null;              // the output's follower (client/taskq-output.js)
let showOwner = false;          // with auth on, the details say whose task it is
const progress = progressBar("task progress", true);
$("t-progress").append(progress);

// ---- rendering ---------------------------------------------------------------------------
function json(v) {
  if (v === null || v === undefined) return "—";
  const s = JSON.stringify(v, null, 2);
  return s.length > 200000 ? s.slice(0, 200000) + "\n… (cut here: " + s.length + " characters in all)" : s;
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

function fact(dl, name, value, title) {
  dl.append(el("dt", { text: name }), el("dd", { text: value, title }));
}

function timeFact(dl, name, iso) {
  if (!iso) { fact(dl, name, "—"); return; }
  const age = (Date.parse(iso) - Date.now()) / 1000;
  const rel = age > 1 ? `in ${fmtDuration(age)}` : fmtAge(iso);
  fact(dl, name, `${fmtTime(iso)} (${rel})`, iso);
}

// the tasks it runs after, each a link to its own page
function parentsFact(dl, t) {
  const dd = el("dd");
  t.parents.forEach((p, i) => {
    if (i) dd.append(", ");
    dd.append(el("a", { href: `task.html?id=${encodeURIComponent(p)}`, text: shortId(p), title: p }));
  });
  if (t.after_policy === "always") dd.append(" (runs even if one fails)");
  dl.append(el("dt", { text: "after" }), dd);
}

function renderFacts(t) {
  const dl = $("t-facts");
  dl.replaceChildren();
  fact(dl, "id", t.id);
  fact(dl, "state", stateText(t));
  if (showOwner && t.owner) fact(dl, "owner", t.owner);
  fact(dl, "priority", String(t.priority ?? 0));
  fact(dl, "attempts", `${t.attempts} of at most ${t.max_attempts}`);
  fact(dl, "timeout", t.timeout_s ? `${t.timeout_s} s` : "the kind's default");
  timeFact(dl, "created", t.created_at);
  if (t.blocked) fact(dl, "runs at", "when its parents have finished");
  else timeFact(dl, "runs at", t.run_at);
  if (t.parents && t.parents.length) parentsFact(dl, t);
  timeFact(dl, "started", t.started_at);
  timeFact(dl, "finished", t.finished_at);
  if (t.started_at && t.finished_at) fact(dl, "took", fmtDuration((Date.parse(t.finished_at) - Date.parse(t.started_at)) / 1000));
  timeFact(dl, "updated", t.updated_at);
  fact(dl, "version", String(t.version));
  if (t.dedupe_key) fact(dl, "dedupe key", t.dedupe_key);
  if (t.concurrency_key) fact(dl, "concurrency key", t.concurrency_key + (t.ordering === "strict" ? " (strict order)" : ""));
  // a queued task's place in line and its expected wait (position, eta_s)
  if (t.state === "queued" && t.position) fact(dl, "in line", `${t.position === 1001 ? "past 1,000th" : "#" + t.position}${t.eta_s != null ? `, starts in about ${fmtDuration(t.eta_s)}` : ""}`);
  if (t.callback_url) fact(dl, "callback", `${t.callback_url} (${t.callback_state || "not yet"})`);
}

function render(t) {
  task = t;
  $("missing").hidden = true;
  $("task").hidden = false;
  setText($("t-short"), shortId(t.id));
  setText($("t-id"), t.id);
  renderState($("t-state"), t, "big");
  setText($("t-kind"), t.kind);
  setText($("t-queue"), t.queue);
  setText($("t-attempts"), `${t.attempts}/${t.max_attempts}`);
  setProgress(progress, t);
  setText($("t-message"), t.message || queuedText(t));
  // a queued task whose queue no live worker serves waits for ever: say so, apart
  setText($("t-warning"), t.warning || "");
  $("t-warning").hidden = !t.warning;
  $("error-card").hidden = !t.error;
  setText($("t-error"), t.error || "");
  setText($("t-result"), t.result === null && !FINAL.has(t.state) ? "no result yet" : json(t.result));
  setText($("t-payload"), json(t.payload));
  renderFacts(t);
  renderWaits(t);
  const final = FINAL.has(t.state);
  $("btn-cancel").disabled = final || !!t.cancel_requested || busy;
  $("btn-retry").disabled = !(t.state === "failed" || t.state === "cancelled") || busy;
  $("btn-hold").disabled = !(t.state === "queued" || t.state === "held") || busy;
  setText($("btn-hold"), t.state === "held" ? "Release" : "Hold");
  document.title = `taskq · ${shortId(t.id)} · ${stateText(t)}${final ? "" : " " + (t.progress ?? 0) + "%"}`;
  noticeFollows(t);
  historySoon();
  if (output && FINAL.has(t.state)) output.finish();
}

// what the task waits for, the signals it received and its checkpoint (docs/waits.md); the
// Signal form while it can take one (any state but a final one)
function renderWaits(t) {
  const w = t.waiting_for;
  const any = !!w || (t.signals && Object.keys(t.signals).length > 0) || (t.checkpoint ?? null) !== null;
  $("waits-card").hidden = !any;
  setText($("t-waiting"), w ? `signal ${w.signal}${w.until ? `, until ${fmtTime(w.until)} (then ${w.on_timeout === "run" ? "it runs without it" : "it fails"})` : ""}` : "—");
  setText($("t-signals"), json(t.signals && Object.keys(t.signals).length ? t.signals : null));
  setText($("t-checkpoint"), json(t.checkpoint ?? null));
  const form = $("signal-form");
  form.hidden = FINAL.has(t.state);
  if (w && !form.dataset.touched) form.elements.name.value = w.signal;
}

function queuedText(t) {
  if (t.state !== "queued") return "";
  const wait = (Date.parse(t.run_at) - Date.now()) / 1000;
  if (wait > 1) return `scheduled: starts in about ${fmtDuration(wait)}`;
  return t.warning ? "waiting: no worker serves its queue" : "waiting for a worker";
}

// showMissing(text, e) — no such task (e: the API's error, for the title) or no id at all
function showMissing(text, e = null) {
  $("task").hidden = true;
  $("missing").hidden = false;
  $("missing-text").textContent = text;
  if (e) $("missing-text").title = errorTitle(e);
  renderLive($("live"), { state: "ended", mode: null, detail: e ? errorTitle(e) : text });
  document.title = "taskq · task not found";
}

// showSignIn(e) — the API refused the page's token (401) or its kind of token (403): the
// token field says so; nothing of the task is shown and nothing is followed.
function showSignIn(e) {
  if (follower) { follower.stop(); follower = null; }
  task = null;
  $("task").hidden = true;
  $("missing").hidden = true;
  renderLive($("live"), { state: "auth", mode: null, detail: errorTitle(e) });
  signInNeeded(e, "this task");
  document.title = "taskq · sign-in needed";
}

// ---- history -----------------------------------------------------------------------------
let historyTimer = null;
let historyLast = 0;
let historyUnavailable = false;
let historyKey = null;

// Events are written on state changes, not on progress: re-read the history only when
// something an event records has changed.
const eventKey = (t) => `${t.state}|${t.attempts}|${t.cancel_requested}|${t.callback_state}|${t.run_at}`;

function historySoon() {
  if (historyUnavailable || !task || eventKey(task) === historyKey || historyTimer) return;
  const wait = Math.max(0, 1000 - (Date.now() - historyLast));
  historyTimer = setTimeout(loadHistory, wait);
}

function detailText(d) {
  if (d === null || d === undefined) return "";
  if (typeof d === "string") return d;
  return JSON.stringify(d);
}

async function loadHistory() {
  historyTimer = null;
  historyLast = Date.now();
  const key = task ? eventKey(task) : null;
  const note = $("history-note");
  const table = $("history");
  try {
    const resp = await api(`${taskPath(id)}/history`, { timeoutMs: 10000 });
    if (resp.status === 200 && resp.data && Array.isArray(resp.data.events)) {
      historyKey = key;
      const events = resp.data.events;
      if (!events.length) {
        table.hidden = true;
        note.hidden = false;
        note.textContent = "No events yet.";
      } else {
        note.hidden = true;
        note.textContent = "";
        table.hidden = false;
        table.querySelector("tbody").replaceChildren(...events.map((e) => el("tr", { "data-event": e.event },
          el("td", { text: fmtTime(e.at), title: e.at || "" }),
          el("td", { text: e.event }),
          el("td", { class: "num", text: e.attempt === null || e.attempt === undefined ? "" : String(e.attempt) }),
          el("td", { class: "mono small", text: e.worker_id || "" }),
          el("td", { class: "detail", text: detailText(e.detail) }),
        )));
      }
    } else if (resp.status === 404 || resp.status === 405) {
      historyUnavailable = true;
      table.hidden = true;
      note.hidden = false;
      note.textContent = "History unavailable: this server does not answer GET /api/tasks/{id}/history.";
    } else {
      note.hidden = false;
      note.textContent = `History unavailable. ${describeError(errorOf(resp))}`;
      note.title = errorTitle(errorOf(resp));
    }
  } catch (err) {
    note.hidden = false;
    note.textContent = `History unavailable. ${describeError(err)}`;
    note.title = errorTitle(err);
  }
  if (task && eventKey(task) !== historyKey && !historyUnavailable) historySoon();
}

// ---- Cancel and Retry, and the notice that says what they did ----------------------------
// The notice follows the task. One about something still to happen (a cancel the worker has
// not acted on yet, a retry not yet run) is replaced or cleared as soon as the task reaches a
// final state after it; one about an action's result is cleared when the state changes again.
// The words are for people; the HTTP status and code go into the notice's title.
let busy = false;
let notice = null;              // {pending: "cancel"|"retry"|null, version, state, sticky}

// outcome(text, good, {pending, version, state, title, sticky}) — version: the task's version
// the action answered with; state: the state the notice is about (default: the one shown)
function outcome(text, good, { pending = null, version = 0, state = null, title = "", sticky = false } = {}) {
  const o = $("outcome");
  o.textContent = text;
  o.className = `outcome ${good ? "good" : "bad"}`;
  if (title) o.title = title; else o.removeAttribute("title");
  notice = text ? { pending, version: Number(version) || 0, state: state || (task ? task.state : null), sticky } : null;
}

function noticeFollows(t) {
  if (!notice || notice.sticky) return;
  if (notice.pending) {
    if (!FINAL.has(t.state) || Number(t.version) <= notice.version) return;
    if (notice.pending === "retry") outcome("", true);
    else if (t.state === "cancelled") outcome("Cancelled: the worker stopped the task.", true);
    else outcome(`The task ${t.state === "succeeded" ? "finished" : "failed"} before the cancel reached it.`, t.state === "succeeded");
    return;
  }
  if (notice.state && t.state !== notice.state) outcome("", true);
}

async function act(kind) {
  if (busy) return;
  busy = true;
  $("btn-cancel").disabled = true;
  $("btn-retry").disabled = true;
  $("btn-hold").disabled = true;
  const label = kind;
  outcome(kind === "cancel" ? "Cancelling…" : kind === "retry" ? "Retrying…" : kind === "hold" ? "Holding…" : "Releasing…", true, { sticky: true });
  try {
    const resp = kind === "cancel"
      ? await api(taskPath(id), { method: "DELETE", timeoutMs: 15000 })
      : await api(`${taskPath(id)}/${kind}`, { method: "POST", timeoutMs: 15000 });
    const isTask = resp.data && resp.data.id === id;
    const version = isTask ? resp.data.version : task ? task.version : 0;
    const state = isTask ? resp.data.state : null;
    const title = `HTTP ${resp.status}`;
    if (resp.ok && kind === "cancel" && resp.status === 202) {
      outcome("Cancel requested: the worker stops the task at its next step.", true, { pending: "cancel", version, state, title });
    } else if (resp.ok && kind === "cancel") {
      outcome("Cancelled: the task had not started yet.", true, { state, title });
    } else if (resp.ok && kind === "hold") {
      outcome("Held: no worker starts the task until it is released.", true, { state, title });
    } else if (resp.ok && kind === "release") {
      outcome("Released: the task is queued again in its place.", true, { state, title });
    } else if (resp.ok) {
      outcome("Queued again: the task runs once more.", true, { pending: "retry", version, state, title });
    } else {
      const e = errorOf(resp);
      outcome(`Could not ${label} the task. ${describeError(e)}`, false, { title: errorTitle(e) });
    }
    busy = false;
    if (isTask) {
      // a retried task is followed anew (the follower ended at the final state)
      if (follower && follower.status.state !== "ended") follower.apply(resp.data);
      else if (!FINAL.has(resp.data.state)) follow(resp.data);
      else render(resp.data);
      if (kind === "retry" && resp.ok) showOutput();   // the next attempt's output follows
    }
  } catch (err) {
    outcome(`Could not ${label} the task. ${describeError(err)}`, false, { title: errorTitle(err) });
  } finally {
    busy = false;
    if (task) render(task);
  }
}
$("btn-cancel").addEventListener("click", () => act("cancel"));
$("signal-form").addEventListener("input", () => { $("signal-form").dataset.touched = "1"; });
$("signal-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target, name = f.elements.name.value.trim(), text = f.elements.payload.value.trim();
  let body;
  try { body = text ? JSON.parse(text) : undefined; } catch (err) {
    outcome(`The payload is not JSON: ${err.message}`, false);
    return;
  }
  $("btn-signal").disabled = true;
  try {
    const resp = await api(`${taskPath(id)}/signals/${encodeURIComponent(name)}`,
      { method: "POST", body: body === undefined ? undefined : JSON.stringify(body), timeoutMs: 15000 });
    if (resp.ok) {
      outcome(resp.data.state === "queued" && task && task.state === "waiting"
        ? `Signal ${name} sent: the task runs again.` : `Signal ${name} sent and kept.`, true, { title: `HTTP ${resp.status}` });
      if (follower && follower.status.state !== "ended") follower.apply(resp.data);
      else render(resp.data);
    } else {
      const e = errorOf(resp);
      outcome(`Could not send the signal. ${describeError(e)}`, false, { title: errorTitle(e) });
    }
  } catch (err) {
    outcome(`Could not send the signal. ${describeError(err)}`, false, { title: errorTitle(err) });
  } finally {
    $("btn-signal").disabled = false;
  }
});
$("btn-retry").addEventListener("click", () => act("retry"));
$("btn-hold").addEventListener("click", () => act(task && task.state === "held" ? "release" : "hold"));

// ---- start -------------------------------------------------------------------------------
async function main() {
  initAuth();
  whoAmI().then((who) => { showOwner = !!(who && who.auth); if (task) renderFacts(task); });
  if (!UUID.test(id)) {
    showMissing(id ? `“${id}” is not a task id.` : "No task id in the address (task.html?id=…).");
    return;
  }
  // a task handed over by the submit form shows at once, before the first request
  try {
    const cached = sessionStorage.getItem(`taskq.task.${id}`);
    if (cached) {
      sessionStorage.removeItem(`taskq.task.${id}`);
      const t = JSON.parse(cached);
      if (t && t.id === id) render(t);
    }
  } catch { /* no storage: fine */ }
  if (new URLSearchParams(location.search).get("dedupe") === "1") {
    outcome("An unfinished task with the same dedupe key already existed, so no new one was made: this is that task.", true, { sticky: true, title: "HTTP 200 (dedupe_key)" });
  }

  let first = null;
  for (let attempt = 0; !first; attempt++) {
    try {
      const resp = await api(taskPath(id), { timeoutMs: 10000 });
      if (resp.status === 200 && resp.data && resp.data.id) { first = resp.data; break; }
      if (resp.status === 404 || resp.status === 400) {
        showMissing(describeError(errorOf(resp)), errorOf(resp));
        return;
      }
      if (resp.status === 401 || resp.status === 403) {
        showSignIn(errorOf(resp));
        return;
      }
      renderLive($("live"), { state: attempt >= 2 ? "offline" : "reconnecting", mode: null, detail: errorTitle(errorOf(resp)) });
    } catch (err) {
      renderLive($("live"), { state: attempt >= 2 ? "offline" : "reconnecting", mode: null, detail: errorTitle(err) });
    }
    await new Promise((r) => setTimeout(r, Math.min(10000, 1000 * 2 ** attempt)));
  }
  render(first);
  follow(first);
  mountChain($("chain"), first);
  showOutput();
}

// showOutput — the task's streamed output, appended chunk by chunk; the card shows once
// there is some. Read by pages every second (live: false): the task's own stream keeps the
// page's live slot, and a second is soon enough here (<taskq-progress output> streams it).
// It ends after the task's final state (render calls finish).
function showOutput() {
  if (output) output.stop();
  const pre = $("t-output");
  pre.textContent = "";
  output = followOutput(taskq, id, {
    live: false,
    onChunk: (c) => {
      const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      $("output-card").hidden = false;
      if (c.truncated) $("output-note").hidden = false;
      else pre.append(c.data);
      if (stick) pre.scrollTop = pre.scrollHeight;
    },
    onDone: (info) => { if (info.truncated) $("output-note").hidden = false; },
  });
  if (task && FINAL.has(task.state)) output.finish();
}

// follow(t) — live updates of the task (t: the copy we have); one follower at a time.
function follow(t) {
  if (follower) follower.stop();
  follower = taskq.follow(id, {
    task: t,
    onUpdate: render,
    onStatus: (s) => renderLive($("live"), s),
    onError: (e) => {
      if (e.status === 404) showMissing(describeError(e), e);
      else if (e.status === 401 || e.status === 403) showSignIn(e);
      else {
        renderLive($("live"), { state: "ended", mode: null, detail: errorTitle(e) });
        outcome(`Following the task stopped. ${describeError(e)}`, false, { sticky: true, title: errorTitle(e) });
      }
    },
  });
}

// leaving the page (or the back/forward cache) lets go of the connection and the live slot
window.addEventListener("pagehide", () => { if (follower) { follower.stop(); follower = null; } });
window.addEventListener("pageshow", (ev) => {
  if (ev.persisted && task && !FINAL.has(task.state)) follow(task);
});

main();
