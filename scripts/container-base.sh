#!/bin/bash
# Make the image docker.io/library/debian:bookworm-slim available to podman
# without a registry: these machines reach Debian's package mirrors but not
# Docker Hub.  Built once with debootstrap and cached OUTSIDE the clone (CI
# starts from a fresh clone every run), so later runs only import a tarball,
# or do nothing when the image is already in podman's store.
#
#   scripts/container-base.sh            make sure the base image exists
#   scripts/container-base.sh --rebuild  rebuild it from the mirror
#
# The root filesystem is slimmed the way the official bookworm-slim is
# (debootstrap --variant=minbase, then no documentation, man/info pages,
# locales, apt lists or caches, and a dpkg configuration that keeps them out
# of every later `apt-get install` too, which is what keeps our own layers
# small).  Written from the description of the official image's build
# (debuerreotype's minimizing steps), not copied from it.
#
# A genuine debian:bookworm-slim pulled from Docker Hub (no plantfit recipe
# label) is left alone and used as is.
#
# Environment: PLANTFIT_CONTAINER_CACHE (default /var/cache/plantfit-container),
# DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
IMAGE=docker.io/library/debian:bookworm-slim
CACHE=${PLANTFIT_CONTAINER_CACHE:-/var/cache/plantfit-container}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
# The recipe's identity: a change to this script makes a new base.
RECIPE=$(sha256sum "$0" | cut -c1-16)
TARBALL=$CACHE/bookworm-slim-$RECIPE.tar
LABEL=org.plantfit.base-recipe

log() { echo "container-base: $*" >&2; }

rebuild=0
[ "${1:-}" = --rebuild ] && rebuild=1

if [ $rebuild = 0 ] && "${PODMAN[@]}" image exists "$IMAGE"; then
    have=$("${PODMAN[@]}" image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null || true)
    if [ -z "$have" ] || [ "$have" = "<no value>" ]; then
        log "$IMAGE present and not ours (a pulled original): using it"
        exit 0
    fi
    if [ "$have" = "$RECIPE" ]; then
        exit 0
    fi
    log "$IMAGE was made by an older recipe ($have), replacing it"
fi

mkdir -p "$CACHE"
if [ $rebuild = 1 ] || [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || { log "debootstrap is not installed"; exit 1; }
    ROOT=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$ROOT" "$TARBALL.tmp"' EXIT
    t0=$(date +%s)
    log "debootstrap --variant=minbase bookworm from $MIRROR (once; cached in $CACHE)"
    debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 ||
        { tail -20 "$CACHE/debootstrap.log" >&2; log "debootstrap failed (log: $CACHE/debootstrap.log)"; exit 1; }

    # dpkg: never unpack documentation, manuals or translations, here and in
    # every image built on this base (copyright files stay: licences).
    cat > "$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# Slim image: keep documentation, manuals and translations out.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    # apt: no package caches, no translated descriptions, compressed lists,
    # Suggests are not reasons to keep packages.
    cat > "$ROOT/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' > "$ROOT/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::GzipIndexes "true";' > "$ROOT/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$ROOT/etc/apt/apt.conf.d/docker-autoremove-suggests"
    # Daemons must not start inside an image build.
    printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    # The same sources as the official image (deb822), security updates included.
    rm -f "$ROOT/etc/apt/sources.list"
    cat > "$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # Remove what the exclusions would have kept out, then caches and logs.
    find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$ROOT"/usr/share/{man,groff,info,lintian,linda}/*
    find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/var/cache/debconf/*-old \
        "$ROOT"/var/lib/dpkg/*-old "$ROOT"/var/log/apt/* "$ROOT"/var/log/*.log \
        "$ROOT"/var/log/bootstrap.log "$ROOT"/tmp/* "$ROOT"/var/tmp/*
    # Host specifics debootstrap copied in: the container runtime provides them.
    rm -f "$ROOT/etc/resolv.conf" "$ROOT/etc/hostname"
    : > "$ROOT/etc/machine-id"
    tar --numeric-owner --xattrs -C "$ROOT" -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf "$ROOT"
    trap - EXIT
    log "root filesystem built in $(($(date +%s) - t0)) s: $TARBALL ($(du -m "$TARBALL" | cut -f1) MB)"
    # Older recipes' tarballs are dead weight.
    find "$CACHE" -maxdepth 1 -name 'bookworm-slim-*.tar' ! -name "$(basename "$TARBALL")" -delete
fi

"${PODMAN[@]}" import --change "LABEL $LABEL=$RECIPE" --change 'CMD ["bash"]' \
    "$TARBALL" "$IMAGE" > /dev/null
log "imported $IMAGE from $TARBALL"
