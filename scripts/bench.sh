#!/usr/bin/env bash
# Runs the benchmarks. Figures and how they were measured are in BENCHMARKS.md.
#
#   scripts/bench.sh scheduler   # pure placement, criterion (no services needed)
#   scripts/bench.sh cluster     # end-to-end on the test bed (brings it up): run overhead,
#                                # list-all, parallel runs
#   scripts/bench.sh audit       # audit appends, event queries, SSE fan-out (brings the bed up)
#   scripts/bench.sh tls         # the run path over the bed's TLS Redis (ACL user, client
#                                # certificate) against the plain one, paired, and PING over both
#   scripts/bench.sh tree        # the audit tree: appends with the sequencer working and held
#                                # off, sequencer throughput, inclusion proofs at 1,000,000
#   scripts/bench.sh tokens      # GET with an API token against a login JWT (wrk; bed's Redis)
#   scripts/bench.sh claims      # claim + release with quota checks against the pre-quota
#                                # scripts, paired (bed's Redis)
#   scripts/bench.sh scale       # list-all, runs, monitor and reconcile at 3, 10 and 30 engines
#                                # (brings 30 engines up; stops 4-30 afterwards)
#   scripts/bench.sh thousand    # 1,000 hollow engines and 10,000 containers: list-all, runs
#                                # from 64 clients, GET /engines against /healthz, idle CPU,
#                                # memory, a killed engine, the first sync after a restart
#   scripts/bench.sh sizing      # resident memory of clementine per engine and per 1,000
#                                # containers, Redis bytes per 1,000 audit entries and claims
#   scripts/bench.sh all         # every benchmark
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
what="${1:-all}"
case "$what" in
  scheduler|all)
    cargo bench -j2 --bench scheduler -- --warm-up-time 1 --measurement-time 5 ;;&
  cluster|all)
    "$ROOT/scripts/testbed.sh" up 3
    eval "$("$ROOT/scripts/testbed.sh" env)"
    cargo bench -j2 --bench cluster ;;&
  audit|all)
    "$ROOT/scripts/testbed.sh" up 3
    eval "$("$ROOT/scripts/testbed.sh" env)"
    cargo bench -j2 --bench audit ;;&
  tls|all)
    "$ROOT/scripts/testbed.sh" up 3
    eval "$("$ROOT/scripts/testbed.sh" env)"
    ONLY=tls cargo bench -j2 --bench cluster ;;&
  tree|all)
    "$ROOT/scripts/testbed.sh" up 3
    eval "$("$ROOT/scripts/testbed.sh" env)"
    cargo bench -j2 --bench tree ;;&
  tokens|all)
    "$ROOT/scripts/bench-tokens.sh" ;;&
  claims|all)
    "$ROOT/scripts/testbed.sh" up 3
    eval "$("$ROOT/scripts/testbed.sh" env)"
    cargo bench -j2 --bench claims ;;&
  sizing|all)
    "$ROOT/scripts/testbed.sh" up 3
    eval "$("$ROOT/scripts/testbed.sh" env)"
    cargo bench -j2 --bench sizing ;;&
  thousand|all)
    command -v wrk >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq wrk >/dev/null; }
    "$ROOT/scripts/testbed.sh" up 3
    eval "$("$ROOT/scripts/testbed.sh" env)"
    cargo bench -j2 --bench thousand ;;&
  scale|all)
    command -v wrk >/dev/null || { apt-get update -qq >/dev/null; apt-get install -y -qq wrk >/dev/null; }
    "$ROOT/scripts/testbed.sh" up 30
    eval "$("$ROOT/scripts/testbed.sh" env)"
    cargo bench -j2 --bench scale || status=$?
    for i in $(seq 4 30); do "$ROOT/scripts/testbed.sh" stop-engine "$i"; done
    [ -z "${status:-}" ] ;;&
  scheduler|cluster|audit|tls|tree|tokens|claims|sizing|thousand|scale|all) ;;
  *) echo "usage: scripts/bench.sh scheduler|cluster|audit|tls|tree|tokens|claims|sizing|thousand|scale|all" >&2; exit 2 ;;
esac
