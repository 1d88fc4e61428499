#!/usr/bin/env bash
# Where the BuildKit path's context upload loses time against the classic path (issue 21 §5).
# The same 2 GiB context (a Dockerfile with one LABEL and a file it never copies), sent to the same
# daemon four ways, alternately, RUNS times each:
#   (1) curl, the context as the /build request's body, version=1 (the classic builder);
#   (2) curl, the same body, version=2 (the daemon's BuildKit; no session);
#   (3) deployer push --no-push --builder classic;
#   (4) deployer push --no-push --builder buildkit.
# (1) and (2) carry no deployer code at all: what separates them is the daemon's. deployer sends
# the context the same way on both builders (a tar body written by one blocking thread), so if
# (4)/(3) matches (2)/(1), the floor is the daemon's handling of a BuildKit tar context.
# Writes a Markdown section to stdout, in BENCHMARKS.md's style; progress goes to stderr.
# Usage: benches/context_upload.sh [DEPLOYER]   (DEPLOYER defaults to target/release/deployer).
#   With the stack's environment already loaded (source .stack/env) that stack is used; otherwise
#   the script starts and stops it (as root). BENCH_RUNS (5), BENCH_CONTEXT_SIZE (2G).
#   Between builds it empties the daemon's BuildKit cache (docker builder prune): BuildKit keeps each
#   downloaded context, so every run would otherwise cost the disk SIZE again and later runs could
#   hit a warm cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deployer=$(realpath -m "${1:-target/release/deployer}")
RUNS=${BENCH_RUNS:-5}
SIZE=${BENCH_CONTEXT_SIZE:-2G}

if [ ! -x "$deployer" ]; then
  echo "benches/context_upload.sh: $deployer is not an executable: build it (cargo build --release) or pass its path" >&2
  exit 2
fi
command -v curl >/dev/null || { echo "benches/context_upload.sh: curl is missing" >&2; exit 2; }
own_stack=
if [ -z "${DEPLOYER_STACK_REGISTRY:-}" ]; then
  ./scripts/stack.sh install >&2
  own_stack=1
fi
work=$(mktemp -d /var/tmp/deployer-bench-upload.XXXXXX)
cleanup() {
  docker image rm -f bench-upload:curl1 bench-upload:curl2 >/dev/null 2>&1 || true
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
case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
  unix://*) socket=${DOCKER_HOST:-unix:///var/run/docker.sock}; socket=${socket#unix://} ;;
  *) echo "benches/context_upload.sh: needs a unix:// DOCKER_HOST for curl" >&2; exit 2 ;;
esac
registry=$DEPLOYER_STACK_REGISTRY
base=$DEPLOYER_STACK_BASE_IMAGE

mkdir -p "$work/context"
printf 'FROM %s\nLABEL bench=context-upload\n' "$base" >"$work/context/Dockerfile"
# Zeros: the bytes' content does not matter to a tar stream, and the file stays out of the image.
head -c "$SIZE" /dev/zero >"$work/context/unused.bin"
tar -C "$work/context" -cf "$work/context.tar" .
bytes=$(stat -c %s "$work/context.tar")

seconds() { # COMMAND...: runs it, prints its wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }
  end=$(date +%s.%N)
  printf '%.2f\n' "$(echo "$end - $start" | bc)"
}
forget() { docker builder prune -af >/dev/null; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { echo "scale=0; $bytes / 1048576 / $1" | bc; }
curl_build() { # VERSION: the tar as /build's body; fails unless the daemon says it built
  curl -sS --fail --unix-socket "$socket" -X POST -H 'Content-Type: application/x-tar' \
    -T "$work/context.tar" "http://localhost/v1.41/build?version=$1&t=bench-upload:curl$1" |
    grep -e 'Successfully tagged' >/dev/null
}
push() { # BUILDER
  "$deployer" push --registry "$registry" --repo bench-upload --create-repo --tag "$1" --no-push \
    --builder "$1" --build-path "$work/context" --path "$work/context"
}

curl1=() curl2=() classic=() buildkit=()
for run in $(seq 1 "$RUNS"); do
  echo "bench: run $run/$RUNS" >&2
  curl1+=("$(seconds curl_build 1)")
  curl2+=("$(seconds curl_build 2)")
  forget
  classic+=("$(seconds push classic)")
  buildkit+=("$(seconds push buildkit)")
  forget
done
c1=$(median "${curl1[@]}") c2=$(median "${curl2[@]}")
d1=$(median "${classic[@]}") d2=$(median "${buildkit[@]}")

cat <<SECTION
## Context upload, classic vs BuildKit ($(date -u +%F), $(nproc) cores, Docker Engine $(docker version -f '{{.Server.Version}}'), context $SIZE, $RUNS runs)

\`benches/context_upload.sh\`: the same context tar, sent to the same daemon by curl (no deployer
code) and by \`deployer push --no-push\`, on each builder, alternately. Median wall time of
upload + a one-LABEL build.

| sender | classic (version=1) | BuildKit (version=2) | BuildKit / classic |
|---|---|---|---|
| curl, tar body | $c1 s ($(rate "$c1") MiB/s) | $c2 s ($(rate "$c2") MiB/s) | $(echo "scale=2; $c2 / $c1" | bc) |
| deployer push | $d1 s ($(rate "$d1") MiB/s) | $d2 s ($(rate "$d2") MiB/s) | $(echo "scale=2; $d2 / $d1" | bc) |

Runs: curl v1 ${curl1[*]}; curl v2 ${curl2[*]}; deployer classic ${classic[*]}; deployer buildkit ${buildkit[*]}. Load: $(cut -d' ' -f1-3 /proc/loadavg).
SECTION
