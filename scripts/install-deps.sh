#!/usr/bin/env bash
# Installs everything Postroom needs to build, run, test and benchmark on Debian 12 (bookworm).
# Idempotent: packages already present are skipped, so re-running costs a few seconds.
#   scripts/install-deps.sh            build + run dependencies
#   scripts/install-deps.sh --test     also the test peers (PostgreSQL server, Node SDK, sanitizer runtime,
#                                      Postfix as a receiving MTA, SpamAssassin's spamd and spamc)
#   scripts/install-deps.sh --bench    also the benchmark peers (wrk, nginx, Postfix and its smtp-source/smtp-sink,
#                                      OpenDKIM, dnsmasq, MailDev from bench/package.json)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0; want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

# Never libboost-all-dev / libboost-dev: those are Boost 1.74 and would remove 1.81.
packages=(build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev libpq-dev libspdlog-dev libfmt-dev libcli11-dev
  libgmime-3.0-dev libxml2-dev libzstd-dev liblz4-dev libmodest-dev libc-ares-dev libjemalloc-dev
  nodejs npm)
if [ $want_test = 1 ]; then
  packages+=(libgtest-dev libgmock-dev postgresql-15 clang-14 libclang-rt-14-dev libfuzzer-14-dev python3 python3-yaml swaks libnet-ssleay-perl libdigest-hmac-perl curl
    dnsmasq-base python3-dkim python3-dnspython postfix
    spamassassin spamc spamd
    chromium fonts-liberation)  # the web UI's Playwright tests drive Debian's Chromium
fi
if [ $want_bench = 1 ]; then
  # opendkim and dnsmasq-base: bench/relay.sh (a private OpenDKIM milter for its Postfix peer; DNS for Postroom).
  packages+=(wrk nginx-light postfix opendkim dnsmasq-base)
fi

missing=()
for p in "${packages[@]}"; do
  # node/npm may come from another packaging on the machine; accept them when the commands exist.
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # postfix is there for smtp-source/smtp-sink and for the private instances the tests start themselves
  # (tests/integration/test_postfix_receiver.py): "No configuration" leaves the system MTA unconfigured and stopped.
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    echo "postfix postfix/main_mailer_type select No configuration" | $sudo_cmd debconf-set-selections
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Build dependency: caniemail (npm, MIT), the HTML Check's support data, pinned in tools/caniemail and compiled
# into src/htmlcheck. --ignore-scripts: only its data file is used.
if [ ! -f tools/caniemail/node_modules/.package-lock.json ] ||
   [ tools/caniemail/package-lock.json -nt tools/caniemail/node_modules/.package-lock.json ]; then
  (cd tools/caniemail && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

# Build dependency: the web UI's tools (Vite, TypeScript, Preact), pinned in web/package-lock.json; CMake runs
# `npm run build` in web/ and embeds the output (src/web).
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: the lock file cannot list Rollup's native packages for other platforms when the
  # registry in use does not serve them, and `npm ci` refuses such a lock; `npm install` installs exactly the
  # locked versions and leaves the lock file unchanged.
  (cd web && npm install --no-audit --no-fund --loglevel=error)
fi

if [ $want_test = 1 ]; then
  # The official SDK, pinned, used unmodified by the integration tests.
  if [ ! -f tests/sdk/node_modules/mailtrap/package.json ] || [ ! -f tests/sdk/node_modules/handlebars/package.json ]; then
    (cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

if [ $want_bench = 1 ]; then
  # The npm peers of the benchmarks (MailDev, …), pinned in bench/package-lock.json.
  if [ ! -f bench/node_modules/.package-lock.json ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
    (cd bench && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
