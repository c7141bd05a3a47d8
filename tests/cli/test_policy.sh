#!/usr/bin/env bash
# End-to-end tests of the policy tools: vigie check, vigie scan --policy (the
# dry run) and vigie test, on the shipped policy and on broken copies of it.
set -u
VIGIE=${1:?usage: test_policy.sh PATH_TO_VIGIE}
POLICY=policies/customs.yaml
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # name, condition result (0 = ok), details
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: $3" >&2; fi
}

# A copy of the shipped policy next to the rules, so `rules: ../rules` holds.
mkdir -p "$tmp/policies"
ln -s "$PWD/rules" "$tmp/rules"
broken() { # name, python expression turning the text s into the broken text
    python3 - "$POLICY" "$tmp/policies/$1.yaml" "$2" <<'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
t = eval(sys.argv[3])
assert t != s, "the edit changed nothing"
open(sys.argv[2], "w", encoding="utf-8").write(t)
PY
}

# 1. check: the shipped policy is valid and summarised.
out=$("$VIGIE" check --policy "$POLICY" 2>"$tmp/err")
rc=$?
[ "$rc" -eq 0 ] && grep -q "policy customs-assistant version 2026.11.1, mode enforce: valid" <<<"$out" \
    && grep -q "identity.nir .*reroute *restricted" <<<"$out" \
    && grep -q "group legal: .*identity.person_name allow" <<<"$out" \
    && grep -q "warning: policies/customs.yaml:[0-9]*:3: upstream 'cloud': credential not available here: environment variable VIGIE_CLOUD_API_KEY is not set" "$tmp/err"
check check_valid $? "rc=$rc out=[$out] err=[$(cat "$tmp/err")]"

# With the credential in the environment there is no warning.
VIGIE_CLOUD_API_KEY=sk-test "$VIGIE" check --policy "$POLICY" >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ]
check check_credential_present $? "rc=$rc err=[$(cat "$tmp/err")]"

# 2. check: every problem of a broken file, each with its position, exit 1.
broken typo 's.replace("  mode: enforce", "  mdoe: enforce").replace("finance: mask", "finance: masq").replace("groups: [legal]", "groups: [lawyers]")'
out=$("$VIGIE" check --policy "$tmp/policies/typo.yaml" 2>&1)
rc=$?
[ "$rc" -eq 1 ] \
    && grep -qE "typo.yaml:[0-9]+:3: unknown key 'mdoe' \(did you mean 'mode'\?\)" <<<"$out" \
    && grep -qE "typo.yaml:[0-9]+:16: unknown action 'masq' \(expected allow, flag, pseudonymise, mask, reroute or block\)" <<<"$out" \
    && grep -qE "typo.yaml:[0-9]+:14: unknown group 'lawyers'" <<<"$out" \
    && grep -q "is not valid (3 problems)" <<<"$out"
check check_errors_positions $? "rc=$rc out=[$out]"

# The invariant: legal opening the external model while allowing names is
# fine (names are not restricted); allowing the NIR there is not.
broken invariant 's.replace("identity.person_name: allow   # internal", "identity.nir: allow   # internal").replace("models: [mistral-small-onprem]\n    request", "models: [mistral-small-onprem, gpt-4o-mini]\n    request")'
out=$("$VIGIE" check --policy "$tmp/policies/invariant.yaml" 2>&1)
rc=$?
[ "$rc" -eq 1 ] && grep -qE "invariant.yaml:[0-9]+:9: 'identity.nir: allow' lets restricted category 'identity.nir' \(rule identity.nir\) reach external upstream 'cloud' \(legal may use model 'gpt-4o-mini'\)" <<<"$out"
check check_invariant $? "rc=$rc out=[$out]"

broken reroute_external 's.replace("reroute_to: onprem", "reroute_to: cloud")'
out=$("$VIGIE" check --policy "$tmp/policies/reroute_external.yaml" 2>&1)
[ $? -eq 1 ] && grep -qE "reroute_to 'cloud' is external" <<<"$out"
check check_reroute_external $? "out=[$out]"

broken unknown_model 's.replace("models: [embed-onprem]\n    endpoints", "models: [embed-cloud]\n    endpoints")'
out=$("$VIGIE" check --policy "$tmp/policies/unknown_model.yaml" 2>&1)
[ $? -eq 1 ] && grep -qE "unknown_model.yaml:[0-9]+:14: unknown model 'embed-cloud' \(no upstream serves it\)" <<<"$out"
check check_unknown_model $? "out=[$out]"

printf 'policy: [unclosed\n' > "$tmp/policies/syntax.yaml"
out=$("$VIGIE" check --policy "$tmp/policies/syntax.yaml" 2>&1)
[ $? -eq 1 ] && grep -qE "syntax.yaml:[0-9]+:[0-9]+: " <<<"$out"
check check_yaml_syntax $? "out=[$out]"

out=$("$VIGIE" check --policy "$tmp/none.yaml" 2>&1)
[ $? -eq 1 ] && grep -q "none.yaml" <<<"$out"
check check_missing_file $? "out=[$out]"

# 3. scan --policy: the text the model would get on stdout, the report on stderr.
prompt='Écrire à jean.dupont@example.fr, IBAN FR76 3000 6000 0112 3456 7890 189.'
out=$(printf '%s' "$prompt" | "$VIGIE" scan --policy "$POLICY" --as chat-portal --model gpt-4o-mini 2>"$tmp/err")
rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "Écrire à [EMAIL_1], IBAN [IBAN]." ] \
    && grep -q "^decision:   mask" "$tmp/err" \
    && grep -q "^upstream:   cloud (external), model gpt-4o-mini" "$tmp/err" \
    && grep -qE "contact.email +contact.email +bytes 11-33  pseudonymise  <- policies/customs.yaml:[0-9]+:7" "$tmp/err" \
    && ! grep -q "example.fr" "$tmp/err"
check scan_policy_mask $? "rc=$rc out=[$out] err=[$(cat "$tmp/err")]"

out=$(printf 'NIR 2 53 07 2A 073 004 43' | "$VIGIE" scan --policy "$POLICY" --as chat-portal --model gpt-4o-mini 2>"$tmp/err")
rc=$?
[ "$rc" -eq 0 ] && [ "$out" = "NIR 2 53 07 2A 073 004 43" ] && grep -q "^decision:   reroute" "$tmp/err" \
    && grep -q "^upstream:   onprem (internal), model mistral-small-onprem" "$tmp/err" \
    && grep -qE "^decided by: rule identity.nir, policies/customs.yaml:[0-9]+:7" "$tmp/err"
check scan_policy_reroute $? "rc=$rc out=[$out] err=[$(cat "$tmp/err")]"

out=$(printf 'SECRET DÉFENSE - plan' | "$VIGIE" scan --policy "$POLICY" --as chat-portal 2>"$tmp/err")
rc=$?
[ "$rc" -eq 3 ] && [ -z "$out" ] && grep -q "^decision:   block (blocked)" "$tmp/err" \
    && grep -q "^message:    Your request contains a classified" "$tmp/err"
check scan_policy_block $? "rc=$rc out=[$out] err=[$(cat "$tmp/err")]"

out=$(printf 'bonjour' | "$VIGIE" scan --policy "$POLICY" --as juriste-paris --model gpt-4o-mini 2>"$tmp/err")
rc=$?
[ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q "^decision:   deny (model)" "$tmp/err"
check scan_policy_deny $? "rc=$rc out=[$out] err=[$(cat "$tmp/err")]"

out=$(printf 'bonjour' | "$VIGIE" scan --policy "$POLICY" --as nobody-listed 2>&1)
rc=$?
# An unlisted name is a header user (the policy gives header users a group).
[ "$rc" -eq 0 ] && grep -q "caller:     nobody-listed (agents)" <<<"$out"
check scan_policy_header_user $? "rc=$rc out=[$out]"

out=$(printf 'bonjour' | "$VIGIE" scan --policy "$POLICY" 2>&1)
rc=$?
[ "$rc" -eq 2 ] && grep -q "refuses anonymous callers: say who is asking with --as CALLER (one of: chat-portal" <<<"$out"
check scan_policy_needs_caller $? "rc=$rc out=[$out]"

printf '%s' "$prompt" | "$VIGIE" scan --policy "$POLICY" --as chat-portal --model gpt-4o-mini --json > "$tmp/d.json"
python3 - "$tmp/d.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["decision"] == "mask" and d["upstream"] == "cloud" and d["trust"] == "external", d
assert d["text"] == "Écrire à [EMAIL_1], IBAN [IBAN].", d["text"]
f = [(x["rule"], x["applied"], x["restricted"]) for x in d["findings"]]
assert f == [("contact.email", "pseudonymise", False), ("finance.iban", "mask", False)], f
assert all(x["clause"].startswith("policies/customs.yaml:") for x in d["findings"])
assert "example.fr" not in json.dumps(d["findings"])
PY
check scan_policy_json $? "json=[$(cat "$tmp/d.json")]"

out=$(printf 'x' | "$VIGIE" scan --policy "$POLICY" --rules rules 2>&1)
[ $? -eq 2 ] && grep -q "do not go together" <<<"$out"
check scan_policy_rules_conflict $? "out=[$out]"

# 4. vigie test: the shipped cases pass; a wrong expectation fails with exit 1.
out=$("$VIGIE" test policies/customs.test.yaml 2>&1)
rc=$?
[ "$rc" -eq 0 ] && grep -qE "^[0-9]+ cases: [0-9]+ passed, 0 failed$" <<<"$out"
check test_shipped $? "rc=$rc out=[$out]"

cat > "$tmp/policies/wrong.test.yaml" <<'YAML'
policy: ../../policies/customs.yaml
cases:
  - name: expects the wrong thing
    as: chat-portal
    model: gpt-4o-mini
    prompt: "Écrire à jean.dupont@example.fr"
    expect:
      decision: allow
      text: "Écrire à jean.dupont@example.fr"
  - name: expects the right thing
    as: chat-portal
    model: gpt-4o-mini
    prompt: "Écrire à jean.dupont@example.fr"
    expect:
      decision: mask
      categories: [contact.email]
YAML
sed -i "s|policy: ../../policies/customs.yaml|policy: $PWD/policies/customs.yaml|" "$tmp/policies/wrong.test.yaml"
out=$("$VIGIE" test "$tmp/policies/wrong.test.yaml" 2>&1)
rc=$?
[ "$rc" -eq 1 ] && grep -q "FAIL  expects the wrong thing" <<<"$out" \
    && grep -q "decision: expected allow, got mask" <<<"$out" \
    && grep -q "ok    expects the right thing" <<<"$out" \
    && grep -q "2 cases: 1 passed, 1 failed" <<<"$out"
check test_failure_reported $? "rc=$rc out=[$out]"

printf 'policy: x.yaml\ncases:\n  - name: a\n    prompt: b\n    expect: {decison: allow}\n' > "$tmp/policies/keys.test.yaml"
out=$("$VIGIE" test "$tmp/policies/keys.test.yaml" 2>&1)
[ $? -ne 0 ] && grep -q "x.yaml" <<<"$out"
check test_missing_policy $? "out=[$out]"

out=$("$VIGIE" test "$tmp/absent.test.yaml" 2>&1)
[ $? -eq 2 ] && grep -q "absent.test.yaml" <<<"$out"
check test_missing_file $? "out=[$out]"

echo "test_policy.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
