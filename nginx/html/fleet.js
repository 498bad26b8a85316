// fleet.js — the fleet page: every worker daemon (GET /api/workers, admins), refreshed every
// 5 s; a stale one (no heartbeat for 30 s) is marked in words. A worker's host links to its
// running tasks on the tasks page.

import { el, fmtTime, fmtDuration, renderLive } from "./ui.js";
import { mountNav, getJson, showError, every, cell, fmtNum } from "./console.js";

mountNav();
const $ = (id) => document.getElementById(id);

function row(w) {
  const tasks = `tasks.html?state=running&worker=${encodeURIComponent(w.id)}`;
  const status = el("td", { class: w.stale ? "stale" : "alive", "data-label": "status" },
    el("span", { "aria-hidden": "true", text: w.stale ? "⚠ " : "● " }), w.stale ? "stale" : "live");
  return el("tr", { "data-id": w.id, class: w.stale ? "stale" : null },
    el("td", { class: "host", "data-label": "host" }, el("a", { href: tasks, text: w.host, title: `${w.id}: its running tasks` })),
    cell(String(w.pid), "num", "pid"),
    status,
    cell(w.version, null, "version"),
    cell(fmtTime(w.started_at), null, "started"),
    cell(`${fmtDuration(w.last_seen_s)} ago`, null, "last heartbeat"),
    cell(w.queues, "queues", "queues"),
    cell(String(w.concurrency), "num", "concurrency"),
    el("td", { class: "num", "data-label": "running" }, el("a", { href: tasks, text: String(w.running), "aria-label": `${w.running} running tasks of ${w.host} (pid ${w.pid})` })),
    cell(fmtNum(w.finished_per_min, 1), "num", "finished / min"));
}

every(5000, async () => {
  try {
    const data = await getJson("/api/workers");
    $("fleet").querySelector("tbody").replaceChildren(...data.workers.map(row));
    $("fleet-empty").hidden = data.workers.length > 0;
    showError($("fleet-error"), null);
    renderLive($("live"), { state: "live", mode: "every 5 s" });
  } catch (e) {
    showError($("fleet-error"), e, "the fleet");
    renderLive($("live"), { state: e.status === 401 || e.status === 403 ? "auth" : "offline" });
  }
});
