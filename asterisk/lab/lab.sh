#!/usr/bin/env bash
# The whole lab: PostgreSQL + Asterisk (what `make lab` / `make lab-down` call).
#
#   lab.sh up|down|status
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case "${1:-}" in
up)
    "$here/packages.sh"
    "$here/postgres.sh" up
    "$here/asterisk.sh" up
    ;;
down)
    "$here/asterisk.sh" down
    "$here/postgres.sh" down
    ;;
status)
    rc=0
    "$here/postgres.sh" status || rc=1
    "$here/asterisk.sh" status || rc=1
    exit $rc
    ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
