#!/usr/bin/env bash
# Benchmarks for `deployer push` (issue: the foundation): peak memory while streaming a 2 GiB
# build context, context streaming against the Docker CLI's classic builder on the same context
# and daemon, startup time of `deployer --version`, and the release binary's size.
# Writes a Markdown section to stdout; BENCHMARKS.md holds the figures of the last run.
# Usage: benches/push.sh   (as root; starts and stops the local stack)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SIZE=${BENCH_CONTEXT_SIZE:-2G}
RUNS=${BENCH_RUNS:-3}

./scripts/stack.sh install >&2
apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
work=$(mktemp -d /var/tmp/deployer-bench.XXXXXX)
cleanup() { rm -rf "$work"; ./scripts/stack.sh stop >&2; }
trap cleanup EXIT
./scripts/stack.sh start >&2
set -a
# shellcheck disable=SC1091
source .stack/env
set +a

cargo build --locked --release --quiet --bin deployer
deployer=target/release/deployer

# The context: one large file the Dockerfile never copies, so the run measures the context
# upload and a trivial build, not layer creation.
mkdir -p "$work/context"
fallocate -l "$SIZE" "$work/context/blob.bin"
printf 'FROM %s\nRUN true\n' "$DEPLOYER_STACK_BASE_IMAGE" >"$work/context/Dockerfile"
bytes=$(stat -c %s "$work/context/blob.bin")

deployer_runs=()
docker_runs=()
peaks=()
for run in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/peak" "$deployer" push --repo bench --create-repo --tag "run$run" \
    --registry "$DEPLOYER_STACK_REGISTRY" --build-path "$work/context" --path "$work/context" --no-cache \
    >/dev/null 2>"$work/deployer.log"
  end=$(date +%s.%N)
  deployer_runs+=("$(printf '%.2f' "$(echo "$end - $start" | bc)")")
  peaks+=("$(cat "$work/peak")")

  start=$(date +%s.%N)
  DOCKER_BUILDKIT=0 docker build --no-cache -q -t "bench-docker:run$run" "$work/context" >/dev/null 2>&1
  end=$(date +%s.%N)
  docker_runs+=("$(printf '%.2f' "$(echo "$end - $start" | bc)")")
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
deployer_median=$(median "${deployer_runs[@]}")
docker_median=$(median "${docker_runs[@]}")
peak_max=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -n 1)
throughput() { echo "scale=0; $bytes / $1 / 1048576" | bc; }

version_mean=$(hyperfine --warmup 10 --runs 200 -N --export-json "$work/version.json" "$deployer --version" >/dev/null 2>&1 &&
  python3 -c "import json;print(round(json.load(open('$work/version.json'))['results'][0]['mean']*1000,2))")
binary_size=$(stat -c %s "$deployer")

cat <<REPORT
## deployer push ($(date -u +%Y-%m-%d), $(nproc) cores, Docker Engine $(docker version --format '{{.Server.Version}}' 2>/dev/null), context $SIZE, $RUNS runs)

| measure | deployer push | docker build (classic builder, same daemon) | target |
|---|---|---|---|
| wall time, context upload + build (median) | ${deployer_median} s ($(throughput "$deployer_median") MiB/s; also logs in, pushes a 1-layer image) | ${docker_median} s ($(throughput "$docker_median") MiB/s) | deployer ≤ docker |
| peak RSS (max of runs) | $((peak_max / 1024)) MiB | | < 64 MiB |

| measure | value | target |
|---|---|---|
| \`deployer --version\` mean (hyperfine, 200 runs) | ${version_mean} ms | < 10 ms |
| release binary size (stripped, thin LTO) | $((binary_size / 1048576)) MiB ($binary_size bytes) | |

The first run reads the context from disk; later runs from the page cache, for both tools alike.
Runs: deployer ${deployer_runs[*]} s; docker ${docker_runs[*]} s; peak RSS ${peaks[*]} KiB.
REPORT
