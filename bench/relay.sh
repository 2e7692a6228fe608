#!/usr/bin/env bash
# Relaying with DKIM: N messages (one recipient each, spread over 1,000 recipient domains d0001.test … d1000.test)
# handed to Postroom and to Postfix, each delivering them to the same local sinks: 4 Postfix smtp-sink processes
# on 127.0.25.2–5 port 25 (domain i goes to sink i mod 4). Timed from the first submission until the sinks have
# received all N messages (submission and delivery overlap, as in production). Loopback only; everything the
# script starts or writes is stopped and removed when it exits, on failure too.
#
# Postroom: a verified sending domain bench.test (its records, the recipients' MX records and the sinks' A records
# served by a private dnsmasq), messages submitted through POST /api/batch (BATCH=500 per request, CLIENTS=8
# requests at once). Postroom signs every message with the domain's RSA-2048 DKIM key and, per message, resolves
# the recipient domain's MX and the MX host's A/AAAA records at the dnsmasq (--dns-server), then delivers on
# port 25. Defaults otherwise: --delivery-per-site 20, --delivery-concurrency 200, SQLite (synchronous=FULL).
#
# Postfix: a private instance (its own config, queue and data directories under the temporary directory; smtpd
# on a free port of 127.0.0.1) with OpenDKIM as milter on a Unix socket, as Debian sets it up (RSA-2048,
# relaxed/relaxed; over a TCP socket every message waited ~85 ms on delayed ACKs), fed the same messages over SMTP
# by a small Python client with PIPELINING (CLIENTS=8 connections). Postfix's resolver cannot be pointed at a DNS
# port, so transport_maps routes each domain to its sink (`d0001.test smtp:[127.0.25.3]:25`): Postfix skips the MX
# and A lookups Postroom makes. Its per-destination concurrency is the default 20 per sink, like Postroom's
# per-site limit. Queue files are fsynced (Postfix's default), logging goes to a file (maillog_file).
#
# Before timing, one probe message from each goes to a fifth sink (127.0.25.6, probe.test) that writes what it
# receives, to check it arrives DKIM-signed with d=bench.test. Prints messages/s for both (N / time from the first
# submission to the last message at the sinks), CPU seconds used by each side, and the ratio against the target.
#   bench/relay.sh
#   env: N=100000 DOMAINS=1000 SIZE=5000 (bytes of text) BATCH=500 CLIENTS=8 SINK_NET=127.0.25 (sinks on .2–.6)
#        BUILD=build (the binary is $BUILD/postroom; built Release there when missing), POSTROOM_BIN= (overrides),
#        POSTROOM_ARGS= (more serve options), ONLY=postroom|postfix (run one side), TIMEOUT=3600 (per side),
#        SKIP_DEPS=1 (do not run scripts/install-deps.sh --bench first)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
bin=${POSTROOM_BIN:-$build/postroom}
n=${N:-100000}
domains=${DOMAINS:-1000}
size=${SIZE:-5000}
batch=${BATCH:-500}
clients=${CLIENTS:-8}
net=${SINK_NET:-127.0.25}
only=${ONLY:-}
timeout_s=${TIMEOUT:-3600}
sinks=4
target_ratio=3

[ "${SKIP_DEPS:-0}" = 1 ] || scripts/install-deps.sh --bench
for tool in smtp-sink dnsmasq postfix opendkim openssl curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root: the sinks listen on port 25 and Postfix needs root to start" >&2; exit 1; }
id postfix >/dev/null 2>&1 && id opendkim >/dev/null 2>&1 ||
  { echo "the postfix and opendkim users are missing (Debian packages postfix, opendkim)" >&2; exit 1; }
if [ "$only" != postfix ] && [ ! -x "$bin" ]; then
  [ -z "${POSTROOM_BIN:-}" ] || { echo "$bin not found" >&2; exit 1; }
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPOSTROOM_TESTS=OFF
  cmake --build "$build" -j "$(nproc)" --target postroom
fi
[ "$only" = postfix ] || bin=$(realpath "$bin")

tmp=$(mktemp -d)
chmod 755 "$tmp"  # smtp-sink runs as nobody, Postfix's daemons as postfix, OpenDKIM as opendkim
pids=()
pf_conf=""
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then  # what the servers said, for the failure's cause
    for log in "$tmp/postroom.log" "$tmp/postfix/maillog" "$tmp/postfix/opendkim.log"; do
      [ -s "$log" ] && { echo "--- last lines of $log:" >&2; tail -20 "$log" >&2; }
    done
  fi
  if [ -n "$pf_conf" ]; then postfix -c "$pf_conf" abort >/dev/null 2>&1 || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # host port pid
  for _ in $(seq 600); do
    kill -0 "$3" 2>/dev/null || { echo "the server for $1:$2 exited" >&2; return 1; }
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1:$2" >&2; return 1
}
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
# CPU seconds used so far by the processes under the given pids (themselves, their live descendants, and the
# descendants they have reaped), from /proc.
tree_cpu() {
  python3 - "$@" <<'PY'
import os, sys
roots, stats = {int(p) for p in sys.argv[1:]}, {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d)] = (int(f[1]), sum(int(x) for x in f[11:15]))  # ppid; utime stime cutime cstime
def inside(pid):
    while pid in stats and pid not in roots: pid = stats[pid][0]
    return pid in roots
print(sum(t for pid, (_, t) in stats.items() if inside(pid)) / os.sysconf("SC_CLK_TCK"))
PY
}
# Runs a long command in the background and waits for it, so that INT/TERM reach the traps at once (bash defers
# a trap until a foreground command ends) and cleanup stops the command too.
fg_wait() {
  "$@" &
  local pid=$!
  pids+=("$pid")
  wait "$pid"
}
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: $(nproc) cores, ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "N=$n messages of ~$size bytes to $domains domains, $sinks sinks on $net.2-$((sinks + 1)):25, probe sink $net.6:25"

# --- the sinks ---------------------------------------------------------------------------------------------------
for i in $(seq 2 $((sinks + 2))); do
  python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 25))' \
    "$net.$i" 2>/dev/null || { echo "$net.$i:25 is in use (choose another SINK_NET)" >&2; exit 1; }
done
for i in $(seq 2 $((sinks + 1))); do
  (cd "$tmp" && exec smtp-sink -c -u nobody "$net.$i:25" 1024) >"$tmp/sink$i.out" 2>&1 &
  pids+=($!)
  wait_port "$net.$i" 25 "$!"
done
mkdir -p "$tmp/probe" && chown nobody "$tmp/probe"
(cd "$tmp" && exec smtp-sink -u nobody -d "$tmp/probe/%H%M%S." "$net.6:25" 64) >"$tmp/probe.out" 2>&1 &
pids+=($!)
wait_port "$net.6" 25 "$!"
sink_total() {
  local total=0 c i
  for i in $(seq 2 $((sinks + 1))); do
    c=$(tail -c 200 "$tmp/sink$i.out" | tr '\r' '\n' | awk -F'mesg=' 'NF > 1 {n = $2 + 0} END {print n + 0}')
    total=$((total + c))
  done
  echo "$total"
}
# The probe sink's latest message must carry a DKIM signature of bench.test.
check_probe() {  # name
  local file=""
  for _ in $(seq 300); do
    file=$(ls -t "$tmp/probe" 2>/dev/null | head -1)
    [ -n "$file" ] && break
    sleep 0.1
  done
  [ -n "$file" ] || { echo "$1: the probe message never reached the probe sink" >&2; return 1; }
  grep -q '^DKIM-Signature:.*d=bench\.test' <(tr -d '\r' <"$tmp/probe/$file" | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n[ \t]\+/ /g') ||
    { echo "$1: the probe message is not DKIM-signed for bench.test:" >&2; head -40 "$tmp/probe/$file" >&2; return 1; }
  echo "$1: probe delivered with $(grep -o 'a=[a-z0-9-]*' "$tmp/probe/$file" | head -1) d=bench.test signature" >&2
  rm -f "$tmp/probe/$file"
}
# Waits until the sinks hold `want` messages (no progress for 120 s or TIMEOUT is a failure) → epoch seconds
wait_sinks() {  # want [pid that must stay alive]
  local have last=-1 progress_at=$SECONDS started_at=$SECONDS
  while true; do
    have=$(sink_total)
    [ "$have" -ge "$1" ] && break
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
      echo "the server (pid $2) exited; the sinks hold $have of $1" >&2; return 1
    fi
    [ "$have" != "$last" ] && { last=$have; progress_at=$SECONDS; }
    (( SECONDS - progress_at > 120 )) && { echo "no delivery for 120 s: the sinks hold $have of $1" >&2; return 1; }
    (( SECONDS - started_at > timeout_s )) && { echo "timed out: the sinks hold $have of $1" >&2; return 1; }
    sleep 0.1
  done
  echo "$EPOCHREALTIME"
}

# --- the message text, the same for both --------------------------------------------------------------------------
python3 - "$tmp/text.txt" "$size" <<'PY'
import random, sys
path, size = sys.argv[1], int(sys.argv[2])
rng = random.Random(5)
words = ("order shipping invoice account receipt delivery package thanks update customer payment status support "
         "product review details warehouse tracking number refund").split()
lines, total = [], 0
while total < size:
    line = " ".join(rng.choice(words) for _ in range(11))
    lines.append(line)
    total += len(line) + 2
open(path, "w").write("\r\n".join(lines)[:size])
PY
recipient_py='def recipient(i, domains): return f"u{i:06d}@d{i % domains + 1:04d}.test"'

results=()

# === Postroom ======================================================================================================
if [ "$only" != postfix ]; then
  dns_port=$(free_port)  # dnsmasq starts once the domain's records exist; Postroom only needs the address
  bootstrap=$("$bin" admin bootstrap --data-dir "$tmp/postroom" --json)
  token=$(json_field "$bootstrap" api_token)
  account=$(json_field "$bootstrap" account_id)
  http_port=$(free_port)
  "$bin" serve --data-dir "$tmp/postroom" --http "127.0.0.1:$http_port" --dns-server "127.0.0.1:$dns_port" \
    --sandbox-smtp "127.0.0.1:$(free_port)" --smtp "127.0.0.1:$(free_port)" --smtp-bulk "127.0.0.1:$(free_port)" \
    --sandbox-pop3 "127.0.0.1:$(free_port)" --rate-limit-requests 2000000000 --log-level warn ${POSTROOM_ARGS:-} >"$tmp/postroom.log" 2>&1 &
  pids+=($!)
  server_pid=$!
  wait_port 127.0.0.1 "$http_port" "$server_pid"
  api="http://127.0.0.1:$http_port/api/accounts/$account"
  auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
  domain=$(curl -fsS "${auth[@]}" -d '{"sending_domain":{"domain_name":"bench.test"}}' "$api/sending_domains")
  domain_id=$(json_field "$domain" id)
  python3 - "$tmp/dns.conf" "$domains" "$sinks" "$net" "$domain" <<'PY'
import json, sys
path, domains, sinks, net, domain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5])
def quoted(part): return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'
lines = [f"host-record=mx{k + 1}.sinks.test,{net}.{k + 2}" for k in range(sinks)]
lines.append(f"host-record=mxp.sinks.test,{net}.6")
lines += [f"mx-host=d{i + 1:04d}.test,mx{i % sinks + 1}.sinks.test,10" for i in range(domains)]  # d(i+1) ↔ u…i
lines.append("mx-host=probe.test,mxp.sinks.test,10")
for r in domain["dns_records"]:
    if r["type"] == "CNAME":
        lines.append(f"cname={r['domain']},{r['value']}")
    elif r["type"] == "MX":
        lines.append(f"mx-host={r['domain']},{r['value']},10")
    else:  # TXT: one quoted character-string per ≤ 255 octets
        v = r["value"]
        parts = [v[i:i + 255] for i in range(0, len(v), 255)] or [""]
        lines.append(f"txt-record={r['domain']}," + ",".join(quoted(p) for p in parts))
open(path, "w").write("\n".join(lines) + "\n")
PY
  dnsmasq --keep-in-foreground --conf-file="$tmp/dns.conf" --pid-file= --port="$dns_port" --listen-address=127.0.0.1 \
    --bind-interfaces --no-resolv --no-hosts --local=/test/ --log-facility="$tmp/dnsmasq.log" &
  pids+=($!)
  wait_port 127.0.0.1 "$dns_port" "$!"
  verified=$(curl -fsS "${auth[@]}" -X POST "$api/sending_domains/$domain_id/verify")
  [ "$(json_field "$verified" compliance_status)" = compliant ] ||
    { echo "bench.test did not verify: $verified" >&2; exit 1; }
  echo "postroom: bench.test verified (compliant) against dnsmasq on 127.0.0.1:$dns_port" >&2

  # Probe: one message to the probe sink, DKIM-signed.
  probe=$(python3 -c 'import json,sys; print(json.dumps({"from":{"email":"news@bench.test"},"to":[{"email":"probe@probe.test"}],"subject":"probe","text":open(sys.argv[1]).read()}))' "$tmp/text.txt")
  curl -fsS "${auth[@]}" -d "$probe" "http://127.0.0.1:$http_port/api/send" >/dev/null
  check_probe postroom

  cat >"$tmp/submit_api.py" <<PY
import http.client, json, sys, threading, time
$recipient_py
port, token, n, domains, batch, clients, text_path = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7]), sys.argv[7]
base = {"from": {"email": "news@bench.test", "name": "Bench News"}, "subject": "Your weekly bench report",
        "text": open(text_path).read()}
bodies = []
for start in range(0, n, batch):
    requests = [{"to": [{"email": recipient(i, domains)}]} for i in range(start, min(n, start + batch))]
    bodies.append(json.dumps({"base": base, "requests": requests}).encode())
lock, state, errors = threading.Lock(), {"next": 0, "accepted": 0}, []
def worker():
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=600)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    while not errors:
        with lock:
            k = state["next"]
            if k >= len(bodies): return
            state["next"] += 1
        try:
            conn.request("POST", "/api/batch", bodies[k], headers)
            response = conn.getresponse()
            data = response.read()
        except Exception as e:
            errors.append(f"batch {k}: {e!r}"); return
        if response.status != 200:
            errors.append(f"HTTP {response.status}: {data[:300]!r}"); return
        ok = sum(1 for r in json.loads(data)["responses"] if r.get("success"))
        if ok != json.loads(bodies[k])["requests"].__len__():
            errors.append(f"batch {k}: only {ok} accepted: {data[:300]!r}"); return
        with lock: state["accepted"] += ok
threads = [threading.Thread(target=worker) for _ in range(clients)]
start = time.time()
for t in threads: t.start()
for t in threads: t.join()
end = time.time()
if errors: sys.exit("submission failed: " + errors[0])
import resource
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"{start:.6f} {end:.6f} {state['accepted']} {ru.ru_utime + ru.ru_stime:.1f}")
PY
  base_count=$(sink_total)
  read -r cpu_busy0 cpu_all0 < <(cpu_busy)
  ticks0=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  echo "postroom: submitting $n messages (POST /api/batch, $batch per request, $clients at once)" >&2
  fg_wait python3 "$tmp/submit_api.py" "$http_port" "$token" "$n" "$domains" "$batch" "$clients" "$tmp/text.txt" \
    >"$tmp/submit.out"
  out=$(cat "$tmp/submit.out")
  read -r pr_start pr_submitted pr_accepted pr_client_cpu <<<"$out"
  echo "postroom: accepted $pr_accepted in $(python3 -c "print(f'{$pr_submitted - $pr_start:.1f}')") s; waiting for the sinks" >&2
  pr_end=$(wait_sinks $((base_count + n)) "$server_pid")
  ticks1=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  read -r cpu_busy1 cpu_all1 < <(cpu_busy)
  pr_cpu=$(python3 -c "print(f'{($ticks1 - $ticks0) / $(getconf CLK_TCK):.1f}')")
  pr_busy=$(python3 -c "print(f'{100 * ($cpu_busy1 - $cpu_busy0) / max(1, $cpu_all1 - $cpu_all0):.0f}')")
  logs=$(curl -fsS -g "${auth[@]}" "$api/email_logs?filters[status][operator]=equal&filters[status][value]=delivered")
  pr_logged=$(( $(json_field "$logs" total_count) - 1 ))  # minus the probe
  [ "$pr_logged" = "$n" ] || { echo "postroom: the email logs say $pr_logged delivered, not $n" >&2; exit 1; }
  [ "$(sink_total)" = $((base_count + n)) ] || { echo "postroom: the sinks hold $(( $(sink_total) - base_count )) messages, not $n" >&2; exit 1; }
  results+=("postroom $pr_start $pr_submitted $pr_end $pr_cpu $pr_busy $pr_client_cpu")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
fi

# === Postfix + OpenDKIM =============================================================================================
if [ "$only" != postroom ]; then
  pf="$tmp/postfix"; pf_smtp=$(free_port)
  mkdir -p "$pf/conf" "$pf/queue" "$pf/data" "$pf/dkim" "$pf/milter"
  chown postfix "$pf/data"; chown opendkim "$pf/milter"
  openssl genrsa -out "$pf/dkim/bench.private" 2048 2>/dev/null
  chown -R opendkim:opendkim "$pf/dkim"; chmod 700 "$pf/dkim"; chmod 600 "$pf/dkim/bench.private"
  cat >"$pf/opendkim.conf" <<EOF
Mode s
Domain bench.test
Selector pf1
KeyFile $pf/dkim/bench.private
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
Socket local:$pf/milter/opendkim.sock
UMask 000
InternalHosts 127.0.0.0/8
UserID opendkim
Syslog no
RequireSafeKeys false
EOF
  opendkim -f -x "$pf/opendkim.conf" >"$pf/opendkim.log" 2>&1 &
  pids+=($!)
  opendkim_pid=$!
  for _ in $(seq 100); do [ -S "$pf/milter/opendkim.sock" ] && break; sleep 0.1; done
  [ -S "$pf/milter/opendkim.sock" ] || { echo "opendkim did not start:" >&2; cat "$pf/opendkim.log" >&2; exit 1; }
  cat >"$pf/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.bench.test
mydomain = bench.test
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
transport_maps = texthash:$pf/conf/transport
smtpd_peername_lookup = no
smtpd_milters = unix:$pf/milter/opendkim.sock
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
maillog_file_prefixes = $tmp
maillog_file = $pf/maillog
biff = no
append_dot_mydomain = no
EOF
  sed 's/^ *//' >"$pf/conf/master.cf" <<EOF
127.0.0.1:$pf_smtp inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOF
  python3 - "$pf/conf/transport" "$domains" "$sinks" "$net" <<'PY'
import sys
path, domains, sinks, net = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lines = [f"d{i + 1:04d}.test smtp:[{net}.{i % sinks + 2}]:25" for i in range(domains)]  # as the MX records above
lines.append(f"probe.test smtp:[{net}.6]:25")
open(path, "w").write("\n".join(lines) + "\n")
PY
  pf_conf="$pf/conf"
  postfix -c "$pf_conf" check >"$pf/check.log" 2>&1 || { cat "$pf/check.log" >&2; exit 1; }
  postfix -c "$pf_conf" start-fg >"$pf/start.log" 2>&1 &
  pids+=($!)
  wait_port 127.0.0.1 "$pf_smtp" "$!" || { cat "$pf/start.log" "$pf/maillog" >&2 2>/dev/null; exit 1; }

  cat >"$tmp/submit_smtp.py" <<PY
# A minimal SMTP client with PIPELINING (MAIL, RCPT and DATA in one write), several connections in threads.
import email.utils, socket, sys, threading, time
$recipient_py
port, n, domains, clients, text_path = int(sys.argv[1]), *map(int, sys.argv[2:5]), sys.argv[5]
first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
text = open(text_path).read()
def message(i):
    to = recipient(i, domains) if i >= 0 else "probe@probe.test"
    head = (f"From: Bench News <news@bench.test>\r\nTo: <{to}>\r\nSubject: Your weekly bench report\r\n"
            f"Date: {email.utils.formatdate(localtime=False)}\r\nMessage-ID: <{i}.{time.time_ns()}@bench.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
    return to, (head + text + "\r\n.\r\n").encode()
class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.f = self.s.makefile("rb")
        self.expect(220)
        self.s.sendall(b"EHLO client.bench.test\r\n"); self.expect(250)
    def reply(self):
        while True:
            line = self.f.readline()
            if not line: raise RuntimeError("connection closed")
            if line[3:4] != b"-": return int(line[:3]), line
    def expect(self, code):
        got, line = self.reply()
        if got != code: raise RuntimeError(f"expected {code}, got {line!r}")
    def send(self, to, data):
        self.s.sendall(f"MAIL FROM:<news@bench.test>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode())
        self.expect(250); self.expect(250); self.expect(354)
        self.s.sendall(data); self.expect(250)
    def close(self):
        self.s.sendall(b"QUIT\r\n"); self.reply(); self.s.close()
if first < 0:  # the probe
    c = Conn(); c.send(*message(-1)); c.close(); sys.exit()
lock, state, errors = threading.Lock(), {"next": 0}, []
def worker():
    try:
        c = Conn()
        while not errors:
            with lock:
                i = state["next"]
                if i >= n: break
                state["next"] += 1
            c.send(*message(i))
        c.close()
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=worker) for _ in range(clients)]
start = time.time()
for t in threads: t.start()
for t in threads: t.join()
end = time.time()
if errors: sys.exit("submission failed: " + errors[0])
import resource
ru = resource.getrusage(resource.RUSAGE_SELF)
print(f"{start:.6f} {end:.6f} {n} {ru.ru_utime + ru.ru_stime:.1f}")
PY
  python3 "$tmp/submit_smtp.py" "$pf_smtp" 1 "$domains" 1 "$tmp/text.txt" -1
  check_probe postfix
  master_pid=$(tr -d ' ' <"$pf/queue/pid/master.pid")
  base_count=$(sink_total)
  pf_cpu0=$(tree_cpu "$master_pid" "$opendkim_pid")
  read -r cpu_busy0 cpu_all0 < <(cpu_busy)
  echo "postfix: submitting $n messages over SMTP ($clients connections, PIPELINING)" >&2
  fg_wait python3 "$tmp/submit_smtp.py" "$pf_smtp" "$n" "$domains" "$clients" "$tmp/text.txt" >"$tmp/submit.out"
  out=$(cat "$tmp/submit.out")
  read -r pf_start pf_submitted pf_accepted pf_client_cpu <<<"$out"
  echo "postfix: accepted $pf_accepted in $(python3 -c "print(f'{$pf_submitted - $pf_start:.1f}')") s; waiting for the sinks" >&2
  pf_end=$(wait_sinks $((base_count + n)))
  read -r cpu_busy1 cpu_all1 < <(cpu_busy)
  pf_cpu=$(python3 -c "print(f'{$(tree_cpu "$master_pid" "$opendkim_pid") - $pf_cpu0:.1f}')")
  pf_busy=$(python3 -c "print(f'{100 * ($cpu_busy1 - $cpu_busy0) / max(1, $cpu_all1 - $cpu_all0):.0f}')")
  [ "$(sink_total)" = $((base_count + n)) ] || { echo "postfix: the sinks hold $(( $(sink_total) - base_count )) messages, not $n" >&2; exit 1; }
  sent=$(grep -c 'status=sent' "$pf/maillog" || true)
  [ "$sent" = $((n + 1)) ] || echo "note: Postfix's log shows $sent deliveries (expected $((n + 1)) with the probe)" >&2
  results+=("postfix $pf_start $pf_submitted $pf_end $pf_cpu $pf_busy $pf_client_cpu")
fi

python3 - "$n" "$domains" "$clients" "$batch" "$target_ratio" "$(cut -d' ' -f1-3 /proc/loadavg)" "${results[@]}" <<'PY'
import sys
n, domains, clients, batch, target, load = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6]
rates = {}
print(f"{n} messages to {domains} domains, DKIM-signed (RSA-2048), delivered to 4 smtp-sink processes")
print(f"{'':24}{'submitted in s':>15}{'all delivered in s':>20}{'msg/s':>9}{'server CPU s':>14}{'client CPU s':>14}"
      f"{'machine busy':>14}")
for row in sys.argv[7:]:
    name, start, submitted, end, cpu, busy, client_cpu = row.split()
    total = float(end) - float(start)
    rates[name] = n / total
    label = {"postroom": "postroom (API batch)", "postfix": "postfix + opendkim"}[name]
    print(f"{label:24}{float(submitted) - float(start):>15.1f}{total:>20.1f}{rates[name]:>9.0f}{cpu:>14}{client_cpu:>14}"
          f"{busy + ' %':>14}")
print("postfix routes by transport_maps (no DNS); postroom resolves MX + A/AAAA per message at a local dnsmasq")
print("server CPU: postroom's process; postfix's master, every daemon it ran, and opendkim. client CPU: the Python "
      "submitter. machine busy: all CPUs over the run, other users' processes included")
print(f"load average at the end: {load}")
if len(rates) == 2:
    ratio = rates["postroom"] / rates["postfix"]
    print(f"postroom / postfix      {ratio:5.2f} x   target >= {target:.0f} x   {'PASS' if ratio >= target else 'FAIL'}")
PY
