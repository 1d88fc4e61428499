#!/usr/bin/env bash
# The main job, run locally: the story of ecs-basics.md on one machine. Starts the local stack
# (Docker engine, registry, deployer-emulator as ECS and ECR, its load balancer on
# 127.0.0.1:3000), creates the seed's cluster, task definition and service, then lets deployer
# build, push and roll out v1 and v2 of the tutorial site (a migration task run before v2), shows the page change, shows a
# broken release fail and leave v2 serving (with its container's last log lines), releases v3 as a
# canary behind a smoke test on the test listener (10% of requests, then all), and shows v4 fail
# its smoke test and roll back before any production request reaches it. Stops everything on
# exit, success or not.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEPLOYER_STACK_LB_PORT=${DEMO_PORT:-3000}

say() { printf '\n==> %s\n' "$*" >&2; }
page() { curl -s --max-time 5 "http://$DEPLOYER_STACK_LB/" | grep -o 'version [^<]*' || echo "(no answer)"; }

./scripts/stack.sh install
trap './scripts/stack.sh stop' EXIT
say "building deployer and the emulator"
cargo build --locked --quiet --bin deployer -p deployer -p deployer-emulator
./scripts/stack.sh start
set -a
# shellcheck disable=SC1091
source .stack/env
set +a
# deployer talks to the emulator exactly as to AWS: through the SDK's endpoint setting.
export AWS_ENDPOINT_URL=$DEPLOYER_STACK_EMULATOR
deployer=target/debug/deployer
site=examples/tutorial-site

say "deployer push: build the tutorial site v1 and push it to ECR (the emulator's ECR is the real registry)"
$deployer push --repo tutorial-site-registry --create-repo --tag v1 \
  --build-path "$site" --path "$site" --build-arg VERSION=1 >/dev/null

say "the seed's cluster, task definition and service (what Terraform creates in ecs-basics.md)"
python3 - "$DEPLOYER_STACK_REGISTRY/tutorial-site-registry:v1" <<'PY'
import sys, boto3
ecs = boto3.client("ecs")
ecs.create_cluster(clusterName="tutorial-site-cluster")
arn = ecs.register_task_definition(
    family="tutorial-site-task", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="1024", memory="2048",
    executionRoleArn="arn:aws:iam::123456789012:role/tutorial-site-EcsTaskExecutionRole",
    containerDefinitions=[{"name": "tutorial-site-app", "image": sys.argv[1], "cpu": 1024, "memory": 2048,
        "portMappings": [{"containerPort": 3000, "hostPort": 3000}],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/tutorial-site-app",
            "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs"}}}],
    tags=[{"key": "app", "value": "tutorial-site"}])["taskDefinition"]["taskDefinitionArn"]
# Behind the load balancer's blue target group, with the green one ready for blue/green, linear
# and canary deployments (advancedConfiguration), as the seed's Terraform would declare it.
elb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
ecs.create_service(cluster="tutorial-site-cluster", serviceName="tutorial-site-service", taskDefinition=arn,
    desiredCount=1, launchType="FARGATE",
    loadBalancers=[{"targetGroupArn": f"{elb}:targetgroup/tutorial-site-blue/1",
        "containerName": "tutorial-site-app", "containerPort": 3000,
        "advancedConfiguration": {"alternateTargetGroupArn": f"{elb}:targetgroup/tutorial-site-green/2",
            "productionListenerRule": f"{elb}:listener-rule/app/tutorial-site/1/2/3",
            "testListenerRule": f"{elb}:listener-rule/app/tutorial-site/1/4/5",
            "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"}}],
    deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100,
                             "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
print(f"created tutorial-site-service on {arn}")
ecs.register_task_definition(
    family="tutorial-site-migrate", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
    executionRoleArn="arn:aws:iam::123456789012:role/tutorial-site-EcsTaskExecutionRole",
    containerDefinitions=[{"name": "tutorial-site-migrate", "image": sys.argv[1], "essential": True,
        "command": ["sh", "-c", "echo 'applying migration 0002_add_visit_counter'; sleep 1; echo 'migrations up to date (2 applied)'"],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/tutorial-site-migrate",
            "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs"}}}])
print("registered tutorial-site-migrate, the one-off migration task")
PY

say "deployer wait: until the service Terraform just created runs v1 (the orb's verify_revision_is_deployed)"
$deployer wait --cluster tutorial-site-cluster --service tutorial-site-service --poll-interval 1s >/dev/null
echo "http://$DEPLOYER_STACK_LB/ says: $(page)"

say "deployer deploy --dry-run: the plan for v2 (repository, service and its controller, containers, the revision to register); nothing is built or changed"
$deployer deploy --repo tutorial-site-registry --tag v2 --build-path "$site" --path "$site" --build-arg VERSION=2 \
  --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --pin-digest --dry-run >/dev/null

say "a mistake the plan catches: a container the task definition lacks is exit 2, with nothing built, pushed or registered"
status=0
$deployer deploy --repo tutorial-site-registry --tag v2 --build-path "$site" --path "$site" \
  --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --container tutorial-site-ap >/dev/null || status=$?
echo "deployer exited $status (2: bad input, nothing changed)"
[ "$status" -eq 2 ] || { echo "expected the typo to be refused with exit 2" >&2; exit 1; }

say "deployer run-task: the migration v2 needs, before the rollout; its lines come back through CloudWatch Logs, its exit code is deployer's"
$deployer run-task --cluster tutorial-site-cluster --task-definition tutorial-site-migrate \
  --subnets subnet-0a1b2c3d --wait --poll-interval 1s >/dev/null

say "deployer deploy: build v2, push it, register revision 2 pinned by digest, roll the service, wait; --record keeps every AWS call for a bug report"
record=$(mktemp -d)/deploy-v2.jsonl
$deployer deploy --repo tutorial-site-registry --tag v2 --build-path "$site" --path "$site" --build-arg VERSION=2 \
  --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --pin-digest --poll-interval 1s --record "$record" 2> >(grep -v '^          |' >&2)
echo "http://$DEPLOYER_STACK_LB/ says: $(page)"
echo "$record: $(grep -c '"operation"' "$record") AWS calls recorded, $(grep -c "$DEPLOYER_STACK_REGISTRY_PASSWORD" "$record" || true) holding the ECR password (tokens are redacted)"

say "a broken release: its container exits at start; the circuit breaker rolls back and deployer fails loudly, with the container's own last lines (from CloudWatch Logs)"
broken=$(mktemp -d)
printf 'FROM %s\nCMD ["sh", "-c", "echo starting tutorial-site; echo \\"Error: Cannot find module /app/server.js\\"; exit 3"]\n' \
  "$DEPLOYER_STACK_BASE_IMAGE" >"$broken/Dockerfile"
status=0
{ $deployer deploy --repo tutorial-site-registry --tag broken --build-path "$broken" --path "$broken" \
  --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --poll-interval 1s 2>&1 >/dev/null || echo $? >"$broken/status"; } | grep -v '^          |' | tee "$broken/stderr" >&2
[ ! -f "$broken/status" ] || status=$(cat "$broken/status")
echo "deployer exited $status (1: the deployment failed)"
[ "$status" -eq 1 ] || { echo "expected the broken release to fail with exit 1" >&2; exit 1; }
grep -q '| Error: Cannot find module /app/server.js' "$broken/stderr" ||
  { echo "expected the broken release's failure to show its container's last lines" >&2; exit 1; }
rm -rf "$broken"
echo "http://$DEPLOYER_STACK_LB/ still says: $(page)"

say "a canary release of v3 behind a smoke test: the deployment pauses once test traffic reaches v3, deployer runs the test against the test listener, then 10% of production traffic goes to v3 while it bakes (a minute lasts a second on this emulator)"
# shellcheck disable=SC2016 # $DEPLOYER_TEST_URL is for the smoke test's own shell to expand
$deployer deploy --repo tutorial-site-registry --tag v3 --build-path "$site" --path "$site" --build-arg VERSION=3 \
  --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --strategy canary --canary-percent 10 --canary-bake-time 30m --bake-time 1m --poll-interval 1s \
  --smoke-test 'curl -fsS "$DEPLOYER_TEST_URL" | grep -o "version 3"' \
  2> >(grep -v '^          |' >&2) >/dev/null &
deploying=$!
for _ in $(seq 1 240); do [ "$(page)" = "version 3" ] && break; sleep 0.5; done
answers=$(for _ in $(seq 1 50); do page; done)
echo "of 50 requests while the canary bakes: $(grep -c 'version 3' <<<"$answers") answered v3, $(grep -c 'version 2' <<<"$answers") answered v2"
say "deployer wait: follows the canary's service deployment to the end (stages, traffic weights, bake time), beside the deploy that started it"
$deployer wait --cluster tutorial-site-cluster --service tutorial-site-service --poll-interval 1s >/dev/null
wait "$deploying"
answers=$(for _ in $(seq 1 20); do page; done)
echo "of 20 requests now: $(grep -c 'version 3' <<<"$answers") answered v3"

say "v4 fails its smoke test: its page lost the version (a template error); the test listener shows it, deployer rolls the deployment back at the pause, and no production request reaches v4"
v4=$(mktemp -d)
cp -r "$site/." "$v4/"
printf '\nRUN echo "<p>Error: template site/index.html not found</p>" > /www/index.html\n' >>"$v4/Dockerfile"
touch "$v4/sampling"
# Production requests all along the v4 release, from another process.
(while [ -f "$v4/sampling" ]; do curl -s --max-time 2 "http://$DEPLOYER_STACK_LB/" | grep -o 'version [0-9]*\|Error: template' || echo "(no answer)"; sleep 0.1; done >"$v4/answers") &
sampler=$!
status=0
# shellcheck disable=SC2016 # as above
$deployer deploy --repo tutorial-site-registry --tag v4 --build-path "$v4" --path "$v4" --build-arg VERSION=4 \
  --cluster tutorial-site-cluster --family tutorial-site-task --service tutorial-site-service \
  --strategy blue-green --bake-time 1m --poll-interval 1s \
  --smoke-test 'page=$(curl -fsS "$DEPLOYER_TEST_URL"); echo "$page" | grep -o "version [0-9]*\|Error: [^<]*"; echo "$page" | grep -q "version 4"' \
  2> >(grep -v '^          |' >&2) >/dev/null || status=$?
rm -f "$v4/sampling"
wait "$sampler"
echo "deployer exited $status (1: the smoke test failed and the deployment was rolled back)"
[ "$status" -eq 1 ] || { echo "expected v4's failed smoke test to end in exit 1" >&2; exit 1; }
total=$(wc -l <"$v4/answers")
reached=$(grep -c 'Error: template\|version 4' "$v4/answers" || true)
echo "of $total production requests during the v4 release: $reached answered v4, $(grep -c 'version 3' "$v4/answers" || true) answered v3"
[ "$reached" -eq 0 ] || { echo "expected no production request to reach v4" >&2; exit 1; }
rm -rf "$v4"

say "done: v1 and v2 deployed and served, the migration run before v2, a typo refused before anything changed, the broken release rolled back with its container's last lines, v3 released as a canary behind a smoke test, v4 stopped by its smoke test before production; stopping the stack"
