// submit.js — the submit form: kind + JSON payload + options → POST /api/tasks → the new
// task's live page (task.html?id=…), which shows the answer at once (handed over in
// sessionStorage) while it connects.

import { api, errorOf, describeError, errorTitle, taskPageHref } from "./api.js";

// Payload templates for the shipped kinds; the textarea takes one when the kind changes and
// the payload was not edited by hand.
const TEMPLATES = {
  sleep: { steps: 10, step_ms: 300 },
  noop: {},
  http: { method: "GET", url: "https://example.com/" },
};

const INT_FIELDS = ["priority", "max_attempts", "timeout_s"];
const NUM_FIELDS = ["delay_s"];

export function initSubmit(form, { onCreated } = {}) {
  const kind = form.elements.kind;
  const payload = form.elements.payload;
  const errorBox = form.querySelector(".error");
  const button = form.querySelector("button[type=submit]");
  let edited = false;

  const template = (k) => (k in TEMPLATES ? JSON.stringify(TEMPLATES[k], null, 2) : "{}");
  if (!payload.value.trim()) payload.value = template(kind.value);
  payload.addEventListener("input", () => { edited = true; payload.setCustomValidity(""); });
  // a shipped kind brings its example payload, unless the payload was edited by hand
  kind.addEventListener("input", () => {
    const k = kind.value.trim();
    if (!edited && k in TEMPLATES) payload.value = template(k);
  });

  // Ctrl+Enter (⌘+Enter) in the payload submits, as in most editors
  payload.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
  });

  // the API's refusal in words (its own message says what is wrong with the task); the
  // status and the code in the title
  const refused = (e) => {
    const text = (e.status === 400 || e.status === 413 || e.status === 422) && e.message
      ? `Not submitted: ${e.message.replace(/\.$/, "")}.` : `Not submitted. ${describeError(e)}`;
    errorBox.textContent = text;
    errorBox.title = errorTitle(e);
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errorBox.textContent = "";
    errorBox.removeAttribute("title");
    const body = { kind: kind.value.trim() };
    if (!body.kind) {
      errorBox.textContent = "kind: required";
      kind.focus();
      return;
    }
    const text = payload.value.trim();
    if (text) {
      try {
        body.payload = JSON.parse(text);
      } catch (err) {
        errorBox.textContent = `payload: not valid JSON (${err.message})`;
        payload.focus();
        return;
      }
      if (body.payload === null || typeof body.payload !== "object" || Array.isArray(body.payload)) {
        errorBox.textContent = "payload: must be a JSON object, e.g. {}";
        payload.focus();
        return;
      }
    }
    const queue = form.elements.queue.value.trim();
    if (queue) body.queue = queue;
    for (const name of [...INT_FIELDS, ...NUM_FIELDS]) {
      const v = form.elements[name].value.trim();
      if (v === "") continue;
      const n = Number(v);
      if (!Number.isFinite(n)) {
        errorBox.textContent = `${name}: not a number`;
        form.elements[name].focus();
        return;
      }
      body[name] = n;    // ranges are the API's to judge: its error is shown as it is
    }

    button.disabled = true;
    const label = button.textContent;
    button.textContent = "Submitting…";
    try {
      const resp = await api("/api/tasks", { method: "POST", body });
      if (resp.status === 202 || (resp.status === 200 && resp.data && resp.data.id)) {
        const task = resp.data;
        try { sessionStorage.setItem(`taskq.task.${task.id}`, JSON.stringify(task)); } catch { /* fine */ }
        if (onCreated) onCreated(task, resp.status);
        else location.assign(taskPageHref(task.id) + (resp.status === 200 ? "&dedupe=1" : ""));
        return;
      }
      const e = errorOf(resp);
      refused(e);
      // point at the field the message names, when it names one
      const m = /^([a-z_]+)\b/.exec(e.message || "");
      const field = m && m[1];
      if (e.code === "unknown_kind") kind.focus();
      else if (field && form.elements[field]) form.elements[field].focus();
    } catch (err) {
      refused(err);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}
