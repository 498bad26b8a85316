// chart.js — line charts as plain SVG, no library: lineChart(container, spec) draws one chart
// of one or more series over time into container (replacing what it held).
//
// spec: {title, unit, from, to (ms), series: [{name, cls, points: [[ms, value|null], ...]}],
//        format (value → text)}
// A null value breaks the line. Each series has a class (cls) whose stroke the stylesheet
// sets (light and dark), and a legend entry with its latest value in words, so no figure is
// told by colour alone. The SVG has role="img" and an aria-label that says the same as the
// legend; a <details> under it holds the values as a table for keyboard and screen readers.

import { el } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
const W = 600, H = 180, L = 52, R = 10, T = 10, B = 24;

function svg(tag, attrs = {}, text = null) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== null) e.textContent = text;
  return e;
}

// a "nice" top for the y axis: 1, 2 or 5 times a power of ten
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const hhmm = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });

export function lineChart(container, spec) {
  const fmt = spec.format || ((v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)));
  const vals = spec.series.flatMap((s) => s.points.map((p) => p[1]).filter((v) => v !== null && v !== undefined));
  // counts have whole ticks: at least 0..4
  const top = spec.format ? niceMax(Math.max(0, ...vals)) : Math.max(4, niceMax(Math.max(0, ...vals)));
  const span = Math.max(1, spec.to - spec.from);
  const x = (t) => L + ((t - spec.from) / span) * (W - L - R);
  const y = (v) => T + (1 - v / top) * (H - T - B);
  const latest = (s) => { const p = s.points.filter((q) => q[1] !== null && q[1] !== undefined).at(-1); return p ? fmt(p[1]) : "no data"; };
  const summary = spec.series.map((s) => `${s.name}: latest ${latest(s)}`).join("; ");

  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${spec.title} (${spec.unit}). ${vals.length ? summary : "No data in this range."}` });
  // whole steps: 4 or 5 of them
  const n = spec.format ? 4 : [4, 5].find((k) => Number.isInteger(top / k)) || 4;
  for (let i = 0; i <= n; i++) {
    const v = (top * i) / n;
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    root.append(svg("text", { x: L - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, fmt(v)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = spec.from + (span * i) / 4;
    root.append(svg("text", { x: x(t), y: H - 6, class: "tick", "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, hhmm(t)));
  }
  for (const s of spec.series) {
    let d = "";
    let pen = false;
    for (const [t, v] of s.points) {
      if (v === null || v === undefined) { pen = false; continue; }
      d += `${pen ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    if (d) root.append(svg("path", { d, class: `line ${s.cls}` }));
    // sparse points (a quiet queue's latencies) show as dots, not only as short strokes
    const known = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
    if (known.length <= 60 && known.length < s.points.length) {
      for (const [t, v] of known) root.append(svg("circle", { cx: x(t), cy: y(v), r: 2.5, class: `dot ${s.cls}` }));
    }
  }
  const legend = el("ul", { class: "legend" }, ...spec.series.map((s) => el("li", {},
    el("span", { class: `key ${s.cls}`, "aria-hidden": "true" }), `${s.name}: `, el("strong", { text: latest(s) }))));
  const rows = spec.series[0].points.map((p, i) => el("tr", {}, el("th", { scope: "row", text: hhmm(p[0]) }),
    ...spec.series.map((s) => el("td", { class: "num", text: s.points[i] && s.points[i][1] !== null && s.points[i][1] !== undefined ? fmt(s.points[i][1]) : "—" }))));
  const table = el("details", { class: "chart-data" }, el("summary", { text: "values" }),
    el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "time" }),
      ...spec.series.map((s) => el("th", { scope: "col", class: "num", text: s.name })))), el("tbody", {}, ...rows))));
  container.replaceChildren(el("h3", { text: `${spec.title} (${spec.unit})` }), root, legend, table);
}
