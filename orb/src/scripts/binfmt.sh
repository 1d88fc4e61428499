#!/usr/bin/env bash
# Installs QEMU's binfmt_misc handlers for the foreign platforms in PARAM_PLATFORM before the
# build, as the aws-ecr orb does (tonistiigi/binfmt:PARAM_BINFMT_VERSION). deployer says which
# architectures lack a handler; nothing runs when every platform is native or has one.
set -euo pipefail

deployer=${DEPLOYER_BIN:-deployer}
if ! command -v "$deployer" >/dev/null 2>&1; then
  echo "deployer is not installed: use the deployer/default executor or run deployer/install first" >&2
  exit 127
fi
architectures=$("$deployer" orb binfmt)
if [ -z "$architectures" ]; then
  exit 0
fi
image="tonistiigi/binfmt:${PARAM_BINFMT_VERSION:?PARAM_BINFMT_VERSION is the tonistiigi/binfmt version}"
echo "Installing QEMU handlers for $architectures from $image"
docker run --privileged --rm "$image" --install "$architectures"
