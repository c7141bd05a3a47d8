#!/usr/bin/env bash
# End-to-end tests of `vigie verify`: the real binary on logs written by the
# gateway's own writer (unit_audit_writer --make-log, built next to vigie) and
# by tests/audit/gen_log.py (an independent Python writer of the format), their
# bytes recomputed here with Python's hashlib and hmac, then tampered with.
# Exit codes, messages and --json as an auditor sees them.
set -u
VIGIE=${1:?usage: test_verify.sh PATH_TO_VIGIE}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
MAKE_LOG="$(dirname "$VIGIE")/unit_audit_writer"
GEN_LOG="$HERE/tests/audit/gen_log.py"
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # name, condition result (0 = ok), details
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: $3" >&2; fi
}

# chain_files DIR: the log files of DIR, oldest first (by first seq)
chain_files() {
    python3 - "$1" <<'PY'
import os, re, sys
d = sys.argv[1]
names = [n for n in os.listdir(d) if n.startswith("audit.log") and not n.endswith("checkpoints")]
def first(n):
    with open(os.path.join(d, n), "rb") as f:
        return int(re.match(rb'\{"v":1,"seq":(\d+),', f.readline()).group(1))
print("\n".join(os.path.join(d, n) for n in sorted(names, key=first)))
PY
}

# recompute DIR KEY: every line and every exported checkpoint, recomputed from
# audit.h's definition. Prints "records files checkpoints".
recompute() {
    python3 - "$1" "$2" <<'PY'
import hashlib, hmac, json, os, re, sys
d, keyf = sys.argv[1], sys.argv[2]
key = open(keyf, "rb").read()
line_re = re.compile(rb'^\{"v":1,"seq":(\d+),"ts":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)",'
                     rb'"type":"([a-z_]+)"(,.+)?,"prev":"([0-9a-f]{64})","mac":"([0-9a-f]{64})"\}$')
names = [n for n in os.listdir(d) if n.startswith("audit.log") and not n.endswith("checkpoints")]
files = []
for n in names:
    data = open(os.path.join(d, n), "rb").read()
    assert data.endswith(b"\n"), n
    files.append(data[:-1].split(b"\n"))
files.sort(key=lambda ls: int(line_re.match(ls[0]).group(1)))
prev, seq, ts, by_seq = "0" * 64, 0, "", {}
for ls in files:
    for i, line in enumerate(ls):
        m = line_re.match(line)
        assert m, line[:80]
        assert int(m.group(1)) == seq + 1, (seq, line[:80])
        assert m.group(2).decode() >= ts
        assert m.group(5).decode() == prev, line[:80]
        signed = line[:line.rindex(b',"mac":"')]
        assert hmac.new(key, signed, hashlib.sha256).hexdigest() == m.group(6).decode()
        rec = json.loads(line)
        assert list(rec)[:4] == ["v", "seq", "ts", "type"] and list(rec)[-2:] == ["prev", "mac"]
        if i == 0 and seq > 0:
            assert rec["type"] in ("segment", "start"), rec["type"]
        if rec["type"] == "checkpoint":
            assert rec["head"] == prev
        prev, seq, ts = hashlib.sha256(line).hexdigest(), seq + 1, m.group(2).decode()
        by_seq[seq] = (rec["type"], prev)
ck = open(os.path.join(d, "audit.log.checkpoints"), "rb").read().split(b"\n")[:-1]
for line in ck:
    rec = json.loads(line)
    assert list(rec) == ["ts", "seq", "file", "hash", "mac"], list(rec)
    signed = line[:line.rindex(b',"mac":"')]
    assert hmac.new(key, signed, hashlib.sha256).hexdigest() == rec["mac"]
    assert by_seq[rec["seq"]] == ("checkpoint", rec["hash"]), rec
print(seq, len(files), len(ck))
PY
}

# flip FILE LINE: changes one character in the middle of that line (1-based),
# keeping it a valid JSON line, so that only the MAC can tell
flip() {
    python3 - "$1" "$2" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
lines = open(path, "rb").read().split(b"\n")
l = lines[n - 1]
i = l.index(b'"id":"') + 6
lines[n - 1] = l[:i] + (b"X" if l[i:i + 1] != b"X" else b"Y") + l[i + 1:]
open(path, "wb").write(b"\n".join(lines))
PY
}

# ---- a log written by the gateway's writer ------------------------------------------
if [ -x "$MAKE_LOG" ]; then
    w="$tmp/w"
    mkdir "$w"
    "$MAKE_LOG" --make-log "$w" 1200
    check make_log $? "unit_audit_writer --make-log failed"
    key="$w/audit.key"
    mapfile -t files < <(chain_files "$w")
    nfiles=${#files[@]}
    [ "$nfiles" -ge 3 ]
    check writer_rotated $? "only $nfiles file(s)"

    # 1. its bytes, recomputed independently
    counts=$(recompute "$w" "$key")
    check writer_bytes $? "the recomputation failed: $counts"
    read -r nrec nf nck <<<"$counts"

    # 2. intact: exit 0, and what was checked
    out=$("$VIGIE" verify --key-file "$key" "${files[@]}")
    rc=$?
    exp="intact: $nrec records in $nfiles file(s), seq 1..$nrec
  MACs: all verified with the audit key
  checkpoints: $nck exported, $nck found in these files ($w/audit.log.checkpoints)
  end: a clean stop"
    [ "$rc" -eq 0 ] && [ "$out" = "$exp" ]
    check intact "$?" "rc=$rc out=[$out] expected [$exp]"

    # 2b. a shell glob (audit.log*) also names the checkpoint file: taken as such
    out=$("$VIGIE" verify --key-file "$key" "$w"/audit.log*)
    rc=$?
    [ "$rc" -eq 0 ] && [ "$out" = "$exp" ]
    check glob_with_checkpoints "$?" "rc=$rc out=[$out] expected [$exp]"

    # 3. any order; and the checkpoint file found beside a rotated file alone
    mapfile -t rev < <(printf '%s\n' "${files[@]}" | tac)
    out=$("$VIGIE" verify -k "$key" "${rev[@]}")
    rc=$?
    [ "$rc" -eq 0 ] && [ "$out" = "$exp" ]
    check any_order "$?" "rc=$rc out=[$out]"
    out=$("$VIGIE" verify -k "$key" "${files[0]}")
    rc=$?
    [ "$rc" -eq 1 ] && [[ "$out" == "BROKEN at $w/audit.log.checkpoints: the logs end at seq "*" but a checkpoint was exported at seq "*": records were removed from the end"* ]]
    check rotated_alone_finds_checkpoints "$?" "rc=$rc out=[$out]"

    # 4. --json, intact
    "$VIGIE" verify --json --key-file "$key" "${files[@]}" >"$tmp/ok.json"
    rc=$?
    python3 - "$tmp/ok.json" "$nrec" "$nfiles" "$nck" "$w/audit.log.checkpoints" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n, f, c, ckf = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
assert list(d) == ["ok", "records", "files", "first_seq", "last_seq", "macs_checked",
                   "checkpoint_file", "checkpoints_exported", "checkpoints_found",
                   "clean_end", "where", "why"], list(d)
assert d == {"ok": True, "records": n, "files": f, "first_seq": 1, "last_seq": n,
             "macs_checked": True, "checkpoint_file": ckf, "checkpoints_exported": c,
             "checkpoints_found": c, "clean_end": True, "where": None, "why": None}, d
PY
    check json_intact "$(( rc != 0 || $? != 0 ))" "rc=$rc $(cat "$tmp/ok.json")"

    # 5. without the key: MACs not checked, said so
    out=$("$VIGIE" verify "${files[@]}")
    rc=$?
    [ "$rc" -eq 0 ] && grep -qx '  MACs: NOT checked (no --key-file): chain only' <<<"$out"
    check no_key "$?" "rc=$rc out=[$out]"
    "$VIGIE" verify --json "${files[@]}" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] is True and d["macs_checked"] is False, d'
    check no_key_json "$?" ""

    # 6. one character changed in line 5 of the second file: the MAC says
    #    where, exactly; the chain alone says it one line later
    t="$tmp/t"
    cp -r "$w" "$t"
    mapfile -t tf < <(chain_files "$t")
    flip "${tf[1]}" 5
    seq5=$(sed -n 5p "${tf[1]}" | sed -E 's/^\{"v":1,"seq":([0-9]+),.*/\1/')
    out=$("$VIGIE" verify -k "$t/audit.key" "${tf[@]}")
    rc=$?
    exp="BROKEN at ${tf[1]}:5 (seq $seq5): the MAC does not verify: the record was changed or written without the audit key"
    [ "$rc" -eq 1 ] && [ "$(head -1 <<<"$out")" = "$exp" ] &&
        [ "$(sed -n 2p <<<"$out")" = "  $((seq5 - 1)) record(s) verified before it" ]
    check tampered "$?" "rc=$rc out=[$out] expected [$exp]"
    out=$("$VIGIE" verify "${tf[@]}")
    rc=$?
    [ "$rc" -eq 1 ] && [ "$(head -1 <<<"$out")" = "BROKEN at ${tf[1]}:6 (seq $((seq5 + 1))): prev is not the hash of the record before: that record or this one was changed, or one was removed or inserted" ]
    check tampered_chain_only "$?" "rc=$rc out=[$out]"
    "$VIGIE" verify --json -k "$t/audit.key" "${tf[@]}" >"$tmp/bad.json"
    rc=$?
    python3 - "$tmp/bad.json" "${tf[1]}:5 (seq $seq5)" "$((seq5 - 1))" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] is False and d["where"] == sys.argv[2] and d["records"] == int(sys.argv[3]), d
assert d["why"].startswith("the MAC does not verify"), d
PY
    check json_tampered "$(( rc != 1 || $? != 0 ))" "rc=$rc $(cat "$tmp/bad.json")"

    # 7. records cut off the end (before the last checkpoint): seen only
    #    through the exported checkpoints
    rm -rf "$t" && cp -r "$w" "$t"
    mapfile -t tf < <(chain_files "$t")
    last=${tf[$((nfiles - 1))]}
    head -n -3 "$last" >"$tmp/cut" && cat "$tmp/cut" >"$last"
    out=$("$VIGIE" verify -k "$t/audit.key" "${tf[@]}")
    rc=$?
    [ "$rc" -eq 1 ] && [ "$(head -1 <<<"$out")" = "BROKEN at $t/audit.log.checkpoints: the logs end at seq $((nrec - 3)) but a checkpoint was exported at seq $nrec: records were removed from the end (or the files after it were not given)" ]
    check cut_end "$?" "rc=$rc out=[$out]"
    out=$("$VIGIE" verify -k "$t/audit.key" --no-checkpoints "${tf[@]}")
    rc=$?
    [ "$rc" -eq 0 ] && grep -qx '  checkpoints: none read: records cut off the end would not be seen' <<<"$out" &&
        grep -qx '  end: no stop record (the gateway is running, or stopped without closing the log)' <<<"$out"
    check cut_end_unseen_without_checkpoints "$?" "rc=$rc out=[$out]"

    # 8. a torn last line: a crash, or a cut mid-line
    rm -rf "$t" && cp -r "$w" "$t"
    printf '{"v":1,"seq":%d,"ts":"20' "$((nrec + 1))" >>"$t/audit.log"
    out=$("$VIGIE" verify -k "$t/audit.key" "$t/audit.log" "${tf[@]:0:$((nfiles - 1))}")
    rc=$?
    [ "$rc" -eq 1 ] && [[ "$(head -1 <<<"$out")" == "BROKEN at $t/audit.log:"*" (seq $((nrec + 1))): the last line is cut (no newline)"* ]]
    check torn "$?" "rc=$rc out=[$out]"

    # 9. usage and unreadable input: exit 2, never 0 or 1
    out=$("$VIGIE" verify -k "$key" "${files[@]}" "$tmp/missing.log" 2>&1)
    rc=$?
    [ "$rc" -eq 2 ] && [[ "$out" == *"$tmp/missing.log: cannot read: $tmp/missing.log: No such file or directory"* ]]
    check missing_file "$?" "rc=$rc out=[$out]"
    cp "$key" "$tmp/key644" && chmod 644 "$tmp/key644"
    out=$("$VIGIE" verify -k "$tmp/key644" "${files[@]}" 2>&1)
    rc=$?
    [ "$rc" -eq 2 ] && [[ "$out" == *"can be read by group or others (mode 644); chmod 600 it"* ]]
    check key_mode "$?" "rc=$rc out=[$out]"
    out=$("$VIGIE" verify -k "$key" --checkpoints "$tmp/none.checkpoints" "${files[@]}" 2>&1)
    rc=$?
    [ "$rc" -eq 2 ] && [[ "$out" == *"cannot read the checkpoint file"* ]]
    check missing_checkpoints "$?" "rc=$rc out=[$out]"
else
    echo "note: $MAKE_LOG not built: the writer's logs are not checked here" >&2
fi

out=$("$VIGIE" verify 2>&1)
rc=$?
[ "$rc" -eq 2 ] && [[ "$out" == *"usage:"*"verify --audit-log FILE"* ]]
check no_args "$?" "rc=$rc out=[$out]"
"$VIGIE" verify --help | grep -q 'exit: 0 intact, 1 broken, 2 usage or unreadable file'
check help "$?" ""

# ---- logs written by gen_log.py (another implementation of the format) ------------
if [ -f "$GEN_LOG" ]; then
    g="$tmp/g"
    mkdir "$g"
    printf 'gen-log-key-for-the-cli-test-0123' >"$g/audit.key"
    chmod 600 "$g/audit.key"
    python3 "$GEN_LOG" --key-file "$g/audit.key" --records 900 --rotate 300 --checkpoint-every 100 \
        --hostile --checkpoints "$g/audit.log.checkpoints" -o "$g/audit.log"
    check gen_log "$?" "gen_log.py failed"
    counts=$(recompute "$g" "$g/audit.key")
    check gen_log_bytes $? "gen_log.py's output does not recompute: $counts"
    read -r nrec nf nck <<<"$counts"
    mapfile -t gf < <(chain_files "$g")
    out=$("$VIGIE" verify -k "$g/audit.key" "${gf[@]}")
    rc=$?
    [ "$rc" -eq 0 ] && [ "$(head -1 <<<"$out")" = "intact: $nrec records in ${#gf[@]} file(s), seq 1..$nrec" ] &&
        grep -qx "  checkpoints: $nck exported, $nck found in these files ($g/audit.log.checkpoints)" <<<"$out"
    check gen_log_intact "$?" "rc=$rc out=[$out]"
    [ "$nck" -gt 0 ]
    check gen_log_has_checkpoints "$?" "no checkpoint exported"
    # tampered: a number changed in an exchange of the last file
    python3 - "${gf[$((${#gf[@]} - 1))]}" >"$tmp/glw" <<'PY'
import re, sys
path = sys.argv[1]
lines = open(path, "rb").read().split(b"\n")
for i, l in enumerate(lines):
    if b'"type":"exchange"' in l and b'"tokens_in":' in l:
        j = l.index(b'"tokens_in":') + 12
        lines[i] = l[:j] + b"9" + l[j:]
        print(i + 1, re.match(rb'\{"v":1,"seq":(\d+),', l).group(1).decode())
        break
open(path, "wb").write(b"\n".join(lines))
PY
    read -r gl gs <"$tmp/glw"
    out=$("$VIGIE" verify -k "$g/audit.key" "${gf[@]}")
    rc=$?
    [ "$rc" -eq 1 ] && [ "$(head -1 <<<"$out")" = "BROKEN at ${gf[$((${#gf[@]} - 1))]}:$gl (seq $gs): the MAC does not verify: the record was changed or written without the audit key" ]
    check gen_log_tampered "$?" "rc=$rc out=[$out]"
else
    echo "note: $GEN_LOG missing: no cross-check with another writer" >&2
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
