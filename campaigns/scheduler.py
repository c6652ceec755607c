"""The day's schedule: APScheduler cron triggers per campaign and wave, in the campaign's timezone.

APScheduler's memory job store forgets everything at a restart, and its misfire handling only
covers a process that was running but late. So at start the scheduler also catches up: the
latest wave of today that has passed, if no `waves` row says it ran, runs now, once (coalesced:
a restart at 12:30 after a night down runs the 12:00 wave, not 09:00 and 12:00). The planner's
unique wave row makes any double firing (catch-up and trigger, two processes) harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Self

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from campaigns.campaign import Campaign, CampaignStore
from campaigns.planner import WavePlanner, WaveResult

log = logging.getLogger(__name__)


def slot_name(at: time) -> str:
    return at.strftime("%H:%M")


class WaveScheduler:
    """Fires each active campaign's waves; `async with` starts and stops APScheduler."""

    def __init__(self, store: CampaignStore, planner: WavePlanner, *,
                 misfire_grace: timedelta = timedelta(hours=2),
                 on_wave: Callable[[WaveResult], Awaitable[None] | None] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._planner = planner
        self.misfire_grace = misfire_grace
        self._on_wave = on_wave
        self._clock = clock or (lambda: datetime.now().astimezone())
        self.scheduler = AsyncIOScheduler()

    async def __aenter__(self) -> Self:
        self.scheduler.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.scheduler.shutdown(wait=False)

    async def load(self) -> list[WaveResult]:
        """(Re)schedule every active campaign's waves, then catch up on a wave missed while down."""
        results = []
        for job in self.scheduler.get_jobs():
            job.remove()
        for campaign in await self._store.list(status="active"):
            self.add(campaign)
            result = await self.catch_up(campaign, self._clock())
            if result is not None:
                results.append(result)
        return results

    def add(self, campaign: Campaign) -> None:
        for at in campaign.policy_config.waves:
            self.scheduler.add_job(
                self._fire, CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=campaign.tz),
                args=(campaign.id, slot_name(at)), id=f"wave-{campaign.id}-{slot_name(at)}",
                name=f"{campaign.name} {slot_name(at)}", replace_existing=True,
                # Late by less than the grace (a busy loop, a short pause): still run it, once.
                misfire_grace_time=int(self.misfire_grace.total_seconds()), coalesce=True, max_instances=1)

    async def catch_up(self, campaign: Campaign, now: datetime) -> WaveResult | None:
        """Run today's latest passed wave if it never ran and is not older than the grace."""
        local = now.astimezone(campaign.tz)
        passed = [t for t in campaign.policy_config.waves if t <= local.time()]
        if not passed:
            return None
        at = passed[-1]
        due = datetime.combine(local.date(), at, campaign.tz)
        if local - due > self.misfire_grace:
            log.info("campaign %s: wave %s was missed by more than %s; waiting for the next one",
                     campaign.name, slot_name(at), self.misfire_grace)
            return None
        result = await self._planner.plan(campaign, now, slot=slot_name(at))
        if not result.already_planned:
            log.warning("campaign %s: wave %s was missed while down; planned now", campaign.name, slot_name(at))
            await self._notify(result)
        return result

    async def _fire(self, campaign_id: int, slot: str) -> None:
        campaign = await self._store.get(campaign_id)
        if campaign is None or campaign.status != "active":
            return
        try:
            result = await self._planner.plan(campaign, self._clock(), slot=slot)
        except Exception:
            log.exception("campaign %s: wave %s failed to plan", campaign.name, slot)
            return
        await self._notify(result)

    async def _notify(self, result: WaveResult) -> None:
        if self._on_wave is not None:
            maybe = self._on_wave(result)
            if maybe is not None:
                await maybe
