#!/usr/bin/env bash
# The local stack shared by the tests and the demo, on 127.0.0.1 only:
#   - a Docker engine (Debian's dockerd, started here unless one is already reachable),
#   - Debian's docker-registry with htpasswd auth (the "ECR" registry),
#   - moto server as the AWS API.
# Usage: scripts/stack.sh install | start | start-moto | stop | env | remove-task-containers [INSTANCE]
# `start` writes $STACK_DIR/env, a file of `export` lines the tests and the demo source.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${DEPLOYER_STACK_DIR:-$ROOT/.stack}
REGISTRY_PORT=${DEPLOYER_STACK_REGISTRY_PORT:-15000}
MOTO_PORT=${DEPLOYER_STACK_MOTO_PORT:-15001}
EMULATOR_PORT=${DEPLOYER_STACK_EMULATOR_PORT:-15002}
# The emulator plays the seed's load balancer on this port (3000 in ecs-basics.md).
LB_PORT=${DEPLOYER_STACK_LB_PORT:-15003}
# Its test listener: the new revision of a blue/green, linear or canary deployment once test
# traffic shifted.
LB_TEST_PORT=${DEPLOYER_STACK_LB_TEST_PORT:-$((REGISTRY_PORT + 5))}
# A minute of bake time, step bake time or hook timeout lasts this long on the stack's emulator.
MINUTE_MS=${DEPLOYER_STACK_MINUTE_MS:-1000}
# The stack's own dockerd also listens here with TLS, as CircleCI's remote Docker does on 2376.
DOCKER_TLS_PORT=${DEPLOYER_STACK_DOCKER_TLS_PORT:-$((REGISTRY_PORT + 4))}
EMULATOR_BIN=${DEPLOYER_EMULATOR_BIN:-$ROOT/target/debug/deployer-emulator}
MOTO_VERSION=5.2.1
CHECK_JSONSCHEMA_VERSION=0.39.0
YAMLLINT_VERSION=1.38.0
ACCOUNT_ID=123456789012
REGION=eu-west-1
# moto's GetAuthorizationToken answers user AWS with password "<registry id>-auth-token";
# the registry accepts exactly that, so the credentials deployer gets from the API are the real ones.
REGISTRY_USER=AWS
REGISTRY_PASSWORD="${ACCOUNT_ID}-auth-token"
BASE_IMAGE=deployer-test/busybox:local
PLATFORM_BASE=deployer-test/busybox

log() { printf 'stack: %s\n' "$*" >&2; }

install() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  if ! { [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x httpd >/dev/null; }; then missing+=(busybox-static); fi
  command -v curl >/dev/null || missing+=(curl)
  # The orb's checks: shellcheck for its scripts, CircleCI's config schema through check-jsonschema,
  # yamllint.
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  # RUN steps of another architecture (push --platform linux/arm64 on amd64) run under QEMU.
  command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
  command -v update-binfmts >/dev/null || missing+=(binfmt-support)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! python3 -c "import moto, flask_cors, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "installing moto[server]==$MOTO_VERSION"
    python3 -m pip install -q "moto[server]==$MOTO_VERSION"
  fi
  if ! python3 -m check_jsonschema --version 2>/dev/null | grep -q "$CHECK_JSONSCHEMA_VERSION"; then
    log "installing check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
    python3 -m pip install -q "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
  fi
  # orb-tools-orb's lint job runs yamllint on the orb's source; scripts/orb.py check does too.
  if ! python3 -m yamllint --version 2>/dev/null | grep -q "$YAMLLINT_VERSION"; then
    log "installing yamllint==$YAMLLINT_VERSION"
    python3 -m pip install -q "yamllint==$YAMLLINT_VERSION"
  fi
  command -v docker >/dev/null || { log "no docker CLI found after install"; exit 1; }
  enable_binfmt
}

# QEMU's handlers in the kernel's binfmt_misc, for the Docker engine on this machine.
enable_binfmt() {
  if [ ! -f /proc/sys/fs/binfmt_misc/status ]; then
    log "mounting binfmt_misc"
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
      { log "binfmt_misc cannot be mounted: foreign-architecture RUN steps will fail"; return 0; }
  fi
  if [ ! -f /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ "$(uname -m)" != aarch64 ]; then
    log "registering QEMU's binfmt handlers"
    update-binfmts --enable >/dev/null 2>&1 || true
  fi
}

wait_for() { # wait_for DESCRIPTION COMMAND...
  local what=$1; shift
  for _ in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  log "$what did not come up; see $STACK_DIR/*.log"
  tail -n 20 "$STACK_DIR"/*.log >&2 || true
  return 1
}

start_docker() {
  if [ -n "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
    log "using the reachable Docker engine at $DOCKER_HOST"
    echo "export DOCKER_HOST=$DOCKER_HOST" >>"$STACK_DIR/env"
  elif [ -z "${DOCKER_HOST:-}" ] && docker info >/dev/null 2>&1; then
    log "using the reachable Docker engine at the default socket"
  else
    start_own_docker
  fi
  # BuildKit's RUN steps join the "bridge" network unless told otherwise, and an engine without
  # one (this script's own, or any started with --bridge=none) fails them with "network bridge
  # not found": builds on it run theirs without a network (push --network none).
  if ! docker network inspect bridge >/dev/null 2>&1; then
    log "the Docker engine has no bridge network: builds run their RUN steps with --network none"
    echo "export DEPLOYER_BUILD_NETWORK=none" >>"$STACK_DIR/env"
  fi
}

start_own_docker() {
  local data_root=${DEPLOYER_STACK_DOCKER_DATA:-/var/lib/deployer-stack/docker}
  mkdir -p "$data_root" "$STACK_DIR/docker-exec"
  make_docker_certificates "$STACK_DIR/docker-tls"
  log "starting dockerd (bridge off, no iptables; data in $data_root; TLS on 127.0.0.1:$DOCKER_TLS_PORT)"
  # No bridge: tasks run with --network none or host, never on Docker's 172.17.x bridge.
  setsid dockerd \
    --host "unix://$STACK_DIR/docker.sock" \
    --host "tcp://127.0.0.1:$DOCKER_TLS_PORT" --tlsverify \
    --tlscacert "$STACK_DIR/docker-tls/ca.pem" \
    --tlscert "$STACK_DIR/docker-tls/server-cert.pem" --tlskey "$STACK_DIR/docker-tls/server-key.pem" \
    --data-root "$data_root" \
    --exec-root "$STACK_DIR/docker-exec" \
    --pidfile "$STACK_DIR/dockerd.pid" \
    --bridge=none --iptables=false --ip6tables=false \
    --containerd-namespace deployer-stack --containerd-plugins-namespace deployer-stack-plugins \
    >"$STACK_DIR/dockerd.log" 2>&1 &
  export DOCKER_HOST="unix://$STACK_DIR/docker.sock"
  {
    echo "export DOCKER_HOST=$DOCKER_HOST"
    # The same engine as remote Docker is reached: DOCKER_HOST=tcp://…, DOCKER_TLS_VERIFY=1,
    # DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem.
    echo "export DEPLOYER_STACK_DOCKER_TLS_HOST=tcp://127.0.0.1:$DOCKER_TLS_PORT"
    echo "export DEPLOYER_STACK_DOCKER_CERT_PATH=$STACK_DIR/docker-tls"
  } >>"$STACK_DIR/env"
  wait_for dockerd docker info
}

# A CA of the stack's own, a server certificate for 127.0.0.1 and a client certificate, as
# `docker-machine` and CircleCI's remote Docker hand them out.
make_docker_certificates() { # make_docker_certificates DIR
  local dir=$1
  if [ -f "$dir/key.pem" ]; then return; fi
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=deployer-stack CA" \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=deployer-client" -keyout key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile client.ext -out cert.pem 2>/dev/null
    rm -f server.csr client.csr server.ext client.ext
  )
}

start_registry() {
  mkdir -p "$STACK_DIR/registry/data"
  htpasswd -Bbc "$STACK_DIR/registry/htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null
  cat >"$STACK_DIR/registry/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STACK_DIR/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
auth:
  htpasswd:
    realm: deployer-stack
    path: $STACK_DIR/registry/htpasswd
CONFIG
  log "starting docker-registry on 127.0.0.1:$REGISTRY_PORT"
  setsid docker-registry serve "$STACK_DIR/registry/config.yml" >"$STACK_DIR/registry.log" 2>&1 &
  echo $! >"$STACK_DIR/registry.pid"
  # 401 means it is up and asking for credentials.
  wait_for docker-registry sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$REGISTRY_PORT/v2/ | grep -q 401"
}

start_moto() {
  log "starting moto server $MOTO_VERSION on 127.0.0.1:$MOTO_PORT"
  setsid python3 -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$STACK_DIR/moto.log" 2>&1 &
  echo $! >"$STACK_DIR/moto.pid"
  wait_for moto curl -sf "http://127.0.0.1:$MOTO_PORT/moto-api/"
}

start_emulator() {
  if [ ! -x "$EMULATOR_BIN" ]; then
    log "building the emulator"
    (cd "$ROOT" && cargo build --locked --quiet -p deployer-emulator)
  fi
  log "starting deployer-emulator (ECS and ECR) on 127.0.0.1:$EMULATOR_PORT, load balancer on 127.0.0.1:$LB_PORT (test listener :$LB_TEST_PORT), a minute lasting ${MINUTE_MS} ms"
  setsid "$EMULATOR_BIN" --listen "127.0.0.1:$EMULATOR_PORT" --registry "127.0.0.1:$REGISTRY_PORT" \
    --registry-user "$REGISTRY_USER" --registry-password "$REGISTRY_PASSWORD" \
    --load-balancer "127.0.0.1:$LB_PORT" --test-load-balancer "127.0.0.1:$LB_TEST_PORT" \
    --minute-ms "$MINUTE_MS" --account "$ACCOUNT_ID" --region "$REGION" \
    >"$STACK_DIR/emulator.log" 2>&1 &
  echo $! >"$STACK_DIR/emulator.pid"
  wait_for deployer-emulator curl -s -o /dev/null "http://127.0.0.1:$EMULATOR_PORT/"
}

import_base_image() {
  # Nothing can be pulled here: the base for test images is busybox-static's own files.
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  log "importing $BASE_IMAGE from busybox-static"
  local rootfs
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in sh httpd cat echo ls sleep wget true false env; do ln -s busybox "$rootfs/bin/$applet"; done
  echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"
  tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/bin' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# Multi-platform builds start FROM deployer-test/busybox:$TARGETARCH: the host's busybox as
# its architecture's tag, and arm64's from Debian's busybox-static:arm64 package.
import_platform_bases() {
  local host_arch
  host_arch=$(docker version -f '{{.Server.Arch}}')
  docker tag "$BASE_IMAGE" "$PLATFORM_BASE:$host_arch"
  if [ "$host_arch" = arm64 ] || docker image inspect "$PLATFORM_BASE:arm64" >/dev/null 2>&1; then return; fi
  log "importing $PLATFORM_BASE:arm64 from busybox-static:arm64"
  local work
  work=$(mktemp -d)
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  (cd "$work" && apt-get download -qq busybox-static:arm64 2>/dev/null) ||
    { apt-get update -qq && (cd "$work" && apt-get download -qq busybox-static:arm64); }
  dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/package"
  mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/etc"
  cp "$work/package/bin/busybox" "$work/rootfs/bin/busybox"
  for applet in sh cat echo ls uname true false env mkdir; do ln -s busybox "$work/rootfs/bin/$applet"; done
  echo "root:x:0:0:root:/:/bin/sh" >"$work/rootfs/etc/passwd"
  # `docker import --platform` leaves the architecture to Engine 20.10's own: the image is
  # loaded instead, as `docker save` writes one, with a config that says arm64.
  mkdir -p "$work/image"
  tar -C "$work/rootfs" -cf "$work/image/layer.tar" .
  local diff_id config_id
  diff_id=$(sha256sum "$work/image/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"arm64","variant":"v8","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$diff_id" >"$work/image/config.json"
  config_id=$(sha256sum "$work/image/config.json" | cut -d' ' -f1)
  mv "$work/image/config.json" "$work/image/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s:arm64"],"Layers":["layer.tar"]}]' \
    "$config_id" "$PLATFORM_BASE" >"$work/image/manifest.json"
  tar -C "$work/image" -c . | docker load >/dev/null
  rm -rf "$work"
}

write_env() {
  cat >>"$STACK_DIR/env" <<ENV
export DEPLOYER_STACK_DIR=$STACK_DIR
export DEPLOYER_STACK_REGISTRY=127.0.0.1:$REGISTRY_PORT
export DEPLOYER_STACK_REGISTRY_USER=$REGISTRY_USER
export DEPLOYER_STACK_REGISTRY_PASSWORD=$REGISTRY_PASSWORD
export DEPLOYER_STACK_BASE_IMAGE=$BASE_IMAGE
export DEPLOYER_STACK_PLATFORM_BASE=$PLATFORM_BASE
export DEPLOYER_STACK_MOTO=http://127.0.0.1:$MOTO_PORT
export DEPLOYER_STACK_EMULATOR=http://127.0.0.1:$EMULATOR_PORT
export DEPLOYER_STACK_LB=127.0.0.1:$LB_PORT
export DEPLOYER_STACK_LB_TEST=127.0.0.1:$LB_TEST_PORT
export DEPLOYER_STACK_MINUTE_MS=$MINUTE_MS
export DEPLOYER_EMULATOR_BIN=$EMULATOR_BIN
export AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export AWS_ACCOUNT_ID=$ACCOUNT_ID
ENV
}

kill_pidfile() {
  local file=$1
  [ -f "$file" ] || return 0
  local pid
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# Every container an emulator starts carries the label deployer-emulator (its task's ARN) and
# deployer-emulator.instance (the emulator's --instance, by default its listen address). An
# emulator removes its own when it stops; one killed, or stopped while starting a task, can leave
# some behind: this removes them, all or one instance's, on the stack's Docker engine.
remove_task_containers() {
  local filter=label=deployer-emulator host ids pass
  if [ -n "${1:-}" ]; then filter="label=deployer-emulator.instance=$1"; fi
  # Only the engine this stack uses: its own dockerd, or the one its env file names (empty: the
  # default socket); with neither, no stack is running and nothing here is ours.
  if [ -S "$STACK_DIR/docker.sock" ]; then
    host="unix://$STACK_DIR/docker.sock"
  elif [ -f "$STACK_DIR/env" ]; then
    host=$(sed -n 's/^export DOCKER_HOST=//p' "$STACK_DIR/env" | tail -n 1)
  else
    return 0
  fi
  # Twice: a creation the engine was finishing for a killed emulator can appear after the first look.
  for pass in 1 2; do
    [ "$pass" -eq 1 ] || sleep 0.5
    ids=$(DOCKER_HOST=$host docker ps -aq --filter "$filter" 2>/dev/null) || return 0
    [ -z "$ids" ] || echo "$ids" | xargs env DOCKER_HOST="$host" docker rm -f >/dev/null 2>&1 || true
  done
}

stop() {
  # The emulator removes the task containers it started when it stops; whatever it could not
  # (killed, or starting a task at that moment) goes once it has exited.
  kill_pidfile "$STACK_DIR/emulator.pid"
  remove_task_containers
  kill_pidfile "$STACK_DIR/moto.pid"
  kill_pidfile "$STACK_DIR/registry.pid"
  if [ -f "$STACK_DIR/dockerd.pid" ]; then
    # Containers the stack's daemon ran go with it.
    DOCKER_HOST="unix://$STACK_DIR/docker.sock" docker ps -aq 2>/dev/null |
      xargs -r env DOCKER_HOST="unix://$STACK_DIR/docker.sock" docker rm -f >/dev/null 2>&1 || true
    kill_pidfile "$STACK_DIR/dockerd.pid"
  fi
  rm -rf "$STACK_DIR/registry/data" "$STACK_DIR/env"
}

start() {
  install
  stop
  mkdir -p "$STACK_DIR"
  : >"$STACK_DIR/env"
  start_docker
  start_registry
  start_moto
  import_base_image
  import_platform_bases
  start_emulator
  write_env
  log "ready: source $STACK_DIR/env"
}

# Only moto, with the same env file: the inner loop's tests (./scripts/test.sh --quick) need no
# more, and a test among them that reaches for the engine, registry or emulator fails loudly.
start_moto_only() {
  install
  stop
  mkdir -p "$STACK_DIR"
  : >"$STACK_DIR/env"
  start_moto
  write_env
  log "ready (moto only): source $STACK_DIR/env"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  start-moto) start_moto_only ;;
  stop) stop ;;
  env) cat "$STACK_DIR/env" ;;
  remove-task-containers) remove_task_containers "${2:-}" ;;
  *) echo "usage: $0 install|start|start-moto|stop|env|remove-task-containers [INSTANCE]" >&2; exit 2 ;;
esac
