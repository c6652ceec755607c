#!/usr/bin/env bash
# Host packages the lab and the integration tests need (Debian 12). Skips apt entirely when all
# are installed. Asterisk itself is NOT installed on the host: it lives in the sid root that
# asterisk.sh builds (bookworm has no asterisk package, and sid packages would break the host).
#   packages.sh [PKG...]
set -euo pipefail
export LAB_NAME=packages # read by lib.sh
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

LAB_PACKAGES=(
    debootstrap          # builds the Asterisk root
    postgresql           # the lab database server
    postgresql-client    # psql, pg_isready
    baresip-core         # test phone: registers, dials/answers, plays and records WAVs (no GUI)
    sip-tester           # sipp: the scripted carrier (answer/busy/404/... scenarios)
    espeak-ng            # test speech
    sox                  # test audio conversion (8 kHz mono 16-bit)
    gettext-base         # envsubst renders the config templates
    curl                 # ARI health checks
    procps               # ps/pgrep used by the tests' diagnostics
    iproute2             # ss: the reconnect test drops ARI connections with `ss -K`
    chromium             # headless browser for the dashboard test (tests/browser.py)
    chromium-driver      # /usr/bin/chromedriver: Selenium drives chromium through it
    docker.io            # the compose test (tests/deploy): Debian's Docker engine (dockerd)
    docker-compose       # ... and compose 1.29, which docker-compose.yml is written for
)
# `packages.sh PKG...` ensures just the named packages (e.g. python3-venv for `make setup`).
if [ $# -gt 0 ]; then
    apt_ensure "$@"
    log "host packages present: $*"
else
    apt_ensure "${LAB_PACKAGES[@]}"
    log "host packages present: ${LAB_PACKAGES[*]}"
fi
