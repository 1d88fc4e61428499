#!/usr/bin/env bash
# Logs the Docker CLI in to Docker Hub before the build, as the aws-ecr orb's docker-login did
# (6.15-8.x): USERNAME_VARIABLE and PASSWORD_VARIABLE name the variables holding them. The
# password goes through stdin, never the command line.
set -euo pipefail

user_variable=${USERNAME_VARIABLE:?USERNAME_VARIABLE names the variable holding the Docker Hub user}
password_variable=${PASSWORD_VARIABLE:?PASSWORD_VARIABLE names the variable holding the Docker Hub password}
user=${!user_variable:-}
password=${!password_variable:-}
if [ -z "$user" ] || [ -z "$password" ]; then
  echo "docker-login is true but $user_variable or $password_variable is empty: set them in the job's environment or context (dockerhub-username and dockerhub-password name them)" >&2
  exit 1
fi
printf '%s' "$password" | "${DOCKER_BIN:-docker}" login --username "$user" --password-stdin
