#!/usr/bin/env bash
# The main job, run locally: build the tutorial site and push it to the local "ECR"
# (docker-registry behind moto's ECR API) with deployer, then run the pushed image and fetch
# its page. Starts the local stack and stops it again, whatever happens.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT=${DEMO_PORT:-3000}

say() { printf '\n==> %s\n' "$*" >&2; }

./scripts/stack.sh install
container=""
cleanup() {
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1
  ./scripts/stack.sh stop
}
trap cleanup EXIT
./scripts/stack.sh start
set -a
# shellcheck disable=SC1091
source .stack/env
set +a

say "building deployer"
cargo build --locked --quiet --bin deployer
deployer=target/debug/deployer

say "deployer push: build the tutorial site (version 1) and push it as latest and v1"
image=$($deployer push \
  --repo tutorial-site-registry --tag latest,v1 --create-repo \
  --registry "$DEPLOYER_STACK_REGISTRY" \
  --build-path examples/tutorial-site --path examples/tutorial-site \
  --build-arg VERSION=1 | head -n 1)
echo "pushed: $image"

say "the registry holds $image; running it on 127.0.0.1:$PORT"
docker image rm "$DEPLOYER_STACK_REGISTRY/tutorial-site-registry:latest" "$DEPLOYER_STACK_REGISTRY/tutorial-site-registry:v1" >/dev/null 2>&1 || true
docker_config=$(mktemp -d)
$deployer ecr-login --registry "$DEPLOYER_STACK_REGISTRY" --docker-config "$docker_config/config.json" >/dev/null
docker --config "$docker_config" pull --quiet "$image" >/dev/null
rm -rf "$docker_config"
container=$(docker run -d --network host "$image" httpd -f -p "127.0.0.1:$PORT" -h /www)
for _ in $(seq 1 50); do
  page=$(curl -sf "http://127.0.0.1:$PORT/" || true)
  [ -n "$page" ] && break
  sleep 0.1
done
echo "$page" | grep -o 'version [0-9]*' || { echo "the page did not answer" >&2; exit 1; }
say "done: the tutorial site was built, pushed by digest and served from the pushed image"
