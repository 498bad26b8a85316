// api.js — the one way the dashboard talks to taskq's HTTP API.
//
// api(path, options) sends a request and resolves to {status, ok, data, etag, headers}; it
// never throws for an HTTP status (callers decide what a 304, 404 or 409 means), only for a
// network failure (ApiError with status 0) or an abort. errorOf(resp) turns an error answer
// into {status, code, message} from the API's JSON error body; describeError(x) says it in
// words for the page, errorTitle(x) keeps the status and code for a tooltip.
//
// Auth: when a token is stored (localStorage "taskq.token") every request carries
// "Authorization: Bearer <token>", and the cookie taskq_token holds it too (path /api), for
// EventSource, which cannot send headers: the server takes the cookie for GET requests only.
// A 401 answer fires "taskq:auth-required" on window (detail: the error). whoAmI() asks GET
// /api/me who the token belongs to; checkToken(token) asks it about a token before it is kept.

import { createClient, explain, errorDetail } from "./client/taskq-client.js";

const TOKEN_KEY = "taskq.token";
const COOKIE = "taskq_token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export function getToken() {
  try { return localStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
    // tasks handed from the submit form to a task page belong to the old token
    for (const k of Object.keys(sessionStorage)) if (k.startsWith("taskq.task.")) sessionStorage.removeItem(k);
  } catch { /* storage disabled: the token lives only as long as the page */ }
  syncTokenCookie(token);
  window.dispatchEvent(new CustomEvent("taskq:token-changed"));
}

// syncTokenCookie — the cookie taskq_token mirrors the stored token: a session cookie, sent
// only to /api, never cross-site; cleared without a token (or one a cookie cannot carry).
export function syncTokenCookie(token = getToken()) {
  const attrs = `; path=/api; SameSite=Strict${location.protocol === "https:" ? "; Secure" : ""}`;
  document.cookie = /^[A-Za-z0-9._~+\/=-]+$/.test(token || "")
    ? `${COOKIE}=${token}${attrs}`
    : `${COOKIE}=${attrs}; max-age=0`;
}
syncTokenCookie();

// taskq — the embedding client (client/taskq-client.js) with the stored token: the pages
// follow tasks through it, like any other page that embeds taskq.
export const taskq = createClient({ token: getToken });

// whoAmI() — {owner, admin, auth} from GET /api/me, asked once per page (a token change
// reloads the page). A server without /api/me (404/405) has no auth: {owner: null, admin:
// true, auth: false}. null when it cannot be told (401, an error): asked again next time.
let me = null;
export function whoAmI() {
  if (!me) {
    me = api("/api/me", { timeoutMs: 10000 }).then((resp) => {
      if (resp.status === 200 && resp.data && typeof resp.data.admin === "boolean") return resp.data;
      if (resp.status === 404 || resp.status === 405) return { owner: null, admin: true, auth: false };
      me = null;
      return null;
    }, () => { me = null; return null; });
  }
  return me;
}

// feedPath(who) — the live feed this caller may follow: every task for an admin (and without
// auth), else its owner's own.
export const feedPath = (who) => (who.admin || !who.auth ? "/api/stream" : `/api/stream/${encodeURIComponent(who.owner)}`);

// The server's clock minus ours, in ms, from the Date header (1 s resolution): ages are
// computed against the server's "now" so a skewed client clock does not show "-3 s ago".
let clockOffsetMs = 0;
export function serverNow() { return Date.now() + clockOffsetMs; }

function noteDate(headers) {
  const d = headers.get("Date");
  if (!d) return;
  const t = Date.parse(d);
  if (!Number.isNaN(t)) {
    const off = t - Date.now();
    // Date has whole seconds: only trust it when it disagrees by more than that.
    clockOffsetMs = Math.abs(off) > 1500 ? off : 0;
  }
}

// api(path, {method, body (object → JSON), headers, signal, timeoutMs})
export async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }

  const ctrl = new AbortController();
  let timer = null;
  const outer = options.signal;
  const onOuterAbort = () => ctrl.abort(outer.reason);
  if (outer) {
    if (outer.aborted) ctrl.abort(outer.reason);
    else outer.addEventListener("abort", onOuterAbort, { once: true });
  }
  if (options.timeoutMs) timer = setTimeout(() => ctrl.abort(new DOMException("timed out", "TimeoutError")), options.timeoutMs);

  let resp;
  try {
    resp = await fetch(path, {
      method: options.method || "GET",
      headers,
      body,
      cache: "no-store",          // our own If-None-Match reaches the server; 304s reach us
      credentials: "same-origin",
      signal: ctrl.signal,
    });
  } catch (err) {
    if (outer && outer.aborted) throw err;  // the caller gave up: not a network error
    const timedOut = ctrl.signal.aborted;
    throw new ApiError(0, timedOut ? "timeout" : "network", timedOut ? "the request timed out" : "network error: the server cannot be reached");
  } finally {
    if (timer) clearTimeout(timer);
    if (outer) outer.removeEventListener("abort", onOuterAbort);
  }
  noteDate(resp.headers);

  let data = null;
  if (resp.status !== 204 && resp.status !== 304) {
    const text = await resp.text().catch(() => "");
    if (text) {
      try { data = JSON.parse(text); } catch { data = { raw: text }; }
    }
  }
  if (resp.status === 401) window.dispatchEvent(new CustomEvent("taskq:auth-required", { detail: errorOf({ status: 401, data, statusText: resp.statusText }) }));
  const etag = resp.headers.get("ETag");
  return { status: resp.status, ok: resp.ok, data, etag, headers: resp.headers, statusText: resp.statusText };
}

// errorOf(resp) — {status, code, message} for a non-2xx answer.
export function errorOf(resp) {
  const e = resp && resp.data && resp.data.error;
  if (e && typeof e === "object") {
    return { status: resp.status, code: String(e.code || "error"), message: String(e.message || "") };
  }
  const fallback = resp && resp.data && resp.data.raw ? String(resp.data.raw).slice(0, 200) : "";
  return { status: resp ? resp.status : 0, code: "http_" + (resp ? resp.status : 0), message: fallback || (resp && resp.statusText) || "unexpected answer" };
}

// describeError(x) — one sentence for a person, in words ("Not possible in the task's current
// state: task already finished."); errorTitle(x) — the same with its HTTP status and code
// ("HTTP 409 wrong_state: task already finished"), for a title attribute and the console.
export function describeError(x) {
  if (x && typeof x === "object" && "status" in x) return explain(x);
  return String(x && x.message ? x.message : x);
}

export function errorTitle(x) {
  if (x && typeof x === "object" && "status" in x) return errorDetail(x);
  return String(x && x.message ? x.message : x);
}

// checkToken(token) — what GET /api/me says of a token before the page keeps it: {ok: true}
// (accepted, or a server without /api/me), {ok: false, error} (refused), or {ok: null,
// error} (cannot be told now: unreachable).
export async function checkToken(token) {
  let resp;
  try {
    resp = await fetch("/api/me", { headers: { Accept: "application/json", Authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit" });
  } catch {
    return { ok: null, error: new ApiError(0, "network", "network error: the server cannot be reached") };
  }
  if (resp.ok || resp.status === 404 || resp.status === 405) return { ok: true };
  let data = null;
  try { data = await resp.json(); } catch { /* not JSON */ }
  const error = errorOf({ status: resp.status, data, statusText: resp.statusText });
  return { ok: resp.status === 401 || resp.status === 403 ? false : null, error };
}

export const taskPath = (id) => `/api/tasks/${encodeURIComponent(id)}`;
export const taskPageHref = (id) => `task.html?id=${encodeURIComponent(id)}`;
