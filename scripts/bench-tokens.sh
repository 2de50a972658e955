#!/usr/bin/env bash
# Authenticated GET with an API token against the same GET with a login JWT (and /healthz as
# the floor), side by side in one run: wrk (Debian) on loopback, rounds alternating, medians.
# Needs the test bed's Redis; builds the release binary. Prints requests/s and latency.
#
#   scripts/bench-tokens.sh [ROUNDS] [SECONDS]     # default 5 rounds of 5 s per variant
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${1:-5}"; SECS="${2:-5}"
command -v wrk >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq wrk >/dev/null; }
"$ROOT/scripts/testbed.sh" up 1 >/dev/null
eval "$("$ROOT/scripts/testbed.sh" env)"
cargo build -q --release --bin clementine
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
id="$(date +%s%N)"
CLEMENTINE_LISTEN="127.0.0.1:$port" CLEMENTINE_KEY_PREFIX="bench:$id:" \
  CLEMENTINE_JWT_SECRET="bench-secret-$id-0123456789abcdef" CLEMENTINE_LOG_FORMAT=json \
  CLEMENTINE_ADMIN_USER=admin CLEMENTINE_ADMIN_PASSWORD="bench-password-$id" RUST_LOG=warn \
  "$ROOT/target/release/clementine" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
jwt=$(curl -sf -XPOST "$base/apiv1/login" -d "{\"username\":\"admin\",\"password\":\"bench-password-$id\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')
api=$(curl -sf -XPOST "$base/apiv1/tokens" -H "Authorization: Bearer $jwt" \
  -d '{"name":"bench","scopes":["read"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')

run() { # name, header args...
  wrk -t2 -c32 -d"${SECS}s" --latency "$@" 2>/dev/null \
    | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps, p50, p99}'
}
declare -A results
for r in $(seq "$ROUNDS"); do
  results[jwt]+="$(run -H "Authorization: Bearer $jwt" "$base/apiv1/engines");"
  results[token]+="$(run -H "Authorization: Bearer $api" "$base/apiv1/engines");"
  results[healthz]+="$(run "$base/healthz");"
done
for v in healthz jwt token; do
  python3 - "$v" "${results[$v]}" <<'PY'
import statistics, sys
name, raw = sys.argv[1], sys.argv[2]
rows = [r.split() for r in raw.split(";") if r.strip()]
rps = statistics.median(float(r[0]) for r in rows)
print(f"{name:8} median {rps:8.0f} req/s over {len(rows)} rounds; p50/p99 per round: "
      + ", ".join(f"{r[1]}/{r[2]}" for r in rows))
PY
done
