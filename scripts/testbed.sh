#!/usr/bin/env bash
# The local test bed: one Redis and N Docker engines behind mutual TLS, all on loopback.
#
#   scripts/testbed.sh up [N]   install what is missing, create the CA and certs, start Redis and N
#                               engines (default 3, at most 30), import busybox and redis images; idempotent
#   scripts/testbed.sh down     stop everything this script started
#   scripts/testbed.sh status   show what runs
#   scripts/testbed.sh env      print the environment the tests and the server read
#   scripts/testbed.sh clean    remove every container on the running engines (test leftovers)
#   scripts/testbed.sh start-engine|stop-engine|freeze-engine|thaw-engine I   control engine I
#   scripts/testbed.sh sentinel-up  a Redis master and replica (:6391, :6392) watched by three
#                               sentinels (:26391-26393) as master `clementine-test`, all over TLS
#                               only, with passwords (the ACL user below, and the sentinels' own);
#                               idempotent
#   scripts/testbed.sh sentinel-kill-master   kill -9 whichever node is master now (prints its port)
#   scripts/testbed.sh sentinel-heal    restart a killed node as a replica of the current master
#
# A second Redis (:6393) speaks TLS only, wants client certificates, has the default user off
# and two ACL users: `clementine`, with the least-privilege ACL of SECURITY.md over keys `test:*`,
# and `reader`, who may only read (tests prove start-up refuses it).
#
# Engine i listens on https://127.0.0.(10+i):2376 and publishes container ports on 127.0.0.(10+i), so
# two engines can publish the same port like two real hosts. Every engine uses its own bridge
# (clbr<i>), data root, exec root and pid file; iptables is left alone (the userland proxy publishes).
# Tenant networks get /28 subnets of 10.214.0.0/16 (4096 of them, shared by all engines, since
# Docker skips subnets already routed on the host); nothing outside the machine is ever reached.
# One CA (made by `clementine pki`) signs the engines' server certificates and the client
# certificate clementine uses.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TB="${CLEMENTINE_TESTBED_DIR:-$ROOT/.testbed}"
CERTS="$TB/certs"
STATE="${CLEMENTINE_TESTBED_STATE:-/var/lib/clementine-testbed}"
RUNDIR="/run/clementine-testbed"
REDIS_PORT="${CLEMENTINE_TESTBED_REDIS_PORT:-6390}"
REGISTRY_PORT="${CLEMENTINE_TESTBED_REGISTRY_PORT:-5000}"
# A second registry that wants basic auth (htpasswd, bcrypt), with one account. It runs on a
# test host of its own, a network namespace with a veth pair (10.215.0.1 here, 10.215.0.2
# there), so that its address is not host-local: clementine sends no tenant's own credentials
# to a loopback registry (another one on every engine's host).
PRIVATE_PORT="${CLEMENTINE_TESTBED_PRIVATE_REGISTRY_PORT:-5001}"
REGHOST_NS=clm-registry
REGHOST_IP=10.215.0.2
PRIVATE_USER=puller
PRIVATE_PASSWORD=puller-password-1
TLS_REDIS_PORT="${CLEMENTINE_TESTBED_TLS_REDIS_PORT:-6393}"
REDIS_USER=clementine
REDIS_PASSWORD=clementine-redis-password-1
SENTINEL_PASSWORD=sentinel-password-1
# The least-privilege ACL of SECURITY.md (there over `clementine:*`).
REDIS_ACL='resetchannels -@all +@read +@write +@stream +@scripting +@connection +@transaction -@dangerous'
MAX_ENGINES=30
DOCKER_PORT=2376
IMAGES=(busybox:latest clementine/web:latest)

log() { printf 'testbed: %s\n' "$*" >&2; }
engine_ip() { echo "127.0.0.$((10 + $1))"; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root (dockerd needs it)"; exit 1
  fi
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v curl >/dev/null || missing+=(curl)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v haproxy >/dev/null || missing+=(haproxy)
  # Clients of the Docker API front door: Debian's docker CLI comes with docker.io (dockerd).
  [ -x /usr/bin/docker ] || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v script >/dev/null || missing+=(bsdutils)
  # The audit log's outside verifier: Go's own tlog and note packages (tests/go/tlogcheck).
  command -v go >/dev/null || missing+=(golang-go)
  [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || missing+=(golang-golang-x-mod-dev)
  # The package check (scripts/package.sh): its unit, its firewall example, dpkg.
  command -v systemd-analyze >/dev/null || missing+=(systemd)
  command -v nft >/dev/null || missing+=(nftables)
  command -v man >/dev/null || missing+=(man-db)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # No service manager here: keep package scripts from trying to start daemons.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    rm -f /usr/sbin/policy-rc.d
  fi
}

# An open registry (distribution 2.8) on loopback, plain HTTP: dockerd treats registries on
# 127.0.0.0/8 as insecure by default. Engines reach it at 127.0.0.1 since they share the host's
# network namespace. The private one is on the registry host (below), which the engines are told
# to reach in plain HTTP (`--insecure-registry`).
start_registry() {
  serve_registry registry 127.0.0.1 "$REGISTRY_PORT" ""
  if [ ! -f "$RUNDIR/private.htpasswd" ]; then
    htpasswd -Bbn "$PRIVATE_USER" "$PRIVATE_PASSWORD" > "$RUNDIR/private.htpasswd"
  fi
  registry_host_up
  serve_registry private "$REGHOST_IP" "$PRIVATE_PORT" "$RUNDIR/private.htpasswd" \
    ip netns exec "$REGHOST_NS"
}

# The registry host: a network namespace joined to this one by a veth pair; idempotent.
registry_host_up() {
  ip netns list | grep -qw "$REGHOST_NS" || ip netns add "$REGHOST_NS"
  if ! ip link show clmreg0 >/dev/null 2>&1; then
    ip link add clmreg0 type veth peer name clmreg1
    ip link set clmreg1 netns "$REGHOST_NS"
    ip addr add 10.215.0.1/30 dev clmreg0
    ip link set clmreg0 up
    ip netns exec "$REGHOST_NS" ip addr add "$REGHOST_IP/30" dev clmreg1
    ip netns exec "$REGHOST_NS" ip link set clmreg1 up
    ip netns exec "$REGHOST_NS" ip link set lo up
  fi
}

registry_host_down() {
  ip link del clmreg0 2>/dev/null || true
  ip netns del "$REGHOST_NS" 2>/dev/null || true
}

# serve_registry NAME IP PORT HTPASSWD [WRAPPER...]: one registry on IP:PORT (started through
# WRAPPER, e.g. `ip netns exec NS`), idempotent.
serve_registry() {
  local name=$1 addr=$2 port=$3 htpasswd=$4 auth=""
  shift 4
  mkdir -p "$RUNDIR" "$STATE/$name"
  curl -s -o /dev/null "http://$addr:$port/v2/" 2>/dev/null && return 0
  log "starting registry $name on $addr:$port"
  [ -n "$htpasswd" ] && auth="auth:
  htpasswd:
    realm: clementine-test
    path: $htpasswd"
  cat > "$RUNDIR/$name.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/$name
  delete:
    enabled: true
http:
  addr: $addr:$port
$auth
YML
  nohup "$@" docker-registry serve "$RUNDIR/$name.yml" >"$RUNDIR/$name.log" 2>&1 &
  echo $! > "$RUNDIR/$name.pid"
  for _ in $(seq 50); do curl -s -o /dev/null "http://$addr:$port/v2/" && return 0; sleep 0.1; done
  log "registry $name did not start; see $RUNDIR/$name.log"; exit 1
}

# Pushes `clementine/pulltest:1` (busybox) into the registry from engine 1, once.
push_images() {
  push_image busybox:latest clementine/pulltest:1
  push_image redis:latest library/redis:latest
}

# Pushes engine 1's IMAGE into the open registry as REPO:TAG, once.
push_image() {
  local image=$1 repo=${2%:*} tag=${2##*:}
  local ref="127.0.0.1:$REGISTRY_PORT/$repo:$tag"
  curl -sf -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$REGISTRY_PORT/v2/$repo/manifests/$tag" && return 0
  docker_cli 1 tag "$image" "$ref"
  docker_cli 1 push "$ref" >/dev/null
  docker_cli 1 rmi "$ref" >/dev/null
}

# Pushes `clementine/private:1` into the private registry, logged in (the CLI keeps the login
# in a config directory of the test bed's), once.
push_private_image() {
  local private="$REGHOST_IP:$PRIVATE_PORT/clementine/private:1"
  local cli_config="$RUNDIR/docker-cli"
  mkdir -p "$cli_config"
  curl -sf -o /dev/null -u "$PRIVATE_USER:$PRIVATE_PASSWORD" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGHOST_IP:$PRIVATE_PORT/v2/clementine/private/manifests/1" && return 0
  echo "$PRIVATE_PASSWORD" | docker_cli 1 --config "$cli_config" login -u "$PRIVATE_USER" \
    --password-stdin "$REGHOST_IP:$PRIVATE_PORT" >/dev/null 2>&1
  docker_cli 1 tag busybox:latest "$private"
  docker_cli 1 --config "$cli_config" push "$private" >/dev/null
  docker_cli 1 rmi "$private" >/dev/null
}

# The certificates come from `clementine pki`, so that the tests exercise it: one CA; a server
# certificate per engine, whose daemon.json starts that engine; `testbed-services`, naming
# 127.0.0.1 and every engine address, for what is not an engine (Redis over TLS, sentinels, the
# API's HTTPS in tests); clementine's client certificate; and a second, unrelated CA that tests
# use to prove a wrong CA is refused. Everything is made again when anything is missing or
# expires within 30 days.
make_certs() {
  if [ -f "$CERTS/engines/engine-$MAX_ENGINES/daemon.json" ] && [ -f "$CERTS/other-ca-key.pem" ] &&
     [ -f "$CERTS/client-key.pem" ] &&
     openssl x509 -in "$CERTS/server-cert.pem" -noout -checkend $((30 * 86400)) >/dev/null 2>&1; then
    return 0
  fi
  log "creating the CA and certificates in $CERTS with clementine pki"
  (cd "$ROOT" && export PATH="$HOME/.cargo/bin:$PATH" && "$ROOT/scripts/ensure-rust.sh" >/dev/null &&
     cargo build --quiet --bin clementine)
  local pki="$ROOT/target/debug/clementine" ips=(--ip 127.0.0.1)
  rm -rf "$CERTS"; mkdir -p "$CERTS"
  "$pki" pki init "$CERTS" >/dev/null
  for i in $(seq 1 $MAX_ENGINES); do
    ips+=(--ip "$(engine_ip "$i")")
    "$pki" pki engine --name "engine-$i" --ip "$(engine_ip "$i")" --days 3650 \
      --tls-dir "$CERTS/engines/engine-$i" --unix-socket "$RUNDIR/e$i/docker.sock" "$CERTS" >/dev/null
  done
  "$pki" pki engine --name testbed-services "${ips[@]}" --days 3650 --unix-socket "" "$CERTS" >/dev/null
  "$pki" pki client --days 3650 "$CERTS" >/dev/null
  "$pki" pki init "$CERTS/other" >/dev/null
  (
    cd "$CERTS"
    cp engines/testbed-services/cert.pem server-cert.pem; cp engines/testbed-services/key.pem server-key.pem
    cp client/cert.pem client-cert.pem; cp client/key.pem client-key.pem
    cp other/ca.pem other-ca.pem; cp other/ca-key.pem other-ca-key.pem
    chmod 600 ./*-key.pem
  )
}

start_redis() {
  mkdir -p "$RUNDIR"
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --daemonize yes --pidfile "$RUNDIR/redis.pid" --logfile "$RUNDIR/redis.log" --databases 64
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "redis did not start; see $RUNDIR/redis.log"; exit 1
}

# The TLS client flags for redis-cli, as clementine's client certificate.
redis_tls_flags() {
  echo --tls --cacert "$CERTS/ca.pem" --cert "$CERTS/client-cert.pem" --key "$CERTS/client-key.pem"
}

# The TLS settings for redis-server and sentinels: the engines' server certificate (it names
# 127.0.0.1), clementine's client certificate for their own connections to each other
# (replication, sentinels), client certificates from the test CA required.
redis_tls_conf() {
  cat <<CONF
tls-cert-file $CERTS/server-cert.pem
tls-key-file $CERTS/server-key.pem
tls-client-cert-file $CERTS/client-cert.pem
tls-client-key-file $CERTS/client-key.pem
tls-ca-cert-file $CERTS/ca.pem
tls-auth-clients yes
CONF
}

start_tls_redis() {
  mkdir -p "$RUNDIR"
  # shellcheck disable=SC2046
  if redis-cli $(redis_tls_flags) -p "$TLS_REDIS_PORT" --user "$REDIS_USER" --pass "$REDIS_PASSWORD" \
       --no-auth-warning ping >/dev/null 2>&1; then return 0; fi
  log "starting TLS redis on 127.0.0.1:$TLS_REDIS_PORT"
  { cat <<CONF
bind 127.0.0.1
port 0
tls-port $TLS_REDIS_PORT
save ""
appendonly no
daemonize yes
pidfile $RUNDIR/redis-tls.pid
logfile $RUNDIR/redis-tls.log
user default off
user $REDIS_USER on >$REDIS_PASSWORD ~test:* $REDIS_ACL
user reader on >$REDIS_PASSWORD ~test:* resetchannels -@all +@read +@connection
CONF
    redis_tls_conf; } > "$RUNDIR/redis-tls.conf"
  chmod 600 "$RUNDIR/redis-tls.conf"
  redis-server "$RUNDIR/redis-tls.conf"
  for _ in $(seq 50); do
    # shellcheck disable=SC2046
    redis-cli $(redis_tls_flags) -p "$TLS_REDIS_PORT" --user "$REDIS_USER" --pass "$REDIS_PASSWORD" \
      --no-auth-warning ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "TLS redis did not start; see $RUNDIR/redis-tls.log"; exit 1
}

docker_cli() {
  local i=$1; shift
  DOCKER_API_VERSION=1.41 docker -H "tcp://$(engine_ip "$i"):$DOCKER_PORT" --tlsverify \
    --tlscacert "$CERTS/ca.pem" --tlscert "$CERTS/client-cert.pem" --tlskey "$CERTS/client-key.pem" "$@"
}

engine_up() {
  docker_cli "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Starts engine i (idempotent). Exposed as `start-engine i` so tests can restart a stopped engine.
start_engine() {
  local i=$1 ip br data exec
  ip=$(engine_ip "$i"); br="clbr$i"; data="$STATE/e$i"; exec="$RUNDIR/e$i"
  if engine_up "$i"; then
    # An engine started before the registry host existed does not know to reach it in plain
    # HTTP: restart it with today's flags.
    grep -q "config-file" "/proc/$(cat "$exec/dockerd.pid")/cmdline" 2>/dev/null && return 0
    log "engine $i runs with older flags; restarting it"
    stop_engine "$i"
  fi
  mkdir -p "$data" "$exec"
  if ! ip link show "$br" >/dev/null 2>&1; then
    ip link add "$br" type bridge
    ip addr add "10.213.$i.1/24" dev "$br"
    ip link set "$br" up
  fi
  # A dockerd that runs but does not accept our certificates was started by another checkout
  # (another CA): replace it. A stale pid file from an unclean stop keeps dockerd from starting.
  if [ -f "$exec/dockerd.pid" ]; then
    if kill -0 "$(cat "$exec/dockerd.pid")" 2>/dev/null; then
      log "engine $i runs with other certificates; restarting it with ours"
      stop_engine "$i"
    fi
    rm -f "$exec/dockerd.pid"
  fi
  # dockerd reuses the containerd its pid file names when that pid is alive. After a reboot or a
  # killed engine the pid can belong to another process, and dockerd then waits on a socket no
  # one serves until it gives up: drop a pid file that does not name this engine's containerd.
  our_containerd "$i" || rm -f "$exec/containerd/containerd.pid"
  log "starting engine $i on https://$ip:$DOCKER_PORT"
  # Mutual TLS and the listening addresses come from the daemon.json `clementine pki` made.
  nohup dockerd --config-file "$CERTS/engines/engine-$i/daemon.json" \
    --data-root "$data" --exec-root "$exec" --pidfile "$exec/dockerd.pid" \
    --bridge "$br" --ip "$ip" --iptables=false --ip-masq=false --ip-forward=false \
    --default-address-pool "base=10.214.0.0/16,size=28" \
    --insecure-registry "$REGHOST_IP:$PRIVATE_PORT" \
    --storage-driver "${CLEMENTINE_TESTBED_STORAGE:-overlay2}" --log-level warn \
    --containerd-namespace "clementine-e$i" --containerd-plugins-namespace "clementine-e$i-plugins" \
    >"$exec/dockerd.log" 2>&1 &
  # dockerd removes its own pid file when it gives up; this one tells wait_engine it has.
  echo $! >"$exec/launched.pid"
}

# Waits up to 60 s for engine i to answer. On a loaded machine (2 cores running the suite) the
# containerd dockerd starts can miss dockerd's own start-up timeout, and dockerd exits: start it
# again, up to three times, before giving up.
wait_engine() {
  local i=$1 launched="$RUNDIR/e$1/launched.pid" try
  for try in 1 2 3; do
    for _ in $(seq 600); do
      engine_up "$i" && return 0
      [ -f "$launched" ] && ! kill -0 "$(cat "$launched")" 2>/dev/null && break
      sleep 0.1
    done
    engine_up "$i" && return 0
    log "engine $i did not answer (try $try); its log ends:"; tail -5 "$RUNDIR/e$i/dockerd.log" >&2
    stop_engine "$i"
    [ "$try" = 3 ] || start_engine "$i"
  done
  log "engine $i did not answer after three starts; see $RUNDIR/e$i/dockerd.log"; exit 1
}

# True when engine i's containerd pid file names a live containerd started for engine i.
our_containerd() {
  local conf="$RUNDIR/e$1/containerd/containerd.toml" pidf="$RUNDIR/e$1/containerd/containerd.pid"
  [ -f "$pidf" ] && tr '\0' ' ' 2>/dev/null <"/proc/$(cat "$pidf")/cmdline" | grep -qF "$conf"
}

stop_engine() {
  local i=$1 pidf="$RUNDIR/e$1/dockerd.pid" pid
  if [ -f "$pidf" ]; then
    pid=$(cat "$pidf")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"
  fi
  # A dockerd killed outright leaves its containerd running: stop that too.
  if our_containerd "$i"; then
    pid=$(cat "$RUNDIR/e$i/containerd/containerd.pid")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$RUNDIR/e$i/containerd/containerd.pid"
}

rootfs() {
  local dir="$TB/rootfs"
  [ -x "$dir/bin/busybox" ] && { echo "$dir"; return; }
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/var/www" "$dir/proc" "$dir/sys" "$dir/dev"
  cp /bin/busybox "$dir/bin/busybox"
  for app in $(/bin/busybox --list); do
    [ "$app" = busybox ] || ln -sf busybox "$dir/bin/$app"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/etc/passwd"
  echo 'root:x:0:' > "$dir/etc/group"
  echo 'hello from clementine' > "$dir/var/www/index.html"
  echo "$dir"
}

# A real Redis image, `redis:latest`, from Debian's redis-server: the binary and the libraries
# ldd names, nothing else (no outside registry is reachable to pull the official one).
redis_rootfs() {
  local dir="$TB/rootfs-redis" bin lib
  bin=$(readlink -f "$(command -v redis-server)")
  if [ ! -x "$dir/usr/bin/redis-server" ]; then
    mkdir -p "$dir/usr/bin" "$dir/data" "$dir/tmp" "$dir/etc"
    cp "$bin" "$dir/usr/bin/redis-server"
    for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
      mkdir -p "$dir$(dirname "$lib")"
      cp -L "$lib" "$dir$lib"
    done
    echo 'redis:x:999:999::/data:/usr/sbin/nologin' > "$dir/etc/passwd"
  fi
  echo "$dir"
}

import_images() {
  local i=$1 dir
  if ! docker_cli "$i" image inspect redis:latest >/dev/null 2>&1; then
    log "importing redis:latest (Debian's redis-server) into engine $i"
    tar -C "$(redis_rootfs)" -c . | docker_cli "$i" import -c 'WORKDIR /data' -c 'EXPOSE 6379' \
      -c 'CMD ["redis-server","--protected-mode","no","--save",""]' - redis:latest >/dev/null
  fi
  dir=$(rootfs)
  if ! docker_cli "$i" image inspect busybox:latest >/dev/null 2>&1; then
    log "importing busybox:latest into engine $i"
    tar -C "$dir" -c . | docker_cli "$i" import -c 'CMD ["/bin/sh"]' - busybox:latest >/dev/null
  fi
  if ! docker_cli "$i" image inspect clementine/web:latest >/dev/null 2>&1; then
    tar -C "$dir" -c . | docker_cli "$i" import -c 'CMD ["httpd","-f","-p","80","-h","/var/www"]' \
      -c 'EXPOSE 80' - clementine/web:latest >/dev/null
  fi
}

# The test bed's Python: Schemathesis for the contract tests and docker-py (the Docker SDK for
# Python, from PyPI) for the Docker API tests.
VENV="$TB/venv"
install_python_clients() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -c 'import schemathesis, docker' 2>/dev/null && return 0
  log "installing schemathesis and docker-py into $VENV"
  "$VENV/bin/pip" install --quiet 'schemathesis>=4.3,<5' 'docker>=7.1,<8'
}

cmd_up() {
  local n=${1:-3}
  need_root
  [ "$n" -ge 1 ] && [ "$n" -le $MAX_ENGINES ] || { log "engines: 1..$MAX_ENGINES"; exit 1; }
  install_packages
  install_python_clients
  make_certs
  start_redis
  start_tls_redis
  for i in $(seq 1 "$n"); do start_engine "$i"; done
  for i in $(seq 1 "$n"); do wait_engine "$i"; import_images "$i"; done
  start_registry
  push_images
  push_private_image
  log "up: redis 127.0.0.1:$REDIS_PORT, $n engine(s) at https://127.0.0.11..$(engine_ip "$n"):$DOCKER_PORT"
}

# Redis through Sentinel, apart from the main Redis so that a failover test disturbs no other.
SENTINEL_NODES=(6391 6392)
SENTINEL_PORTS=(26391 26392 26393)
SENTINEL_MASTER=clementine-test

# redis-cli to a node of the sentinel set (TLS, as the ACL user).
node_cli() {  # PORT ARGS...
  local port=$1; shift
  # shellcheck disable=SC2046
  redis-cli $(redis_tls_flags) -p "$port" --user "$REDIS_USER" --pass "$REDIS_PASSWORD" --no-auth-warning "$@"
}

# redis-cli to a sentinel (TLS, with the sentinels' password).
sentinel_cli() {  # PORT ARGS...
  local port=$1; shift
  # shellcheck disable=SC2046
  redis-cli $(redis_tls_flags) -p "$port" --pass "$SENTINEL_PASSWORD" --no-auth-warning "$@"
}

start_node() {  # PORT [PORT of the master to replicate]
  local port=$1 of=${2:-}
  node_cli "$port" ping >/dev/null 2>&1 && return 0
  # A replica's first sync writes a snapshot: under $RUNDIR, not where the script was started.
  # The replica logs in to its master as the ACL user, which replication needs (SECURITY.md).
  { cat <<CONF
bind 127.0.0.1
port 0
tls-port $port
tls-replication yes
save ""
appendonly no
daemonize yes
dir $RUNDIR
dbfilename redis-$port.rdb
pidfile $RUNDIR/redis-$port.pid
logfile $RUNDIR/redis-$port.log
user default off
user $REDIS_USER on >$REDIS_PASSWORD ~test:* $REDIS_ACL
user replicator on >$REDIS_PASSWORD resetchannels -@all +psync +replconf +ping
user sentinel on >$REDIS_PASSWORD allchannels -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill
masteruser replicator
masterauth $REDIS_PASSWORD
CONF
    redis_tls_conf; } > "$RUNDIR/redis-$port.conf"
  chmod 600 "$RUNDIR/redis-$port.conf"
  local args=("$RUNDIR/redis-$port.conf")
  [ -n "$of" ] && args+=(--replicaof 127.0.0.1 "$of")
  redis-server "${args[@]}"
  for _ in $(seq 50); do node_cli "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "redis $port did not start; see $RUNDIR/redis-$port.log"; exit 1
}

# The port of the master as the first sentinel that answers sees it.
sentinel_master_port() {
  for p in "${SENTINEL_PORTS[@]}"; do
    local port
    port=$(sentinel_cli "$p" sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | sed -n 2p)
    [ -n "$port" ] && { echo "$port"; return 0; }
  done
  return 1
}

cmd_sentinel_up() {
  mkdir -p "$RUNDIR"
  if sentinel_master_port >/dev/null; then cmd_sentinel_heal; return 0; fi
  log "starting redis master :${SENTINEL_NODES[0]}, replica :${SENTINEL_NODES[1]} and sentinels"
  start_node "${SENTINEL_NODES[0]}"
  start_node "${SENTINEL_NODES[1]}" "${SENTINEL_NODES[0]}"
  # Nodes left running by an earlier bed may hold other roles: set them.
  node_cli "${SENTINEL_NODES[0]}" replicaof no one >/dev/null
  node_cli "${SENTINEL_NODES[1]}" replicaof 127.0.0.1 "${SENTINEL_NODES[0]}" >/dev/null
  for p in "${SENTINEL_PORTS[@]}"; do
    # Sentinels rewrite their own config file: each gets a fresh one.
    { cat <<CONF
port 0
tls-port $p
tls-replication yes
bind 127.0.0.1
dir $RUNDIR
daemonize yes
pidfile $RUNDIR/sentinel-$p.pid
logfile $RUNDIR/sentinel-$p.log
requirepass $SENTINEL_PASSWORD
sentinel sentinel-pass $SENTINEL_PASSWORD
sentinel monitor $SENTINEL_MASTER 127.0.0.1 ${SENTINEL_NODES[0]} 2
sentinel auth-user $SENTINEL_MASTER sentinel
sentinel auth-pass $SENTINEL_MASTER $REDIS_PASSWORD
sentinel down-after-milliseconds $SENTINEL_MASTER 1000
sentinel failover-timeout $SENTINEL_MASTER 5000
sentinel parallel-syncs $SENTINEL_MASTER 1
CONF
      redis_tls_conf; } > "$RUNDIR/sentinel-$p.conf"
    chmod 600 "$RUNDIR/sentinel-$p.conf"
    redis-server "$RUNDIR/sentinel-$p.conf" --sentinel
  done
  for _ in $(seq 100); do
    local seen=0
    for p in "${SENTINEL_PORTS[@]}"; do
      [ "$(sentinel_cli "$p" sentinel replicas "$SENTINEL_MASTER" 2>/dev/null | grep -c '^ip$')" -ge 1 ] && seen=$((seen + 1))
    done
    if [ "$seen" -eq ${#SENTINEL_PORTS[@]} ]; then
      wait_replicas_synced "${SENTINEL_NODES[0]}"
      log "sentinels up, master :$(sentinel_master_port)"; return 0
    fi
    sleep 0.1
  done
  log "sentinels did not see the replica; see $RUNDIR/sentinel-*.log"; exit 1
}

# Waits until every node but the master has finished its sync with the master.
wait_replicas_synced() {
  local master=$1
  for port in "${SENTINEL_NODES[@]}"; do
    [ "$port" = "$master" ] && continue
    for _ in $(seq 100); do
      node_cli "$port" info replication 2>/dev/null | grep -q 'master_link_status:up' && break
      sleep 0.1
    done
  done
}

cmd_sentinel_kill_master() {
  local port
  port=$(sentinel_master_port) || { log "no sentinel answers"; exit 1; }
  kill -9 "$(cat "$RUNDIR/redis-$port.pid")"
  rm -f "$RUNDIR/redis-$port.pid"
  echo "$port"
}

cmd_sentinel_heal() {
  local master
  master=$(sentinel_master_port) || { log "no sentinel answers"; exit 1; }
  for port in "${SENTINEL_NODES[@]}"; do
    [ "$port" = "$master" ] || start_node "$port" "$master"
  done
  wait_replicas_synced "$master"
}

cmd_sentinel_down() {
  local pids=()
  for p in "${SENTINEL_PORTS[@]}" "${SENTINEL_NODES[@]}"; do
    for pidf in "$RUNDIR/sentinel-$p.pid" "$RUNDIR/redis-$p.pid"; do
      [ -f "$pidf" ] || continue
      pids+=("$(cat "$pidf")")
      kill "$(cat "$pidf")" 2>/dev/null || true
      rm -f "$pidf"
    done
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
}

cmd_down() {
  need_root
  cmd_sentinel_down
  for i in $(seq 1 $MAX_ENGINES); do stop_engine "$i"; done
  for pidf in "$RUNDIR/redis.pid" "$RUNDIR/redis-tls.pid" "$RUNDIR/registry.pid" "$RUNDIR/private.pid"; do
    [ -f "$pidf" ] || continue
    kill "$(cat "$pidf")" 2>/dev/null || true
    rm -f "$pidf"
  done
  for i in $(seq 1 $MAX_ENGINES); do ip link del "clbr$i" 2>/dev/null || true; done
  registry_host_down
  log "down"
}

cmd_status() {
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && echo "redis 127.0.0.1:$REDIS_PORT up" || echo "redis down"
  # shellcheck disable=SC2046
  redis-cli $(redis_tls_flags) -p "$TLS_REDIS_PORT" --user "$REDIS_USER" --pass "$REDIS_PASSWORD" \
    --no-auth-warning ping >/dev/null 2>&1 && echo "TLS redis 127.0.0.1:$TLS_REDIS_PORT up" || echo "TLS redis down"
  for i in $(seq 1 $MAX_ENGINES); do
    [ -f "$RUNDIR/e$i/dockerd.pid" ] || continue
    if engine_up "$i"; then echo "engine $i https://$(engine_ip "$i"):$DOCKER_PORT up"
    else echo "engine $i https://$(engine_ip "$i"):$DOCKER_PORT down"; fi
  done
}

cmd_clean() {
  for i in $(seq 1 $MAX_ENGINES); do
    engine_up "$i" || continue
    ids=$(docker_cli "$i" ps -aq)
    [ -n "$ids" ] && docker_cli "$i" rm -f $ids >/dev/null
    # Tenant networks and volumes that tests made (clementine labels them all).
    ids=$(docker_cli "$i" network ls -q --filter label=clementine.owner)
    [ -n "$ids" ] && docker_cli "$i" network rm $ids >/dev/null
    ids=$(docker_cli "$i" volume ls -q --filter label=clementine.owner)
    [ -n "$ids" ] && docker_cli "$i" volume rm -f $ids >/dev/null
  done
  return 0
}

cmd_env() {
  local n=0
  for i in $(seq 1 $MAX_ENGINES); do [ -f "$RUNDIR/e$i/dockerd.pid" ] && n=$i; done
  cat <<ENV
export CLEMENTINE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/
export CLEMENTINE_TLS_CA=$CERTS/ca.pem
export CLEMENTINE_TLS_CERT=$CERTS/client-cert.pem
export CLEMENTINE_TLS_KEY=$CERTS/client-key.pem
export CLEMENTINE_TESTBED_CERTS=$CERTS
export CLEMENTINE_TESTBED_ENGINES=$n
export CLEMENTINE_TESTBED_SCRIPT=$ROOT/scripts/testbed.sh
export CLEMENTINE_TESTBED_REGISTRY=127.0.0.1:$REGISTRY_PORT
export CLEMENTINE_TESTBED_PRIVATE_REGISTRY=$REGHOST_IP:$PRIVATE_PORT
export CLEMENTINE_TESTBED_PRIVATE_USER=$PRIVATE_USER
export CLEMENTINE_TESTBED_PRIVATE_PASSWORD=$PRIVATE_PASSWORD
export CLEMENTINE_TESTBED_SENTINELS=$(IFS=,; echo "${SENTINEL_PORTS[*]/#/127.0.0.1:}")
export CLEMENTINE_TESTBED_SENTINEL_MASTER=$SENTINEL_MASTER
export CLEMENTINE_TESTBED_SENTINEL_PASSWORD=$SENTINEL_PASSWORD
export CLEMENTINE_TESTBED_TLS_REDIS=127.0.0.1:$TLS_REDIS_PORT
export CLEMENTINE_TESTBED_REDIS_USER=$REDIS_USER
export CLEMENTINE_TESTBED_REDIS_PASSWORD=$REDIS_PASSWORD
export CLEMENTINE_TESTBED_PYTHON=$VENV/bin/python
ENV
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  clean) cmd_clean ;;
  start-engine) need_root; make_certs; start_engine "$2"; wait_engine "$2"; import_images "$2" ;;
  start-registry) need_root; start_registry ;;
  stop-registry) need_root; [ -f "$RUNDIR/registry.pid" ] && kill "$(cat "$RUNDIR/registry.pid")" && rm -f "$RUNDIR/registry.pid" ;;
  stop-engine) need_root; stop_engine "$2" ;;
  # Freeze/thaw: the engine accepts connections but never answers (a hung daemon).
  freeze-engine) need_root; kill -STOP "$(cat "$RUNDIR/e$2/dockerd.pid")" ;;
  thaw-engine) need_root; kill -CONT "$(cat "$RUNDIR/e$2/dockerd.pid")" ;;
  sentinel-up) need_root; install_packages; cmd_sentinel_up ;;
  sentinel-kill-master) need_root; cmd_sentinel_kill_master ;;
  sentinel-heal) need_root; cmd_sentinel_heal ;;
  sentinel-down) need_root; cmd_sentinel_down ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
