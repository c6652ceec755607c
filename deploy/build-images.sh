#!/usr/bin/env bash
# Everything `docker-compose up` needs built on this machine, with no image registry:
#   1. the base images (deploy/build-bases.sh: Debian roots made by debootstrap);
#   2. the Python wheels of deploy/constraints.txt, collected by pip on this host into an image of their
#      own, callcenter-wheels:build (the app image installs from it with no index: the versions the tests
#      ran with, and no PyPI access during the build);
#   3. the three images (docker-compose build).
# Later runs reuse what is there (the bases, the wheels, Docker's layer cache).
#   deploy/build-images.sh [docker-compose build options, e.g. --pull is NOT wanted; --no-cache]
# Environment: CALLCENTER_ENV_FILE (default .env) is handed to compose; PYTHON (default python3) makes
# the wheel-collecting virtualenv.
set -euo pipefail
export LAB_NAME=images # read by lib.sh
# shellcheck source=../asterisk/lab/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../asterisk/lab/lib.sh"
cd "$REPO_ROOT"

t0=$SECONDS
bash deploy/build-bases.sh

# The wheels come from pip on this host (its index or mirror and its certificates), in a virtualenv of
# its own: the same Python minor version as the image's (Debian 12's 3.11), so the wheels fit it.
WHEEL_VENV="$CALLCENTER_CACHE/wheel-venv"
if [ ! -x "$WHEEL_VENV/bin/pip" ]; then
    # Debian's python3 has the venv module but not ensurepip (python3-venv), which creating one needs.
    if command -v dpkg-query >/dev/null; then apt_ensure python3-venv; fi
    step "virtualenv for collecting wheels" "${PYTHON:-python3}" -m venv "$WHEEL_VENV"
fi
"$WHEEL_VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "collecting wheels needs Python 3.11 (the image's); set PYTHON to one"
WHEELHOUSE="$CALLCENTER_CACHE/wheelhouse"
mkdir -p "$WHEELHOUSE"
# pip resolves again even when every wheel is there (half a minute): skipped while the pins are unchanged.
if ! cmp -s deploy/constraints.txt "$WHEELHOUSE/constraints.txt"; then
    info "collecting wheels into $WHEELHOUSE (log: $LAB_LOG)"
    step "pip wheel" "$WHEEL_VENV/bin/pip" wheel --quiet --disable-pip-version-check -w "$WHEELHOUSE" \
        -r deploy/constraints.txt "setuptools>=77" wheel
    cp deploy/constraints.txt "$WHEELHOUSE/constraints.txt"
fi
# The wheels reach the app's build as an image of their own (its Dockerfile copies from it), not in the
# repository's build context, which every image's build would otherwise send to the engine (400 MB).
step "wheels image" docker build --quiet -t callcenter-wheels:build -f - "$WHEELHOUSE" \
    <<<$'FROM scratch\nCOPY . /wheelhouse\n'

env_file=${CALLCENTER_ENV_FILE:-.env}
[ -f "$env_file" ] || die "$env_file not found: copy .env.example to .env and fill it in first"
info "building the images (docker-compose build; log: $LAB_LOG)"
step "docker-compose build" docker-compose --env-file "$env_file" build "$@"
info "images built in $((SECONDS - t0)) s: $(docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
    | grep '^callcenter-' | tr '\n' ' ')"
