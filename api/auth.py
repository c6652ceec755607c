"""Who is calling: a machine token (an integration) or an operator's session token, both as bearer tokens.

Machine tokens (`API_TOKENS`, a comma-separated list, so one can be rotated without downtime) are
compared in constant time; a session token is looked up by its SHA-256 (`campaigns.operators`). A
missing and a wrong token are told apart in the message, never in timing, and a token never reaches a
log. Bearer tokens in a header, not cookies: a page on another site cannot make the browser send one,
so no request can be forged across sites.

The caller, once known, is `request[PRINCIPAL]`; each endpoint's least role is checked where the
endpoint is declared (`api.endpoint.Endpoint.role`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from api.errors import Handler, error_response
from campaigns.operators import MACHINE, Principal

PUBLIC: web.AppKey[frozenset[object]] = web.AppKey("public_handlers", frozenset)
PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)  # the caller, once known
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="callcenter"'}
SessionLookup = Callable[[str], Awaitable[Principal | None]]


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class Authenticator:
    def __init__(self, tokens: Iterable[str], sessions: SessionLookup | None = None) -> None:
        self._tokens = [t.encode() for t in tokens if t]
        if not self._tokens:
            raise ValueError("the operator API needs at least one token (API_TOKENS)")
        self._sessions = sessions

    def valid(self, presented: str) -> bool:
        """A machine token."""
        try:
            candidate = presented.encode()
        except UnicodeEncodeError:  # bytes that were not UTF-8 in the header: no token of ours
            return False
        # Check every token whatever the result, so the time taken does not say which one matched.
        return sum(hmac.compare_digest(candidate, t) for t in self._tokens) > 0

    async def principal(self, token: str) -> Principal | None:
        if self.valid(token):
            return MACHINE
        if self._sessions is None or not token.isascii() or len(token) > 200:
            return None
        return await self._sessions(token)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.handler in request.app[PUBLIC] or request.method == "OPTIONS":
            return await handler(request)
        if not request.headers.get("Authorization"):
            return error_response(401, "missing token: send 'Authorization: Bearer <API or session token>'",
                                  headers=_CHALLENGE)
        token = bearer_token(request)
        who = await self.principal(token) if token else None
        if who is None:
            return error_response(401, "invalid or expired token", headers=_CHALLENGE)
        request[PRINCIPAL] = who
        return await handler(request)
