#!/usr/bin/env bash
# Live sending through the Email API: POST /api/send (a 5 KB text message, one recipient, from the account's demo
# domain to the admin's own address) with wrk over 32 keep-alive connections (bench/send_api.lua). Deliveries go
# through `--relay` to a local Postfix smtp-sink, so the delivery engine (read the queued row, DKIM-sign, relay,
# record the outcome) runs on the same two cores while the API accepts. Phases, each on a drained queue:
#   full load   32 connections as fast as they go → accepted messages/s, p50/p90/p99
#   half rate   the same 32 connections, each pausing before its requests so the rate is about half the full
#               load's (one 5 s calibration run, then the measured run) → achieved rate, p50/p90/p99
# After each phase the script waits until smtp-sink has received every accepted message (the server's count of
# 200 answers to /api/send, from /metrics) and checks that the email logs say `delivered` for each of them.
# Loopback only; everything it starts or writes is gone when it exits.
#   bench/send_api.sh
#   env: BUILD=build (the binary is $BUILD/postroom; built Release there when missing), POSTROOM_BIN= (overrides),
#        DB=sqlite|postgres|both (postgres: a private PostgreSQL 15, fsync on), DURATION=15, CONNECTIONS=32,
#        THREADS=2, SIZE=5000 (bytes of text), DRAIN_TIMEOUT=1200, POSTROOM_ARGS= (more serve options),
#        SKIP_DEPS=1 (do not run scripts/install-deps.sh --bench first)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
bin=${POSTROOM_BIN:-$build/postroom}
databases=${DB:-sqlite}
duration=${DURATION:-15}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
size=${SIZE:-5000}
drain_timeout=${DRAIN_TIMEOUT:-1200}
target_rate=5000   # accepted messages/s at full load
target_p99=25      # ms, at about half that rate
case "$databases" in sqlite) dbs=(sqlite) ;; postgres) dbs=(postgres) ;; both) dbs=(sqlite postgres) ;;
  *) echo "DB must be sqlite, postgres or both" >&2; exit 2 ;; esac

[ "${SKIP_DEPS:-0}" = 1 ] || scripts/install-deps.sh --bench
for tool in wrk smtp-sink curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
done
pg_bin=/usr/lib/postgresql/15/bin
if [[ " ${dbs[*]} " == *" postgres "* ]] && [ ! -x "$pg_bin/initdb" ]; then
  echo "PostgreSQL 15 is missing: scripts/install-deps.sh --test installs it" >&2; exit 1
fi
if [ ! -x "$bin" ]; then
  [ -z "${POSTROOM_BIN:-}" ] || { echo "$bin not found" >&2; exit 1; }
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPOSTROOM_TESTS=OFF
  cmake --build "$build" -j "$(nproc)" --target postroom
fi
bin=$(realpath "$bin")
lua=$(realpath bench/send_api.lua)

tmp=$(mktemp -d)
chmod 755 "$tmp"  # smtp-sink drops to nobody; PostgreSQL runs as postgres
pids=()
pg_dir=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # port pid
  for _ in $(seq 600); do
    kill -0 "$2" 2>/dev/null || { echo "the server for port $1 exited" >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2; return 1
}
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: $(nproc) cores, ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin"

# --- the smarthost: smtp-sink, counting messages (-c prints "sess=… quit=… mesg=N" after each) ------------------
sink_port=$(free_port)
sink_user=()
[ "$(id -u)" = 0 ] && sink_user=(-u nobody)
(cd "$tmp" && exec smtp-sink -c "${sink_user[@]}" "127.0.0.1:$sink_port" 1024) >"$tmp/sink.out" 2>&1 &
pids+=($!)
wait_port "$sink_port" "$!"
sink_count() { tail -c 200 "$tmp/sink.out" | tr '\r' '\n' | awk -F'mesg=' 'NF > 1 {n = $2 + 0} END {print n + 0}'; }

# --- the request body: ~5 KB of text ----------------------------------------------------------------------------
python3 - "$tmp/body.json" "$size" <<'PY'
import json, random, sys
path, size = sys.argv[1], int(sys.argv[2])
rng = random.Random(5)
words = ("order shipping invoice account receipt delivery package thanks update customer payment status support "
         "product review details warehouse tracking number refund").split()
lines, total = [], 0
while total < size:
    line = " ".join(rng.choice(words) for _ in range(11))
    lines.append(line)
    total += len(line) + 2
text = "\r\n".join(lines)[:size]
json.dump({"from": {"email": "orders@demo.postroom.test", "name": "Bench Shop"},
           "to": [{"email": "admin@postroom.local", "name": "Admin"}],
           "subject": "Your order has shipped", "text": text, "category": "bench"}, open(path, "w"))
PY

# wrk against $url: run_wrk SECONDS DELAY_MS → "requests seconds p50 p90 p99 max non2xx errors"
run_wrk() {
  local out
  out=$(SEND_BODY_FILE="$tmp/body.json" SEND_TOKEN="$token" SEND_DELAY_MS="$2" \
    wrk -t"$threads" -c"$connections" -d"$1s" --timeout 10s -s "$lua" "$url" 2>&1) ||
    { echo "wrk failed: $out" >&2; return 1; }
  grep '^RESULT ' <<<"$out" | cut -d' ' -f2- | grep . || { echo "wrk printed no result: $out" >&2; return 1; }
}
accepted_total() {  # the server's count of 200 answers to POST /api/send
  curl -fsS "http://127.0.0.1:$http_port/metrics" |
    awk '/^postroom_http_requests_total\{route="\/api\/send",method="POST",status="200"\}/ {print $2; f=1} END {if (!f) print 0}'
}
# Waits until the sink has received every message accepted so far → "seconds_waited"
drain() {
  local want=$(( $(accepted_total) + sink_base )) start=$EPOCHREALTIME started_at=$SECONDS progress_at=$SECONDS last have
  last=$(sink_count)
  while true; do
    have=$(sink_count)
    [ "$have" -ge "$want" ] && break
    [ "$have" != "$last" ] && { last=$have; progress_at=$SECONDS; }
    if (( SECONDS - progress_at > 120 )); then
      echo "no delivery for 120 s: the sink has $((have - sink_base)) of $((want - sink_base)) messages" >&2; return 1
    fi
    if (( SECONDS - started_at > drain_timeout )); then
      echo "the queue did not drain in ${drain_timeout}s ($((have - sink_base)) of $((want - sink_base)))" >&2; return 1
    fi
    sleep 0.2
  done
  python3 -c "print(f'{$EPOCHREALTIME - $start:.1f}')"
}

results=()
for db in "${dbs[@]}"; do
  data="$tmp/postroom-$db"
  database_args=()
  if [ "$db" = postgres ]; then
    pg_dir="$tmp/pg"; pg_port=$(free_port)
    mkdir -p "$pg_dir" && chown postgres:postgres "$pg_dir"
    runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust -E UTF8 >"$pg_dir/initdb.log" 2>&1 ||
      { cat "$pg_dir/initdb.log" >&2; exit 1; }
    # Durable like SQLite with synchronous=FULL: fsync and synchronous_commit stay on (the defaults).
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c max_connections=200" start >/dev/null ||
      { cat "$pg_dir/server.log" >&2; exit 1; }
    database_args=(--database "postgres://postgres@127.0.0.1:$pg_port/postgres")
  fi
  bootstrap=$("$bin" admin bootstrap --data-dir "$data" "${database_args[@]}" --json)
  token=$(json_field "$bootstrap" api_token)
  account=$(json_field "$bootstrap" account_id)
  http_port=$(free_port)
  # Every listener on a free port, so that another Postroom on the machine (tests, benchmarks) never collides.
  listeners=(--sandbox-smtp "127.0.0.1:$(free_port)" --smtp "127.0.0.1:$(free_port)" --smtp-bulk "127.0.0.1:$(free_port)")
  if "$bin" serve --help | grep -q -- '--sandbox-pop3 '; then  # older binaries have no POP3 listener
    listeners+=(--sandbox-pop3 "127.0.0.1:$(free_port)")
  fi
  "$bin" serve --data-dir "$data" "${database_args[@]}" --http "127.0.0.1:$http_port" "${listeners[@]}" \
    --relay "smtp://127.0.0.1:$sink_port" --relay-tls none --rate-limit-requests 2000000000 --log-level warn \
    ${POSTROOM_ARGS:-} >"$tmp/postroom-$db.log" 2>&1 &
  pids+=($!)
  server_pid=$!
  wait_port "$http_port" "$server_pid" || { tail -20 "$tmp/postroom-$db.log" >&2; exit 1; }
  url="http://127.0.0.1:$http_port/api/send"
  sink_base=$(sink_count)
  # One send first: creates the demo domain (and its DKIM keys) and proves the path works.
  first=$(curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary "@$tmp/body.json" "$url")
  [ "$(json_field "$first" success)" = True ] || { echo "POST /api/send failed: $first" >&2; exit 1; }
  drain >/dev/null

  echo "[$db] warm-up (3 s), then full load: wrk -t$threads -c$connections -d${duration}s" >&2
  run_wrk 3 0 >/dev/null
  drain >/dev/null
  sink_before=$(sink_count); ticks_before=$(cpu_ticks "$server_pid")
  out=$(run_wrk "$duration" 0)
  read -r f_req f_sec f_p50 f_p90 f_p99 f_max f_non2xx f_err <<<"$out"
  ticks_after=$(cpu_ticks "$server_pid"); sink_after=$(sink_count)
  f_delivered_during=$((sink_after - sink_before))
  f_drain=$(drain)
  f_cpu_ms=$(python3 -c "print(f'{($ticks_after - $ticks_before) * 1000 / $(getconf CLK_TCK) / max(1, $f_req):.3f}')")

  # Half rate: each connection pauses ~D ms before each request. rate ≈ connections / (D + latency): one
  # calibration run measures the latency at a first guess of D, then D is set for half the full-load rate.
  half=$(python3 -c "print($f_req / $f_sec / 2)")
  d0=$(python3 -c "print(max(1, round(1000 * $connections / $half * 0.8)))")
  echo "[$db] half rate (target $(printf %.0f "$half")/s): calibration with ${d0} ms pauses" >&2
  out=$(run_wrk 5 "$d0")
  read -r c_req c_sec _ <<<"$out"
  drain >/dev/null
  d1=$(python3 -c "
rate = $c_req / $c_sec
latency_ms = 1000 * $connections / rate - $d0
print(max(1, round(1000 * $connections / $half - latency_ms)))")
  echo "[$db] half rate: ${d1} ms pauses, wrk -t$threads -c$connections -d${duration}s" >&2
  sink_before=$(sink_count)
  out=$(run_wrk "$duration" "$d1")
  read -r h_req h_sec h_p50 h_p90 h_p99 h_max h_non2xx h_err <<<"$out"
  h_delivered_during=$(( $(sink_count) - sink_before ))
  h_drain=$(drain)

  accepted=$(accepted_total)
  delivered_sink=$(( $(sink_count) - sink_base ))
  logs=$(curl -fsS -g -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$http_port/api/accounts/$account/email_logs?filters[status][operator]=equal&filters[status][value]=delivered")
  delivered_logs=$(json_field "$logs" total_count)
  echo "[$db] accepted $accepted, smtp-sink received $delivered_sink, email logs delivered $delivered_logs" >&2
  if [ "$accepted" != "$delivered_sink" ] || [ "$accepted" != "$delivered_logs" ]; then
    echo "MISMATCH: accepted $accepted, delivered to the sink $delivered_sink, logged delivered $delivered_logs" >&2
    exit 1
  fi
  results+=("$db $f_req $f_sec $f_p50 $f_p90 $f_p99 $f_max $f_non2xx $f_err $f_delivered_during $f_drain $f_cpu_ms $d1 $h_req $h_sec $h_p50 $h_p90 $h_p99 $h_max $h_non2xx $h_err $h_delivered_during $h_drain $accepted $delivered_sink $delivered_logs")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  if [ "$db" = postgres ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null; pg_dir=""
  fi
done

python3 - "$connections" "$threads" "$duration" "$size" "$target_rate" "$target_p99" "$(cut -d' ' -f1-3 /proc/loadavg)" "${results[@]}" <<'PY'
import sys
conns, threads, duration, size, target_rate, target_p99, load = sys.argv[1:8]
target_rate, target_p99 = float(target_rate), float(target_p99)
mark = lambda ok: "PASS" if ok else "FAIL"
print(f"POST /api/send, {size}-byte text, 1 recipient; wrk -t{threads} -c{conns} -d{duration}s keep-alive; "
      f"delivery through --relay to smtp-sink running at the same time")
print(f"{'database':9}{'phase':11}{'msg/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'non-2xx':>9}"
      f"{'errors':>8}{'delivered/s':>13}{'drain s':>9}")
verdicts = []
for row in sys.argv[8:]:
    v = row.split()
    db = v[0]
    f = dict(zip("req sec p50 p90 p99 max non2xx err during drain cpu".split(), map(float, v[1:12])))
    delay = v[12]
    h = dict(zip("req sec p50 p90 p99 max non2xx err during drain".split(), map(float, v[13:23])))
    accepted, sink, logs = v[23:26]
    f_rate, h_rate = f["req"] / f["sec"], h["req"] / h["sec"]
    for name, p, rate in (("full", f, f_rate), ("half", h, h_rate)):
        print(f"{db:9}{name:11}{rate:>8.0f}{p['p50']:>9.2f}{p['p90']:>9.2f}{p['p99']:>9.2f}{p['max']:>9.1f}"
              f"{p['non2xx']:>9.0f}{p['err']:>8.0f}{p['during'] / p['sec']:>13.0f}{p['drain']:>9.1f}")
    print(f"  [{db}] half rate: {delay} ms pause per request and connection → {h_rate:.0f}/s = "
          f"{100 * h_rate / f_rate:.0f} % of full load; server CPU {f['cpu']:.2f} ms per accepted message at full load")
    print(f"  [{db}] accepted (server-side 200s, warm-up and calibration included) {accepted}; received by "
          f"smtp-sink {sink}; email logs 'delivered' {logs}: {'equal' if accepted == sink == logs else 'MISMATCH'}")
    verdicts.append(f"[{db}] accepted at full load   {f_rate:7.0f} msg/s  target >= {target_rate:.0f}    {mark(f_rate >= target_rate)}")
    verdicts.append(f"[{db}] p99 at ~half rate       {h['p99']:7.2f} ms     target < {target_p99:.0f} ms     "
                    f"{mark(h['p99'] < target_p99)}  (at {h_rate:.0f}/s"
                    + (f"; half the target rate, {target_rate / 2:.0f}/s, is above the full-load rate)"
                       if f_rate < target_rate / 2 else ")"))
print(f"load average at the end: {load}")
print("\n".join(verdicts))
PY
