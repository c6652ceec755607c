"""The webhook egress policy and its resolver: which addresses a webhook may reach, and a DNS answer
that changes between two lookups (rebinding) refused at the lookup the connection uses."""

from __future__ import annotations

import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import ValidationError

from ari_app.settings import Settings
from campaigns.webhooks.egress import EgressPolicy, EgressRefused, parse_networks
from campaigns.webhooks.resolver import GuardedResolver

STRICT = EgressPolicy()


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "a loopback address"),
    ("127.8.9.10", "a loopback address"),
    ("::1", "a loopback address"),
    ("169.254.169.254", "a link-local address (cloud metadata lives there)"),
    ("fe80::1", "a link-local address (cloud metadata lives there)"),
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.0.1", "a private address"),
    ("fc00::5", "a private address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("224.0.0.251", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("100.64.0.1", "not a public address"),  # carrier-grade NAT
])
def test_internal_addresses_are_refused_with_what_they_are(address, kind):
    assert STRICT.refusal(address) == f"refused: {address} is {kind}; allow it with WEBHOOK_ALLOWED_NETWORKS"


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_go(address):
    assert STRICT.refusal(address) is None


def test_ipv4_written_as_ipv6_is_judged_as_the_ipv4_address():
    assert "127.0.0.1 is a loopback address" in STRICT.refusal("::ffff:127.0.0.1")
    assert "169.254.169.254 is a link-local" in STRICT.refusal("64:ff9b::a9fe:a9fe")  # NAT64
    assert EgressPolicy.parse("127.0.0.0/8").refusal("::ffff:127.0.0.1") is None


def test_the_allow_list_opens_its_networks_and_nothing_else():
    lan = EgressPolicy.parse(" 10.20.0.0/16 , 192.168.1.7,fd12::/64 ")
    assert [str(n) for n in lan.allowed] == ["10.20.0.0/16", "192.168.1.7/32", "fd12::/64"]
    assert lan.refusal("10.20.3.4") is None and lan.refusal("192.168.1.7") is None
    assert lan.refusal("fd12::9") is None
    assert lan.refusal("10.21.0.1") is not None and lan.refusal("192.168.1.8") is not None
    assert lan.refusal("127.0.0.1") is not None and lan.refusal("169.254.169.254") is not None
    assert parse_networks("") == () and parse_networks(" , ") == ()
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_NETWORKS: 'localhost' is not a network"):
        parse_networks("10.0.0.0/8,localhost")


def test_url_hosts_written_as_addresses_are_checked_before_any_lookup():
    assert "10.0.0.1 is a private address" in STRICT.refusal_for_literal("10.0.0.1")
    assert "::1 is a loopback address" in STRICT.refusal_for_literal("::1")
    assert STRICT.refusal_for_literal("crm.example") is None  # a name: the resolver's job
    # Forms that socket would map onto 127.0.0.1 are refused outright, whatever the allow-list.
    assert STRICT.refusal_for_literal("2130706433") == "refused: 2130706433 is not a plain IP address"
    assert STRICT.refusal_for_literal("127.1") == "refused: 127.1 is not a plain IP address"


def test_the_setting_is_checked_at_start(monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "10.1.0.0/16,127.0.0.1")
    assert [str(n) for n in Settings().webhook_egress().allowed] == ["10.1.0.0/16", "127.0.0.1/32"]
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "10.1.0.0/33")
    with pytest.raises(ValidationError, match="WEBHOOK_ALLOWED_NETWORKS"):
        Settings()
    monkeypatch.delenv("WEBHOOK_ALLOWED_NETWORKS")
    assert Settings().webhook_egress() == EgressPolicy()  # empty by default: nothing internal


class ScriptedDns(AbstractResolver):
    """A DNS whose answers the test chooses, one list per lookup (a rebinding attacker's server)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.closed = False

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                              proto=0, flags=0) for a in self.answers.pop(0)]

    async def close(self) -> None:
        self.closed = True


async def test_the_resolver_refuses_a_rebound_name_at_the_lookup_the_connection_uses():
    dns = ScriptedDns(["93.184.215.14"], ["127.0.0.1"])
    resolver = GuardedResolver(STRICT, dns)
    assert [a["host"] for a in await resolver.resolve("crm.example", 443)] == ["93.184.215.14"]
    with pytest.raises(EgressRefused, match="crm.example resolves to 127.0.0.1, which is a loopback address"):
        await resolver.resolve("crm.example", 443)
    await resolver.close()
    assert dns.closed


async def test_the_resolver_refuses_a_name_when_any_of_its_addresses_is_internal():
    resolver = GuardedResolver(STRICT, ScriptedDns(["93.184.215.14", "169.254.169.254"], ["8.8.8.8", "10.0.0.1"]))
    with pytest.raises(EgressRefused, match="169.254.169.254, which is a link-local address"):
        await resolver.resolve("crm.example", 80)
    with pytest.raises(EgressRefused, match="10.0.0.1, which is a private address"):
        await resolver.resolve("crm.example", 80)
    lan = GuardedResolver(EgressPolicy.parse("10.0.0.0/8"), ScriptedDns(["10.0.0.1"]))
    assert [a["host"] for a in await lan.resolve("crm.lan", 80)] == ["10.0.0.1"]
