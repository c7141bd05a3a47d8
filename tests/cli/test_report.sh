#!/usr/bin/env bash
# End-to-end tests of `vigie report`: the real binary over logs written by
# tests/audit/gen_log.py (an independent implementation of the record format),
# whose --expect file holds the aggregates computed from the values it wrote.
set -u
VIGIE=${1:?usage: test_report.sh PATH_TO_VIGIE}
GEN=$(cd "$(dirname "$0")/../audit" && pwd)/gen_log.py
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1795000000 # reproducible "generated"

check() { # name, condition result (0 = ok), details
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: $3" >&2; fi
}

printf '0123456789abcdef0123456789abcdef' > "$tmp/key"
chmod 600 "$tmp/key"
mkdir "$tmp/logs"
L="$tmp/logs/audit.log"
# 600 exchanges over 5 days, a new file every 250 (three files), checkpoints
# exported beside them, names that test escaping.
python3 "$GEN" --key-file "$tmp/key" --records 600 --days 5 --rotate 250 --seed 3 \
    --checkpoint-every 50 --checkpoints "$L.checkpoints" --hostile --expect "$tmp/expect.json" \
    -o "$L" 2>"$tmp/err"
check generate $? "$(cat "$tmp/err")"
nfiles=$(ls "$tmp/logs" | grep -vc checkpoints)
[ "$nfiles" -eq 3 ]
check rotated_files $? "$(ls "$tmp/logs")"

# 0. The generator's own chain: seq +1, ts not going back, prev = SHA-256 of
#    the previous line, MAC over '{' .. the closing quote of prev.
python3 - "$tmp/key" "$tmp/logs" <<'PY'
import glob, hashlib, hmac, json, sys
key = open(sys.argv[1], "rb").read()
files = sorted(glob.glob(sys.argv[2] + "/audit.log.2*")) + [sys.argv[2] + "/audit.log"]
prev, seq, ts = "0" * 64, 0, ""
for name in files:
    for raw in open(name, "rb"):
        line = raw.rstrip(b"\n")
        rec = json.loads(line)
        assert rec["seq"] == seq + 1, (name, rec["seq"])
        assert rec["ts"] >= ts
        assert rec["prev"] == prev, (name, rec["seq"])
        cut = line.index(b'"prev":"') + 8 + 64 + 1
        assert hmac.new(key, line[:cut], hashlib.sha256).hexdigest() == rec["mac"]
        assert line[cut:] == b',"mac":"' + rec["mac"].encode() + b'"}'
        assert list(rec)[:4] == ["v", "seq", "ts", "type"] and list(rec)[-2:] == ["prev", "mac"]
        if rec["type"] == "checkpoint":
            assert rec["head"] == prev
        prev, seq, ts = hashlib.sha256(line).hexdigest(), rec["seq"], rec["ts"]
for raw in open(sys.argv[2] + "/audit.log.checkpoints", "rb"):
    line = raw.rstrip(b"\n")
    cp = json.loads(line)
    body = line[:line.index(b',"mac":"')]
    assert hmac.new(key, body, hashlib.sha256).hexdigest() == cp["mac"]
PY
check generator_chain $? "the generated log does not verify"

# 1. JSON over every file (a glob, checkpoint file included: skipped) equals
#    what the generator counted.
"$VIGIE" report --audit-log "$tmp"/logs/audit.log* --format json >"$tmp/r.json" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && grep -q 'audit.log.checkpoints: skipped: a checkpoint file' "$tmp/err"
check json_rc $? "rc=$rc err=$(cat "$tmp/err")"
python3 - "$tmp/r.json" "$tmp/expect.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))
t = r["totals"]
assert t["requests"] == e["exchanges"] == 600, t
for k in ("tokens_in", "tokens_out", "bytes_in", "bytes_out", "findings"):
    assert t[k] == e[k], (k, t[k], e[k])
assert r["decisions"] == {k: e["decisions"].get(k, 0) for k in r["decisions"]}, r["decisions"]
assert sum(r["decisions"].values()) == 600
assert {x["caller"] if x["caller"] is not None else "(none)": x["requests"] for x in r["rows"]} == e["callers"]
trust = {x["trust"] if x["trust"] is not None else "(none)": x["requests"] for x in r["trust"]}
assert trust == e["trust"], (trust, e["trust"])
ext = r["external"]
assert ext["findings_sent_as_written"] == e["external_findings"]["sent_as_written"]
assert ext["findings_sent_replaced"] == e["external_findings"]["sent_replaced"]
assert ext["findings_stopped"] == e["external_findings"]["stopped"]
types = r["records"]["types"]
for k, v in e["types"].items():
    assert types[k] == v, (k, types[k], v)
assert r["records"]["reload_failed"] == e["reloads_failed"] == 1
assert r["records"]["unreadable"] == 0 and r["records"]["first_unreadable"] is None
assert r["records"]["records"] == e["records"]
assert len(r["files"]) == 3 and r["by"] == ["caller"]
assert r["generated"] == "2026-11-18T11:06:40Z"
PY
check json_matches_generator $? "see above"

# 2. Every key: rows add up; group rows count an exchange in each group.
for by in group model upstream trust day category rule caller,model group,category day,rule; do
    "$VIGIE" report --audit-log "$tmp"/logs/audit.log "$tmp"/logs/audit.log.2* --by "$by" \
        --format json >"$tmp/by.json" 2>"$tmp/err"
    rc=$?
    python3 - "$tmp/by.json" "$tmp/expect.json" "$by" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))
by = sys.argv[3].split(",")
assert r["by"] == by, r["by"]
rows = r["rows"]
assert rows, "no rows"
def key(x, k):
    return x[k] if x[k] is not None else "(none)"
if by == ["group"]:
    assert {key(x, "group"): x["requests"] for x in rows} == e["groups"]
elif by == ["model"]:
    assert {key(x, "model"): x["requests"] for x in rows} == e["models"]
elif by == ["day"]:
    assert {x["day"]: x["requests"] for x in rows} == e["days"]
    assert [x["day"] for x in rows] == sorted(x["day"] for x in rows)
elif by == ["category"]:
    assert {x["category"]: x["findings"] for x in rows} == e["categories"]
elif by == ["rule"]:
    assert {x["rule"]: x["findings"] for x in rows} == e["rules"]
    m = [x["findings"] for x in rows]
    assert m == sorted(m, reverse=True)
elif by in (["upstream"], ["trust"], ["caller", "model"]):
    assert sum(x["requests"] for x in rows) == e["exchanges"]
elif by == ["group", "category"]:
    assert sum(x["findings"] for x in rows) >= e["findings"]
elif by == ["day", "rule"]:
    assert sum(x["findings"] for x in rows) == e["findings"]
    assert [x["day"] for x in rows] == sorted(x["day"] for x in rows)
PY
    check "by_$by" $? "rc=$rc $(cat "$tmp/err")"
done

# 3. Text: the summary, and a --by table.
"$VIGIE" report --audit-log "$tmp"/logs/audit.log* >"$tmp/r.txt" 2>/dev/null
rc=$?
total=$(python3 -c 'import json,sys; print(format(json.load(open(sys.argv[1]))["exchanges"], ","))' "$tmp/expect.json")
[ "$rc" -eq 0 ] && grep -Eq "^Exchanges +$total$" "$tmp/r.txt" && grep -q 'reload 2 (1 failed)' "$tmp/r.txt" &&
    grep -q '^External models' "$tmp/r.txt" && grep -q '^Top callers' "$tmp/r.txt" &&
    grep -q 'findings sent as written' "$tmp/r.txt" && grep -q '^Top rules' "$tmp/r.txt"
check text_summary $? "rc=$rc $(head -30 "$tmp/r.txt")"
"$VIGIE" report --audit-log "$L" --by model >"$tmp/m.txt"
head -8 "$tmp/m.txt" | grep -q '^model  *requests  *allowed  *masked  *rerouted  *blocked  *denied  *errors  *passthru  *other  *tokens in  *tokens out  *bytes in  *bytes out  *findings  *external  *ext %  *p50 ms  *p95 ms$'
check text_by_header $? "$(head -8 "$tmp/m.txt")"
# A control character in a name is shown, not sent to the terminal.
"$VIGIE" report --audit-log "$tmp"/logs/audit.log* --by caller >"$tmp/c.txt" 2>/dev/null
grep -q '^line\\x0abreak\\x09tab ' "$tmp/c.txt" && ! grep -q $'\t' "$tmp/c.txt"
check text_escapes_controls $? "$(grep -n 'break' "$tmp/c.txt")"

# 4. CSV: RFC 4180 quoting, CRLF, one row per caller, formulas defused.
"$VIGIE" report --audit-log "$tmp"/logs/audit.log* --format csv >"$tmp/r.csv" 2>/dev/null
python3 - "$tmp/r.csv" "$tmp/expect.json" <<'PY'
import csv, json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"").replace(b'line\nbreak', b""), "line endings"
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
head = rows[0]
assert head[:3] == ["caller", "requests", "allowed"] and head[-2:] == ["p50_ms", "p95_ms"], head
e = json.load(open(sys.argv[2]))
got = {}
for r in rows[1:]:
    got[r[0]] = int(r[1])
want = {}
for k, v in e["callers"].items():
    if k[:1] in ("=", "+", "-", "@", "\t", "\r"):
        k = "'" + k
    want[k] = v
assert got == want, (got, want)
for r in rows[1:]:
    assert r[0][:1] not in ("=", "+", "-", "@"), r[0]
assert """'=HYPERLINK(""http://x.invalid"",""y"")""" in raw.decode(), "formula not quoted"
PY
check csv $? "see above"

# 5. HTML: one page, nothing fetched, every name escaped.
"$VIGIE" report --audit-log "$tmp"/logs/audit.log* --format html -o "$tmp/r.html" >"$tmp/out" 2>/dev/null
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$tmp/r.html" &&
    ! grep -qi '<script' "$tmp/r.html" && ! grep -q '<b>model</b>' "$tmp/r.html" &&
    grep -q '&lt;b&gt;model&lt;/b&gt;&amp;amp;' "$tmp/r.html" &&
    ! grep -Eqi '(src|href)=|<link|@import|url\(' "$tmp/r.html" &&
    grep -q '<svg' "$tmp/r.html" && grep -q '</html>' "$tmp/r.html"
check html $? "rc=$rc"
python3 - "$tmp/r.html" <<'PY'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br", "rect", "line", "circle"):
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
assert p.stack == [], p.stack
PY
check html_well_formed $? "see above"

# 6. --since inclusive, --until exclusive, at a record's exact time.
read -r t1 t2 n_in < <(python3 - "$L" <<'PY'
import json, sys
ex = [json.loads(l) for l in open(sys.argv[1])]
ex = [r for r in ex if r["type"] == "exchange"]
t1, t2 = ex[20]["ts"], ex[60]["ts"]
print(t1, t2, sum(1 for r in ex if t1 <= r["ts"] < t2))
PY
)
"$VIGIE" report --audit-log "$L" --since "$t1" --until "$t2" --format json >"$tmp/s.json"
got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["requests"])' "$tmp/s.json")
[ "$got" = "$n_in" ]
check since_until_edges $? "since=$t1 until=$t2 got=$got want=$n_in"
day=$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))["days"])[1])' "$tmp/expect.json")
next=$(python3 -c 'import datetime,sys; print(datetime.date.fromisoformat(sys.argv[1]) + datetime.timedelta(days=1))' "$day")
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["days"][sys.argv[2]])' "$tmp/expect.json" "$day")
got=$("$VIGIE" report --audit-log "$tmp"/logs/audit.log* --since "$day" --until "$next" --format json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
[ "$got" = "$want" ]
check since_until_days $? "day=$day got=$got want=$want"
"$VIGIE" report --audit-log "$L" --since 2026-11-02T10:00 --until 2026-11-02T10:00:00Z >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'range is empty' "$tmp/err"
check empty_range $? "$(cat "$tmp/err")"
for bad in 2026-13-01 yesterday 2026-11-01T10:00+02:00 2026-11-31 ''; do
    "$VIGIE" report --audit-log "$L" --since "$bad" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q -- "--since: '$bad'" "$tmp/err"
    check "bad_since_$bad" $? "rc=$rc $(cat "$tmp/err")"
done

# 7. Unreadable lines: the report is written, the first one is named, exit 1.
cp "$L" "$tmp/broken.log"
printf 'not a record\n' >>"$tmp/broken.log"
head -c 70000 /dev/zero | tr '\0' 'x' >>"$tmp/broken.log"
printf '\n' >>"$tmp/broken.log"
lines=$(wc -l <"$L")
"$VIGIE" report --audit-log "$tmp/broken.log" --format json >"$tmp/b.json" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "2 unreadable lines not counted; the first: $tmp/broken.log:$((lines + 1)): not a JSON object" "$tmp/err" &&
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["records"]["unreadable"] == 2; assert r["totals"]["requests"] > 0' "$tmp/b.json"
check unreadable_lines $? "rc=$rc err=$(cat "$tmp/err")"
"$VIGIE" report --audit-log "$tmp/broken.log" >"$tmp/b.txt" 2>/dev/null
grep -q "^Unreadable  2 lines, not counted; the first: $tmp/broken.log:$((lines + 1))" "$tmp/b.txt"
check unreadable_in_text $? "$(head -8 "$tmp/b.txt")"

# 8. A missing file: nothing written, exit 2; likewise an unwritable -o.
"$VIGIE" report --audit-log "$L" "$tmp/nope.log" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && [ ! -s "$tmp/out" ] && grep -q "$tmp/nope.log: No such file or directory" "$tmp/err"
check missing_file $? "rc=$rc err=$(cat "$tmp/err")"
"$VIGIE" report --audit-log "$L" -o "$tmp/no/such/dir/r.txt" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "$tmp/no/such/dir/r.txt" "$tmp/err"
check output_unwritable $? "$(cat "$tmp/err")"
"$VIGIE" report --audit-log "$tmp/logs" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'a directory' "$tmp/err"
check directory $? "$(cat "$tmp/err")"

# 9. -o FILE: the file, nothing on stdout; an old report is replaced whole.
echo old >"$tmp/out.csv"
"$VIGIE" report --audit-log "$L" --format csv -o "$tmp/out.csv" >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$tmp/out" ] && head -1 "$tmp/out.csv" | grep -q '^caller,requests,' &&
    [ -z "$(ls "$tmp" | grep 'out.csv.tmp')" ]
check output_file $? "rc=$rc $(cat "$tmp/out")"
"$VIGIE" report --audit-log "$tmp/broken.log" -o "$tmp/b2.txt" 2>/dev/null
[ $? -eq 1 ] && grep -q '^Exchanges' "$tmp/b2.txt"
check output_file_unreadable $? "exit or file"
cp "$L" "$tmp/keep.log"
"$VIGIE" report --audit-log "$tmp/keep.log" -o "$tmp/keep.log" 2>"$tmp/err"
[ $? -eq 2 ] && cmp -s "$L" "$tmp/keep.log" && grep -q 'one of the audit logs read' "$tmp/err"
check output_is_a_log $? "$(cat "$tmp/err")"

# 10. Empty input: a report of zeros, exit 0, in every format.
: >"$tmp/empty.log"
ok=0
for f in text csv json html; do
    "$VIGIE" report --audit-log "$tmp/empty.log" --format "$f" >"$tmp/e.$f" 2>/dev/null || ok=1
done
grep -q '^Period      no records' "$tmp/e.text" && [ "$(cat "$tmp/e.csv" | wc -l)" -eq 1 ] &&
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["totals"]["requests"]==0 and r["rows"]==[] and r["range"]["first"] is None' "$tmp/e.json" &&
    grep -q 'No exchanges' "$tmp/e.html" || ok=1
check empty_input $ok "see $tmp"

# 11. Standard input, a file named twice, files after --audit-log.
a=$(cat "$L" | "$VIGIE" report --audit-log - --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
b=$("$VIGIE" report --audit-log "$L" "$L" --format json 2>"$tmp/err" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
c=$("$VIGIE" report --format json "$L" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["requests"])')
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && grep -q 'named twice, read once' "$tmp/err"
check stdin_and_twice $? "stdin=$a twice=$b positional=$c"

# 12. Usage errors: exit 2 with a message; --help: exit 0.
"$VIGIE" report >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q 'no audit log' "$tmp/err"
check no_file $? "$(cat "$tmp/err")"
"$VIGIE" report --audit-log "$L" --format xml >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q "'xml'" "$tmp/err"
check bad_format $? "$(cat "$tmp/err")"
"$VIGIE" report --audit-log "$L" --by callers >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q 'expected caller, group' "$tmp/err"
check bad_by $? "$(cat "$tmp/err")"
"$VIGIE" report --audit-log "$L" --top 0 >/dev/null 2>&1; [ $? -eq 2 ]
check bad_top $? "exit"
"$VIGIE" report --bogus >/dev/null 2>&1; [ $? -eq 2 ]
check bad_option $? "exit"
"$VIGIE" report --help | grep -q -- '--audit-log FILE'
check help $? "help"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
