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
