-- wrk script of ./dev bench (tests/bench). BENCH_MODE picks what each request is:
--   submit  POST /api/tasks {"kind":"noop","payload":{…~100 bytes, the peers' shape…}}
--   poll    GET /api/tasks/{id}, cycling over BENCH_IDS ("id=version,id=version,…");
--           with BENCH_INM=1 each carries If-None-Match: "<version>" (→ 304 while unchanged)
-- done() prints one line "BENCH {json}" with the latency percentiles for tests/bench.

local mode = os.getenv("BENCH_MODE") or "submit"
-- BENCH_TOKEN: a bearer token to send (a stack with auth on)
local token = os.getenv("BENCH_TOKEN")
local reqs = {}
local i = 0
local n = 0

init = function(args)
  if mode == "poll" then
    local inm = os.getenv("BENCH_INM") == "1"
    for id, ver in string.gmatch(os.getenv("BENCH_IDS") or "", "([^=,]+)=([^,]+)") do
      local h = {}
      if token then h["Authorization"] = "Bearer " .. token end
      if inm then h["If-None-Match"] = '"' .. ver .. '"' end
      reqs[#reqs + 1] = wrk.format("GET", "/api/tasks/" .. id, h)
    end
    if #reqs == 0 then error("BENCH_IDS is empty") end
    -- threads start at different ids
    i = math.random(#reqs) - 1
  else
    n = math.random(1, 50000000)
  end
end

request = function()
  if mode == "poll" then
    i = i % #reqs + 1
    return reqs[i]
  end
  n = n + 1
  local body = string.format(
    '{"kind":"noop","payload":{"kind":"http","url":"https://example.test/api/v1/items/%08d","method":"POST","n":%d}}',
    n % 100000000, n)
  local h = { ["Content-Type"] = "application/json" }
  if token then h["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/api/tasks", h, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
