#!/usr/bin/env bash
# Runs the whole test suite against real services: brings up Redis and the TLS engines
# (scripts/testbed.sh, installing what is missing), then runs every test. What the run starts,
# it stops: the engines tests start for themselves (4-8, and any more a benchmark left) and the
# Sentinel group the failover test starts, always; and the whole test bed when it was not running
# before.
#
#   scripts/test.sh               # all tests
#   scripts/test.sh -E 'test(tenancy)'   # extra arguments go to cargo nextest (or cargo test)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

"$ROOT/scripts/ensure-rust.sh"
# No function in src/ longer than 60 lines (field mappings excepted; see the script).
python3 "$ROOT/scripts/long-functions.py"

bed_was_up=false
bed_status="$("$ROOT/scripts/testbed.sh" status 2>/dev/null || true)"
if grep -q '^redis .* up' <<<"$bed_status"; then bed_was_up=true; fi
stop_what_we_started() {
  for i in $(seq 4 30); do "$ROOT/scripts/testbed.sh" stop-engine "$i" || true; done
  "$ROOT/scripts/testbed.sh" sentinel-down || true
  if [ "$bed_was_up" = false ]; then "$ROOT/scripts/testbed.sh" down || true; fi
}
trap stop_what_we_started EXIT

# Engines 1-3 are shared by all tests; tests that stop an engine start their own (4-8).
"$ROOT/scripts/testbed.sh" up 3
"$ROOT/scripts/testbed.sh" clean
eval "$("$ROOT/scripts/testbed.sh" env)"

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export RUST_BACKTRACE=1
# The example consumer is run by a test as a real program.
cargo build --bins --examples
# Clients generated from the committed spec, then contract tests against a running server
# (Schemathesis, and the seed's flows through the Python client), before the suite, so that the
# test runner's summary stays the last line.
"$ROOT/scripts/generate-clients.sh"
"$ROOT/scripts/contract-test.sh"
# The Debian package: built, installed with dpkg -i, its unit and deploy/ examples checked, purged.
"$ROOT/scripts/package.sh" --check
if cargo nextest --version >/dev/null 2>&1; then
  # (There are no doc tests; a trailing "0 passed" doc-test line would hide the real summary.)
  cargo nextest run --workspace --all-targets --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
