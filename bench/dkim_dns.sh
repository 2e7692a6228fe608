#!/usr/bin/env bash
# Sending-domain targets: DKIM RSA-2048 signatures/s of a 100 KB message on one core, and verifying 1,000
# domains × 5 queries (SPF TXT, DKIM TXT, DMARC TXT, MX, DKIM CNAME) against a local dnsmasq with bounded
# concurrency (time and peak RSS). Loopback only.
#   BUILD_DIR=build SIGN_SECONDS=5 DOMAINS=1000 IN_FLIGHT=64 bench/dkim_dns.sh
# Needs: dnsmasq-base, and the target dkim_dns_bench (built here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
sign_seconds=${SIGN_SECONDS:-5}
domains=${DOMAINS:-1000}
in_flight=${IN_FLIGHT:-64}
port=${DNS_PORT:-15395}

cmake --build "$build" --target dkim_dns_bench >/dev/null
bench_bin="$build/bench/dkim_dns_bench"

echo "== DKIM signing (one core)"
"$bench_bin" sign "$sign_seconds"

work=$(mktemp -d)
dnsmasq_pid=""
cleanup() {
  [ -n "$dnsmasq_pid" ] && kill "$dnsmasq_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

key="v=DKIM1; k=rsa; p=$(head -c 270 /dev/urandom | base64 -w0)"
{
  echo "local=/bench.test/"
  for ((i = 0; i < domains; i++)); do
    d="d$i.bench.test"
    echo "txt-record=$d,v=spf1 include:_spf.postroom.test ~all"
    echo "txt-record=s1._domainkey.$d,${key:0:255},${key:255}"
    echo "txt-record=_dmarc.$d,v=DMARC1; p=none"
    echo "mx-host=$d,mx.$d,10"
    echo "cname=s2._domainkey.$d,s2.dkim.postroom.test"
  done
} >"$work/zone.conf"

dnsmasq --keep-in-foreground --conf-file="$work/zone.conf" --pid-file= --port="$port" --listen-address=127.0.0.1 \
  --bind-interfaces --no-resolv --no-hosts --cache-size=0 --log-facility="$work/dnsmasq.log" &
dnsmasq_pid=$!
for _ in $(seq 50); do
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then break; fi
  sleep 0.1
done

echo "== DNS verification: $domains domains × 5 queries, at most $in_flight in flight"
# Measured in-process (steady clock, getrusage peak RSS); /usr/bin/time cross-checks the peak RSS.
/usr/bin/time -f "wall_seconds=%e max_rss_kb=%M" "$bench_bin" resolve "127.0.0.1:$port" "$domains" "$in_flight"
