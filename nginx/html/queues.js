// queues.js — the queues page: per queue the counts (GET /api/queues), the oldest runnable
// task's wait, and from the per-minute rollup (GET /api/queues/{name}/series) the start rate,
// failure rate and wait and run percentiles of the last five minutes; then the charts of one
// queue over the last hour or day (chart.js). A queue that says whether it is paused (a
// "paused" field, where the server has queue pause) shows it, with its button.

import { api, errorOf } from "./api.js";
import { el, fmtDuration, renderLive } from "./ui.js";
import { mountNav, getJson, showError, every, cell, fmtNum, fmtMs } from "./console.js";
import { lineChart } from "./chart.js";

mountNav();
const $ = (id) => document.getElementById(id);
const form = $("chart-form");
const params = new URLSearchParams(location.search);
let chosen = params.get("queue") || "";
const series = new Map(); // queue → points of the last hour

// the last five minutes of a series: starts/min, failure share, worst p50/p95
function recent(points) {
  const since = Date.now() - 5 * 60000;
  const last = points.filter((p) => Date.parse(p.at) >= since);
  const sum = (k) => last.reduce((a, p) => a + (p[k] || 0), 0);
  const fin = sum("succeeded") + sum("failed") + sum("cancelled");
  const max = (k) => { const v = last.map((p) => p[k]).filter((x) => x !== null); return v.length ? Math.max(...v) : null; };
  const weighted = (k) => {
    const v = last.filter((p) => p[k] !== null);
    const n = v.reduce((a, p) => a + p.succeeded + p.failed + p.cancelled, 0);
    return n ? v.reduce((a, p) => a + p[k] * (p.succeeded + p.failed + p.cancelled), 0) / n : null;
  };
  return { starts: sum("started") / 5, failRate: fin ? sum("failed") / fin : null, wait50: weighted("wait_p50_ms"), wait95: max("wait_p95_ms"), run50: weighted("run_p50_ms"), run95: max("run_p95_ms") };
}

async function pauseToggle(q) {
  const resp = await api(`/api/queues/${encodeURIComponent(q.queue)}/${q.paused ? "resume" : "pause"}`, { method: "POST" });
  if (!resp.ok) showError($("queues-error"), errorOf(resp), "queue pause");
  refresh();
}

function row(q) {
  const r = recent(series.get(q.queue) || []);
  const c = q.counts || {};
  const tr = el("tr", { "data-queue": q.queue },
    el("td", { class: "q", "data-label": "queue" }, el("a", { href: `?queue=${encodeURIComponent(q.queue)}#charts-h`, text: q.queue, "aria-label": `charts of ${q.queue}` })),
    cell(fmtNum(c.queued), "num", "queued"),
    cell(fmtNum(c.running), "num", "running"),
    el("td", { class: "num", "data-label": "failed" }, el("a", { href: `tasks.html?state=failed&queue=${encodeURIComponent(q.queue)}`, text: fmtNum(c.failed) })),
    cell(q.oldest_queued_s === null || q.oldest_queued_s === undefined || q.oldest_queued_s < 0 ? "—" : fmtDuration(q.oldest_queued_s), "num", "oldest runnable"),
    cell(fmtNum(r.starts, 1), "num", "starts / min"),
    cell(r.failRate === null ? "—" : `${fmtNum(r.failRate * 100, 1)} %`, "num", "failure rate"),
    cell(`${fmtMs(r.wait50)} / ${fmtMs(r.wait95)}`, "num", "wait p50 / p95"),
    cell(`${fmtMs(r.run50)} / ${fmtMs(r.run95)}`, "num", "run p50 / p95"));
  // queue pause: only where the server reports it (the field is absent otherwise)
  if ("paused" in q) {
    tr.append(el("td", { class: "pause-col", "data-label": "paused" }, q.paused ? "paused " : "running ",
      el("button", { type: "button", class: "secondary", onclick: () => pauseToggle(q), text: q.paused ? "Resume" : "Pause", "aria-label": `${q.paused ? "resume" : "pause"} ${q.queue}` })));
  }
  return tr;
}

async function refresh() {
  try {
    const data = await getJson("/api/queues");
    const queues = data.queues || [];
    await Promise.all(queues.map(async (q) => {
      const s = await getJson(`/api/queues/${encodeURIComponent(q.queue)}/series?range=1h`);
      series.set(q.queue, s.points);
    }));
    const anyPause = queues.some((q) => "paused" in q);
    for (const th of document.querySelectorAll("th.pause-col")) th.hidden = !anyPause;
    $("queues").querySelector("tbody").replaceChildren(...queues.map(row));
    $("queues-empty").hidden = queues.length > 0;
    const select = $("chart-queue");
    const names = queues.map((q) => q.queue);
    if (!chosen || !names.includes(chosen)) chosen = chosen && !names.length ? chosen : (names.includes("default") ? "default" : names[0] || "");
    if (select.options.length !== names.length || [...select.options].some((o, i) => o.value !== names[i])) {
      select.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    }
    select.value = chosen;
    showError($("queues-error"), null);
    renderLive($("live"), { state: "live", mode: "every 10 s" });
    await drawCharts();
  } catch (e) {
    showError($("queues-error"), e, "the queues");
    renderLive($("live"), { state: e.status === 401 || e.status === 403 ? "auth" : "offline" });
  }
}

async function drawCharts() {
  if (!chosen) return;
  const range = form.elements.range.value;
  $("charts-queue").textContent = chosen;
  let points;
  try {
    points = (await getJson(`/api/queues/${encodeURIComponent(chosen)}/series?range=${range}`)).points;
    showError($("charts-error"), null);
  } catch (e) {
    showError($("charts-error"), e, "the charts");
    return;
  }
  const step = range === "1d" ? 300000 : 60000;
  const to = Math.floor(Date.now() / step) * step;
  const from = to - (range === "1d" ? 86400000 : 3600000);
  // every bucket of the range, empty ones as zero counts and unknown latencies
  const byT = new Map(points.map((p) => [Date.parse(p.at), p]));
  const ts = [];
  for (let t = from; t <= to; t += step) ts.push(t);
  const pick = (k, zero) => ts.map((t) => [t, byT.has(t) ? byT.get(t)[k] : (zero ? 0 : null)]);
  const perMin = range === "1d" ? "tasks per 5 min" : "tasks per min";
  const finished = ts.map((t) => [t, byT.has(t) ? byT.get(t).succeeded + byT.get(t).failed + byT.get(t).cancelled : 0]);
  const box = $("charts");
  const charts = [
    { id: "throughput", title: "Throughput", unit: perMin, series: [{ name: "finished", cls: "s1", points: finished }, { name: "started", cls: "s2", points: pick("started", true) }] },
    { id: "depth", title: "Depth", unit: "tasks queued", series: [{ name: "queued", cls: "s1", points: pick("queued", false) }] },
    { id: "wait", title: "Wait", unit: "ms, runnable → started", format: fmtMs, series: [{ name: "p50", cls: "s1", points: pick("wait_p50_ms") }, { name: "p95", cls: "s3", points: pick("wait_p95_ms") }] },
    { id: "run", title: "Run time", unit: "ms", format: fmtMs, series: [{ name: "p50", cls: "s1", points: pick("run_p50_ms") }, { name: "p95", cls: "s3", points: pick("run_p95_ms") }] },
    { id: "failures", title: "Failures", unit: perMin, series: [{ name: "failed", cls: "s4", points: pick("failed", true) }, { name: "cancelled", cls: "s2", points: pick("cancelled", true) }] },
  ];
  for (const c of charts) {
    let fig = document.getElementById(`chart-${c.id}`);
    if (!fig) { fig = el("figure", { class: "chart-box", id: `chart-${c.id}` }); box.append(fig); }
    const open = fig.querySelector("details[open]");
    lineChart(fig, { ...c, from, to });
    if (open) fig.querySelector("details").open = true;
  }
}

form.addEventListener("change", (ev) => {
  if (ev.target.name === "queue") {
    chosen = ev.target.value;
    history.replaceState(null, "", `?queue=${encodeURIComponent(chosen)}`);
  }
  drawCharts();
});

every(10000, refresh);
