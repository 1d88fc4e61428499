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

say "the seed's cluster, task definition (tutorial-site-task) and service in the local ECS API (moto)"
python3 - "$image" <<'PY'
import sys, boto3
ecs = boto3.client("ecs")
ecs.create_cluster(clusterName="tutorial-site-cluster")
arn = ecs.register_task_definition(
    family="tutorial-site-task", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="1024", memory="2048",
    executionRoleArn="arn:aws:iam::123456789012:role/tutorial-site-EcsTaskExecutionRole",
    containerDefinitions=[{"name": "tutorial-site-app", "image": sys.argv[1].split("@")[0] + ":latest", "cpu": 1024, "memory": 2048,
        "portMappings": [{"containerPort": 3000, "hostPort": 3000}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/tutorial-site-app",
            "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs"}}}],
    tags=[{"key": "app", "value": "tutorial-site"}])["taskDefinition"]["taskDefinitionArn"]
ecs.create_service(cluster="tutorial-site-cluster", serviceName="tutorial-site-service", taskDefinition=arn,
    desiredCount=1, launchType="FARGATE")
print(f"registered {arn}")
PY

say "deployer update-service --dry-run: what would change"
$deployer update-service --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --container-image-name-updates "container=tutorial-site-app,image-and-tag=$image" --dry-run >/dev/null

say "deployer update-service: register revision 2 with the image pinned by digest, roll the service"
# moto answers the ECS API but never runs tasks, so the demo does not wait for the rollout here.
$deployer update-service --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --container-image-name-updates "container=tutorial-site-app,image-and-tag=$image" --no-wait

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
