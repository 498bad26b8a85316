// live.js — the overview's live feed of changed tasks (/api/stream, /api/stream/{owner}).
//
// Following one task (stream → long-poll → polling, for the task page and for any page that
// embeds taskq) is client/taskq-client.js's follow(); this is a different thing: a list feed,
// batches of every task that changed, which only the dashboard's overview reads. It shares
// the client's live slots, so the feed and the task pages of one browser hold at most
// LIVE_SLOTS connections together.

import { acquireSlot, TIMING } from "./client/taskq-client.js";

const SSE_OPEN_MS = TIMING.sseOpenMs;
const MAX_BACKOFF_MS = TIMING.maxBackoffMs;

// ---- the dashboard's live feed ----------------------------------------------------------------
// followFeed({path, onTasks(list), onStatus(state)}) — EventSource(path): batches
// {"tasks":[…]} of changed tasks; path is /api/stream (every task: admins) or
// /api/stream/{owner} (one owner's), see feedPath in api.js. It holds a connection, so it takes
// one of the live slots like a task page; without a slot, or when the server has no feed (it
// never opens), it reports "unavailable" and the caller keeps to its periodic refresh.
// States: "live", "reconnecting", "unavailable". stop() closes it and lets the slot go.
export function followFeed({ path = "/api/stream", onTasks, onStatus }) {
  let es = null;
  let slot = null;
  let stopped = false;
  let everOpened = false;
  let retryTimer = null;
  let failures = 0;

  const close = () => { if (es) { es.close(); es = null; } };
  const open = async () => {
    if (stopped) return;
    if (!slot) slot = await acquireSlot();
    if (stopped) { if (slot) { slot.release(); slot = null; } return; }
    if (!slot) { onStatus("unavailable"); retryTimer = setTimeout(open, 15000); return; }
    let opened = false;
    const mine = new EventSource(path);
    es = mine;
    const openTimer = setTimeout(() => { if (!opened && es === mine) fail(); }, SSE_OPEN_MS);
    mine.onopen = () => { opened = true; everOpened = true; failures = 0; clearTimeout(openTimer); onStatus("live"); };
    mine.onmessage = (ev) => {
      let v;
      try { v = JSON.parse(ev.data); } catch { return; }
      const list = Array.isArray(v) ? v : v && Array.isArray(v.tasks) ? v.tasks : v && v.id ? [v] : null;
      if (list && list.length) onTasks(list);
    };
    mine.onerror = () => { clearTimeout(openTimer); if (es === mine) fail(); };
    function fail() {
      close();
      if (stopped) return;
      if (!opened && !everOpened) {
        // no feed on this server: give the slot back, the caller polls
        if (slot) { slot.release(); slot = null; }
        onStatus("unavailable");
        return;
      }
      failures++;
      onStatus("reconnecting");
      retryTimer = setTimeout(open, Math.min(MAX_BACKOFF_MS, 250 * 2 ** failures));
    }
  };
  open();
  return {
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      close();
      if (slot) { slot.release(); slot = null; }
    },
  };
}
