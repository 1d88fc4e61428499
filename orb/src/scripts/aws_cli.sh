#!/usr/bin/env bash
# The AWS CLI as the aws-ecs orb's 0.0.x-3.x jobs left it for the job's later steps
# (aws-cli/install and aws-cli/configure, later aws-cli/setup): installed from PyPI only when the
# image has none, then configured by deployer (`deployer orb aws-cli-config`: the region and the
# keys the job's parameters name, as those jobs wrote them).
set -euo pipefail

if ! command -v aws >/dev/null 2>&1; then
  echo "Installing the AWS CLI from PyPI: the image has none, and the aws-ecs orb's job installed it"
  python3 -m pip install --quiet --user awscli
  bin="$(python3 -m site --user-base)/bin"
  export PATH="$bin:$PATH"
  if [ -n "${BASH_ENV:-}" ]; then
    echo "export PATH=\"$bin:\$PATH\"" >>"$BASH_ENV"
  fi
fi
aws --version
exec "${DEPLOYER_BIN:-deployer}" orb aws-cli-config
