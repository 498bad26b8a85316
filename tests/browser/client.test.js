// tests/browser/client.test.js — unit tests of nginx/html/client/taskq-client.js, run inside
// the browser page (run.mjs serves this file at /__tests__/client.test.js on the stack's
// origin and calls run(name) in a fresh page per test). The client gets a fake fetch and a
// fake EventSource, so every answer and every stream message is the test's own; timings are
// shortened through the client's timing option.
//
// Importable from node as well (run.mjs reads the names): nothing here touches the browser
// before run() is called.

const FAST = { sseOpenMs: 300, streamCheckMs: 60000, pollMs: 40, fastMs: 10, maxBackoffMs: 200, upgradeMs: 60000 };
const ID = "01a21000-0000-7000-8000-0000000000";
let seq = 0;
const newId = () => ID + String(++seq).padStart(2, "0") + Math.floor(Math.random() * 90 + 10);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(cond, msg) { if (!cond) throw new Error(msg); }

async function until(fn, what, ms = 3000) {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// task(...) — a whole task, as a GET answers it and as a stream's first message is;
// change(...) — a later stream message: the small fields, never the payload.
const task = (id, version, state, progress = 0, extra = {}) => ({ id, version, state, progress, message: null, payload: {}, ...extra });
const change = (id, version, state, progress = 0, extra = {}) => ({ id, version, state, progress, message: null, ...extra });

// FakeFetch — records every request; answer(req) gives a Response (or a promise of one).
function fakeFetch(answer) {
  const calls = [];
  const f = (url, init = {}) => {
    const req = { url: String(url), method: init.method || "GET", headers: init.headers || {}, body: init.body, signal: init.signal };
    calls.push(req);
    return new Promise((resolve, reject) => {
      if (init.signal) init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")), { once: true });
      Promise.resolve().then(() => answer(req)).then(resolve, reject);
    });
  };
  f.calls = calls;
  return f;
}

const json = (status, body, headers = {}) => new Response(body === null ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const apiError = (status, code, message = code) => json(status, { error: { code, message } });

// FakeEventSource — every instance is kept; the test opens it, sends messages, fails it.
function fakeEventSource() {
  const all = [];
  class FakeES {
    constructor(url) { this.url = url; this.closed = false; this.listeners = {}; all.push(this); }
    addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
    close() { this.closed = true; }
    open() { if (!this.closed && this.onopen) this.onopen({}); }
    send(obj) { if (this.closed) return; const ev = { data: JSON.stringify(obj) }; if (this.onmessage) this.onmessage(ev); }
    fail() { if (!this.closed && this.onerror) this.onerror({}); }
  }
  FakeES.all = all;
  return FakeES;
}

// recorder(handle opts) — callbacks that log what they get.
// A client following one new task over a fake stream (its GETs answer 500): the stream, the
// task's id, the fake fetch and the recorder, once the stream is asked for.
async function followOneStream(m) {
  const ES = fakeEventSource();
  const id = newId();
  const fetch = fakeFetch(() => json(500, {}));
  const r = recorder();
  m.createClient({ fetch, EventSource: ES, slots: false, timing: FAST }).follow(id, r.opts);
  await until(() => ES.all.length === 1, "the stream");
  return { ES, id, fetch, r };
}

function recorder() {
  const r = { updates: [], done: [], errors: [], statuses: [] };
  r.opts = {
    onUpdate: (t) => r.updates.push(t),
    onDone: (t) => r.done.push(t),
    onError: (e) => r.errors.push(e),
    onStatus: (s) => r.statuses.push(`${s.state}${s.mode ? "/" + s.mode : ""}`),
  };
  return r;
}

export const TESTS = [
  ["submit posts kind, payload and options; the answer is the 202 body", async (m) => {
    const fetch = fakeFetch(() => json(202, { id: "x", state: "queued", view_token: "tv_abc" }));
    const c = m.createClient({ base: "https://jobs.example.com/", token: "tq_owner", fetch, slots: false });
    const t = await c.submit("sleep", { steps: 2 }, { queue: "q1", priority: 3 });
    check(t.id === "x" && t.view_token === "tv_abc", `answer ${JSON.stringify(t)}`);
    const req = fetch.calls[0];
    check(req.method === "POST" && req.url === "https://jobs.example.com/api/tasks", `${req.method} ${req.url}`);
    check(req.headers.Authorization === "Bearer tq_owner" && req.headers["Content-Type"] === "application/json", JSON.stringify(req.headers));
    const body = JSON.parse(req.body);
    check(body.kind === "sleep" && body.payload.steps === 2 && body.queue === "q1" && body.priority === 3, req.body);
  }],

  ["a view token is sent as Bearer instead of the token; a token may be a function", async (m) => {
    const fetch = fakeFetch(() => json(200, task("a", 1, "queued")));
    let n = 0;
    const c = m.createClient({ token: () => `tq_${++n}`, fetch, slots: false });
    await c.get("a");
    await c.get("a");
    await c.get("a", { viewToken: "tv_one" });
    const v = m.createClient({ token: "tq_x", viewToken: "tv_client", fetch, slots: false });
    await v.get("a");
    await v.get("a", { viewToken: "tv_call" });
    const auth = fetch.calls.map((r) => r.headers.Authorization);
    check(JSON.stringify(auth) === JSON.stringify(["Bearer tq_1", "Bearer tq_2", "Bearer tv_one", "Bearer tv_client", "Bearer tv_call"]), auth.join(" "));
  }],

  ["get: an ETag is sent as If-None-Match, 304 gives null, wait long-polls", async (m) => {
    const fetch = fakeFetch((r) => (r.headers["If-None-Match"] === '"7"' ? new Response(null, { status: 304 }) : json(200, task("b", 8, "running", 40))));
    const c = m.createClient({ fetch, slots: false });
    check((await c.get("b", { etag: 7 })) === null, "304 is not null");
    check((await c.get("b", { etag: '"3"', wait: 25 })).version === 8, "200 not returned");
    check(fetch.calls[1].url === "/api/tasks/b?wait=25", fetch.calls[1].url);
    check(fetch.calls[1].headers["If-None-Match"] === '"3"', "a quoted ETag is passed as it is");
  }],

  ["errors: TaskqError with the API's code and message; a network failure has status 0", async (m) => {
    const c = m.createClient({ fetch: fakeFetch(() => apiError(409, "wrong_state", "task is finished")), slots: false });
    let err = null;
    try { await c.cancel("c"); } catch (e) { err = e; }
    check(err instanceof m.TaskqError && err.status === 409 && err.code === "wrong_state" && err.message === "task is finished", String(err));
    const down = m.createClient({ fetch: fakeFetch(() => { throw new TypeError("Failed to fetch"); }), slots: false });
    err = null;
    try { await down.get("c"); } catch (e) { err = e; }
    check(err instanceof m.TaskqError && err.status === 0 && err.code === "network", String(err));
  }],

  ["cancel sends DELETE with the view token", async (m) => {
    const fetch = fakeFetch(() => json(202, task("d", 5, "running", 10, { cancel_requested: true })));
    const c = m.createClient({ viewToken: "tv_cancel", fetch, slots: false });
    const t = await c.cancel("d");
    check(t.cancel_requested === true, "not the answer");
    check(fetch.calls[0].method === "DELETE" && fetch.calls[0].url === "/api/tasks/d" && fetch.calls[0].headers.Authorization === "Bearer tv_cancel", JSON.stringify(fetch.calls[0]));
  }],

  ["follow over SSE: updates in order, onDone once, the stream closes at the final state", async (m) => {
    const ES = fakeEventSource();
    const fetch = fakeFetch(() => json(500, {}));
    const id = newId();
    const c = m.createClient({ viewToken: "tv_sse", fetch, EventSource: ES, slots: false, timing: FAST });
    const r = recorder();
    c.follow(id, r.opts);
    await until(() => ES.all.length === 1, "the stream");
    const es = ES.all[0];
    check(es.url === `/api/tasks/${id}/events`, es.url);   // the token is in a cookie
    es.open();
    es.send(task(id, 1, "queued"));
    es.send(task(id, 3, "running", 30));
    es.send(task(id, 2, "running", 20));          // older: ignored
    es.send(task(id, 5, "succeeded", 100));
    es.send(task(id, 6, "succeeded", 100));       // after the end: not delivered
    await until(() => r.done.length === 1, "onDone");
    await sleep(30);
    check(JSON.stringify(r.updates.map((t) => t.progress)) === "[0,30,100]", `updates ${r.updates.map((t) => t.progress)}`);
    check(r.done.length === 1 && r.done[0].version === 5, "onDone more than once");
    check(es.closed, "the stream is still open");
    check(r.statuses.includes("live/stream") && r.statuses.at(-1) === "ended", r.statuses.join(" "));
    check(fetch.calls.length === 0, `${fetch.calls.length} GETs besides the stream`);
  }],

  ["a view token reaches a stream on the page's origin in a cookie, never in its URL; on another origin in ?view_token=", async (m) => {
    // a token of the real shape: version, key id, flags, expiry (8 bytes), task id, MAC
    const b = new Uint8Array(59);
    b.set([1, 1, 0]);
    new DataView(b.buffer).setBigUint64(3, 1800000000n);
    const tok = "tv_" + btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    check(m.viewTokenExpiry(tok) === 1800000000, `expiry ${m.viewTokenExpiry(tok)}`);
    check(m.viewTokenExpiry("tv_!") === 0, "a token that cannot be read");
    check(m.setViewCookie(`/api/tasks/${newId()}/events`, tok) === true, "not set for the page's origin");
    check(m.setViewCookie(`https://api.other.example/api/tasks/${newId()}/events`, tok) === false, "set for another origin");
    for (const [base, query] of [["", ""], [location.origin, ""], ["https://api.other.example", `?view_token=${tok}`]]) {
      const ES = fakeEventSource();
      const id = newId();
      const c = m.createClient({ base, viewToken: tok, fetch: fakeFetch(() => json(500, {})), EventSource: ES, slots: false, timing: FAST });
      const h = c.follow(id, recorder().opts);
      await until(() => ES.all.length === 1, "the stream");
      check(ES.all[0].url === `${base}/api/tasks/${id}/events${query}`, ES.all[0].url);
      h.stop();
    }
  }],

  ["a stream's changes merge into the whole task it sent first: payload and large fields stay", async (m) => {
    const { ES, id, fetch, r } = await followOneStream(m);
    const es = ES.all[0];
    es.open();
    const payload = { blob: "p".repeat(5000), n: 7 };
    es.send(task(id, 1, "queued", 0, { payload, kind: "export", result: null }));
    es.send(change(id, 2, "running", 10, { message: "step 1", started_at: "2026-12-07T22:00:00Z" }));
    es.send(change(id, 4, "running", 60, { message: "step 6" }));
    es.send(change(id, 5, "succeeded", 100, { message: "done", result: { rows: 3 } }));
    await until(() => r.done.length === 1, "onDone");
    check(JSON.stringify(r.updates.map((t) => t.progress)) === "[0,10,60,100]", `updates ${r.updates.map((t) => t.progress)}`);
    for (const t of r.updates) check(t.payload && t.payload.n === 7 && t.payload.blob.length === 5000 && t.kind === "export", `lost the payload: ${JSON.stringify(t).slice(0, 200)}`);
    const done = r.done[0];
    check(done.started_at === "2026-12-07T22:00:00Z" && done.message === "done" && done.result.rows === 3 && done.version === 5, JSON.stringify(done).slice(0, 300));
    check(es.closed && ES.all.length === 1 && fetch.calls.length === 0, "a second stream or a GET");
    check(m.messageOf(JSON.stringify(change(id, 9, "running")), id).whole === false, "a change counted as whole");
    check(m.messageOf(JSON.stringify({ tasks: [task(id, 9, "running")] }), id).whole === true, "a feed's task is whole");
    check(m.messageOf(JSON.stringify(task("other", 9, "running")), id) === null, "another task's message");
  }],

  ["a change before the whole task (it raced the subscription): the stream is opened anew", async (m) => {
    const { ES, id, r } = await followOneStream(m);
    ES.all[0].open();
    ES.all[0].send(change(id, 3, "running", 30));
    await until(() => ES.all.length === 2, "a new stream", 1000);
    check(ES.all[0].closed, "the first stream stays open");
    check(r.updates.length === 0, "a change without its task was delivered");
    ES.all[1].open();
    ES.all[1].send(task(id, 3, "running", 30, { payload: { a: 1 } }));
    ES.all[1].send(change(id, 4, "succeeded", 100));
    await until(() => r.done.length === 1, "onDone");
    check(r.done[0].payload.a === 1 && r.done[0].progress === 100, JSON.stringify(r.done[0]));
  }],

  ["two follow() of one task share one stream; the second gets the latest at once; the last to leave closes it", async (m) => {
    const ES = fakeEventSource();
    const id = newId();
    const c = m.createClient({ fetch: fakeFetch(() => json(500, {})), EventSource: ES, slots: false, timing: FAST });
    const a = recorder();
    const b = recorder();
    const ca = new AbortController();
    const cb = new AbortController();
    c.follow(id, { ...a.opts, signal: ca.signal });
    await until(() => ES.all.length === 1, "the stream");
    ES.all[0].open();
    ES.all[0].send(task(id, 4, "running", 40));
    await until(() => a.updates.length === 1, "A's update");
    const other = m.createClient({ fetch: fakeFetch(() => json(500, {})), EventSource: ES, slots: false, timing: FAST });
    other.follow(id, { ...b.opts, signal: cb.signal });
    await until(() => b.updates.length === 1, "B's first update");
    check(b.updates[0].progress === 40, "B did not get the latest state at once");
    await sleep(50);
    check(ES.all.length === 1, `${ES.all.length} streams for one task`);
    ES.all[0].send(task(id, 5, "running", 50));
    await until(() => a.updates.length === 2 && b.updates.length === 2, "both get the next one");
    ca.abort();
    await sleep(20);
    check(!ES.all[0].closed, "closed while B still follows");
    cb.abort();
    await until(() => ES.all[0].closed, "the stream to close after the last follower left");
  }],

  ["a stream refused before its first message → long-poll; long-poll refused → ETag polling", async (m) => {
    const ES = fakeEventSource();
    const id = newId();
    let polls = 0;
    const fetch = fakeFetch((r) => {
      if (r.url.includes("wait=")) return apiError(400, "invalid_field", "bad value for query parameter 'wait'");
      polls++;
      if (polls < 3) return r.headers["If-None-Match"] ? new Response(null, { status: 304 }) : json(200, task(id, 2, "running", 20));
      return json(200, task(id, 9, "succeeded", 100));
    });
    const c = m.createClient({ fetch, EventSource: ES, slots: false, timing: FAST });
    const r = recorder();
    c.follow(id, r.opts);
    await until(() => ES.all.length === 1, "the stream");
    ES.all[0].fail();                               // before it ever opened
    await until(() => r.done.length === 1, "onDone", 5000);
    const urls = fetch.calls.map((x) => x.url.replace(`/api/tasks/${id}`, ""));
    check(urls[0] === "?wait=25", `first request ${urls[0]}`);
    check(urls.filter((u) => u.includes("wait")).length === 1, `long-poll tried again: ${urls.join(" ")}`);
    check(fetch.calls.slice(2).every((x) => x.headers["If-None-Match"]), "polls without If-None-Match");
    check(r.statuses.some((s) => s === "live/polling"), r.statuses.join(" "));
    check(ES.all.length === 1, "the stream was tried again");
  }],

  ["401, 403 and 404 end the follow with onError and are not retried", async (m) => {
    for (const [status, code] of [[401, "invalid_token"], [403, "forbidden"], [404, "not_found"]]) {
      const id = newId();
      const fetch = fakeFetch(() => apiError(status, code, `because ${status}`));
      const c = m.createClient({ fetch, EventSource: null, slots: false, timing: FAST });
      const r = recorder();
      c.follow(id, r.opts);
      await until(() => r.errors.length === 1, `onError for ${status}`);
      await sleep(150);
      check(r.errors[0].status === status && r.errors[0].code === code && r.errors[0].message === `because ${status}`, JSON.stringify(r.errors[0]));
      check(fetch.calls.length === 1, `${status}: ${fetch.calls.length} requests`);
      check(r.done.length === 0 && r.statuses.at(-1) === "ended", r.statuses.join(" "));
    }
  }],

  ["network loss while polling: reconnecting, then offline, backing off; resumes and ends", async (m) => {
    const id = newId();
    let down = true;
    const at = [];
    const fetch = fakeFetch((r) => {
      at.push(performance.now());
      if (down) throw new TypeError("Failed to fetch");
      return json(200, task(id, 3, "succeeded", 100));
    });
    const c = m.createClient({ fetch, EventSource: null, slots: false, timing: FAST });
    const r = recorder();
    c.follow(id, r.opts);
    await until(() => r.statuses.includes("offline/polling") || r.statuses.includes("offline/long-poll"), "offline", 5000);
    check(r.statuses.some((s) => s.startsWith("reconnecting")), `never reconnecting: ${r.statuses.join(" ")}`);
    await sleep(300);
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    check(gaps.length >= 3 && Math.max(...gaps) <= FAST.maxBackoffMs + 60, `gaps ${gaps.map(Math.round)}`);
    down = false;
    await until(() => r.done.length === 1, "onDone after the network came back", 3000);
  }],

  ["a dropped stream is reopened at once and the task re-read once: a final state is not missed", async (m) => {
    const ES = fakeEventSource();
    const id = newId();
    const fetch = fakeFetch(() => json(200, task(id, 8, "succeeded", 100)));
    const c = m.createClient({ fetch, EventSource: ES, slots: false, timing: FAST });
    const r = recorder();
    c.follow(id, r.opts);
    await until(() => ES.all.length === 1, "the stream");
    ES.all[0].open();
    ES.all[0].send(task(id, 2, "running", 20));
    ES.all[0].fail();                               // dropped after it was open
    await until(() => ES.all.length === 2, "the stream reopened", 1000);
    check(fetch.calls.length === 0, "GET before the stream was back");
    ES.all[1].open();                               // it opens, but its first message is late
    await until(() => r.done.length === 1, "onDone from the re-read");
    check(fetch.calls.length === 1 && fetch.calls[0].headers["If-None-Match"] === '"2"', JSON.stringify(fetch.calls.map((x) => x.headers)));
    check(ES.all[1].closed, "the second stream stays open");
  }],

  ["a final task handed in ends at once: onUpdate, then onDone, no request", async (m) => {
    const ES = fakeEventSource();
    const id = newId();
    const fetch = fakeFetch(() => json(500, {}));
    const c = m.createClient({ fetch, EventSource: ES, slots: false, timing: FAST });
    const order = [];
    const h = c.follow(id, { task: task(id, 4, "failed", 60), onUpdate: () => order.push("update"), onDone: () => order.push("done"), onStatus: (s) => order.push(s.state) });
    check(order.length === 0, "a callback ran inside follow()");
    await sleep(50);
    check(order.join(",") === "update,connecting,ended,done" || order.join(",") === "update,ended,done", order.join(","));
    check(h.status.state === "ended" && ES.all.length === 0 && fetch.calls.length === 0, "something was opened");
  }],

  ["backoffMs: doubles from the poll interval, capped at 10 s, with jitter between half and all of it", async (m) => {
    const lo = () => 0;
    const hi = () => 0.999999;
    check(m.backoffMs(1, m.TIMING, lo) === 500 && Math.round(m.backoffMs(1, m.TIMING, hi)) === 1000, "n=1");
    check(m.backoffMs(3, m.TIMING, lo) === 2000 && Math.round(m.backoffMs(3, m.TIMING, hi)) === 4000, "n=3");
    check(m.backoffMs(20, m.TIMING, lo) === 5000 && Math.round(m.backoffMs(20, m.TIMING, hi)) === 10000, "cap");
    const seen = new Set(Array.from({ length: 50 }, () => m.backoffMs(4)));
    check(seen.size > 10, "no jitter");
  }],
];

// run(name) — one test in this page: {ok, error}.
export async function run(name) {
  const entry = TESTS.find(([n]) => n === name);
  if (!entry) return { ok: false, error: `no test named ${name}` };
  const m = await import("/client/taskq-client.js");
  try {
    await entry[1](m);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: String((err && err.message) || err) };
  }
}
