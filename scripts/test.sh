#!/usr/bin/env bash
# Runs the whole test suite against real services: brings up Redis and the TLS engines
# (scripts/testbed.sh, installing what is missing), then runs every test.
#
#   scripts/test.sh               # all tests
#   scripts/test.sh -E 'test(tenancy)'   # extra arguments go to cargo nextest (or cargo test)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

"$ROOT/scripts/ensure-rust.sh"
# Engines 1-3 are shared by all tests; tests that stop an engine start their own (4-8).
"$ROOT/scripts/testbed.sh" up 3
"$ROOT/scripts/testbed.sh" clean
eval "$("$ROOT/scripts/testbed.sh" env)"

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export RUST_BACKTRACE=1
# The example consumer is run by a test as a real program.
cargo build --examples
if cargo nextest --version >/dev/null 2>&1; then
  # (There are no doc tests; a trailing "0 passed" doc-test line would hide the real summary.)
  cargo nextest run --workspace --all-targets --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
