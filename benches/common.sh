# shellcheck shell=bash
# Sourced by the benches: the deployer binary to measure, the local stack and a work directory.
#   bench_deployer SCRIPT [PATH]  sets $deployer (default target/release/deployer); exit 2 when it
#                                 is not built.
#   bench_stack SCRIPT VARIABLE   uses the stack whose environment is loaded (VARIABLE, e.g.
#                                 DEPLOYER_STACK_MOTO, is set), else starts one (as root) and
#                                 stops it on exit; sets $work, a directory removed on exit.
# benches/build.sh and benches/context_upload.sh predate it and keep their own.

bench_deployer() {
  deployer=$(realpath -m "${2:-target/release/deployer}")
  if [ ! -x "$deployer" ]; then
    echo "$1: $deployer is not an executable: build it (cargo build --release) or pass its path" >&2
    exit 2
  fi
}

bench_cleanup() {
  rm -rf "$work"
  if [ -n "$own_stack" ]; then ./scripts/stack.sh stop >&2; fi
}

bench_stack() {
  own_stack=
  if [ -z "${!2:-}" ]; then
    ./scripts/stack.sh install >&2
    own_stack=1
  fi
  work=$(mktemp -d)
  trap bench_cleanup EXIT
  if [ -n "$own_stack" ]; then
    ./scripts/stack.sh start >&2
    set -a
    # shellcheck disable=SC1091
    source .stack/env
    set +a
  fi
}
