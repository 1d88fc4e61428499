#!/usr/bin/env bash
# Runs one deployer orb step. The step's parameters arrive as PARAM_* variables and
# DEPLOYER_ORB_STEP names the step; deployer itself turns them into flags, so the mapping
# is tested with the binary (`deployer orb params` prints it).
# Boolean parameters arrive as 1 or 0 (CircleCI's rendering of a whole-value boolean), or as
# true or false from a string that interpolates one; deployer accepts both.
set -euo pipefail

if ! command -v "${DEPLOYER_BIN:-deployer}" >/dev/null 2>&1; then
  echo "deployer is not installed: use the deployer/image executor or run deployer/install first" >&2
  exit 127
fi
exec "${DEPLOYER_BIN:-deployer}" orb run "${DEPLOYER_ORB_STEP:?DEPLOYER_ORB_STEP names the orb step}"
