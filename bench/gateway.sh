#!/usr/bin/env bash
# bench/gateway.sh: vigie serve side by side with nginx, in one run, on loopback.
#
#   (a) direct:  the client talks to the mock model (nginx `return 200` with a
#                canned chat completion; a second server answers a canned SSE
#                stream for the streaming case);
#   (b) nginx:   nginx proxy_pass (upstream keep-alive) in front of that mock;
#   (c) vigie:   vigie serve in front of the same mock, full pipeline (the 2 KB
#                French prompt is inspected with the default packs; names, e-mail
#                and phone pseudonymised, IBAN masked).
#
# Usage: bench/gateway.sh [--quick] [--no-vigie] [--no-build] [--no-2w] [--duration S]
#                         [--rate R] [--out FILE]
#
# Environment: VIGIE_BIN (default build/h-bench/vigie, built here unless --no-build),
# VIGIE_BENCH_SERVER_CPU (default 1: the server under test), VIGIE_BENCH_CLIENT_CPU
# (default 0: load tools and the mock), VIGIE_BENCH_PORT (default 18100: base port).
# bench/README.md ("Gateway benchmark") explains every figure and the method.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
here=$top/bench/gateway
vigie=${VIGIE_BIN:-$top/build/h-bench/vigie}
srv_cpu=${VIGIE_BENCH_SERVER_CPU:-1}
cli_cpu=${VIGIE_BENCH_CLIENT_CPU:-0}
base=${VIGIE_BENCH_PORT:-18100}
dur=10          # s, each wrk throughput run (plus 1 s of warm-up)
rate=2000       # req/s, the fixed load of the added-latency runs
lat_rounds=3    # interleaved rounds a,b,c of the latency runs
lat_dur=3       # s, each latency run (plus 1 s of warm-up)
sse_n=2000      # sequential streaming requests per target
idle_n=10000    # idle keep-alive connections for the memory figure
do_vigie=1 do_build=1 do_2w=1
out=""
while [ $# -gt 0 ]; do
    case $1 in
    --quick) dur=3 lat_rounds=2 lat_dur=2 sse_n=500 do_2w=0 ;;
    --no-vigie) do_vigie=0 ;;
    --no-build) do_build=0 ;;
    --no-2w) do_2w=0 ;;
    --duration) dur=$2; shift ;;
    --rate) rate=$2; shift ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gateway.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

t_start=$(date +%s)
say() { echo "gateway.sh: $*" >&2; }

# ---------------------------------------------------------------- tools
need_pkgs=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_pkgs="$need_pkgs nginx-light"
command -v wrk >/dev/null 2>&1 || need_pkgs="$need_pkgs wrk"
command -v cc >/dev/null 2>&1 || need_pkgs="$need_pkgs gcc"
command -v curl >/dev/null 2>&1 || need_pkgs="$need_pkgs curl"
command -v python3 >/dev/null 2>&1 || need_pkgs="$need_pkgs python3"
if [ -n "$need_pkgs" ]; then
    if [ "$(id -u)" != 0 ]; then
        say "missing:$need_pkgs; install them (apt-get install -y$need_pkgs) or run as root"
        exit 2
    fi
    say "installing$need_pkgs"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need_pkgs >&2 ||
        { say "apt-get install failed"; exit 2; }
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

pin_srv="taskset -c $srv_cpu"
pin_cli="taskset -c $cli_cpu"
if ! command -v taskset >/dev/null 2>&1 || [ "$(nproc)" -lt 2 ]; then
    say "fewer than 2 cores or no taskset: running unpinned (figures will be noisier)"
    pin_srv="" pin_cli=""
fi

tmp=$(mktemp -d /tmp/vigie-gateway.XXXXXX)
raw=$tmp/raw
mkdir -p "$raw" "$tmp/nginx-temp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "${KEEP_TMP:-}" ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fd limit: 10k client + 10k upstream-side descriptors at most, per process.
ulimit -Hn 65536 2>/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((idle_n + 1100)) ]; then
    idle_n=$((nofile - 1100))
    say "open files limited to $nofile: $idle_n idle connections only"
fi

fact() { echo "$1=$2" >>"$raw/facts"; }
: >"$raw/facts"
fact date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
fact host "$(uname -n)"
fact kernel "$(uname -r)"
fact cpu_model "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
fact ncpu "$(nproc)"
fact nginx_version "$($nginx_bin -v 2>&1 | sed 's/.*nginx\///')"
fact wrk_version "$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
fact git_commit "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)"
fact git_dirty "$(git -C "$top" status --porcelain 2>/dev/null | grep -qv '^??' && echo yes || echo no)"
fact server_cpu "${pin_srv:+$srv_cpu}"
fact client_cpu "${pin_cli:+$cli_cpu}"
fact duration "$dur"
fact rate "$rate"
fact lat_rounds "$lat_rounds"
fact lat_dur "$lat_dur"
fact sse_n "$sse_n"
fact idle_n "$idle_n"
fact body_bytes "$(wc -c <"$here/prompt.json")"
fact completion_bytes "$(wc -c <"$here/completion.json")"
fact clk_tck "$(getconf CLK_TCK)"

# ---------------------------------------------------------------- build
cc -O2 -Wall -o "$tmp/sse_ttfb" "$here/sse_ttfb.c" || exit 2
cc -O2 -Wall -o "$tmp/idle_conns" "$here/idle_conns.c" || exit 2
cc -O2 -Wall -o "$tmp/openloop" "$here/openloop.c" || exit 2

vigie_why=""
if [ $do_vigie = 1 ] && [ $do_build = 1 ] && [ -z "${VIGIE_BIN:-}" ]; then
    say "building vigie (RelWithDebInfo, build/h-bench)"
    if ! { cmake -S "$top" -B "$top/build/h-bench" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
        ninja -C "$top/build/h-bench" vigie >"$tmp/build.log" 2>&1; }; then
        vigie_why="build failed (see ninja -C build/h-bench vigie)"
        tail -5 "$tmp/build.log" >&2
    fi
fi
[ $do_vigie = 0 ] && vigie_why="skipped (--no-vigie)"
[ -z "$vigie_why" ] && [ ! -x "$vigie" ] && vigie_why="no binary at $vigie"
if [ -z "$vigie_why" ]; then
    fact vigie_version "$("$vigie" version 2>/dev/null | head -1)"
    fact vigie_build_type "$(grep -s '^CMAKE_BUILD_TYPE' "$(dirname "$vigie")/CMakeCache.txt" | cut -d= -f2)"
fi

# ---------------------------------------------------------------- ports, configs
p_mock=$((base + 1)) p_mock_sse=$((base + 2))
p_ngx=$((base + 11)) p_ngx_sse=$((base + 12))
p_vig=$((base + 21)) p_vig_admin=$((base + 22))
for p in $p_mock $p_mock_sse $p_ngx $p_ngx_sse $p_vig $p_vig_admin; do
    if ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then
        say "port $p is in use: set VIGIE_BENCH_PORT to another base"
        exit 2
    fi
done

# A file's text as an nginx single-quoted string (the canned answers hold no
# quote, backslash or $, which the script checks).
nginx_str() {
    if grep -q "[\\\\'\$]" "$1"; then say "$1: no ' \\ or \$ allowed"; exit 2; fi
    awk 'BEGIN { ORS = "" } { print $0 "\\n" }' "$1"
}
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
nginx_common() { # $1 name, $2 worker_connections
    cat <<EOF
$user_line
pid $tmp/$1.pid;
error_log $tmp/$1-error.log warn;
worker_rlimit_nofile $nofile;
events { worker_connections $2; }
EOF
}
http_common() {
    cat <<EOF
    access_log off;
    client_body_temp_path $tmp/nginx-temp/body;
    proxy_temp_path $tmp/nginx-temp/proxy;
    fastcgi_temp_path $tmp/nginx-temp/fastcgi;
    uwsgi_temp_path $tmp/nginx-temp/uwsgi;
    scgi_temp_path $tmp/nginx-temp/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    tcp_nodelay on;
EOF
}
{
    echo "worker_processes 1;"
    nginx_common mock 4096
    echo "http {"
    http_common
    cat <<EOF
    server {   # canned chat completion, for any path and method
        listen 127.0.0.1:$p_mock backlog=4096;
        location / { default_type application/json; return 200 '$(nginx_str "$here/completion.json")'; }
    }
    server {   # canned SSE stream ("stream": true)
        listen 127.0.0.1:$p_mock_sse backlog=4096;
        location / {
            default_type text/event-stream;
            add_header Cache-Control no-cache;
            return 200 '$(nginx_str "$here/stream.sse")';
        }
    }
}
EOF
} >"$tmp/mock.conf"

gen_proxy_conf() { # $1 workers
    echo "worker_processes $1;"
    # nginx allocates worker_connections slots up front: just enough for the
    # idle connections, the load tools and the upstream keep-alive pool.
    nginx_common proxy $((idle_n + 1024))
    echo "http {"
    http_common
    cat <<EOF
    upstream mock     { server 127.0.0.1:$p_mock;     keepalive 256; keepalive_requests 100000000; keepalive_timeout 120s; }
    upstream mock_sse { server 127.0.0.1:$p_mock_sse; keepalive 256; keepalive_requests 100000000; keepalive_timeout 120s; }
    server {
        listen 127.0.0.1:$p_ngx backlog=4096;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen 127.0.0.1:$p_ngx_sse backlog=4096;
        location / {
            proxy_pass http://mock_sse;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
}

sed -e "s#@RULES@#$top/rules#" -e "s#@MOCK_URL@#http://127.0.0.1:$p_mock#" \
    -e "s#@MOCK_SSE_URL@#http://127.0.0.1:$p_mock_sse#" "$here/policy.yaml.in" >"$tmp/policy.yaml"
cat >"$tmp/vigie.yaml" <<EOF
# vigie serve -c for bench/gateway.sh (generated)
listen:
  - address: 127.0.0.1:$p_vig
admin: 127.0.0.1:$p_vig_admin
policy: policy.yaml
workers: 1
timeouts:
  keepalive: 120s
limits:
  connections: 12000
log:
  level: warn
# the audit trail is part of the measured path (docs/audit.md): one record per
# request, written before the answer; synced every second or 256 records
audit:
  file: audit.log
  key_file: audit.key
EOF
head -c 32 /dev/urandom >"$tmp/audit.key" && chmod 600 "$tmp/audit.key"
cp "$tmp/vigie.yaml" "$tmp/policy.yaml" "$tmp/mock.conf" "$raw/" 2>/dev/null

# ---------------------------------------------------------------- process helpers
kids() { cat /proc/"$1"/task/*/children 2>/dev/null; }
all_pids() { echo "$1" $(kids "$1"); }  # nginx: master and workers; vigie: itself
cpu_ticks() { # sum of utime+stime of the pids given
    local s=0 p f
    for p in "$@"; do
        f=$(sed 's/^.*) //' /proc/"$p"/stat 2>/dev/null) || continue
        set -- $f
        s=$((s + ${12} + ${13}))
    done
    echo $s
}
rss_kb() { # VmRSS summed over the pids given
    local s=0 p v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null)
        s=$((s + ${v:-0}))
    done
    echo $s
}
core_jiffies() { # core: "busy total" jiffies from /proc/stat
    awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}
wait_port() { # port seconds
    local i=0
    while [ $i -lt $(($2 * 20)) ]; do
        curl -s -o /dev/null --max-time 0.5 "http://127.0.0.1:$1/" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

started=""
start_nginx() { # name conf pin; sets $started
    $3 "$nginx_bin" -e "$tmp/$1-error.log" -p "$tmp" -c "$2" -g 'daemon off; master_process on;' \
        </dev/null >/dev/null 2>>"$tmp/$1-error.log" &
    started=$!
    pids+=("$started")
}
start_nginx mock "$tmp/mock.conf" "$pin_cli"
pid_mock=$started
gen_proxy_conf 1 >"$tmp/proxy.conf"
start_nginx proxy "$tmp/proxy.conf" "$pin_srv"
pid_ngx=$started
wait_port $p_mock 5 && wait_port $p_mock_sse 5 || { say "the mock did not start:"; cat "$tmp/mock-error.log" >&2; exit 1; }
wait_port $p_ngx 5 || { say "nginx proxy did not start:"; cat "$tmp/proxy-error.log" >&2; exit 1; }
sleep 0.2
fact rss_idle_kb_nginx "$(rss_kb $(all_pids $pid_ngx))"
fact rss_idle_kb_nginx_worker "$(rss_kb $(kids $pid_ngx))"

pid_vig="" vigie_started=""
start_vigie() { # workers pin
    $2 "$vigie" serve -c "$tmp/vigie.yaml" --workers "$1" </dev/null >>"$tmp/vigie.log" 2>&1 &
    pid_vig=$!
    pids+=("$pid_vig")
    local i=0
    while [ $i -lt 200 ]; do
        if ! kill -0 $pid_vig 2>/dev/null; then
            vigie_why="vigie serve exited: $(tail -3 "$tmp/vigie.log" | tr '\n' ' ' | cut -c1-300)"
            stop $pid_vig
            pid_vig=""
            return 1
        fi
        if grep -q '"event":"ready"' "$tmp/vigie.log" 2>/dev/null ||
            curl -s -o /dev/null --max-time 0.5 "http://127.0.0.1:$p_vig/v1/models"; then
            vigie_started=1
            return 0
        fi
        sleep 0.05
        i=$((i + 1))
    done
    vigie_why="vigie serve did not listen on $p_vig within 10 s"
    stop $pid_vig
    pid_vig=""
    return 1
}
stop() { # pid: stop it, and forget it (so that cleanup never signals a reused PID)
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    local keep=() p
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=("${keep[@]}")
}
# After each phase: if vigie died, say when and how, and measure without it.
vigie_alive() { # phase
    [ -n "$pid_vig" ] || return 1
    kill -0 "$pid_vig" 2>/dev/null && return 0
    wait "$pid_vig"
    local st=$?
    stop "$pid_vig"
    vigie_why="vigie serve died during $1 (exit status $st$([ $st -gt 128 ] && echo ", signal $((st - 128))"))"
    say "$vigie_why"
    fact vigie_died "$vigie_why"
    pid_vig=""
    return 1
}

if [ -z "$vigie_why" ]; then
    if start_vigie 1 "$pin_srv"; then
        sleep 0.3
        fact rss_idle_kb_vigie "$(rss_kb $pid_vig)"
        fact vigie_threads "$(ls /proc/$pid_vig/task | wc -l)"
    fi
fi

# ---------------------------------------------------------------- checks (one request each)
auth="Authorization: Bearer vigie-bench-key"
marker="VIGIE-BENCH-MOCK"
check() { # row url body
    local h=$raw/check-$1.head b=$raw/check-$1.body st
    st=$(curl -s --max-time 5 -D "$h" -o "$b" -w '%{http_code}' -H "$auth" \
        -H 'Content-Type: application/json' --data-binary @"$3" "$2")
    if [ "$st" != 200 ]; then echo "status $st"; return 1; fi
    if ! grep -q "$marker" "$b"; then echo "the mock's content is missing"; return 1; fi
    echo ok
}
metric_sum() { # regex on metric lines: sum of values; "na" if /metrics does not answer
    local m
    m=$(curl -sf --max-time 2 "http://127.0.0.1:$p_vig_admin/metrics" 2>/dev/null) || { echo na; return; }
    printf '%s\n' "$m" | awk -v re="$1" '$0 !~ /^#/ && $0 ~ re {s += $NF} END {printf "%d\n", s}'
}
fact check_a "$(check a "http://127.0.0.1:$p_mock/v1/chat/completions" "$here/prompt.json")"
fact check_b "$(check b "http://127.0.0.1:$p_ngx/v1/chat/completions" "$here/prompt.json")"
fact check_a_sse "$(check a_sse "http://127.0.0.1:$p_mock_sse/v1/chat/completions" "$here/prompt-stream.json")"
fact check_b_sse "$(check b_sse "http://127.0.0.1:$p_ngx_sse/v1/chat/completions" "$here/prompt-stream.json")"
if [ -n "$pid_vig" ]; then
    f0=$(metric_sum '^vigie_findings_total')
    fact check_c "$(check c "http://127.0.0.1:$p_vig/v1/chat/completions" "$here/prompt.json")"
    f1=$(metric_sum '^vigie_findings_total')
    fact check_c_sse "$(check c_sse "http://127.0.0.1:$p_vig/v1/chat/completions" "$here/prompt-stream.json")"
    fact check_c_decision "$(awk -F': *' 'tolower($1) == "x-vigie-decision" {print $2}' "$raw/check-c.head" | tr -d '\r')"
    [ "$f0" != na ] && [ "$f1" != na ] && fact check_c_findings "$((f1 - f0))"
    fact check_c_sse_type "$(awk -F': *' 'tolower($1) == "content-type" {print $2}' "$raw/check-c_sse.head" | tr -d '\r')"
fi

# ---------------------------------------------------------------- throughput (wrk)
wrk_run() { # row url seconds conns threads pin server-pids...
    local row=$1 url=$2 d=$3 c=$4 t=$5 pin=$6
    shift 6
    BENCH_BODY=$here/prompt.json timeout 10 $pin wrk -t"$t" -c"$c" -d1s -s "$here/post.lua" "$url" >/dev/null 2>&1
    local m0 mt0 n0 t0 t1 m1 mt1 n1
    [ "$row" = c ] || [ "$row" = c2 ] && n0=$(metric_sum '^vigie_requests_total') && n0s=$(metric_sum '^vigie_requests_total\{status="200"') &&
        n0c=$(metric_sum '^vigie_requests_total\{status="499"')
    t0=$(date +%s%N)
    m0=$(cpu_ticks "$@") mt0=$(cpu_ticks $(all_pids $pid_mock))
    local cs0 cc0 cs1 cc1
    cs0=$(core_jiffies "$srv_cpu") cc0=$(core_jiffies "$cli_cpu")
    BENCH_BODY=$here/prompt.json timeout $((d + 15)) $pin wrk -t"$t" -c"$c" -d"${d}s" --latency \
        -s "$here/post.lua" "$url" >"$raw/wrk-$row.txt" 2>&1
    m1=$(cpu_ticks "$@") mt1=$(cpu_ticks $(all_pids $pid_mock))
    cs1=$(core_jiffies "$srv_cpu") cc1=$(core_jiffies "$cli_cpu")
    set -- $cs0 $cs1
    fact "wrk_${row}_server_core_busy" "$(awk -v a=$1 -v b=$2 -v c=$3 -v d=$4 'BEGIN {printf "%.2f", (c - a) / (d - b + 1e-9)}')"
    set -- $cc0 $cc1
    fact "wrk_${row}_client_core_busy" "$(awk -v a=$1 -v b=$2 -v c=$3 -v d=$4 'BEGIN {printf "%.2f", (c - a) / (d - b + 1e-9)}')"
    t1=$(date +%s%N)
    fact "wrk_${row}_server_ticks" $((m1 - m0))
    fact "wrk_${row}_mock_ticks" $((mt1 - mt0))
    fact "wrk_${row}_wall_ns" $((t1 - t0))
    if [ "$row" = c ] || [ "$row" = c2 ]; then
        sleep 0.2
        n1=$(metric_sum '^vigie_requests_total')
        n1s=$(metric_sum '^vigie_requests_total\{status="200"')
        n1c=$(metric_sum '^vigie_requests_total\{status="499"')
        if [ "$n0" != na ] && [ "$n1" != na ]; then
            fact "wrk_${row}_vigie_requests" $((n1 - n0))
            fact "wrk_${row}_vigie_200" $(( ${n1s/na/0} - ${n0s/na/0} ))
            fact "wrk_${row}_vigie_499" $(( ${n1c/na/0} - ${n0c/na/0} ))
        fi
    fi
}
say "throughput: wrk -t1 -c32 -d${dur}s, a b c"
wrk_run a "http://127.0.0.1:$p_mock/v1/chat/completions" "$dur" 32 1 "$pin_cli" $(all_pids $pid_mock)
wrk_run b "http://127.0.0.1:$p_ngx/v1/chat/completions" "$dur" 32 1 "$pin_cli" $(all_pids $pid_ngx)
vigie_alive "the checks" && wrk_run c "http://127.0.0.1:$p_vig/v1/chat/completions" "$dur" 32 1 "$pin_cli" $pid_vig
vigie_alive "the wrk run"

# ---------------------------------------------------------------- added latency (open loop, fixed rate)
say "latency at $rate req/s: openloop (evenly spaced, 16 keep-alive connections), $lat_rounds interleaved rounds of ${lat_dur}s"
rows="a b"
[ -n "$pid_vig" ] && rows="a b c"
port_of() { case $1 in a) echo $p_mock ;; b) echo $p_ngx ;; c) echo $p_vig ;; esac; }
set -- $rows
nrows=$#
for r in $(seq 1 "$lat_rounds"); do
    # rotate the order each round: a b c, b c a, c a b
    order=$(for i in $(seq 0 $((nrows - 1))); do k=$(( (i + r - 1) % nrows + 1 )); eval echo \${$k}; done)
    for row in $order; do
        timeout $((lat_dur + 15)) $pin_cli "$tmp/openloop" -a "127.0.0.1:$(port_of "$row")" \
            -p /v1/chat/completions -b "$here/prompt.json" -H "$auth" -m "$marker" \
            -r "$rate" -d "$lat_dur" -w 1 -c 16 -o "$raw/lat-$row-$r.txt" >"$raw/lat-$row-$r.json" 2>&1
    done
done

# ---------------------------------------------------------------- streaming: time to the first event
say "streaming: $sse_n sequential requests per target, interleaved"
targets="a=127.0.0.1:$p_mock_sse/v1/chat/completions b=127.0.0.1:$p_ngx_sse/v1/chat/completions"
vigie_alive "the latency runs" && targets="$targets c=127.0.0.1:$p_vig/v1/chat/completions"
timeout 60 $pin_cli "$tmp/sse_ttfb" -b "$here/prompt-stream.json" -H "$auth" -n "$sse_n" -w 50 \
    -m "$marker" -T 40 $targets >"$raw/sse.json" 2>"$raw/sse.err"
fact sse_exit $?
vigie_alive "the streaming run" && fact rss_after_load_kb_vigie "$(rss_kb $pid_vig)"
fact rss_after_load_kb_nginx "$(rss_kb $(all_pids $pid_ngx))"

# ---------------------------------------------------------------- second row: 2 workers each, unpinned
# (before the memory runs, which open and close 20,000 connections)
if [ $do_2w = 1 ]; then
    say "2 workers each, unpinned: wrk -t2 -c64 -d$((dur / 2 > 3 ? dur / 2 : 3))s, b c"
    d2=$((dur / 2 > 3 ? dur / 2 : 3))
    stop $pid_ngx
    gen_proxy_conf 2 >"$tmp/proxy.conf"
    start_nginx proxy "$tmp/proxy.conf" ""
    pid_ngx=$started
    wait_port $p_ngx 5 && wrk_run b2 "http://127.0.0.1:$p_ngx/v1/chat/completions" "$d2" 64 2 "" $(all_pids $pid_ngx)
    if [ -n "$pid_vig" ]; then
        stop $pid_vig
        if start_vigie 2 ""; then
            wrk_run c2 "http://127.0.0.1:$p_vig/v1/chat/completions" "$d2" 64 2 "" $pid_vig
            vigie_alive "the 2-worker wrk run"
        fi
    fi
fi

# ---------------------------------------------------------------- memory with idle keep-alive connections
idle_run() { # row port pids...
    local row=$1 port=$2
    shift 2
    rm -f "$tmp/hold"
    mkfifo "$tmp/hold"
    timeout 60 $pin_cli "$tmp/idle_conns" -n "$idle_n" -c 200 -a "127.0.0.1:$port" -p /v1/chat/completions \
        -b "$here/prompt.json" -H "$auth" -m "$marker" -T 30 <"$tmp/hold" >"$raw/idle-$row.txt" 2>&1 &
    local ip=$!
    exec 4>"$tmp/hold"
    local i=0
    while [ $i -lt 400 ] && ! grep -q '^ready' "$raw/idle-$row.txt"; do sleep 0.05; i=$((i + 1)); done
    sleep 0.5
    fact "idle_${row}_rss_kb" "$(rss_kb "$@")"
    [ "$row" = c ] && fact idle_c_open_metric "$(metric_sum '^vigie_connections_open')"
    exec 4>&-
    wait $ip
    sleep 0.5
    fact "idle_${row}_rss_after_kb" "$(rss_kb "$@")"
}
# Fresh servers, so that the figure is the cost of the connections alone (the
# load runs above may have grown the heap; that is the "after the load runs" figure).
say "memory: $idle_n idle keep-alive connections (servers restarted)"
if [ -n "$pid_vig" ] || [ -n "$vigie_started" ]; then
    [ -n "$pid_vig" ] && stop $pid_vig
    pid_vig=""
    if start_vigie 1 "$pin_srv"; then
        sleep 0.3
        fact rss_before_idle_kb_vigie "$(rss_kb $pid_vig)"
        idle_run c $p_vig $pid_vig
        vigie_alive "the idle-connections run"
    fi
fi
stop $pid_ngx
gen_proxy_conf 1 >"$tmp/proxy.conf"
start_nginx proxy "$tmp/proxy.conf" "$pin_srv"
pid_ngx=$started
wait_port $p_ngx 5
sleep 0.2
fact rss_before_idle_kb_nginx "$(rss_kb $(all_pids $pid_ngx))"
idle_run b $p_ngx $(all_pids $pid_ngx)
fact rss_worker_after_kb_nginx "$(rss_kb $(kids $pid_ngx))"

[ -n "$vigie_why" ] && [ -z "$vigie_started" ] && fact vigie_not_measured "$vigie_why"
[ -n "$pid_vig" ] && grep -v '"level":"info"' "$tmp/vigie.log" | head -5 >"$raw/vigie-log-head.txt"
fact elapsed_s $(( $(date +%s) - t_start ))

# ---------------------------------------------------------------- report
mkdir -p "$top/bench/results"
[ -z "$out" ] && out=$top/bench/results/gateway-$(date -u +%Y%m%d-%H%M%S).json
python3 "$here/report.py" "$raw" "$out"
