#!/bin/bash
# Build Dockerfile.train as IMAGE (default localhost/plantfit:<commit>) with
# the build arguments the image records: GIT_COMMIT (ENV and the revision
# label), PLANTFIT_VERSION (checked against the binary during the build) and
# SOURCE_URL.  Used by `make image`, `make container-test` and the Jenkinsfile,
# so the image tested is built exactly like the image pushed.
#
#   scripts/build-image.sh [IMAGE]
#
# CONTAINER_ENGINE=docker builds with a Docker engine instead (pulling
# debian:bookworm-slim from Docker Hub).  With podman (the default) the base is
# made offline by scripts/container-base.sh and the build runs the way these
# machines allow: runc, cgroupfs, chroot isolation, host network.
set -euo pipefail
cd "$(dirname "$0")/.."
COMMIT=${GIT_COMMIT:-$(git rev-parse HEAD)}
IMAGE=${1:-localhost/plantfit:$COMMIT}
VERSION=$(sed -n 's/^ *return "\([0-9][^"]*\)";/\1/p' entrypoint/version.c | head -1)
SOURCE=${GIT_URL:-$(git remote get-url origin 2>/dev/null || echo "file://$PWD")}
ARGS=(-f Dockerfile.train --build-arg GIT_COMMIT="$COMMIT" --build-arg PLANTFIT_VERSION="$VERSION"
      --build-arg SOURCE_URL="$SOURCE" -t "$IMAGE")
if [ "${CONTAINER_ENGINE:-podman}" = docker ]; then
    exec docker build --pull "${ARGS[@]}" .
fi
bash scripts/container-base.sh
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
BUILD=(build --pull=never --network=host --isolation chroot)
# The -dev stage tagged: it is the layer cache the next build starts from.
"${PODMAN[@]}" "${BUILD[@]}" -f Dockerfile.train --target build-deps -t localhost/plantfit-build-deps:cache .
"${PODMAN[@]}" "${BUILD[@]}" "${ARGS[@]}" .
# Images of earlier builds of this Dockerfile that nothing refers to any more
# (a moved tag, a finished build stage): only ours, by label.
"${PODMAN[@]}" image prune -f --filter label=org.plantfit.cache=plantfit > /dev/null
