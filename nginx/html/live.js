// live.js — follow one task live: SSE → long-poll → polling, with the connection state.
//
//   const f = followTask(id, { version, onTask(task), onStatus({state, mode, detail}), onGone() });
//   f.stop(); f.restart(); f.apply(task)
//
// Modes, best first:
//   "stream"    EventSource('/api/tasks/<id>/events') (nginx + nchan). Refused (an HTTP error,
//               or not open within 2 s) → long-poll for the rest of this page. Dropped after it
//               was open → reopened at once; dropping again and again → long-poll, and the
//               stream is tried again 30 s later. A stream quiet for 10 s is checked with one
//               conditional GET; if the task moved on without it, it is reopened.
//   "long-poll" GET /api/tasks/<id>?wait=25 with If-None-Match: "<version>" (200 or 304).
//               A server that ignores wait answers at once: an answer in < 100 ms with the same
//               version waits 1 s before asking again, so nothing spins. 400/404/405 for the
//               parameter → polling for the rest of the page; 429 → polling for a while.
//   "polling"   GET every 1 s with If-None-Match (304 = unchanged); errors back off 1, 2, 4, 8,
//               10 s. After a recovery, and every 30 s, the better modes are tried again.
// States for onStatus: "connecting", "live", "reconnecting" (an error, retrying soon),
// "offline" (3 or more failures in a row, or the browser says it is offline), "ended" (the
// task reached a final state: nothing is held open any more).
//
// Many tabs: a browser opens at most 6 HTTP/1.1 connections per host, shared by all its tabs,
// and each stream or long-poll holds one. So a tab holds one only with one of LIVE_SLOTS Web
// Locks (shared across the origin's tabs); a tab without one polls (short requests) and picks
// up a slot when another tab lets one go. Without the Web Locks API (insecure origins) every
// tab streams, as before.

import { api, taskPath, errorOf } from "./api.js";

export const FINAL = new Set(["succeeded", "failed", "cancelled"]);
export const LIVE_SLOTS = 4;

const SSE_OPEN_MS = 2000;        // a stream not open by then counts as refused
const STREAM_CHECK_MS = 10000;   // a stream quiet this long is checked with a conditional GET
const WAIT_S = 25;               // long-poll wait
const FAST_MS = 100;             // an answer faster than this did not wait
const POLL_MS = 1000;
const MAX_BACKOFF_MS = 10000;
const UPGRADE_MS = 30000;        // how long a tab stays on a worse mode before trying again
const OFFLINE_AFTER = 3;

// ---- Web Locks slots: at most LIVE_SLOTS held connections per browser, across tabs ----------
async function acquireSlot() {
  const locks = navigator.locks;
  if (!locks || typeof locks.request !== "function") return { release() {} };
  for (let i = 0; i < LIVE_SLOTS; i++) {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    const got = await new Promise((resolve) => {
      locks.request(`taskq-live-slot-${i}`, { ifAvailable: true }, (lock) => {
        if (!lock) { resolve(false); return undefined; }
        resolve(true);
        return held;          // the lock is held until release() is called
      }).catch(() => resolve(false));
    });
    if (got) return { release };
  }
  return null;
}

// Pull the task out of one SSE message: the task JSON itself, or a wrapper
// ({"task":…}, {"tasks":[…]}, […]) as a batched feed might send.
function taskFromMessage(data, id) {
  let v;
  try { v = JSON.parse(data); } catch { return null; }
  if (v && !Array.isArray(v) && typeof v === "object" && v.task) v = v.task;
  if (v && !Array.isArray(v) && typeof v === "object" && Array.isArray(v.tasks)) v = v.tasks;
  if (Array.isArray(v)) {
    let best = null;
    for (const t of v) if (t && t.id === id && (!best || (t.version ?? 0) >= (best.version ?? 0))) best = t;
    return best;
  }
  return v && typeof v === "object" && v.id === id ? v : null;
}

export function followTask(id, opts) {
  const f = new Follower(id, opts);
  f.start();
  return f;
}

class Follower {
  constructor(id, { version = 0, state = null, onTask = () => {}, onStatus = () => {}, onGone = () => {} } = {}) {
    this.id = id;
    this.version = version;
    this.taskState = state;
    this.onTask = onTask;
    this.onStatus = onStatus;
    this.onGone = onGone;
    this.running = false;
    this.gen = 0;                 // bumped by stop(): old loops notice and leave
    this.slot = null;
    this.sseRefused = typeof EventSource !== "function";
    this.longPollRefused = false;
    this.noBetterUntil = 0;       // polling until then (after errors / 429)
    this.failures = 0;
    this.status = { state: "connecting", mode: null, detail: "" };
    this.wake = null;             // resolves the current sleep early (online event, restart)
    this.abort = null;
    this.es = null;
    this.onOnline = () => { if (this.wake) this.wake(); };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", () => this.setStatus(this.status.state === "ended" ? "ended" : "offline", this.status.mode, "the browser is offline"));
  }

  setStatus(state, mode, detail = "") {
    const s = { state, mode, detail };
    if (s.state === this.status.state && s.mode === this.status.mode && s.detail === this.status.detail) return;
    this.status = s;
    this.onStatus(s);
  }

  // apply(task) — a newer version of the task (from any source, e.g. a Cancel answer).
  apply(task) {
    if (!task || task.id !== this.id) return false;
    const v = Number(task.version ?? 0);
    if (v < this.version) return false;
    const changed = v !== this.version || task.state !== this.taskState;
    this.version = v;
    this.taskState = task.state;
    if (changed) this.onTask(task);
    return changed;
  }

  start() {
    if (this.running) return;
    this.running = true;
    const gen = ++this.gen;
    this.loop(gen).catch((err) => {
      // never expected; keep the page honest rather than silently stuck
      console.error("taskq live follower stopped", err);
      if (gen === this.gen) this.setStatus("offline", null, String(err && err.message || err));
    });
  }

  stop() {
    this.running = false;
    this.gen++;
    this.closeStream();
    if (this.abort) this.abort.abort();
    if (this.wake) this.wake();
    if (this.slot) { this.slot.release(); this.slot = null; }
  }

  // restart() — follow again (e.g. after Retry put a finished task back in the queue).
  restart() {
    this.stop();
    this.start();
  }

  // ---------------------------------------------------------------------------------------
  sleep(ms, gen) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() { clearTimeout(t); if (self.wake === done) self.wake = null; resolve(gen === self.gen); }
      this.wake = done;
    });
  }

  alive(gen) { return this.running && gen === this.gen; }

  ended(gen) {
    if (FINAL.has(this.taskState)) {
      this.setStatus("ended", null, "final state: " + this.taskState);
      this.running = false;
      this.closeStream();
      if (this.slot) { this.slot.release(); this.slot = null; }
      return true;
    }
    return !this.alive(gen);
  }

  failed(mode, detail) {
    this.failures++;
    const offline = this.failures >= OFFLINE_AFTER || navigator.onLine === false;
    this.setStatus(offline ? "offline" : "reconnecting", mode, detail);
  }

  succeeded(mode) {
    this.failures = 0;
    this.setStatus("live", mode);
  }

  backoffMs() {
    return Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** Math.max(0, this.failures - 1));
  }

  async loop(gen) {
    if (this.ended(gen)) return;
    while (this.alive(gen)) {
      this.maybeReenableStream();
      if (this.slot && this.sseRefused && this.longPollRefused && !this.sseRetryAt) {
        this.slot.release();      // nothing to hold a connection for: let another tab have it
        this.slot = null;
      }
      if (!this.slot && Date.now() >= this.noBetterUntil && !(this.sseRefused && this.longPollRefused)) {
        this.slot = await acquireSlot();
        if (!this.alive(gen)) { if (this.slot) { this.slot.release(); this.slot = null; } return; }
      }
      const better = this.slot && Date.now() >= this.noBetterUntil;
      let outcome;
      if (better && !this.sseRefused) {
        outcome = await this.runStream(gen);
        if (this.alive(gen)) await this.streamOutcome(outcome, gen);
      }
      else if (better && !this.longPollRefused) outcome = await this.runLongPoll(gen);
      else outcome = await this.runPoll(gen);
      if (this.ended(gen)) return;
      if (outcome === "gone" || outcome === "stopped") return;
      // "refused"/"dropped"/"degrade"/"upgrade": go round and pick the mode again
    }
  }

  // ---- stream (EventSource) ----------------------------------------------------------------
  closeStream() {
    if (this.es) { this.es.close(); this.es = null; }
  }

  // One EventSource. Resolves "final", "refused" (never opened: an HTTP error, a wrong content
  // type, or not open within SSE_OPEN_MS), "dropped" (it was open and failed), "stale" (open
  // but missing changes) or "stopped".
  // The browser's own reconnect (after ~3 s) is not waited for: a dropped stream is reopened
  // at once by the loop, and its first message is the task as it is now (older messages
  // that a server might replay are ignored by version).
  runStream(gen) {
    return new Promise((resolve) => {
      let opened = false;
      let settled = false;
      const es = new EventSource(`${taskPath(this.id)}/events`);
      this.es = es;
      const finish = (outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(openTimer);
        clearInterval(watch);
        es.close();
        if (this.es === es) this.es = null;
        resolve(outcome);
      };
      const openTimer = setTimeout(() => { if (!opened) finish("refused"); }, SSE_OPEN_MS);
      // stop() closes the EventSource without an event: notice it. And a stream can go quiet
      // while it looks open (a publisher that restarted and forgot this subscriber): after
      // STREAM_CHECK_MS without a message, one conditional GET asks whether the task moved on;
      // if it did, the stream is stale and is opened anew (the new subscription is published to).
      let lastActivity = Date.now();
      let checking = false;
      const watch = setInterval(async () => {
        if (!this.alive(gen)) return finish("stopped");
        if (!opened || checking || settled || Date.now() - lastActivity < STREAM_CHECK_MS) return;
        checking = true;
        try {
          const resp = await api(taskPath(this.id), { headers: { "If-None-Match": `"${this.version}"` }, timeoutMs: 10000 });
          if (settled || !this.alive(gen)) return;
          lastActivity = Date.now();
          if (resp.status === 200 && resp.data && this.apply(resp.data)) {
            if (FINAL.has(this.taskState)) finish("final"); else finish("stale");
          }
        } catch { /* the stream's own error handling covers an unreachable server */ }
        finally { checking = false; }
      }, 1000);
      es.onopen = () => {
        if (!this.alive(gen)) return finish("stopped");
        opened = true;
        lastActivity = Date.now();
        this.streamOpenedAt = Date.now();
        clearTimeout(openTimer);
        this.succeeded("stream");
      };
      const onMessage = (ev) => {
        if (!this.alive(gen)) return finish("stopped");
        lastActivity = Date.now();
        const task = taskFromMessage(ev.data, this.id);
        if (!task) return;
        this.apply(task);
        if (FINAL.has(this.taskState)) finish("final");
      };
      es.onmessage = onMessage;
      es.addEventListener("task", onMessage);
      es.onerror = () => {
        if (!this.alive(gen)) return finish("stopped");
        finish(opened ? "dropped" : "refused");
      };
    });
  }

  // streamOutcome — what a stream's end means for the next round.
  async streamOutcome(outcome, gen) {
    if (outcome === "refused") {
      this.sseRefused = true;
      if (this.streamOpenedAt) {
        // it worked on this page before: the server is restarting, not without streams
        this.failed("stream", "the stream cannot be opened");
        this.sseRetryAt = Date.now() + UPGRADE_MS / 3;
      }
      return;                                   // else: no stream here, long-poll for this page
    }
    if (outcome !== "dropped") return;
    // a stream that lived a while and dropped: reopen it at once; one that keeps dropping
    // soon after opening: long-poll for UPGRADE_MS, then the stream is tried again
    if (Date.now() - (this.streamOpenedAt || 0) >= 10000) this.streamDrops = 0;
    this.streamDrops = (this.streamDrops || 0) + 1;
    this.failed("stream", "the stream was interrupted");
    if (this.streamDrops <= 2) {
      await this.sleep(250 * this.streamDrops, gen);
      return;
    }
    this.streamDrops = 0;
    this.sseRefused = true;
    this.sseRetryAt = Date.now() + UPGRADE_MS;
  }

  maybeReenableStream() {
    if (this.sseRetryAt && Date.now() >= this.sseRetryAt) {
      this.sseRetryAt = 0;
      this.sseRefused = false;
      return true;
    }
    return false;
  }

  // ---- long-poll ----------------------------------------------------------------------------
  async runLongPoll(gen) {
    while (this.alive(gen)) {
      if (this.maybeReenableStream()) return "upgrade";
      const t0 = performance.now();
      const ctrl = new AbortController();
      this.abort = ctrl;
      // a long-poll that is still open after a second is being held by the server (a refused
      // connection or a 5xx comes back at once): the page is live, not "connecting"
      const heldTimer = setTimeout(() => { if (this.alive(gen)) this.succeeded("long-poll"); }, 1000);
      let resp;
      try {
        resp = await api(`${taskPath(this.id)}?wait=${WAIT_S}`, {
          headers: { "If-None-Match": `"${this.version}"` },
          signal: ctrl.signal,
          timeoutMs: (WAIT_S + 10) * 1000,
        });
      } catch (err) {
        if (!this.alive(gen)) return "stopped";
        this.failed("long-poll", err.message);
        // errors: polling with back-off takes over; it climbs back after a recovery
        this.noBetterUntil = Date.now() + this.backoffMs();
        return "degrade";
      } finally {
        clearTimeout(heldTimer);
        if (this.abort === ctrl) this.abort = null;
      }
      if (!this.alive(gen)) return "stopped";
      const elapsed = performance.now() - t0;
      const r = this.handleAnswer(resp, "long-poll");
      if (r === "gone") return "gone";
      if (this.ended(gen)) return "final";
      if (r === "error") {
        if (resp.status === 400 || resp.status === 404 || resp.status === 405 || resp.status === 501) {
          this.longPollRefused = true;           // the server does not do ?wait=
          return "refused";
        }
        if (resp.status === 429) {
          const ra = Number(resp.headers.get("Retry-After"));
          this.noBetterUntil = Date.now() + Math.max(UPGRADE_MS, (ra > 0 ? ra : 0) * 1000);
          return "degrade";
        }
        this.noBetterUntil = Date.now() + this.backoffMs();
        return "degrade";
      }
      if (elapsed < FAST_MS && r === "same") {
        // the server did not wait (no long-poll support yet): do not spin
        if (!(await this.sleep(POLL_MS, gen))) return "stopped";
      } else if (elapsed < FAST_MS) {
        // changes faster than 10 a second: catch up at most that often
        if (!(await this.sleep(FAST_MS - elapsed, gen))) return "stopped";
      }
    }
    return "stopped";
  }

  // handleAnswer — "changed", "same", "gone" or "error" for one GET answer.
  handleAnswer(resp, mode) {
    if (resp.status === 304) { this.succeeded(mode); return "same"; }
    if (resp.status === 200 && resp.data && resp.data.id) {
      this.succeeded(mode);
      return this.apply(resp.data) ? "changed" : "same";
    }
    if (resp.status === 404 && resp.data && resp.data.error && resp.data.error.code === "not_found") {
      this.setStatus("ended", null, "no such task");
      this.running = false;
      this.onGone(errorOf(resp));
      return "gone";
    }
    const e = errorOf(resp);
    this.failed(mode, `HTTP ${e.status} ${e.code}${e.message ? ": " + e.message : ""}`);
    return "error";
  }

  // ---- polling ------------------------------------------------------------------------------
  async runPoll(gen) {
    let nextSlotTry = Date.now() + 5000;
    while (this.alive(gen)) {
      const delay = this.failures ? this.backoffMs() : POLL_MS;
      if (!(await this.sleep(delay, gen))) return "stopped";
      const ctrl = new AbortController();
      this.abort = ctrl;
      let resp;
      try {
        resp = await api(taskPath(this.id), {
          headers: { "If-None-Match": `"${this.version}"` },
          signal: ctrl.signal,
          timeoutMs: 10000,
        });
      } catch (err) {
        if (!this.alive(gen)) return "stopped";
        this.failed("polling", err.message);
        continue;
      } finally {
        if (this.abort === ctrl) this.abort = null;
      }
      if (!this.alive(gen)) return "stopped";
      const hadFailures = this.failures > 0;
      const r = this.handleAnswer(resp, "polling");
      if (r === "gone") return "gone";
      if (this.ended(gen)) return "final";
      if (r === "error") {
        const ra = Number(resp.headers.get("Retry-After"));
        if (ra > 0 && !(await this.sleep(Math.min(ra * 1000, MAX_BACKOFF_MS), gen))) return "stopped";
        continue;
      }
      // climb back to a better mode: right after a recovery, or once noBetterUntil passed
      this.maybeReenableStream();
      if (!this.sseRefused || !this.longPollRefused) {
        if (!this.slot && Date.now() >= nextSlotTry) {
          nextSlotTry = Date.now() + 5000;
          this.slot = await acquireSlot();
          if (!this.alive(gen)) return "stopped";
        }
        if (this.slot && (hadFailures || Date.now() >= this.noBetterUntil)) {
          this.noBetterUntil = 0;
          return "upgrade";
        }
      }
    }
    return "stopped";
  }
}

// ---- the dashboard's live feed ----------------------------------------------------------------
// followFeed({path, onTasks(list), onStatus(state)}) — EventSource(path): batches
// {"tasks":[…]} of changed tasks; path is /api/stream (every task: admins) or
// /api/stream/{owner} (one owner's), see feedPath in api.js. It holds a connection, so it takes
// one of the live slots like a task page; without a slot, or when the server has no feed (it
// never opens), it reports "unavailable" and the caller keeps to its periodic refresh.
// States: "live", "reconnecting", "unavailable". stop() closes it and lets the slot go.
export function followFeed({ path = "/api/stream", onTasks, onStatus }) {
  let es = null;
  let slot = null;
  let stopped = false;
  let everOpened = false;
  let retryTimer = null;
  let failures = 0;

  const close = () => { if (es) { es.close(); es = null; } };
  const open = async () => {
    if (stopped) return;
    if (!slot) slot = await acquireSlot();
    if (stopped) { if (slot) { slot.release(); slot = null; } return; }
    if (!slot) { onStatus("unavailable"); retryTimer = setTimeout(open, 15000); return; }
    let opened = false;
    const mine = new EventSource(path);
    es = mine;
    const openTimer = setTimeout(() => { if (!opened && es === mine) fail(); }, SSE_OPEN_MS);
    mine.onopen = () => { opened = true; everOpened = true; failures = 0; clearTimeout(openTimer); onStatus("live"); };
    mine.onmessage = (ev) => {
      let v;
      try { v = JSON.parse(ev.data); } catch { return; }
      const list = Array.isArray(v) ? v : v && Array.isArray(v.tasks) ? v.tasks : v && v.id ? [v] : null;
      if (list && list.length) onTasks(list);
    };
    mine.onerror = () => { clearTimeout(openTimer); if (es === mine) fail(); };
    function fail() {
      close();
      if (stopped) return;
      if (!opened && !everOpened) {
        // no feed on this server: give the slot back, the caller polls
        if (slot) { slot.release(); slot = null; }
        onStatus("unavailable");
        return;
      }
      failures++;
      onStatus("reconnecting");
      retryTimer = setTimeout(open, Math.min(MAX_BACKOFF_MS, 250 * 2 ** failures));
    }
  };
  open();
  return {
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      close();
      if (slot) { slot.release(); slot = null; }
    },
  };
}
