#!/usr/bin/env bash
# Template rendering: Postroom's Handlebars engine vs handlebars.js 4.7.8 (npm, precompiled, Node on the same
# machine), same templates and data; outputs are compared byte for byte before anything is timed.
#
#   bench/templates.sh [iterations]      (default 1000000 per template; ITERATIONS=… works too)
# Needs: the Release build (BUILD_DIR, default build) with target templates_bench, and bench/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ITERATIONS=${1:-${ITERATIONS:-1000000}}
SHARED=${POSTROOM_SHARED:-../shared}

cmake --build "$BUILD_DIR" --target templates_bench >/dev/null
[ -d bench/node_modules/handlebars ] || (cd bench && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/templates_fixtures.py "$SHARED" "$work"

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; node $(node --version)"
for name in order newsletter; do
  "$BUILD_DIR/bench/templates_bench" "$work/$name.hbs" "$work/$name.json" 1 --print > "$work/$name.postroom.out"
  node bench/templates_bench.mjs "$work/$name.hbs" "$work/$name.json" 1 --print > "$work/$name.handlebars.out"
  if ! cmp -s "$work/$name.postroom.out" "$work/$name.handlebars.out"; then
    echo "$name: outputs differ" >&2
    diff "$work/$name.handlebars.out" "$work/$name.postroom.out" | head -20 >&2
    exit 1
  fi
  echo "$name: outputs identical ($(wc -c < "$work/$name.postroom.out") bytes)"
  echo "  postroom:      $("$BUILD_DIR/bench/templates_bench" "$work/$name.hbs" "$work/$name.json" "$ITERATIONS")"
  echo "  handlebars.js: $(node bench/templates_bench.mjs "$work/$name.hbs" "$work/$name.json" "$ITERATIONS")"
done
