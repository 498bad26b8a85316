// tests/browser/output.mjs — streamed output in headless Chromium: <taskq-progress output>
// (client/taskq-output.js) following an http task that relays a streaming upstream, the local
// stand-in for an LLM API (tests/integration/programs/llm_stub.py, started here). run.mjs
// calls registerOutputTests(h) with its harness.
import { spawn, execFile } from "node:child_process";
import path from "node:path";

// the latency targets hold on a normal build; ASan slows every step of the path several times
const ASAN = /asan/.test(process.env.TASKQ_BUILD || "");

export async function registerOutputTests(h) {
  const { test, assert, Failure, waitFor, sleep, apiCall, submit, newContext, BASE, AUTH, DEV, TOP, onFinish } = h;

  // the stand-in, on 127.0.0.1 (the test stack's worker may reach it): its port
  let stub = null;
  const stubPort = () => stub ? stub.port : new Promise((resolve, reject) => {
    const p = spawn("python3", [path.join(TOP, "tests/integration/programs/llm_stub.py"), "0"], { stdio: ["ignore", "pipe", "inherit"] });
    p.stdout.once("data", (b) => { stub = { proc: p, port: Number(String(b).trim()) }; resolve(stub.port); });
    p.once("error", reject);
  });
  onFinish(() => { if (stub) stub.proc.kill(); });

  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>output test</title>
<script type="module" src="/client/taskq-progress.js"></script></head><body></body></html>`;
  // RECORD — every chunk the element hands out, with its arrival (Unix ms, sub-ms precise)
  const RECORD = () => {
    window.__chunks = [];
    document.addEventListener("taskq-output", (ev) => window.__chunks.push({ ...ev.detail.chunk, arrived: performance.timeOrigin + performance.now() }));
  };

  // a page with one <taskq-progress output="llm"> for an http task streaming tokens from the
  // stand-in (query: tokens, delay_ms, stamp)
  async function streamingElement(t, query) {
    const port = await stubPort();
    const ctx = await newContext(t);
    await ctx.route(`${BASE}/__tests__/**`, (route) => route.fulfill({ status: 200, contentType: "text/html", body: page }));
    await ctx.addInitScript(RECORD);
    const p = await ctx.newPage();
    await p.goto(`${BASE}/__tests__/page.html`);
    await p.waitForFunction(() => customElements.get("taskq-progress"));
    const task = await submit({ kind: "http", payload: { method: "POST", url: `http://127.0.0.1:${port}/v1/chat/completions?${query}`, json: { stream: true }, stream: true, timeout_s: 120 } });
    const attrs = { output: "llm", task: task.id };
    if (task.view_token) attrs["view-token"] = task.view_token;
    else if (AUTH) await ctx.addCookies([{ name: "taskq_token", value: h.TOKEN, domain: new URL(BASE).hostname, path: "/api" }]);
    await p.evaluate((attrs) => {
      const el = document.createElement("taskq-progress");
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      document.body.append(el);
    }, attrs);
    return { task, page: p };
  }
  const chunks = (p) => p.evaluate(() => window.__chunks);
  const outputText = (p) => p.evaluate(() => document.querySelector("taskq-progress").shadowRoot.querySelector(".output").textContent);
  const state = async (id) => (await apiCall("GET", `/api/tasks/${id}`)).data.state;
  const seqsAreExactly = (list, n, what) => {
    const seqs = list.map((c) => c.seq);
    const bad = seqs.findIndex((s, i) => s !== i + 1);
    assert(bad < 0 && seqs.length === n, `${what}: ${seqs.length} chunks of ${n}, first wrong at #${bad + 1}: ${seqs.slice(Math.max(0, bad - 3), bad + 4)}`);
  };
  const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.max(0, Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1))]; };

  test("output: an http task relaying a streamed upstream shows its first chunk before the upstream has finished", async (t) => {
    const { task, page: p } = await streamingElement(t, "tokens=10&delay_ms=300");
    const text = await waitFor(async () => (await outputText(p)) || null, "the first token in the element", 15000, 10);
    assert(await state(task.id) === "running", "the task finished before its first chunk showed");
    assert(text.startsWith("The ") && text.length < "The request looks fine: amounts match the purchase order, the".length, `shown: "${text}"`);
    await waitFor(async () => (await chunks(p)).length === 10, "all 10 tokens", 20000);
    assert((await outputText(p)).trim() === "The request looks fine: amounts match the purchase order, the", `final text "${await outputText(p)}"`);
    seqsAreExactly(await chunks(p), 10, "tokens");
  });

  test("output: write → EventSource latency over 200 chunks (p50 ≤ 10 ms, p99 ≤ 50 ms on a normal build)", async (t) => {
    const { task, page: p } = await streamingElement(t, "tokens=200&delay_ms=15&stamp=1&start_ms=1500");
    await waitFor(async () => (await chunks(p)).length >= 200, "200 chunks", 60000, 100);
    const got = await chunks(p);
    seqsAreExactly(got, 200, "chunks");
    const lat = got.map((c) => c.arrived - Number(BigInt(JSON.parse(c.data).choices[0].delta.content.split(" ")[1]) / 1000n) / 1000);
    const p50 = pct(lat, 50), p99 = pct(lat, 99);
    const note = `write → EventSource p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms (200 chunks${ASAN ? ", ASan build" : ""})`;
    console.log(`figure: output stream in chromium: ${note}`);
    assert(ASAN ? p50 <= 50 && p99 <= 250 : p50 <= 10 && p99 <= 50, note);
    await waitFor(async () => await state(task.id) === "succeeded", "succeeded", 15000);
  }, { timeout: 90000 });

  test("output: a reconnect mid-stream (nginx restarts) loses and repeats nothing", async (t) => {
    const { task, page: p } = await streamingElement(t, "tokens=150&delay_ms=30&stamp=1&start_ms=1000");
    await waitFor(async () => (await chunks(p)).length >= 30, "30 chunks", 20000);
    await new Promise((resolve, reject) => execFile(DEV, ["daemon", "restart", "nginx"], { env: process.env, timeout: 60000 },
      (err, _o, stderr) => (err ? reject(new Failure(`./dev daemon restart nginx: ${err.message} ${stderr}`)) : resolve())));
    await waitFor(async () => await state(task.id) === "succeeded", "succeeded", 60000, 200);
    await waitFor(async () => (await chunks(p)).length >= 150, "150 chunks after the restart", 20000);
    await sleep(500);
    seqsAreExactly(await chunks(p), 150, "after the reconnect");
  }, { timeout: 120000, skip: DEV ? null : "needs TASKQ_DEV (./dev daemon restart nginx)" });

  test("output: the dashboard's task page shows an http task's streamed output in its Output card", async (t) => {
    const port = await stubPort();
    const task = await submit({ kind: "http", payload: { url: `http://127.0.0.1:${port}/plain?tokens=8&delay_ms=200`, stream: true } });
    const ctx = await newContext(t);
    const p = await ctx.newPage();
    await p.goto(`${BASE}/task.html?id=${task.id}`);
    const card = p.locator("#output-card");
    await waitFor(async () => !(await card.isHidden()) && /^The /.test(await p.locator("#t-output").textContent()), "the Output card with the first tokens", 15000);
    await waitFor(async () => (await p.locator("#t-state").getAttribute("data-state")) === "succeeded", "succeeded", 20000);
    await waitFor(async () => (await p.locator("#t-output").textContent()) === "The request looks fine: amounts match the purchase ", "the whole output", 5000);
    assert(await p.locator("#output-note").isHidden(), "a cut reported for a short output");
  });
}
