#!/usr/bin/env bash
# Rejects functions that are unsafe or ambiguous on input we do not control
# (curl's list, trimmed to what C11 code here could reach for).
set -euo pipefail
cd "$(dirname "$0")/.."
banned='\b(gets|strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|atoll|atof|strncpy|stpcpy|tmpnam|mktemp|alloca|system|popen)[[:space:]]*\('
if hits=$(grep -rnE "$banned" proxy bench tests --include='*.c' --include='*.h'); then
  echo "banned functions used:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "no banned functions"
