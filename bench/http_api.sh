#!/usr/bin/env bash
# Authenticated GET /api/accounts/{id}/api_tokens on Postroom vs nginx serving a static JSON file of the same
# size, both with wrk over 64 keep-alive connections on this machine. Prints requests/s, the ratio, p99
# latency and Postroom's idle RSS. Loopback only.
#   bench/http_api.sh   (env: DURATION=15, CONNECTIONS=64, THREADS=2, POSTROOM_BIN=build/postroom, POSTROOM_ARGS=)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${POSTROOM_BIN:-build/postroom}
duration=${DURATION:-15}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}

for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "$bin not found: build it first (make build)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$tmp/nginx/nginx.pid" ] && kill "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wrk's output → "requests_per_second p99_ms"
measure() {
  local url=$1; shift
  wrk -t"$threads" -c"$connections" -d3s "$@" "$url" >/dev/null  # warm-up
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@" "$url" | python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", text).groups()
p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
print(f"{rps:.0f} {p99:.2f}")'
}

bootstrap=$("$bin" admin bootstrap --data-dir "$tmp/data" --json)
account=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["account_id"])' "$bootstrap")
token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_token"])' "$bootstrap")

port=$(free_port)
"$bin" serve --data-dir "$tmp/data" --http "127.0.0.1:$port" --sandbox-pop3 "" --rate-limit-requests 2000000000 \
  --log-level warn \
  ${POSTROOM_ARGS:-} >"$tmp/postroom.log" 2>&1 &
pids+=($!)
server_pid=$!
for _ in $(seq 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 2
idle_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")

url="http://127.0.0.1:$port/api/accounts/$account/api_tokens"
mkdir -p "$tmp/www" "$tmp/nginx/logs"
curl -fsS -H "Authorization: Bearer $token" "$url" >"$tmp/www/tokens.json"
body_bytes=$(stat -c %s "$tmp/www/tokens.json")

nginx_port=$(free_port)
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
$([ "$(id -u)" = 0 ] && echo "user root;")
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/client_body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
    default_type application/json;
  }
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"

read -r postroom_rps postroom_p99 < <(measure "$url" -H "Authorization: Bearer $token")
read -r nginx_rps nginx_p99 < <(measure "http://127.0.0.1:$nginx_port/tokens.json")

python3 - "$postroom_rps" "$postroom_p99" "$nginx_rps" "$nginx_p99" "$idle_rss_kb" "$body_bytes" "$duration" \
  "$connections" "$threads" <<'PY'
import sys
p_rps, p_p99, n_rps, n_p99, rss_kb, body, duration, conns, threads = sys.argv[1:]
p_rps, p_p99, n_rps, n_p99, rss = float(p_rps), float(p_p99), float(n_rps), float(n_p99), int(rss_kb) / 1024
ratio = 100 * p_rps / n_rps
mark = lambda ok: "PASS" if ok else "MISS"
print(f"GET /api/accounts/{{id}}/api_tokens ({body} bytes), wrk -t{threads} -c{conns} -d{duration}s, keep-alive")
print(f"{'':22}{'requests/s':>12}{'p99 ms':>10}")
print(f"{'postroom':22}{p_rps:>12.0f}{p_p99:>10.2f}")
print(f"{'nginx (static file)':22}{n_rps:>12.0f}{n_p99:>10.2f}")
print(f"ratio postroom/nginx  {ratio:.1f} %   target >= 50 %   {mark(ratio >= 50)}")
print(f"postroom p99          {p_p99:.2f} ms  target < 5 ms    {mark(p_p99 < 5)}")
print(f"postroom idle RSS     {rss:.1f} MB  target < 25 MB   {mark(rss < 25)}")
PY
