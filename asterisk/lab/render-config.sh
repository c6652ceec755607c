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
# envsubst's SHELL-FORMAT argument: '${A} ${B} ...' restricts substitution to exactly these.
# shellcheck disable=SC2016,SC2086  # literal ${NAME} wanted; the list is split on purpose
shell_format=$(printf '${%s} ' $CALLCENTER_TEMPLATE_VARS)

mkdir -p "$out"
shopt -s nullglob
templates=("$REPO_ROOT"/asterisk/etc/*.conf "$REPO_ROOT"/dialplan/extensions.conf)
[ ${#templates[@]} -gt 1 ] || die "no templates found under $REPO_ROOT/asterisk/etc"
for t in "${templates[@]}"; do
    envsubst "$shell_format" <"$t" >"$out/$(basename "$t")"
done
