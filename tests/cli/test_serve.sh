#!/usr/bin/env bash
# End-to-end tests of `vigie serve` (docs/internals/net-contract.md): usage
# errors (exit 2), configuration and policy errors with their positions (exit
# 1), an address already taken, then a real gateway on free loopback ports
# with the built-in echo model: ready line, /healthz, a chat request, an
# unknown key, SIGHUP with a broken then a valid policy, SIGTERM. Every wait
# is a poll with a deadline. Under a sanitizer build, any report on the
# gateway's stderr is a failure.
set -u
VIGIE=${1:?usage: test_serve.sh PATH_TO_VIGIE}
POLICY=policies/customs.yaml
pass=0
fail=0
tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # name, condition result (0 = ok), details
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: $3" >&2; fi
}

free_ports() { # N: N loopback ports free right now, space-separated
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])
for x in s:
    x.close()' "$1"
}

wait_for() { # file, fixed string, seconds, pid: 0 once the file has it; 1 at the deadline or if pid died
    local deadline=$((SECONDS + $3))
    while [ "$SECONDS" -lt "$deadline" ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || { grep -qF -- "$2" "$1" 2>/dev/null; return; }
        sleep 0.05
    done
    return 1
}

wait_exit() { # pid, seconds: 0 once the process is gone, 1 at the deadline
    local deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
    return 0
}

keep() { # what a short-lived command printed, for the sanitizer check at the end
    printf '%s\n' "$1" >>"$tmp/short-lived.err"
}

count() { # file, fixed string: how many lines have it
    grep -cF -- "$2" "$1" 2>/dev/null
}

chat() { # port, key, outfile: prints the status; headers in outfile.h (without CR)
    local code
    code=$(curl -s -m 10 -o "$3" -D "$3.h" -w '%{http_code}' "http://127.0.0.1:$1/v1/chat/completions" \
        -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
        -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Bonjour, où en est mon dossier ?"}]}')
    sed -i 's/\r$//' "$3.h" 2>/dev/null
    printf '%s' "$code"
}

# 1. Usage: help on stdout (exit 0); everything malformed exits 2 before any
#    file is read or any port taken.
out=$(timeout 10 "$VIGIE" serve --help 2>"$tmp/help.err")
rc=$?
keep "$out"
[ "$rc" -eq 0 ] && grep -q -- "--upstream" <<<"$out" && grep -q -- "--listen" <<<"$out" \
    && grep -q -- "--workers" <<<"$out" && [ ! -s "$tmp/help.err" ]
check help $? "rc=$rc out=[$out] err=[$(cat "$tmp/help.err")]"

usage() { # name, expected stderr text, arguments...
    local name=$1 want=$2 out rc
    shift 2
    out=$(timeout 10 "$VIGIE" serve "$@" 2>&1 >/dev/null)
    rc=$?
    keep "$out"
    [ "$rc" -eq 2 ] && grep -qF -- "$want" <<<"$out"
    check "usage_$name" $? "rc=$rc out=[$out]"
}
usage unknown_option "unrecognized option" --frobnicate
usage workers_0 "--workers takes 1 to 64" --workers 0
usage workers_65 "--workers takes 1 to 64" --workers 65
usage workers_word "--workers takes 1 to 64" --workers two
usage upstream_ftp "--upstream must be http://, https:// or builtin:echo" --upstream ftp://x
usage listen_nonsense "--listen 'nonsense': expected ADDR:PORT" --listen nonsense
usage listen_port "port must be 0 to 65535" --listen 127.0.0.1:65536
usage log_level "--log-level is debug, info, warn or error" --log-level loud
usage extra_argument "unexpected argument 'now'" now

# 1b. No audit log and no --no-audit: refused, with the way out named.
out=$(timeout 10 "$VIGIE" serve --listen 127.0.0.1:0 --upstream builtin:echo --policy "$POLICY" 2>&1)
rc=$?
keep "$out"
[ "$rc" -eq 1 ] && grep -qF "no audit log: give --audit-log FILE and --audit-key FILE" <<<"$out" \
    && grep -qF -- "--no-audit" <<<"$out"
check audit_required $? "rc=$rc out=[$out]"
usage no_audit_and_log "--no-audit with --audit-log" --no-audit --audit-log x.log

# 2. A configuration file with errors: exit 1, every one as FILE:LINE:COL.
cat >"$tmp/bad.yaml" <<'YAML'
listen:
  - address: 127.0.0.1:99999
wokers: 2
timeouts:
  head: 10h
log:
  level: loud
YAML
out=$(timeout 10 "$VIGIE" serve -c "$tmp/bad.yaml" --upstream builtin:echo 2>&1)
rc=$?
keep "$out"
[ "$rc" -eq 1 ] \
    && grep -qF "$tmp/bad.yaml:2:14: '127.0.0.1:99999': port must be 0 to 65535" <<<"$out" \
    && grep -qF "$tmp/bad.yaml:3:1: unknown key 'wokers' (did you mean 'workers'?)" <<<"$out" \
    && grep -qF "$tmp/bad.yaml:5:9: timeouts.head: expected a duration" <<<"$out" \
    && grep -qF "$tmp/bad.yaml:7:10: log.level must be debug, info, warn or error" <<<"$out" \
    && [ "$(grep -cE "^$tmp/bad.yaml:[0-9]+:[0-9]+: " <<<"$out")" -eq 4 ]
check config_errors $? "rc=$rc out=[$out]"

out=$(timeout 10 "$VIGIE" serve -c "$tmp/absent.yaml" 2>&1)
rc=$?
keep "$out"
[ "$rc" -eq 1 ] && grep -qF "$tmp/absent.yaml" <<<"$out"
check config_missing $? "rc=$rc out=[$out]"

# A copy of the shipped policy whose packs are the repository's, by absolute
# path, so that it can be edited in the temporary directory.
mkdir -p "$tmp/p"
edit_policy() { # destination, python expression turning the text s into the new text
    python3 - "$POLICY" "$1" "$2" "$PWD/rules" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
assert "\nrules: ../rules\n" in s
s = s.replace("\nrules: ../rules\n", "\nrules: %s\n" % sys.argv[4])
t = eval(sys.argv[3])
open(sys.argv[2] + ".tmp", "w", encoding="utf-8").write(t)
PY
    mv "$1.tmp" "$1" # one step: the gateway never reads half a file
}
edit_policy "$tmp/p/good.yaml" 's'
edit_policy "$tmp/p/broken.yaml" 's.replace("  mode: enforce", "  mdoe: enforce")'
edit_policy "$tmp/p/newer.yaml" 's.replace("version: \"2026.11.1\"", "version: \"2026.12.0\"")'
grep -q 'mdoe: enforce' "$tmp/p/broken.yaml" && grep -q '2026.12.0' "$tmp/p/newer.yaml"
check policy_copies $? "the policy edits did not apply"

# 3. --policy on a policy with an error: exit 1 with its position, no port taken.
read -r PA PB < <(free_ports 2)
out=$(timeout 20 "$VIGIE" serve --listen "127.0.0.1:$PA" --admin "127.0.0.1:$PB" \
    --upstream builtin:echo --policy "$tmp/p/broken.yaml" --workers 1 --no-audit 2>&1)
rc=$?
keep "$out"
[ "$rc" -eq 1 ] && grep -qE "$tmp/p/broken.yaml:[0-9]+:3: unknown key 'mdoe' \(did you mean 'mode'\?\)" <<<"$out" \
    && ! grep -q '"event":"ready"' <<<"$out"
check policy_error $? "rc=$rc out=[$out]"

# 4. A listen address already taken (a plain socket without SO_REUSEPORT):
#    exit 1, the address named. Same for the admin address.
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(60)' >"$tmp/holder.port" &
holder=$!
pids+=("$holder")
deadline=$((SECONDS + 10))
while [ ! -s "$tmp/holder.port" ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
PH=$(cat "$tmp/holder.port")
read -r PA PB < <(free_ports 2)
out=$(timeout 20 "$VIGIE" serve --listen "127.0.0.1:$PH" --admin "127.0.0.1:$PB" \
    --upstream builtin:echo --policy "$POLICY" --workers 1 --no-audit 2>&1)
rc=$?
keep "$out"
[ -n "$PH" ] && [ "$rc" -eq 1 ] && grep -q "cannot listen on 127.0.0.1:$PH" <<<"$out" \
    && grep -q "Address already in use" <<<"$out" && ! grep -q '"event":"ready"' <<<"$out"
check listen_in_use $? "port=$PH rc=$rc out=[$out]"
out=$(timeout 20 "$VIGIE" serve --listen "127.0.0.1:$PA" --admin "127.0.0.1:$PH" \
    --upstream builtin:echo --policy "$POLICY" --workers 1 --no-audit 2>&1)
rc=$?
keep "$out"
[ "$rc" -eq 1 ] && grep -q "127.0.0.1:$PH" <<<"$out" && ! grep -q '"event":"ready"' <<<"$out"
check admin_in_use $? "port=$PH rc=$rc out=[$out]"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# 5. A running gateway on the edited copy of the policy.
read -r P1 P2 < <(free_ports 2)
cp "$tmp/p/good.yaml" "$tmp/p/live.yaml"
head -c 32 /dev/urandom >"$tmp/audit.key" && chmod 600 "$tmp/audit.key"
"$VIGIE" serve --listen "127.0.0.1:$P1" --admin "127.0.0.1:$P2" --upstream builtin:echo \
    --policy "$tmp/p/live.yaml" --workers 1 --audit-log "$tmp/audit.log" \
    --audit-key "$tmp/audit.key" 2>"$tmp/gw.err" &
gw=$!
pids+=("$gw")
wait_for "$tmp/gw.err" '"event":"ready"' 30 "$gw"
ready=$?
grep '"event":"ready"' "$tmp/gw.err" >"$tmp/ready.json" 2>/dev/null
python3 - "$tmp/ready.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
d = json.loads(lines[0])
assert d["level"] == "info" and d["event"] == "ready", d
assert d["policy"] == "customs-assistant" and d["policy_version"] == "2026.11.1", d
assert d["workers"] == 1, d
PY
pyrc=$?
[ "$ready" -eq 0 ] && [ "$pyrc" -eq 0 ] \
    && grep -qF "{\"event\":\"listening\",\"address\":\"127.0.0.1:$P1\",\"tls\":false}" \
        <(sed -E 's/"ts":"[^"]*","level":"info",//' "$tmp/gw.err")
check ready $? "err=[$(cat "$tmp/gw.err")]"

code=$(curl -s -m 10 -o "$tmp/health.json" -w '%{http_code}' "http://127.0.0.1:$P2/healthz")
python3 - "$tmp/health.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok" and d["draining"] is False, d
assert d["policy"] == {"id": "customs-assistant", "version": "2026.11.1"}, d
PY
pyrc=$?
[ "$pyrc" -eq 0 ] && [ "$code" = 200 ]
check healthz $? "code=$code body=[$(cat "$tmp/health.json")]"

code=$(chat "$P1" demo-portal-key "$tmp/chat.json")
python3 - "$tmp/chat.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["object"] == "chat.completion" and d["model"] == "gpt-4o-mini", d
assert d["choices"][0]["message"]["content"] == "user: Bonjour, où en est mon dossier ?", d
PY
pyrc=$?
[ "$pyrc" -eq 0 ] && [ "$code" = 200 ] && grep -qiE '^x-request-id: [0-9a-f]{16}$' "$tmp/chat.json.h" \
    && grep -qiE '^x-vigie-decision: allow$' "$tmp/chat.json.h"
check chat_200 $? "code=$code headers=[$(cat "$tmp/chat.json.h")] body=[$(cat "$tmp/chat.json")]"

code=$(chat "$P1" not-a-known-key "$tmp/denied.json")
python3 - "$tmp/denied.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d) == ["error"], d
e = d["error"]
assert sorted(e) == ["code", "message", "type"], e
assert e["type"] == "policy_error" and e["code"] == "unknown_caller", e
assert isinstance(e["message"], str) and e["message"], e
PY
pyrc=$?
[ "$pyrc" -eq 0 ] && [ "$code" = 401 ] && grep -qiE '^x-request-id: [0-9a-f]{16}$' "$tmp/denied.json.h" \
    && ! grep -qi '^x-vigie-decision' "$tmp/denied.json.h"
check unknown_key_401 $? "code=$code headers=[$(cat "$tmp/denied.json.h")] body=[$(cat "$tmp/denied.json")]"

# Nothing the callers sent appears in the log: not the key, not the prompt.
! grep -qE 'demo-portal-key|not-a-known-key|Bonjour' "$tmp/gw.err"
check log_has_no_secrets $? "err=[$(cat "$tmp/gw.err")]"

# 6. SIGHUP with a broken policy: reload_failed with the position, the old
#    policy keeps answering.
cp "$tmp/p/broken.yaml" "$tmp/p/live.yaml.new" && mv "$tmp/p/live.yaml.new" "$tmp/p/live.yaml"
kill -HUP "$gw"
wait_for "$tmp/gw.err" '"event":"reload_failed"' 20 "$gw"
rc=$?
[ "$rc" -eq 0 ] && grep '"event":"reload_failed"' "$tmp/gw.err" \
    | grep -qE "\"reason\":\"$tmp/p/live.yaml:[0-9]+:3: unknown key 'mdoe'"
check reload_failed_logged $? "err=[$(cat "$tmp/gw.err")]"
code=$(chat "$P1" demo-portal-key "$tmp/chat2.json")
hcode=$(curl -s -m 10 -o "$tmp/health2.json" -w '%{http_code}' "http://127.0.0.1:$P2/healthz")
[ "$code" = 200 ] && [ "$hcode" = 200 ] && grep -qF '"version":"2026.11.1"' "$tmp/health2.json" \
    && kill -0 "$gw" 2>/dev/null
check reload_failed_still_serving $? "code=$code health=$hcode [$(cat "$tmp/health2.json")]"

# 7. SIGHUP with a valid edit: reloaded, the new version on /healthz.
cp "$tmp/p/newer.yaml" "$tmp/p/live.yaml.new" && mv "$tmp/p/live.yaml.new" "$tmp/p/live.yaml"
kill -HUP "$gw"
wait_for "$tmp/gw.err" '"event":"reloaded"' 20 "$gw"
rc=$?
[ "$rc" -eq 0 ] && grep '"event":"reloaded"' "$tmp/gw.err" \
    | grep -qF '"policy":"customs-assistant","version":"2026.12.0"'
check reloaded_logged $? "err=[$(cat "$tmp/gw.err")]"
hcode=$(curl -s -m 10 -o "$tmp/health3.json" -w '%{http_code}' "http://127.0.0.1:$P2/healthz")
code=$(chat "$P1" demo-portal-key "$tmp/chat3.json")
[ "$hcode" = 200 ] && grep -qF '"policy":{"id":"customs-assistant","version":"2026.12.0"}' \
    "$tmp/health3.json" && [ "$code" = 200 ]
check reloaded_new_version $? "health=$hcode [$(cat "$tmp/health3.json")] chat=$code"

# 8. SIGTERM: stopped within 5 s, exit 0.
kill -TERM "$gw"
wait_exit "$gw" 5
gone=$?
if [ "$gone" -eq 0 ]; then wait "$gw"; rc=$?; else rc=timeout; kill -KILL "$gw" 2>/dev/null; fi
[ "$gone" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q '"event":"stopped"' "$tmp/gw.err" \
    && [ "$(count "$tmp/gw.err" '"event":"ready"')" -eq 1 ]
check sigterm $? "rc=$rc err=[$(cat "$tmp/gw.err")]"

# 9. From a configuration file; the command line wins over it (--workers).
read -r P1 P2 < <(free_ports 2)
cat >"$tmp/gw.yaml" <<YAML
listen:
  - address: 127.0.0.1:$P1
admin: 127.0.0.1:$P2
policy: p/good.yaml
workers: 1
timeouts:
  drain: 2s
log:
  level: info
audit:
  file: audit2.log
  key_file: audit.key
YAML
"$VIGIE" serve -c "$tmp/gw.yaml" --upstream builtin:echo --workers 2 2>"$tmp/gw2.err" &
gw=$!
pids+=("$gw")
wait_for "$tmp/gw2.err" '"event":"ready"' 30 "$gw"
rc=$?
code=$(chat "$P1" demo-portal-key "$tmp/chat4.json")
[ "$rc" -eq 0 ] && grep '"event":"ready"' "$tmp/gw2.err" | grep -qF '"workers":2' && [ "$code" = 200 ]
check config_file_serves $? "rc=$rc chat=$code err=[$(cat "$tmp/gw2.err")]"

# 9a. SIGHUP reads the configuration file again: a new body limit applies to
# the next request; a changed listener is kept (restart needed) and said so;
# a broken file changes nothing and says where it is broken.
read -r P3 < <(free_ports 1)
big=$(python3 -c 'import json; print(json.dumps({"model":"mistral-small-onprem","messages":[{"role":"user","content":"x"*3000}]}))')
sed -e "s/127.0.0.1:$P1/127.0.0.1:$P3/" -e 's/  drain: 2s/  drain: 2s\nlimits:\n  body: 2K/' \
    "$tmp/gw.yaml" >"$tmp/gw.new" && mv "$tmp/gw.new" "$tmp/gw.yaml"
kill -HUP "$gw"
wait_for "$tmp/gw2.err" '"event":"reloaded"' 30 "$gw"
rc=$?
code=$(curl -s -o "$tmp/big.json" -w '%{http_code}' -H 'Authorization: Bearer demo-portal-key' \
    -H 'Content-Type: application/json' --data-binary "$big" "http://127.0.0.1:$P1/v1/chat/completions")
[ "$rc" -eq 0 ] && [ "$code" = 413 ] && grep -q '"event":"restart_needed".*"kept":"listen"' "$tmp/gw2.err"
check reload_config_file $? "rc=$rc code=$code err=[$(tail -5 "$tmp/gw2.err")]"
cp "$tmp/gw.yaml" "$tmp/gw.good"
printf 'timeouts:\n  keepalve: 5s\n' >>"$tmp/gw.yaml"
kill -HUP "$gw"
wait_for "$tmp/gw2.err" '"event":"reload_failed"' 30 "$gw"
rc=$?
code=$(chat "$P1" demo-portal-key "$tmp/chat5.json")
[ "$rc" -eq 0 ] && [ "$code" = 200 ] && grep '"event":"reload_failed"' "$tmp/gw2.err" | grep -qF "$tmp/gw.yaml:"
check reload_config_broken $? "rc=$rc code=$code err=[$(tail -5 "$tmp/gw2.err")]"
mv "$tmp/gw.good" "$tmp/gw.yaml"
kill -INT "$gw"
wait_exit "$gw" 5
gone=$?
if [ "$gone" -eq 0 ]; then wait "$gw"; rc=$?; else rc=timeout; kill -KILL "$gw" 2>/dev/null; fi
[ "$gone" -eq 0 ] && [ "$rc" -eq 0 ] && grep -q '"signal":"SIGINT"' "$tmp/gw2.err" \
    && grep -q '"event":"stopped"' "$tmp/gw2.err"
check sigint $? "rc=$rc err=[$(cat "$tmp/gw2.err")]"

# 9b. vigie check -c: the same file checked without starting, then a TLS
# listener whose key does not match its certificate (found by loading it).
out=$("$VIGIE" check -c "$tmp/gw.yaml" 2>&1); rc=$?
[ "$rc" -eq 0 ] && grep -qF "gateway $tmp/gw.yaml: " <<<"$out" && grep -qF ': valid' <<<"$out"
check check_gateway_ok $? "rc=$rc out=[$out]"
mkdir -p "$tmp/pki"
sh tests/e2e/pki.sh "$tmp/pki" >/dev/null 2>&1
cat >"$tmp/gw-tls.yaml" <<YAML
listen:
  - address: 127.0.0.1:1
    tls:
      certificates:
        - { cert: pki/ecdsa.crt, key: pki/rsa.key }
policy: p/good.yaml
audit: off
YAML
out=$("$VIGIE" check -c "$tmp/gw-tls.yaml" 2>&1); rc=$?
[ "$rc" -eq 1 ] && grep -qF "listener 127.0.0.1:1: $tmp/pki/rsa.key: the private key does not match" <<<"$out"
check check_gateway_tls_mismatch $? "rc=$rc out=[$out]"

# 10. Under a sanitizer build: no report anywhere.
! grep -lE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' \
    "$tmp"/*.err >/dev/null 2>&1
check no_sanitizer_report $? "$(grep -hE -A20 'Sanitizer|runtime error:' "$tmp"/*.err | head -60)"

echo "test_serve.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
