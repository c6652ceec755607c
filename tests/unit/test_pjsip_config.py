"""The rendered PJSIP configuration, read as Asterisk would: who can be who.

An endpoint without authentication is trusted on its address alone, so it must be identified by its
address alone: `identify_by = ip`. Otherwise any host can claim to be it by the From user (the carrier
trunk was, and an INVITE from anywhere reached the agent: tests/integration/test_trunk_identity.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def sections(text: str) -> list[tuple[str, dict[str, str]]]:
    """[name](templates) sections with their options, in order; templates' options are inherited."""
    templates: dict[str, dict[str, str]] = {}
    out: list[tuple[str, dict[str, str]]] = []
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            name, _, rest = line[1:].partition("]")
            inherits = [t.strip() for t in rest.strip("()").split(",") if t.strip() and t.strip() != "!"]
            current = {}
            for template in inherits:
                current.update(templates.get(template, {}))
            if "!" in rest:
                templates[name] = current
            else:
                out.append((name, current))
            continue
        key, _, value = line.partition("=")
        if current is not None:
            current[key.strip()] = value.strip()
    return out


def pjsip_text(rendered: Path) -> str:
    """pjsip.conf as Asterisk reads it: its `#include`s expanded in place."""
    return "".join((rendered / line.split()[1]).read_text() + "\n" if line.startswith("#include") else line
                   for line in (rendered / "pjsip.conf").read_text().splitlines(keepends=True))


@pytest.fixture(scope="module")
def pjsip(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, str]]]:
    out = tmp_path_factory.mktemp("rendered")
    run = subprocess.run(["bash", str(ROOT / "asterisk/lab/render-config.sh"), str(out)], capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return sections(pjsip_text(out))


def test_every_endpoint_without_auth_is_identified_by_its_address_only(pjsip) -> None:
    endpoints = [(name, o) for name, o in pjsip if o.get("type") == "endpoint"]
    assert any(name == "trunk" for name, _ in endpoints)
    open_ones = [(name, o) for name, o in endpoints if not o.get("auth")]
    assert open_ones, "the carrier trunk has no auth: it is trusted by address"
    assert all(o.get("identify_by") == "ip" for _, o in open_ones), open_ones
    # ...and each has the address it is identified by.
    identified = {o.get("endpoint") for _, o in pjsip if o.get("type") == "identify" and o.get("match")}
    assert {name for name, _ in open_ones} <= identified


def test_phones_authenticate(pjsip) -> None:
    phones = [(name, o) for name, o in pjsip if o.get("type") == "endpoint" and o.get("context") == "from-phones"]
    assert phones and all(o.get("auth") == name for name, o in phones)
    assert all(o.get("identify_by", "username") == "username" for _, o in phones)


def _render(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "asterisk/lab/render-config.sh"), str(tmp_path)], capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, **env})


def test_each_softphone_has_its_own_password(pjsip) -> None:
    auths = {o["username"]: o.get("password", "") for _, o in pjsip if o.get("type") == "auth"}
    assert set(auths) == {"1001", "1002", "1003"}
    assert all(auths.values()) and len(set(auths.values())) == 3, auths


@pytest.mark.parametrize(("change", "why"), [
    ({}, "ARI_PASSWORD is a lab default"),
    ({"ARI_PASSWORD": "k8#Vq2-long-random-ari"}, "SOFTPHONE_1001_PASSWORD is not set"),
    ({"ARI_PASSWORD": "k8#Vq2-long-random-ari", "SOFTPHONE_1001_PASSWORD": "lab-phone-1001"},
     "SOFTPHONE_1001_PASSWORD is a lab default"),
    ({"ARI_PASSWORD": "k8#Vq2-long-random-ari", "SOFTPHONE_1001_PASSWORD": "short-1",
      "SOFTPHONE_1002_PASSWORD": "x" * 16, "SOFTPHONE_1003_PASSWORD": "y" * 16}, "shorter than 12"),
    ({"ARI_PASSWORD": "k8#Vq2-long-random-ari", "SOFTPHONE_1001_PASSWORD": "same-password-16",
      "SOFTPHONE_1002_PASSWORD": "same-password-16", "SOFTPHONE_1003_PASSWORD": "y" * 16}, "repeats another"),
])
def test_production_refuses_lab_short_or_shared_passwords(tmp_path, change, why) -> None:
    run = _render(tmp_path, CALLCENTER_MODE="production", **change)
    assert run.returncode != 0 and why in run.stderr, run.stderr


def test_production_renders_with_real_distinct_passwords(tmp_path) -> None:
    run = _render(tmp_path, CALLCENTER_MODE="production", ARI_PASSWORD="k8#Vq2-long-random-ari",
                  SOFTPHONE_1001_PASSWORD="a" * 16, SOFTPHONE_1002_PASSWORD="b" * 16, SOFTPHONE_1003_PASSWORD="c" * 16)
    assert run.returncode == 0, run.stderr
    auths = {o["username"]: o["password"] for _, o in sections(pjsip_text(tmp_path)) if o.get("type") == "auth"}
    assert auths == {"1001": "a" * 16, "1002": "b" * 16, "1003": "c" * 16}


def test_the_trunk_by_address_neither_registers_nor_authenticates(pjsip) -> None:
    assert not [name for name, o in pjsip if o.get("type") == "registration"]
    (trunk,) = [o for name, o in pjsip if name == "trunk" and o.get("type") == "endpoint"]
    assert "outbound_auth" not in trunk and trunk["identify_by"] == "ip"


def test_a_registering_trunk_authenticates_and_is_still_identified_by_address(tmp_path) -> None:
    run = _render(tmp_path, TRUNK_REGISTER="yes", TRUNK_USER="cc-4471", TRUNK_PASSWORD="carrier-secret-99")
    assert run.returncode == 0, run.stderr
    config = sections(pjsip_text(tmp_path))
    (trunk,) = [o for name, o in config if name == "trunk" and o.get("type") == "endpoint"]
    (registration,) = [o for name, o in config if o.get("type") == "registration"]
    (auth,) = [o for name, o in config if name == "trunk-auth"]
    assert trunk["outbound_auth"] == registration["outbound_auth"] == "trunk-auth"
    assert (auth["username"], auth["password"]) == ("cc-4471", "carrier-secret-99")
    assert registration["client_uri"].startswith("sip:cc-4471@") and registration["endpoint"] == "trunk"
    assert trunk["identify_by"] == "ip"  # a From user still identifies nothing
    missing = _render(tmp_path / "x", TRUNK_REGISTER="yes", TRUNK_USER="cc-4471")
    assert missing.returncode != 0 and "needs TRUNK_USER and TRUNK_PASSWORD" in missing.stderr
    weak = _render(tmp_path / "y", CALLCENTER_MODE="production", ARI_PASSWORD="k8#Vq2-long-random-ari",
                   SOFTPHONE_1001_PASSWORD="a" * 16, SOFTPHONE_1002_PASSWORD="b" * 16,
                   SOFTPHONE_1003_PASSWORD="c" * 16, TRUNK_REGISTER="yes", TRUNK_USER="u", TRUNK_PASSWORD="short")
    assert weak.returncode != 0 and "TRUNK_PASSWORD is shorter" in weak.stderr
