#!/usr/bin/env bash
# Starts or stops a private SpamAssassin spamd for the tests: loopback TCP on PORT plus the unix socket
# DIR/spamd.sock, local tests only (no DNS, no network), the rules shipped in /usr/share/spamassassin (sa-update
# needs the network; its rules, when present, are not used so results do not depend on the machine), no Bayes,
# no per-user configuration. Logs go to DIR/spamd.log.
#   tests/spamd.sh start DIR PORT     tests/spamd.sh stop DIR PORT
set -euo pipefail
action=$1 dir=$2 port=$3
spamd=/usr/sbin/spamd
[ -x "$spamd" ] && command -v spamc >/dev/null ||
  { echo "spamd/spamc missing: run scripts/install-deps.sh --test" >&2; exit 1; }

stop_running() {
  [ -f "$dir/spamd.pid" ] || return 0
  local pid
  pid=$(cat "$dir/spamd.pid")
  # Only the daemon this script started (its pid file), and only if it is still spamd.
  if [ -n "$pid" ] && grep -q spamd "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

case "$action" in
  start)
    stop_running
    rm -rf "$dir"
    mkdir -p "$dir/site" "$dir/home"
    # The plugin loaders (*.pre) of the installation, and our own local.cf instead of the machine's.
    cp /etc/spamassassin/*.pre "$dir/site/"
    cat >"$dir/site/local.cf" <<'EOF'
use_bayes 0
bayes_auto_learn 0
dns_available no
skip_rbl_checks 1
# A rule whose description SpamAssassin must wrap in its report table (the client joins the lines again).
header   POSTROOM_WRAPPED_DESCRIPTION  Subject =~ /postroom-wrapped-description/
describe POSTROOM_WRAPPED_DESCRIPTION  A deliberately long rule description that SpamAssassin wraps over several lines of its report table
score    POSTROOM_WRAPPED_DESCRIPTION  0.1
EOF
    user_args=()
    if [ "$(id -u)" = 0 ]; then
      # spamd refuses to scan as root; its children run as nobody, which must be able to use the home dir.
      chown -R nobody "$dir/home"
      user_args=(--username=nobody)
    fi
    "$spamd" --daemonize --pidfile="$dir/spamd.pid" \
      --listen="127.0.0.1:$port" --listen="$dir/spamd.sock" \
      --local --nouser-config --configpath=/usr/share/spamassassin --siteconfigpath="$dir/site" \
      --helper-home-dir="$dir/home" --syslog="$dir/spamd.log" \
      --max-children=3 --min-children=1 --min-spare=1 --max-spare=2 "${user_args[@]}" ||
      { cat "$dir/spamd.log" >&2 2>/dev/null; exit 1; }
    # Loading the rules takes a few seconds: wait until both listeners answer PING.
    for _ in $(seq 1 120); do
      if spamc -d 127.0.0.1 -p "$port" -K >/dev/null 2>&1 && spamc -U "$dir/spamd.sock" -K >/dev/null 2>&1; then
        echo "$("$spamd" --version | head -1) running on 127.0.0.1:$port and $dir/spamd.sock"
        exit 0
      fi
      sleep 0.5
    done
    echo "spamd did not answer PING within 60 s" >&2
    cat "$dir/spamd.log" >&2 2>/dev/null || true
    stop_running
    exit 1
    ;;
  stop)
    stop_running
    rm -rf "$dir"
    echo "spamd stopped"
    ;;
  *) echo "usage: $0 start|stop DIR PORT" >&2; exit 2 ;;
esac
