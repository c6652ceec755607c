"""Bearer-token authentication for every endpoint not declared public.

Tokens are compared in constant time. Several tokens may be valid at once (`API_TOKENS` is a
comma-separated list) so one can be rotated without downtime. A missing and a wrong token are
told apart in the message, never in timing, and the token itself never reaches a log.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from aiohttp import web

from api.errors import Handler, error_response

PUBLIC: web.AppKey[frozenset[object]] = web.AppKey("public_handlers", frozenset)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="callcenter"'}


class TokenAuth:
    def __init__(self, tokens: Iterable[str]) -> None:
        self._tokens = [t.encode() for t in tokens if t]
        if not self._tokens:
            raise ValueError("the operator API needs at least one token (API_TOKENS)")

    def valid(self, presented: str) -> bool:
        try:
            candidate = presented.encode()
        except UnicodeEncodeError:  # bytes that were not UTF-8 in the header: no token of ours
            return False
        # Check every token whatever the result, so the time taken does not say which one matched.
        return sum(hmac.compare_digest(candidate, t) for t in self._tokens) > 0

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.handler in request.app[PUBLIC] or request.method == "OPTIONS":
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return error_response(401, "missing token: send 'Authorization: Bearer <API token>'", headers=_CHALLENGE)
        if scheme.lower() != "bearer" or not self.valid(token.strip()):
            return error_response(401, "invalid token", headers=_CHALLENGE)
        return await handler(request)
