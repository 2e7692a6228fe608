#!/usr/bin/env bash
# Builds and runs the whole test suite: first a Release build, then an AddressSanitizer + UBSan build
# (clang-14) that also runs the fuzz targets briefly. `scripts/test.sh release|sanitize` runs one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
jobs=$(nproc)

scripts/install-deps.sh --test

run_suite() {  # build-dir, extra cmake args…
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  # --no-tests=error: a build dir configured without tests (as `make run` leaves build/) must not pass quietly.
  (cd "$dir" && ctest --output-on-failure --no-tests=error --timeout 600 -j "$jobs")
}

if [ "$what" = all ] || [ "$what" = release ]; then
  echo "== Release build and tests"
  run_suite build -DCMAKE_BUILD_TYPE=Release -DPOSTROOM_TESTS=ON -DPOSTROOM_TEST_PG_PORT=5599
fi
if [ "$what" = all ] || [ "$what" = sanitize ]; then
  echo "== AddressSanitizer + UBSan build and tests (clang-14)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DPOSTROOM_SANITIZE=ON -DPOSTROOM_FUZZ=ON -DPOSTROOM_TESTS=ON -DPOSTROOM_TEST_PG_PORT=5598
fi
