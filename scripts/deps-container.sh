#!/bin/bash
# Install what `make container-test` needs and `make test` does not: podman,
# buildah and runc to build and run the image without a Docker engine,
# debootstrap to make the debian:bookworm-slim base offline, strace for the
# cold-start measurement, and npm for the pinned asl-validator.  Only the
# missing ones; silent and quick when all are there.  Kept apart from
# scripts/deps.sh so `make test` installs nothing it does not use.
set -euo pipefail
PKGS=(podman buildah runc debootstrap strace)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# npm: NodeSource's nodejs package bundles npm and conflicts with Debian's npm
# package, so ask for Debian's only when there is no npm command at all.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "make container-test: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
  echo "make container-test: need root to apt-get install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
