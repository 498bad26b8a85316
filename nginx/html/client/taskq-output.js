// taskq-output.js — a task's streamed output in a browser, in order, each chunk once.
// A plain ES module beside taskq-client.js (docs/live-progress.md#streamed-output):
//
//   import { createClient } from "/client/taskq-client.js";
//   import { followOutput } from "/client/taskq-output.js";
//   const out = followOutput(createClient({ viewToken }), id, { onChunk(c), onDone(info), onError(err) });
//   out.stop();
//
// Chunks are {seq, attempt, data, at} (seq 1, 2, … per task across attempts; a chunk with
// truncated: true is the cap's marker, its data ""). They come from the output stream
// (EventSource on /api/tasks/{id}/output/stream, `event: output`, a channel apart from the
// task's own stream, with nchan's message ids for Last-Event-ID), and whatever the stream
// lacks (chunks sent before the subscription, or dropped from nchan's buffer during a long
// disconnection) is read from GET /api/tasks/{id}/output?after=SEQ: a chunk whose seq is not
// the next one holds the stream until the pages in between are read. onChunk gets every seq
// once, in order, whatever the reconnects. The stream ends a second after the task's final
// state; then the rest is read once more and onDone({last, truncated}) is called. A view
// token or the page's cookie authorises it, as for follow() (taskq-client.js). The stream
// holds one of the origin's LIVE_SLOTS (taskq-client.js: a browser opens at most 6
// connections per host for all its tabs); without one it reads the pages every pollMs and
// tries for a slot again every few seconds. live: false reads the pages only (every pollMs
// until finish()): no stream, no slot, for a view where a second's delay is fine.

import { setViewCookie, errorOf } from "./taskq-client.js";

export const OUTPUT_PAGE = 1000;   // the API's largest ?limit=

// llmText(data) — the text of one chunk an LLM API streamed (OpenAI's
// {"choices":[{"delta":{"content"}}]}, Anthropic's {"delta":{"text"}}), else data as it is.
export function llmText(data) {
  let v;
  try { v = JSON.parse(data); } catch { return data; }
  const c = v && Array.isArray(v.choices) && v.choices[0];
  if (c && c.delta && typeof c.delta.content === "string") return c.delta.content;
  if (c && typeof c.text === "string") return c.text;
  if (v && v.delta && typeof v.delta.text === "string") return v.delta.text;
  return typeof v === "string" ? v : "";
}

export function followOutput(client, id, { onChunk, onDone, onError, viewToken, after = 0, live = true } = {}) {
  const path = `${client.taskPath(id)}/output`;
  const vt = viewToken || client.viewToken;
  const held = new Map();      // seq → chunk that came before the ones in between
  let next = after;            // the last seq handed over
  let filling = null;          // the page reads under way (a promise)
  let stopped = false, ended = false, es = null, truncated = false, slot = null, timer = null, ticks = 0;

  const give = (c) => {
    if (c.seq <= next) return;                    // a repeat: the stream and a page overlap
    if (c.seq > next + 1) { held.set(c.seq, c); fill(); return; }
    next = c.seq;
    if (c.truncated) truncated = true;
    try { if (onChunk) onChunk(c); } catch (err) { setTimeout(() => { throw err; }); }
    while (held.has(next + 1)) { const h = held.get(next + 1); held.delete(next + 1); give(h); }
  };

  // reads the pages after `next` until one is short; resolves when done
  const fill = () => {
    if (filling || stopped) return filling;
    filling = (async () => {
      try {
        for (;;) {
          const resp = await client.request("GET", `${path}?after=${next}&limit=${OUTPUT_PAGE}`, { viewToken: vt });
          if (!resp.ok) throw errorOf(resp);
          if (resp.data.output_truncated) truncated = true;
          for (const c of resp.data.chunks) give(c);
          if (stopped || resp.data.chunks.length < OUTPUT_PAGE) break;
        }
      } catch (err) {
        if (onError && !stopped) onError(err);
      } finally {
        filling = null;
      }
      if (held.size && !stopped) fill();          // something newer came while reading
    })();
    return filling;
  };

  const close = () => {
    clearTimeout(timer);
    if (es) { es.close(); es = null; }
    if (slot) { slot.release(); slot = null; }
  };

  const finish = async () => {
    if (ended || stopped) return;
    ended = true;
    close();
    await fill();
    while (filling) await filling;
    if (!stopped && onDone) onDone({ last: next, truncated });
  };

  const url = `${client.base}${path}/stream`;
  const q = vt && !setViewCookie(url, vt, client.serverNow()) ? `?view_token=${encodeURIComponent(vt)}` : "";
  const open = () => {
    es = new client.EventSourceFn(url + q);
    es.addEventListener("output", (ev) => {
      let c;
      try { c = JSON.parse(ev.data); } catch { return; }
      if (c && c.seq > 0) give(c);                // {"seq":0}: the channel's opening message
    });
    // the browser reconnects by itself (Last-Event-ID); a refusal (410 once the task is
    // finished and its stream ended, 403/404) closes it: the pages have the rest
    es.onerror = () => { if (es && es.readyState === 2) finish(); };
  };
  // without a slot: the pages every pollMs, and a slot asked for every fifth time
  const tick = async () => {
    timer = null;
    if (stopped || ended) return;
    if (live && ticks++ % 5 === 0 && typeof client.EventSourceFn === "function") {
      slot = await client.acquireSlot();
      if (stopped || ended) { if (slot) slot.release(); slot = null; return; }
      if (slot) { open(); fill(); return; }
    }
    await fill();
    if (!stopped && !ended) timer = setTimeout(tick, client.timing.pollMs);
  };
  fill();   // what came before the subscription
  tick();
  return {
    stop() { stopped = true; close(); },
    // the task reached a final state: the stream is about to end; read the rest now
    finish,
    get next() { return next; },
    get truncated() { return truncated; },
  };
}
