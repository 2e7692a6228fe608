#!/usr/bin/env bash
# Email Sandbox SMTP ingest: Postfix's smtp-source (20 parallel sessions, 10 KB messages, one connection per
# session) sends the same MESSAGES messages to a sandbox's own address on Postroom (durable: acknowledged after
# the SQLite commit), on smtp-sink (the ceiling: accepts and discards) and on MailDev (npm, pinned in
# bench/package.json). Then it fills a second sandbox with FILL varied messages over SMTP and times SEARCHES
# searches through the API. Prints messages/s, the ratios, Postroom's peak RSS while ingesting, search p50/p99.
# Loopback only; every process and temporary file it starts or makes is gone when it exits.
#   bench/sandbox_smtp.sh
# The ingest runs ROUNDS times, the three servers taking turns in each round (Postroom into a new sandbox and
# MailDev restarted empty each round), and each server's median round is reported: on a shared machine one
# round can be slowed by a neighbour.
#   env: MESSAGES=20000 SESSIONS=20 SIZE=10240 ROUNDS=3 FILL=100000 FILL_CONNECTIONS=8 SEARCHES=300
#        POSTROOM_BIN=build/postroom (built Release into build/ when missing), POSTROOM_ARGS= (more serve options),
#        SKIP_DEPS=1 (do not run scripts/install-deps.sh --bench first)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${POSTROOM_BIN:-build/postroom}
messages=${MESSAGES:-20000}
sessions=${SESSIONS:-20}
size=${SIZE:-10240}
rounds=${ROUNDS:-3}
fill=${FILL:-100000}
fill_connections=${FILL_CONNECTIONS:-8}
searches=${SEARCHES:-300}

[ "${SKIP_DEPS:-0}" = 1 ] || scripts/install-deps.sh --bench
for tool in smtp-source smtp-sink curl python3 node; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
done
maildev=bench/node_modules/.bin/maildev
[ -x "$maildev" ] || { echo "$maildev is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
if [ ! -x "$bin" ]; then
  [ -z "${POSTROOM_BIN:-}" ] || { echo "$bin not found" >&2; exit 1; }
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOSTROOM_TESTS=OFF
  cmake --build build -j "$(nproc)" --target postroom
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"  # smtp-sink drops to nobody
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # port pid: until something listens on 127.0.0.1:port (60 s at most)
  for _ in $(seq 600); do
    kill -0 "$2" 2>/dev/null || { echo "server on port $1 exited" >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/status"; }

# smtp-source with the benchmark's arguments against 127.0.0.1:port → elapsed seconds (15 min at most).
run_source() {
  local port=$1 start end
  start=$EPOCHREALTIME
  timeout 900 smtp-source -s "$sessions" -l "$size" -m "$messages" -d -f bench@example.com -t "$address" \
    "127.0.0.1:$port" >"$tmp/source.log" 2>&1 || { echo "smtp-source failed against port $port:" >&2; cat "$tmp/source.log" >&2; return 1; }
  end=$EPOCHREALTIME
  python3 -c "print(f'{$end - $start:.3f}')"
}

# --- Postroom ----------------------------------------------------------------------------------------------------
bootstrap=$("$bin" admin bootstrap --data-dir "$tmp/postroom" --json)
account=$(json_field "$bootstrap" account_id)
token=$(json_field "$bootstrap" api_token)
inbox=$(json_field "$bootstrap" inbox_id)
project=$(json_field "$bootstrap" project_id)
http_port=$(free_port); smtp_port=$(free_port)
"$bin" serve --data-dir "$tmp/postroom" --http "127.0.0.1:$http_port" --sandbox-smtp "127.0.0.1:$smtp_port" \
  --smtp "127.0.0.1:$(free_port)" --smtp-bulk "127.0.0.1:$(free_port)" --sandbox-pop3 "127.0.0.1:$(free_port)" \
  --sandbox-rate 0 \
  --sandbox-max-messages $((messages + fill)) --rate-limit-requests 2000000000 --log-level warn \
  ${POSTROOM_ARGS:-} >"$tmp/postroom.log" 2>&1 &
pids+=($!)
postroom_pid=$!
wait_port "$http_port" "$postroom_pid"
wait_port "$smtp_port" "$postroom_pid"
api="http://127.0.0.1:$http_port/api/accounts/$account"
auth=(-H "Authorization: Bearer $token")
# The sandbox's own address: enabled, then read back.
sandbox_address() {
  local inbox=$1 body
  body=$(curl -fsS "${auth[@]}" -X PATCH "$api/inboxes/$inbox/toggle_email_username")
  [ "$(json_field "$body" email_username_enabled)" = True ] ||
    body=$(curl -fsS "${auth[@]}" -X PATCH "$api/inboxes/$inbox/toggle_email_username")
  echo "$(json_field "$body" email_username)@$(json_field "$body" email_domain)"
}
emails_count() { json_field "$(curl -fsS "${auth[@]}" "$api/inboxes/$1")" emails_count; }
address=$(sandbox_address "$inbox")
idle_rss_kb=$(kb VmRSS "$postroom_pid")

# --- smtp-sink: the ceiling ------------------------------------------------------------------------------------
sink_port=$(free_port)
sink_user=()
[ "$(id -u)" = 0 ] && sink_user=(-u nobody)
(cd "$tmp" && exec smtp-sink "${sink_user[@]}" "127.0.0.1:$sink_port" 256) >"$tmp/sink.log" 2>&1 &
pids+=($!)
wait_port "$sink_port" "$!"

# --- MailDev: the peer (it writes each message to --mail-directory; no fsync); started empty for each round ------
start_maildev() {
  maildev_smtp=$(free_port); maildev_web=$(free_port)
  rm -rf "$tmp/maildev"; mkdir -p "$tmp/maildev"
  "$maildev" --smtp "$maildev_smtp" --ip 127.0.0.1 --web "$maildev_web" --web-ip 127.0.0.1 \
    --mail-directory "$tmp/maildev" --silent >"$tmp/maildev.log" 2>&1 &
  pids+=($!)
  maildev_pid=$!
  wait_port "$maildev_smtp" "$maildev_pid"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

load_before=$(cut -d' ' -f1 /proc/loadavg)
echo "smtp-source -s $sessions -l $size -m $messages -d -t $address, $rounds rounds" >&2
sink_rounds=(); postroom_rounds=(); maildev_rounds=(); maildev_hwm_kb=0
for round in $(seq "$rounds"); do
  sink_rounds+=("$(run_source "$sink_port")")
  postroom_rounds+=("$(run_source "$smtp_port")")
  stored=$(emails_count "$inbox")
  [ "$stored" = "$messages" ] || { echo "Postroom stored $stored of $messages messages" >&2; exit 1; }
  if [ "$round" != "$rounds" ]; then  # the next round ingests into a new, empty sandbox (made untimed)
    inbox=$(json_field "$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
      -d "{\"inbox\":{\"name\":\"ingest $((round + 1))\"}}" "$api/projects/$project/inboxes")" id)
    address=$(sandbox_address "$inbox")
  fi
  start_maildev
  maildev_rounds+=("$(run_source "$maildev_smtp")")
  hwm=$(kb VmHWM "$maildev_pid")
  [ "$hwm" -gt "$maildev_hwm_kb" ] && maildev_hwm_kb=$hwm
  for _ in $(seq 300); do  # MailDev acknowledges before its file is written
    [ "$(find "$tmp/maildev" -name '*.eml' | wc -l)" -ge "$messages" ] && break
    sleep 0.1
  done
  maildev_stored=$(find "$tmp/maildev" -name '*.eml' | wc -l)
  [ "$maildev_stored" = "$messages" ] || { echo "MailDev stored $maildev_stored of $messages messages" >&2; exit 1; }
  kill "$maildev_pid"
  wait "$maildev_pid" 2>/dev/null || true
  echo "  round $round: smtp-sink ${sink_rounds[-1]}s, postroom ${postroom_rounds[-1]}s, maildev ${maildev_rounds[-1]}s" >&2
done
postroom_hwm_kb=$(kb VmHWM "$postroom_pid")
sink_s=$(median "${sink_rounds[@]}"); postroom_s=$(median "${postroom_rounds[@]}"); maildev_s=$(median "${maildev_rounds[@]}")
load_ingest=$(cut -d' ' -f1 /proc/loadavg)

# --- Search: FILL varied messages into a second sandbox, then SEARCHES API searches ------------------------------
search_inbox=$(json_field "$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"inbox":{"name":"search"}}' "$api/projects/$project/inboxes")" id)
search_address=$(sandbox_address "$search_inbox")
cat >"$tmp/corpus.py" <<'PY'
# The search corpus, the same on every run: 5,000 made-up words whose use follows Zipf's law (the commonest is
# in nearly every message, the rarest in about 0.3 %), 150 of them per body, 5 in the subject, plus a token
# unique to the message ("u0012345x", like an order number).
import itertools, random
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
def vocabulary(n=5000):
    rng = random.Random(7)
    words, seen = [], set()
    while len(words) < n:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w); words.append(w)
    return words
WORDS = vocabulary()
CUMULATIVE = list(itertools.accumulate(1.0 / rank for rank in range(1, len(WORDS) + 1)))
def unique_token(n): return f"u{n:07d}x"
def message(n, rng):
    subject = " ".join(rng.choices(WORDS, cum_weights=CUMULATIVE, k=5)).capitalize()
    body = rng.choices(WORDS, cum_weights=CUMULATIVE, k=150)
    lines = [" ".join(body[i:i + 15]) for i in range(0, len(body), 15)]
    return (f"From: Shop {n % 97} <shop{n % 97}@example.com>\r\nTo: Customer {n % 1009} <customer{n % 1009}@example.net>\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{n}@bench.example.com>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nOrder {unique_token(n)}\r\n\r\n" + "\r\n".join(lines) + "\r\n")
PY
cat >"$tmp/fill.py" <<'PY'
import smtplib, sys, threading, random
from corpus import message
host, port, to, total, connections = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lock, counter, errors = threading.Lock(), [0], []
def worker(seed):
    rng = random.Random(seed)
    try:
        with smtplib.SMTP(host, port, timeout=60) as smtp:
            while True:
                with lock:
                    n = counter[0]
                    if n >= total: return
                    counter[0] += 1
                rng.seed(n)
                smtp.sendmail("shop@example.com", [to], message(n, rng).encode())
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
for t in threads: t.start()
for t in threads: t.join()
if errors: sys.exit("fill failed: " + "; ".join(errors[:3]))
PY
cat >"$tmp/search.py" <<'PY'
import http.client, json, random, statistics, sys, time, urllib.parse
from corpus import WORDS, unique_token
port, path, token, count, fill = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(11)
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
def search(word):
    start = time.perf_counter()
    conn.request("GET", f"{path}?search={urllib.parse.quote(word)}", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200: sys.exit(f"search {word}: HTTP {response.status} {body[:200]!r}")
    return elapsed, len(json.loads(body))
# Three in four searches: a vocabulary word, any rank (so from the commonest to one in ~300 messages); one in
# four: a message's unique token (one hit).
queries = [("token", unique_token(rng.randrange(fill))) if i % 4 == 3 else ("word", rng.choice(WORDS))
           for i in range(count + 20)]
for _, word in queries[:20]: search(word)  # warm-up
times, hits = {"word": [], "token": []}, {"word": 0, "token": 0}
for kind, word in queries[20:]:
    ms, found = search(word)
    times[kind].append(ms)
    hits[kind] += found > 0
def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]
every = times["word"] + times["token"]
print(f"{pct(every, .5):.2f} {pct(every, .99):.2f} {pct(times['word'], .5):.2f} {pct(times['word'], .99):.2f} "
      f"{pct(times['token'], .5):.2f} {pct(times['token'], .99):.2f} {hits['word']} {len(times['word'])} "
      f"{hits['token']} {len(times['token'])}")
PY
echo "filling sandbox $search_inbox with $fill messages over $fill_connections connections" >&2
fill_start=$EPOCHREALTIME
(cd "$tmp" && timeout 1800 python3 fill.py 127.0.0.1 "$smtp_port" "$search_address" "$fill" "$fill_connections")
fill_end=$EPOCHREALTIME
fill_hwm_kb=$(kb VmHWM "$postroom_pid")
fill_stored=$(emails_count "$search_inbox")
[ "$fill_stored" = "$fill" ] || { echo "Postroom stored $fill_stored of $fill messages" >&2; exit 1; }
echo "searching $searches times" >&2
read -r search_p50 search_p99 word_p50 word_p99 token_p50 token_p99 word_hits word_n token_hits token_n < <(
  cd "$tmp" && timeout 900 python3 search.py "$http_port" "/api/accounts/$account/inboxes/$search_inbox/messages" \
    "$token" "$searches" "$fill")
db_mb=$(du -sm "$tmp/postroom" | cut -f1)
load_end=$(cut -d' ' -f1 /proc/loadavg)

python3 - "$messages" "$sessions" "$size" "$sink_s" "$postroom_s" "$maildev_s" "$idle_rss_kb" "$postroom_hwm_kb" \
  "$maildev_hwm_kb" "$fill" "$fill_start" "$fill_end" "$fill_hwm_kb" "$search_p50" "$search_p99" "$word_p50" \
  "$word_p99" "$token_p50" "$token_p99" "$word_hits" "$word_n" "$token_hits" "$token_n" "$db_mb" "$load_before" \
  "$load_ingest" "$load_end" "$(nproc)" "$rounds" "${sink_rounds[*]}" "${postroom_rounds[*]}" "${maildev_rounds[*]}" <<'PY'
import sys
(n, sessions, size, sink_s, pr_s, md_s, idle_kb, pr_hwm, md_hwm, fill, fill_start, fill_end, fill_hwm, p50, p99,
 wp50, wp99, tp50, tp99, whits, wn, thits, tn, db_mb, load_before, load_ingest, load_end, cores, rounds, sink_all,
 pr_all, md_all) = sys.argv[1:]
n, fill = int(n), int(fill)
sink, pr, md = n / float(sink_s), n / float(pr_s), n / float(md_s)
fill_rate = fill / (float(fill_end) - float(fill_start))
rss = max(int(pr_hwm), int(fill_hwm)) / 1024
mark = lambda ok: "PASS" if ok else "MISS"
print(f"load average (1 min) on {cores} cores: {load_before} before, {load_ingest} after the ingest, {load_end} at the end")
print(f"smtp-source -s {sessions} -l {size} -m {n} -d (one connection per session), {n} messages each, "
      f"median of {rounds} rounds")
print(f"{'':28}{'seconds':>9}{'messages/s':>12}{'peak RSS MB':>13}   messages/s of each round")
each = lambda times: ", ".join(f"{n / float(t):.0f}" for t in times.split())
print(f"{'smtp-sink (discards)':28}{float(sink_s):>9.2f}{sink:>12.0f}{'':>13}   {each(sink_all)}")
print(f"{'postroom (durable)':28}{float(pr_s):>9.2f}{pr:>12.0f}{int(pr_hwm) / 1024:>13.1f}   {each(pr_all)}")
print(f"{'maildev':28}{float(md_s):>9.2f}{md:>12.0f}{int(md_hwm) / 1024:>13.1f}   {each(md_all)}")
print(f"fill: {fill} varied messages (~1.2 KB) over SMTP at {fill_rate:.0f} messages/s; database {db_mb} MB; "
      f"postroom idle RSS {int(idle_kb) / 1024:.1f} MB")
print(f"search over {fill} messages: p50 {float(p50):.2f} ms, p99 {float(p99):.2f} ms "
      f"(words: p50 {float(wp50):.2f} / p99 {float(wp99):.2f} ms, {whits}/{wn} with hits; "
      f"unique tokens: p50 {float(tp50):.2f} / p99 {float(tp99):.2f} ms, {thits}/{tn} found)")
print(f"postroom / smtp-sink    {100 * pr / sink:6.1f} %   target >= 50 %     {mark(pr >= 0.5 * sink)}")
print(f"postroom / maildev      {pr / md:6.1f} x   target >= 5 x      {mark(pr >= 5 * md)}")
print(f"search p50              {float(p50):6.2f} ms  target < 20 ms     {mark(float(p50) < 20)}")
print(f"postroom peak RSS       {rss:6.1f} MB  target < 150 MB    {mark(rss < 150)}")
PY
