#!/bin/sh
# Builds bench_scan in Release and runs it pinned to one core.
#
#   bench/run.sh                 the tables
#   bench/run.sh --json          one JSON object on stdout
#   bench/run.sh --help          the other options
#
# VIGIE_BENCH_BUILD picks the build directory (default build-bench at the top
# of the tree), VIGIE_BENCH_CPU the core (default 0). Build output goes to
# stderr so that stdout carries only the results.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${VIGIE_BENCH_BUILD:-$top/build-bench}
cpu=${VIGIE_BENCH_CPU:-0}

cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
ninja -C "$build" bench_scan >&2

if command -v taskset >/dev/null 2>&1; then
    exec taskset -c "$cpu" "$build/bench_scan" "$@"
fi
echo "run.sh: taskset not found: running unpinned (figures will be noisier)" >&2
exec "$build/bench_scan" "$@"
