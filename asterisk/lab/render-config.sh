#!/usr/bin/env bash
# Render the Asterisk config templates (asterisk/etc/*.conf + dialplan/extensions.conf) into OUTDIR.
# Only the variables named in CALLCENTER_TEMPLATE_VARS (defaults.env) are substituted, so the
# dialplan's own ${EXTEN} etc. reach Asterisk untouched. Usable outside the lab (e.g. a container
# entrypoint): `asterisk/lab/render-config.sh /etc/asterisk`.
set -euo pipefail
export LAB_NAME=render # read by lib.sh
# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
# shellcheck source=pjsip-site.sh
. "$LAB_DIR/pjsip-site.sh"

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$1
command -v envsubst >/dev/null || apt_ensure gettext-base

for var in $CALLCENTER_TEMPLATE_VARS; do
    [ -n "${!var:-}" ] || die "template variable $var is empty (defaults in $LAB_DIR/defaults.env)"
done
# Production (CALLCENTER_MODE=production, as the app's own check): no lab secret, and each softphone
# its own password of 12 characters or more. A phone's password opens calls to the agents' desks.
phone_vars=$(softphone_vars)
if [ "${CALLCENTER_MODE:-lab}" = production ]; then
    seen=" "
    for var in ARI_PASSWORD $phone_vars; do
        value=${!var:-}
        [ -n "$value" ] || die "refusing to render production config: $var is not set"
        case $value in lab-*) die "refusing to render production config: $var is a lab default" ;; esac
        [ ${#value} -ge 12 ] || die "refusing to render production config: $var is shorter than 12 characters"
        case $seen in *" $value "*) die "refusing to render production config: $var repeats another password" ;; esac
        seen="$seen$value "
    done
fi
# The human agents' queue members (queues.conf), one `member =>` line per device of HUMAN_AGENTS,
# which keeps Dial's syntax (PJSIP/1001&PJSIP/1002) so one setting names them everywhere.
HUMAN_AGENTS_QUEUE_MEMBERS=$(printf '%s\n' "$HUMAN_AGENTS" | tr '&' '\n' | awk 'NF { print "member => " $1 }')
export HUMAN_AGENTS_QUEUE_MEMBERS
# envsubst's SHELL-FORMAT argument: '${A} ${B} ...' restricts substitution to exactly these.
# shellcheck disable=SC2016,SC2086  # literal ${NAME} wanted; the list is split on purpose
shell_format="$(printf '${%s} ' $CALLCENTER_TEMPLATE_VARS)\${HUMAN_AGENTS_QUEUE_MEMBERS}"

mkdir -p "$out"
# The site's part of pjsip.conf (asterisk/lab/pjsip-site.sh): NAT and media address, the trunk, the phones.
render_pjsip_network >"$out/pjsip_network.conf"
render_pjsip_trunk "$shell_format" >"$out/pjsip_trunk.conf"
render_pjsip_phones >"$out/pjsip_phones.conf"
shopt -s nullglob
templates=("$REPO_ROOT"/asterisk/etc/*.conf "$REPO_ROOT"/dialplan/extensions.conf)
[ ${#templates[@]} -gt 1 ] || die "no templates found under $REPO_ROOT/asterisk/etc"
for t in "${templates[@]}"; do
    envsubst "$shell_format" <"$t" >"$out/$(basename "$t")"
done

# Hold music for the queue (musiconhold.conf): a short, quiet melody made here with sox, so nothing is
# downloaded and no music package is needed. 8 kHz mono 16-bit, Asterisk's own WAV format; no dither,
# so the file is the same on every render.
command -v sox >/dev/null || apt_ensure sox
notes_dir=$(mktemp -d)
notes=()
for note in 523.25 659.25 783.99 659.25 587.33 698.46 880.00 698.46 523.25 0; do
    f="$notes_dir/${#notes[@]}.wav"
    if [ "$note" = 0 ]; then
        sox -n -D -r 8000 -c 1 -b 16 -e signed-integer "$f" trim 0 1.2
    else
        sox -n -D -r 8000 -c 1 -b 16 -e signed-integer "$f" synth 0.42 sine "$note" fade q 0.02 0.42 0.12 vol 0.25
    fi
    notes+=("$f")
done
sox -D "${notes[@]}" "$out/callcenter-hold.wav"
rm -rf "$notes_dir"
