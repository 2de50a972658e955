#!/usr/bin/env bash
# Brings up Redis and one local TLS engine (scripts/testbed.sh), builds clementine and serves it
# with example/config.json (the API, and the Docker API on 127.0.0.1:2375). Prints where Swagger
# UI is, how to log in, and how to point the docker CLI at it.
#
#   scripts/run.sh            # admin password generated once into .testbed/admin-password
#   CLEMENTINE_ADMIN_PASSWORD=... scripts/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/ensure-rust.sh"
"$ROOT/scripts/testbed.sh" up "${CLEMENTINE_ENGINES:-1}"

umask 077
[ -s .testbed/jwt-secret ] || head -c 48 /dev/urandom | base64 | tr -d '\n' > .testbed/jwt-secret
if [ -z "${CLEMENTINE_ADMIN_PASSWORD:-}" ]; then
  [ -s .testbed/admin-password ] || head -c 18 /dev/urandom | base64 | tr -d '/+\n' > .testbed/admin-password
  CLEMENTINE_ADMIN_PASSWORD="$(cat .testbed/admin-password)"
fi
export CLEMENTINE_ADMIN_USER="${CLEMENTINE_ADMIN_USER:-admin}"
# This machine reaches no registry but the test bed's: engines pull only from it.
export CLEMENTINE_PULL_REGISTRIES="${CLEMENTINE_PULL_REGISTRIES:-127.0.0.1:5000}"
export CLEMENTINE_ADMIN_PASSWORD

cargo build -j2 --release --bin clementine
listen=$(sed -n 's/.*"listen": *"\([^"]*\)".*/\1/p' example/config.json)
listen="${CLEMENTINE_LISTEN:-$listen}"
docker_listen="${CLEMENTINE_DOCKER_LISTEN:-127.0.0.1:2375}"
cat <<MSG

  clementine on http://$listen
  Swagger UI:  http://$listen/docs        (spec: http://$listen/openapi.json)
  Log in:      TOKEN=\$(curl -s -XPOST http://$listen/apiv1/login \\
                 -d '{"username":"$CLEMENTINE_ADMIN_USER","password":"'"\$(cat .testbed/admin-password)"'"}' \\
                 | sed 's/.*"token":"\\([^"]*\\)".*/\\1/')
  Add engine:  curl -XPOST http://$listen/apiv1/engine -H "Authorization: Bearer \$TOKEN" -d @example/local_engine.json
  (The admin '$CLEMENTINE_ADMIN_USER' is created only when Redis holds no user yet; an existing
   admin keeps its password.)
  Docker API:  mkdir -p .testbed/docker && echo '{"HttpHeaders":{"Authorization":"Bearer '"\$TOKEN"'"}}' \
                 > .testbed/docker/config.json
               DOCKER_HOST=tcp://$docker_listen DOCKER_CONFIG=.testbed/docker docker run --rm busybox echo hi

MSG
exec ./target/release/clementine -conf=example/config.json
