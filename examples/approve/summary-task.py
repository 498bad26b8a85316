#!/usr/bin/python3
"""summary-task — a streamed summary of a request, as a taskq command kind ("approve_summary").

It asks an LLM API for a short summary of the request and streams the answer's tokens to the
task's output as they come ("output \"<token>\"" lines: a JSON string, streamed as it is;
docs/kinds.md, Command kinds), so a page shows the summary being written
(<taskq-progress output>, docs/live-progress.md#streamed-output); the whole summary is the
result. Payload {"llm_url", "title"?, "amount"?, "requester"?}: llm_url is an OpenAI-style
chat completions URL that streams Server-Sent Events. ./dev example runs a local stand-in
(tests/integration/programs/llm_stub.py) and its worker serves this kind; a deployment would
name its own API (and keep its key in the program, never in the payload).
"""

import json
import sys
import urllib.request


def main():
    p = json.loads(sys.stdin.readline() or "{}")
    url = p.get("llm_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        print("payload: llm_url must be an http(s) URL", file=sys.stderr)
        sys.exit(2)
    prompt = "Summarise this purchase request for its approver in two sentences: %s, %s, by %s." % (
        p.get("title", "?"), p.get("amount", "?"), p.get("requester", "?"))
    body = json.dumps({"model": "summary", "stream": True,
                       "messages": [{"role": "user", "content": prompt}]}).encode()
    req = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/json", "Accept": "text/event-stream"})
    print("progress 10 asking for a summary", flush=True)
    text = []
    with urllib.request.urlopen(req, timeout=60) as resp:
        for raw in resp:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.startswith("data:"):
                continue
            data = line[5:].lstrip(" ")
            if data == "[DONE]":
                break
            try:
                tok = json.loads(data)["choices"][0]["delta"].get("content") or ""
            except (ValueError, KeyError, IndexError, TypeError):
                continue
            if tok:
                text.append(tok)
                print("output " + json.dumps(tok), flush=True)
    print("progress 100 summary written", flush=True)
    print(json.dumps({"summary": "".join(text).strip()}), flush=True)


if __name__ == "__main__":
    main()
