#!/usr/bin/env bash
# What the smoke-test gate adds in deployer's own time (issue 22 §1): on the emulator (moto has no
# ServiceDeployment API, so no pause to gate), a blue/green service with a test listener rule is
# updated RUNS times with `--smoke-test true` and `--record`. From each recording: the time from
# the answer that showed the deployment paused at the gate's hook to the answer of
# ContinueServiceDeployment, and the calls made in between (the test listener read through
# ELBv2, the new revision's image, the continue). `true` itself takes a few milliseconds; the
# rest is deployer's work and the emulator's answers on loopback.
# Writes a Markdown section to stdout; progress goes to stderr.
# Usage: benches/smoke_gate.sh [DEPLOYER]   (DEPLOYER defaults to target/release/deployer).
#   With the stack's environment already loaded (source .stack/env) that stack is used; otherwise
#   the script starts and stops it (as root). BENCH_RUNS (5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
source benches/common.sh
bench_deployer benches/smoke_gate.sh "${1:-}"
RUNS=${BENCH_RUNS:-5}
bench_stack benches/smoke_gate.sh DEPLOYER_STACK_EMULATOR
export AWS_ENDPOINT_URL=$DEPLOYER_STACK_EMULATOR
site=examples/tutorial-site
name=bench-gate-$$

"$deployer" push --repo "$name" --create-repo --tag v1 --build-path "$site" --path "$site" \
  --build-arg VERSION=1 >/dev/null 2>"$work/push.log" || { cat "$work/push.log" >&2; exit 1; }
python3 - "$DEPLOYER_STACK_REGISTRY/$name:v1" "$name" <<'PY' >&2
import sys, boto3
image, name = sys.argv[1], sys.argv[2]
ecs = boto3.client("ecs")
ecs.create_cluster(clusterName=name)
arn = ecs.register_task_definition(
    family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
    containerDefinitions=[{"name": "tutorial-site-app", "image": image,
        "portMappings": [{"containerPort": 3000, "hostPort": 3000}]}])["taskDefinition"]["taskDefinitionArn"]
elb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
ecs.create_service(cluster=name, serviceName=name, taskDefinition=arn, desiredCount=1, launchType="FARGATE",
    loadBalancers=[{"targetGroupArn": f"{elb}:targetgroup/{name}-blue/1",
        "containerName": "tutorial-site-app", "containerPort": 3000,
        "advancedConfiguration": {"alternateTargetGroupArn": f"{elb}:targetgroup/{name}-green/2",
            "productionListenerRule": f"{elb}:listener-rule/app/{name}/1/2/3",
            "testListenerRule": f"{elb}:listener-rule/app/{name}/1/4/5",
            "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"}}],
    deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0,
                             "maximumPercent": 200, "minimumHealthyPercent": 100})
print(f"created {name} (blue/green) on {arn}")
PY
"$deployer" wait --cluster "$name" --service "$name" --poll-interval 500ms >/dev/null 2>&1

for run in $(seq 1 "$RUNS"); do
  echo "run $run of $RUNS" >&2
  "$deployer" update-service --cluster "$name" --service "$name" --family "$name" \
    --container-env-var-updates "container=tutorial-site-app,name=RUN,value=run-$run" \
    --smoke-test true --poll-interval 500ms --record "$work/run-$run.jsonl" >/dev/null 2>"$work/run-$run.log" ||
    { cat "$work/run-$run.log" >&2; exit 1; }
done

python3 - "$work" "$RUNS" <<'PY'
import json, sys, statistics
from datetime import datetime
work, runs = sys.argv[1], int(sys.argv[2])
def at(record):
    return datetime.strptime(record["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
gates, calls = [], []
for run in range(1, runs + 1):
    records = [json.loads(line) for line in open(f"{work}/run-{run}.jsonl")]
    calls_made = [r for r in records if "operation" in r]
    first_elb = next(i for i, r in enumerate(calls_made) if r["operation"] == "DescribeRules")
    cont = next(i for i, r in enumerate(calls_made) if r["operation"] == "ContinueServiceDeployment")
    gates.append((at(calls_made[cont]) - at(calls_made[first_elb - 1])) * 1000)
    calls.append([r["operation"] for r in calls_made[first_elb:cont + 1]])
print(f"`benches/smoke_gate.sh`, the emulator, {runs} runs of `update-service --smoke-test true` on a blue/green")
print("service with a test listener rule. From the answer that showed the deployment paused at the")
print("gate's hook to the answer of ContinueServiceDeployment:\n")
print("| measure | value |")
print("|---|---|")
print(f"| the gate's time, median (min / max) | {statistics.median(gates):.0f} ms ({min(gates):.0f} / {max(gates):.0f} ms) |")
print(f"| calls it adds | {len(calls[0])}: {', '.join(calls[0])} |")
print(f"\nRuns: {' '.join(f'{g:.0f}' for g in gates)} ms.")
PY
