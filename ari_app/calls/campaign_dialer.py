"""`CampaignDialer`: turns queued call jobs into calls on this process's Asterisk trunk.

One loop claims due jobs for the trunk, never more than its free channels (the cap is shared
with every other dialer process on the same trunk, through the queue). Each claimed job gets
its own task: the contact policy is asked first (it may defer or end the job, with a reason),
the call is placed on the phone it chose, the lease is extended while the call is up, and the
outcome is settled back into the queue. The attempt row is written before the originate
(`Call.run`), so a crash at any point leaves the limits counting the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from ari_app.calls.dialer import OutboundDialer
from campaigns.calls import CallOutcome
from campaigns.campaign import CampaignStore
from campaigns.contacts import ContactService
from campaigns.queue import CallQueue, ClaimedJob, LeaseLost
from countries.privacy import mask_phone

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DialerStats:
    claimed: int = 0
    deferred: int = 0
    placed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class CampaignDialer:
    def __init__(self, queue: CallQueue, contacts: ContactService, campaigns: CampaignStore,
                 dialer: OutboundDialer, *, trunk: str, channels: int, online: asyncio.Event,
                 poll_s: float = 1.0,
                 clock: Callable[[], datetime] = lambda: datetime.now().astimezone()) -> None:
        self._queue = queue
        self._contacts = contacts
        self._campaigns = campaigns
        self._dialer = dialer
        self.trunk = trunk
        self.channels = channels
        self.poll_s = poll_s
        self._online = online  # set while the ARI events stream is up: no originate without it
        self._clock = clock
        self._work: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.stats = DialerStats()

    async def run(self) -> None:
        """Claim and dial until cancelled; then let the calls in progress finish and settle."""
        log.info("dialer %s: serving trunk %r with %d channel(s)", self._queue.owner, self.trunk, self.channels)
        try:
            while True:
                await self._online.wait()
                try:
                    await self._claim()
                except Exception:  # PostgreSQL restarting, a network blip: calls up go on, retry soon
                    log.exception("dialer %s: could not claim; retrying in %.0f s", self._queue.owner,
                                  self.poll_s * 5)
                    await asyncio.sleep(self.poll_s * 5)
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            if self._work:
                # Calls already placed are hung up by the router's shutdown; wait for their outcome.
                await asyncio.wait(self._work, timeout=self._queue.lease_s)

    async def _claim(self) -> None:
        await self._queue.reap_expired()
        free = self.channels - len(self._work)
        if free <= 0:
            return
        for job in await self._queue.claim(self.trunk, cap=self.channels, limit=free):
            self.stats.claimed += 1
            task = asyncio.create_task(self._handle(job), name=f"job-{job.id}")
            self._work.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._work.discard(task)
        self._wake.set()  # a channel is free: claim again without waiting for the poll

    async def _handle(self, job: ClaimedJob) -> None:
        try:
            campaign = await self._campaigns.get(job.campaign_id)
            assert campaign is not None, f"job {job.id} of a campaign that does not exist"
            target = await self._contacts.gate(job, campaign, self._clock())
            if target is None:
                self.stats.deferred += 1
                return
            call = self._dialer.dial(
                target.e164, trunk=campaign.trunk, caller_id=campaign.caller_id or None,
                answering_machine=campaign.answering_machine,
                job_id=job.id, campaign_id=campaign.id, debtor_id=job.debtor_id, phone_id=target.phone_id)
            self.stats.placed += 1
            log.info("job %d: calling %s (%s)", job.id, mask_phone(target.e164), target.reason)
            await self._keep_lease(job, call.finished)
            outcome = call.outcome or CallOutcome.FAILED
            self.stats.outcomes[outcome.value] = self.stats.outcomes.get(outcome.value, 0) + 1
            decision = await self._contacts.settle(job, campaign, outcome, target.phone_id, self._clock(),
                                                   attempt_id=call.attempt_id)
            log.info("job %d: %s -> %s %s", job.id, outcome.value, decision.verdict.value, decision.reason)
        except LeaseLost:
            log.error("job %d: lease lost (database unreachable for longer than the lease?); another dialer "
                      "owns it now", job.id)
        except Exception:
            log.exception("job %d failed; its lease will expire and return it to the queue", job.id)

    async def _keep_lease(self, job: ClaimedJob, finished: asyncio.Event) -> None:
        """Extend the lease every third of it until the call has ended.

        Whatever the database says, this returns only when the call has ended: the task holds one of
        the trunk's channels while a call is up, and its outcome is still settled after it. A failed
        extension (the database unreachable for a moment) is retried at the next third; a lease
        taken back meanwhile is logged, and then settling finds the job requeued (`LeaseLost`): the
        attempt row, written before the originate, is what the next gate counts.
        """
        lost = False
        while True:
            try:
                await asyncio.wait_for(finished.wait(), self._queue.lease_s / 3)
                return
            except TimeoutError:
                pass
            if lost:
                continue
            try:
                await self._queue.extend(job.id)
            except LeaseLost:
                lost = True
                log.error("job %d: lease taken back while its call is up; the call goes on and is counted",
                          job.id)
            except (psycopg.Error, OSError) as exc:
                log.warning("job %d: lease not extended (%s); retrying while the call goes on", job.id, exc)

