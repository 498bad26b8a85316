// taskq-client.js — taskq from any web page: submit, get, cancel, and follow a task live.
// A plain ES module without dependencies, served by nginx at /client/taskq-client.js
// (README.md, "Use it from your app", documents it for users).
//
//   const taskq = createClient({ viewToken: "tv_…" });   // or {token}; {base} for another origin
//   taskq.follow(id, { onUpdate(task), onDone(task), onError(err), onStatus(s), signal });
//
// submit/get/cancel resolve to the API's JSON and throw TaskqError for an error answer (status
// 0: unreachable); explain(err) says what went wrong in words for a person, errorDetail(err)
// gives the status and code for a tooltip or a log. A view token goes in Authorization; the
// stream (EventSource sends no headers) gets it from the cookie taskq_view, set for the task's
// path only, when the API is on the page's origin (setViewCookie), else in ?view_token= (a page
// cannot set another origin's cookies). A plain token cannot go there: streams then rely on
// the page's cookies.
//
// follow() keeps one Follower per task and page (registry): a second follow() joins it and gets
// the latest state at once; it stops when the last one leaves, and ends by itself at a final
// state (onDone, once) or on 401/403/404 (onError: retrying cannot fix those). Its modes, best
// first: "stream" (EventSource; refused, or no first message within sseOpenMs → long-poll;
// dropped → reopened at once and the task re-read once, so no final state is missed; dropping
// again and again → long-poll for upgradeMs), "long-poll" (?wait= with If-None-Match; refused
// → polling) and "polling" (If-None-Match every pollMs, errors backing off with jitter up to
// maxBackoffMs); after a recovery, and every upgradeMs, the better modes are tried again.
// onStatus: connecting, live, reconnecting, offline (offlineAfter failures in a row, or the
// browser says so), ended. A browser opens at most 6 connections per host for all its tabs:
// a follower holds a stream or a long-poll only with one of LIVE_SLOTS Web Locks shared by the
// origin's tabs, and polls without one.

export const FINAL = new Set(["succeeded", "failed", "cancelled"]);
export const LIVE_SLOTS = 4;
export const TIMING = {
  sseOpenMs: 2000,       // a stream without its first message by then counts as refused
  streamCheckMs: 10000,  // a stream quiet this long is checked with a conditional GET
  waitS: 25,             // long-poll wait (the API takes 0..30 s)
  fastMs: 100,           // an answer faster than this did not wait
  pollMs: 1000,
  maxBackoffMs: 10000,
  upgradeMs: 30000,      // how long a follower stays on a worse mode before trying again
  offlineAfter: 3,
};

export class TaskqError extends Error {
  constructor(status, code, message, body = null) {
    super(message || code);
    this.name = "TaskqError";
    Object.assign(this, { status, code, body });
  }
}

// bodyOf(resp) — the answer's JSON; null for a 304; a TaskqError thrown for an error answer.
function bodyOf(resp) {
  if (!resp.ok && resp.status !== 304) throw errorOf(resp);
  return resp.status === 304 ? null : resp.data;
}

// errorOf(resp) — the TaskqError for a non-2xx answer, from the API's {"error":{code,message}}.
export function errorOf(resp) {
  const e = resp.data && resp.data.error;
  if (e && typeof e === "object") return new TaskqError(resp.status, String(e.code || "error"), String(e.message || ""), resp.data);
  return new TaskqError(resp.status, `http_${resp.status}`, resp.statusText || "unexpected answer", resp.data);
}

// explain(err) — one sentence for a person about a failed request (a TaskqError or any
// {status, code, message}): what happened, in words, with the API's own message where it
// helps. The status and the code stay out of it; errorDetail(err) has them, for a tooltip or
// a log line ("HTTP 409 wrong_state: task already finished").
export function explain(err) {
  if (!err || typeof err !== "object") return String(err || "Something went wrong.");
  const status = Number(err.status) || 0;
  const code = String(err.code || "");
  const msg = String(err.message || "").replace(/\.$/, "");
  const said = (words) => (msg && msg !== code ? `${words}: ${msg}.` : `${words}.`);
  if (status === 0) {
    if (code === "timeout") return "The server did not answer in time.";
    if (code === "network") return "The server cannot be reached.";
    return msg ? `${msg}.` : "The request could not be sent.";
  }
  if (status === 401) {
    return code === "invalid_token" ? "The server does not accept this token: it is unknown, expired or revoked."
      : "Sign-in needed: the server asks for an API token.";
  }
  if (status === 403) return said("This token is not allowed to do that");
  if (status === 404) return code === "not_found" ? "No such task: it may have been removed after its retention period, or the id is wrong."
    : "The server does not offer this.";
  if (status === 405 || status === 501) return "The server does not offer this.";
  if (status === 409) return said("Not possible in the task's current state");
  if (status === 413) return said("Too large for the server");
  if (status === 429) return "Too many requests at once: try again in a moment.";
  if (status === 503) return "The server is unavailable for the moment (its database cannot be reached); try again shortly.";
  if (status >= 500) return "The server ran into an error; try again shortly.";
  if (status >= 400) return said("The server refused the request");
  return said("Unexpected answer from the server");
}

export function errorDetail(err) {
  if (!err || typeof err !== "object") return String(err || "");
  const head = err.status ? `HTTP ${err.status} ${err.code || ""}`.trim() : String(err.code || "error");
  return err.message && err.message !== err.code ? `${head}: ${err.message}` : head;
}

// backoffMs(n) — the wait after n failures in a row: pollMs·2^(n-1), capped, with "equal
// jitter" (half fixed, half random) so that many pages do not retry in step.
export function backoffMs(failures, timing = TIMING, random = Math.random) {
  const d = Math.min(timing.maxBackoffMs, timing.pollMs * 2 ** Math.max(0, failures - 1));
  return Math.round(d / 2 + (random() * d) / 2);
}

// acquireSlot() — one of the LIVE_SLOTS locks, {release()}; null when all are taken. Without
// the Web Locks API (an insecure origin) everyone gets one.
export async function acquireSlot() {
  const locks = globalThis.navigator && navigator.locks;
  if (!locks || typeof locks.request !== "function") return { release() {} };
  for (let i = 0; i < LIVE_SLOTS; i++) {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    const got = await new Promise((resolve) => {
      locks.request(`taskq-live-slot-${i}`, { ifAvailable: true }, (lock) => {
        resolve(!!lock);
        return lock ? held : undefined;      // held until release()
      }).catch(() => resolve(false));
    });
    if (got) return { release };
  }
  return null;
}

// viewTokenExpiry(token) — when a view token expires (Unix seconds), read from its claims
// (tv_ + base64url of version, key id, flags, the expiry as 8 bytes big-endian, the task id,
// then the MAC: docs/security.md); 0 when they cannot be read.
export function viewTokenExpiry(token) {
  try {
    const b = atob(String(token).slice(3, 19).replace(/-/g, "+").replace(/_/g, "/"));
    let s = 0;
    for (let i = 3; i < 11; i++) s = s * 256 + b.charCodeAt(i);
    return s;
  } catch { return 0; }
}

// setViewCookie(url, token, nowMs) — the cookie taskq_view = a view token, for the stream at
// url (…/api/tasks/{id}/events) when it is on the page's own origin: path /api/tasks/{id} only
// (the task's stream and reads), SameSite=Strict, Secure on https, until the token expires by
// the server's clock (nowMs). true when set; false for another origin, or outside a page.
// A token in a URL reaches logs (proxies', nginx's error log when taskq-fcgi fails to answer);
// a cookie is logged nowhere.
export function setViewCookie(url, token, nowMs = Date.now()) {
  const doc = globalThis.document, loc = globalThis.location;
  if (!doc || !loc || !/^tv_[A-Za-z0-9_-]+$/.test(String(token))) return false;
  let u;
  try { u = new URL(url, loc.href); } catch { return false; }
  if (u.origin !== loc.origin) return false;
  const left = Math.floor(viewTokenExpiry(token) - nowMs / 1000);
  // an expired one is sent a minute all the same: the server says what is wrong with it
  doc.cookie = `taskq_view=${token}; path=${u.pathname.replace(/\/(events|output\/stream)$/, "")}; max-age=${left > 0 ? left : 60}; ` +
    `SameSite=Strict${loc.protocol === "https:" ? "; Secure" : ""}`;
  return true;
}

const registry = new Map();                  // base|id → Follower
// callbacks run in a microtask, in order, never inside follow() itself; one that throws is
// reported as an uncaught error and the others still run
const call = (fn, arg) => { if (fn) try { fn(arg); } catch (err) { setTimeout(() => { throw err; }); } };

export function createClient(opts) { return new TaskqClient(opts); }

export class TaskqClient {
  constructor({ base = "", token = null, viewToken = null, fetch = globalThis.fetch, EventSource = globalThis.EventSource, slots = true, timing = {} } = {}) {
    Object.assign(this, { base: String(base).replace(/\/+$/, ""), token, viewToken, fetchFn: fetch, EventSourceFn: EventSource });
    this.timing = { ...TIMING, ...timing };
    this.acquireSlot = slots ? acquireSlot : async () => ({ release() {} });
    this.clockOffsetMs = 0;
  }

  taskPath(id) { return `/api/tasks/${encodeURIComponent(id)}`; }
  serverNow() { return Date.now() + this.clockOffsetMs; }

  // request(method, path, {body, headers, signal, timeoutMs, viewToken}) → {status, ok, data,
  // etag, headers}; throws only for a network failure or timeout (TaskqError, status 0) or
  // when signal aborts.
  async request(method, path, { body, headers = {}, signal, timeoutMs = 15000, viewToken } = {}) {
    const h = { Accept: "application/json", ...headers };
    const vt = viewToken || this.viewToken;
    const tok = vt || (typeof this.token === "function" ? this.token() : this.token);
    if (tok) h.Authorization = `Bearer ${tok}`;
    if (body !== undefined) h["Content-Type"] = "application/json";
    const ctrl = new AbortController();
    const onAbort = () => ctrl.abort();
    if (signal) { if (signal.aborted) ctrl.abort(); else signal.addEventListener("abort", onAbort, { once: true }); }
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    let resp;
    try {
      resp = await this.fetchFn.call(globalThis, this.base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store", credentials: "same-origin", signal: ctrl.signal });
    } catch (err) {
      if (signal && signal.aborted) throw err;
      throw ctrl.signal.aborted ? new TaskqError(0, "timeout", "the request timed out") : new TaskqError(0, "network", "the server cannot be reached");
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", onAbort);
    }
    const date = Date.parse(resp.headers.get("Date") || "");
    if (!Number.isNaN(date)) { const off = date - Date.now(); this.clockOffsetMs = Math.abs(off) > 1500 ? off : 0; }
    let data = null;
    const text = resp.status === 204 || resp.status === 304 ? "" : await resp.text().catch(() => "");
    if (text) try { data = JSON.parse(text); } catch { data = { raw: text }; }
    return { status: resp.status, ok: resp.ok, data, etag: resp.headers.get("ETag"), headers: resp.headers, statusText: resp.statusText };
  }

  async submit(kind, payload = {}, opts = {}) {
    return bodyOf(await this.request("POST", "/api/tasks", { body: { ...opts, kind, payload } }));
  }

  async get(id, { etag, wait, signal, viewToken } = {}) {
    const q = wait ? `?wait=${wait}` : "";
    const headers = etag ? { "If-None-Match": /^"/.test(etag) ? etag : `"${etag}"` } : {};
    return bodyOf(await this.request("GET", this.taskPath(id) + q, { headers, signal, viewToken, timeoutMs: ((wait || 0) + 15) * 1000 }));
  }

  async cancel(id, { viewToken } = {}) {
    return bodyOf(await this.request("DELETE", this.taskPath(id), { viewToken }));
  }

  // signal(id, name, payload) → the task: sends it signal name with payload (any JSON value;
  // undefined: none) (POST /api/tasks/{id}/signals/{name}; docs/waits.md)
  async signal(id, name, payload, { viewToken } = {}) {
    const path = `${this.taskPath(id)}/signals/${encodeURIComponent(name)}`;
    return bodyOf(await this.request("POST", path, { body: payload, viewToken }));
  }

  // follow(id, {onUpdate, onDone, onError, onStatus, signal, viewToken, task}) → a handle
  // {stop(), apply(task), task, status}; task (optional) is a copy the caller already has.
  // A follower joined by a later follow() keeps making its requests with the first one's
  // client (fetch, token); a view token given later replaces the one it has.
  follow(id, opts = {}) {
    const key = `${this.base}|${id}`;
    let f = registry.get(key);
    if (!f && !(opts.signal && opts.signal.aborted)) { f = new Follower(this, key, id); registry.set(key, f); }
    if (!f) return { stop() {}, apply() { return false; }, task: null, status: { state: "ended", mode: null, detail: "aborted" } };
    if (opts.viewToken || this.viewToken) f.viewToken = opts.viewToken || this.viewToken;
    const sub = { ...opts };
    const handle = { stop: () => f.remove(sub), apply: (t) => f.apply(t), get task() { return f.task; }, get status() { return f.status; } };
    if (opts.signal) {
      if (opts.signal.aborted) return handle;
      opts.signal.addEventListener("abort", handle.stop, { once: true });
    }
    if (opts.task) f.apply(opts.task);
    f.add(sub);
    return handle;
  }
}

// messageOf(data, id) — what one stream message says of the task: {task, whole}, or null.
// The message is the task itself, or {"task":…} / {"tasks":[…]}. A task's stream sends the
// whole task first (it has "payload"), then changes: the fields that changed and the small
// ones, never the payload; a change is merged into the whole task the stream sent before it.
export function messageOf(data, id) {
  let v;
  try { v = JSON.parse(data); } catch { return null; }
  if (v && v.task) v = v.task;
  if (v && Array.isArray(v.tasks)) v = v.tasks;
  if (Array.isArray(v)) v = v.filter((t) => t && t.id === id).sort((a, b) => (b.version ?? 0) - (a.version ?? 0))[0];
  return v && typeof v === "object" && v.id === id ? { task: v, whole: "payload" in v } : null;
}

class Follower {
  constructor(client, key, id) {
    Object.assign(this, { client, key, id, t: client.timing, subs: new Set(), task: null, version: 0 });
    this.running = false;
    this.gen = 0;                 // bumped by stop(): old loops notice and leave
    this.slot = null;
    this.sseRefused = typeof client.EventSourceFn !== "function";
    this.longPollRefused = false;
    this.noBetterUntil = 0;       // no stream or long-poll before then (after errors, 429)
    this.failures = 0;
    this.status = { state: "connecting", mode: null, detail: "" };
    this.wake = null;             // ends the current sleep early (online event, stop)
    this.es = null;
    this.onOnline = () => { if (this.wake) this.wake(); };
    this.onOffline = () => { if (this.running) this.setStatus("offline", this.status.mode, "the browser is offline"); };
  }

  // add(sub) — a new follower of the task: it gets the latest state (and status) at once.
  add(sub) {
    this.subs.add(sub);
    const task = this.task;
    const status = this.status;
    queueMicrotask(() => {
      if (!this.subs.has(sub)) return;
      if (task) call(sub.onUpdate, task);
      call(sub.onStatus, status);
    });
    if (task && FINAL.has(task.state)) this.end("final state: " + task.state, "onDone", task);
    else this.start();
  }

  remove(sub) {
    if (!this.subs.delete(sub) || this.subs.size) return;
    this.stop();
    if (registry.get(this.key) === this) registry.delete(this.key);
  }

  emit(name, arg) {
    for (const s of [...this.subs]) queueMicrotask(() => { if (this.subs.has(s)) call(s[name], arg); });
  }

  setStatus(state, mode, detail = "") {
    if (state === this.status.state && mode === this.status.mode && detail === this.status.detail) return;
    this.status = { state, mode, detail };
    this.emit("onStatus", this.status);
  }

  // apply(task) — a version of the task from any source; true when it is news.
  apply(task) {
    if (!task || task.id !== this.id) return false;
    const v = Number(task.version ?? 0);
    if (this.task && v < this.version) return false;
    const changed = !this.task || v !== this.version || task.state !== this.task.state;
    this.version = v;
    this.task = task;
    if (changed) this.emit("onUpdate", task);
    if (FINAL.has(task.state) && this.running) this.end("final state: " + task.state, "onDone", task);
    return changed;
  }

  // end — final state or an unfixable error: nothing is held open any more, and the next
  // follow() of this task starts afresh.
  end(detail, cb, arg) {
    this.stop();
    this.setStatus("ended", null, detail);
    this.emit(cb, arg);
    if (registry.get(this.key) === this) registry.delete(this.key);
  }

  start() {
    if (this.running) return;
    this.running = true;
    globalThis.addEventListener?.("online", this.onOnline);
    globalThis.addEventListener?.("offline", this.onOffline);
    const gen = ++this.gen;
    this.loop(gen).catch((err) => {
      if (gen === this.gen) this.setStatus("offline", null, String((err && err.message) || err));
      setTimeout(() => { throw err; });
    });
  }

  stop() {
    this.running = false;
    this.gen++;
    globalThis.removeEventListener?.("online", this.onOnline);
    globalThis.removeEventListener?.("offline", this.onOffline);
    if (this.es) { this.es.close(); this.es = null; }
    if (this.abort) this.abort.abort();
    if (this.wake) this.wake();
    if (this.slot) { this.slot.release(); this.slot = null; }
  }

  alive(gen) { return this.running && gen === this.gen; }

  sleep(ms, gen) {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); if (this.wake === done) this.wake = null; resolve(this.alive(gen)); };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  failed(mode, detail) {
    this.failures++;
    this.resync = true;
    const offline = this.failures >= this.t.offlineAfter || globalThis.navigator?.onLine === false;
    this.setStatus(offline ? "offline" : "reconnecting", mode, detail);
  }

  succeeded(mode) {
    this.failures = 0;
    this.setStatus("live", mode);
  }

  async loop(gen) {
    while (this.alive(gen)) {
      if (this.sseRetryAt && Date.now() >= this.sseRetryAt) { this.sseRetryAt = 0; this.sseRefused = false; }
      const canHold = !this.sseRefused || !this.longPollRefused || this.sseRetryAt;
      if (this.slot && !canHold) { this.slot.release(); this.slot = null; }   // let another tab have it
      if (!this.slot && canHold && Date.now() >= this.noBetterUntil) {
        const slot = await this.client.acquireSlot();
        if (!this.alive(gen)) { if (slot) slot.release(); return; }
        this.slot = slot;
      }
      const better = this.slot && Date.now() >= this.noBetterUntil;
      if (better && !this.sseRefused) await this.streamOutcome(await this.runStream(gen), gen);
      else if (better && !this.longPollRefused) await this.runLongPoll(gen);
      else await this.runPoll(gen);
    }
  }

  // fetchTask(opts) — one GET of the task (If-None-Match the version we have).
  fetchTask(query, timeoutMs) {
    const ctrl = new AbortController();
    this.abort = ctrl;
    const headers = this.task ? { "If-None-Match": `"${this.version}"` } : {};
    return this.client.request("GET", this.client.taskPath(this.id) + query, { headers, signal: ctrl.signal, timeoutMs, viewToken: this.viewToken })
      .finally(() => { if (this.abort === ctrl) this.abort = null; });
  }

  // handle(resp, mode) — "changed", "same", "error" (retry), or "ended".
  handle(resp, mode) {
    if (resp.status === 304) { this.succeeded(mode); return "same"; }
    if (resp.status === 200 && resp.data && resp.data.id) {
      this.succeeded(mode);
      const changed = this.apply(resp.data);
      return !this.running ? "ended" : changed ? "changed" : "same";
    }
    const err = errorOf(resp);
    if (resp.status === 401 || resp.status === 403 || (resp.status === 404 && err.code === "not_found")) {
      this.end(`HTTP ${err.status} ${err.code}`, "onError", err);
      return "ended";
    }
    this.failed(mode, `HTTP ${err.status} ${err.code}${err.message ? ": " + err.message : ""}`);
    return "error";
  }

  // ---- stream -----------------------------------------------------------------------------
  // One EventSource; resolves "refused" (no first message within sseOpenMs: nchan sends the
  // task at once), "dropped" (failed after its first message), "stale" (open but missing
  // changes, or a change came before the whole task it belongs to) or "done" (final, or
  // stopped). The browser's own reconnect (~3 s, with Last-Event-ID) is not waited for: the
  // loop reopens at once, the new subscription's first message is the whole task as it is now,
  // and the task is re-read once besides. The server ends the stream after the final state,
  // which the follower has then.
  runStream(gen) {
    return new Promise((resolve) => {
      const url = `${this.client.base}${this.client.taskPath(this.id)}/events`;
      const vt = this.viewToken && !setViewCookie(url, this.viewToken, this.client.serverNow())
        ? `?view_token=${encodeURIComponent(this.viewToken)}` : "";
      const es = new this.client.EventSourceFn(url + vt);
      this.es = es;
      let opened = false;
      let whole = false;          // the whole task came: changes merge into it
      let settled = false;
      let lastActivity = Date.now();
      let checking = false;
      const finish = (outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(openTimer);
        clearInterval(watch);
        es.close();
        if (this.es === es) this.es = null;
        resolve(outcome);
      };
      const openTimer = setTimeout(() => finish("refused"), this.t.sseOpenMs);
      // a stream can look open and be quiet (a publisher that restarted): after streamCheckMs
      // without a message, one conditional GET asks whether the task moved on without it
      const check = async () => {
        checking = true;
        try {
          const resp = await this.fetchTask("", 10000);
          lastActivity = Date.now();
          if (resp.status >= 500 || resp.status === 429 || settled) return;   // the stream decides
          const r = this.handle(resp, "stream");
          if (r === "ended") finish("done");
          else if (r === "changed") finish("stale");
        } catch { /* the stream's own errors cover an unreachable server */ } finally { checking = false; }
      };
      const watch = setInterval(() => {
        if (!this.alive(gen)) return finish("done");
        if (opened && !checking && !settled && Date.now() - lastActivity >= this.t.streamCheckMs) check();
      }, 1000);
      es.onopen = () => {
        if (!this.alive(gen)) return finish("done");
        if (this.resync) { this.resync = false; check(); }   // after a reconnect: never miss the end
      };
      const onMessage = (ev) => {
        if (!this.alive(gen)) return finish("done");
        lastActivity = Date.now();
        if (!opened) {
          opened = true;
          this.streamOpenedAt = lastActivity;
          clearTimeout(openTimer);
          this.succeeded("stream");
        }
        const m = messageOf(ev.data, this.id);
        if (m && m.whole) {
          whole = true;
          this.apply(m.task);
        } else if (m && whole && this.task) {
          this.apply({ ...this.task, ...m.task });
        } else if (m) {
          return finish("stale");   // a change that raced the subscription: subscribe anew
        }
        if (!this.alive(gen)) finish("done");
      };
      es.onmessage = onMessage;
      es.addEventListener("task", onMessage);
      es.onerror = () => finish(!this.alive(gen) ? "done" : opened ? "dropped" : "refused");
    });
  }

  async streamOutcome(outcome, gen) {
    if (outcome === "refused") {
      this.sseRefused = true;
      if (this.streamOpenedAt) {          // it worked before: the server is restarting
        this.failed("stream", "the stream cannot be opened");
        this.sseRetryAt = Date.now() + this.t.upgradeMs / 3;
      }
      return;                             // else: no stream here, long-poll from now on
    }
    if (outcome !== "dropped") return;
    // reopen at once; a stream that keeps dropping soon after opening: long-poll for a while
    if (Date.now() - (this.streamOpenedAt || 0) >= 10000) this.streamDrops = 0;
    this.streamDrops = (this.streamDrops || 0) + 1;
    this.failed("stream", "the stream was interrupted");
    if (this.streamDrops <= 2) { await this.sleep(250 * this.streamDrops, gen); return; }
    this.streamDrops = 0;
    this.sseRefused = true;
    this.sseRetryAt = Date.now() + this.t.upgradeMs;
  }

  // ---- long-poll ----------------------------------------------------------------------------
  async runLongPoll(gen) {
    while (this.alive(gen)) {
      if (this.sseRetryAt && Date.now() >= this.sseRetryAt) return;     // the loop upgrades
      const t0 = performance.now();
      // still open after a second: the server holds it, so the follower is live
      const held = setTimeout(() => { if (this.alive(gen)) this.succeeded("long-poll"); }, 1000);
      let resp;
      try {
        resp = await this.fetchTask(`?wait=${this.t.waitS}`, (this.t.waitS + 10) * 1000);
      } catch (err) {
        if (!this.alive(gen)) return;
        this.failed("long-poll", err.message);
        this.noBetterUntil = Date.now() + backoffMs(this.failures, this.t);   // polling takes over
        return;
      } finally {
        clearTimeout(held);
      }
      if (!this.alive(gen)) return;
      const elapsed = performance.now() - t0;
      const r = this.handle(resp, "long-poll");
      if (r === "ended") return;
      if (r === "error") {
        if ([400, 404, 405, 501].includes(resp.status)) this.longPollRefused = true;
        else if (resp.status === 429) this.noBetterUntil = Date.now() + Math.max(this.t.upgradeMs, (Number(resp.headers.get("Retry-After")) || 0) * 1000);
        else this.noBetterUntil = Date.now() + backoffMs(this.failures, this.t);
        return;
      }
      // a server that did not wait: do not spin; changes faster than 10 a second: catch up
      // at most that often
      if (elapsed < this.t.fastMs && !(await this.sleep(r === "same" ? this.t.pollMs : this.t.fastMs - elapsed, gen))) return;
    }
  }

  // ---- polling ------------------------------------------------------------------------------
  async runPoll(gen) {
    let nextSlotTry = Date.now() + 5000;
    while (this.alive(gen)) {
      // nothing known yet (no stream for this page): ask at once
      const delay = this.failures ? backoffMs(this.failures, this.t) : this.task ? this.t.pollMs : 0;
      if (!(await this.sleep(delay, gen))) return;
      let resp;
      try {
        resp = await this.fetchTask("", 10000);
      } catch (err) {
        if (!this.alive(gen)) return;
        this.failed("polling", err.message);
        continue;
      }
      if (!this.alive(gen)) return;
      const recovered = this.failures > 0;
      const r = this.handle(resp, "polling");
      if (r === "ended") return;
      if (r === "error") {
        const ra = Number(resp.headers.get("Retry-After"));
        if (ra > 0 && !(await this.sleep(Math.min(ra * 1000, this.t.maxBackoffMs), gen))) return;
        continue;
      }
      // climb back to a better mode: right after a recovery, or once noBetterUntil passed
      if (this.sseRetryAt && Date.now() >= this.sseRetryAt) return;
      if (this.sseRefused && this.longPollRefused) continue;
      if (!this.slot && Date.now() >= nextSlotTry) {
        nextSlotTry = Date.now() + 5000;
        this.slot = await this.client.acquireSlot();
        if (!this.alive(gen)) { if (this.slot) { this.slot.release(); this.slot = null; } return; }
      }
      if (this.slot && (recovered || Date.now() >= this.noBetterUntil)) { this.noBetterUntil = 0; return; }
    }
  }
}
