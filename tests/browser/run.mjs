// tests/browser/run.mjs — the dashboard's browser tests: playwright-core driving Debian's
// chromium headless against a running taskq stack.
//
//   TASKQ_URL=http://127.0.0.1:18080 node tests/browser/run.mjs [name-filter…]
//
// Environment:
//   TASKQ_URL           the stack's base URL (default http://127.0.0.1:8080)
//   TASKQ_SCREENSHOTS=1 also write docs/screenshots/overview.png, task.png (1,280 px wide) and
//                       example.png (900 px), and the same pages at 390 px into
//                       TASKQ_BROWSER_ARTIFACTS
//   TASKQ_DEV           path of ./dev: enables the restart tests (./dev daemon restart fcgi|nginx,
//                       with TASKQ_VAR/TASKQ_PORT of the stack in the environment) and, with
//                       auth on, the owner tests (./dev taskq token create OWNER)
//   TASKQ_TOKEN         a token (an admin's, with auth on): every page starts with it in
//                       localStorage "taskq.token", every request from node sends it as Bearer
//   TASKQ_BROWSER_ARTIFACTS  where failure screenshots go (default $TMPDIR/taskq-browser)
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Prints one line per test ("ok   name  1.2s" / "FAIL name  reason" / "skip name  reason")
// and ends with "browser: N passed, N failed"; exits 0 only when none failed.

import { chromium } from "playwright-core";
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { registerEmbedTests } from "./embed.mjs";
import { registerConsoleTests } from "./console.mjs";
import { registerOutputTests } from "./output.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOP = path.resolve(HERE, "../..");
const BASE = (process.env.TASKQ_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const SHOTS = process.env.TASKQ_SCREENSHOTS === "1";
const DEV = process.env.TASKQ_DEV || "";
const ARTIFACTS = process.env.TASKQ_BROWSER_ARTIFACTS || path.join(tmpdir(), "taskq-browser");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TOKEN = process.env.TASKQ_TOKEN || "";
const FILTERS = process.argv.slice(2);

// ---- a tiny harness ---------------------------------------------------------------------
const tests = [];
function test(name, fn, { timeout = 30000, skip = null } = {}) { tests.push({ name, fn, timeout, skip }); }

class Failure extends Error {}
function assert(cond, msg) { if (!cond) throw new Failure(msg); }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitFor(fn, what, ms) — polls fn until it returns a truthy value.
async function waitFor(fn, what, ms = 10000, every = 50) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); } catch (err) { last = undefined; if (Date.now() >= end) throw new Failure(`${what}: ${err.message.split("\n")[0]}`); }
    if (last) return last;
    if (Date.now() >= end) throw new Failure(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

// ---- the API from node ------------------------------------------------------------------
// apiCall(method, path, body, token) — token defaults to TASKQ_TOKEN; "" sends none.
async function apiCall(method, p, body, token = TOKEN) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const resp = await fetch(BASE + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { raw: text }; }
  return { status: resp.status, data };
}

async function submit(body, token = TOKEN) {
  const r = await apiCall("POST", "/api/tasks", body, token);
  assert(r.status === 202 || r.status === 200, `submit answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r.data;
}

// Whether the stack runs with auth (GET /api/me: 401 without a good token; a stack without
// /api/me has no auth).
const ME = await apiCall("GET", "/api/me").catch(() => null);
const AUTH = !!(ME && (ME.status === 401 || (ME.status === 200 && ME.data && ME.data.auth)));

// createToken(owner, admin) — a new token from the CLI (./dev taskq token create).
const createToken = (owner, admin = false) => new Promise((resolve, reject) => {
  execFile(DEV, ["taskq", "token", "create", owner, ...(admin ? ["--admin"] : [])], { env: process.env, timeout: 30000 }, (err, stdout, stderr) => {
    const tok = String(stdout).trim();
    if (err || !/^tq_\S+$/.test(tok)) reject(new Failure(`./dev taskq token create ${owner}: ${err ? err.message : "no token"} ${stderr}`));
    else resolve(tok);
  });
});

const getTask = async (id) => (await apiCall("GET", `/api/tasks/${id}`)).data;

// ---- the browser ------------------------------------------------------------------------
let browser;
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// Every page records the values its progress bars take (aria-valuenow) and uncaught errors.
const INIT = () => {
  window.__progress = [];
  window.__liveStates = [];
  const watch = () => {
    new MutationObserver((muts) => {
      for (const m of muts) {
        const t = m.target;
        if (m.attributeName === "aria-valuenow" && t.closest && t.closest("#t-progress")) window.__progress.push(Number(t.getAttribute("aria-valuenow")));
        if (m.attributeName === "data-state" && t.id === "live") window.__liveStates.push(`${t.dataset.state}${t.dataset.mode ? "/" + t.dataset.mode : ""}`);
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["aria-valuenow", "data-state", "data-mode"] });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch); else watch();
};

// Every page also records the ids of the task rows it ever showed (window.__rowIds).
const INIT_ROWS = () => {
  window.__rowIds = [];
  new MutationObserver((muts) => {
    for (const m of muts) for (const n of m.addedNodes) if (n.nodeName === "TR" && n.dataset.id) window.__rowIds.push(n.dataset.id);
  }).observe(document, { subtree: true, childList: true });
};

// A context's pages start with its token (TASKQ_TOKEN unless opts.token says otherwise; ""
// for none) in localStorage, set once per context: a token the page changes later stays.
const INIT_TOKEN = (token) => {
  try {
    if (!localStorage.getItem("taskq.test-token-set")) {
      localStorage.setItem("taskq.token", token);
      localStorage.setItem("taskq.test-token-set", "1");
    }
  } catch { /* about:blank */ }
};

async function newContext(t, { token = TOKEN, ...opts } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...opts });
  await ctx.addInitScript(INIT);
  await ctx.addInitScript(INIT_ROWS);
  if (token) await ctx.addInitScript(INIT_TOKEN, token);
  ctx.on("page", (page) => watchPage(t, page));
  t.contexts.push(ctx);
  return ctx;
}

function watchPage(t, page) {
  page.on("pageerror", (err) => t.pageErrors.push(`${page.url()}: ${err.message}`));
  t.pages.push(page);
}

async function newPage(t, opts) {
  const ctx = await newContext(t, opts);
  return ctx.newPage();
}

const stateOf = (page) => page.locator("#t-state").getAttribute("data-state");
const progressOf = async (page) => Number(await page.locator("#t-progress [role=progressbar]").getAttribute("aria-valuenow"));

async function waitState(page, want, ms = 15000) {
  const wants = Array.isArray(want) ? want : [want];
  let last = null;
  try {
    await waitFor(async () => { last = await stateOf(page); return wants.includes(last); }, `state ${wants.join("|")}`, ms);
  } catch (err) {
    throw new Failure(`${err.message} (last seen: ${last}, live: ${await page.locator("#live").textContent().catch(() => "?")})`);
  }
}

async function openTask(t, id, page = null) {
  page = page || await newPage(t);
  await page.goto(`${BASE}/task.html?id=${id}`);
  await waitFor(async () => (await page.locator("#t-id").textContent()) === id, "the task page to show the task");
  return page;
}

// noHorizontalScroll(page, what) — the page does not scroll sideways, and nothing in it does
// (a table in a scrolling box would hide its last columns behind a sideways scroll)
async function noHorizontalScroll(page, what) {
  const m = await page.evaluate(() => {
    const boxes = [...document.querySelectorAll("*")].filter((e) => {
      const ox = getComputedStyle(e).overflowX;
      return (ox === "auto" || ox === "scroll") && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1;
    }).map((e) => `${e.localName}${e.id ? "#" + e.id : ""}.${e.className} (${e.scrollWidth} > ${e.clientWidth})`);
    return { sw: document.documentElement.scrollWidth, iw: innerWidth, cw: document.documentElement.clientWidth, bw: document.body.scrollWidth, boxes };
  });
  assert(m.sw <= m.iw && m.sw <= m.cw + 1 && m.bw <= m.cw + 1, `${what}: horizontal scroll (scrollWidth ${m.sw}/${m.bw} > innerWidth ${m.iw})`);
  assert(m.boxes.length === 0, `${what}: scrolls sideways inside: ${m.boxes.join(", ")}`);
}

// wordsOnly(text, what) — words meant for people carry no raw HTTP status ("HTTP 202",
// "409 wrong_state"): those belong in a tooltip or the console
const RAW_CODE = /\bHTTP\b|\b[1-5]\d\d\b/;
function wordsOnly(text, what) {
  assert(!RAW_CODE.test(text || ""), `${what} shows a raw HTTP code: "${text}"`);
}

// RECORD_OUTCOMES — an init script: every text the task page's notice (#outcome) showed
// (window.__outcomes), and its title with it (window.__outcomeTitles[text])
const RECORD_OUTCOMES = () => {
  window.__outcomes = [];
  window.__outcomeTitles = {};
  addEventListener("DOMContentLoaded", () => {
    const o = document.getElementById("outcome");
    if (!o) return;
    new MutationObserver(() => {
      if (window.__outcomes.at(-1) !== o.textContent) window.__outcomes.push(o.textContent);
      window.__outcomeTitles[o.textContent] = o.getAttribute("title");
    }).observe(o, { childList: true, characterData: true, subtree: true, attributes: true });
  });
};

// ---- the tests --------------------------------------------------------------------------
const uniq = () => Math.random().toString(36).slice(2, 8);

if (SHOTS) {
  test("screenshots of the overview and a task page", async (t) => {
    const shotDir = path.join(TOP, "docs", "screenshots");
    mkdirSync(shotDir, { recursive: true });
    // a mix of states to look at; with auth, from two owners (the admin's page shows both)
    const [alice, bob] = AUTH && DEV ? [await createToken("alice"), await createToken("bob")] : [TOKEN, TOKEN];
    await submit({ kind: "sleep", payload: { steps: 4, step_ms: 50 } }, alice);
    await submit({ kind: "sleep", payload: { steps: 3, step_ms: 50, fail_at: 2 }, max_attempts: 1 }, bob);
    const cancel = await submit({ kind: "sleep", payload: {}, delay_s: 600 }, alice);
    await apiCall("DELETE", `/api/tasks/${cancel.id}`);
    await submit({ kind: "noop", payload: {}, queue: "reports", delay_s: 3600 }, bob);
    await submit({ kind: "sleep", payload: { steps: 20, step_ms: 1000 }, delay_s: 120 }, alice);
    const long1 = await submit({ kind: "sleep", payload: { steps: 100, step_ms: 150 } }, alice);
    const long2 = await submit({ kind: "sleep", payload: { steps: 40, step_ms: 250 }, priority: 5 }, bob);
    await submit({ kind: "noop", payload: {} }, bob);
    const page = await newPage(t, { viewport: { width: 1280, height: 900 } });
    await page.goto(`${BASE}/`);
    await waitFor(async () => (await page.locator("#tasks tbody tr").count()) >= 8, "rows");
    await waitFor(async () => (await page.locator(`#tasks tr[data-id="${long2.id}"]`).getAttribute("data-state")) === "running", "a running row");
    await sleep(3500);
    await page.screenshot({ path: path.join(shotDir, "overview.png") });
    const tp = await openTask(t, long1.id, await t.contexts[0].newPage());
    await waitFor(async () => (await progressOf(tp)) >= 40, "progress ≥ 40", 20000);
    await waitFor(async () => (await tp.locator("#history tbody tr").count()) > 0 || /unavailable/.test(await tp.locator("#history-note").textContent()), "history");
    await tp.screenshot({ path: path.join(shotDir, "task.png"), fullPage: true });
    // the same on a phone (390 px), for a look (not in docs/)
    const phone = await newPage(t, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
    await phone.goto(`${BASE}/`);
    await waitFor(async () => (await phone.locator("#tasks tbody tr").count()) >= 8, "rows on the phone");
    await phone.screenshot({ path: path.join(ARTIFACTS, "overview-390.png"), fullPage: true });
    await openTask(t, long1.id, phone);
    await phone.screenshot({ path: path.join(ARTIFACTS, "task-390.png"), fullPage: true });
    await apiCall("DELETE", `/api/tasks/${long1.id}`);
    await apiCall("DELETE", `/api/tasks/${long2.id}`);
  }, { timeout: 45000 });
}

test("submit from the form: progress climbs to 100, state succeeded", async (t) => {
  const page = await newPage(t);
  await page.goto(`${BASE}/`);
  await page.locator("#submit-details > summary").click();
  await page.locator("#submit-form [name=kind]").fill("sleep");
  await page.locator("#submit-form [name=payload]").fill(JSON.stringify({ steps: 10, step_ms: 200 }));
  await page.locator("#submit-form button[type=submit]").click();
  await page.waitForURL(/task\.html\?id=[0-9a-f-]{36}/, { timeout: 5000 });
  await waitState(page, "succeeded", 15000);
  assert((await progressOf(page)) === 100, "the bar does not end at 100");
  const seen = await page.evaluate(() => window.__progress);
  assert(seen.some((v) => v > 0 && v < 100), `no intermediate progress seen (values: ${seen.join(",")})`);
  for (let i = 1; i < seen.length; i++) assert(seen[i] >= seen[i - 1], `progress went backwards: ${seen.join(",")}`);
  assert((await page.locator("#t-result").textContent()).includes('"steps": 10'), "the result is not shown");
  assert((await page.locator("#t-state").textContent()).includes("succeeded"), "the state is not written out as text");
});

test("the form shows validation errors from the API", async (t) => {
  const page = await newPage(t);
  await page.goto(`${BASE}/#new-task`);
  const form = page.locator("#submit-form");
  const err = form.locator(".error");
  await form.locator("[name=kind]").fill("no-such-kind");
  await form.locator("[name=payload]").fill("{}");
  await form.locator("button[type=submit]").click();
  await waitFor(async () => /^Not submitted: unknown task kind 'no-such-kind'/.test(await err.textContent()), "the unknown kind error");
  assert(/HTTP 400 unknown_kind/.test(await err.getAttribute("title")), `the error's title: ${await err.getAttribute("title")}`);
  wordsOnly(await err.textContent(), "the form's error");
  await form.locator("[name=kind]").fill("sleep");
  await form.locator("[name=payload]").fill("{\"steps\": ");
  await form.locator("button[type=submit]").click();
  await waitFor(async () => /not valid JSON/.test(await err.textContent()), "the JSON error");
  await form.locator("[name=payload]").fill("{}");
  await form.locator("[name=priority]").fill("5000");
  await form.locator("button[type=submit]").click();
  await waitFor(async () => /^Not submitted: priority must be/.test(await err.textContent()), "the invalid_field error");
  assert(/HTTP 400 invalid_field/.test(await err.getAttribute("title")), `the error's title: ${await err.getAttribute("title")}`);
  wordsOnly(await err.textContent(), "the form's error");
  assert(page.url().endsWith("/#new-task"), "the page navigated away on an error");
});

test("cancel a running task from its page: the notice follows the task to cancelled, in words", async (t) => {
  // a step of 2 s: the worker sees the cancel at the end of the step, so the page shows
  // "requested" for a while before the task is cancelled
  const task = await submit({ kind: "sleep", payload: { steps: 30, step_ms: 2000 } });
  const ctx = await newContext(t);
  await ctx.addInitScript(RECORD_OUTCOMES);
  const page = await openTask(t, task.id, await ctx.newPage());
  await waitState(page, "running", 10000);
  await page.locator("#btn-cancel").click();
  const outcome = page.locator("#outcome");
  const requested = async () => (await page.evaluate(() => window.__outcomes)).find((x) => /^Cancel requested: the worker stops the task/.test(x));
  const text = await waitFor(requested, "the cancel requested notice");
  const title = await page.evaluate((x) => window.__outcomeTitles[x], text);
  assert(title === "HTTP 202", `the notice's title: ${title}`);
  await waitState(page, "cancelled", 10000);
  // the notice no longer says the cancel is pending: it says what happened
  await waitFor(async () => /^Cancelled: the worker stopped the task\.$/.test(await outcome.textContent()), "the notice to follow the cancelled state", 3000);
  const seen = await page.evaluate(() => window.__outcomes);
  for (const text of seen) wordsOnly(text, "the task page's notice");
  assert(await page.locator("#btn-cancel").isDisabled(), "Cancel stays enabled on a cancelled task");
  assert(await page.locator("#btn-retry").isEnabled(), "Retry is not offered for a cancelled task");
  // a second cancel through the API is refused; the page shows the API's error for its own
  const again = await apiCall("DELETE", `/api/tasks/${task.id}`);
  assert(again.status === 409, `cancel of a cancelled task answered ${again.status}`);
});

test("notices say what happened in words; the HTTP status is in their title only", async (t) => {
  const task = await submit({ kind: "sleep", payload: {}, delay_s: 600 });
  try {
    const ctx = await newContext(t);
    // the server refuses the cancel (as for a task that finished meanwhile), fails the history
    // and refuses a filter of the list
    await ctx.route(`**/api/tasks/${task.id}`, (route) => route.request().method() === "DELETE"
      ? route.fulfill({ status: 409, contentType: "application/json", body: '{"error":{"code":"wrong_state","message":"task already succeeded"}}' })
      : route.continue());
    await ctx.route(`**/api/tasks/${task.id}/history`, (route) => route.fulfill({ status: 500, contentType: "application/json", body: '{"error":{"code":"internal","message":"internal error"}}' }));
    await ctx.route("**/api/tasks?*", (route) => new URL(route.request().url()).searchParams.get("kind") === "refused"
      ? route.fulfill({ status: 400, contentType: "application/json", body: '{"error":{"code":"invalid_field","message":"bad value for query parameter \'kind\'"}}' })
      : route.continue());
    const page = await openTask(t, task.id, await ctx.newPage());
    await page.locator("#btn-cancel").click();
    const outcome = page.locator("#outcome");
    await waitFor(async () => /^Could not cancel the task\. Not possible in the task's current state: task already succeeded\.$/.test(await outcome.textContent()), "the refusal in words");
    assert((await outcome.getAttribute("title")) === "HTTP 409 wrong_state: task already succeeded", `title: ${await outcome.getAttribute("title")}`);
    const note = page.locator("#history-note");
    await waitFor(async () => /^History unavailable\./.test(await note.textContent()), "the history note");
    wordsOnly(await note.textContent(), "the history note");
    assert(/HTTP 500/.test(await note.getAttribute("title")), "the history note's title has no status");
    await page.goto(`${BASE}/?kind=refused`);
    const err = page.locator("#tasks-error");
    await waitFor(async () => /^The tasks could not be read\./.test(await err.textContent()), "the list's error");
    wordsOnly(await err.textContent(), "the list's error");
    assert(/HTTP 400 invalid_field/.test(await err.getAttribute("title")), "the list's error has no status in its title");
    assert(!(await page.locator("#tasks-empty").isVisible()), "\"No tasks match\" is shown while the list could not be read");
  } finally {
    await apiCall("DELETE", `/api/tasks/${task.id}`);
  }
});

test("a failed task shows its error, and Retry runs it again", async (t) => {
  const task = await submit({ kind: "sleep", payload: { steps: 5, step_ms: 50, fail_at: 2 }, max_attempts: 1 });
  const ctx = await newContext(t);
  await ctx.addInitScript(RECORD_OUTCOMES);
  const page = await openTask(t, task.id, await ctx.newPage());
  await waitState(page, "failed", 10000);
  await waitFor(async () => await page.locator("#error-card").isVisible(), "the error section");
  const text = await page.locator("#t-error").textContent();
  assert(/failed at step 2/.test(text), `error text: ${text}`);
  assert((await page.locator("#t-attempts").textContent()) === "1/1", "attempts are not 1/1");
  await page.locator("#btn-retry").click();
  await waitFor(async () => (await page.evaluate(() => window.__outcomes)).some((x) => /^Queued again/.test(x)), "the retry notice");
  // it runs again and fails again: the follower picked the task up after the retry
  await waitFor(async () => ["queued", "running"].includes(await stateOf(page)) || (await getTask(task.id)).attempts >= 1, "the retried task");
  await waitState(page, "failed", 10000);
  // the notice about the retry is gone once the retried task has finished
  await waitFor(async () => (await page.locator("#outcome").textContent()) === "", "the retry notice to clear at the final state", 3000);
  for (const text of await page.evaluate(() => window.__outcomes)) wordsOnly(text, "the task page's notice");
  // and Cancel of a finished task shows the API's refusal... the button is disabled instead
  assert(await page.locator("#btn-cancel").isDisabled(), "Cancel is enabled on a failed task");
});

// gatedTasks(n, body) — n tasks that wait for a gate task (after: [gate], after_policy
// "always"): they start when release() cancels the gate, however long the pages took to open.
// (A fixed delay_s raced the opening of the pages on a loaded machine: a task could finish
// before its page was up, and the page then never saw it live.)
async function gatedTasks(n, body) {
  const gate = await submit({ kind: "noop", payload: {}, delay_s: 3600 });
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(await submit({ ...body, after: [gate.id], after_policy: "always" }));
  return { tasks, release: () => apiCall("DELETE", `/api/tasks/${gate.id}`) };
}

// everyPageLive(pages) — each page has been live (in any mode) at least once
const everyPageLive = (pages, ms = 20000) => waitFor(async () => (await Promise.all(pages.map((p) => p.evaluate(() => window.__liveStates.some((s) => s.startsWith("live/")))))).every(Boolean), "every tab live", ms);

test("5 tabs at once each follow their own task live to succeeded", async (t) => {
  const ctx = await newContext(t);
  const { tasks, release } = await gatedTasks(5, { kind: "sleep", payload: { steps: 16, step_ms: 300 } });
  const pages = await Promise.all(tasks.map(async (task) => openTask(t, task.id, await ctx.newPage())));
  await everyPageLive(pages);
  await release();
  await Promise.all(pages.map((p) => waitState(p, "succeeded", 30000)));
  for (let i = 0; i < 5; i++) {
    const p = pages[i];
    assert((await p.locator("#t-id").textContent()) === tasks[i].id, `tab ${i} shows another task`);
    assert((await progressOf(p)) === 100, `tab ${i}: bar not at 100`);
    const seen = await p.evaluate(() => window.__progress);
    assert(seen.some((v) => v > 0 && v < 100), `tab ${i} saw no intermediate progress (${seen.join(",")})`);
    assert((await p.locator("#live").getAttribute("data-state")) === "ended", `tab ${i}: indicator not ended`);
  }
}, { timeout: 40000 });

test("8 tabs: at most 4 hold a connection, the others poll, all follow live", async (t) => {
  // a browser opens 6 connections per host for all its tabs: streams and long-polls beyond
  // that would stall every other request of the origin
  const ctx = await newContext(t);
  const { tasks, release } = await gatedTasks(8, { kind: "sleep", payload: { steps: 10, step_ms: 300 } });
  const pages = await Promise.all(tasks.map(async (task) => openTask(t, task.id, await ctx.newPage())));
  await everyPageLive(pages);
  await release();
  await Promise.all(pages.map((p) => waitState(p, "succeeded", 20000)));
  // the first mode each tab was live in (a tab whose slot was freed later upgrades)
  const first = await Promise.all(pages.map((p) => p.evaluate(() => (window.__liveStates.find((s) => s.startsWith("live/")) || "").slice(5))));
  const held = first.filter((m) => m === "stream" || m === "long-poll").length;
  assert(held >= 1 && held <= 4, `${held} tabs held a connection at first (${first.join(",")})`);
  assert(first.filter((m) => m === "polling").length === 8 - held, `modes: ${first.join(",")}`);
}, { timeout: 40000 });

test("the overview lists a newly submitted task without reload", async (t) => {
  const page = await newPage(t);
  await page.goto(`${BASE}/`);
  await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "live", "the overview to be live");
  const navs = [];
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navs.push(f.url()); });
  const task = await submit({ kind: "sleep", payload: { steps: 6, step_ms: 150 } });
  const row = page.locator(`#tasks tbody tr[data-id="${task.id}"]`);
  await waitFor(async () => (await row.count()) === 1, "the new row", 6000);
  const link = row.locator("td.id a");
  const shown = await link.textContent();
  assert(shown.startsWith(task.id.slice(0, 8)) && shown.endsWith(task.id.slice(-4)), `the row shows the id as ${shown}`);
  assert((await link.getAttribute("href")).includes(task.id), "the row does not link to the task page");
  await waitFor(async () => (await row.getAttribute("data-state")) === "succeeded", "the row to turn succeeded", 10000);
  assert((await row.locator("[role=progressbar]").getAttribute("aria-valuenow")) === "100", "the row's bar is not at 100");
  assert(navs.length === 0, `the page reloaded: ${navs.join(" ")}`);
  // the link opens the task page
  await link.click();
  await page.waitForURL(new RegExp(`task\\.html\\?id=${task.id}`));
  await waitState(page, "succeeded", 5000);
});

test("overview filters and keyset paging", async (t) => {
  const queue = `browser-${uniq()}`;
  const ids = [];
  // 55 delayed tasks in a queue of their own: they stay queued, and only they are in it
  for (let i = 0; i < 55; i++) ids.push((await submit({ kind: "noop", payload: {}, queue, delay_s: 3600 })).id);
  try {
    const page = await newPage(t);
    await page.goto(`${BASE}/?queue=${queue}`);
    const rows = page.locator("#tasks tbody tr");
    await waitFor(async () => (await rows.count()) === 50, "50 rows on the first page");
    assert((await rows.first().getAttribute("data-id")) === ids[54], "the first row is not the newest task");
    await page.locator("#page-older").click();
    await waitFor(async () => (await rows.count()) === 5, "5 rows on the second page");
    assert((await rows.last().getAttribute("data-id")) === ids[0], "the last row is not the oldest task");
    assert(await page.locator("#page-older").isDisabled(), "older is enabled on the last page");
    assert(/before=/.test(page.url()), "the page is not in the URL");
    await page.locator("#page-newest").click();
    await waitFor(async () => (await rows.count()) === 50, "back to 50 rows");
    await page.locator("#filters [name=state]").selectOption("running");
    await waitFor(async () => (await rows.count()) === 0 && await page.locator("#tasks-empty").isVisible(), "no running tasks in the queue");
    await page.locator("#filters [name=state]").selectOption("queued");
    await waitFor(async () => (await rows.count()) === 50, "50 queued");
  } finally {
    await Promise.all(ids.map((id) => apiCall("DELETE", `/api/tasks/${id}`)));
  }
});

test("the live indicator shows a sensible state", async (t) => {
  const task = await submit({ kind: "sleep", payload: { steps: 12, step_ms: 250 } });
  const page = await openTask(t, task.id);
  const live = page.locator("#live");
  await waitFor(async () => (await live.getAttribute("data-state")) === "live", "live while the task runs", 5000);
  const mode = await live.getAttribute("data-mode");
  assert(["stream", "long-poll", "polling"].includes(mode), `mode ${mode}`);
  assert((await live.textContent()).includes("live"), "the indicator does not say live");
  await waitState(page, "succeeded", 15000);
  await waitFor(async () => (await live.getAttribute("data-state")) === "ended", "ended after the final state", 3000);
  assert((await live.textContent()).includes("finished"), "the indicator does not say finished");
  // the overview's indicator
  const ov = await t.contexts[0].newPage();
  await ov.goto(`${BASE}/`);
  await waitFor(async () => (await ov.locator("#live").getAttribute("data-state")) === "live", "the overview live", 5000);
});

test("the indicator goes offline when the server is unreachable, and comes back", async (t) => {
  const task = await submit({ kind: "sleep", payload: { steps: 30, step_ms: 200 } });
  const ctx = await newContext(t);
  // requests that start later can be failed here, an open stream cannot: follow by long-poll
  // (the restart tests cut real streams)
  await ctx.route("**/api/tasks/*/events", (route) => route.fulfill({ status: 404, contentType: "application/json", body: '{"error":{"code":"not_found","message":"no such route"}}' }));
  const page = await openTask(t, task.id, await ctx.newPage());
  await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "live", "live", 5000);
  // every API request fails at the network level, as if the server had gone
  await ctx.route("**/api/**", (route) => route.abort("connectionrefused"));
  await waitFor(async () => ["reconnecting", "offline"].includes(await page.locator("#live").getAttribute("data-state")), "reconnecting", 30000);
  await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "offline", "offline", 30000);
  await ctx.unroute("**/api/**");
  await waitState(page, "succeeded", 20000);
  await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "ended", "ended", 3000);
  const states = await page.evaluate(() => window.__liveStates);
  assert(states.some((s) => s.startsWith("offline")), `never offline: ${states.join(" ")}`);
}, { timeout: 45000 });

test("falls back to long-poll when the stream is refused", async (t) => {
  const ctx = await newContext(t);
  await ctx.route("**/api/tasks/*/events", (route) => route.fulfill({ status: 404, contentType: "application/json", body: '{"error":{"code":"not_found","message":"no such route"}}' }));
  const task = await submit({ kind: "sleep", payload: { steps: 10, step_ms: 200 } });
  const page = await openTask(t, task.id, await ctx.newPage());
  // the modes the page went through (a loaded machine may finish the task before a look at
  // the indicator would catch it)
  await waitFor(async () => (await page.evaluate(() => window.__liveStates)).includes("live/long-poll"), "long-poll mode", 5000);
  await waitState(page, "succeeded", 15000);
  const seen = await page.evaluate(() => window.__progress);
  assert(seen.some((v) => v > 0 && v < 100), `no intermediate progress (${seen.join(",")})`);
});

test("falls back to polling when stream and long-poll are refused", async (t) => {
  const ctx = await newContext(t);
  let waits = 0;
  let polls = 0;
  await ctx.route("**/api/tasks/**", (route) => {
    const u = new URL(route.request().url());
    if (u.pathname.endsWith("/events")) return route.abort("connectionrefused");
    if (u.searchParams.has("wait")) {
      waits++;
      return route.fulfill({ status: 400, contentType: "application/json", body: '{"error":{"code":"invalid_field","message":"bad value for query parameter \'wait\'"}}' });
    }
    if (route.request().method() === "GET" && route.request().headers()["if-none-match"]) polls++;
    return route.continue();
  });
  const task = await submit({ kind: "sleep", payload: { steps: 10, step_ms: 250 } });
  const page = await openTask(t, task.id, await ctx.newPage());
  await waitFor(async () => (await page.locator("#live").getAttribute("data-mode")) === "polling", "polling mode", 6000);
  await waitState(page, "succeeded", 15000);
  assert(waits <= 2, `long-poll was tried ${waits} times after it was refused`);
  assert(polls >= 1, "no conditional (If-None-Match) polls");
});

test("an SSE stream is followed (simulated nchan stream)", async (t) => {
  const task = await submit({ kind: "sleep", payload: { steps: 10, step_ms: 250 }, delay_s: 300 });
  try {
    const ctx = await newContext(t);
    // as nchan sends it: the whole task first, then changes without the payload
    const at = (progress, state, version, message) => {
      const { payload, ...rest } = { ...task, state, progress, message, version, ...(state === "succeeded" ? { result: { steps: 10 }, finished_at: new Date().toISOString() } : {}) };
      return progress === 0 ? { ...rest, payload } : rest;
    };
    const events = [at(0, "queued", task.version, null), at(30, "running", task.version + 2, "step 3/10"),
      at(60, "running", task.version + 3, "step 6/10"), at(100, "succeeded", task.version + 5, "step 10/10")];
    const body = events.map((e, i) => `id: ${i + 1}\ndata: ${JSON.stringify(e)}\n\n`).join("");
    await ctx.route("**/api/tasks/*/events", (route) => route.fulfill({ status: 200, headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" }, body }));
    const page = await openTask(t, task.id, await ctx.newPage());
    await waitState(page, "succeeded", 5000);
    const states = await page.evaluate(() => window.__liveStates);
    assert(states.some((s) => s === "live/stream"), `never live over the stream: ${states.join(" ")}`);
    const seen = await page.evaluate(() => window.__progress);
    assert(seen.includes(30) && seen.includes(60) && seen.at(-1) === 100, `progress from the stream: ${seen.join(",")}`);
    // the changes were merged into the whole task: the payload the first message had stays
    const shown = await page.locator("#t-payload").textContent();
    assert(shown.includes("step_ms"), `payload after the changes: ${shown}`);
  } finally {
    await apiCall("DELETE", `/api/tasks/${task.id}`);
  }
});

test("a dropped stream is reopened at once (simulated)", async (t) => {
  const task = await submit({ kind: "sleep", payload: {}, delay_s: 300 });
  try {
    const ctx = await newContext(t);
    const at = (progress, state, version) => ({ ...task, state, progress, version, message: `${progress}%` });
    let opens = 0;
    await ctx.route("**/api/tasks/*/events", (route) => {
      opens++;
      // the first stream ends (a proxy timeout, a restart) before the task is finished
      const events = opens === 1 ? [at(0, "running", task.version + 1), at(40, "running", task.version + 2)]
        : [at(40, "running", task.version + 2), at(100, "succeeded", task.version + 4)];
      const body = events.map((e) => `id: ${e.version}\ndata: ${JSON.stringify(e)}\n\n`).join("");
      return route.fulfill({ status: 200, headers: { "Content-Type": "text/event-stream" }, body });
    });
    const t0 = Date.now();
    const page = await openTask(t, task.id, await ctx.newPage());
    await waitState(page, "succeeded", 5000);
    assert(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms: the browser's own 3 s reconnect was waited for`);
    assert(opens === 2, `the stream was opened ${opens} times`);
    const states = await page.evaluate(() => window.__liveStates);
    assert(!states.some((s) => s.includes("long-poll") || s.includes("polling")), `fell back: ${states.join(" ")}`);
  } finally {
    await apiCall("DELETE", `/api/tasks/${task.id}`);
  }
});

test("the task page shows the history, or says it is unavailable", async (t) => {
  const task = await submit({ kind: "sleep", payload: { steps: 2, step_ms: 50 } });
  const page = await openTask(t, task.id);
  await waitState(page, "succeeded", 10000);
  await waitFor(async () => {
    const note = await page.locator("#history-note").textContent();
    const rows = await page.locator("#history tbody tr").count();
    return (rows > 0 && await page.locator("#history").isVisible()) || /unavailable/.test(note);
  }, "the history section", 5000);
  if (await page.locator("#history").isVisible()) {
    const events = await page.locator("#history tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.event));
    assert(events.includes("claimed") && events.at(-1) === "succeeded", `events: ${events.join(",")}`);
  }
  // an unknown id says so
  await page.goto(`${BASE}/task.html?id=00000000-0000-7000-8000-000000000000`);
  await waitFor(async () => await page.locator("#missing").isVisible(), "the not-found section");
});

test("auth: a 401 shows the token field; the token is kept and sent as Bearer", async (t) => {
  const ctx = await newContext(t, { token: "" });
  let withToken = 0;
  let withCookie = 0;
  // the test's own token is "s3cret-token"; a stack with auth gets the real one instead
  // (as an Authorization header, which the server prefers to the cookie)
  await ctx.route("**/api/**", async (route) => {
    const req = route.request();
    const headers = req.headers();
    const cookie = (await req.allHeaders()).cookie || "";
    const byHeader = headers.authorization === "Bearer s3cret-token";
    const byCookie = !byHeader && req.method() === "GET" && /(^|;\s*)taskq_token=s3cret-token(;|$)/.test(cookie);
    if (!byHeader && !byCookie) {
      return route.fulfill({ status: 401, contentType: "application/json", body: '{"error":{"code":"unauthorized","message":"a bearer token is required"}}' });
    }
    if (byHeader) withToken++; else withCookie++;
    return route.continue(TOKEN ? { headers: { ...headers, authorization: `Bearer ${TOKEN}` } } : undefined);
  });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/`);
  await waitFor(async () => await page.locator("#auth").isVisible(), "the token field");
  await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "auth", "the sign-in state");
  await page.locator("#auth input[name=token]").fill("s3cret-token");
  await page.locator("#auth button[type=submit]").click();
  await page.waitForLoadState("load");
  await waitFor(async () => (await page.locator("#tasks tbody tr").count()) > 0, "rows with the token");
  assert((await page.locator("#tasks-error").textContent()) === "", "an error is still shown");
  assert(withToken > 0, "no request carried the token");
  // the task page uses it too; its stream (EventSource: no headers) sends the cookie
  const task = await submit({ kind: "sleep", payload: { steps: 4, step_ms: 150 } });
  await openTask(t, task.id, page);
  await waitState(page, "succeeded", 10000);
  assert(await page.evaluate(() => localStorage.getItem("taskq.token")) === "s3cret-token", "the token is not in localStorage");
  assert(withCookie > 0, "no stream carried the taskq_token cookie");
});

// expectSignIn(page, {what}) — the sign-in state: the token field open and saying why in
// words, no "live" badge (not now, not a refresh later); on the overview no rows and no "No
// tasks match" (the list could not be read), on the task page nothing of the task. The note.
async function expectSignIn(page, { taskPage = false } = {}) {
  const live = page.locator("#live");
  await waitFor(async () => (await live.getAttribute("data-state")) === "auth", "the sign-in state", 8000);
  assert(await page.locator("#auth input[name=token]").isVisible(), "the token field is not shown");
  const note = await page.locator("#auth .auth-note").textContent();
  wordsOnly(note, "the sign-in note");
  assert(/sign-in needed/.test(await live.textContent()), `the badge says "${await live.textContent()}"`);
  if (taskPage) {
    assert(!(await page.locator("#task").isVisible()), "the task section is shown");
  } else {
    assert(await page.locator("#tasks-signin").isVisible(), "the task list does not say it needs a token");
    assert(!(await page.locator("#tasks-empty").isVisible()), "\"No tasks match\" is shown while the list could not be read");
    assert((await page.locator("#tasks tbody tr").count()) === 0, "rows are shown");
    assert(!/\bHTTP\b|\b40[13]\b/.test(await page.locator("#queues-note").textContent()), "the queues note shows a raw code");
  }
  await sleep(2000);              // more than a refresh period of the list
  assert((await live.getAttribute("data-state")) === "auth", `the badge turned ${await live.getAttribute("data-state")}`);
  const states = await page.evaluate(() => window.__liveStates);
  assert(!states.some((x) => x.startsWith("live")), `the badge was live: ${states.join(" ")}`);
  return note;
}

const SIGNIN_SKIP = !AUTH ? "auth is off on this stack" : !TOKEN ? "TASKQ_TOKEN is not set" : null;

test("auth: without a token the overview and the task page ask for one, never 'live'; a good token shows the tasks", async (t) => {
  const task = await submit({ kind: "noop", payload: {}, delay_s: 600 });
  try {
    const ctx = await newContext(t, { token: "" });
    const page = await ctx.newPage();
    await page.goto(`${BASE}/`);
    const note = await expectSignIn(page);
    assert(/needs an API token to show the tasks/.test(note), `the note says: ${note}`);
    assert(await page.evaluate(() => document.activeElement && document.activeElement.name === "token"), "the token field does not have the focus");
    await page.goto(`${BASE}/task.html?id=${task.id}`);
    const taskNote = await expectSignIn(page, { taskPage: true });
    assert(/needs an API token to show this task/.test(taskNote), `the task page's note says: ${taskNote}`);
    // a good token: the task page shows the task, the overview the tasks
    await page.locator("#auth input[name=token]").fill(TOKEN);
    await page.locator("#auth button[type=submit]").click();
    await waitFor(async () => (await page.locator("#t-id").textContent()) === task.id, "the task after signing in");
    await page.goto(`${BASE}/`);
    await waitFor(async () => (await page.locator(`#tasks tbody tr[data-id="${task.id}"]`).count()) === 1, "the task in the list after signing in");
    await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "live", "the overview live");
    assert(!(await page.locator("#auth").isVisible()) && !(await page.locator("#tasks-signin").isVisible()), "the sign-in prompt stays");
  } finally {
    await apiCall("DELETE", `/api/tasks/${task.id}`);
  }
}, { timeout: 45000, skip: SIGNIN_SKIP });

test("auth: a refused token (401) or a view token (403) asks for another; Save checks a token first", async (t) => {
  const ctx = await newContext(t, { token: "tq_not-a-real-token" });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/`);
  const note = await expectSignIn(page);
  assert(/does not accept the token kept in this browser/.test(note), `the note says: ${note}`);
  // another bad one is refused at once, and not kept
  const navs = [];
  page.on("framenavigated", (f) => { if (f === page.mainFrame()) navs.push(f.url()); });
  await page.locator("#auth input[name=token]").fill("tq_still-not-a-token");
  await page.locator("#auth button[type=submit]").click();
  const formError = page.locator("#auth .auth-error");
  await waitFor(async () => /^Not saved\. The server does not accept this token/.test(await formError.textContent()), "the form to refuse the token");
  wordsOnly(await formError.textContent(), "the token form's error");
  assert(/HTTP 401/.test(await formError.getAttribute("title")), "the form's error has no status in its title");
  assert(navs.length === 0 && (await page.evaluate(() => localStorage.getItem("taskq.token"))) === "tq_not-a-real-token", "a refused token was kept");
  // a view token reads one task only: the list answers 403
  const vt = (await apiCall("POST", "/api/tasks", { kind: "noop", payload: {} })).data.view_token;
  if (vt) {
    const p2 = await newPage(t, { token: vt });
    await p2.goto(`${BASE}/`);
    const note403 = await expectSignIn(p2);
    assert(/may not see the tasks/.test(note403), `the note for a view token says: ${note403}`);
  }
  // the good token: the tasks
  await page.locator("#auth input[name=token]").fill(TOKEN);
  await page.locator("#auth button[type=submit]").click();
  await waitFor(async () => (await page.locator("#tasks tbody tr").count()) > 0, "rows after a good token");
  await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "live", "the overview live");
}, { timeout: 45000, skip: SIGNIN_SKIP });

test("the header says who the page is for; the owner column is for admins with auth", async (t) => {
  const me = AUTH ? ME.data : null;
  const page = await newPage(t);
  await page.goto(`${BASE}/`);
  await waitFor(async () => await page.locator("#who").isVisible(), "the header's who");
  const who = await page.locator("#who").textContent();
  const want = !me ? "auth off" : me.admin ? "admin" : `owner ${me.owner}`;
  assert(who === want, `the header says "${who}", not "${want}"`);
  await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "live", "the overview live");
  const col = await page.locator("#tasks th.owner").isVisible();
  assert(col === !!(me && me.admin), `the owner column is ${col ? "shown" : "hidden"}`);
});

// ---- owners (auth on): each token sees its own tasks only -------------------------------
const OWNER_SKIP = !AUTH ? "auth is off on this stack" : !DEV ? "TASKQ_DEV is not set (tokens come from ./dev taskq token create)" : null;

async function newOwner(prefix) {
  const name = `${prefix}-${uniq()}`;
  return { name, token: await createToken(name) };
}

const rowIn = (page, id) => page.locator(`#tasks tbody tr[data-id="${id}"]`);
const ownCookie = async (ctx) => (await ctx.cookies(`${BASE}/api/`)).find((c) => c.name === "taskq_token");

// RECORD_FEED — an init script: the ids of the tasks every EventSource of the page received
// (window.__feedIds), i.e. what the live feed carried to the page.
const RECORD_FEED = () => {
  const Orig = window.EventSource;
  window.__feedIds = [];
  window.EventSource = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        try { for (const x of JSON.parse(ev.data).tasks || []) window.__feedIds.push(x.id); } catch { /* not a batch */ }
      });
    }
  };
};

// pageFetch(page, path, init) — a request made by the page itself, so it carries the page's
// cookies and no Authorization header: {status, text}; open: true when the answer was still
// coming after 3 s (a stream that let the request in).
function pageFetch(page, p, init = {}) {
  return page.evaluate(async ([p, init]) => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 3000);
    let status = 0;
    try {
      const r = await fetch(p, { ...init, signal: ctrl.signal, credentials: "same-origin" });
      status = r.status;
      return { status, text: await r.text() };
    } catch {
      return { status, open: true };
    } finally {
      clearTimeout(timer);
    }
  }, [p, init]);
}

test("auth: an owner's overview shows its own tasks only, in the table and from its feed", async (t) => {
  const a = await newOwner("browser-a");
  const b = await newOwner("browser-b");
  const queue = `owners-${uniq()}`;
  const a1 = await submit({ kind: "noop", payload: {}, queue, delay_s: 3600 }, a.token);
  const b1 = await submit({ kind: "noop", payload: {}, queue, delay_s: 3600 }, b.token);
  const bIds = [b1.id];
  try {
    assert(a1.owner === a.name && b1.owner === b.name, `the tasks' owners: ${a1.owner}, ${b1.owner}`);
    const ctx = await newContext(t, { token: a.token });
    await ctx.addInitScript(RECORD_FEED);
    const page = await ctx.newPage();
    const feeds = [];
    page.on("request", (r) => { const u = new URL(r.url()); if (u.pathname.startsWith("/api/stream")) feeds.push(u.pathname); });
    await page.goto(`${BASE}/`);
    await waitFor(async () => (await rowIn(page, a1.id).count()) === 1, "A's task in A's table");
    await waitFor(async () => (await page.locator("#who").textContent()) === `owner ${a.name}`, "the header to say owner A");
    assert(!(await page.locator("#tasks th.owner").isVisible()), "an owner's table has the owner column");
    // the live feed is A's own (/api/stream/{owner}), let in by the cookie
    await waitFor(async () => (await page.locator("#live").getAttribute("data-mode")) === "stream", "the overview's feed to be live", 8000);
    const mine = `/api/stream/${encodeURIComponent(a.name)}`;
    assert(feeds.length > 0 && feeds.every((f) => f === mine), `feeds the page opened: ${feeds.join(" ")}`);
    // the queue counts are A's own: 1 queued in the queue both share
    const queued = page.locator(`#queues tr[data-queue="${queue}"] td[data-label="queued"]`);
    await waitFor(async () => (await queued.count()) === 1 && (await queued.textContent()) === "1", "A's count of 1 queued task");
    // B submits while A's page is open, then A does (to the queue the worker serves): A's
    // task appears live, B's never does
    const b2 = await submit({ kind: "sleep", payload: { steps: 4, step_ms: 200 } }, b.token);
    bIds.push(b2.id);
    const a2 = await submit({ kind: "sleep", payload: { steps: 4, step_ms: 200 } }, a.token);
    await waitFor(async () => (await rowIn(page, a2.id).count()) === 1, "A's new task in A's table", 6000);
    await waitFor(async () => (await rowIn(page, a2.id).getAttribute("data-state")) === "succeeded", "A's new task to succeed", 15000);
    await waitFor(async () => (await getTask(b2.id)).state === "succeeded", "B's new task to finish", 15000);
    await sleep(2000);
    const shown = await page.evaluate(() => window.__rowIds);
    const carried = await page.evaluate(() => window.__feedIds);
    assert(shown.includes(a1.id) && shown.includes(a2.id), "A's tasks are not both shown");
    assert(!bIds.some((id) => shown.includes(id)), "one of B's tasks was shown in A's table");
    assert(carried.includes(a2.id), `A's feed did not carry A's new task (${carried.length} ids)`);
    assert(!bIds.some((id) => carried.includes(id)), "A's feed carried one of B's tasks");
    const owners = await page.locator("#tasks tbody td.owner").allTextContents();
    assert(owners.length > 0 && owners.every((o) => o === a.name), `owners in A's table: ${[...new Set(owners)].join(",")}`);
    // the other feeds are closed to A's cookie: B's, and the one of every task
    for (const path of [`/api/stream/${encodeURIComponent(b.name)}`, "/api/stream"]) {
      const r = await pageFetch(page, path);
      assert(r.status === 403, `${path} with A's cookie: ${r.open ? "let in, " : ""}HTTP ${r.status}`);
    }
    // an admin's overview shows both owners' tasks, with the owner column
    const admin = await newPage(t);
    await admin.goto(`${BASE}/?queue=${queue}`);
    await waitFor(async () => (await admin.locator("#tasks tbody tr").count()) === 2, "the admin's 2 rows (A's and B's)");
    assert((await admin.locator("#who").textContent()) === "admin", "the admin's header does not say admin");
    assert(await admin.locator("#tasks th.owner").isVisible(), "the admin's table has no owner column");
    assert((await rowIn(admin, b1.id).locator("td.owner").textContent()) === b.name, "the owner column does not name B");
  } finally {
    await Promise.all([a1.id, b1.id].map((id) => apiCall("DELETE", `/api/tasks/${id}`)));
  }
}, { timeout: 60000, skip: OWNER_SKIP });

test("auth: another owner's task page says not found and shows nothing of it", async (t) => {
  const a = await newOwner("browser-a");
  const b = await newOwner("browser-b");
  const marker = `b-secret-${uniq()}`;
  const bt = await submit({ kind: "noop", payload: { marker }, delay_s: 3600 }, b.token);
  try {
    const ctx = await newContext(t, { token: a.token });
    const page = await ctx.newPage();
    const streams = [];
    page.on("request", (r) => { if (r.url().includes("/events")) streams.push(r.url()); });
    await page.goto(`${BASE}/task.html?id=${bt.id}`);
    await waitFor(async () => await page.locator("#missing").isVisible(), "the not-found section");
    const text = await page.locator("#missing-text").textContent();
    assert(/^No such task/.test(text), `the error says: ${text}`);
    wordsOnly(text, "the not-found section");
    assert(/HTTP 404 not_found/.test(await page.locator("#missing-text").getAttribute("title")), "the not-found section's title has no status");
    assert(!(await page.locator("#task").isVisible()), "the task section is shown");
    assert((await page.locator("#t-payload").textContent()) === "", "a payload is shown");
    assert(!(await page.content()).includes(marker), "B's payload is in the page");
    assert(streams.length === 0, `the page subscribed to B's task: ${streams.join(" ")}`);
    // nor does A's token reach B's task another way
    const ev = await pageFetch(page, `/api/tasks/${bt.id}/events`);
    assert(ev.status === 404 && !String(ev.text || "").includes(marker), `B's task's events with A's cookie: ${ev.open ? "let in, " : ""}HTTP ${ev.status}`);
    for (const [method, p] of [["GET", `/api/tasks/${bt.id}/history`], ["DELETE", `/api/tasks/${bt.id}`], ["POST", `/api/tasks/${bt.id}/retry`]]) {
      const r = await apiCall(method, p, undefined, a.token);
      assert(r.status === 404, `${method} ${p} with A's token answered ${r.status}`);
    }
    assert((await getTask(bt.id)).state === "queued", "B's task did not stay queued");
  } finally {
    await apiCall("DELETE", `/api/tasks/${bt.id}`);
  }
}, { skip: OWNER_SKIP });

test("auth: with an owner's token the pages are live over streams (EventSource by cookie)", async (t) => {
  const c = await newOwner("browser-c");
  const task = await submit({ kind: "sleep", payload: { steps: 12, step_ms: 250 } }, c.token);
  const ctx = await newContext(t, { token: c.token });
  const page = await openTask(t, task.id, await ctx.newPage());
  await waitState(page, "succeeded", 15000);
  const states = await page.evaluate(() => window.__liveStates);
  assert(states.includes("live/stream"), `the task page was never live over its stream: ${states.join(" ")}`);
  // the cookie the page set from the stored token: /api only, same-site only
  const ck = await ownCookie(ctx);
  assert(ck && ck.value === c.token, "no taskq_token cookie with the token");
  assert(ck.path === "/api" && ck.sameSite === "Strict" && ck.secure === BASE.startsWith("https:"), `cookie path ${ck.path}, SameSite ${ck.sameSite}, Secure ${ck.secure}`);
  // the overview follows the owner's feed
  const ov = await ctx.newPage();
  await ov.goto(`${BASE}/`);
  const live = ov.locator("#live");
  await waitFor(async () => (await live.getAttribute("data-state")) === "live" && (await live.getAttribute("data-mode")) === "stream", "the overview live over its feed", 8000);
}, { skip: OWNER_SKIP });

test("auth: a new token reloads the pages (nothing of the old owner stays); Forget clears the cookie", async (t) => {
  const a = await newOwner("browser-a");
  const b = await newOwner("browser-b");
  const queue = `switch-${uniq()}`;
  const at = await submit({ kind: "noop", payload: {}, queue, delay_s: 3600 }, a.token);
  const bt = await submit({ kind: "noop", payload: {}, queue, delay_s: 3600 }, b.token);
  try {
    const ctx = await newContext(t, { token: a.token });
    const page = await ctx.newPage();
    const other = await ctx.newPage();             // another tab of the same browser
    for (const p of [page, other]) {
      await p.goto(`${BASE}/?queue=${queue}`);
      await waitFor(async () => (await rowIn(p, at.id).count()) === 1, "A's row");
    }
    await page.locator("#auth-toggle").click();
    await page.locator("#auth input[name=token]").fill(b.token);
    await page.locator("#auth button[type=submit]").click();
    for (const p of [page, other]) {
      await waitFor(async () => (await p.locator("#who").textContent()) === `owner ${b.name}` && (await rowIn(p, bt.id).count()) === 1, "B's row after the token change");
      assert((await rowIn(p, at.id).count()) === 0, "A's row is still shown");
      assert(!(await p.evaluate(() => window.__rowIds)).includes(at.id), "A's task was shown with B's token");
    }
    assert((await ownCookie(ctx))?.value === b.token, "the cookie does not hold the new token");
    await page.locator("#auth-toggle").click();
    await page.locator("#auth button.clear").click();
    await waitFor(async () => await page.locator("#auth").isVisible() && (await page.locator("#live").getAttribute("data-state")) === "auth", "the token field after Forget");
    assert(!(await ownCookie(ctx)), "the cookie outlived the token");
    assert((await page.locator("#tasks tbody tr").count()) === 0, "rows are shown without a token");
  } finally {
    await Promise.all([at.id, bt.id].map((id) => apiCall("DELETE", `/api/tasks/${id}`)));
  }
}, { timeout: 45000, skip: OWNER_SKIP });

test("auth: the cookie alone reads but never changes anything", async (t) => {
  const a = await newOwner("browser-a");
  const at = await submit({ kind: "noop", payload: {}, delay_s: 3600 }, a.token);
  try {
    const page = await newPage(t, { token: a.token });
    await page.goto(`${BASE}/`);
    await waitFor(async () => (await rowIn(page, at.id).count()) === 1, "A's row");
    const get = await pageFetch(page, `/api/tasks/${at.id}`);
    assert(get.status === 200, `GET with the cookie alone answered ${get.status}`);
    const post = await pageFetch(page, "/api/tasks", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"kind":"noop"}' });
    assert(post.status === 401, `POST with the cookie alone answered ${post.status}`);
    const del = await pageFetch(page, `/api/tasks/${at.id}`, { method: "DELETE" });
    assert(del.status === 401, `DELETE with the cookie alone answered ${del.status}`);
    assert((await getTask(at.id)).state === "queued", "the task did not stay queued");
  } finally {
    await apiCall("DELETE", `/api/tasks/${at.id}`);
  }
}, { skip: OWNER_SKIP });

// nchan 1.3.6 aborts an nginx worker (spool.c:479 assertion) when a channel that never had a
// message has two subscribers and gets its first message, and each new owner's feed would be
// such a channel: taskq-fcgi publishes an empty batch when it authorises a feed. Were that
// missing, both tabs' feeds would drop and reconnect.
test("auth: two tabs of a new owner keep their feeds when its first task arrives", async (t) => {
  const o = await newOwner("browser-n");
  const ctx = await newContext(t, { token: o.token });
  await ctx.addInitScript(RECORD_FEED);
  const pages = [await ctx.newPage(), await ctx.newPage()];
  const opened = [0, 0];
  for (const [i, p] of pages.entries()) {
    p.on("request", (r) => { if (new URL(r.url()).pathname.startsWith("/api/stream")) opened[i]++; });
    await p.goto(`${BASE}/`);
    await waitFor(async () => (await p.locator("#live").getAttribute("data-mode")) === "stream", "the feed to be live", 8000);
  }
  const task = await submit({ kind: "noop", payload: {} }, o.token);
  for (const p of pages) await waitFor(async () => (await p.evaluate(() => window.__feedIds)).includes(task.id), "the feed to carry the task", 8000);
  await sleep(1000);
  assert(opened[0] === 1 && opened[1] === 1, `the feeds were opened ${opened.join(" and ")} times (they dropped)`);
}, { skip: OWNER_SKIP });

// measureCells(page, sel) — for each element sel matches: how many lines its text takes, its height
// against one line's, and whether it is cut (content wider than the box, or past the right
// edge of its scroll box)
const measureCells = (page, sel) => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((e) => {
  const r = document.createRange();
  r.selectNodeContents(e);
  const cs = getComputedStyle(e);
  const line = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.45;
  // line boxes: text fragments whose tops lie within half a line of each other share one
  const tops = [...r.getClientRects()].filter((x) => x.width > 0).map((x) => x.top).sort((a, b) => a - b);
  const lines = tops.filter((top, i) => i === 0 || top - tops[i - 1] > line / 2).length;
  const wrap = e.closest(".table-wrap");
  const right = e.getBoundingClientRect().right;
  return { text: e.textContent, lines, contentHeight: r.getBoundingClientRect().height, line,
    clipped: e.scrollWidth > e.clientWidth + 1, outside: wrap ? right > wrap.getBoundingClientRect().right + 1 : false };
}), sel);

for (const width of [1280, 1920]) {
  test(`wide screen (${width} px): the page uses the width; every task column on one line and in view`, async (t) => {
    const queue = `finance-reports-eu-${uniq()}`;
    const ids = [];
    ids.push((await submit({ kind: "sleep", payload: { steps: 3, step_ms: 20, fail_at: 1, note: "x".repeat(400) }, max_attempts: 1 })).id);
    ids.push((await submit({ kind: "noop", payload: {}, queue, delay_s: 600 })).id);
    ids.push((await submit({ kind: "sleep", payload: { steps: 100, step_ms: 300 } })).id);
    try {
      const page = await newPage(t, { viewport: { width, height: 900 } });
      await page.goto(`${BASE}/`);
      await waitFor(async () => (await page.locator("#tasks tbody tr").count()) >= 3, "rows");
      await waitFor(async () => (await page.locator(`#tasks tr[data-id="${ids[0]}"]`).getAttribute("data-state")) === "failed", "the failed row", 10000);
      const main = await page.locator("main").evaluate((m) => m.getBoundingClientRect().width);
      assert(main >= Math.min(width - 1, 1400), `the content is ${main} px wide in a ${width} px window`);
      // the longest age the page writes, in the first row, measured at once (before a refresh)
      await page.evaluate(() => { document.querySelector("#tasks tbody tr td.age").textContent = "23 h 59 min ago"; });
      for (const sel of ["#tasks tbody td.age", "#tasks tbody td.att", "#tasks tbody td.st", "#tasks tbody td.id", "#tasks thead th"]) {
        for (const c of await measureCells(page, sel)) {
          if (!c.text) continue;
          assert(c.lines === 1 && c.contentHeight < 1.5 * c.line, `${sel} "${c.text}" takes ${c.lines} lines (${c.contentHeight} px for a ${c.line} px line)`);
          assert(!c.outside, `${sel} "${c.text}" is past the table's right edge (cut off)`);
        }
      }
      for (const sel of ["#tasks tbody td.att", "#tasks tbody td.age", "#tasks tbody td.st", "#tasks thead th"]) {
        for (const c of await measureCells(page, sel)) assert(!c.clipped, `${sel} "${c.text}" is cut`);
      }
      const wrap = await page.locator("#tasks").evaluate((tbl) => { const w = tbl.closest(".table-wrap"); return { sw: w.scrollWidth, cw: w.clientWidth }; });
      assert(wrap.sw <= wrap.cw + 1, `the task table scrolls sideways (${wrap.sw} > ${wrap.cw})`);
      await noHorizontalScroll(page, `overview at ${width} px`);
      // the long queue name is cut with …, whole in the title
      const q = page.locator(`#tasks tr[data-id="${ids[1]}"] td.queue`);
      assert((await q.getAttribute("title")) === queue, "the queue cell has no title with the whole name");
    } finally {
      await Promise.all(ids.map((id) => apiCall("DELETE", `/api/tasks/${id}`)));
    }
  });
}

test("phone width (390 px) renders without horizontal scroll", async (t) => {
  const long = "x".repeat(300);
  const task = await submit({ kind: "sleep", payload: { steps: 2, step_ms: 10, fail_at: 1, note: long, nested: { url: "https://example.com/" + long } }, max_attempts: 1 });
  const page = await newPage(t, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await page.goto(`${BASE}/#new-task`);
  await waitFor(async () => (await page.locator("#tasks tbody tr").count()) > 0, "rows");
  await noHorizontalScroll(page, "overview");
  assert(!(await page.locator("#tasks tbody td.owner").first().isVisible()), "the owner column is shown on a phone");
  const p2 = await openTask(t, task.id, page);
  await waitState(p2, "failed", 10000);
  await noHorizontalScroll(p2, "task page");
  // the bar is visible and wide enough to read
  const box = await p2.locator("#t-progress [role=progressbar]").boundingBox();
  assert(box && box.width > 200, `progress bar is ${box && box.width}px wide`);
});

test("keyboard: the submit form and the task link are reachable with Tab", async (t) => {
  const page = await newPage(t);
  await page.goto(`${BASE}/`);
  await waitFor(async () => (await page.locator("#tasks tbody tr").count()) > 0, "rows");
  // Tab from the top reaches the "New task" summary; Enter opens it (past one link and one
  // Pause button per queue: after the integration suite the queue table has hundreds, so the
  // bound is counted, twice over: a refresh of the table that replaces the focused row sends
  // the focus back to the top)
  const before = await page.evaluate(() => {
    const all = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]')];
    return all.indexOf(document.querySelector("#submit-details > summary"));
  });
  assert(before >= 0, "no New task toggle on the page");
  let found = false;
  for (let i = 0; i < 2 * before + 40 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement && document.activeElement.matches("#submit-details > summary"));
  }
  assert(found, "the New task toggle is not reachable with Tab");
  await page.keyboard.press("Enter");
  assert(await page.locator("#submit-details").evaluate((d) => d.open), "Enter does not open the form");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert(outline !== "none", "the focused control has no visible outline");
  // one Tab at a time past every queue's link: after the integration suite there are hundreds
}, { timeout: 90000 });

test("keyboard: a focused queue link keeps the focus across refreshes of the queue table", async (t) => {
  const queue = `focus-${uniq()}`;
  const task = await submit({ kind: "noop", payload: {}, queue, delay_s: 600 });
  try {
    const page = await newPage(t);
    await page.goto(`${BASE}/`);
    const link = page.locator(`#queues tr[data-queue="${queue}"] td.q a`);
    await waitFor(async () => (await link.count()) === 1, "the queue's row");
    await link.focus();
    await page.evaluate(() => { window.__focused = document.activeElement; });
    // the queue table refreshes every 3 s: two refreshes later the focus is where it was
    // (a table drawn anew would drop it, and Tab would start again from its first link)
    await sleep(7000);
    assert(await page.evaluate(() => document.activeElement === window.__focused && window.__focused.isConnected), "the focus was lost when the queue table refreshed");
  } finally {
    await apiCall("DELETE", `/api/tasks/${task.id}`);
  }
});

test("queues: delayed and blocked tasks are counted apart and do not make the longest wait; a queue no worker serves says so", async (t) => {
  const queue = `unserved-${uniq()}`;  // no worker serves it
  const ids = [];
  try {
    const delayed = await submit({ kind: "noop", payload: {}, queue, delay_s: 3600 });
    ids.push(delayed.id);
    // blocked: it waits for the delayed task
    ids.push((await submit({ kind: "noop", payload: {}, queue, after: [delayed.id] })).id);
    const page = await newPage(t);
    await page.goto(`${BASE}/`);
    const row = page.locator(`#queues tr[data-queue="${queue}"]`);
    const cell = (label) => row.locator(`td[data-label="${label}"]`).textContent();
    await waitFor(async () => (await row.count()) === 1 && (await cell("queued")) === "2", "the queue's row with 2 queued");
    assert((await cell("delayed")) === "1" && (await cell("blocked")) === "1", `delayed ${await cell("delayed")}, blocked ${await cell("blocked")}`);
    // nothing is runnable: nothing has waited for a worker yet
    assert((await cell("longest wait")) === "—", `the longest wait counts delayed or blocked tasks: ${await cell("longest wait")}`);
    assert((await cell("workers")) === "0", `workers ${await cell("workers")}`);
    const warn = row.locator(".q-warn");
    assert(await warn.isVisible(), "no warning beside a queue no worker serves");
    assert((await warn.getAttribute("title")).startsWith(`no live worker serves queue ${queue}`), `the warning's title: ${await warn.getAttribute("title")}`);
    // a runnable task: its wait counts from its submit
    const runnable = await submit({ kind: "noop", payload: {}, queue });
    ids.push(runnable.id);
    await waitFor(async () => (await cell("queued")) === "3" && /^(<1|\d+) s$/.test(await cell("longest wait")), "a longest wait in seconds", 10000);
    // the queue the stack's worker serves has no warning
    const served = page.locator('#queues tr[data-queue="default"] .q-warn');
    if (await served.count()) assert(!(await served.isVisible()), "a warning beside the queue the worker serves");
    // the task page of the queued task says why it waits
    const tp = await openTask(t, runnable.id);
    await waitFor(async () => await tp.locator("#t-warning").isVisible(), "the task page's warning");
    assert((await tp.locator("#t-warning").textContent()).includes(`no live worker serves queue ${queue}`), "the task page's warning text");
  } finally {
    for (const id of ids.reverse()) await apiCall("DELETE", `/api/tasks/${id}`);
  }
});

test("flow control: a queue's Pause button pauses it and Resume resumes it; a task's Hold button holds it and Release queues it again", async (t) => {
  const queue = `flow-${uniq()}`;  // no worker serves it
  let id = null;
  try {
    id = (await submit({ kind: "noop", payload: {}, queue })).id;
    const page = await newPage(t);
    await page.goto(`${BASE}/`);
    const row = page.locator(`#queues tr[data-queue="${queue}"]`);
    const button = row.locator('td[data-label="pause"] button');
    await waitFor(async () => (await row.count()) === 1 && (await button.textContent()) === "Pause", "the queue's Pause button");
    await button.click();
    await waitFor(async () => (await button.textContent()) === "Resume" && await row.locator(".q-paused").isVisible(), "the queue shown paused");
    const paused = await apiCall("GET", "/api/queues");
    assert(paused.data.queues.find((q) => q.queue === queue).paused === true, "GET /api/queues does not say paused");
    await button.click();
    await waitFor(async () => (await button.textContent()) === "Pause" && !(await row.locator(".q-paused").isVisible()), "the queue shown resumed");
    const tp = await openTask(t, id);
    const hold = tp.locator("#btn-hold");
    await waitFor(async () => (await hold.textContent()) === "Hold" && await hold.isEnabled(), "the Hold button");
    await hold.click();
    await waitFor(async () => (await hold.textContent()) === "Release" && (await tp.locator("#t-state").textContent()).includes("held"), "the task shown held");
    await hold.click();
    await waitFor(async () => (await hold.textContent()) === "Hold" && (await tp.locator("#t-state").textContent()).includes("queued"), "the task shown queued again");
  } finally {
    await apiCall("POST", `/api/queues/${queue}/resume`);
    if (id) await apiCall("DELETE", `/api/tasks/${id}`);
  }
});

test("queues: an upstream host that asked to wait shows as a line under the queue table, and goes", async (t) => {
  // the answer of GET /api/queues as the stack gives it, with a throttled host added while
  // `held` (tests/integration/test_http_throttle.py makes real ones)
  let held = true;
  const until = new Date(Date.now() + 90000).toISOString();
  const message = "upstream api.example.com asked to wait until 12:00:03Z (429 Retry-After: 90)";
  const ctx = await newContext(t);
  await ctx.route("**/api/queues", async (route) => {
    const resp = await route.fetch();
    const data = await resp.json();
    data.throttled = held ? [{ host: "api.example.com", until, seconds_left: 89.6, reason: "429 Retry-After: 90", waiting: 12, message }] : [];
    await route.fulfill({ response: resp, json: data });
  });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/`);
  const line = page.locator("#throttles li");
  await waitFor(async () => (await line.count()) === 1 && await line.isVisible(), "the throttled host's line");
  const text = await line.textContent();
  assert(/^api\.example\.com throttled until .+ \(1 min left\) · 12 tasks wait · 429 Retry-After: 90$/.test(text), `the line: ${text}`);
  assert((await line.getAttribute("title")) === message, `its title: ${await line.getAttribute("title")}`);
  await noHorizontalScroll(page, "the throttled host's line");
  held = false;
  await waitFor(async () => !(await page.locator("#throttles").isVisible()), "the list hidden once the throttle is over", 10000);
});

// ---- embedding: the client, <taskq-progress>, view tokens, the example app (embed.mjs) ----
const finishers = [];
await registerEmbedTests({ test, assert, Failure, waitFor, sleep, apiCall, submit, newContext, noHorizontalScroll, wordsOnly, BASE, TOKEN, AUTH, DEV, SHOTS, TOP, HERE, ARTIFACTS, onFinish: (fn) => finishers.push(fn) });
// ---- streamed output (output.mjs) ----
await registerOutputTests({ test, assert, Failure, waitFor, sleep, apiCall, submit, newContext, BASE, TOKEN, AUTH, DEV, TOP, onFinish: (fn) => finishers.push(fn) });

// ---- the console: fleet, queues, search, bulk actions, schedules, limits, breakers ----------
await registerConsoleTests({ test, assert, Failure, waitFor, sleep, apiCall, submit, newContext, noHorizontalScroll, BASE, AUTH, DEV, SHOTS, TOP });

if (DEV) {
  // the daemon comes back with the auth the stack has (./dev does not remember TASKQ_AUTH)
  const env = AUTH ? { ...process.env, TASKQ_AUTH: "on" } : process.env;
  const restart = (name) => new Promise((resolve, reject) => {
    execFile(DEV, ["daemon", "restart", name], { env, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Failure(`./dev daemon restart ${name}: ${err.message} ${stderr}`)); else resolve();
    });
  });
  for (const name of ["fcgi", "nginx"]) {
    test(`the page recovers after ${name === "fcgi" ? "taskq-fcgi" : "nginx"} is restarted`, async (t) => {
      const task = await submit({ kind: "sleep", payload: { steps: 40, step_ms: 200 } });
      const page = await openTask(t, task.id);
      await waitState(page, "running", 10000);
      await restart(name);
      await waitState(page, "succeeded", 30000);
      await waitFor(async () => (await page.locator("#live").getAttribute("data-state")) === "ended", "ended", 5000);
      assert((await progressOf(page)) === 100, "the bar is not at 100");
      if (AUTH) {
        const anon = await apiCall("GET", "/api/tasks?limit=1", undefined, "");
        assert(anon.status === 401, `after the restart a request without a token answered ${anon.status}`);
      }
    }, { timeout: 60000 });
  }
} else {
  for (const name of ["taskq-fcgi", "nginx"]) test(`the page recovers after ${name} is restarted`, null, { skip: "TASKQ_DEV is not set" });
}

// ---- run ---------------------------------------------------------------------------------
async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  let passed = 0;
  let failed = 0;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  } catch (err) {
    console.log(`FAIL launch  ${err.message.split("\n")[0]}`);
    console.log("browser: 0 passed, 1 failed");
    process.exit(1);
  }
  const width = Math.max(...tests.map((x) => x.name.length));
  for (const tc of tests) {
    if (FILTERS.length && !FILTERS.some((f) => tc.name.includes(f))) continue;
    const name = tc.name.padEnd(width);
    if (tc.skip) { console.log(`skip ${name}  ${tc.skip}`); continue; }
    const t = { contexts: [], pages: [], pageErrors: [] };
    const t0 = Date.now();
    let timer;
    try {
      await Promise.race([
        tc.fn(t),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Failure(`timed out after ${tc.timeout / 1000} s`)), tc.timeout); }),
      ]);
      if (t.pageErrors.length) throw new Failure(`uncaught error in the page: ${t.pageErrors[0]}`);
      passed++;
      console.log(`ok   ${name}  ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    } catch (err) {
      failed++;
      let where = "";
      const page = t.pages.at(-1);
      if (page && !page.isClosed()) {
        const file = path.join(ARTIFACTS, `${tc.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}.png`);
        try { await page.screenshot({ path: file, timeout: 3000 }); where = ` (screenshot ${file})`; } catch { /* page gone */ }
      }
      const reason = err instanceof Failure ? err.message : (err && err.stack ? err.stack.split("\n").slice(0, 2).join(" ") : String(err));
      console.log(`FAIL ${name}  ${reason.replace(/\s+/g, " ")}${where}`);
    } finally {
      clearTimeout(timer);
      await Promise.all(t.contexts.map((c) => c.close().catch(() => {})));
    }
  }
  await browser.close().catch(() => {});
  for (const fn of finishers) await fn();
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
