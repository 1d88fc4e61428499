#!/usr/bin/env bash
# Runs every test: installs what the tests need (Docker engine, registry, moto) if missing,
# starts the local stack, runs `cargo test`, and stops the stack whatever happens.
# Extra arguments go to `cargo test`, e.g. ./scripts/test.sh --test cli push::
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v cargo >/dev/null || { echo "test.sh: cargo is missing: install Rust (rustup) first" >&2; exit 2; }
./scripts/stack.sh install
# The emulator binary the stack starts comes from this checkout.
cargo build --locked --quiet -p deployer-emulator
trap './scripts/stack.sh stop' EXIT
./scripts/stack.sh start
set -a
# shellcheck disable=SC1091
source .stack/env
set +a
cargo test --locked --workspace "$@"
