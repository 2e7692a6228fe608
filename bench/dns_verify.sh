#!/usr/bin/env bash
# Sending-domain verification target: verify 1,000 domains (7 records, 8 queries each: CNAME verification, SPF
# TXT, two DKIM TXT keys, DMARC TXT, return-path CNAME + MX, link CNAME) against a local dnsmasq with bounded
# concurrency, through postroom::domains::check_many. Target: < 5 s and < 50 MB extra memory. Loopback only.
#   BUILD=build DOMAINS=1000 IN_FLIGHT=64 bench/dns_verify.sh
# Needs: dnsmasq-base, and the target dns_verify_bench already built:
#   cmake --build "$BUILD" --target dns_verify_bench
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
domains=${DOMAINS:-1000}
in_flight=${IN_FLIGHT:-64}
target_seconds=5
target_mb=50

bench_bin="$build/bench/dns_verify_bench"
if [ ! -x "$bench_bin" ]; then
  echo "missing $bench_bin; build it first: cmake --build $build --target dns_verify_bench" >&2
  exit 2
fi
command -v dnsmasq >/dev/null || {
  echo "dnsmasq not found (apt-get install dnsmasq-base)" >&2
  exit 2
}

work=$(mktemp -d)
dnsmasq_pid=""
cleanup() {
  [ -n "$dnsmasq_pid" ] && kill "$dnsmasq_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bench_bin" zone "$domains" "$work"
port=$("$bench_bin" free-port)
dnsmasq --keep-in-foreground --conf-file="$work/zone.conf" --pid-file= --port="$port" --listen-address=127.0.0.1 \
  --bind-interfaces --no-resolv --no-hosts --cache-size=0 --log-facility="$work/dnsmasq.log" &
dnsmasq_pid=$!
up=""
for _ in $(seq 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    up=1
    break
  fi
  kill -0 "$dnsmasq_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "dnsmasq did not start:" >&2
  cat "$work/dnsmasq.log" >&2 || true
  exit 1
fi

echo "== DNS verification: $domains domains against dnsmasq on 127.0.0.1:$port, at most $in_flight queries in flight"
status=0
line=$("$bench_bin" verify "127.0.0.1:$port" "$domains" "$work" "$in_flight") || status=$?
echo "$line"
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$line"; }
records=$(field records)
pass=$(field pass)
seconds=$(field seconds)
rss=$(field rss_delta_mb)
raw=$(field raw_resolve_seconds)

echo "domains:        $domains"
echo "records:        $records ($pass pass, $(field domains_verified) domains verified)"
echo "queries:        $(field queries)"
echo "seconds:        $seconds"
echo "queries/s:      $(field queries_per_second)"
echo "RSS delta MB:   $rss (peak RSS $(field peak_rss_mb) MB)"
echo "peer:           no external DNS client (dig/kdig/host) is used; in-process baseline: the same queries" \
  "through dns::Resolver::resolve_all alone took ${raw}s (verification/raw = $(awk -v a="$seconds" -v b="$raw" \
  'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'))"

verdict=PASS
if [ "$status" -ne 0 ] || [ "$pass" != "$records" ]; then
  echo "not every record passed: the run did not measure verification" >&2
  verdict=FAIL
fi
awk -v s="$seconds" -v t="$target_seconds" 'BEGIN { exit !(s < t) }' || verdict=FAIL
awk -v m="$rss" -v t="$target_mb" 'BEGIN { exit !(m < t) }' || verdict=FAIL
echo "target (< ${target_seconds} s, < ${target_mb} MB extra, all records pass): $verdict"
[ "$verdict" = PASS ]
