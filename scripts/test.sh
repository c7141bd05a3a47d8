#!/usr/bin/env bash
# Runs every test of vigie, from a fresh clone: installs what is missing,
# then builds and tests twice — a normal build with warnings as errors, and an
# AddressSanitizer + UndefinedBehaviorSanitizer build — then bounded
# libFuzzer runs on the scanner and the policy compiler, and the
# banned-functions check.
# This is exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# End-to-end tests (tests/e2e): curl, node and npm, installed from Debian when
# missing (checked by command: a NodeSource nodejs package brings its own npm,
# and Debian's npm package would conflict with it), then the openai npm client
# at the version of tests/e2e/node/package-lock.json.
e2e_missing=()
command -v curl >/dev/null || e2e_missing+=(curl)
command -v node >/dev/null || e2e_missing+=(nodejs)
command -v npm >/dev/null || e2e_missing+=(npm)
if [ ${#e2e_missing[@]} -gt 0 ]; then
  echo "installing: ${e2e_missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then e2e_sudo=""; else e2e_sudo=sudo; fi
  DEBIAN_FRONTEND=noninteractive $e2e_sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $e2e_sudo apt-get install -y -qq --no-install-recommends \
    "${e2e_missing[@]}" >/dev/null
fi
npm ci --prefix tests/e2e/node --no-audit --no-fund

echo "== build 1/2: release, -Werror"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIE_WERROR=ON >/dev/null
ninja -C build/release
ctest --test-dir build/release --output-on-failure

echo "== build 2/2: ASan + UBSan, -Werror"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIE_SANITIZE=ON -DVIGIE_WERROR=ON >/dev/null
ninja -C build/asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure

# Deterministic by default (fixed seed, fixed number of runs, fresh corpus), so
# that CI replays exactly the run a developer saw pass; set VIGIE_FUZZ_SEED=0
# (random) and a larger VIGIE_FUZZ_RUNS to explore.
runs=${VIGIE_FUZZ_RUNS:-100000}
seed=${VIGIE_FUZZ_SEED:-1}
echo "== fuzz: normalise + scan + redact, $runs runs, seed $seed (clang, libFuzzer, ASan)"
CC=clang cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIE_SANITIZE=ON \
  -DVIGIE_FUZZ=ON -DVIGIE_WERROR=ON >/dev/null
ninja -C build/fuzz fuzz_scan
rm -rf build/fuzz/corpus && mkdir -p build/fuzz/corpus
build/fuzz/fuzz_scan -seed="$seed" -runs="$runs" -max_total_time=600 -max_len=4096 -timeout=10 \
  -print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus tests/fuzz/corpus/scan \
  2>build/fuzz/fuzz.log || { tail -40 build/fuzz/fuzz.log; exit 1; }
grep -E '^stat::number_of_executed_units' build/fuzz/fuzz.log || true
# http parser: one-shot vs split, writer round trip (seed $seed, 50000 runs, fresh corpus; ~3 s).
ninja -C build/fuzz fuzz_http && rm -rf build/fuzz/corpus-http && mkdir -p build/fuzz/corpus-http && build/fuzz/fuzz_http -seed="$seed" -runs=50000 -max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus-http tests/fuzz/corpus/http 2>build/fuzz/fuzz_http.log || { tail -40 build/fuzz/fuzz_http.log; exit 1; }

# The policy compiler and decisions (about 15 s for 100000 runs); same rules:
# deterministic by default, VIGIE_FUZZ_POLICY_RUNS and VIGIE_FUZZ_SEED to explore.
policy_runs=${VIGIE_FUZZ_POLICY_RUNS:-100000}
echo "== fuzz: policy compile + decide, $policy_runs runs, seed $seed (clang, libFuzzer, ASan)"
ninja -C build/fuzz fuzz_policy
rm -rf build/fuzz/corpus-policy && mkdir -p build/fuzz/corpus-policy
build/fuzz/fuzz_policy -seed="$seed" -runs="$policy_runs" -max_total_time=600 -max_len=8192 \
  -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/policy- build/fuzz/corpus-policy \
  tests/fuzz/corpus/policy 2>build/fuzz/fuzz-policy.log || { tail -40 build/fuzz/fuzz-policy.log; exit 1; }
grep -E '^stat::number_of_executed_units' build/fuzz/fuzz-policy.log || true

# api: request rewrite round trip, SSE restore across cuts (seed $seed, 30000 runs, fresh corpus; < 1 min).
ninja -C build/fuzz fuzz_api && rm -rf build/fuzz/corpus-api && mkdir -p build/fuzz/corpus-api && build/fuzz/fuzz_api -seed="$seed" -runs=30000 -max_len=2048 -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus-api tests/fuzz/corpus/api 2>build/fuzz/fuzz_api.log || { tail -40 build/fuzz/fuzz_api.log; exit 1; }

# JSON reader vs jansson, differential (seed $seed, 100000 runs, fresh corpus; < 30 s).
ninja -C build/fuzz fuzz_json && rm -rf build/fuzz/corpus-json && mkdir -p build/fuzz/corpus-json && build/fuzz/fuzz_json -seed="$seed" -runs=100000 -max_len=2048 -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/json- build/fuzz/corpus-json tests/fuzz/corpus/json 2>build/fuzz/fuzz_json.log || { tail -40 build/fuzz/fuzz_json.log; exit 1; }
grep -E '^stat::number_of_executed_units' build/fuzz/fuzz_json.log || true

# Audit log readers: report scanner vs jansson, verify (seed $seed, 20000 runs, fresh corpus; about 45 s).
ninja -C build/fuzz fuzz_audit && rm -rf build/fuzz/corpus-audit && mkdir -p build/fuzz/corpus-audit && build/fuzz/fuzz_audit -seed="$seed" -runs=20000 -max_len=16384 -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/audit- build/fuzz/corpus-audit tests/fuzz/corpus/audit 2>build/fuzz/fuzz_audit.log || { tail -40 build/fuzz/fuzz_audit.log; exit 1; }
grep -E '^stat::number_of_executed_units' build/fuzz/fuzz_audit.log || true

echo "== banned functions"
scripts/check-banned.sh
echo "all tests passed"
