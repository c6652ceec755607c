#!/usr/bin/env bash
# The base images the compose stack's Dockerfiles start FROM, made on this machine: no image
# registry is needed (none may be reachable). Each is a `debootstrap --variant=minbase` root of
# Debian imported with `docker import`:
#   callcenter-base:bookworm  the app and PostgreSQL (Debian 12: Python 3.11, PostgreSQL 15)
#   callcenter-base:sid       Asterisk (only sid packages Asterisk 22)
# An image already present is kept; --rebuild makes both again (e.g. for Debian's security fixes).
# The roots are cached under $CALLCENTER_CACHE/docker-bases. Needs root (debootstrap) and a
# running Docker engine (deploy/engine.sh up starts one).
#   deploy/build-bases.sh [--rebuild]
set -euo pipefail
export LAB_NAME=bases # read by lib.sh
# shellcheck source=../asterisk/lab/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../asterisk/lab/lib.sh"

BASES_DIR="$CALLCENTER_CACHE/docker-bases"
REBUILD=no
case "${1:-}" in
"") ;;
--rebuild) REBUILD=yes ;;
*) die "usage: $0 [--rebuild]" ;;
esac
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
apt_ensure debootstrap
docker info >/dev/null 2>&1 || die "no Docker engine answers (start one: bash deploy/engine.sh up)"
mkdir -p "$BASES_DIR"

# build_base SUITE: debootstrap a minbase root of SUITE and import it as callcenter-base:SUITE.
build_base() {
    local suite=$1 image="callcenter-base:$1" root="$BASES_DIR/$1-root" t0=$SECONDS
    if [ $REBUILD = no ] && docker image inspect "$image" >/dev/null 2>&1; then
        info "$image present"
        return 0
    fi
    # A root is finished only when debootstrap said so (the marker); anything else starts again.
    if [ $REBUILD = yes ] || [ ! -f "$root.done" ]; then
        rm -rf --one-file-system "$root" "$root.done"
        info "debootstrap --variant=minbase $suite (a minute or two; log: $LAB_LOG)"
        # No mirror is named: debootstrap's default is used; DEBIAN_MIRROR may override it.
        step "debootstrap $suite" debootstrap --variant=minbase "$suite" "$root" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"}
        touch "$root.done"
    fi
    info "importing $root as $image"
    # Device nodes stay out (the engine gives each container its own /dev); apt's downloaded
    # packages and lists too (images run apt-get update first).
    tar -C "$root" --numeric-owner --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
        --exclude=./var/cache/apt/archives/*.deb --exclude=./var/lib/apt/lists/* -c . \
        | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$image" >>"$LAB_LOG" \
        || die "docker import of $root failed"
    info "$image built in $((SECONDS - t0)) s"
}

build_base bookworm
build_base sid
