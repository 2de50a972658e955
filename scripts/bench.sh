#!/usr/bin/env bash
# Runs the benchmarks. Figures and how they were measured are in BENCHMARKS.md.
#
#   scripts/bench.sh scheduler   # pure placement, criterion (no services needed)
#   scripts/bench.sh all         # every benchmark
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
what="${1:-all}"
case "$what" in
  scheduler|all)
    cargo bench -j2 --bench scheduler -- --warm-up-time 1 --measurement-time 5 ;;&
  all) ;;
  *) echo "usage: scripts/bench.sh scheduler|all" >&2; exit 2 ;;
esac
