"""A real webhook receiver for tests: aiohttp on 127.0.0.1, checking every request's signature.

It can be down (not listening: the port stays reserved by nobody), answer an error status, or be
slow; every request that reached it is kept, with what it answered.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from campaigns.webhooks import EgressPolicy, SignatureError, verify_request

# The receiver listens on 127.0.0.1, which the webhook worker refuses by default (loopback): a worker
# that is to reach it is given this allow-list explicitly, as an operator would a LAN receiver's.
ALLOW_LOOPBACK = EgressPolicy.parse("127.0.0.0/8")


@dataclass(frozen=True, slots=True)
class Hit:
    path: str
    event_id: str
    event: str
    attempt: int
    signature: str
    raw: bytes
    body: dict[str, Any]
    signature_error: str | None
    answered: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.answered < 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """POST /<name>: verified with `secrets["/<name>"]`; answers `status` (401 on a bad signature)."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.secrets: dict[str, str] = {}
        self.status = 200
        self.error_text = "down for maintenance"  # the body of an error answer
        self.delay_s = 0.0
        self.hits: list[Hit] = []
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{name}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def accepted(self, path: str | None = None) -> list[Hit]:
        return [h for h in self.hits if h.accepted and (path is None or h.path == path)]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        header = request.headers.get("X-Signature", "")
        try:
            verify_request(self.secrets[request.path], request.headers, raw, now=time.time())
            error = None
        except SignatureError as exc:
            error = str(exc)
        answered = 401 if error else self.status
        self.hits.append(Hit(request.path, request.headers.get("X-Event-Id", ""),
                             request.headers.get("X-Event-Type", ""), int(request.headers.get("X-Delivery-Attempt", 0)),
                             header, raw, json.loads(raw), error, answered))
        return web.Response(status=answered, text="ok" if answered < 300 else self.error_text)
