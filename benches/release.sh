#!/usr/bin/env bash
# What releasing several services costs in deployer's own time (issue 22 §2): `update-service
# --no-wait` of 1, 3 and 5 services against moto, and the same with --dry-run (the plan's calls
# alone: DescribeServices twice, DescribeTaskDefinition, ecr:DescribeImages per service). moto
# answers in about a millisecond, so the time is deployer's plus the calls' round trips on
# loopback. Target: under 100 ms of added time per service, as a ratio against one service.
# Writes a Markdown section to stdout; progress goes to stderr.
# Usage: benches/release.sh [DEPLOYER]   (DEPLOYER defaults to target/release/deployer).
#   With the stack's environment already loaded (source .stack/env) that stack is used; otherwise
#   the script starts and stops it (as root). BENCH_RUNS (20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
source benches/common.sh
bench_deployer benches/release.sh "${1:-}"
RUNS=${BENCH_RUNS:-20}
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
command -v aws >/dev/null || python3 -m pip install -q awscli
bench_stack benches/release.sh DEPLOYER_STACK_MOTO
export AWS_ENDPOINT_URL=$DEPLOYER_STACK_MOTO AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
aws() { command aws --endpoint-url "$DEPLOYER_STACK_MOTO" --region eu-west-1 "$@"; }

# Five services of their own families in one cluster, as the tutorial's service is set up.
cluster=bench-release-$$
aws ecs create-cluster --cluster-name "$cluster" >/dev/null
services=()
for n in 1 2 3 4 5; do
  family=tutorial-site-task-bench-$$-$n
  service=tutorial-site-service-bench-$$-$n
  cat >"$work/td.json" <<EOF
{"family": "$family", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "tutorial-site-app", "image": "public.ecr.aws/docker/library/node:20", "essential": true,
   "portMappings": [{"containerPort": 3000}], "environment": [{"name": "NODE_ENV", "value": "production"}]}]}
EOF
  arn=$(aws ecs register-task-definition --cli-input-json "file://$work/td.json" --query taskDefinition.taskDefinitionArn --output text)
  aws ecs create-service --cluster "$cluster" --service-name "$service" --task-definition "$arn" \
    --desired-count 1 --launch-type FARGATE >/dev/null
  services+=("$service")
done

# One service needs its family named (as the orb always does); several find each one's.
flags() {
  local count=$1 out=""
  [ "$count" -gt 1 ] || out=" --family tutorial-site-task-bench-$$-1"
  for service in "${services[@]:0:$count}"; do out+=" --service $service"; done
  echo "$out"
}
run_of() {
  echo "$deployer update-service --cluster $cluster$(flags "$1") --container-env-var-updates container=tutorial-site-app,name=RELEASE,value=bench --force-new-deployment $2"
}
hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$work/apply.json" \
  -n 1 "$(run_of 1 --no-wait)" -n 3 "$(run_of 3 --no-wait)" -n 5 "$(run_of 5 --no-wait)" >&2
hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$work/plan.json" \
  -n 1 "$(run_of 1 --dry-run)" -n 3 "$(run_of 3 --dry-run)" -n 5 "$(run_of 5 --dry-run)" >&2

python3 - "$work/apply.json" "$work/plan.json" "$RUNS" <<'PY'
import json, sys
apply, plan, runs = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
def means(doc):
    return {r["command"]: r["mean"] for r in doc["results"]}
a, p = means(apply), means(plan)
print(f"`benches/release.sh`, moto, {runs} runs each (hyperfine means). Each run registers a revision")
print("per service and updates it (`--no-wait`), or only plans (`--dry-run`).\n")
print("| services | `--no-wait` | ratio to 1 | added per service | `--dry-run` | ratio to 1 | added per service |")
print("|---|---|---|---|---|---|---|")
for n in ("1", "3", "5"):
    k = int(n)
    added = lambda d: "-" if k == 1 else f"{(d[n] - d['1']) / (k - 1) * 1000:.0f} ms"
    print(f"| {n} | {a[n]*1000:.0f} ms | {a[n]/a['1']:.2f} | {added(a)} | {p[n]*1000:.0f} ms | {p[n]/p['1']:.2f} | {added(p)} |")
PY
