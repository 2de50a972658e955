#!/usr/bin/env bash
# The Docker API front door against the engine itself, paired: Debian's docker CLI runs the same
# command through clementine (release build, one engine granted) and straight at that engine over
# mutual TLS, alternating A B A B, and the ratio is taken pair by pair (the machine's speed drifts
# less within a pair than across a run). Prints the median of each and of the paired ratios.
#
#   scripts/bench-docker.sh [PAIRS]      # default 30 pairs of each command below
#
# Commands: `docker run --rm busybox true` and `docker ps` (with 10 containers of the caller's
# running, so the listing has something to list; the test bed gives each tenant network a /28, 13 addresses). Needs root (the test bed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PAIRS="${1:-30}"
"$ROOT/scripts/testbed.sh" up 1 >/dev/null
eval "$("$ROOT/scripts/testbed.sh" env)"
cargo build -q --release --bin clementine
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port); dport=$(free_port)
id="$(date +%s%N)"
CLEMENTINE_LISTEN="127.0.0.1:$port" CLEMENTINE_DOCKER_LISTEN="127.0.0.1:$dport" \
  CLEMENTINE_KEY_PREFIX="bench:$id:" CLEMENTINE_JWT_SECRET="bench-secret-$id-0123456789abcdef" \
  CLEMENTINE_ADMIN_USER=admin CLEMENTINE_ADMIN_PASSWORD="bench-password-$id" RUST_LOG=warn \
  "$ROOT/target/release/clementine" 2>/dev/null &
server=$!
cfg=$(mktemp -d)
direct=(/usr/bin/docker -H tcp://127.0.0.11:2376 --tlsverify --tlscacert "$CLEMENTINE_TLS_CA"
        --tlscert "$CLEMENTINE_TLS_CERT" --tlskey "$CLEMENTINE_TLS_KEY")
through=(/usr/bin/docker --config "$cfg" -H "tcp://127.0.0.1:$dport")
cleanup() {
  "${through[@]}" rm -f $("${through[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  kill $server 2>/dev/null || true
  rm -rf "$cfg"
}
trap cleanup EXIT
base="http://127.0.0.1:$port/apiv1"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
token() { curl -sf -XPOST "$base/login" -d "{\"username\":\"$1\",\"password\":\"$2\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])'; }
admin=$(token admin "bench-password-$id")
auth=(-H "Authorization: Bearer $admin")
curl -sf "${auth[@]}" -XPOST "$base/engine" -d '{"id":"e1","addr":"https://127.0.0.11:2376"}' >/dev/null
curl -sf "${auth[@]}" -XPOST "$base/user" -d '{"username":"bench","password":"bench-password"}' >/dev/null
curl -sf "${auth[@]}" -XPUT "$base/user/bench/engines" -d '{"engines":["e1"]}' >/dev/null
echo "{\"HttpHeaders\":{\"Authorization\":\"Bearer $(token bench bench-password)\"}}" > "$cfg/config.json"

# The caller's 10 running containers; the engine holds them too (the direct `ps` lists them and
# whatever else runs there: the same containers, since the bench runs alone on this engine).
for i in $(seq 10); do "${through[@]}" run -d busybox sleep 600 >/dev/null; done

ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
pair() { # label, the arguments after `docker` through clementine, and (default: the same) direct
  local label=$1; read -r -a a_args <<<"$2"; read -r -a b_args <<<"${3:-$2}"
  "${through[@]}" "${a_args[@]}" >/dev/null 2>&1; "${direct[@]}" "${b_args[@]}" >/dev/null 2>&1  # warm-up
  local a="" b=""
  for _ in $(seq "$PAIRS"); do
    a+="$(ms "${through[@]}" "${a_args[@]}") "
    b+="$(ms "${direct[@]}" "${b_args[@]}") "
  done
  python3 - "$label" "$a" "$b" <<'PY'
import statistics, sys
label, a, b = sys.argv[1], [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
ratios = [x / y for x, y in zip(a, b)]
q = lambda v: statistics.quantiles(v, n=10)
print(f"{label:26} clementine median {statistics.median(a)/1000:7.1f} ms  direct {statistics.median(b)/1000:7.1f} ms"
      f"  paired ratio median {statistics.median(ratios):.3f} (p10 {q(ratios)[0]:.3f}, p90 {q(ratios)[-1]:.3f}, n={len(ratios)})")
PY
}
# Through clementine every container joins its tenant's own bridge network and runs limited to
# what it reserves (the defaults: 0.1 CPU, 64 MB); straight at the engine the same command joins
# Docker's default bridge, unlimited. The second line gives the engine the same work (the
# tenant's network, the same limits), which is what clementine's own cost is measured against.
tenant_net=$("${direct[@]}" network ls -q --filter label=clementine.owner=bench --format '{{.Name}}' | head -1)
pair "docker run --rm busybox true" "run --rm busybox true"
pair "  direct with the same work" "run --rm busybox true" \
  "run --rm --network $tenant_net --cpus 0.1 --memory 64m busybox true"
pair "docker ps (10 containers)" "ps"

