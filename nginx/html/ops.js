// ops.js — ops.html: the schedules, rate limits and circuit breakers (?view=schedules|limits|
// breakers), each a table refreshed every 5 s with its actions: a schedule is enabled or disabled (PUT
// /api/schedules/{name} with its own fields and the new "enabled") or run now (POST
// /api/schedules/{name}/run); a rate limit shows the starts of its current window; a breaker
// is reset (POST /api/breakers/{host}/reset).

import { api, errorOf, describeError, taskPageHref } from "./api.js";
import { el, fmtTime, fmtAge, fmtDuration, renderLive } from "./ui.js";
import { mountNav, getJson, showError, every, cell, fmtNum, say } from "./console.js";

mountNav();
const $ = (id) => document.getElementById(id);
const PAGE = new URLSearchParams(location.search).get("view") || "schedules";
let refresh = null;

// act(label, method, path, body, words) — one action, its outcome said in #ops-outcome
async function act(method, path, body, words) {
  const resp = await api(path, { method, body, timeoutMs: 15000 });
  if (resp.ok) say($("ops-outcome"), words(resp.data));
  else say($("ops-outcome"), `Not done: ${describeError(errorOf(resp))}`, false);
  refresh();
}

const button = (text, label, onclick, cls = "secondary") => el("button", { type: "button", class: cls, text, "aria-label": label, onclick });
const when = (iso) => (iso ? el("span", { title: fmtTime(iso), text: Date.parse(iso) > Date.now() ? `in ${fmtDuration((Date.parse(iso) - Date.now()) / 1000)}` : fmtAge(iso) }) : "—");
const cellOf = (node, label) => el("td", { "data-label": label }, node);

// the fields a schedule is written with (GET answers more: fire times, owner, errors)
const WRITABLE = ["cron", "tz", "enabled", "kind", "payload", "queue", "priority", "max_attempts", "timeout_s", "backfill"];

function scheduleRow(s) {
  const put = Object.fromEntries(WRITABLE.filter((k) => s[k] !== null && s[k] !== undefined).map((k) => [k, s[k]]));
  const path = `/api/schedules/${encodeURIComponent(s.name)}`;
  return el("tr", { "data-name": s.name },
    el("th", { scope: "row", class: "name", text: s.name }),
    cell(`${s.cron} (${s.tz})`, "mono", "when"),
    cell(`${s.kind} · ${s.queue}`, null, "kind · queue"),
    el("td", { "data-label": "state", class: s.enabled ? "on" : "off" }, s.enabled ? "✓ enabled" : "⊘ disabled", s.last_error ? el("div", { class: "error small", text: s.last_error }) : null),
    cellOf(s.enabled ? when(s.next_fire_at) : "—", "next fire"),
    el("td", { "data-label": "last fire" }, when(s.last_fire_at), s.last_task_id ? el("a", { href: taskPageHref(s.last_task_id), text: " task", "aria-label": `the last task of ${s.name}` }) : null),
    el("td", { class: "actions" },
      button(s.enabled ? "Disable" : "Enable", `${s.enabled ? "disable" : "enable"} ${s.name}`,
        () => act("PUT", path, { ...put, enabled: !s.enabled }, () => `${s.name} ${s.enabled ? "disabled" : "enabled"}.`)),
      button("Run now", `run ${s.name} now`, () => act("POST", `${path}/run`, undefined, (d) => `${s.name} ran now: task ${d.task}.`), "")));
}

function limitRow(l) {
  const share = l.recent_starts !== undefined ? l.recent_starts / l.max_starts : 0;
  const bar = el("div", { class: "bar", role: "meter", "aria-label": `${l.scope} ${l.name}: starts of the current window`, "aria-valuemin": "0", "aria-valuemax": String(l.max_starts), "aria-valuenow": String(l.recent_starts ?? 0) },
    el("span", { style: `width:${Math.min(100, Math.round(share * 100))}%` }));
  return el("tr", { "data-name": `${l.scope}/${l.name}` },
    cell(l.scope, null, "scope"),
    el("th", { scope: "row", class: "name", text: l.name }),
    cell(`${fmtNum(l.max_starts)} per ${fmtNum(l.per_s, 3)} s`, "num", "limit"),
    cell(`${fmtNum(l.recent_starts)} of ${fmtNum(l.max_starts)}`, "num", "current window"),
    el("td", { class: "use" }, bar));
}

function breakerRow(b) {
  const unhealthy = b.state !== "closed" || b.throttled_s > 0;
  const words = b.state === "half_open" ? "◐ half-open (probing)" : b.state === "open" ? "✕ open" : "✓ closed";
  return el("tr", { "data-host": b.host, class: unhealthy ? "unhealthy" : null },
    el("th", { scope: "row", class: "name mono", text: b.host }),
    el("td", { class: `bstate ${b.state}`, "data-label": "state" }, words, b.throttled_s > 0 ? el("div", { class: "small", text: `throttled ${fmtDuration(b.throttled_s)} more` }) : null),
    cell(fmtNum(b.failures), "num", "failures"),
    cell(b.last_error, null, "last error"),
    cellOf(b.state === "open" ? when(b.retry_at) : "—", "next probe"),
    cell(fmtNum(b.waiting), "num", "waiting tasks"),
    cell(fmtNum(b.trips), "num", "trips"),
    el("td", { class: "actions" }, unhealthy
      ? button("Reset", `reset the breaker of ${b.host}`, () => act("POST", `/api/breakers/${encodeURIComponent(b.host)}/reset`, undefined, () => `${b.host}: breaker closed, its tasks run now.`), "")
      : "—"));
}

// each view: where its rows come from, its heading, note, columns ("#" marks a number) and
// what an empty table says
const VIEWS = {
  schedules: {
    path: "/api/schedules", key: "schedules", row: scheduleRow, what: "the schedules", title: "Schedules",
    cols: ["name", "when", "kind · queue", "state", "next fire", "last fire", "actions"],
    empty: "No schedule yet (POST /api/schedules, or taskq schedule).",
  },
  limits: {
    path: "/api/rate_limits", key: "rate_limits", row: limitRow, what: "the rate limits", title: "Rate limits",
    note: "Starts allowed per window, per queue or per concurrency key, and the starts of the current window.",
    cols: ["scope", "name", "#limit", "#current window", "use"],
    empty: "No rate limit is set (PUT /api/rate_limits/{queue|key}/{name}).",
  },
  breakers: {
    path: "/api/breakers", key: "breakers", row: breakerRow, what: "the circuit breakers", title: "Circuit breakers",
    note: "Upstream hosts of the http kind: a breaker opens after consecutive failures and holds that host’s tasks back (their attempts not spent) until a probe succeeds. Reset closes it and lifts a throttle now: the tasks that waited run at once.",
    cols: ["host", "state", "#failures", "last error", "next probe", "#waiting tasks", "#trips", "actions"],
    empty: "No upstream host has failed yet.",
  },
};
const view = VIEWS[PAGE] || VIEWS.schedules;
document.title = `taskq · ${view.title.toLowerCase()}`;
$("ops-h").textContent = view.title;
$("ops-note").textContent = view.note || "";
$("ops-note").hidden = !view.note;
$("ops-empty").textContent = view.empty;
$("ops").querySelector("thead tr").replaceChildren(...view.cols.map((c) =>
  el("th", { scope: "col", class: c.startsWith("#") ? "num" : null, text: c.replace(/^#/, "") })));

refresh = every(5000, async () => {
  try {
    const data = await getJson(view.path);
    const items = data[view.key];
    $("ops").querySelector("tbody").replaceChildren(...items.map(view.row));
    $("ops-empty").hidden = items.length > 0;
    showError($("ops-error"), null);
    renderLive($("live"), { state: "live", mode: "every 5 s" });
  } catch (e) {
    showError($("ops-error"), e, view.what);
    renderLive($("live"), { state: e.status === 401 || e.status === 403 ? "auth" : "offline" });
  }
});
