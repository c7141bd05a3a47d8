#!/usr/bin/env bash
# End-to-end tests of `vigie scan`: the real binary, real stdin and stdout,
# exit codes and messages as a security officer sees them.
set -u
VIGIE=${1:?usage: test_scan.sh PATH_TO_VIGIE}
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # name, condition result (0 = ok), details
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: $3" >&2; fi
}

# 1. The README example: masked text on stdout, exit 0.
out=$(printf 'Bonjour, je suis joignable au 06 39 98 00 01 ou à jean.dupont@example.fr.\nIBAN : FR76 3000 6000 0112 3456 7890 189\n' | "$VIGIE" scan)
rc=$?
exp=$'Bonjour, je suis joignable au [PHONE_1] ou à [EMAIL_1].\nIBAN : [IBAN]'
[ "$rc" -eq 0 ] && [ "$out" = "$exp" ]
check readme_example $? "rc=$rc out=[$out]"

# 2. Evasions: zero-width space inside an address, full-width digits.
out=$(printf 'mail: jean.dupont@exam\xe2\x80\x8bple.fr tel \xef\xbc\x90\xef\xbc\x96 \xef\xbc\x93\xef\xbc\x99 \xef\xbc\x99\xef\xbc\x98 \xef\xbc\x90\xef\xbc\x90 \xef\xbc\x90\xef\xbc\x91' | "$VIGIE" scan)
[ "$out" = "mail: [EMAIL_1] tel [PHONE_1]" ]
check evasions $? "out=[$out]"

# 3. --json: findings with byte offsets in the input, and no value.
printf 'x 4111 1111 1111 1111 y a@example.fr' | "$VIGIE" scan --json > "$tmp/j.json"
python3 - "$tmp/j.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["text"] == "x **** **** **** 1111 y [EMAIL_1]", d["text"]
assert d["blocked"] is False
f = d["findings"]
assert [(x["rule"], x["category"], x["start"], x["end"], x["action"]) for x in f] == [
    ("finance.card", "finance.card", 2, 21, "mask"),
    ("contact.email", "contact.email", 24, 36, "pseudonymise")], f
assert all(set(x) == {"rule", "category", "start", "end", "action", "context"} for x in f)
assert "4111" not in json.dumps(f) and "example" not in json.dumps(f)
PY
check json $? "json report wrong"

# 4. Input over the cap: refused, nothing on stdout, exit 1.
out=$(head -c 100 /dev/zero | tr '\0' 'a' | "$VIGIE" scan --max-input 64 2>"$tmp/err")
rc=$?
[ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q 'input refused: larger than 64 bytes' "$tmp/err"
check too_big $? "rc=$rc out=[$out] err=$(cat "$tmp/err")"

# 5. A pack with an error: FILE:LINE:COL, exit 2, nothing scanned.
cat > "$tmp/bad.yaml" <<'Y'
pack: bad
detectors:
  - id: bad.rule
    category: test.bad
    description: d
    pattern: 'ab(c'
    examples: {match: [abc], no_match: [x]}
Y
out=$(echo hello | "$VIGIE" scan --rules "$tmp/bad.yaml" 2>"$tmp/err")
rc=$?
[ "$rc" -eq 2 ] && [ -z "$out" ] && grep -q "$tmp/bad.yaml:6:14: rule 'bad.rule': invalid pattern at offset 4" "$tmp/err"
check bad_pack $? "rc=$rc err=$(cat "$tmp/err")"

# 6. A block action: the masked text is shown, the rule named, exit 3.
cat > "$tmp/block.yaml" <<'Y'
pack: markings
detectors:
  - id: marking.dr
    category: marking.fr
    label: MARKING
    description: Diffusion Restreinte
    pattern: '(?i)diffusion restreinte'
    trigger: {keywords: [diffusion]}
    action: block
    examples: {match: [Diffusion Restreinte], no_match: [diffusion large]}
Y
out=$(echo "DIFFUSION RESTREINTE - note" | "$VIGIE" scan --rules "$tmp/block.yaml" 2>"$tmp/err")
rc=$?
[ "$rc" -eq 3 ] && [ "$out" = "[MARKING] - note" ] && grep -q "blocked by rule marking.dr (marking.fr) at bytes 0-20" "$tmp/err"
check block $? "rc=$rc out=[$out] err=$(cat "$tmp/err")"

# 7. A try-a-rule-in-seconds flow: a folder of packs given with --rules.
mkdir "$tmp/packs" && cp "$tmp/block.yaml" "$tmp/packs/" && echo 'not yaml' > "$tmp/packs/README.txt"
out=$(echo "diffusion restreinte" | "$VIGIE" scan -r "$tmp/packs" 2>/dev/null)
[ "$out" = "[MARKING]" ]
check folder $? "out=[$out]"

# 8. Keyed pseudonyms without a key: refused with a clear message (exit 2);
#    with a short key: refused; with a good key: stable tokens.
cat > "$tmp/keyed.yaml" <<'Y'
pack: keyed
detectors:
  - id: marking.dr
    category: marking.fr
    label: MARKING
    description: Diffusion Restreinte, pseudonymised with a key
    pattern: '(?i)diffusion restreinte'
    trigger: {keywords: [diffusion]}
    action: pseudonymise
    pseudonym: keyed
    examples: {match: [Diffusion Restreinte], no_match: [diffusion large]}
Y
echo "diffusion restreinte" | "$VIGIE" scan -r "$tmp/keyed.yaml" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] && grep -q 'give the key with --key-file' "$tmp/err"
check keyed_no_key $? "rc=$rc err=$(cat "$tmp/err")"
printf 'short' > "$tmp/short.key"
echo x | "$VIGIE" scan -r "$tmp/keyed.yaml" -k "$tmp/short.key" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'at least 32 bytes' "$tmp/err"
check keyed_short_key $? "err=$(cat "$tmp/err")"
head -c 32 /dev/urandom > "$tmp/good.key"
a=$(echo "diffusion restreinte" | "$VIGIE" scan -r "$tmp/keyed.yaml" -k "$tmp/good.key")
b=$(echo "x Diffusion Restreinte" | "$VIGIE" scan -r "$tmp/keyed.yaml" -k "$tmp/good.key")
[[ "$a" =~ ^\[MARKING_[0-9a-f]{12}\]$ ]] && [ "x $a" = "$b" ]
check keyed_stable $? "a=[$a] b=[$b]"

# 9. Usage errors: exit 2 with a message.
"$VIGIE" scan --bogus </dev/null >/dev/null 2>&1; [ $? -eq 2 ]; check bad_option $? "exit"
"$VIGIE" frobnicate </dev/null >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q "unknown command 'frobnicate'" "$tmp/err"
check bad_command $? "err=$(cat "$tmp/err")"
"$VIGIE" scan --max-input 12x </dev/null >/dev/null 2>&1; [ $? -eq 2 ]; check bad_size $? "exit"
"$VIGIE" scan --rules /nonexistent </dev/null >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q '/nonexistent' "$tmp/err"
check missing_rules $? "err=$(cat "$tmp/err")"

# 10. Empty input: empty output, exit 0.
out=$("$VIGIE" scan </dev/null); [ $? -eq 0 ] && [ -z "$out" ]; check empty $? "out=[$out]"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
