#!/usr/bin/env bash
# Sets up vigie on a fresh machine and shows its main job for now: a prompt
# full of personal data goes in, the text a model would see comes out.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build/release vigie >/dev/null
prompt='Bonjour, je suis Jean DUPONT, né le 14/07/1981, joignable au 06 39 98 00 01 ou à jean.dupont@exam​ple.fr.
Merci de rembourser les frais de dédouanement sur FR76 3000 6000 0112 3456 7890 189 SARL.
Ma carte : 4970 1012 3456 7893. Mon numéro de sécurité sociale : 2 53 07 2A 073 004 43.
Conteneur CSQU3054383, déclaration 25FR123456789012J0, code TARIC 8471 30 00 00, article 414 du code des douanes.'
echo "--- the prompt (with a zero-width space hidden in the e-mail address):"
echo "$prompt"
echo
echo "--- what the model would see (vigie scan):"
echo "$prompt" | build/release/vigie scan
echo
echo "--- the findings (vigie scan --json):"
echo "$prompt" | build/release/vigie scan --json | python3 -m json.tool
echo
echo "--- the same prompt as a request from the chat portal to the external model,"
echo "    under the shipped policy (vigie scan --policy; decision on stderr):"
echo "$prompt" | build/release/vigie scan --policy policies/customs.yaml --as chat-portal \
    --model gpt-4o-mini 2>&1 || true

# ---- the gateway ------------------------------------------------------------------
# `vigie serve` with no argument is the demo: loopback, the shipped policy, and
# every upstream replaced by the built-in echo model, which answers with what
# it received. Run here in the background for three requests, then stopped.
echo
echo "=== the gateway: vigie serve (the demo: shipped policy, built-in echo model)"
ninja -C build/release vigie >/dev/null
log=$(mktemp)
build/release/vigie serve 2>"$log" &
gw=$!
trap 'kill $gw 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '"event":"ready"' "$log" && break; sleep 0.1; done
grep -q '"event":"ready"' "$log" || { cat "$log"; echo "the gateway did not start" >&2; exit 1; }
body='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Bonjour, je suis M. Jean DUPONT (jean.dupont@example.fr, 06 39 98 00 01). Remboursez FR76 3000 6000 0112 3456 7890 189."}]}'
echo
echo "--- a chat request from the portal to the external model:"
echo "curl http://127.0.0.1:8080/v1/chat/completions -H 'Authorization: Bearer demo-portal-key' -H 'Content-Type: application/json' -d '$body'"
answer=$(curl -s http://127.0.0.1:8080/v1/chat/completions -H 'Authorization: Bearer demo-portal-key' -H 'Content-Type: application/json' -d "$body")
echo
echo "--- what the model saw (the echo model's vigie_echo.received):"
echo "$answer" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["vigie_echo"]["received"]["messages"][0]["content"])'
echo
echo "--- what the client got back (pseudonyms restored, masked values stay masked):"
echo "$answer" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["choices"][0]["message"]["content"])'
echo
echo "--- a social security number is rerouted to the internal model, never sent out:"
curl -s http://127.0.0.1:8080/v1/chat/completions -H 'Authorization: Bearer demo-portal-key' -H 'Content-Type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Mon NIR : 2 53 07 2A 073 004 43"}]}' \
  | python3 -c 'import json,sys; a=json.load(sys.stdin); print("model served:", a["model"], "| model saw:", a["vigie_echo"]["received"]["messages"][0]["content"])'
echo
echo "--- a classified marking is refused (OpenAI error shape):"
curl -s -w ' (HTTP %{http_code})\n' http://127.0.0.1:8080/v1/chat/completions -H 'Authorization: Bearer demo-portal-key' -H 'Content-Type: application/json' \
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Résume ce document DIFFUSION RESTREINTE sur la brigade."}]}'
echo
echo "--- the gateway's log lines (rule ids and counts, never the values):"
grep '"event":"request"' "$log"
kill -TERM $gw; wait $gw 2>/dev/null || true
echo
echo "--- the audit trail: every exchange recorded, chained and MACed (docs/audit.md)"
audit=build/release/demo/audit.log
build/release/vigie verify --audit-log "$audit" --key-file build/release/demo/audit.key
echo
echo "--- a usage report for auditors (also --format csv|json|html, --by caller|group|model|...)"
build/release/vigie report --audit-log "$audit"
echo
echo "Run it yourself: build/release/vigie serve   (then the curl above; Ctrl-C to stop)"
