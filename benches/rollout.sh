#!/usr/bin/env bash
# Benchmarks for update-service (issue: exact revisions, waits that tell the truth):
#  1. how soon a completed rollout is reported after ECS reports it: deployer with
#     --poll-interval 1s against `aws ecs wait services-stable`, on a scripted ECS endpoint
#     (tests/scripted_ecs.py) that flips the deployment to COMPLETED at a recorded moment;
#  2. `update-service --no-wait` end to end against moto, side by side with the aws-ecs orb's
#     path: describe-task-definition, a Python rendering step, register-task-definition and
#     update-service through the AWS CLI.
# Writes a Markdown section to stdout. Usage: benches/rollout.sh (starts and stops the stack).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${BENCH_RUNS:-10}
PORT=15010

command -v aws >/dev/null || python3 -m pip install -q awscli
command -v hyperfine >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
./scripts/stack.sh install >&2
work=$(mktemp -d)
fake=""
cleanup() { [ -n "$fake" ] && kill "$fake" 2>/dev/null; rm -rf "$work"; ./scripts/stack.sh stop >&2; }
trap cleanup EXIT
./scripts/stack.sh start >&2
set -a
# shellcheck disable=SC1091
source .stack/env
set +a
cargo build --locked --release --quiet --bin deployer
deployer=$PWD/target/release/deployer

python3 tests/scripted_ecs.py --port "$PORT" --rollout-seconds 3.3 --flip-file "$work/flip" &
fake=$!
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" -X POST && break; sleep 0.1; done

lag() { python3 -c "import sys; print(f'{float(sys.argv[1]) - float(open(sys.argv[2]).read()):.2f}')" "$1" "$work/flip"; }
deployer_lags=()
waiter_lags=()
for _ in $(seq 1 "$RUNS"); do
  rm -f "$work/flip"
  AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" "$deployer" update-service --cluster tutorial-site-cluster \
    --family tutorial-site-task --service tutorial-site-service --skip-task-definition-registration \
    --poll-interval 1s --quiet >/dev/null
  deployer_lags+=("$(lag "$(date +%s.%N)")")

  rm -f "$work/flip"
  AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" aws ecs update-service --cluster tutorial-site-cluster \
    --service tutorial-site-service --task-definition tutorial-site-task:2 >/dev/null
  AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" aws ecs wait services-stable --cluster tutorial-site-cluster \
    --services tutorial-site-service
  waiter_lags+=("$(lag "$(date +%s.%N)")")
done

# 2. --no-wait end to end against moto.
aws ecs create-cluster --cluster-name bench-cluster >/dev/null
aws ecs register-task-definition --family bench-task --requires-compatibilities FARGATE --network-mode awsvpc \
  --cpu 1024 --memory 2048 --container-definitions \
  '[{"name":"tutorial-site-app","image":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:latest","memory":2048,"portMappings":[{"containerPort":3000}]}]' >/dev/null
aws ecs create-service --cluster bench-cluster --service-name bench-service --task-definition bench-task --desired-count 1 >/dev/null
# The image deployed is in ECR, as after a push: deployer's plan checks that it exists (ecr:DescribeImages).
aws ecr create-repository --repository-name tutorial-site-registry >/dev/null
aws ecr put-image --repository-name tutorial-site-registry --image-tag v2 --image-manifest \
  '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}' >/dev/null

cat >"$work/orb-path.sh" <<'ORB'
#!/usr/bin/env bash
# The aws-ecs orb's update path, step by step: describe, render in Python, register, update.
set -euo pipefail
described=$(aws ecs describe-task-definition --task-definition bench-task --include TAGS)
rendered=$(printf '%s' "$described" | python3 -c '
import json, sys
definition = json.load(sys.stdin)["taskDefinition"]
keep = ["family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
        "placementConstraints", "requiresCompatibilities", "cpu", "memory"]
out = {key: definition[key] for key in keep if key in definition}
for container in out["containerDefinitions"]:
    if container["name"] == "tutorial-site-app":
        container["image"] = container["image"].rsplit(":", 1)[0] + ":v2"
print(json.dumps(out))')
arn=$(aws ecs register-task-definition --cli-input-json "$rendered" --query taskDefinition.taskDefinitionArn --output text)
aws ecs update-service --cluster bench-cluster --service bench-service --task-definition "$arn" >/dev/null
ORB
chmod +x "$work/orb-path.sh"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/no-wait.json" \
  -n deployer "$deployer update-service --cluster bench-cluster --family bench-task --service bench-service --container-image-name-updates container=tutorial-site-app,tag=v2 --no-wait --quiet" \
  -n orb "$work/orb-path.sh" >/dev/null 2>&1
read -r deployer_mean orb_mean < <(python3 -c "
import json; r = {x['command']: x['mean'] for x in json.load(open('$work/no-wait.json'))['results']}
print(f\"{r['deployer']:.3f} {r['orb']:.3f}\")")
speedup=$(python3 -c "print(f'{$orb_mean / $deployer_mean:.1f}')")
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { printf '%s\n' "$@" | sort -n | tail -n 1; }

cat <<REPORT
## update-service ($(date -u +%Y-%m-%d), $(nproc) cores, $RUNS runs each)

\`benches/rollout.sh\`. Detection lag: seconds from the moment the scripted ECS endpoint starts
answering COMPLETED (3.3 to 4.3 s after UpdateService, at random) to the moment the waiting process exits.

| measure | deployer | AWS CLI / aws-ecs orb | target |
|---|---|---|---|
| detection lag, \`--poll-interval 1s\` vs \`aws ecs wait services-stable\` (median / max) | $(median "${deployer_lags[@]}") s / $(max "${deployer_lags[@]}") s | $(median "${waiter_lags[@]}") s / $(max "${waiter_lags[@]}") s | < 1 s after ECS reports it |
| \`update-service --no-wait\` against moto, mean (hyperfine) | ${deployer_mean} s | ${orb_mean} s (describe, Python render, register, update via the AWS CLI) | ≥ 5× faster: ${speedup}× |

Lags, deployer: ${deployer_lags[*]}; waiter: ${waiter_lags[*]}.
REPORT
