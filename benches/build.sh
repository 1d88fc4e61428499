#!/usr/bin/env bash
# Benchmarks for `deployer push` on the daemon's BuildKit (issue 11):
#  (a) a rebuild after a one-line source change of a multi-stage Dockerfile whose build step keeps
#      its work in a `RUN --mount=type=cache` directory, against `--builder classic` on the same
#      daemon. The classic builder has no cache mounts: it builds the same Dockerfile with the
#      mount left out (the work then lives in the layer, which a source change invalidates);
#  (b) a build on an empty local cache (`docker builder prune -af`, image removed) with
#      `--cache-from` the image pushed before (inline cache metadata), against the same build
#      without it;
#  (c) peak RSS while sending a 2 GiB context on the BuildKit path (as benches/push.sh measures
#      the classic path).
# Writes a Markdown section to stdout, in BENCHMARKS.md's style; progress goes to stderr.
# Usage: benches/build.sh [DEPLOYER]   (DEPLOYER defaults to target/release/deployer; build it
#   first with cargo build --release). With the stack's environment already loaded
#   (source .stack/env) that stack is used; otherwise the script starts and stops it (as root).
# Sizes: BENCH_RUNS (5), BENCH_CONTEXT_SIZE (2G), BENCH_DEP_MB (MiB hashed per dependency, 256),
#   BENCH_DEPS (dependencies the build step produces, 4), BENCH_LAYER_MB (the cached image's
#   data layer, 64).
# Bases come from the stack's local images only: nothing is pulled.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deployer=$(realpath -m "${1:-target/release/deployer}")
RUNS=${BENCH_RUNS:-5}
SIZE=${BENCH_CONTEXT_SIZE:-2G}
DEP_MB=${BENCH_DEP_MB:-256}
DEPS=${BENCH_DEPS:-4}
LAYER_MB=${BENCH_LAYER_MB:-64}

if [ ! -x "$deployer" ]; then
  echo "benches/build.sh: $deployer is not an executable: build it (cargo build --release) or pass its path" >&2
  exit 2
fi
own_stack=
if [ -z "${DEPLOYER_STACK_REGISTRY:-}" ]; then
  ./scripts/stack.sh install >&2
  own_stack=1
fi
work=$(mktemp -d /var/tmp/deployer-bench-build.XXXXXX)
images=()
cleanup() {
  for image in "${images[@]}"; do docker image rm -f "$image" >/dev/null 2>&1 || true; done
  rm -rf "$work"
  if [ -n "$own_stack" ]; then ./scripts/stack.sh stop >&2; fi
}
trap cleanup EXIT
if [ -n "$own_stack" ]; then
  ./scripts/stack.sh start >&2
  set -a
  # shellcheck disable=SC1091
  source .stack/env
  set +a
fi
registry=$DEPLOYER_STACK_REGISTRY
base=$DEPLOYER_STACK_BASE_IMAGE
suffix=$$

push() { "$deployer" push --registry "$registry" --create-repo "$@"; }
seconds() { # COMMAND...: runs it, prints its wall time in seconds; its output goes to $work/log
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }
  end=$(date +%s.%N)
  printf '%.2f\n' "$(echo "$end - $start" | bc)"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { echo "scale=1; $1 / $2" | bc; }

# (a) The rebuild. The build step "compiles" DEPS dependencies (hashing DEP_MB MiB each) into
# /cache unless they are there, then links them with the source into /out.
echo "bench: (a) rebuild after a one-line change, BuildKit cache mount vs classic" >&2
mkdir -p "$work/rebuild/src"
cat >"$work/rebuild/src/build.sh" <<SCRIPT
set -e
mkdir -p /cache /out
for dependency in \$(seq 1 $DEPS); do
  if [ ! -f /cache/dependency-\$dependency ]; then
    head -c ${DEP_MB}m /dev/zero | sha256sum > /cache/dependency-\$dependency
  fi
done
cat /cache/dependency-* /src/main.txt > /out/app
SCRIPT
echo "line 1" >"$work/rebuild/src/main.txt"
printf 'FROM %s AS build\nCOPY src /src\nRUN --mount=type=cache,target=/cache sh /src/build.sh\nFROM %s\nCOPY --from=build /out /app\n' \
  "$base" "$base" >"$work/rebuild/buildkit.Dockerfile"
printf 'FROM %s AS build\nCOPY src /src\nRUN sh /src/build.sh\nFROM %s\nCOPY --from=build /out /app\n' \
  "$base" "$base" >"$work/rebuild/classic.Dockerfile"
rebuild() { # BUILDER RUN
  push --repo "bench-rebuild-$suffix" --tag "$1-$2" --no-push --builder "$1" \
    --build-path "$work/rebuild" --path "$work/rebuild" --dockerfile "$1.Dockerfile"
}
buildkit_runs=()
classic_runs=()
for builder in buildkit classic; do
  # The first build fills the cache (mount and layers); it is not counted.
  seconds rebuild "$builder" 0 >/dev/null
  images+=("$registry/bench-rebuild-$suffix:$builder-0")
done
for run in $(seq 1 "$RUNS"); do
  echo "line $run changed" >>"$work/rebuild/src/main.txt"
  buildkit_runs+=("$(seconds rebuild buildkit "$run")")
  classic_runs+=("$(seconds rebuild classic "$run")")
  images+=("$registry/bench-rebuild-$suffix:buildkit-$run" "$registry/bench-rebuild-$suffix:classic-$run")
done
buildkit_median=$(median "${buildkit_runs[@]}")
classic_median=$(median "${classic_runs[@]}")

# (b) The empty cache. Steps that take time, and a data layer the cache hit pulls instead.
echo "bench: (b) empty local cache, --cache-from the pushed image vs without" >&2
mkdir -p "$work/cache"
printf 'FROM %s\nRUN head -c %sm /dev/zero | sha256sum > /compiled\nRUN head -c %sm /dev/urandom > /data\nRUN head -c %sm /dev/zero | sha256sum > /linked\n' \
  "$base" $((DEP_MB * DEPS / 2)) "$LAYER_MB" $((DEP_MB * DEPS / 2)) >"$work/cache/Dockerfile"
cache_repo="bench-cache-$suffix"
cache_image="$registry/$cache_repo"
cached() { # TAG [FLAGS...]
  local tag=$1
  shift
  push --repo "$cache_repo" --tag "$tag" --build-path "$work/cache" --path "$work/cache" "$@"
}
empty_cache() {
  docker image rm -f "$cache_image:main" "$cache_image:$1" >/dev/null 2>&1 || true
  docker builder prune -af >/dev/null
}
seconds cached main --cache-from "$cache_image:main" >/dev/null
images+=("$cache_image:main")
without_runs=()
with_runs=()
for run in $(seq 1 "$RUNS"); do
  empty_cache "without-$run"
  without_runs+=("$(seconds cached "without-$run")")
  empty_cache "with-$run"
  with_runs+=("$(seconds cached "with-$run" --cache-from "$cache_image:main")")
  if ! grep -q CACHED "$work/log"; then
    echo "bench: the --cache-from build ran its steps again: no cache hit" >&2
    exit 1
  fi
  images+=("$cache_image:without-$run" "$cache_image:with-$run")
done
without_median=$(median "${without_runs[@]}")
with_median=$(median "${with_runs[@]}")

# (c) Peak memory on the BuildKit path: one large file the Dockerfile never copies.
echo "bench: (c) peak RSS sending a $SIZE context through BuildKit" >&2
mkdir -p "$work/large"
fallocate -l "$SIZE" "$work/large/blob.bin"
printf 'FROM %s\nRUN true\n' "$base" >"$work/large/Dockerfile"
bytes=$(stat -c %s "$work/large/blob.bin")
large_runs=()
peaks=()
for run in $(seq 1 "$RUNS"); do
  large_runs+=("$(seconds /usr/bin/time -f '%M' -o "$work/peak" "$deployer" push --registry "$registry" \
    --create-repo --repo "bench-large-$suffix" --tag "run$run" --builder buildkit --no-cache \
    --build-path "$work/large" --path "$work/large")")
  peaks+=("$(cat "$work/peak")")
  images+=("$registry/bench-large-$suffix:run$run")
done
large_median=$(median "${large_runs[@]}")
peak_max=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -n 1)
throughput=$(echo "scale=0; $bytes / $large_median / 1048576" | bc)

cat <<REPORT
## deployer push on BuildKit ($(date -u +%Y-%m-%d), $(nproc) cores, Docker Engine $(docker version --format '{{.Server.Version}}' 2>/dev/null), $RUNS runs each)

\`benches/build.sh\`, on the same daemon, median of $RUNS runs.

(a) A rebuild after a one-line source change of a two-stage Dockerfile whose build step
"compiles" $DEPS dependencies (hashing $DEP_MB MiB each) and links them with the source. On BuildKit
the step keeps its dependencies in a \`RUN --mount=type=cache\` directory, so a source change
reruns the step but not the dependencies. The classic builder has no cache mounts: it builds the
same Dockerfile without the mount, where the dependencies live in the layer the source change
invalidates. Build only (\`--no-push\`).

| measure | BuildKit (cache mount) | classic (same Dockerfile, no mount) | ratio |
|---|---|---|---|
| rebuild after a one-line change (median) | ${buildkit_median} s | ${classic_median} s | classic / BuildKit: $(ratio "$classic_median" "$buildkit_median")× |

(b) A build on an empty local cache (\`docker builder prune -af\`, the image removed: a fresh CI
machine) of a Dockerfile with two hashing steps and a $LAYER_MB MiB data layer, pushed with inline
cache metadata before; with \`--cache-from\` that image, against the same build without it.
Build and push.

| measure | with --cache-from | without | ratio |
|---|---|---|---|
| build + push on an empty cache (median) | ${with_median} s | ${without_median} s | without / with: $(ratio "$without_median" "$with_median")× |

(c) Peak memory while sending a $SIZE context (one file the Dockerfile never copies) on the
BuildKit path (\`--builder buildkit\`), as \`benches/push.sh\` measures the classic path.

| measure | value | target |
|---|---|---|
| peak RSS (max of runs) | $((peak_max / 1024)) MiB | < 64 MiB |
| wall time, context upload + build + push (median) | ${large_median} s ($throughput MiB/s) | |

Runs: (a) BuildKit ${buildkit_runs[*]} s, classic ${classic_runs[*]} s; (b) with ${with_runs[*]} s,
without ${without_runs[*]} s; (c) ${large_runs[*]} s, peak RSS ${peaks[*]} KiB.
REPORT
