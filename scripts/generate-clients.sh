#!/usr/bin/env bash
# Validates the committed spec (openapi/clementine.json) with openapi-spec-validator, then
# generates clients from it and checks them:
#
# - Python, with openapi-python-client (PyPI), into .testbed/clients/python; any warning fails
#   the script. The package is installed into .testbed/venv, where clients/python/seed_flow.py
#   (run by scripts/contract-test.sh against a live server) uses it.
# - TypeScript types, with openapi-typescript (npm), and a small client on openapi-fetch
#   (clients/typescript/src/client.ts) type-checked with tsc.
#
# Installs what is missing: the Python tools into .testbed/venv, the npm packages into
# clients/typescript/node_modules (versions pinned by its package-lock.json).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.testbed/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
[ -x "$VENV/bin/openapi-python-client" ] || "$VENV/bin/pip" install --quiet 'openapi-python-client>=0.29,<0.30'
[ -x "$VENV/bin/openapi-spec-validator" ] || "$VENV/bin/pip" install --quiet 'openapi-spec-validator>=0.7,<0.9'

# A standard validator first: zero errors.
"$VENV/bin/openapi-spec-validator" openapi/clementine.json

out="$ROOT/.testbed/clients/python"
log=$("$VENV/bin/openapi-python-client" generate --path openapi/clementine.json \
  --output-path "$out" --overwrite --config clients/python.yaml 2>&1)
echo "$log"
if grep -qi 'warning\|unable\|error' <<<"$log"; then
  echo "generate-clients: openapi-python-client reported problems with the spec" >&2
  exit 1
fi
"$VENV/bin/pip" install --quiet --force-reinstall --no-deps "$out"
"$VENV/bin/pip" install --quiet httpx attrs python-dateutil

cd "$ROOT/clients/typescript"
if ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq nodejs npm >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund --silent
npm run -s generate
npm run -s check
echo "generate-clients: python client generated without warnings; typescript client compiles"
