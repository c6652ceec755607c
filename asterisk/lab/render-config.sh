#!/usr/bin/env bash
# Render the Asterisk config templates (asterisk/etc/*.conf + dialplan/extensions.conf) into OUTDIR.
# Only the variables named in CALLCENTER_TEMPLATE_VARS (defaults.env) are substituted, so the
# dialplan's own ${EXTEN} etc. reach Asterisk untouched. Usable outside the lab (e.g. a container
# entrypoint): `asterisk/lab/render-config.sh /etc/asterisk`.
set -euo pipefail
export LAB_NAME=render # read by lib.sh
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$1
command -v envsubst >/dev/null || apt_ensure gettext-base

for var in $CALLCENTER_TEMPLATE_VARS; do
    [ -n "${!var:-}" ] || die "template variable $var is empty (defaults in $LAB_DIR/defaults.env)"
done
# Production (CALLCENTER_MODE=production, as the app's own check): no lab secret, and each softphone
# its own password of 12 characters or more. A phone's password opens calls to the agents' desks.
if [ "${CALLCENTER_MODE:-lab}" = production ]; then
    seen=" "
    for var in ARI_PASSWORD SOFTPHONE_1001_PASSWORD SOFTPHONE_1002_PASSWORD SOFTPHONE_1003_PASSWORD; do
        value=${!var}
        case $value in lab-*) die "refusing to render production config: $var is a lab default" ;; esac
        [ ${#value} -ge 12 ] || die "refusing to render production config: $var is shorter than 12 characters"
        case $seen in *" $value "*) die "refusing to render production config: $var repeats another password" ;; esac
        seen="$seen$value "
    done
fi
# envsubst's SHELL-FORMAT argument: '${A} ${B} ...' restricts substitution to exactly these.
# shellcheck disable=SC2016,SC2086  # literal ${NAME} wanted; the list is split on purpose
shell_format=$(printf '${%s} ' $CALLCENTER_TEMPLATE_VARS)

mkdir -p "$out"
# The trunk's mode: by address only, or registering with digest authentication (asterisk/etc/trunk/).
case "${TRUNK_REGISTER:-no}" in
no) envsubst "$shell_format" <"$REPO_ROOT/asterisk/etc/trunk/ip.conf" >"$out/pjsip_trunk.conf" ;;
yes)
    [ -n "${TRUNK_USER:-}" ] && [ -n "${TRUNK_PASSWORD:-}" ] || die "TRUNK_REGISTER=yes needs TRUNK_USER and TRUNK_PASSWORD"
    if [ "${CALLCENTER_MODE:-lab}" = production ] && [ ${#TRUNK_PASSWORD} -lt 12 ]; then
        die "refusing to render production config: TRUNK_PASSWORD is shorter than 12 characters"
    fi
    export TRUNK_USER TRUNK_PASSWORD
    envsubst "$shell_format \${TRUNK_USER} \${TRUNK_PASSWORD}" <"$REPO_ROOT/asterisk/etc/trunk/register.conf" \
        >"$out/pjsip_trunk.conf"
    ;;
*) die "TRUNK_REGISTER must be yes or no, not '$TRUNK_REGISTER'" ;;
esac
shopt -s nullglob
templates=("$REPO_ROOT"/asterisk/etc/*.conf "$REPO_ROOT"/dialplan/extensions.conf)
[ ${#templates[@]} -gt 1 ] || die "no templates found under $REPO_ROOT/asterisk/etc"
for t in "${templates[@]}"; do
    envsubst "$shell_format" <"$t" >"$out/$(basename "$t")"
done
