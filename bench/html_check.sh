#!/usr/bin/env bash
# HTML Check: postroom::htmlcheck::analyze() on a generated ~100 KB marketing email (bench/html_check_bench.cpp:
# nested tables, inline styles, a <style> block with @media, images, links), p50/p99 over N runs. With --peer, the
# same HTML through doiuse-email 0.4.1 (npm, MIT; the existing JS checker on caniemail data) for a ratio.
#
#   bench/html_check.sh [iterations] [--peer]      (default 500 iterations; ITERATIONS=… works too)
# Needs: a Release build (BUILD_DIR, default build); --peer needs node and npm (installs into $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ITERATIONS=${ITERATIONS:-500}
peer=0
for arg in "$@"; do
  case "$arg" in
    --peer) peer=1 ;;
    *) ITERATIONS=$arg ;;
  esac
done

cmake --build "$BUILD_DIR" --target html_check_bench >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "postroom:      $("$BUILD_DIR/bench/html_check_bench" "$ITERATIONS" --write "$work/email.html" | tr '\n' ' ')"

if [ $peer = 1 ]; then
  peer_dir="$BUILD_DIR/html-check-peer"
  if [ ! -f "$peer_dir/node_modules/doiuse-email/package.json" ]; then
    mkdir -p "$peer_dir"
    (cd "$peer_dir" && npm install --no-audit --no-fund --loglevel=error --no-save doiuse-email@0.4.1 >/dev/null)
  fi
  cat > "$peer_dir/run.mjs" <<'JS'
import { doIUseEmail } from 'doiuse-email';
import { readFileSync } from 'node:fs';
const html = readFileSync(process.argv[2], 'utf8');
const n = Number(process.argv[3]);
let result = doIUseEmail(html, { emailClients: ['*'] });  // warm-up
const ms = [];
for (let i = 0; i < n; ++i) {
  const start = process.hrtime.bigint();
  result = doIUseEmail(html, { emailClients: ['*'] });
  ms.push(Number(process.hrtime.bigint() - start) / 1e6);
}
ms.sort((a, b) => a - b);
const at = (p) => ms[Math.min(n - 1, Math.floor(p * n))].toFixed(2);
console.log(`errors=${result.errors.length} warnings=${result.warnings.length} p50=${at(0.5)} ms p99=${at(0.99)} ms`);
JS
  # The JS peer is two orders of magnitude slower: a tenth of the iterations (at least 20).
  peer_iterations=$(( ITERATIONS / 10 > 20 ? ITERATIONS / 10 : 20 ))
  echo "doiuse-email:  node $(node --version), $peer_iterations iterations: $(node "$peer_dir/run.mjs" "$work/email.html" "$peer_iterations")"
fi
