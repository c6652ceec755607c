# shellcheck shell=bash
# Helpers shared by the lab scripts. Sourced, never run. The caller sets `set -euo pipefail`
# and LAB_NAME (used to tag lines in the lab log).

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034  # used by the scripts that source this file
REPO_ROOT=$(cd "$LAB_DIR/../.." && pwd)
# shellcheck source=defaults.env
. "$LAB_DIR/defaults.env"
mkdir -p "$CALLCENTER_CACHE"
LAB_LOG="$CALLCENTER_CACHE/lab.log"
: "${LAB_NAME:=lab}"

log() { printf '%s [%s] %s\n' "$(date '+%F %T')" "$LAB_NAME" "$*" >>"$LAB_LOG"; }
info() { printf '[%s] %s\n' "$LAB_NAME" "$*"; log "$*"; }

die() {
    log "ERROR: $*"
    printf '[%s] error: %s\n' "$LAB_NAME" "$*" >&2
    printf '[%s] lab log: %s\n' "$LAB_NAME" "$LAB_LOG" >&2
    exit 1
}

# step DESCRIPTION CMD...: run a command with its output in the lab log; on failure show the
# log's tail and stop. (Pass single commands: `set -e` does not apply inside a function that is
# called from an `if`.) 9>&-: a server the command starts (pg_ctlcluster, a package's postinst)
# must not inherit the lab lock, or it would hold it for as long as it runs.
step() {
    local desc=$1
    shift
    log "step: $desc: $*"
    if ! "$@" >>"$LAB_LOG" 2>&1 9>&-; then
        printf '[%s] error: %s failed; last lines of %s:\n' "$LAB_NAME" "$desc" "$LAB_LOG" >&2
        tail -n 25 "$LAB_LOG" | sed 's/^/    /' >&2
        die "$desc failed (full output in $LAB_LOG)"
    fi
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# apt_ensure PKG...: install the missing host packages (apt-get update first), skip when all present.
apt_ensure() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing host packages (${missing[*]}); run as root or install them"
    info "installing host packages: ${missing[*]}"
    step "apt-get update" env DEBIAN_FRONTEND=noninteractive apt-get update
    step "apt-get install ${missing[*]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

# lab_lock NAME: serialise concurrent runs (two test sessions starting the lab at once).
# Everything that may leave a process running must close fd 9 (see step and asterisk.sh start).
lab_lock() {
    exec 9>"$CALLCENTER_CACHE/.$1.lock"
    flock -w 900 9 || die "timed out waiting for the lock $CALLCENTER_CACHE/.$1.lock"
}
