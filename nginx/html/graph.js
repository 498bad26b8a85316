// graph.js — a task's chain as a small SVG graph on its page: its parents above it, its
// children below, an arrow from each parent to it and from it to each child; every node is a
// link to its task with its state in a symbol and a word, refreshed every 3 s while any of
// them is unfinished (parents by GET /api/tasks/{id}, children by GET /api/tasks?parent=id).
// mountChain(section, task) shows the section only when the task has a parent or a child.

import { api } from "./api.js";
import { shortId } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
const SYM = { queued: "◷", running: "▶", succeeded: "✓", failed: "✗", cancelled: "⊘" };
const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const NODE_W = 150, NODE_H = 44, GAP = 16, ROW = 90, MAX = 12;

function svg(tag, attrs = {}, text = null) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== null) e.textContent = text;
  return e;
}

function node(t, x, y, self) {
  const state = t.state || "unknown";
  const a = svg("a", { href: `task.html?id=${encodeURIComponent(t.id)}`, class: `node ${state}${self ? " self" : ""}`, "data-id": t.id, "data-state": state, "aria-label": `${self ? "this task" : "task"} ${shortId(t.id)}, ${t.kind || ""}, ${state}${t.progress && state === "running" ? ` ${t.progress}%` : ""}` });
  a.append(svg("rect", { x, y, width: NODE_W, height: NODE_H, rx: 6 }));
  a.append(svg("text", { x: x + 8, y: y + 18, class: "nid" }, shortId(t.id)));
  a.append(svg("text", { x: x + 8, y: y + 36, class: "nstate" }, `${SYM[state] || "?"} ${state}${state === "running" ? ` ${t.progress || 0}%` : ""}`));
  return a;
}

function draw(box, parents, self, children) {
  const widest = Math.max(parents.length, 1, children.length);
  const W = Math.max(1, widest) * (NODE_W + GAP) + GAP;
  const rows = [parents, [self], children].filter((r, i) => i === 1 || r.length);
  const H = rows.length * ROW - (ROW - NODE_H) + 2 * GAP;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "chain", role: "group", "aria-label": `chain: ${parents.length} parent${parents.length === 1 ? "" : "s"}, ${children.length} child${children.length === 1 ? "" : "ren"}` });
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
  defs.append(marker);
  root.append(defs);
  const place = (list, rowIdx) => list.map((t, i) => {
    const x = (W - (list.length * (NODE_W + GAP) - GAP)) / 2 + i * (NODE_W + GAP);
    return { t, x, y: GAP + rowIdx * ROW };
  });
  let r = 0;
  const P = parents.length ? place(parents, r++) : [];
  const S = place([self], r++)[0];
  const C = children.length ? place(children, r++) : [];
  const edge = (a, b) => root.append(svg("line", { x1: a.x + NODE_W / 2, y1: a.y + NODE_H, x2: b.x + NODE_W / 2, y2: b.y - 2, class: "edge", "marker-end": "url(#arrow)" }));
  for (const p of P) edge(p, S);
  for (const c of C) edge(S, c);
  for (const p of P) root.append(node(p.t, p.x, p.y, false));
  root.append(node(S.t, S.x, S.y, true));
  for (const c of C) root.append(node(c.t, c.x, c.y, false));
  box.replaceChildren(root);
}

export function mountChain(section, first) {
  const box = section.querySelector(".chain-box");
  const note = section.querySelector(".note");
  let self = first;
  let timer = null;
  const tick = async () => {
    clearTimeout(timer);
    const ids = (self.parents || []).slice(0, MAX);
    const [own, kids, ...ps] = await Promise.all([
      api(`/api/tasks/${encodeURIComponent(self.id)}`, { timeoutMs: 10000 }).catch(() => null),
      api(`/api/tasks?parent=${encodeURIComponent(self.id)}&limit=${MAX}`, { timeoutMs: 10000 }).catch(() => null),
      ...ids.map((p) => api(`/api/tasks/${encodeURIComponent(p)}`, { timeoutMs: 10000 }).catch(() => null)),
    ]);
    if (own && own.ok) self = own.data;
    const parents = ps.map((r, i) => (r && r.ok ? r.data : { id: ids[i], state: "unknown" }));
    const children = kids && kids.ok ? kids.data.tasks : [];
    if (!parents.length && !children.length) { section.hidden = true; return; }
    section.hidden = false;
    draw(box, parents, self, children);
    const more = (self.parents || []).length > MAX || children.length >= MAX;
    note.textContent = more ? `Showing the first ${MAX} of each row.` : "";
    if ([self, ...parents, ...children].some((t) => !FINAL.has(t.state))) timer = setTimeout(tick, 3000);
  };
  tick();
}
