#!/usr/bin/env bash
# Installs the deployer release binary for this executor's platform, after checking its
# SHA-256 against the release's checksum file. Does nothing when that version is already on
# PATH (the deployer image) or in the install directory. Downloads with curl or wget, whichever
# the executor has. With PARAM_IF_MISSING (what every command of the orb runs first), any deployer
# already on PATH will do.
set -euo pipefail

version=${PARAM_VERSION:?PARAM_VERSION is the deployer version to install}
version=${version#v}
install_dir=${PARAM_INSTALL_DIR:-/usr/local/bin}
release_url=${PARAM_RELEASE_URL:-https://github.com/deployer-dev/deployer/releases}

on_path=$(command -v deployer 2>/dev/null || true)
path_version=
if [ -n "$on_path" ]; then
  path_version=$("$on_path" --version 2>/dev/null || true)
  if [ "${PARAM_IF_MISSING:-0}" = 1 ] || [ "${PARAM_IF_MISSING:-}" = true ]; then
    echo "using ${path_version:-deployer} at $on_path"
    exit 0
  fi
  if [ "$path_version" = "deployer $version" ]; then
    echo "deployer $version is already installed at $on_path"
    exit 0
  fi
fi
installed=$("$install_dir/deployer" --version 2>/dev/null || true)
if [ "$installed" = "deployer $version" ]; then
  echo "deployer $version is already installed in $install_dir"
  exit 0
fi

if command -v curl >/dev/null 2>&1; then
  fetch() { curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget --quiet --tries 3 --output-document "$2" "$1"; }
else
  {
    echo "cannot install deployer $version: this executor has neither curl nor wget to download it."
    if [ -n "$path_version" ]; then
      echo "The executor's own deployer ($on_path) is ${path_version#deployer }: set deployer_version (or install's version) to ${path_version#deployer }, or use an executor with curl or wget, such as deployer/machine."
    else
      echo "Use an executor with curl or wget, such as deployer/machine, or one with deployer $version installed."
    fi
  } >&2
  exit 1
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64 | Linux/amd64) target=x86_64-unknown-linux-gnu ;;
  Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-gnu ;;
  *)
    echo "deployer has no release build for $(uname -s) $(uname -m): use a Linux amd64 or arm64 executor" >&2
    exit 1
    ;;
esac

asset="deployer-$target.tar.gz"
url="${release_url%/}/download/v$version/$asset"
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

echo "Downloading $url"
if ! fetch "$url" "$workdir/$asset" || ! fetch "$url.sha256" "$workdir/$asset.sha256"; then
  echo "cannot download deployer $version for $target from $release_url: check the version parameter and that the release exists" >&2
  exit 1
fi
expected=$(cut -d ' ' -f 1 <"$workdir/$asset.sha256")
actual=$(sha256sum "$workdir/$asset" | cut -d ' ' -f 1)
if [ "$expected" != "$actual" ]; then
  echo "checksum mismatch for $asset: the release says $expected, the download is $actual; nothing was installed" >&2
  exit 1
fi
tar -xzf "$workdir/$asset" -C "$workdir" deployer

sudo=
if [ ! -w "$install_dir" ] && [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; fi
$sudo mkdir -p "$install_dir"
$sudo install -m 0755 "$workdir/deployer" "$install_dir/deployer"
# The Docker CLI's credential helper for `ecr_login` (use_credentials_helper) is deployer too.
$sudo ln -sf deployer "$install_dir/docker-credential-deployer"
"$install_dir/deployer" --version
