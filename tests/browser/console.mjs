// tests/browser/console.mjs — browser tests of the console's pages: fleet, queues with their
// charts, task search (payload fragment) and bulk actions (500 failed tasks retried in one
// action), schedules, rate limits, circuit breakers (reset), a task's chain graph, and every
// page at phone width. run.mjs calls registerConsoleTests(h) with its harness. The tests that
// need rows written by SQL (failed tasks in bulk, an open breaker, a rollup now) use
// ./dev psql and are skipped without TASKQ_DEV. With TASKQ_SCREENSHOTS=1 they also write
// docs/screenshots/console-*.png (1,280 px wide).

import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";

export async function registerConsoleTests(h) {
  const { test, assert, Failure, waitFor, sleep, apiCall, submit, newContext, noHorizontalScroll, BASE, AUTH, DEV, SHOTS, TOP } = h;
  const NEED_DEV = DEV ? null : "TASKQ_DEV is not set (rows are made with ./dev psql)";
  const RUN = Date.now().toString(36);
  const shotDir = path.join(TOP, "docs", "screenshots");

  const psql = (sql) => new Promise((resolve, reject) => {
    const env = AUTH ? { ...process.env, TASKQ_AUTH: "on" } : process.env;
    execFile(DEV, ["psql", "-XAtqc", sql], { env, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Failure(`./dev psql: ${err.message.split("\n")[0]} ${String(stderr).trim().split("\n").slice(-2).join(" ")}`));
      else resolve(String(stdout).trim());
    });
  });

  async function open(t, page, { width = 1280 } = {}) {
    const ctx = await newContext(t, { viewport: { width, height: 900 } });
    const p = await ctx.newPage();
    p.on("dialog", (d) => d.accept());
    await p.goto(`${BASE}/${page}`);
    return p;
  }
  const shot = async (page, name) => {
    if (!SHOTS) return;
    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: path.join(shotDir, `console-${name}.png`), fullPage: true });
  };
  const text = (page, sel) => page.locator(sel).first().textContent();

  test("console: the fleet page lists the worker daemons and links to their running tasks", async (t) => {
    const page = await open(t, "fleet.html");
    await waitFor(async () => (await page.locator("#fleet tbody tr").count()) > 0, "a worker row");
    const first = page.locator("#fleet tbody tr").first();
    const id = await first.getAttribute("data-id");
    const cells = await first.locator("td").allTextContents();
    assert(/^(live|stale)$/.test(cells[2].replace(/^\W+\s*/, "").trim()), `status cell: ${cells[2]}`);
    assert(/ago$/.test(cells[5]), `last heartbeat: ${cells[5]}`);
    assert((await page.locator('nav a[aria-current="page"]').textContent()) === "Fleet", "the nav marks the page");
    const api = await apiCall("GET", "/api/workers");
    assert(api.status === 200 && api.data.workers.some((w) => w.id === id && typeof w.stale === "boolean" && "finished_per_min" in w), `GET /api/workers: ${JSON.stringify(api.data).slice(0, 200)}`);
    await shot(page, "fleet");
    await first.locator("td.host a").click();
    await page.waitForURL(/tasks\.html\?state=running&worker=/);
    await waitFor(async () => /page 1/.test(await text(page, "#page-where")), "the worker's running tasks");
    assert((await page.locator("#search [name=worker]").inputValue()) === id, "the search is of that worker");
  });

  test("console: the queues page shows rates and draws the charts from the rollup", async (t) => {
    const q = `console-q-${RUN}`;
    for (let i = 0; i < 6; i++) await submit({ kind: "noop", payload: { i } });
    await submit({ kind: "noop", payload: {}, queue: q, delay_s: 3600 });
    if (DEV) await sleep(1500).then(() => psql("SELECT taskq.rollup_minutes(7, true)"));
    const page = await open(t, "queues.html?queue=default");
    await waitFor(async () => (await page.locator(`#queues tr[data-queue="${q}"]`).count()) === 1, "the new queue's row");
    // the charts of the chosen queue: throughput has a line once the rollup ran (≤ 20 s)
    await waitFor(async () => {
      await page.evaluate(() => document.querySelector("#chart-form input[value='1h']").dispatchEvent(new Event("change", { bubbles: true })));
      return (await page.locator("#chart-throughput svg path.line").count()) > 0;
    }, "the throughput line", 40000, 2000);
    for (const c of ["throughput", "depth", "wait", "run", "failures"]) {
      const label = await page.locator(`#chart-${c} svg`).getAttribute("aria-label");
      assert(label && label.length > 10, `chart ${c} has a label: ${label}`);
    }
    const row = await page.locator('#queues tr[data-queue="default"] td').allTextContents();
    assert(/ms|—/.test(row[7]) && /ms|s|—/.test(row[8]), `latency cells: ${row.join(" | ")}`);
    await page.locator("#chart-form input[value='1d']").check();
    await waitFor(async () => /5 min/.test(await text(page, "#chart-throughput h3")), "the day's chart");
    const bad = await apiCall("GET", "/api/queues/default/series?range=7d");
    assert(bad.status === 400 && /range/.test(bad.data.error.message), `range=7d: ${bad.status}`);
    await page.locator("#chart-form input[value='1h']").check();
    await sleep(300);
    await shot(page, "queues");
  }, { timeout: 60000 });

  test("console: a search by payload fragment finds the tasks that contain it", async (t) => {
    const q = `console-s-${RUN}`;
    for (let u = 1; u <= 6; u++) await submit({ kind: "noop", queue: q, payload: { user: u % 3, tag: "x" }, delay_s: 3600 });
    const page = await open(t, "tasks.html");
    await page.fill("#search [name=payload]", '{"user": 2}');
    await page.click("#search button[type=submit]");
    await waitFor(async () => /needs a queue/.test(await text(page, "#search-error")), "the rule said before asking");
    await page.fill("#search [name=queue]", q);
    const since = new Date(Date.now() - 10 * 60000);
    const p2 = (n) => String(n).padStart(2, "0");
    await page.fill("#search [name=created_after]", `${since.getFullYear()}-${p2(since.getMonth() + 1)}-${p2(since.getDate())}T${p2(since.getHours())}:${p2(since.getMinutes())}:00`);
    await page.click("#search button[type=submit]");
    await waitFor(async () => (await page.locator("#results tbody tr").count()) === 2, "the 2 tasks with user 2");
    assert(/payload=/.test(page.url()) && /created_after=/.test(page.url()), `the search is in the URL: ${page.url()}`);
    await shot(page, "search");
    // by id prefix: the first task's first 13 characters
    const id = await page.locator("#results tbody tr").first().getAttribute("data-id");
    const byPrefix = await apiCall("GET", `/api/tasks?id_prefix=${id.slice(0, 13)}&queue=${q}`);
    assert(byPrefix.status === 200 && byPrefix.data.tasks.some((x) => x.id === id), "id_prefix finds it");
    const noQueue = await apiCall("GET", `/api/tasks?payload=${encodeURIComponent('{"user":2}')}`);
    assert(noQueue.status === 400 && noQueue.data.error.code === "invalid_field", `payload without queue: ${noQueue.status}`);
    const badJson = await apiCall("GET", `/api/tasks?queue=${q}&created_after=2020-01-01T00:00:00Z&payload=%7Bnope`);
    assert(badJson.status === 400 && /payload/.test(badJson.data.error.message), `bad payload JSON: ${badJson.status}`);
    await apiCall("POST", "/api/tasks/bulk", { action: "cancel", filter: { queue: q } });
  });

  test("console: 500 failed tasks retried in one bulk action", async (t) => {
    const q = `console-b-${RUN}`;
    await psql(`INSERT INTO taskq.tasks (kind, queue, payload, state, attempts, max_attempts, error, started_at, finished_at, owner)
                SELECT 'noop', '${q}', jsonb_build_object('n', g), 'failed', 1, 1, 'boom', now(), now(), 'anonymous'
                  FROM generate_series(1, 500) g`);
    const page = await open(t, `tasks.html?state=failed&queue=${q}`);
    await waitFor(async () => (await page.locator("#results tbody tr").count()) === 50, "a page of 50");
    assert(!(await page.locator("#page-older").isDisabled()), "an older page");
    await page.locator("#results tbody input").nth(0).check();
    await page.locator("#results tbody input").nth(1).check();
    await waitFor(async () => (await text(page, "#selected")) === "2 selected", "2 selected");
    await page.locator("#all-matching").check();
    await shot(page, "bulk");
    await page.locator(".bulk button[data-action=retry]").click();
    await waitFor(async () => /^500 retried/.test(await text(page, "#bulk-outcome")), "500 retried", 60000);
    const left = await apiCall("GET", `/api/tasks?state=failed&queue=${q}&limit=1`);
    assert(left.data.tasks.length === 0, "no failed task left in the queue");
    const queued = await psql(`SELECT count(*) FROM taskq.tasks WHERE queue = '${q}' AND state = 'queued' AND attempts = 0`);
    assert(queued === "500", `queued again: ${queued}`);
    await apiCall("POST", "/api/tasks/bulk", { action: "cancel", filter: { queue: q } });
    const del = await apiCall("POST", "/api/tasks/bulk", { action: "delete", filter: { queue: q, state: "cancelled" } });
    assert(del.status === 200 && del.data.outcomes.deleted === 500, `bulk delete: ${JSON.stringify(del.data.outcomes)}`);
    const bad = await apiCall("POST", "/api/tasks/bulk", { action: "explode", ids: [] });
    assert(bad.status === 400, `a bad action: ${bad.status}`);
  }, { timeout: 90000, skip: NEED_DEV });

  test("console: a delayed task is run now from the delayed view", async (t) => {
    const q = `console-d-${RUN}`;
    const task = await submit({ kind: "noop", queue: q, payload: {}, delay_s: 3600 });
    const page = await open(t, "tasks.html");
    await page.click('nav.views a[data-view="delayed"]');
    await waitFor(async () => (await page.locator(`#results tr[data-id="${task.id}"]`).count()) === 1, "the delayed task");
    await page.locator(`#results tr[data-id="${task.id}"] input`).check();
    await page.locator(".bulk button[data-action=run_now]").click();
    await waitFor(async () => /^1 made due now/.test(await text(page, "#bulk-outcome")), "made due now");
    const after = await apiCall("GET", `/api/tasks/${task.id}`);
    assert(Date.parse(after.data.run_at) <= Date.now() + 2000, `run_at now: ${after.data.run_at}`);
    await apiCall("DELETE", `/api/tasks/${task.id}`);
  });

  test("console: a circuit breaker is reset from the breakers page", async (t) => {
    const host = `console-${RUN}.invalid`;
    await psql(`INSERT INTO taskq.breakers (host, state, failures, last_error, opened_at, cooldown_s, retry_at, trips)
                VALUES ('${host}', 'open', 5, 'HTTP 503', now(), 600, now() + interval '10 minutes', 1)`);
    const page = await open(t, "ops.html?view=breakers");
    const row = page.locator(`#ops tr[data-host="${host}"]`);
    await waitFor(async () => (await row.count()) === 1, "the open breaker");
    assert(/open/.test(await row.locator("td.bstate").textContent()), "shown open");
    await shot(page, "breakers");
    await row.locator("button").click();
    await waitFor(async () => /breaker closed/.test(await text(page, "#ops-outcome")), "the outcome");
    await waitFor(async () => /closed/.test(await row.locator("td.bstate").textContent()), "shown closed");
    const state = await psql(`SELECT state FROM taskq.breakers WHERE host = '${host}'`);
    assert(state === "closed", `the row: ${state}`);
    const none = await apiCall("POST", "/api/breakers/nowhere.invalid/reset");
    assert(none.status === 404, `an unknown host: ${none.status}`);
    await psql(`DELETE FROM taskq.breakers WHERE host = '${host}'`);
  }, { skip: NEED_DEV });

  test("console: a schedule is disabled, enabled and run now", async (t) => {
    const name = `console-${RUN}`;
    const made = await apiCall("POST", "/api/schedules", { name, cron: "0 0 1 1 *", kind: "noop", payload: { from: "console" }, queue: `console-sched-${RUN}` });
    assert(made.status === 201, `schedule: ${made.status} ${JSON.stringify(made.data)}`);
    const page = await open(t, "ops.html?view=schedules");
    const row = page.locator(`#ops tr[data-name="${name}"]`);
    await waitFor(async () => (await row.count()) === 1, "the schedule's row");
    await row.getByRole("button", { name: `disable ${name}` }).click();
    await waitFor(async () => /disabled/.test(await row.locator("td.off, td.on").textContent()), "disabled");
    assert((await apiCall("GET", `/api/schedules/${name}`)).data.enabled === false, "disabled in the API");
    const refused = await apiCall("POST", `/api/schedules/${name}/run`);
    assert(refused.status === 409, `run while disabled: ${refused.status}`);
    await row.getByRole("button", { name: `enable ${name}` }).click();
    await waitFor(async () => /enabled/.test(await row.locator("td.off, td.on").textContent()), "enabled");
    await row.getByRole("button", { name: `run ${name} now` }).click();
    await waitFor(async () => /ran now: task/.test(await text(page, "#ops-outcome")), "ran now");
    const id = (await text(page, "#ops-outcome")).match(/task ([0-9a-f-]{36})/)[1];
    const task = await apiCall("GET", `/api/tasks/${id}`);
    assert(task.status === 200 && task.data.payload.from === "console", "the task it made");
    await shot(page, "schedules");
    await apiCall("DELETE", `/api/schedules/${name}`);
    await apiCall("DELETE", `/api/tasks/${id}`);
  });

  test("console: the rate limits page shows each limit's current window", async (t) => {
    const name = `console-${RUN}`;
    const put = await apiCall("PUT", `/api/rate_limits/queue/${name}`, { max_starts: 7, per_s: 60 });
    assert(put.status === 201, `limit: ${put.status}`);
    const page = await open(t, "ops.html?view=limits");
    const row = page.locator(`#ops tr[data-name="queue/${name}"]`);
    await waitFor(async () => (await row.count()) === 1, "the limit's row");
    const cells = await row.locator("td").allTextContents();
    assert(cells.some((c) => /^0 of 7$/.test(c)), `the window: ${cells.join(" | ")}`);
    assert((await row.locator("[role=meter]").getAttribute("aria-valuemax")) === "7", "a meter");
    await apiCall("DELETE", `/api/rate_limits/queue/${name}`);
  });

  test("console: a task page shows its parents and children as a live graph", async (t) => {
    const parent = await submit({ kind: "sleep", payload: { steps: 3, step_ms: 300 } });
    const child = await submit({ kind: "noop", payload: {}, after: [parent.id] });
    const page = await open(t, `task.html?id=${child.id}`);
    await waitFor(async () => !(await page.locator("#chain").isHidden()), "the chain section");
    assert((await page.locator("#chain svg a.node").count()) === 2, "two nodes");
    await waitFor(async () => (await page.locator(`#chain a.node[data-id="${parent.id}"]`).getAttribute("data-state")) === "succeeded", "the parent's node goes to succeeded", 20000);
    await waitFor(async () => (await page.locator(`#chain a.node.self`).getAttribute("data-state")) === "succeeded", "this task's node too", 20000);
    const pp = await open(t, `task.html?id=${parent.id}`);
    await waitFor(async () => (await pp.locator(`#chain a.node[data-id="${child.id}"]`).count()) === 1, "the parent's page shows the child");
    await shot(pp, "chain");
    const none = await open(t, `task.html?id=${(await submit({ kind: "noop", payload: {} })).id}`);
    await sleep(1500);
    assert(await none.locator("#chain").isHidden(), "no chain section for a lone task");
  }, { timeout: 45000 });

  test("console: every console page fits a phone and is reachable by keyboard", async (t) => {
    for (const p of ["fleet.html", "queues.html", "tasks.html?state=failed", "ops.html?view=schedules", "ops.html?view=limits", "ops.html?view=breakers"]) {
      const page = await open(t, p, { width: 390 });
      await sleep(1200);
      await noHorizontalScroll(page, p);
      // the skip link first, then the navigation
      await page.keyboard.press("Tab");
      assert(/Skip/.test(await page.evaluate(() => document.activeElement.textContent)), `${p}: the skip link first`);
      await page.keyboard.press("Tab");
      await page.keyboard.press("Tab");
      assert(await page.evaluate(() => !!document.activeElement.closest("nav")), `${p}: then the navigation`);
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll("input, select, button")].filter((e) => e.type !== "hidden" && !e.labels?.length && !e.getAttribute("aria-label") && !e.textContent.trim()).map((e) => e.outerHTML.slice(0, 80)));
      assert(unlabelled.length === 0, `${p}: controls without a label: ${unlabelled.join(", ")}`);
    }
  }, { timeout: 60000 });
}
