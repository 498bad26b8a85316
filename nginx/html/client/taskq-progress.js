// taskq-progress.js — <taskq-progress>: one task's live progress in any page, one tag.
//
//   <script type="module" src="/client/taskq-progress.js"></script>
//   <taskq-progress task="01a2…" view-token="tv_…" cancel></taskq-progress>
//
// Shows the state, a progress bar with the percentage, the task's message and the elapsed
// time, live (taskq-client.js follows the task: stream, long-poll or polling; many elements
// for one task share one follower). A queued task shows its place in line ("12th in line,
// about 40 s": position and eta_s of the task JSON), read again every 5 s. Attributes, all of which may change at any time:
//   task        the task id (without it: "starting…", e.g. while the page submits)
//   view-token  a view token (tv_…) for the task; without it the page's cookie counts
//   cancel      show a Cancel button (the view token must allow cancel)
// While the task waits for a signal (state waiting) and its view token allows signals (minted
// with "signal": true), it shows Approve and Reject: Approve sends the signal it waits for
// with {"approved": true}, Reject the same signal with {"approved": false} (docs/waits.md).
//   base        the API's origin (default: where this module was loaded from)
//   label       the progress bar's accessible name (default "Task progress")
//   output      show the task's streamed output below the bar, live (taskq-output.js: every
//               chunk once, in order); output="llm" shows the text of an LLM API's streamed
//               events (an http task with "stream": true) instead of their JSON
// The host reflects data-state (queued, running, held, waiting, succeeded, failed, cancelled, error) and
// data-live (connecting, live, reconnecting, offline, ended) for styling.
// Events (bubbling, composed): taskq-update, taskq-done, taskq-error, taskq-output; detail
// {task}, {error} or {chunk}. Properties: .task (the latest task JSON), .error, .output (the
// text shown), .outputSeq (the last chunk's seq). An error is shown in words
// (explain() of taskq-client.js); its HTTP status and code are in the error line's title.
// Accessibility: the bar is role="progressbar" with aria-valuenow/min/max/valuetext; state
// and message changes are announced by a polite live region; colour is never the only cue.
// Theming: CSS custom properties --taskq-bar-color, --taskq-track-color, --taskq-font,
// --taskq-radius, --taskq-height, --taskq-text-color, --taskq-muted-color,
// --taskq-success-color, --taskq-error-color; parts: state, elapsed, track, bar, message,
// percent, error, cancel, approve, reject, output, output-note.

import { createClient, FINAL, explain, errorDetail } from "./taskq-client.js";
import { followOutput, llmText } from "./taskq-output.js";

const DEFAULT_BASE = new URL("../", import.meta.url).href.replace(/\/+$/, "");
const PLACE_EVERY_S = 5;

// placeText — "12th in line, about 40 s" for a queued task with a place in line (position,
// eta_s in the task JSON), else "waiting for a worker"
function placeText(t) {
  const n = Number(t.position);
  if (!(n >= 1)) return "waiting for a worker";
  const tens = n % 100, th = tens >= 11 && tens <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] || "th";
  return `${n}${th} in line` + (t.eta_s != null ? `, about ${t.eta_s} s` : "");
}

// keepPlace — a stream's change message of a task still queued carries no place in line
// (null): keep the one last read until the next read (refreshPlace)
function keepPlace(prev, task) {
  if (!prev || !task || task.state !== "queued" || task.position != null || prev.position == null) return task;
  return { ...task, position: prev.position, eta_s: prev.eta_s };
}

const STATE_TEXT = { queued: "Queued", running: "Processing…", succeeded: "Done", failed: "Failed", cancelled: "Cancelled", held: "Held", waiting: "Waiting for approval" };

// Whether a view token (tv_ + base64url; byte 2: flags, bit 1 "may signal") allows signals.
function tokenSignals(tok) {
  if (!tok || !tok.startsWith("tv_")) return false;
  try { return (atob(tok.slice(3, 7).replace(/-/g, "+").replace(/_/g, "/")).charCodeAt(2) & 2) !== 0; } catch { return false; }
}
const LIVE_TEXT = { reconnecting: "reconnecting…", offline: "offline, retrying" };

const TEMPLATE = `<style>
:host { display: block; font: var(--taskq-font, inherit); color: var(--taskq-text-color, inherit); }
:host([hidden]) { display: none; }
.head, .foot { display: flex; justify-content: space-between; align-items: baseline; gap: .75em; }
.state { font-weight: 600; }
.elapsed, .foot { color: var(--taskq-muted-color, #5b6472); font-variant-numeric: tabular-nums; }
.foot { font-size: .9em; }
.track { height: var(--taskq-height, .6em); margin: .35em 0; overflow: hidden;
  background: var(--taskq-track-color, #e3e7ee); border-radius: var(--taskq-radius, 999px); }
.fill { height: 100%; width: 0; border-radius: inherit; background: var(--taskq-bar-color, #2563eb);
  transition: width .3s ease; }
:host([data-state=succeeded]) .fill { background: var(--taskq-success-color, #15803d); }
:host([data-state=failed]) .fill, :host([data-state=error]) .fill { background: var(--taskq-error-color, #b91c1c); }
:host([data-state=cancelled]) .fill { background: var(--taskq-muted-color, #5b6472); }
.message { overflow-wrap: anywhere; }
.error { color: var(--taskq-error-color, #b91c1c); margin: .35em 0 0; }
button { font: inherit; margin-top: .5em; padding: .3em .9em; cursor: pointer; border-radius: var(--taskq-radius, 999px);
  border: 1px solid currentColor; background: transparent; color: inherit; }
button:focus-visible { outline: 2px solid var(--taskq-bar-color, #2563eb); outline-offset: 2px; }
.output { margin: .5em 0 0; max-height: var(--taskq-output-height, 16em); overflow: auto; white-space: pre-wrap;
  overflow-wrap: anywhere; font: .9em/1.4 ui-monospace, monospace; }
.note { color: var(--taskq-muted-color, #5b6472); font-size: .9em; margin: .25em 0 0; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
@media (prefers-reduced-motion: reduce) { .fill { transition: none; } }
</style>
<div class="head"><span class="state" part="state"></span><span class="elapsed" part="elapsed"></span></div>
<div class="track" part="track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div class="fill" part="bar"></div></div>
<div class="foot"><span class="message" part="message"></span><span class="pct" part="percent" aria-hidden="true">0%</span></div>
<p class="error" part="error" hidden></p>
<pre class="output" part="output" aria-label="Output" hidden></pre>
<p class="note" part="output-note" hidden>The output was cut: it reached the worker's limit.</p>
<button type="button" part="cancel" hidden>Cancel</button>
<button type="button" part="approve" class="approve" hidden>Approve</button>
<button type="button" part="reject" class="reject" hidden>Reject</button>
<div class="sr" role="status" aria-live="polite"></div>`;

// "0:07", "12:05", "1:02:03"
function clock(s) {
  s = Math.max(0, Math.floor(s));
  const mm = String(Math.floor((s % 3600) / 60)), ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

export class TaskqProgress extends HTMLElement {
  static get observedAttributes() { return ["task", "view-token", "cancel", "base", "label", "output"]; }

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = TEMPLATE;
    const $ = (sel) => root.querySelector(sel);
    this.ui = { state: $(".state"), elapsed: $(".elapsed"), bar: $(".track"), fill: $(".fill"), message: $(".message"),
      pct: $(".pct"), error: $(".error"), cancel: $("button"), approve: $(".approve"), reject: $(".reject"), live: $(".sr"), output: $(".output"), note: $(".note") };
    this.ui.cancel.addEventListener("click", () => this.cancelTask());
    this.ui.approve.addEventListener("click", () => this.decide(true));
    this.ui.reject.addEventListener("click", () => this.decide(false));
    this.task = null;
    this.error = null;
    this.cancelError = "";
    this.cancelDetail = "";
    this.taskq = null;            // the client, made anew when task, view-token or base change
    this.handle = null;
    this.outHandle = null;
    this.output = "";
    this.outputSeq = 0;
    this.ctrl = null;
    this.ticker = null;
    this.announced = "";
    this.pending = false;
  }

  connectedCallback() { this.followSoon(); }

  disconnectedCallback() { this.unfollow(); }

  attributeChangedCallback(name, old, val) {
    if (old === val || !this.isConnected) return;
    if (name === "task" || name === "view-token" || name === "base" || name === "output") this.followSoon();
    else this.render();
  }

  // followSoon — follow once all the attributes set in this turn are in (a page that sets
  // view-token and then task starts one follower, not two)
  followSoon() {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => { this.pending = false; if (this.isConnected) this.follow(); });
  }

  unfollow() {
    if (this.ctrl) { this.ctrl.abort(); this.ctrl = null; }
    if (this.outHandle) { this.outHandle.stop(); this.outHandle = null; }
    this.handle = null;
    clearInterval(this.ticker);
    this.ticker = null;
  }

  follow() {
    this.unfollow();
    const id = (this.getAttribute("task") || "").trim();
    this.task = null;
    this.error = null;
    this.cancelError = "";
    this.live = "connecting";
    this.mode = null;
    this.taskq = createClient({ base: this.getAttribute("base") || DEFAULT_BASE, viewToken: this.getAttribute("view-token") || null });
    this.render();
    if (!id) return;
    this.ctrl = new AbortController();
    this.followOutput(id);
    this.handle = this.taskq.follow(id, {
      signal: this.ctrl.signal,
      onUpdate: (task) => { this.task = keepPlace(this.task, task); this.render(); this.fire("taskq-update", { task }); },
      onDone: (task) => {
        this.task = task;
        this.render();
        if (this.outHandle) this.outHandle.finish();    // the last chunks, then the stream ends
        this.fire("taskq-done", { task });
      },
      onError: (error) => { this.error = error; this.render(); this.fire("taskq-error", { error }); },
      onStatus: (s) => { this.live = s.state; this.mode = s.mode; this.render(); },
    });
    let ticks = 0;
    this.ticker = setInterval(() => { this.renderElapsed(); if (++ticks % PLACE_EVERY_S === 0) this.refreshPlace(id); }, 1000);
  }

  // refreshPlace — a queued task's place in line moves while the task itself does not change
  // (no stream message), and the stream's change messages do not count it (null): read it
  // again now and then, keeping the rest of the task as followed
  async refreshPlace(id) {
    const t = this.task;
    if (!t || t.state !== "queued" || this.placeBusy) return;
    this.placeBusy = true;
    try {
      const now = await this.taskq.get(id);
      const cur = this.task;
      if (now && cur && cur.id === now.id && cur.state === "queued" && Number(now.version) >= Number(cur.version)) {
        this.task = { ...cur, position: now.position, eta_s: now.eta_s };
        this.render();
      }
    } catch (_) { /* the stream's own errors say what is wrong */ }
    finally { this.placeBusy = false; }
  }

  // the output attribute: the streamed text below the bar, appended chunk by chunk
  followOutput(id) {
    const ui = this.ui;
    this.output = "";
    this.outputSeq = 0;
    ui.output.textContent = "";
    ui.output.hidden = !this.hasAttribute("output");
    ui.note.hidden = true;
    if (!this.hasAttribute("output")) return;
    const llm = this.getAttribute("output") === "llm";
    this.outHandle = followOutput(this.taskq, id, {
      onChunk: (chunk) => {
        const text = chunk.truncated ? "" : llm ? llmText(chunk.data) : chunk.data;
        const stick = ui.output.scrollTop + ui.output.clientHeight >= ui.output.scrollHeight - 4;
        this.outputSeq = chunk.seq;
        if (text) { this.output += text; ui.output.append(text); }
        if (chunk.truncated) ui.note.hidden = false;
        if (stick) ui.output.scrollTop = ui.output.scrollHeight;
        this.fire("taskq-output", { chunk });
      },
      onDone: (info) => { if (info.truncated) ui.note.hidden = false; },
    });
  }

  fire(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true })); }

  async cancelTask() {
    const t = this.task;
    if (!t || FINAL.has(t.state)) return;
    const handle = this.handle;
    this.ui.cancel.disabled = true;
    this.cancelError = "";
    try {
      const task = await this.taskq.cancel(t.id);
      if (handle && handle === this.handle && task) handle.apply(task);     // shown at once
    } catch (err) {
      this.cancelError = `Cancel refused. ${explain(err)}`;
      this.cancelDetail = errorDetail(err);
      this.ui.cancel.disabled = false;
      this.render();
    }
  }

  // decide(approved) — sends the signal the task waits for with {"approved": approved}
  async decide(approved) {
    const t = this.task;
    if (!t || t.state !== "waiting" || !t.waiting_for) return;
    const handle = this.handle;
    this.ui.approve.disabled = this.ui.reject.disabled = true;
    this.cancelError = "";
    try {
      const task = await this.taskq.signal(t.id, t.waiting_for.signal, { approved });
      if (handle && handle === this.handle && task) handle.apply(task);
    } catch (err) {
      this.cancelError = `${approved ? "Approve" : "Reject"} refused. ${explain(err)}`;
      this.cancelDetail = errorDetail(err);
      this.render();
    } finally {
      this.ui.approve.disabled = this.ui.reject.disabled = false;
    }
  }

  render() {
    const t = this.task, ui = this.ui, err = this.error;
    const state = err ? "error" : t ? t.state : "";
    const p = t ? Math.max(0, Math.min(100, Math.round(Number(t.progress) || 0))) : 0;
    this.setAttr(this, "data-state", state || null);
    this.setAttr(this, "data-live", this.getAttribute("task") ? this.live : null);
    this.setAttr(this, "data-mode", this.mode || null);
    let word = !this.getAttribute("task") ? "Starting…" : err ? "Unavailable" : t ? STATE_TEXT[t.state] || t.state : "Loading…";
    if (t && t.cancel_requested && t.state === "running") word = "Cancelling…";
    if (!err && LIVE_TEXT[this.live] && !(t && FINAL.has(t.state))) word += ` (${LIVE_TEXT[this.live]})`;
    this.setText(ui.state, word);
    const message = err ? "" : (t && t.message) || (t && t.state === "queued" ? placeText(t) : "")
      || (t && t.state === "waiting" && t.waiting_for ? `waiting for ${t.waiting_for.signal}` : "");
    this.setText(ui.message, message);
    this.setText(ui.pct, `${p}%`);
    ui.fill.style.width = `${p}%`;
    this.setAttr(ui.bar, "aria-label", this.getAttribute("label") || "Task progress");
    this.setAttr(ui.bar, "aria-valuenow", String(p));
    this.setAttr(ui.bar, "aria-valuetext", `${p}%, ${word}${message ? ": " + message : ""}`);
    this.setAttr(ui.bar, "aria-busy", t && !FINAL.has(t.state) ? "true" : "false");
    // words for people; the status and the code in the tooltip
    const errText = err ? explain(err) : this.cancelError;
    this.setText(ui.error, errText);
    this.setAttr(ui.error, "title", err ? errorDetail(err) : this.cancelError ? this.cancelDetail : null);
    ui.error.hidden = !errText;
    ui.cancel.hidden = !this.hasAttribute("cancel") || !t || FINAL.has(t.state) || !!err;
    if (t && t.cancel_requested) ui.cancel.disabled = true;
    const asks = !!t && !err && t.state === "waiting" && !!t.waiting_for && tokenSignals(this.getAttribute("view-token"));
    ui.approve.hidden = ui.reject.hidden = !asks;
    // announced: the state in words and the message, not every percent
    const say = err ? `Task unavailable. ${errText}` : this.cancelError || (t ? `${word}${message ? ". " + message : ""}` : "");
    if (say !== this.announced) { this.announced = say; ui.live.textContent = say; }
    this.renderElapsed();
  }

  renderElapsed() {
    const t = this.task;
    let text = "";
    if (t && !this.error) {
      const now = this.taskq.serverNow();
      const end = t.finished_at ? Date.parse(t.finished_at) : now;
      if (t.started_at) text = clock((end - Date.parse(t.started_at)) / 1000);
      else if (t.state === "queued" && t.created_at) text = `waiting ${clock((now - Date.parse(t.created_at)) / 1000)}`;
    }
    this.setText(this.ui.elapsed, text);
    if (t && FINAL.has(t.state)) { clearInterval(this.ticker); this.ticker = null; }
  }

  setText(node, text) { if (node.textContent !== text) node.textContent = text; }

  setAttr(node, name, value) {
    if (value === null) node.removeAttribute(name);
    else if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }
}

if (!customElements.get("taskq-progress")) customElements.define("taskq-progress", TaskqProgress);
