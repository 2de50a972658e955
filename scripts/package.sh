#!/usr/bin/env bash
# The Debian package, built with `cargo deb` (installed when missing, at a pinned version).
#
#   scripts/package.sh           build the release package: target/debian/clementine_*.deb
#   scripts/package.sh --check   what the test command runs: package the debug build, install it
#                                with dpkg -i, check the installed binary, man page, unit (with
#                                systemd-analyze: verify, and a sandbox exposure at most 2.0 of 10) and
#                                conffile, check the deploy/ examples (nftables rules parse, the
#                                Redis fragment serves TLS to its ACL user and refuses the rest,
#                                daemon.json is what `clementine pki engine` writes), then purge it
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
CARGO_DEB_VERSION=3.8.0

log() { printf 'package: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  log "installing cargo-deb $CARGO_DEB_VERSION"
  cargo install --locked --quiet --version "$CARGO_DEB_VERSION" cargo-deb
fi

man_pages() {  # BINARY
  rm -rf target/man && mkdir -p target/man
  "$1" manpages target/man
  gzip -9nf target/man/*.1
}

if [ "${1:-}" != "--check" ]; then
  cargo build --release --bin clementine
  man_pages target/release/clementine
  cargo deb --no-build
  exit 0
fi

# The check packages the debug build the tests use (cargo-deb warns that it is meant for
# releases; the package's layout is the same).
cargo build --quiet --bin clementine
man_pages target/debug/clementine
deb=$(cargo deb --profile dev --no-build --no-strip --fast 2>/dev/null | tail -1)
[ -f "$deb" ] || fail "cargo deb wrote no package"
if dpkg -s clementine >/dev/null 2>&1; then fail "a clementine package is installed already; remove it first"; fi
trap 'dpkg -P clementine >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null
[ "$(/usr/bin/clementine --version)" = "clementine $(cargo pkgid | sed 's/.*[#@]//')" ] ||
  fail "/usr/bin/clementine --version: $(/usr/bin/clementine --version)"
[ -f /usr/share/man/man1/clementine-pki-engine.1.gz ] || fail "no man page"
dpkg-query -W -f='${Conffiles}' clementine | grep -q /etc/clementine/clementine.env || fail "the settings are not a conffile"
[ ! -e /etc/systemd/system/multi-user.target.wants/clementine.service ] || fail "the unit is enabled"
unit=/lib/systemd/system/clementine.service
said=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $said"
[ -z "$said" ] || fail "systemd-analyze verify: $said"
systemd-analyze security --offline=true --threshold=20 "$unit" >/dev/null ||
  fail "sandbox exposure above 2.0: $(systemd-analyze security --offline=true "$unit" | tail -1)"
log "installed $(basename "$deb"): binary, man pages, unit (verified; $(systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -1 | sed 's/.*level for //'))"

# deploy/redis.conf as Redis reads it, with its paths moved into DIR and its port to a free one:
# the ACL user gets in over TLS with a client certificate and reaches only its own keys, no
# one else gets in, and writes go to the append-only file.
check_redis_conf() {  # DIR (with a pki CA)
  local dir=$1 port=6398 pid
  /usr/bin/clementine pki engine --name redis --ip 127.0.0.1 --unix-socket "" "$dir" >/dev/null
  /usr/bin/clementine pki client "$dir" >/dev/null
  sed -e "s#/etc/redis/tls/#$dir/engines/redis/#" -e "s/^tls-port 6379/tls-port $port/" \
    deploy/redis.conf > "$dir/redis.conf"
  printf 'bind 127.0.0.1\ndir %s\n' "$dir" >> "$dir/redis.conf"
  redis-server "$dir/redis.conf" > "$dir/redis.log" 2>&1 & pid=$!
  local cli=(redis-cli --tls --cacert "$dir/ca.pem" --cert "$dir/client/cert.pem"
    --key "$dir/client/key.pem" -p "$port" --no-auth-warning)
  for _ in $(seq 50); do "${cli[@]}" ping 2>/dev/null | grep -q NOAUTH && break; sleep 0.1; done
  local as_clementine=("${cli[@]}" --user clementine --pass CHANGE-ME-redis-password)
  local got
  got="$("${as_clementine[@]}" set clementine:check 1) $("${as_clementine[@]}" set other:check 1)"
  got="$got $("${as_clementine[@]}" flushall) $("${cli[@]}" get clementine:check)"
  # Durable: the append-only files are there.
  [ -d "$dir/appendonlydir" ] && got="$got aof"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  case "$got" in
    "OK NOPERM"*"NOPERM"*"NOAUTH"*" aof") ;;
    *) fail "deploy/redis.conf: $got ($(tail -3 "$dir/redis.log"))" ;;
  esac
}

# The deploy/ examples.
nft -c -f deploy/nftables.conf || fail "deploy/nftables.conf does not parse"
scratch=$(mktemp -d)
/usr/bin/clementine pki init "$scratch" >/dev/null
/usr/bin/clementine pki engine --name docker-1 --ip 192.0.2.11 "$scratch" >/dev/null
python3 - "$scratch/engines/docker-1/daemon.json" deploy/daemon.json <<'PY' || fail "deploy/daemon.json is not what pki writes"
import json, sys
made, example = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(made != example)
PY
check_redis_conf "$scratch"
rm -rf "$scratch"
log "deploy/ examples: nftables parses, daemon.json is pki's, redis.conf serves its ACL user over TLS"
