"""The process: owns every long-lived resource, each inside one `async with` block.

Order of start-up: settings check -> database (migrated; the call path's pool) -> the Stasis app's
lease (no other live process serves it) -> TTS (warm) -> ARI REST -> close this node's orphaned
attempts -> ARI events WebSocket (registers the Stasis app) -> campaign dialer (claims only while the
events stream is up) and wave scheduler -> the operator API over a pool of its own. Shutdown is the
reverse: no new claims or waves, calls in progress hung up and their outcomes recorded and settled,
then the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from datetime import timedelta
from types import TracebackType
from typing import Self

import aiohttp
from psycopg_pool import AsyncConnectionPool

from analysis import load_classification
from analysis.store import AnalysisStore
from analysis.worker import AnalysisWorker, LlmEndpoint
from api import ApiServices, OperatorApi
from api.exports import ExportLimits
from ari_app.ari import AriClient, AriError, EventStream, StasisStart
from ari_app.calls.call import Call, CallServices
from ari_app.calls.campaign_dialer import CampaignDialer
from ari_app.calls.dialer import OutboundDialer
from ari_app.calls.dialogue import ConversationFactory, make_tts
from ari_app.calls.legs import InboundLeg
from ari_app.calls.media import MediaConfig
from ari_app.calls.results import ResultsConfig
from ari_app.calls.stasis import CallRouter
from ari_app.recordings import recording_store, recording_uploader
from ari_app.reprocess import Reprocessor
from ari_app.settings import Settings
from ari_app.stasis_lease import StasisAppLease
from campaigns.actions import CallActions
from campaigns.calls import CallLog, CallOutcome, Direction
from campaigns.campaign import CampaignStore
from campaigns.contacts import ContactService
from campaigns.db import open_database
from campaigns.debtors import DebtorDirectory
from campaigns.planner import WavePlanner
from campaigns.queue import CallQueue
from campaigns.recordings import RecordingLedger, RecordingRetention
from campaigns.scheduler import WaveScheduler
from campaigns.webhooks import WebhookDelivery, WebhookStore
from countries.profile import warm_calendars
from media.loop_lag import LoopLagMonitor
from media.recordings import RecordingStore

log = logging.getLogger(__name__)



def analysis_worker(pool: AsyncConnectionPool, s: Settings) -> AnalysisWorker:
    """The post-call analysis worker the settings ask for (the LLM of `LLM_BASE_URL` when set, else the
    rules); a bad classification file fails here, at start-up, not per call."""
    llm = LlmEndpoint(s.llm_base_url, s.llm_api_key.get_secret_value(), s.llm_model) if s.llm_base_url else None
    return AnalysisWorker(AnalysisStore(pool), load_classification(s.analysis_classification_file), llm=llm,
                          llm_timeout_s=s.llm_analysis_timeout_s)


def api_database(s: Settings) -> contextlib.AbstractAsyncContextManager[AsyncConnectionPool]:
    """The operator API's own pool (API_DATABASE_POOL_MAX). Opened after the call path's, which migrated
    the schema: this one does not migrate again."""
    return open_database(s.database_url.get_secret_value(), max_size=s.api_database_pool_max, migrate=False,
                         name="callcenter-api")


class CallCenterApp:
    def __init__(self, settings: Settings, *, api_optional: bool = False, beside: bool = False) -> None:
        settings.ensure_safe_for_mode()
        self.settings = settings
        # A second process of the same call center (`make campaign` beside `make run`) finds the API's
        # port taken; the first one's API shows the same database, so this one goes on without.
        self._api_optional = api_optional
        # `beside`: may run next to the call center on the same Asterisk (`make call`, `make campaign`):
        # when ARI_APP is served, this process serves ARI_APP-2 (-3...) instead of refusing to start.
        self._beside = beside
        self.api: OperatorApi | None = None
        self.api_pool: AsyncConnectionPool | None = None  # the API's own connections, when it is enabled
        self._stack = contextlib.AsyncExitStack()
        self._events_task: asyncio.Task[None] | None = None
        self._dialer_task: asyncio.Task[None] | None = None
        self._waves_task: asyncio.Task[None] | None = None
        self._webhooks_task: asyncio.Task[None] | None = None
        self._analysis_task: asyncio.Task[None] | None = None
        self._retention_task: asyncio.Task[None] | None = None
        self._uploads_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Stop taking new work first, then end the calls in progress (the dialer settles them),
        # and only then drop the ARI events and the database.
        for task in (self._waves_task, self._dialer_task):
            if task is not None:
                task.cancel()
        shutdown = asyncio.ensure_future(self.router.shutdown())
        for task in (self._waves_task, self._dialer_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await shutdown
        # The calls' last events are in the outbox now; what the worker did not send, the next run does.
        for task in (self._events_task, self._webhooks_task, self._analysis_task, self._retention_task,
                     self._uploads_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._stack.aclose()

    async def _start(self) -> None:
        s = self.settings
        # First: every call shares this loop, so how late it runs is watched (and exported) from the start.
        self.loop_lag = await self._stack.enter_async_context(LoopLagMonitor(
            sample_stacks=s.loop_lag_stacks, slow_callback_s=s.asyncio_slow_callback_ms / 1e3))
        # Holiday calendars are imported and built lazily on first use, 100-290 ms measured in the middle
        # of a lab call (the agent's callback date): built here, in a thread, before any call is up.
        await asyncio.to_thread(warm_calendars)
        pool = await self._stack.enter_async_context(
            open_database(s.database_url.get_secret_value(), max_size=s.database_pool_max)
        )
        # The Stasis app this process serves, never one another live process serves (ari_app/stasis_lease.py).
        lease = await self._stack.enter_async_context(
            StasisAppLease(pool, s.ari_url, s.ari_app, node_id=s.node_id, beside=self._beside))
        self.stasis_app, self.node = lease.app, lease.node
        session = await self._stack.enter_async_context(aiohttp.ClientSession())
        self.ari = AriClient(session, s.ari_url, s.ari_user, s.ari_password.get_secret_value(), self.stasis_app)
        self.call_log = CallLog(pool, node=self.node)
        # One store for everything that touches recordings: the recorder, the API, re-processing, retention.
        self.recordings = recording_store(s)
        self.tts = await self._stack.enter_async_context(make_tts(s))
        await self.tts.synthesize(s.greeting)  # warm the phrase cache: the first caller waits for nothing
        conversations = None
        if s.agent_mode == "conversation":
            conversations = await self._stack.enter_async_context(ConversationFactory.open(s, self.tts))
        self.services = CallServices(
            ari=self.ari,
            call_log=self.call_log,
            tts=self.tts,
            media=MediaConfig(s.rtp_host, (s.rtp_port_min, s.rtp_port_max), s.rtp_format),
            greeting=s.greeting,
            silence_timeout_s=s.rtp_silence_timeout_s,
            originate_timeout_s=s.originate_timeout_s,
            conversations=conversations,
            actions=CallActions(pool),
            debtors=DebtorDirectory(pool),
            results=ResultsConfig.from_settings(s, self.recordings),
        )
        self.router = CallRouter(self.ari, self._new_inbound_call)
        self.dialer = OutboundDialer(self.services, self.router, s.trunk_endpoint, s.caller_id,
                                     number_format=s.trunk_number_format, dial_prefix=s.trunk_dial_prefix)
        await self._close_orphaned_attempts()
        self.events = EventStream(
            session,
            s.ari_ws_url,
            s.ari_user,
            s.ari_password.get_secret_value(),
            self.stasis_app,
            handler=self.router.handle,
            on_connect=self.router.reconcile,
            backoff_max_s=s.ari_reconnect_max_s,
        )
        self._events_task = asyncio.create_task(self.events.run(), name="ari-events")
        self._start_campaigns(pool)
        # Webhooks: the outbox is written with the facts; this worker delivers it (signed, retried).
        # Secrets registered before WEBHOOK_SECRETS_KEY was set are sealed now: an upgraded deployment
        # keeps none in plain text.
        box = s.webhook_secret_box()
        if sealed := await WebhookStore(pool, box=box).seal_plain_secrets():
            log.info("sealed %d webhook secret(s) stored in plain text", sealed)
        self.webhooks = await self._stack.enter_async_context(
            WebhookDelivery(pool, listen_dsn=s.database_url.get_secret_value(),
                            retention=timedelta(days=s.webhook_retention_days), egress=s.webhook_egress(),
                            box=box))
        self._webhooks_task = asyncio.create_task(self.webhooks.run(), name="webhook-delivery")
        # Post-call analysis: answered calls are queued as they close; this worker analyses them.
        if s.analysis_enabled:
            self.analysis = await self._stack.enter_async_context(analysis_worker(pool, s))
            self._analysis_task = asyncio.create_task(self.analysis.run(), name="call-analysis")
        # Past recordings are read (API) and expired (retention) even when RECORD_CALLS is now off.
        recordings = self.recordings
        # With an object store: this node's ended calls' recordings are uploaded, and retried until they are.
        if (uploader := recording_uploader(pool, recordings, self.node)) is not None:
            self._uploads_task = asyncio.create_task(uploader.run(), name="recording-uploads")
        if s.recording_retention_days > 0:
            retention = RecordingRetention(RecordingLedger(pool), recordings,
                                           timedelta(days=s.recording_retention_days))
            self._retention_task = asyncio.create_task(retention.run(), name="recording-retention")
        if s.api_enabled:
            await self._start_api(pool, recordings)
        # What start-up loaded (modules, models, calendars: ~150,000 objects) lives as long as the process.
        # Out of the cycle collector's sight, a full collection during a call scans only what calls made:
        # measured 75-80 ms for a full collection before, 0.1 ms after; one such pause cost a call four
        # late 20 ms frames. freeze() only moves lists (no collection now, so a call already up waits for
        # nothing).
        gc.freeze()

    async def _start_api(self, pool: AsyncConnectionPool, recordings: RecordingStore) -> None:
        """The operator API and dashboard, on API_HOST:API_PORT, over a pool of their own."""
        s = self.settings
        # Offline re-processing, asked for through the API: its own (bigger) model, loaded on first use.
        # A worker like analysis (one job at a time, its load set by this process): on the call path's pool.
        self.reprocessor = await self._stack.enter_async_context(Reprocessor.from_settings(
            pool, recordings, s, self.analysis if s.analysis_enabled else None))
        # Requests, whose load the clients set, get their own connections: a burst of them (or exports)
        # waits for these, never for the ones live calls write their turns and results through.
        self.api_pool = await self._stack.enter_async_context(api_database(s))
        services = ApiServices(pool=self.api_pool, webhook_delivery=self.webhooks, recordings=recordings,
                               ari_connected=self.events.connected.is_set, currency=s.cost_currency,
                               reprocessor=self.reprocessor,
                               loop_lag=self.loop_lag, import_limits=s.import_limits(),
                               upload_dir=s.upload_dir, upload_max_bytes=s.upload_max_mb << 20,
                               export_limits=ExportLimits(concurrent=s.api_exports_max))
        try:
            self.api = await self._stack.enter_async_context(
                OperatorApi(services, tokens=s.tokens(), host=s.api_host, port=s.api_port))
        except OSError as exc:
            if not self._api_optional:
                raise
            log.warning("operator API not started here: %s:%d is taken (%s); the process already serving "
                        "it shows the same calls", s.api_host, s.api_port, exc.strerror or exc)

    def _start_campaigns(self, pool: AsyncConnectionPool) -> None:
        """The queue consumer for this process's trunk, and the wave planner's schedule."""
        s = self.settings
        self.pool = pool
        self.campaigns = CampaignStore(pool)
        self.queue = CallQueue(pool, f"{socket.gethostname()}:{os.getpid()}", lease_s=s.dialer_lease_s)
        self.campaign_dialer = CampaignDialer(
            self.queue, ContactService(pool, self.queue), self.campaigns, self.dialer,
            trunk=s.trunk_endpoint, channels=s.dialer_channels, online=self.events.connected, poll_s=s.dialer_poll_s)
        if s.dialer_channels > 0:
            self._dialer_task = asyncio.create_task(self.campaign_dialer.run(), name="campaign-dialer")
        self.planner = WavePlanner(pool)
        if s.schedule_waves:
            self._waves_task = asyncio.create_task(self._schedule_waves(), name="wave-scheduler")

    async def _schedule_waves(self) -> None:
        """APScheduler for the campaigns' waves; re-read every minute (new, paused, finished campaigns)."""
        async with WaveScheduler(self.campaigns, self.planner) as scheduler:
            while True:
                try:
                    await scheduler.load()
                except Exception:
                    log.exception("could not load the campaigns' wave schedule; retrying in a minute")
                await asyncio.sleep(60)

    def _new_inbound_call(self, event: StasisStart) -> Call:
        channel = event.channel
        leg = InboundLeg.from_args(event.args, channel.dialplan_exten)
        return Call(
            self.services,
            direction=Direction.INBOUND,
            channel_id=channel.id,
            remote_number=channel.caller_number,
            local_number=leg.line,
            inbound=leg,
        )

    async def _close_orphaned_attempts(self) -> None:
        """Attempts left open by a previous process: close the ones whose channel is gone.

        A live channel we know nothing about is hung up when it next sends an event; its
        attempt is closed here either way, because this process cannot resume its media.
        """
        orphans = await self.call_log.open_attempts()
        if not orphans:
            return
        try:
            live = {c.id for c in await self.ari.list_channels()}
        except AriError as exc:
            log.warning("cannot list channels to reconcile %d open attempt(s): %s", len(orphans), exc)
            live = set()
        for record in orphans:
            if record.channel_id in live:
                with contextlib.suppress(AriError):
                    await self.ari.hangup(record.channel_id)
            await self.call_log.add_event(record.id, "orphaned", {"reason": "process restarted during the call"})
            await self.call_log.close_attempt(
                record.id,
                outcome=CallOutcome.ANSWERED if record.answered_at else CallOutcome.FAILED,
                hangup_cause=None,
                hangup_cause_txt="process restarted during the call",
            )
        log.warning("closed %d attempt(s) left open by a previous run", len(orphans))

    async def wait_ready(self, timeout_s: float = 15.0) -> None:
        """Until the Stasis app is registered (the events WebSocket is up)."""
        await self.events.wait_connected(timeout_s)

    async def run_forever(self) -> None:
        assert self._events_task is not None
        await self._events_task
