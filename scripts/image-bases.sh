#!/usr/bin/env bash
# Imports the two base images deployer's Dockerfile needs, from this machine's files, so the
# image builds with no registry and no network (RUN steps have none on the test daemon):
#   deployer-test/rust:local     the Debian packages that compile and link (gcc, libc6-dev, …),
#                                this machine's Rust toolchain, and a cargo registry cache holding
#                                the crates of Cargo.lock, with CARGO_NET_OFFLINE=true
#   deployer-test/runtime:local  libc6, libgcc-s1 and dash, as in a slim Debian
# Usage: scripts/image-bases.sh [--force]   (existing images are kept unless --force)
# Needs: the Docker daemon (DOCKER_HOST as the stack sets it), Debian 12 (the packages the bases
# are made of are installed when missing), and rustup's or any Rust toolchain whose
# `rustc --print sysroot` is self-contained.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUST_BASE=deployer-test/rust:local
RUNTIME_BASE=deployer-test/runtime:local
force=false
[ "${1:-}" = "--force" ] && force=true

log() { printf 'image-bases: %s\n' "$*" >&2; }

have() { docker image inspect "$1" >/dev/null 2>&1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Installs the packages that are missing (apt reaches Debian's mirrors; the daemon need not).
# Prints nothing on stdout, so it can run inside a pipeline.
ensure_installed() {
  local missing=() package
  for package in "$@"; do
    installed "$package" || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The installed packages `names` need, and their own installed dependencies.
closure() {
  apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null |
    grep -E '^[a-z0-9]' | sort -u |
    while read -r package; do
      if installed "$package"; then echo "$package"; fi
    done
}

# Every file and symlink of the packages (installed first when missing), under their real
# directories (on a merged-/usr system /bin/dash is /usr/bin/dash: the image gets the same
# /bin -> usr/bin links), and the links dpkg's maintainer scripts make that no package lists:
# /bin/sh, the cc alternatives. Absolute paths, one per line.
package_files() {
  ensure_installed "$@"
  {
    closure "$@" | xargs dpkg -L 2>/dev/null
    echo /bin/sh /usr/bin/cc /etc/alternatives/cc /usr/bin/c++ /etc/alternatives/c++ | tr ' ' '\n'
  } | while read -r path; do
    case $path in /bin | /sbin | /lib | /lib32 | /lib64 | /libx32) continue ;; esac
    if [ -L "$path" ] || [ -f "$path" ]; then
      dir=$(readlink -f "$(dirname "$path")")
      echo "${dir%/}/$(basename "$path")"
    fi
  done
  for top in /bin /sbin /lib /lib32 /lib64 /libx32; do
    if [ -L "$top" ]; then echo "$top"; fi
  done
}

# Archives the absolute paths on stdin, relative to / (so tar has no leading / to warn about).
archive() { # archive TARBALL
  sort -u | sed 's|^/||' >"$1.list"
  tar -cf "$1" --no-recursion -C / -T "$1.list"
}

import() { # import IMAGE TARBALL CHANGES...
  local image=$1 tarball=$2
  shift 2
  local changes=()
  for change in "$@"; do changes+=(--change "$change"); done
  docker import "${changes[@]}" "$tarball" "$image" >/dev/null
  log "imported $image ($(du -h "$tarball" | cut -f1) of files)"
}

build_runtime() {
  package_files libc6 libgcc-s1 dash | archive "$work/runtime.tar"
  mkdir -p "$work/runtime/tmp"
  chmod 1777 "$work/runtime/tmp"
  tar -rf "$work/runtime.tar" -C "$work/runtime" tmp
  import "$RUNTIME_BASE" "$work/runtime.tar" 'ENV PATH=/usr/local/bin:/usr/bin:/bin'
}

build_rust() {
  local sysroot registry
  sysroot=$(rustc --print sysroot)
  registry=${CARGO_HOME:-$HOME/.cargo}/registry
  # Every crate of Cargo.lock is downloaded, so the build inside needs no network.
  (cd "$ROOT" && cargo fetch --locked --quiet)

  ensure_installed ca-certificates
  { package_files gcc libc6-dev dash coreutils; readlink -f /etc/ssl/certs/ca-certificates.crt; } |
    archive "$work/rust.tar"

  # The toolchain without docs, sources and tools: cargo, rustc, their libraries, the host's std.
  local stage=$work/rust host
  host=$(rustc -vV | sed -n 's/^host: //p')
  mkdir -p "$stage/usr/local/rust/bin" "$stage/usr/local/rust/lib/rustlib" \
    "$stage/usr/local/cargo/registry" "$stage/tmp" "$stage/root"
  chmod 1777 "$stage/tmp"
  cp -a "$sysroot/bin/cargo" "$sysroot/bin/rustc" "$stage/usr/local/rust/bin/"
  cp -a "$sysroot"/lib/*.so* "$stage/usr/local/rust/lib/"
  cp -a "$sysroot/lib/rustlib/$host" "$stage/usr/local/rust/lib/rustlib/"
  cp -a "$registry/index" "$registry/cache" "$stage/usr/local/cargo/registry/"
  tar -rf "$work/rust.tar" -C "$stage" usr/local/rust usr/local/cargo tmp root
  import "$RUST_BASE" "$work/rust.tar" \
    'ENV PATH=/usr/local/rust/bin:/usr/local/bin:/usr/bin:/bin' \
    'ENV CARGO_HOME=/usr/local/cargo' \
    'ENV CARGO_NET_OFFLINE=true' \
    'ENV HOME=/root' \
    "ENV DEPLOYER_CARGO_LOCK=$LOCK_HASH"
}

if $force || ! have "$RUNTIME_BASE"; then build_runtime; else log "$RUNTIME_BASE is there"; fi
# The crates inside are those of the Cargo.lock it was made for: a changed lock makes it anew.
LOCK_HASH=$(sha256sum "$ROOT/Cargo.lock" | cut -d' ' -f1)
made_for_this_lock() {
  docker image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$RUST_BASE" 2>/dev/null |
    grep -qx "DEPLOYER_CARGO_LOCK=$LOCK_HASH"
}
if $force || ! made_for_this_lock; then build_rust; else log "$RUST_BASE is there, for this Cargo.lock"; fi
