#!/usr/bin/env bash
# Regenerates openapi/clementine.json from the code (a test fails while they differ).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run -q --bin clementine -- openapi > openapi/clementine.json
echo "wrote openapi/clementine.json"
