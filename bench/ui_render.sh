#!/usr/bin/env bash
# Web UI first render: Postroom's sandbox page and MailDev's UI, each holding MESSAGES messages (same texts,
# sent with Python smtplib), opened cold in headless Chromium; prints medians, the ratio and the bundle size
# (bench/ui_render.mjs). Loopback only; everything it starts is stopped when it exits.
#   bench/ui_render.sh
#   env: MESSAGES=10000 RUNS=5 POSTROOM_BIN=build/postroom (built Release into build/ when missing),
#        SKIP_DEPS=1 (do not run scripts/install-deps.sh --bench --test first)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${POSTROOM_BIN:-build/postroom}
messages=${MESSAGES:-10000}

[ "${SKIP_DEPS:-0}" = 1 ] || scripts/install-deps.sh --bench --test
maildev=bench/node_modules/.bin/maildev
[ -x "$maildev" ] || { echo "$maildev is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
if [ ! -x "$bin" ]; then
  [ -z "${POSTROOM_BIN:-}" ] || { echo "$bin not found" >&2; exit 1; }
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j "$(nproc)" --target postroom
fi
web_dist=$(dirname "$bin")/web-dist
[ -d "$web_dist/assets" ] || { echo "$web_dist/assets not found (built with the binary)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 600); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),1)' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2; return 1
}

boot=$("$bin" admin bootstrap --data-dir "$tmp/postroom" --json)
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$boot" "$1"; }
http_port=$(free_port); smtp_port=$(free_port)
"$bin" serve --data-dir "$tmp/postroom" --http "127.0.0.1:$http_port" --sandbox-smtp "127.0.0.1:$smtp_port" \
  --smtp "127.0.0.1:$(free_port)" --smtp-bulk "127.0.0.1:$(free_port)" --sandbox-pop3 "127.0.0.1:$(free_port)" \
  --sandbox-rate 0 --sandbox-max-messages $((messages * 2)) --log-level warn >"$tmp/postroom.log" 2>&1 &
pids+=($!)
wait_port "$http_port"; wait_port "$smtp_port"

maildev_smtp=$(free_port); maildev_web=$(free_port)
"$maildev" --smtp "$maildev_smtp" --ip 127.0.0.1 --web "$maildev_web" --web-ip 127.0.0.1 --silent \
  >"$tmp/maildev.log" 2>&1 &
pids+=($!)
wait_port "$maildev_smtp"; wait_port "$maildev_web"

# The same MESSAGES messages into both, over one SMTP connection each (newest last).
fill() {  # port user password
  python3 - "$messages" "$@" <<'PY'
import smtplib, sys
count, port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
    if user:
        s.login(user, password)
    for i in range(1, count + 1):
        body = f"Hello, this is message number {i} of the UI benchmark.\r\n" * 20
        msg = (f"From: App <app@example.test>\r\nTo: User {i} <user{i}@example.test>\r\n"
               f"Subject: Benchmark message {i:05d}\r\nMessage-ID: <bench{i}@example.test>\r\n"
               f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}")
        s.sendmail("app@example.test", [f"user{i}@example.test"], msg.encode())
PY
}
echo "filling Postroom and MailDev with $messages messages each…" >&2
fill "$smtp_port" "$(field smtp_username)" "$(field smtp_password)"
fill "$maildev_smtp" "" ""

POSTROOM_URL="http://127.0.0.1:$http_port" MAILDEV_URL="http://127.0.0.1:$maildev_web" \
  ADMIN_EMAIL=$(field admin_email) ADMIN_PASSWORD=$(field admin_password) INBOX_ID=$(field inbox_id) \
  NEWEST_SUBJECT=$(printf 'Benchmark message %05d' "$messages") MESSAGES="$messages" WEB_DIST="$web_dist" \
  node bench/ui_render.mjs
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
