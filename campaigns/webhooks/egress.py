"""Where webhook requests may go: public addresses, and the operator's allow-list.

Whoever can register a webhook chooses where this process sends POSTs and what the test ping and
the deliveries list report back. Left open, that reaches what only this host can reach: Asterisk's
ARI on 127.0.0.1:8088, the cloud's metadata service (169.254.169.254, credentials), the LAN. So a
request goes only to public addresses, unless the address is in `WEBHOOK_ALLOWED_NETWORKS` (a
receiver on the LAN, or the tests' on 127.0.0.1). The check runs on the addresses actually
connected to (see `resolver`), not on the URL's name, so DNS cannot point it elsewhere afterwards.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_SETTING = "WEBHOOK_ALLOWED_NETWORKS"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # IPv4 addresses reached through a NAT64 gateway


class EgressRefused(OSError):
    """A webhook request refused before any connection: its address is not one we may reach.

    An OSError, so that aiohttp, which calls the resolver, reports it as a connection failure
    (`ClientConnectorError.os_error`) instead of as a bug.
    """


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """`WEBHOOK_ALLOWED_NETWORKS`: comma-separated CIDRs (a bare address is a /32 or /128)."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{ALLOW_SETTING}: {item!r} is not a network such as 10.1.2.0/24 ({exc})") from None
    return tuple(networks)


def _kind(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address, or None when it is. The most telling reason first:
    127.0.0.1 and 169.254.169.254 are private too, but "loopback" and "link-local" say more."""
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:  # before private: Python versions disagree on whether 240/4 is private too
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:  # shared (100.64/10), documentation and other special-purpose ranges
        return "not a public address"
    return None


def _effective(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (::ffff:127.0.0.1 reaches 127.0.0.1)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _looks_numeric(host: str) -> bool:
    """What aiohttp takes for an IP address and connects to without asking the resolver."""
    return ":" in host or host.replace(".", "").isdigit()


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Public addresses, plus `allowed` (empty by default: nothing private is reachable)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> EgressPolicy:
        return cls(parse_networks(text))

    def refusal(self, ip: IPAddress | str, *, host: str | None = None) -> str | None:
        """Why a request to `ip` (reached as `host`) is refused, or None when it may go."""
        ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        target = _effective(ip)
        if any(target in net or ip in net for net in self.allowed):  # a v4 network never holds a v6 address
            return None
        kind = _kind(target)
        if kind is None:
            return None
        what = f"{target} is" if host is None else f"{host} resolves to {target}, which is"
        return f"refused: {what} {kind}; allow it with {ALLOW_SETTING}"

    def refusal_for_literal(self, host: str) -> str | None:
        """The check for a URL whose host is an address (aiohttp skips the resolver for those)."""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            if _looks_numeric(host):  # 2130706433, 127.1: forms that socket would still map to an address
                return f"refused: {host} is not a plain IP address"
            return None  # a name: checked by the resolver, on the addresses it returns
        return self.refusal(ip)

    def first_refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        """Refused when any of the name's addresses is: a name that is half public, half internal
        would otherwise reach the internal half whenever the public one does not answer."""
        return next((r for a in addresses if (r := self.refusal(a, host=host)) is not None), None)
