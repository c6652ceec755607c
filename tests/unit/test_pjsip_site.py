"""The site's part of the rendered PJSIP config (asterisk/lab/pjsip-site.sh): NAT, the carrier trunk, the phones.

Read as Asterisk reads it, repeated options kept (a carrier has several `match` lines, a NATed host
several `local_net`s): what each setting turns into, and what is refused before Asterisk sees it.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_pjsip_config import _render, pjsip_text

Options = list[tuple[str, str]]


def sections(text: str) -> list[tuple[str, Options]]:
    """[name](templates) sections with every option line in order, templates' lines first."""
    templates: dict[str, Options] = {}
    out: list[tuple[str, Options]] = []
    current: Options | None = None
    for raw in text.splitlines():
        line = re.split(r"(?<!\\);", raw, maxsplit=1)[0].replace("\\;", ";").strip()  # '\;' is a literal ';'
        if not line:
            continue
        if line.startswith("["):
            name, _, rest = line[1:].partition("]")
            current = [o for t in rest.strip("()").split(",") if t.strip() not in ("", "!")
                       for o in templates.get(t.strip(), [])]
            (templates.__setitem__(name, current) if "!" in rest else out.append((name, current)))
            continue
        key, _, value = line.partition("=")
        if current is not None:
            current.append((key.strip(), value.strip()))
    return out


def rendered(tmp_path: Path, **env: str) -> list[tuple[str, Options]]:
    run = _render(tmp_path, **env)
    assert run.returncode == 0, run.stderr
    return sections(pjsip_text(tmp_path))


def one(config: list[tuple[str, Options]], name: str, kind: str) -> dict[str, list[str]]:
    (found,) = [opts for n, opts in config if n == name and ("type", kind) in opts]
    values: dict[str, list[str]] = {}
    for key, value in found:
        values.setdefault(key, []).append(value)
    return values


def test_the_lab_has_no_nat_and_binds_rtp_to_loopback(tmp_path) -> None:
    config = rendered(tmp_path)
    transport = one(config, "transport-udp", "transport")
    assert not {"external_media_address", "external_signaling_address", "local_net"} & set(transport)
    for name in ("trunk", "1001"):
        endpoint = one(config, name, "endpoint")
        assert endpoint["media_address"] == ["127.0.0.1"] and endpoint["bind_rtp_to_media_address"] == ["yes"]


def test_behind_nat_the_public_address_is_advertised_and_rtp_binds_locally(tmp_path) -> None:
    config = rendered(tmp_path, ASTERISK_EXTERNAL_ADDRESS="203.0.113.10", ASTERISK_MEDIA_ADDRESS="",
                      ASTERISK_LOCAL_NETS="10.0.0.0/8, 192.168.0.0/16,127.0.0.0/8")
    transport = one(config, "transport-udp", "transport")
    assert transport["external_media_address"] == transport["external_signaling_address"] == ["203.0.113.10"]
    assert transport["local_net"] == ["10.0.0.0/8", "192.168.0.0/16", "127.0.0.0/8"]
    # No media_address: binding RTP to the public address, which no interface of a NATed VM has, fails.
    for name in ("trunk", "1001"):
        endpoint = one(config, name, "endpoint")
        assert "media_address" not in endpoint and "bind_rtp_to_media_address" not in endpoint


def test_media_and_signalling_may_go_out_through_different_addresses(tmp_path) -> None:
    config = rendered(tmp_path, ASTERISK_EXTERNAL_MEDIA_ADDRESS="203.0.113.20",
                      ASTERISK_EXTERNAL_SIGNALING_ADDRESS="sip.example.net", ASTERISK_LOCAL_NETS="10.1.0.0/16")
    transport = one(config, "transport-udp", "transport")
    assert transport["external_media_address"] == ["203.0.113.20"]
    assert transport["external_signaling_address"] == ["sip.example.net"]


def test_nat_without_local_networks_or_with_a_smuggled_line_is_refused(tmp_path) -> None:
    no_nets = _render(tmp_path / "a", ASTERISK_EXTERNAL_ADDRESS="203.0.113.10")
    assert no_nets.returncode != 0 and "needs ASTERISK_LOCAL_NETS" in no_nets.stderr
    smuggled = _render(tmp_path / "b", ASTERISK_EXTERNAL_ADDRESS="203.0.113.10",
                       ASTERISK_LOCAL_NETS="10.0.0.0/8\n[evil]\ntype=endpoint")
    assert smuggled.returncode != 0 and "ASTERISK_LOCAL_NETS has a line break" in smuggled.stderr


def test_a_carrier_with_several_addresses_from_user_domain_codecs_and_qualify(tmp_path) -> None:
    config = rendered(tmp_path, TRUNK_HOST="sip.carrier.example", TRUNK_PORT="5060",
                      TRUNK_MATCH="203.0.113.5, 203.0.113.6,198.51.100.0/24", TRUNK_FROM_USER="56225550000",
                      TRUNK_FROM_DOMAIN="carrier.example", TRUNK_CODECS="alaw,ulaw", TRUNK_QUALIFY_FREQUENCY="60")
    assert one(config, "trunk", "identify")["match"] == ["203.0.113.5", "203.0.113.6", "198.51.100.0/24"]
    aor = one(config, "trunk", "aor")
    assert aor["contact"] == ["sip:sip.carrier.example:5060"] and aor["qualify_frequency"] == ["60"]
    endpoint = one(config, "trunk", "endpoint")
    assert endpoint["from_user"] == ["56225550000"] and endpoint["from_domain"] == ["carrier.example"]
    assert endpoint["allow"][-1] == "alaw,ulaw" and endpoint["disallow"][-1] == "all"
    assert endpoint["identify_by"] == ["ip"] and "auth" not in endpoint


def test_the_carriers_address_is_its_match_by_default(tmp_path) -> None:
    config = rendered(tmp_path, TRUNK_HOST="198.51.100.7")
    assert one(config, "trunk", "identify")["match"] == ["198.51.100.7"]
    endpoint = one(config, "trunk", "endpoint")
    assert "from_user" not in endpoint and "from_domain" not in endpoint


def test_a_registering_carrier_registers_in_its_own_domain(tmp_path) -> None:
    config = rendered(tmp_path, TRUNK_HOST="sip.carrier.example", TRUNK_REGISTER="yes", TRUNK_USER="cc-4471",
                      TRUNK_PASSWORD="carrier-secret-99", TRUNK_FROM_DOMAIN="voip.carrier.example")
    registration = one(config, "trunk-registration", "registration")
    assert registration["client_uri"] == ["sip:cc-4471@voip.carrier.example"]
    assert registration["server_uri"] == ["sip:sip.carrier.example:5070"]
    assert one(config, "trunk", "endpoint")["outbound_auth"] == ["trunk-auth"]
    # Asterisk would cut the password at ';' (a comment); the error names the setting, never the value.
    cut = _render(tmp_path / "x", TRUNK_REGISTER="yes", TRUNK_USER="cc-4471", TRUNK_PASSWORD="carrier;secret")
    assert cut.returncode != 0 and "TRUNK_PASSWORD has a space or ';'" in cut.stderr
    assert "carrier;secret" not in cut.stderr


def test_phones_come_from_the_list_each_with_its_password_and_qualify(tmp_path) -> None:
    config = rendered(tmp_path, SOFTPHONES="2001, 2002,305", SOFTPHONE_2001_PASSWORD="desk-2001-secret",
                      SOFTPHONE_305_PASSWORD="reception-secret")
    phones = [n for n, opts in config if ("type", "endpoint") in opts and ("context", "from-phones") in opts]
    assert phones == ["2001", "2002", "305"]
    passwords = {n: one(config, n, "auth")["password"] for n in phones}
    assert passwords == {"2001": ["desk-2001-secret"], "2002": ["lab-phone-2002"], "305": ["reception-secret"]}
    for n in phones:
        aor = one(config, n, "aor")
        assert int(aor["qualify_frequency"][0]) > 0 and aor["max_contacts"] == ["1"]
        assert one(config, n, "endpoint")["auth"] == [n]


def test_production_needs_every_listed_phones_password_and_a_real_extension(tmp_path) -> None:
    strong = {"ARI_PASSWORD": "k8#Vq2-long-random-ari", "SOFTPHONE_2001_PASSWORD": "a" * 16}
    missing = _render(tmp_path / "a", CALLCENTER_MODE="production", SOFTPHONES="2001,2002", **strong)
    assert missing.returncode != 0 and "SOFTPHONE_2002_PASSWORD is not set" in missing.stderr
    ok = _render(tmp_path / "b", CALLCENTER_MODE="production", SOFTPHONES="2001", **strong)
    assert ok.returncode == 0, ok.stderr
    bad = _render(tmp_path / "c", SOFTPHONES="1001,sales")
    assert bad.returncode != 0 and "'sales' is not an extension" in bad.stderr


def test_a_carrier_over_tcp_gets_a_tcp_transport_for_calls_and_registration(tmp_path) -> None:
    config = rendered(tmp_path, TRUNK_TRANSPORT="tcp", TRUNK_HOST="sip.carrier.example", TRUNK_PORT="5060",
                      TRUNK_REGISTER="yes", TRUNK_USER="cc-4471", TRUNK_PASSWORD="carrier-secret-99")
    tcp = one(config, "transport-tcp", "transport")
    assert tcp["protocol"] == ["tcp"] and tcp["bind"] == ["127.0.0.1:5060"]
    assert one(config, "trunk", "endpoint")["transport"][-1] == "transport-tcp"
    # ';transport=tcp' must reach Asterisk escaped, or it reads the rest of the line as a comment.
    assert one(config, "trunk", "aor")["contact"] == ["sip:sip.carrier.example:5060;transport=tcp"]
    registration = one(config, "trunk-registration", "registration")
    assert registration["transport"] == ["transport-tcp"]
    assert registration["server_uri"] == ["sip:sip.carrier.example:5060;transport=tcp"]
    assert one(config, "1001", "endpoint")["transport"] == ["transport-udp"]  # the phones stay on UDP
    refused = _render(tmp_path / "x", TRUNK_TRANSPORT="tls")
    assert refused.returncode != 0 and "TRUNK_TRANSPORT must be udp or tcp" in refused.stderr
