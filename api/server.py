"""The operator HTTP API and dashboard: one aiohttp application, started and stopped with the app.

    async with OperatorApi(services, tokens=["..."], host="127.0.0.1", port=8080) as api:
        print(api.url)

Each feature is a module with the same shape (its endpoints, its handlers); this module only
assembles them, adds the JSON-error and token middlewares, and serves the OpenAPI document
built from the same declarations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import psycopg
from aiohttp import web
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from analysis.store import AnalysisStore
from api import (
    accounts,
    calls,
    campaigns,
    contacts,
    dashboard,
    debtors,
    followups,
    monitoring,
    payment_links,
    webhooks,
)
from api.auth import PUBLIC, Authenticator
from api.calls import Reprocessing
from api.endpoint import SERVICES, ApiCall, Endpoint, json_response
from api.errors import json_errors
from api.exports import ExportLimits, Exports
from api.openapi import document
from campaigns.calls import CallLog
from campaigns.campaign import CampaignStore
from campaigns.importer import DebtorImporter, ImportLimits
from campaigns.operators import OperatorStore
from campaigns.planner import WavePlanner
from campaigns.supervision import Supervision
from campaigns.webhooks import WebhookDelivery, WebhookStore
from media.loop_lag import LoopLagMonitor
from media.recordings import RecordingStore

log = logging.getLogger(__name__)
API_VERSION = "1.0.0"


@dataclass(slots=True)
class ApiServices:
    """What the handlers use; built by the application from its own long-lived resources.

    `pool` is the API's own (API_DATABASE_POOL_MAX), never the call path's: whatever clients ask of the
    API, live calls still find a connection to write their turns and results."""

    pool: AsyncConnectionPool
    webhook_delivery: WebhookDelivery
    recordings: RecordingStore
    ari_connected: Callable[[], bool]
    currency: str
    reprocessor: Reprocessing | None = None  # offline re-processing (POST /api/v1/calls/{id}/reprocess)
    loop_lag: LoopLagMonitor | None = None  # the process's event-loop lag, exported on /metrics
    import_limits: ImportLimits = field(default_factory=ImportLimits)  # what one debtor import may cost
    upload_dir: str = ""  # where uploads wait while imported, each in its own private folder ("": system temp)
    upload_max_bytes: int = 100 << 20
    export_limits: ExportLimits = field(default_factory=ExportLimits)  # exports at once, their time bounds
    exports: Exports = field(init=False)
    analyses: AnalysisStore = field(init=False)
    call_log: CallLog = field(init=False)
    supervision: Supervision = field(init=False)
    campaigns: CampaignStore = field(init=False)
    planner: WavePlanner = field(init=False)
    importer: DebtorImporter = field(init=False)
    webhooks: WebhookStore = field(init=False)
    operators: OperatorStore = field(init=False)

    def __post_init__(self) -> None:
        self.call_log = CallLog(self.pool)
        self.supervision = Supervision(self.pool)
        self.campaigns = CampaignStore(self.pool)
        self.planner = WavePlanner(self.pool)
        self.importer = DebtorImporter(self.pool, self.import_limits)
        # Sealed with the worker's own box: what the API registers, the worker can open.
        self.webhooks = WebhookStore(self.pool, box=self.webhook_delivery.secret_box)
        self.analyses = AnalysisStore(self.pool)
        self.operators = OperatorStore(self.pool)
        self.exports = Exports(self.export_limits, spool_dir=self.upload_dir)  # UPLOAD_DIR: debtors' data

    async def health(self) -> dict[str, bool]:
        try:
            async with asyncio.timeout(2.0), self.pool.connection() as conn:
                await conn.execute("SELECT 1")
            database = True
        except (psycopg.Error, PoolTimeout, OSError, TimeoutError) as exc:  # no answer within 2 s
            log.warning("health: database not reachable: %s", exc)
            database = False
        return {"ari": self.ari_connected(), "database": database}


ENDPOINTS: list[Endpoint] = [
    *monitoring.ENDPOINTS, *accounts.ENDPOINTS, *contacts.ENDPOINTS, *campaigns.ENDPOINTS, *debtors.ENDPOINTS,
    *calls.ENDPOINTS,
    *followups.ENDPOINTS, *webhooks.ENDPOINTS, *payment_links.ENDPOINTS, *dashboard.ENDPOINTS,
]


async def openapi_document(call: ApiCall) -> web.StreamResponse:
    return json_response(call.request.app[OPENAPI])


OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi", dict)
ENDPOINTS.append(Endpoint("GET", "/openapi.json", openapi_document, "This document", "monitoring", public=True))


def build_app(services: ApiServices, tokens: Sequence[str]) -> web.Application:
    auth = Authenticator(tokens, services.operators.session)
    app = web.Application(middlewares=[json_errors, auth.middleware], client_max_size=1024 * 1024)
    app[SERVICES] = services
    app[OPENAPI] = document(ENDPOINTS, version=API_VERSION)
    public = set()
    for ep in ENDPOINTS:
        handler = ep.wrap()
        app.router.add_route(ep.method, ep.path, handler)
        if ep.public:
            public.add(handler)
    app[PUBLIC] = frozenset(public)
    return app


class OperatorApi:
    def __init__(self, services: ApiServices, *, tokens: Sequence[str], host: str, port: int) -> None:
        self._app = build_app(services, tokens)
        self._runner = web.AppRunner(self._app, access_log=None)
        self._host, self._port = host, port
        self.url = ""

    async def __aenter__(self) -> Self:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        log.info("operator API and dashboard on %s (dashboard: %s/dashboard)", self.url, self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()
