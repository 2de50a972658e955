#!/usr/bin/env bash
# Two clementine replicas of one deployment behind HAProxy, on loopback: HAProxy on :8080, the
# replicas on :8081 and :8082 (example/config.json, the test bed's Redis and engine 1). Stops all
# three on Ctrl-C.
#
#   CLEMENTINE_ADMIN_PASSWORD=... example/replicas.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/testbed.sh" up 1
eval "$("$ROOT/scripts/testbed.sh" env)"
export CLEMENTINE_ADMIN_USER="${CLEMENTINE_ADMIN_USER:-admin}"
if [ -z "${CLEMENTINE_ADMIN_PASSWORD:-}" ]; then
  [ -s .testbed/admin-password ] || head -c 18 /dev/urandom | base64 | tr -d '/+\n' > .testbed/admin-password
  CLEMENTINE_ADMIN_PASSWORD="$(cat .testbed/admin-password)"
fi
export CLEMENTINE_ADMIN_PASSWORD
export CLEMENTINE_PULL_REGISTRIES="${CLEMENTINE_PULL_REGISTRIES:-127.0.0.1:5000}"
cargo build -j2 --release --bin clementine
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for port in 8081 8082; do
  CLEMENTINE_LISTEN=127.0.0.1:$port ./target/release/clementine -conf=example/config.json &
  pids+=($!)
done
export CLEMENTINE_LB_LISTEN=127.0.0.1:8080 CLEMENTINE_REPLICA_A=127.0.0.1:8081 CLEMENTINE_REPLICA_B=127.0.0.1:8082
haproxy -f example/haproxy.cfg -db &
pids+=($!)
echo "clementine behind HAProxy on http://127.0.0.1:8080 (replicas :8081, :8082); Ctrl-C stops all"
wait
