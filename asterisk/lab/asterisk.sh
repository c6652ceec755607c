#!/usr/bin/env bash
# The lab's Asterisk 22: Debian sid's packages in a debootstrap root cached outside the repo,
# run with chroot (no Docker engine on the lab machines). See asterisk/README.md.
#
#   asterisk.sh build|config|up|down|restart|status|logs [-f]|cli [COMMAND...]
set -euo pipefail
export LAB_NAME=asterisk # read by lib.sh
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ROOT=$ASTERISK_ROOT
PIDFILE="$CALLCENTER_CACHE/asterisk.pid"
CONSOLE_LOG="$CALLCENTER_CACHE/asterisk-console.log"
MESSAGES_LOG="$ROOT/var/log/asterisk/messages"
# Markers live inside ROOT so that deleting ROOT also forgets them.
BOOTSTRAP_MARKER="$ROOT/.callcenter-debootstrap-done"
BUILT_MARKER="$ROOT/.callcenter-built"
BOOT_TIMEOUT=${ASTERISK_BOOT_TIMEOUT:-60}
# Restarting (not reloading) is needed when these change: modules load once, options at start.
RESTART_FILES="asterisk.conf modules.conf rtp.conf http.conf"

need_root() { [ "$(id -u)" -eq 0 ] || die "$1 needs root (chroot/mount)"; }

# ---------------------------------------------------------------------------------------- build
mounts_under_root() { awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo; }

unmount_build_mounts() {
    local m
    for m in dev proc; do
        if mountpoint -q "$ROOT/$m" 2>/dev/null; then
            umount "$ROOT/$m" 2>>"$LAB_LOG" || umount -l "$ROOT/$m" 2>>"$LAB_LOG" || true
        fi
    done
}

# Static device nodes are all Asterisk needs at run time: traced, it opens only /dev/null and
# /dev/urandom (the usual zero, full, random, tty are kept too). debootstrap creates them; this
# repairs a root whose nodes went missing. Nothing is mounted while Asterisk runs (its reads of
# /proc/stat, /proc/mounts fail harmlessly), so a killed lab never leaves the host's /dev in ROOT.
ensure_devices() {
    local spec name major minor
    for spec in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
        IFS=: read -r name major minor <<<"$spec"
        if [ ! -c "$ROOT/dev/$name" ]; then
            rm -f "$ROOT/dev/$name"
            mknod -m 666 "$ROOT/dev/$name" c "$major" "$minor" || die "mknod $ROOT/dev/$name failed"
        fi
    done
}

# Dpkg::Use-Pty=0: no /dev/pts in the root, so no pty for dpkg's progress (avoids an "E:" line).
chroot_apt() { chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get -o Dpkg::Use-Pty=0 "$@"; }

build() {
    if [ -f "$BUILT_MARKER" ]; then
        ensure_devices
        return 0
    fi
    need_root "building the Asterisk root"
    apt_ensure debootstrap
    unmount_build_mounts
    [ -z "$(mounts_under_root)" ] || die "something is still mounted under $ROOT: $(mounts_under_root | tr '\n' ' ')"
    if [ -e "$ROOT" ] && [ ! -f "$BOOTSTRAP_MARKER" ]; then
        info "removing the unfinished root $ROOT"
        rm -rf --one-file-system "$ROOT"
    fi
    local t0=$SECONDS
    if [ ! -f "$BOOTSTRAP_MARKER" ]; then
        info "debootstrap --variant=minbase sid $ROOT (about a minute; log: $LAB_LOG)"
        # No mirror is named: debootstrap's default is used; DEBIAN_MIRROR may override it.
        step "debootstrap sid" debootstrap --variant=minbase sid "$ROOT" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"}
        touch "$BOOTSTRAP_MARKER"
    fi
    # No service may start inside the root while packages install.
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"

    # Never leave the host's /dev bind-mounted in ROOT, even when interrupted.
    trap unmount_build_mounts EXIT
    trap 'exit 130' INT TERM HUP
    mount -t proc proc "$ROOT/proc" || die "mount proc on $ROOT/proc failed"
    mount --bind /dev "$ROOT/dev" || die "bind mount of /dev on $ROOT/dev failed"
    info "installing asterisk + asterisk-modules in the root (log: $LAB_LOG)"
    log "step: apt-get install asterisk asterisk-modules (debootstrap's package lists)"
    if ! chroot_apt install -y --no-install-recommends asterisk asterisk-modules >>"$LAB_LOG" 2>&1; then
        # sid's Release may be past Valid-Until; refresh the lists without that check and retry.
        step "apt-get update in the root" chroot_apt -o Acquire::Check-Valid-Until=false update
        step "apt-get install asterisk" chroot_apt install -y --no-install-recommends asterisk asterisk-modules
    fi
    step "apt-get clean in the root" chroot_apt clean
    unmount_build_mounts
    trap - EXIT INT TERM HUP
    [ -z "$(mounts_under_root)" ] || die "could not unmount $(mounts_under_root | tr '\n' ' ')"
    ensure_devices
    grep -q '^asterisk:' "$ROOT/etc/passwd" || die "the asterisk package did not create its user in $ROOT"
    chroot "$ROOT" dpkg-query -W asterisk asterisk-modules >"$BUILT_MARKER"
    info "built $ROOT in $((SECONDS - t0)) s: $(tr '\n\t' '  ' <"$BUILT_MARKER")"
}

# --------------------------------------------------------------------------------------- config
asterisk_gid() { awk -F: '$1 == "asterisk" { print $3 }' "$ROOT/etc/group"; }

# render_config: writes our files into ROOT/etc/asterisk (and nothing else: Debian's ~100 samples
# are removed). Prints "restart" when a file that needs a restart changed, "reload" otherwise.
render_config() {
    [ -f "$BUILT_MARKER" ] || die "the Asterisk root is not built yet: run '$0 build' or '$0 up'"
    local tmp gid f verdict=reload
    tmp=$(mktemp -d)
    step "render templates" "$LAB_DIR/render-config.sh" "$tmp"
    for f in $RESTART_FILES; do
        cmp -s "$tmp/$f" "$ROOT/etc/asterisk/$f" || verdict=restart
    done
    gid=$(asterisk_gid)
    find "$ROOT/etc/asterisk" -mindepth 1 -delete
    chown "0:$gid" "$ROOT/etc/asterisk"
    chmod 0750 "$ROOT/etc/asterisk"
    for f in "$tmp"/*; do
        install -m 0640 -o 0 -g "$gid" "$f" "$ROOT/etc/asterisk/"
    done
    rm -rf "$tmp"
    log "rendered $(ls "$ROOT/etc/asterisk" | tr '\n' ' ')"
    echo "$verdict"
}

# ------------------------------------------------------------------------------------- run state
# The pid of our Asterisk: the pid file's, checked to be an asterisk whose root is ROOT (guards
# against pid reuse); failing that, any asterisk process whose root is ROOT (pid file lost).
running_pid() {
    local pid p
    if [ -f "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE")
        if is_our_asterisk "$pid"; then echo "$pid"; return 0; fi
    fi
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        if is_our_asterisk "$pid"; then echo "$pid"; return 0; fi
    done
    return 1
}

is_our_asterisk() {
    local pid=$1
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = asterisk ] || return 1
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$(readlink -f "$ROOT")" ] || return 1
    # The remote consoles (asterisk -r...) are also "asterisk" processes in ROOT: skip them.
    ! tr '\0' '\n' <"/proc/$pid/cmdline" | grep -q -- '^-r'
}

ast_rx() { timeout "${2:-10}" chroot "$ROOT" /usr/sbin/asterisk -rx "$1"; }

ari_ok() {
    curl -fsS --max-time 3 -u "$ARI_USER:$ARI_PASSWORD" "$ARI_URL/ari/asterisk/info" >/dev/null 2>&1
}

healthy() { ast_rx 'core waitfullybooted' 5 >/dev/null 2>&1 && ari_ok; }

summary() {
    local pid=$1 version endpoints
    version=$(ast_rx 'core show version' | awk '{ print $2; exit }')
    endpoints=$(ast_rx 'pjsip show endpoints' | awk '/^ *Endpoint: / && $2 != "<Endpoint/CID.....................................>" { n++ } END { print n + 0 }')
    info "Asterisk $version up (pid $pid): SIP udp $ASTERISK_SIP_BIND:$ASTERISK_SIP_PORT, ARI $ARI_URL" \
        "(user $ARI_USER, app $ARI_APP), $endpoints PJSIP endpoints; log $MESSAGES_LOG"
}

# The root's asterisk user gets whatever uid Debian's adduser picked inside the root (101 here),
# which on the host may belong to someone else (postgres here): that host account could then
# signal or trace Asterisk and vice versa. Renumber it to an id no host account uses. Runs while
# Asterisk is stopped; also catches a host package installed after the root was built.
isolate_run_user() {
    local uid gid new=61000
    uid=$(awk -F: '$1 == "asterisk" { print $3 }' "$ROOT/etc/passwd")
    gid=$(asterisk_gid)
    if ! getent passwd "$uid" >/dev/null && ! getent group "$gid" >/dev/null; then
        return 0
    fi
    while getent passwd "$new" >/dev/null || getent group "$new" >/dev/null ||
        awk -F: -v n="$new" '$3 == n { found = 1 } END { exit !found }' "$ROOT/etc/passwd" "$ROOT/etc/group"; do
        new=$((new + 1))
    done
    info "the root's asterisk user ($uid:$gid) collides with a host account: renumbering to $new:$new"
    step "groupmod asterisk" chroot "$ROOT" groupmod -g "$new" asterisk
    step "usermod asterisk" chroot "$ROOT" usermod -u "$new" -g "$new" asterisk
    step "chown files of the asterisk user" find "$ROOT" -xdev -uid "$uid" -exec chown -h "$new" {} +
    step "chgrp files of the asterisk group" find "$ROOT" -xdev -gid "$gid" -exec chgrp -h "$new" {} +
}

# ----------------------------------------------------------------------------------- subcommands
start() {
    ensure_devices
    # Debian's units create /run/asterisk; nothing does inside a chroot.
    install -d -o "$(awk -F: '$1 == "asterisk" { print $3 }' "$ROOT/etc/passwd")" -g "$(asterisk_gid)" \
        "$ROOT/run/asterisk"
    rm -f "$ROOT/run/asterisk/asterisk.ctl"
    local t0 pid
    t0=$(date +%s%N)
    log "starting: chroot $ROOT /usr/sbin/asterisk -f -n -U asterisk -G asterisk"
    printf '\n==== %s start\n' "$(date '+%F %T')" >>"$CONSOLE_LOG"
    # -f: stay in the foreground of our background job (-c needs a terminal); -n: no colours.
    # 3>&- 9>&-: the daemon must not inherit (and hold forever) a lock: the lab's own (fd 9), or the one
    # a caller took with `flock /tmp/lab.lock bash asterisk/lab/...` (flock(1) hands it on as fd 3).
    setsid chroot "$ROOT" /usr/sbin/asterisk -f -n -U asterisk -G asterisk </dev/null >>"$CONSOLE_LOG" 2>&1 3>&- 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
    local deadline=$((SECONDS + BOOT_TIMEOUT))
    until ast_rx 'core waitfullybooted' 5 >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$CONSOLE_LOG" | sed 's/^/    /' >&2
            die "Asterisk exited during boot (console: $CONSOLE_LOG, messages: $MESSAGES_LOG)"
        fi
        [ $SECONDS -lt $deadline ] || die "Asterisk not fully booted after ${BOOT_TIMEOUT}s (console: $CONSOLE_LOG)"
        sleep 0.2
    done
    until ari_ok; do
        [ $SECONDS -lt $deadline ] || die "ARI does not answer at $ARI_URL/ari/asterisk/info as $ARI_USER (messages: $MESSAGES_LOG)"
        sleep 0.2
    done
    log "booted, ARI answering, after $((($(date +%s%N) - t0) / 1000000)) ms"
    summary "$pid"
}

cmd_up() {
    lab_lock asterisk
    need_root "asterisk.sh up"
    build
    local pid verdict
    if pid=$(running_pid); then
        if healthy; then
            verdict=$(render_config)
            if [ "$verdict" = restart ]; then
                info "asterisk.conf/modules.conf/rtp.conf/http.conf changed: restarting"
                stop_asterisk "$pid"
                isolate_run_user
                start
            else
                ast_rx 'core reload' >>"$LAB_LOG" 2>&1 || die "core reload failed (messages: $MESSAGES_LOG)"
                info "already running: config re-rendered and reloaded"
                summary "$pid"
            fi
            return 0
        fi
        info "Asterisk (pid $pid) is running but not healthy: restarting"
        stop_asterisk "$pid"
    fi
    isolate_run_user
    render_config >/dev/null
    start
}

stop_asterisk() {
    local pid=$1
    ast_rx 'core stop now' 10 >>"$LAB_LOG" 2>&1 || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        log "core stop now did not end pid $pid: TERM"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored TERM: KILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$PIDFILE"
}

cmd_down() {
    lab_lock asterisk
    local pid
    if ! pid=$(running_pid); then
        rm -f "$PIDFILE"
        info "not running"
        return 0
    fi
    need_root "asterisk.sh down"
    stop_asterisk "$pid"
    info "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if [ ! -f "$BUILT_MARKER" ]; then
        info "root not built ($ROOT)"
        return 1
    fi
    if ! pid=$(running_pid); then
        info "not running (root $ROOT)"
        return 1
    fi
    if healthy; then
        summary "$pid"
    else
        info "running (pid $pid) but not healthy: ARI at $ARI_URL or the CLI does not answer"
        return 1
    fi
}

cmd_config() {
    lab_lock asterisk
    need_root "asterisk.sh config"
    local verdict
    verdict=$(render_config)
    info "rendered config into $ROOT/etc/asterisk"
    if running_pid >/dev/null && [ "$verdict" = reload ]; then
        ast_rx 'core reload' >>"$LAB_LOG" 2>&1 || die "core reload failed"
        info "reloaded the running Asterisk"
    elif running_pid >/dev/null; then
        info "a file that needs a restart changed: run '$0 restart'"
    fi
}

cmd_cli() {
    running_pid >/dev/null || die "Asterisk is not running: run '$0 up'"
    if [ $# -eq 0 ]; then
        exec chroot "$ROOT" /usr/sbin/asterisk -rvvv
    fi
    exec chroot "$ROOT" /usr/sbin/asterisk -rx "$*"
}

cmd_logs() {
    [ -f "$MESSAGES_LOG" ] || die "no Asterisk log yet at $MESSAGES_LOG"
    if [ "${1:-}" = -f ]; then
        exec tail -n 50 -F "$MESSAGES_LOG"
    fi
    tail -n "${1:-100}" "$MESSAGES_LOG"
}

case "${1:-}" in
build) lab_lock asterisk; build; info "root ready: $ROOT" ;;
config) cmd_config ;;
up) cmd_up ;;
down) cmd_down ;;
restart) cmd_down; cmd_up ;;
status) cmd_status ;;
cli) shift; cmd_cli "$@" ;;
logs) shift; cmd_logs "$@" ;;
*)
    echo "usage: $0 build|config|up|down|restart|status|logs [-f|N]|cli [COMMAND...]" >&2
    exit 2
    ;;
esac
