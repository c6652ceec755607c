#!/usr/bin/env bash
# The Docker engine and compose the stack needs, from Debian's packages (docker.io: the engine,
# docker-compose: compose 1.29). `up` installs them when missing and starts dockerd when no engine
# answers; `down` stops the engine only if `up` started it (a daemon someone else runs is left alone).
#   deploy/engine.sh up|down|status
set -euo pipefail
export LAB_NAME=engine # read by lib.sh
# shellcheck source=../asterisk/lab/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../asterisk/lab/lib.sh"

PIDFILE="$CALLCENTER_CACHE/dockerd.pid"
DAEMON_LOG="$CALLCENTER_CACHE/dockerd.log"
BOOT_TIMEOUT=${DOCKERD_BOOT_TIMEOUT:-60}

engine_answers() { docker info >/dev/null 2>&1; }

up() {
    apt_ensure docker.io docker-compose debootstrap
    engine_answers && { info "a Docker engine answers"; return 0; }
    [ "$(id -u)" -eq 0 ] || die "no Docker engine answers, and starting one needs root"
    command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
    info "starting dockerd (log: $DAEMON_LOG)"
    # setsid + 9>&-: the daemon outlives this script and must not hold the caller's lock.
    setsid dockerd >>"$DAEMON_LOG" 2>&1 9>&- </dev/null &
    echo $! >"$PIDFILE"
    local waited=0
    until engine_answers; do
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -n 20 "$DAEMON_LOG" >&2; rm -f "$PIDFILE"; die "dockerd exited"; }
        [ $waited -lt "$BOOT_TIMEOUT" ] || die "dockerd did not answer within ${BOOT_TIMEOUT}s (log: $DAEMON_LOG)"
        sleep 1
        waited=$((waited + 1))
    done
    info "dockerd up (pid $(cat "$PIDFILE"))"
}

down() {
    [ -f "$PIDFILE" ] || { info "no dockerd started by us"; return 0; }
    local pid
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop"
    fi
    rm -f "$PIDFILE"
    info "dockerd stopped"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) engine_answers && echo "engine up" || echo "engine down" ;;
*) die "usage: $0 up|down|status" ;;
esac
