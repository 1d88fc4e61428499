#!/usr/bin/env bash
# What the plan's checks (deployer verify, issue 23 §1) add to a deploy: `update-service
# --dry-run` of the tutorial's service against moto with and without `--no-verify`, and
# `deployer verify` alone. The revision needs an ECR image, two SSM parameters, a Secrets
# Manager secret by ARN with a JSON key, an awslogs group and two roles, and a Fargate size:
# eight checks, asked at once. moto answers in about a millisecond, so the time is deployer's
# plus the calls' round trips on loopback. Writes a Markdown section to stdout; progress goes to stderr.
# Usage: benches/verify.sh [DEPLOYER]   (DEPLOYER defaults to target/release/deployer).
#   With the stack's environment already loaded (source .stack/env) that stack is used; otherwise
#   the script starts and stops it (as root). BENCH_RUNS (20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source-path=SCRIPTDIR source=common.sh
source benches/common.sh
bench_deployer benches/verify.sh "${1:-}"
RUNS=${BENCH_RUNS:-20}
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
command -v aws >/dev/null || python3 -m pip install -q awscli
bench_stack benches/verify.sh DEPLOYER_STACK_MOTO
export AWS_ENDPOINT_URL=$DEPLOYER_STACK_MOTO AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
aws() { command aws --endpoint-url "$DEPLOYER_STACK_MOTO" --region eu-west-1 "$@"; }

id=bench-verify-$$
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
aws iam create-role --role-name "$id-execution" --assume-role-policy-document "$trust" >/dev/null
aws iam create-role --role-name "$id-task" --assume-role-policy-document "$trust" >/dev/null
aws ssm put-parameter --name "/$id/db_user" --value site --type String >/dev/null
aws ssm put-parameter --name "/$id/db_password" --value bench --type SecureString >/dev/null
secret=$(aws secretsmanager create-secret --name "$id/api" --secret-string '{"key":"bench"}' --query ARN --output text)
aws logs create-log-group --log-group-name "/ecs/$id" >/dev/null
aws ecr create-repository --repository-name "$id" >/dev/null
manifest='{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}'
aws ecr put-image --repository-name "$id" --image-tag v1 --image-manifest "$manifest" >/dev/null
image=123456789012.dkr.ecr.eu-west-1.amazonaws.com/$id:v1
cat >"$work/td.json" <<EOF
{"family": "$id", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
 "executionRoleArn": "arn:aws:iam::123456789012:role/$id-execution", "taskRoleArn": "arn:aws:iam::123456789012:role/$id-task",
 "containerDefinitions": [{"name": "tutorial-site-app", "image": "$image", "essential": true,
   "portMappings": [{"containerPort": 3000}],
   "secrets": [{"name": "DB_USER", "valueFrom": "/$id/db_user"}, {"name": "DB_PASSWORD", "valueFrom": "/$id/db_password"},
               {"name": "API_KEY", "valueFrom": "$secret:key::"}],
   "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/$id", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "ecs"}}}]}
EOF
arn=$(aws ecs register-task-definition --cli-input-json "file://$work/td.json" --query taskDefinition.taskDefinitionArn --output text)
aws ecs create-cluster --cluster-name "$id" >/dev/null
aws ecs create-service --cluster "$id" --service-name "$id" --task-definition "$arn" --desired-count 1 --launch-type FARGATE >/dev/null
"$deployer" verify --family "$id" >&2

plan="$deployer update-service --cluster $id --service $id --family $id --container-env-var-updates container=tutorial-site-app,name=RELEASE,value=bench --dry-run"
hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$work/verify.json" \
  -n no-verify "$plan --no-verify" -n verify "$plan" -n alone "$deployer verify --family $id" >&2

python3 - "$work/verify.json" "$RUNS" <<'PY'
import json, sys
doc, runs = json.load(open(sys.argv[1])), sys.argv[2]
t = {r["command"]: (r["mean"], r["median"]) for r in doc["results"]}
print(f"`benches/verify.sh`, moto, {runs} runs each (hyperfine). The tutorial's service with eight")
print("checks to make (an ECR image, two SSM parameters, a Secrets Manager key, an awslogs group,")
print("two roles, the Fargate size), asked at once.\n")
print("| run | mean | median |")
print("|---|---|---|")
names = {"no-verify": "`update-service --dry-run --no-verify`", "verify": "`update-service --dry-run` (checks on)", "alone": "`deployer verify --family`"}
for key in ("no-verify", "verify", "alone"):
    mean, median = t[key]
    print(f"| {names[key]} | {mean*1000:.0f} ms | {median*1000:.0f} ms |")
added = (t["verify"][1] - t["no-verify"][1]) * 1000
print(f"\nThe checks add {added:.0f} ms (medians) to the plan.")
PY
