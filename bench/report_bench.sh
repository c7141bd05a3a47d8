#!/bin/sh
# `vigie report` over a million audit records: wall time, records/s, MB/s and
# maximum RSS, for each format and a few --by keys.
#
#   bench/report_bench.sh                  build, generate once, measure
#   bench/report_bench.sh --records N      another log size (cached per size)
#   bench/report_bench.sh --runs N         timed runs per row (default 3; the median is shown)
#
# Environment: VIGIE_BIN (a vigie binary: nothing is built), VIGIE_BENCH_BUILD
# (build directory, default build-bench at the top of the tree), VIGIE_BENCH_CPU
# (pin to this core with taskset; default: not pinned). The log is written by
# tests/audit/gen_log.py into bench/results/report-<N>/ (git-ignored) with a
# fixed key and seed, and reused while the generator and its arguments stay
# the same. Results go to stdout and to bench/results/report-<UTC time>.json.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
records=1000000
runs=3
while [ $# -gt 0 ]; do
    case "$1" in
    --records) records=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "report_bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

if [ -n "${VIGIE_BIN:-}" ]; then
    vigie=$VIGIE_BIN
else
    build=${VIGIE_BENCH_BUILD:-$top/build-bench}
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >&2
    cmake --build "$build" -j2 --target vigie >&2
    vigie=$build/vigie
fi

# The log: generated once per size, generator version and arguments.
dir=$top/bench/results/report-$records
gen=$top/tests/audit/gen_log.py
args="--records $records --days 30 --seed 1 --checkpoint-every 1000"
stamp="$(sha256sum "$gen" | cut -c1-16) $args"
if [ ! -f "$dir/audit.log" ] || [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
    mkdir -p "$dir"
    rm -f "$dir/audit.log" "$dir/stamp"
    printf 'vigie-bench-audit-key-0123456789' >"$dir/key"
    chmod 600 "$dir/key"
    echo "report_bench.sh: generating $records records in $dir (once)..." >&2
    t0=$(date +%s)
    # shellcheck disable=SC2086
    python3 "$gen" --key-file "$dir/key" $args -o "$dir/audit.log"
    echo "report_bench.sh: generated in $(( $(date +%s) - t0 )) s" >&2
    echo "$stamp" >"$dir/stamp"
fi

pin=""
if [ -n "${VIGIE_BENCH_CPU:-}" ] && command -v taskset >/dev/null 2>&1; then
    pin="taskset -c $VIGIE_BENCH_CPU"
fi

# Each row runs `vigie report` $runs times after one warm-up run (which also
# brings the log into the page cache: the figures are for a cached log, that
# is for the parsing and aggregation, not the disk). Wall time by
# perf_counter, maximum RSS from wait4's rusage of the child itself.
python3 - "$vigie" "$dir/audit.log" "$runs" "$top/bench/results" "$records" $pin <<'PY'
import json, os, platform, statistics, subprocess, sys, time

vigie, log, runs, outdir, records = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
pin = sys.argv[6:]
size = os.path.getsize(log)
with open(log, "rb") as f:
    lines = sum(1 for _ in f)
rows = [
    ("text summary", ["--format", "text"]),
    ("text --by caller", ["--by", "caller"]),
    ("csv (by caller)", ["--format", "csv"]),
    ("json (by caller)", ["--format", "json"]),
    ("html", ["--format", "html"]),
    ("json --by day", ["--format", "json", "--by", "day"]),
    ("json --by rule", ["--format", "json", "--by", "rule"]),
    ("csv --by caller,model", ["--format", "csv", "--by", "caller,model"]),
    ("text --since/--until (1 week)", ["--since", "2026-11-09", "--until", "2026-11-16"]),
]

def run(args):
    cmd = pin + [vigie, "report", "--audit-log", log] + args
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("report_bench.sh: %s failed (%d): %s" % (" ".join(cmd), p.returncode, err.decode()))
    return wall, len(out)

def rss(args):
    """One more run for the maximum RSS and CPU time of vigie alone. GNU time
    (/usr/bin/time) forks a small process; a fork of this Python would add
    its own 10 MB to the child's ru_maxrss, so that is only the fallback."""
    cmd = pin + [vigie, "report", "--audit-log", log] + args
    if os.access("/usr/bin/time", os.X_OK):
        tf = os.path.join(outdir, ".time.out")
        subprocess.run(["/usr/bin/time", "-o", tf, "-f", "%M %U %S"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        kb, u, s = open(tf).read().split()[-3:]
        os.unlink(tf)
        return int(kb) / 1024.0, float(u) + float(s), "GNU time"
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execvp(cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    return ru.ru_maxrss / 1024.0, ru.ru_utime + ru.ru_stime, "wait4 (includes the Python launcher)"

print("vigie report: %s lines, %.1f MB (%s), %d runs per row, median shown%s" % (
    format(lines, ","), size / 1e6, log, runs, ", pinned: " + " ".join(pin) if pin else ""))
print("%-32s %8s %12s %8s %9s %9s %10s" % ("row", "wall s", "records/s", "MB/s", "cpu s", "RSS MB", "output"))
results = []
for name, args in rows:
    run(args)  # warm-up
    walls = []
    for _ in range(runs):
        w, outlen = run(args)
        walls.append(w)
    w = statistics.median(walls)
    mem, cpu, rss_how = rss(args)
    r = {"row": name, "args": args, "wall_s": round(w, 3), "wall_all": [round(x, 3) for x in walls],
         "records_per_s": round(lines / w), "mb_per_s": round(size / 1e6 / w, 1),
         "cpu_s": round(cpu, 3), "max_rss_mb": round(mem, 1), "output_bytes": outlen}
    results.append(r)
    print("%-32s %8.2f %12s %8.0f %9.2f %9.1f %10s" % (
        name, w, format(r["records_per_s"], ","), r["mb_per_s"], cpu, mem, format(outlen, ",")))

facts = {"machine": platform.machine(), "cpus": os.cpu_count(), "kernel": platform.release(),
         "vigie": vigie, "log": log, "lines": lines, "bytes": size, "records": records,
         "runs": runs, "pinned": " ".join(pin), "rss_from": rss_how}
try:
    with open("/proc/cpuinfo") as f:
        facts["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
except Exception:
    pass
os.makedirs(outdir, exist_ok=True)
name = os.path.join(outdir, time.strftime("report-%Y%m%d-%H%M%S.json", time.gmtime()))
with open(name, "w") as f:
    json.dump({"facts": facts, "rows": results}, f, indent=1)
    f.write("\n")
print("written: %s" % name)
PY
