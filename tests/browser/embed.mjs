// tests/browser/embed.mjs — browser tests of embedding taskq: the client's unit tests
// (client.test.js, run inside the page), the <taskq-progress> element, view tokens, and the
// example app (examples/approve, started with ./dev example) in several tabs at once.
// run.mjs calls registerEmbedTests(h) with its harness (test, assert, waitFor, apiCall, …).
//
// Auth: with view tokens on the stack (a submit answers with "view_token") the elements get
// one, as an application's page would; with auth on and no view tokens, the element tests
// read with the taskq_token cookie (the admin's token) and the example tests are skipped.

import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { TESTS as CLIENT_TESTS } from "./client.test.js";

export async function registerEmbedTests(h) {
  const { test, assert, Failure, waitFor, sleep, apiCall, submit, newContext, noHorizontalScroll, wordsOnly, BASE, TOKEN, AUTH, DEV, SHOTS, TOP, HERE, ARTIFACTS, onFinish } = h;

  const probe = await apiCall("POST", "/api/tasks", { kind: "noop", payload: {} });
  const VIEW_TOKENS = !!(probe.data && typeof probe.data.view_token === "string");
  const VT_SKIP = VIEW_TOKENS ? null : "this stack's submits answer without a view_token";

  const run = (args, timeout = 60000) => new Promise((resolve, reject) => {
    const env = AUTH ? { ...process.env, TASKQ_AUTH: "on" } : process.env;
    execFile(DEV, args, { env, timeout }, (err, stdout, stderr) => {
      if (err) reject(new Failure(`./dev ${args.join(" ")}: ${err.message.split("\n")[0]} ${String(stderr).trim().split("\n").slice(-3).join(" ")}`));
      else resolve(String(stdout).trim());
    });
  });
  const psql = (sql) => run(["psql", "-XAtqc", sql], 30000);

  // ---- pages on the stack's origin: /__tests__/* are served from here -------------------
  const blank = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>embed test</title>
<script type="module" src="/client/taskq-progress.js"></script></head><body></body></html>`;
  async function testContext(t, opts = {}) {
    const ctx = await newContext(t, opts);
    await ctx.route(`${BASE}/__tests__/**`, (route) => {
      const name = new URL(route.request().url()).pathname.replace("/__tests__/", "");
      if (name === "page.html") return route.fulfill({ status: 200, contentType: "text/html", body: blank });
      if (name === "client.test.js") return route.fulfill({ status: 200, contentType: "application/javascript", body: readFileSync(path.join(HERE, name)) });
      return route.fulfill({ status: 404, body: "" });
    });
    await ctx.addInitScript(RECORD_ELEMENT);
    return ctx;
  }

  // RECORD_ELEMENT — every element event, with what the element showed when it fired.
  const RECORD_ELEMENT = () => {
    window.__el = [];
    const note = (ev) => {
      const el = ev.target;
      const root = el.shadowRoot;
      const bar = root && root.querySelector("[role=progressbar]");
      const d = ev.detail || {};
      window.__el.push({
        type: ev.type, id: el.getAttribute("task"), el: el.id || null, progress: d.task ? d.task.progress : null, state: d.task ? d.task.state : null,
        error: d.error ? { status: d.error.status, code: d.error.code } : null,
        now: bar && bar.getAttribute("aria-valuenow"), text: bar && bar.getAttribute("aria-valuetext"),
        live: root && root.querySelector("[aria-live]").textContent, hostState: el.dataset.state, at: performance.now(),
      });
    };
    for (const type of ["taskq-update", "taskq-done", "taskq-error"]) document.addEventListener(type, note);
    // the connection states the elements went through ("live/long-poll"), in order
    window.__modes = [];
    new MutationObserver((muts) => {
      for (const m of muts) {
        if (m.target.localName !== "taskq-progress") continue;
        const s = `${m.target.dataset.live}/${m.target.dataset.mode || ""}`;
        if (window.__modes.at(-1) !== s) window.__modes.push(s);
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-live", "data-mode"] });
  };
  const modes = (page) => page.evaluate(() => window.__modes);

  // credentials(ctx, id, {cancel}) — the element's attributes for task id: a view token when
  // the stack has them; else, with auth on, the admin's token as the taskq_token cookie.
  async function credentials(ctx, id, { cancel = false } = {}) {
    if (VIEW_TOKENS) {
      const r = await apiCall("POST", `/api/tasks/${id}/view_token`, { ttl_s: 600, cancel });
      assert(r.status === 200 && r.data.view_token, `minting a view token answered ${r.status}`);
      return { "view-token": r.data.view_token };
    }
    if (AUTH) await ctx.addCookies([{ name: "taskq_token", value: TOKEN, domain: new URL(BASE).hostname, path: "/api" }]);
    return {};
  }

  async function elementPage(t, ctx, elements) {
    const page = await ctx.newPage();
    await page.goto(`${BASE}/__tests__/page.html`);
    await page.evaluate((list) => {
      for (const attrs of list) {
        const el = document.createElement("taskq-progress");
        for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v === true ? "" : v);
        document.body.append(el);
      }
    }, elements);
    return page;
  }
  const events = (page) => page.evaluate(() => window.__el);
  const shadow = (page, sel, i = 0) => page.evaluate(([sel, i]) => {
    const n = document.querySelectorAll("taskq-progress")[i].shadowRoot.querySelector(sel);
    return n && { text: n.textContent, hidden: n.hidden, attrs: Object.fromEntries([...n.attributes].map((a) => [a.name, a.value])) };
  }, [sel, i]);
  const host = (page, name, i = 0) => page.evaluate(([name, i]) => document.querySelectorAll("taskq-progress")[i].getAttribute(name), [name, i]);

  // ---- the client: served as JavaScript, and its unit tests ------------------------------
  test("client: taskq-client.js and taskq-progress.js are served as JavaScript modules", async () => {
    for (const f of ["taskq-client.js", "taskq-progress.js"]) {
      const r = await fetch(`${BASE}/client/${f}`);
      const type = r.headers.get("content-type") || "";
      assert(r.status === 200 && /^(application|text)\/javascript/.test(type), `${f}: ${r.status} ${type}`);
    }
  });

  for (const [name] of CLIENT_TESTS) {
    test(`client unit: ${name}`, async (t) => {
      const ctx = await testContext(t);
      const page = await ctx.newPage();
      await page.goto(`${BASE}/__tests__/page.html`);
      const res = await page.evaluate((n) => import("/__tests__/client.test.js").then((m) => m.run(n)), name);
      assert(res.ok, res.error);
    }, { timeout: 20000 });
  }

  // ---- the element ------------------------------------------------------------------------
  test("element: bar, percent, message, state and elapsed time follow the task; aria attributes in step", async (t) => {
    const task = await submit({ kind: "sleep", payload: { steps: 8, step_ms: 250 } });
    const ctx = await testContext(t);
    const attrs = await credentials(ctx, task.id);
    const page = await elementPage(t, ctx, [{ task: task.id, label: "Report progress", ...attrs }]);
    await waitFor(async () => (await events(page)).some((e) => e.type === "taskq-done"), "taskq-done", 15000);
    const evs = await events(page);
    const ups = evs.filter((e) => e.type === "taskq-update");
    assert(ups.some((e) => e.progress > 0 && e.progress < 100), `no intermediate progress: ${ups.map((e) => e.progress)}`);
    for (let i = 1; i < ups.length; i++) assert(ups[i].progress >= ups[i - 1].progress, `progress went back: ${ups.map((e) => e.progress)}`);
    for (const e of ups) {
      assert(e.now === String(e.progress), `aria-valuenow ${e.now} while the task is at ${e.progress}`);
      assert(e.text.startsWith(`${e.progress}%`), `aria-valuetext "${e.text}" at ${e.progress}`);
      assert(e.hostState === e.state, `data-state ${e.hostState} for ${e.state}`);
    }
    const bar = await shadow(page, "[role=progressbar]");
    assert(bar.attrs["aria-valuemin"] === "0" && bar.attrs["aria-valuemax"] === "100" && bar.attrs["aria-valuenow"] === "100", JSON.stringify(bar.attrs));
    assert(bar.attrs["aria-label"] === "Report progress", `aria-label ${bar.attrs["aria-label"]}`);
    assert(/^100%, Done: step 8\/8$/.test(bar.attrs["aria-valuetext"]), `final aria-valuetext "${bar.attrs["aria-valuetext"]}"`);
    const live = await shadow(page, "[aria-live=polite]");
    assert(live.attrs.role === "status" && /^Done/.test(live.text), `live region: ${JSON.stringify(live)}`);
    assert(new Set(ups.map((e) => e.live)).size >= 3, `the live region said too little: ${[...new Set(ups.map((e) => e.live))].join(" | ")}`);
    assert((await shadow(page, ".pct")).text === "100%" && (await shadow(page, ".message")).text === "step 8/8", "percent or message");
    assert(/^0:0[1-9]$/.test((await shadow(page, ".elapsed")).text), `elapsed ${(await shadow(page, ".elapsed")).text}`);
    assert((await host(page, "data-state")) === "succeeded" && (await host(page, "data-live")) === "ended", "host attributes");
    assert((await shadow(page, "button")).hidden, "a Cancel button without the cancel attribute");
  });

  test("element: themable with CSS custom properties", async (t) => {
    const task = await submit({ kind: "sleep", payload: { steps: 40, step_ms: 100 } });
    try {
      const ctx = await testContext(t);
      const page = await elementPage(t, ctx, [{ task: task.id, ...(await credentials(ctx, task.id)), style: "--taskq-bar-color: rgb(1, 2, 3); --taskq-track-color: rgb(4, 5, 6); --taskq-radius: 3px; --taskq-font: italic 13px serif" }]);
      await waitFor(async () => (await host(page, "data-state")) === "running", "running", 8000);
      const s = await page.evaluate(() => {
        const r = document.querySelector("taskq-progress").shadowRoot;
        const cs = (sel) => getComputedStyle(r.querySelector(sel));
        return { fill: cs(".fill").backgroundColor, track: cs(".track").backgroundColor, radius: cs(".track").borderTopLeftRadius, font: getComputedStyle(document.querySelector("taskq-progress")).fontStyle };
      });
      assert(s.fill === "rgb(1, 2, 3)" && s.track === "rgb(4, 5, 6)" && s.radius === "3px" && s.font === "italic", JSON.stringify(s));
    } finally {
      await apiCall("DELETE", `/api/tasks/${task.id}`);
    }
  });

  test("element: several elements of one task share one stream; removing them closes it", async (t) => {
    const task = await submit({ kind: "sleep", payload: { steps: 30, step_ms: 200 } });
    try {
      const ctx = await testContext(t);
      const attrs = await credentials(ctx, task.id);
      const page = await ctx.newPage();
      const streams = [];
      page.on("request", (r) => { if (r.url().includes(`/api/tasks/${task.id}/events`)) streams.push(r); });
      await page.goto(`${BASE}/__tests__/page.html`);
      await page.evaluate(([id, attrs]) => {
        for (let i = 0; i < 3; i++) {
          const el = document.createElement("taskq-progress");
          el.setAttribute("task", id);
          for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
          document.body.append(el);
        }
      }, [task.id, attrs]);
      await waitFor(async () => (await host(page, "data-state", 2)) === "running" && Number((await shadow(page, ".pct", 2)).text.slice(0, -1)) > 0, "all three running", 8000);
      assert(streams.length === 1, `${streams.length} streams for one task`);
      const pcts = await Promise.all([0, 1, 2].map((i) => host(page, "data-live", i)));
      assert(pcts.every((s) => s === "live"), `live states ${pcts}`);
      await page.evaluate(() => { for (const el of document.querySelectorAll("taskq-progress")) el.remove(); });
      await waitFor(async () => streams[0].failure() !== null || (await streams[0].response().catch(() => null)) !== null, "the stream to end", 5000).catch(() => {});
      const after = streams.length;
      const gets = [];
      page.on("request", (r) => { if (r.url().includes(`/api/tasks/${task.id}`)) gets.push(r.url()); });
      await sleep(2500);
      assert(streams.length === after && gets.length === 0, `requests after the elements were removed: ${gets.join(" ")}`);
    } finally {
      await apiCall("DELETE", `/api/tasks/${task.id}`);
    }
  });

  test("element: follows the new task when its task attribute changes; shows the error for an unknown task", async (t) => {
    const a = await submit({ kind: "sleep", payload: { steps: 3, step_ms: 100 } });
    const b = await submit({ kind: "sleep", payload: { steps: 4, step_ms: 100 } });
    const ctx = await testContext(t);
    const page = await elementPage(t, ctx, [{ task: a.id, ...(await credentials(ctx, a.id)) }]);
    await waitFor(async () => (await host(page, "data-state")) === "succeeded", "A succeeded", 10000);
    const attrsB = await credentials(ctx, b.id);
    await page.evaluate(([id, attrs]) => {
      const el = document.querySelector("taskq-progress");
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      el.setAttribute("task", id);
    }, [b.id, attrsB]);
    await waitFor(async () => (await events(page)).some((e) => e.type === "taskq-done" && e.id === b.id), "B's taskq-done", 10000);
    assert((await shadow(page, ".message")).text === "step 4/4", "B's message is not shown");
    if (!VIEW_TOKENS) {
      // an id no task has: 404 not_found, shown and fired once (with a view token it is a 403)
      await page.evaluate(() => document.querySelector("taskq-progress").setAttribute("task", "00000000-0000-7000-8000-000000000000"));
      await waitFor(async () => (await events(page)).some((e) => e.type === "taskq-error"), "taskq-error", 8000);
      const err = (await events(page)).find((e) => e.type === "taskq-error").error;
      assert(err.status === 404 && err.code === "not_found", JSON.stringify(err));
      const shown = await shadow(page, ".error");
      assert((await host(page, "data-state")) === "error" && /^No such task/.test(shown.text), `the error is not shown: ${shown.text}`);
      wordsOnly(shown.text, "the element's error");
      assert(/HTTP 404 not_found/.test(shown.attrs.title), `the error's title: ${shown.attrs.title}`);
    }
  });

  test("element: Cancel stops the task", async (t) => {
    const task = await submit({ kind: "sleep", payload: { steps: 50, step_ms: 200 } });
    const ctx = await testContext(t);
    const page = await elementPage(t, ctx, [{ task: task.id, cancel: true, ...(await credentials(ctx, task.id, { cancel: true })) }]);
    await waitFor(async () => (await host(page, "data-state")) === "running", "running", 8000);
    const button = page.locator("taskq-progress").locator("button[part=cancel]");
    assert(await button.isVisible(), "no Cancel button");
    assert((await button.textContent()) === "Cancel", "the button has no name");
    await button.click();
    await waitFor(async () => (await host(page, "data-state")) === "cancelled", "cancelled", 10000);
    assert(!(await button.isVisible()), "Cancel is still offered");
    assert((await events(page)).filter((e) => e.type === "taskq-done").length === 1, "taskq-done not fired once");
  }, { skip: AUTH && !VIEW_TOKENS ? "auth is on and the stack has no view tokens (a cookie cannot cancel)" : null });

  test("element: falls back to long-poll, then polling when the stream is refused; recovers after taskq-fcgi restarts", async (t) => {
    const task = await submit({ kind: "sleep", payload: { steps: 24, step_ms: 250 } });
    const ctx = await testContext(t);
    let refuseWait = false;
    let conditional = 0;
    await ctx.route("**/api/tasks/**", (route) => {
      const u = new URL(route.request().url());
      if (u.pathname.endsWith("/events")) return route.abort("connectionrefused");
      if (u.searchParams.has("wait") && refuseWait) return route.fulfill({ status: 400, contentType: "application/json", body: '{"error":{"code":"invalid_field","message":"bad value for query parameter \'wait\'"}}' });
      if (route.request().headers()["if-none-match"]) conditional++;
      return route.continue();
    });
    const attrs = await credentials(ctx, task.id);
    const page = await elementPage(t, ctx, [{ task: task.id, ...attrs }]);
    await waitFor(async () => (await modes(page)).includes("live/long-poll"), "live by long-poll", 8000);
    // a second page, where long-poll is refused too: ETag polling
    refuseWait = true;
    const page2 = await elementPage(t, ctx, [{ task: task.id, ...attrs }]);
    await waitFor(async () => (await modes(page2)).includes("live/polling"), "live by polling", 8000);
    assert(!(await modes(page2)).some((m) => m.endsWith("/stream")), `the second page streamed: ${await modes(page2)}`);
    if (DEV) await run(["daemon", "restart", "fcgi"]);
    for (const p of [page, page2]) {
      await waitFor(async () => (await host(p, "data-state")) === "succeeded", "succeeded after the restart", 30000);
      assert((await shadow(p, "[role=progressbar]")).attrs["aria-valuenow"] === "100", "not at 100");
      const ups = (await events(p)).filter((e) => e.type === "taskq-update").map((e) => e.progress);
      assert(ups.some((v) => v > 0 && v < 100), `no intermediate progress (${ups})`);
    }
    assert(conditional >= 2, `${conditional} conditional requests`);
  }, { timeout: 60000 });

  // ---- view tokens --------------------------------------------------------------------------
  test("view token: reads its own task only: not another task, the list, the queues, nor cancel", async (t) => {
    const a = await submit({ kind: "sleep", payload: { steps: 4, step_ms: 100 } });
    const b = await submit({ kind: "noop", payload: { secret: "b-only" }, delay_s: 600 });
    try {
      const ctx = await testContext(t, { token: "" });
      const tokA = (await apiCall("POST", `/api/tasks/${a.id}/view_token`, { ttl_s: 600 })).data.view_token;
      assert(/^tv_[A-Za-z0-9_-]+$/.test(tokA), `token ${tokA}`);
      const page = await elementPage(t, ctx, [{ task: a.id, "view-token": tokA }, { task: b.id, "view-token": tokA }]);
      const answers = await page.evaluate(async ([a, b, tok]) => {
        const get = async (p, init = {}) => { const r = await fetch(p, { ...init, headers: { Authorization: `Bearer ${tok}`, ...(init.headers || {}) } }); return [r.status, (await r.text()).slice(0, 300)]; };
        const ev = async (p) => { const c = new AbortController(); setTimeout(() => c.abort(), 3000); try { const r = await fetch(p, { signal: c.signal }); return [r.status, (await r.text()).slice(0, 300)]; } catch { return [0, "open"]; } };
        return {
          own: await get(`/api/tasks/${a}`), ownHistory: await get(`/api/tasks/${a}/history`),
          other: await get(`/api/tasks/${b}`), otherHistory: await get(`/api/tasks/${b}/history`),
          otherEvents: await ev(`/api/tasks/${b}/events?view_token=${tok}`), otherByQuery: await ev(`/api/tasks/${b}?view_token=${tok}`),
          list: await get("/api/tasks"), queues: await get("/api/queues"), stream: await get("/api/stream"),
          cancel: await get(`/api/tasks/${a}`, { method: "DELETE" }), retry: await get(`/api/tasks/${b}/retry`, { method: "POST" }),
        };
      }, [a.id, b.id, tokA]);
      assert(answers.own[0] === 200 && answers.ownHistory[0] === 200, `own task: ${answers.own[0]}, history ${answers.ownHistory[0]}`);
      for (const k of ["other", "otherHistory", "otherEvents", "otherByQuery", "list", "queues", "stream", "cancel", "retry"]) {
        assert(answers[k][0] === 403 && /"forbidden"/.test(answers[k][1]), `${k}: HTTP ${answers[k][0]} ${answers[k][1]}`);
        assert(!answers[k][1].includes("b-only"), `${k} leaked B's payload`);
      }
      await waitFor(async () => (await events(page)).some((e) => e.type === "taskq-error" && e.id === b.id), "B's element to report the error", 8000);
      const err = (await events(page)).find((e) => e.type === "taskq-error").error;
      assert(err.status === 403 && err.code === "forbidden", JSON.stringify(err));
      await waitFor(async () => (await host(page, "data-state", 0)) === "succeeded", "A's element to finish", 10000);
    } finally {
      await apiCall("DELETE", `/api/tasks/${b.id}`);
    }
  }, { skip: VT_SKIP || (!AUTH ? "auth is off on this stack" : null) });

  test("view token: the element's stream carries it in a cookie for the task's path, in no URL", async (t) => {
    const task = await submit({ kind: "sleep", payload: { steps: 50, step_ms: 200 } });
    try {
      const ctx = await testContext(t, { token: "" });
      const tok = (await apiCall("POST", `/api/tasks/${task.id}/view_token`, { ttl_s: 600 })).data.view_token;
      const page = await ctx.newPage();
      const requests = [];
      page.on("request", (r) => requests.push(r));
      await page.goto(`${BASE}/__tests__/page.html`);
      await page.evaluate(([id, tok]) => {
        const el = document.createElement("taskq-progress");
        el.setAttribute("task", id);
        el.setAttribute("view-token", tok);
        document.body.append(el);
      }, [task.id, tok]);
      await waitFor(async () => (await modes(page)).includes("live/stream") && (await host(page, "data-state")) === "running", "live by stream, running", 10000);
      const inUrl = requests.find((r) => r.url().includes(tok));
      assert(!inUrl, `a URL holds the token: ${inUrl && inUrl.url()}`);
      const stream = requests.find((r) => r.url().includes(`/api/tasks/${task.id}/events`));
      assert(stream, "no stream request");
      const cookie = (await stream.allHeaders()).cookie || "";
      assert(cookie.includes(`taskq_view=${tok}`), `the stream's cookies: ${cookie.slice(0, 60)}…`);
      const ck = (await ctx.cookies(`${BASE}/api/tasks/${task.id}/events`)).find((c) => c.name === "taskq_view");
      assert(ck && ck.path === `/api/tasks/${task.id}` && ck.sameSite === "Strict" && ck.secure === BASE.startsWith("https:")
        && ck.expires > Date.now() / 1000 + 500 && ck.expires < Date.now() / 1000 + 700, `cookie ${JSON.stringify(ck)}`);
    } finally {
      await apiCall("DELETE", `/api/tasks/${task.id}`);
    }
  }, { skip: VT_SKIP || (!AUTH ? "auth is off on this stack" : null) });

  test("view token: an expired, forged or malformed one is refused with 401 invalid_token", async (t) => {
    const task = await submit({ kind: "noop", payload: {}, delay_s: 600 });
    try {
      const expired = await psql(`SELECT taskq.view_token('${task.id}', interval '1 second')`);
      assert(/^tv_/.test(expired), `psql gave ${expired}`);
      const good = (await apiCall("POST", `/api/tasks/${task.id}/view_token`, { ttl_s: 600 })).data.view_token;
      const forged = good.slice(0, -4) + (good.endsWith("AAAA") ? "BBBB" : "AAAA");
      await sleep(2100);
      const ctx = await testContext(t, { token: "" });
      const page = await elementPage(t, ctx, [{ task: task.id, "view-token": expired }]);
      for (const tok of [expired, forged, "tv_not-a-token"]) {
        const r = await apiCall("GET", `/api/tasks/${task.id}`, undefined, tok);
        assert(r.status === 401 && r.data.error.code === "invalid_token", `${tok.slice(0, 12)}…: HTTP ${r.status} ${JSON.stringify(r.data)}`);
      }
      await waitFor(async () => (await events(page)).some((e) => e.type === "taskq-error"), "taskq-error", 8000);
      const err = (await events(page)).find((e) => e.type === "taskq-error").error;
      assert(err.status === 401 && err.code === "invalid_token", JSON.stringify(err));
      const shown = await shadow(page, ".error");
      assert(/does not accept this token/.test(shown.text) && /HTTP 401 invalid_token/.test(shown.attrs.title), `the element shows: ${shown.text} (${shown.attrs.title})`);
      wordsOnly(shown.text, "the element's error");
    } finally {
      await apiCall("DELETE", `/api/tasks/${task.id}`);
    }
  }, { skip: VT_SKIP || (!AUTH ? "auth is off on this stack" : !DEV ? "TASKQ_DEV is not set (psql)" : null) });

  // ---- the example app ----------------------------------------------------------------------
  let exampleStarted = null;
  async function ensureExample() {
    if (!exampleStarted) {
      exampleStarted = (async () => {
        const up = await fetch(`${BASE}/example/healthz`).then((r) => r.status === 200, () => false);
        if (up) return;
        const out = await run(["example"], 90000);
        assert(out.includes(`${BASE}/example/`), `./dev example printed: ${out}`);
        onFinish(() => run(["example", "stop"]).catch(() => {}));
      })();
    }
    await exampleStarted;
  }
  const EXAMPLE_SKIP = !DEV ? "TASKQ_DEV is not set (./dev example)" : AUTH && !VIEW_TOKENS ? "auth is on and the stack has no view tokens yet" : null;

  // TIMING_PROBE — on the example's page: ms from the Approve click to the first frame that
  // shows the processing view, to the app's answer, to the first update of the element and to
  // the first update with progress above 0.
  const TIMING_PROBE = () => {
    window.__t = {};
    addEventListener("click", (ev) => {
      if (!ev.target.closest || !ev.target.closest("#approve")) return;
      const t0 = performance.now();
      window.__t = { t0 };
      const frame = () => {
        const p = document.getElementById("processing");
        if (p && !p.hidden) window.__t.view = performance.now() - t0; else requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    }, true);
    document.addEventListener("taskq-update", (ev) => {
      const t = window.__t;
      if (t.t0 === undefined || ev.target.id !== "progress") return;   // not the list's elements
      const d = performance.now() - t.t0;
      if (t.update === undefined) t.update = d;
      if (t.progress === undefined && ev.detail.task.progress > 0) t.progress = d;
      if (t.answer === undefined) {
        const e = performance.getEntriesByType("resource").find((r) => r.name.endsWith("/example/approvals"));
        if (e) t.answer = e.responseEnd - t.t0;
      }
    });
  };

  // newRequest() — a new expense request of the example app, waiting for approval (a request
  // is approved once: every test approves requests of its own)
  async function newRequest() {
    const r = await fetch(`${BASE}/example/requests`, { method: "POST" });
    const body = await r.json().catch(() => ({}));
    assert(r.status === 201 && /^REQ-\d+$/.test(body.request_id || ""), `POST /example/requests answered ${r.status} ${JSON.stringify(body)}`);
    return body.request_id;
  }
  const newRequests = async (n) => { const out = []; for (let i = 0; i < n; i++) out.push(await newRequest()); return out; };
  const approveByPost = async (request) => {
    const r = await fetch(`${BASE}/example/approvals`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ request_id: request }) });
    return { status: r.status, body: await r.json().catch(() => null) };
  };

  async function examplePage(t, ctx, request) {
    const page = await ctx.newPage();
    await page.goto(`${BASE}/example/?request=${request}`);
    await page.locator("#approve").waitFor({ state: "visible", timeout: 5000 });
    return page;
  }
  const elementOf = (page) => page.locator("#progress");

  test("example: ./dev example serves the page behind the stack's nginx", async () => {
    await ensureExample();
    const r = await fetch(`${BASE}/example/`);
    const html = await r.text();
    assert(r.status === 200 && /text\/html/.test(r.headers.get("content-type")), `GET /example/: ${r.status}`);
    assert(html.includes('src="/client/taskq-progress.js"') && html.includes('id="approve"'), "the page has no element or button");
  }, { skip: EXAMPLE_SKIP, timeout: 90000 });

  // checkResult(page, i) — the tab shows the result, after progress that climbed
  async function checkResult(p, i) {
    await p.locator("#result").waitFor({ state: "visible", timeout: 20000 });
    const ref = await p.locator("#reference").textContent();
    assert(/^APR-\d{6}$/.test(ref), `tab ${i}: reference ${ref}`);
    // the page's own element (#progress; the recent approvals have elements of their own)
    const ups = (await events(p)).filter((e) => e.type === "taskq-update" && e.el === "progress").map((e) => e.progress);
    assert(ups.filter((v) => v > 0 && v < 100).length >= 2, `tab ${i}: progress did not climb (${ups})`);
    for (let k = 1; k < ups.length; k++) assert(ups[k] >= ups[k - 1], `tab ${i}: progress went back (${ups})`);
    assert(!(await p.locator("#processing").isVisible()), `tab ${i}: still processing`);
    return ref;
  }

  test("example: Approve in 5 tabs at once (5 requests): each switches at once, progress climbs, the result shows; every tab stays responsive", async (t) => {
    await ensureExample();
    const ctx = await newContext(t, { token: "" });
    await ctx.addInitScript(RECORD_ELEMENT);
    await ctx.addInitScript(TIMING_PROBE);
    const pages = await Promise.all((await newRequests(5)).map((r) => examplePage(t, ctx, r)));
    await Promise.all(pages.map((p) => p.locator("#approve").click()));
    for (const [i, p] of pages.entries()) {
      assert(await p.locator("#processing").isVisible(), `tab ${i}: no processing view right after the click`);
    }
    // while the tasks run, each tab answers at once and can still reach the app
    await waitFor(async () => (await Promise.all(pages.map((p) => elementOf(p).getAttribute("data-state")))).every((s) => s === "running"), "all five running", 10000);
    for (const [i, p] of pages.entries()) {
      const t0 = Date.now();
      const status = await p.evaluate(() => fetch("/example/healthz").then((r) => r.status));
      assert(status === 200 && Date.now() - t0 < 1500, `tab ${i}: a request took ${Date.now() - t0} ms (HTTP ${status})`);
    }
    const refs = [];
    for (const [i, p] of pages.entries()) refs.push(await checkResult(p, i));
    assert(new Set(refs).size === 5, `references ${refs}`);
  }, { skip: EXAMPLE_SKIP, timeout: 60000 });

  test("example: Approve in one of 5 tabs of one request: every tab shows the processing view, the progress and the result", async (t) => {
    await ensureExample();
    const ctx = await newContext(t, { token: "" });
    await ctx.addInitScript(RECORD_ELEMENT);
    // the moment (epoch ms) the processing view is shown
    await ctx.addInitScript(() => addEventListener("DOMContentLoaded", () => {
      const p = document.getElementById("processing");
      new MutationObserver(() => { if (!p.hidden && !window.__shownAt) window.__shownAt = performance.timeOrigin + performance.now(); }).observe(p, { attributes: true });
    }));
    const request = await newRequest();
    const pages = [];
    for (let i = 0; i < 5; i++) pages.push(await examplePage(t, ctx, request));
    await pages[0].evaluate(() => addEventListener("click", () => { window.__clickAt = performance.timeOrigin + performance.now(); }, true));
    await pages[0].locator("#approve").click();
    const t0 = await pages[0].evaluate(() => window.__clickAt);
    const shown = await Promise.all(pages.slice(1).map(async (p) => {
      await p.locator("#processing").waitFor({ state: "visible", timeout: 5000 });
      return p.evaluate(() => window.__shownAt);
    }));
    const refs = [];
    for (const [i, p] of pages.entries()) refs.push(await checkResult(p, i));
    assert(new Set(refs).size === 1, `the tabs show different approvals: ${refs}`);
    const ms = shown.map((x) => Math.round(x - t0)).sort((a, b) => a - b);
    console.log(`     the other 4 tabs showed the processing view ${ms.join(", ")} ms after the click`);
  }, { skip: EXAMPLE_SKIP, timeout: 60000 });

  test("example: time from the Approve click to the processing view and to the first progress update", async (t) => {
    await ensureExample();
    const ctx = await newContext(t, { token: "" });
    await ctx.addInitScript(TIMING_PROBE);
    const runs = [];
    for (let i = 0; i < 5; i++) {
      const page = await examplePage(t, ctx, await newRequest());
      await sleep(300);
      await page.locator("#approve").click();
      await waitFor(async () => (await page.evaluate(() => window.__t.progress)) !== undefined, "the first progress update", 10000);
      runs.push(await page.evaluate(() => window.__t));
      await page.close();
    }
    const med = (k) => { const v = runs.map((r) => r[k]).filter((x) => x !== undefined).sort((a, b) => a - b); return v.length ? v[Math.floor(v.length / 2)] : NaN; };
    const fmt = (k) => `${med(k).toFixed(0)} ms (${runs.map((r) => (r[k] === undefined ? "?" : r[k].toFixed(0))).join(", ")})`;
    console.log(`     timing, median of ${runs.length}: click → processing view ${fmt("view")}; → app's answer ${fmt("answer")}; → first update ${fmt("update")}; → first progress > 0 ${fmt("progress")}`);
    assert(med("view") < 200, `the processing view took ${med("view")} ms`);
    assert(med("progress") < 3000, `the first progress update took ${med("progress")} ms`);
  }, { skip: EXAMPLE_SKIP, timeout: 90000 });

  // taskCount(request) — the approve tasks submitted for request, counted in taskq's table
  const taskCount = async (request) => Number(await psql(`SELECT count(*) FROM taskq.tasks WHERE kind = 'approve' AND payload->>'request_id' = '${request}'`));
  const standingCount = async (request) => Number(await psql(`SELECT count(*) FROM approve_example.approvals WHERE request_id = '${request}' AND voided_at IS NULL`));

  test("example: a request is approved once: concurrent and replayed POSTs and a second tab get the same approval, one task", async (t) => {
    await ensureExample();
    const request = await newRequest();
    // a second tab, opened before the approval (it still offers Approve)
    const ctx = await newContext(t, { token: "" });
    const late = await examplePage(t, ctx, request);
    // five POSTs at once, as from a double click, tabs and a retrying proxy
    const answers = await Promise.all([0, 1, 2, 3, 4].map(() => approveByPost(request)));
    const made = answers.filter((a) => a.status === 201);
    const found = answers.filter((a) => a.status === 200);
    assert(made.length === 1 && found.length === 4, `statuses ${answers.map((a) => a.status).join(",")}`);
    assert(found.every((a) => a.body.already_approved === true) && made[0].body.already_approved === false, "already_approved is not set right");
    const taskId = made[0].body.task_id;
    assert(answers.every((a) => a.body.task_id === taskId && a.body.approval_id === made[0].body.approval_id), `the answers name different tasks: ${answers.map((a) => a.body.task_id).join(" ")}`);
    assert((await taskCount(request)) === 1, `${await taskCount(request)} tasks were submitted for ${request}`);
    assert((await standingCount(request)) === 1, `${await standingCount(request)} standing approvals of ${request}`);
    // the second tab's Approve: "already approved", the same task followed to its result
    await late.locator("#approve").click();
    await late.locator("#already").waitFor({ state: "visible", timeout: 5000 });
    const note = await late.locator("#already").textContent();
    assert(/already approved by .* \(approval #\d+\): no second approval was made/.test(note), `the note says: ${note}`);
    wordsOnly(note, "the example's note");
    assert((await elementOf(late).getAttribute("task")) === taskId, "the second tab follows another task");
    await late.locator("#result").waitFor({ state: "visible", timeout: 20000 });
    assert((await late.locator("#reference").textContent()) === `APR-${String(made[0].body.approval_id).padStart(6, "0")}`, "the reference is not the approval's");
    // a page opened now shows the approval as done, and a POST replayed now still makes none
    const now = await (await ctx.newPage());
    await now.goto(`${BASE}/example/?request=${request}`);
    await now.locator("#result").waitFor({ state: "visible", timeout: 5000 });
    assert(!(await now.locator("#approve").isVisible()), "an approved request still offers Approve");
    const again = await approveByPost(request);
    assert(again.status === 200 && again.body.task_id === taskId && again.body.state === "succeeded", `a replayed POST answered ${again.status} ${JSON.stringify(again.body)}`);
    assert((await taskCount(request)) === 1, "a replayed POST submitted a task");
  }, { skip: EXAMPLE_SKIP, timeout: 60000 });

  test("example: a cancelled approval is set aside; the request can then be approved again, once", async (t) => {
    await ensureExample();
    const request = await newRequest();
    const first = await approveByPost(request);
    assert(first.status === 201, `the first approval answered ${first.status}`);
    const del = await apiCall("DELETE", `/api/tasks/${first.body.task_id}`);
    assert(del.status === 200 || del.status === 202, `cancel answered ${del.status}`);
    await waitFor(async () => (await psql(`SELECT state FROM taskq.tasks WHERE id = '${first.body.task_id}'`)) === "cancelled", "the task cancelled", 15000);
    const answers = await Promise.all([0, 1, 2].map(() => approveByPost(request)));
    assert(answers.filter((a) => a.status === 201).length === 1, `statuses after the cancel: ${answers.map((a) => a.status).join(",")}`);
    assert((await taskCount(request)) === 2 && (await standingCount(request)) === 1, `${await taskCount(request)} tasks, ${await standingCount(request)} standing approvals`);
  }, { skip: EXAMPLE_SKIP || (!TOKEN && AUTH ? "no token to cancel with" : null), timeout: 45000 });

  test("example: Recent approvals follow new approvals (here and in another browser) and their tasks, without a reload", async (t) => {
    await ensureExample();
    const [x, y] = await newRequests(2);
    // two browsers: nothing passes between them but the app
    const ctxA = await newContext(t, { token: "" });
    const ctxB = await newContext(t, { token: "" });
    const a = await examplePage(t, ctxA, x);
    const b = await examplePage(t, ctxB, y);
    const navs = [];
    for (const p of [a, b]) p.on("framenavigated", (f) => { if (f === p.mainFrame()) navs.push(f.url()); });
    const rowOf = (p, request) => p.locator(`#recent tr[data-request="${request}"]`);
    const t0 = Date.now();
    await a.locator("#approve").click();
    await waitFor(async () => (await rowOf(a, x).count()) === 1, "the approval in its own tab's list", 3000);
    const own = Date.now() - t0;
    // the row follows its task's progress while it runs
    const rowBar = rowOf(a, x).locator("taskq-progress");
    await waitFor(async () => {
      const v = Number(await rowBar.evaluate((e) => e.shadowRoot.querySelector("[role=progressbar]").getAttribute("aria-valuenow")));
      return v > 0 && v < 100;
    }, "the row's progress to climb", 10000);
    await waitFor(async () => (await rowOf(b, x).count()) === 1, "the approval in the other browser's list", 10000);
    // then shows the result, in both browsers
    for (const p of [a, b]) {
      await waitFor(async () => /^succeeded · APR-\d{6}$/.test((await rowOf(p, x).locator("td.what").textContent()).trim()), "the row to show the result", 20000);
    }
    // the other browser approves: its own list at once, the first tab's soon
    await b.locator("#approve").click();
    await waitFor(async () => (await rowOf(b, y).count()) === 1, "B's approval in B's list", 3000);
    await waitFor(async () => (await rowOf(a, y).count()) === 1, "B's approval in A's list", 10000);
    assert(navs.length === 0, `a page reloaded: ${navs.join(" ")}`);
    console.log(`     the approving tab listed its approval ${own} ms after the click`);
  }, { skip: EXAMPLE_SKIP, timeout: 60000 });

  test("example: phone width (390 px): no sideways scroll, with approvals running and done in the list", async (t) => {
    await ensureExample();
    const [x, y] = await newRequests(2);
    await approveByPost(x);
    const ctx = await newContext(t, { token: "", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await examplePage(t, ctx, y);
    await waitFor(async () => (await page.locator("#recent tbody tr").count()) > 0, "rows in the list");
    await noHorizontalScroll(page, "the example app");
    await page.locator("#approve").click();
    await waitFor(async () => (await elementOf(page).getAttribute("data-state")) === "running", "running", 10000);
    await noHorizontalScroll(page, "the example app while approving");
    if (SHOTS) await page.screenshot({ path: path.join(ARTIFACTS, "example-390.png"), fullPage: true });
  }, { skip: EXAMPLE_SKIP, timeout: 45000 });

  if (SHOTS) {
    test("screenshot of the example app", async (t) => {
      await ensureExample();
      const ctx = await newContext(t, { token: "", viewport: { width: 900, height: 760 } });
      const first = await examplePage(t, ctx, await newRequest());
      await first.locator("#approve").click();
      await waitFor(async () => (await elementOf(first).getAttribute("data-state")) === "running", "the first approval running", 10000);
      const page = await examplePage(t, ctx, await newRequest());   // its recent approvals show the first one live
      await page.locator("#approve").click();
      await waitFor(async () => Number((await page.locator("#progress").evaluate((el) => el.task && el.task.progress)) || 0) >= 50, "progress ≥ 50", 10000);
      await sleep(400);                              // the bar's transition
      const dir = path.join(TOP, "docs", "screenshots");
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: path.join(dir, "example.png") });
    }, { skip: EXAMPLE_SKIP, timeout: 45000 });
  }
}
