-- wrk script of bench/send_api.sh: POST /api/send with the body in $SEND_BODY_FILE and the token in $SEND_TOKEN.
-- $SEND_DELAY_MS > 0 makes each connection pause that long on average (uniformly 0.5–1.5 ×, so connections do
-- not march in step) before each request: wrk cannot pace a fixed rate, so a lower rate is approximated by
-- delaying. wrk's latency excludes the delay (it is taken from the write of the request to its response).
-- done() prints one line for the script: "RESULT requests seconds p50_ms p90_ms p99_ms max_ms non2xx errors".
local body_file = assert(os.getenv("SEND_BODY_FILE"), "SEND_BODY_FILE is not set")
local f = assert(io.open(body_file, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("SEND_TOKEN"), "SEND_TOKEN is not set")

local delay_ms = tonumber(os.getenv("SEND_DELAY_MS") or "0") or 0
if delay_ms > 0 then
  function delay()
    return math.floor(delay_ms * (0.5 + math.random()))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.3f %.3f %.3f %.3f %d %d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
