# shellcheck shell=bash
# The site's part of the PJSIP config, written from settings by render-config.sh (sourced there, after
# lib.sh): the network (NAT, media address), the carrier trunk and the desk/soft phones. envsubst fills
# single values; lists (the carrier's addresses, the phones) and options that exist only when set need
# a loop, so they are written here. Each function prints one file's text.

# csv_items NAME "a, b,,c": one item a line, blanks dropped; each item must be plain (below).
csv_items() {
    local item
    case $2 in *$'\n'*) die "$1 has a line break in it" ;; esac
    for item in $(tr ',' ' ' <<<"$2"); do
        plain "$1" "$item"
        echo "$item"
    done
}

# plain NAME VALUE: a value that goes into a config line must be one word: a newline would add
# options or sections of its own, and Asterisk reads the rest of a line after ';' as a comment.
plain() {
    case $2 in *[[:space:]\;]*) die "$1 has a space or ';' in it" ;; esac
}

# [site-transport](!) and [site-media](!): templates pjsip.conf's transport and endpoints inherit.
# Behind NAT (a cloud VM: the public address is not on any interface) Asterisk binds and sends from
# its private address and writes the public one into SIP and SDP for peers outside ASTERISK_LOCAL_NETS.
render_pjsip_network() {
    local media=${ASTERISK_EXTERNAL_MEDIA_ADDRESS:-${ASTERISK_EXTERNAL_ADDRESS:-}}
    local signaling=${ASTERISK_EXTERNAL_SIGNALING_ADDRESS:-${ASTERISK_EXTERNAL_ADDRESS:-}}
    local nets net
    nets=$(csv_items ASTERISK_LOCAL_NETS "${ASTERISK_LOCAL_NETS:-}") || exit 1
    if [ -n "$media$signaling" ] && [ -z "$nets" ]; then
        die "ASTERISK_EXTERNAL_ADDRESS needs ASTERISK_LOCAL_NETS (the networks reached without NAT," \
            "e.g. 10.0.0.0/8,192.168.0.0/16,127.0.0.0/8): without it the public address goes to local peers too"
    fi
    echo "; Rendered by asterisk/lab/pjsip-site.sh from ASTERISK_EXTERNAL_*, ASTERISK_LOCAL_NETS, ASTERISK_MEDIA_ADDRESS."
    echo "[site-transport](!)"
    if [ -n "$media" ]; then plain ASTERISK_EXTERNAL_MEDIA_ADDRESS "$media"; echo "external_media_address = $media"; fi
    if [ -n "$signaling" ]; then
        plain ASTERISK_EXTERNAL_SIGNALING_ADDRESS "$signaling"
        echo "external_signaling_address = $signaling"
    fi
    for net in $nets; do echo "local_net = $net"; done
    echo
    echo "[site-media](!)"
    # An address of this host for RTP (bound and put in SDP). Empty: Asterisk's choice, which is what a
    # NATed VM wants (external_media_address then rewrites SDP for outside peers). Never the public IP of
    # a NATed host: binding to an address no interface has fails and the call has no audio.
    if [ -n "${ASTERISK_MEDIA_ADDRESS:-}" ]; then
        plain ASTERISK_MEDIA_ADDRESS "$ASTERISK_MEDIA_ADDRESS"
        echo "media_address = $ASTERISK_MEDIA_ADDRESS"
        echo "bind_rtp_to_media_address = yes"
    fi
    # A carrier that wants SIP over TCP (large INVITEs, some wholesale routes) gets a TCP transport on
    # the same address and port. TLS needs certificates: by hand (docs/trunks-and-phones.md).
    case ${TRUNK_TRANSPORT:-udp} in
    udp) ;;
    tcp) printf '\n[transport-tcp](site-transport)\ntype = transport\nprotocol = tcp\nbind = %s:%s\n' \
        "$ASTERISK_SIP_BIND" "$ASTERISK_SIP_PORT" ;;
    *) die "TRUNK_TRANSPORT must be udp or tcp (TLS: docs/trunks-and-phones.md), not '$TRUNK_TRANSPORT'" ;;
    esac
}

# pjsip_trunk.conf: the trunk's mode (asterisk/etc/trunk/{ip,register}.conf, envsubst with SHELL_FORMAT),
# then its site options, aor (contact, qualify) and identify (every carrier address).
render_pjsip_trunk() {
    local shell_format=$1 match item codecs
    # The transport to the carrier, and the URI parameter that names it (render_pjsip_network checked it).
    TRUNK_SIP_TRANSPORT=transport-${TRUNK_TRANSPORT:-udp}
    TRUNK_URI_PARAMS=
    # '\;': Asterisk's config files read a bare ';' as the start of a comment.
    [ "${TRUNK_TRANSPORT:-udp}" = udp ] || TRUNK_URI_PARAMS="\\;transport=$TRUNK_TRANSPORT"
    case "${TRUNK_REGISTER:-no}" in
    no) envsubst "$shell_format" <"$REPO_ROOT/asterisk/etc/trunk/ip.conf" ;;
    yes)
        [ -n "${TRUNK_USER:-}" ] && [ -n "${TRUNK_PASSWORD:-}" ] || die "TRUNK_REGISTER=yes needs TRUNK_USER and TRUNK_PASSWORD"
        if [ "${CALLCENTER_MODE:-lab}" = production ] && [ ${#TRUNK_PASSWORD} -lt 12 ]; then
            die "refusing to render production config: TRUNK_PASSWORD is shorter than 12 characters"
        fi
        plain TRUNK_USER "$TRUNK_USER"
        plain TRUNK_PASSWORD "$TRUNK_PASSWORD"
        # The registrar's domain: the carrier's own when it gives one (TRUNK_FROM_DOMAIN), else its host.
        TRUNK_REGISTER_DOMAIN=${TRUNK_FROM_DOMAIN:-$TRUNK_HOST}
        export TRUNK_USER TRUNK_PASSWORD TRUNK_REGISTER_DOMAIN TRUNK_SIP_TRANSPORT TRUNK_URI_PARAMS
        envsubst "$shell_format \${TRUNK_USER} \${TRUNK_PASSWORD} \${TRUNK_REGISTER_DOMAIN} \${TRUNK_SIP_TRANSPORT} \${TRUNK_URI_PARAMS}" \
            <"$REPO_ROOT/asterisk/etc/trunk/register.conf"
        ;;
    *) die "TRUNK_REGISTER must be yes or no, not '$TRUNK_REGISTER'" ;;
    esac
    echo
    echo "; Rendered by asterisk/lab/pjsip-site.sh from TRUNK_* settings."
    echo "[trunk-site](!)"
    codecs=${TRUNK_CODECS:-ulaw,alaw}
    plain TRUNK_CODECS "$codecs"
    printf 'transport = %s\ndisallow = all\nallow = %s\n' "$TRUNK_SIP_TRANSPORT" "$codecs"
    # What the carrier expects in From (often the account or the DID, and its own domain).
    if [ -n "${TRUNK_FROM_USER:-}" ]; then plain TRUNK_FROM_USER "$TRUNK_FROM_USER"; echo "from_user = $TRUNK_FROM_USER"; fi
    if [ -n "${TRUNK_FROM_DOMAIN:-}" ]; then
        plain TRUNK_FROM_DOMAIN "$TRUNK_FROM_DOMAIN"
        echo "from_domain = $TRUNK_FROM_DOMAIN"
    fi
    case ${TRUNK_QUALIFY_FREQUENCY:-0} in *[!0-9]*) die "TRUNK_QUALIFY_FREQUENCY must be seconds (0: off)" ;; esac
    printf '\n[trunk]\ntype = aor\ncontact = sip:%s:%s%s\nqualify_frequency = %s\n' \
        "$TRUNK_HOST" "$TRUNK_PORT" "$TRUNK_URI_PARAMS" "${TRUNK_QUALIFY_FREQUENCY:-0}"
    # Calls are taken from these addresses only (identify_by = ip): the carrier's every signalling host.
    printf '\n[trunk]\ntype = identify\nendpoint = trunk\n'
    match=$(csv_items TRUNK_MATCH "${TRUNK_MATCH:-$TRUNK_HOST}") || exit 1
    [ -n "$match" ] || die "TRUNK_MATCH names no address"
    for item in $match; do echo "match = $item"; done
}

# softphone_vars: the password variable of each phone in SOFTPHONES (checked by render-config.sh).
softphone_vars() {
    local ext
    for ext in $(csv_items SOFTPHONES "${SOFTPHONES:-}"); do
        [[ $ext =~ ^[0-9]{2,8}$ ]] || die "SOFTPHONES: '$ext' is not an extension (2 to 8 digits)"
        echo "SOFTPHONE_${ext}_PASSWORD"
    done
}

# pjsip_phones.conf: one endpoint, auth and aor per extension in SOFTPHONES, each its own password
# (SOFTPHONE_<ext>_PASSWORD; in the lab lab-phone-<ext> when unset). Templates in pjsip.conf.
render_pjsip_phones() {
    local ext var password
    echo "; Rendered by asterisk/lab/pjsip-site.sh from SOFTPHONES and SOFTPHONE_<ext>_PASSWORD."
    for var in $(softphone_vars); do
        ext=${var#SOFTPHONE_}
        ext=${ext%_PASSWORD}
        password=${!var:-}
        if [ -z "$password" ]; then
            [ "${CALLCENTER_MODE:-lab}" != production ] || die "$var is not set (each phone in SOFTPHONES needs its own)"
            password=lab-phone-$ext
        fi
        plain "$var" "$password"
        printf '\n[%s](phone)\nauth = %s\naors = %s\ncallerid = "Phone %s" <%s>\n' "$ext" "$ext" "$ext" "$ext" "$ext"
        printf '\n[%s](phone-auth)\nusername = %s\npassword = %s\n' "$ext" "$ext" "$password"
        printf '\n[%s](phone-aor)\n' "$ext"
    done
}
