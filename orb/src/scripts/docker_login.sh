#!/usr/bin/env bash
# Logs the Docker CLI in to Docker Hub before the build, as the aws-ecr orb's docker-login did
# (6.15-8.x): USERNAME_VARIABLE and PASSWORD_VARIABLE name the variables holding them. The
# password goes through stdin, never the command line.
set -euo pipefail

user_variable=${USERNAME_VARIABLE:?USERNAME_VARIABLE names the variable holding the Docker Hub user}
password_variable=${PASSWORD_VARIABLE:?PASSWORD_VARIABLE names the variable holding the Docker Hub password}
# ${!name} evaluates an array subscript in the name (x[$(cmd)] runs cmd): only a plain variable
# name is looked up.
for variable in "$user_variable" "$password_variable"; do
  if ! [[ $variable =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "docker-login: dockerhub-username and dockerhub-password name environment variables (letters, digits and _), and one of them is not such a name: give the variable's name, not its value" >&2
    exit 2
  fi
done
user=${!user_variable:-}
password=${!password_variable:-}
if [ -z "$user" ] || [ -z "$password" ]; then
  echo "docker-login is true but $user_variable or $password_variable is empty: set them in the job's environment or context (dockerhub-username and dockerhub-password name them)" >&2
  exit 1
fi
printf '%s' "$password" | "${DOCKER_BIN:-docker}" login --username "$user" --password-stdin
