"""The resolver of the webhook worker's HTTP session: DNS answers checked against the egress policy.

aiohttp connects to exactly the addresses its resolver returns, so checking them here, rather than
resolving the URL's name beforehand and trusting it, leaves no gap for a name that answers a public
address to a check and 127.0.0.1 to the connection a moment later (DNS rebinding). The connector's
DNS cache holds only answers that passed. Addresses written in the URL never reach a resolver
(aiohttp connects to them directly): `EgressPolicy.refusal_for_literal` covers those.
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from campaigns.webhooks.egress import EgressPolicy, EgressRefused


class GuardedResolver(AbstractResolver):
    """Resolves with `inner` (aiohttp's default resolver unless given); raises `EgressRefused`,
    before any connection, when any address of the answer is not one the policy lets us reach."""

    def __init__(self, policy: EgressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        refusal = self._policy.first_refusal(host, (a["host"] for a in answers))
        if refusal is not None:
            raise EgressRefused(refusal)
        return answers

    async def close(self) -> None:
        await self._inner.close()
