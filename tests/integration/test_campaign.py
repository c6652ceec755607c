"""`make campaign` against the lab: a sipp carrier answers, the wave's calls are placed through the
real Asterisk, progress is printed, and the outcomes, retries and decisions land in PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path

from campaigns.campaign import CampaignStore
from campaigns.planner import WavePlanner
from tests.campaigns.conftest import make_campaign, seed_debtors, zone_open_now
from tests.integration.conftest import REPO
from tests.phones.sipp import SippCarrier

SAMPLE = REPO / "campaigns" / "samples" / "deudores_demo.csv"


async def test_make_campaign_places_the_waves_calls_and_stores_the_outcomes(database_url, db_pool, tmp_path: Path):
    name = f"Demo {uuid.uuid4().hex[:6]}"
    company = f"Demo Cobranzas {uuid.uuid4().hex[:6]}"
    # The sample's debtors are Chilean; the campaign runs under Regulation F's every-day hours in a
    # zone where it is now mid-afternoon, so the test does not depend on when (or on which
    # Chilean holiday) CI runs. Chile's own hours are covered by the policy's tests.
    zone = zone_open_now()
    env = {**os.environ, "DATABASE_URL": database_url, "AGENT_MODE": "greeting", "DIALER_CHANNELS": "2",
           "DIALER_POLL_S": "0.3", "SCHEDULE_WAVES": "false", "ORIGINATE_TIMEOUT_S": "10"}
    async with SippCarrier("by_number", workdir=tmp_path / "carrier") as carrier:
        proc = await asyncio.create_subprocess_exec(
            "make", "--no-print-directory", "campaign", f"CAMPAIGN={name}", f"COMPANY={company}", f"FILE={SAMPLE}",
            f"CAMPAIGN_ARGS=--country US --timezone {zone} --interval 0.5",
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 180)
        output = out.decode()
        assert proc.returncode == 0, output
        # This wave's calls (the sample's +569555500xx numbers). The test session's database is shared, and
        # the app dials any due job in it: another test's leftover job, inside its campaign's calling hours,
        # is one more call to the carrier, not this wave's.
        invites = [n for n in carrier.dialed().values() if n.startswith("+569555500")]

    assert "5 rows read, 5 new debtors" in output, output
    assert "5 debtor(s) queued" in output, output
    progress_lines = [line for line in output.splitlines() if f"[{name}]" in line]
    assert len(progress_lines) >= 2, output  # it showed progress while calling, not only the end
    assert "wave done" in output

    campaign = await CampaignStore(db_pool).get(name)
    assert campaign is not None
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT p.e164, a.outcome FROM call_attempts a JOIN phones p ON p.id = a.phone_id
                WHERE a.campaign_id = %s ORDER BY p.e164""", (campaign.id,))
        attempts = dict(await cur.fetchall())
        cur = await conn.execute(
            """SELECT d.full_name, j.state, j.reason, j.attempts, j.next_at > now() + interval '55 minutes'
                 FROM call_jobs j JOIN debtors d ON d.id = j.debtor_id WHERE j.campaign_id = %s""", (campaign.id,))
        jobs = {row[0]: row[1:] for row in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT count(*) FROM contact_decisions WHERE campaign_id = %s AND decision = 'deferred'", (campaign.id,))
        (deferred,) = await cur.fetchone()

    assert len(invites) == len(set(invites)) == len(attempts) == 5, invites
    # Each debtor's first phone, with the outcome the carrier gives by its last digit.
    assert attempts == {"+56955550001": "answered", "+56955550002": "answered", "+56955550003": "answered",
                        "+56955550007": "busy", "+56955550008": "no_answer"}
    assert jobs["María José Pérez Soto"][:2] == ("done", "reached")
    # Not reached: back in the queue for the 60-minute retry, the reason recorded.
    assert jobs["Ana Luisa Fuentes"] == ("queued", "retry_delay_no_answer", 1, True)
    assert jobs["Pedro Muñoz Araya"] == ("queued", "retry_delay_no_answer", 1, True)
    assert deferred == 2


async def _start_app(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ari_app", "run", cwd=REPO, env=env,
        stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT)


async def _until(predicate, timeout_s: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_the_call_center_killed_mid_wave_loses_no_call_and_calls_nobody_twice(database_url, db_pool,
                                                                                      tmp_path: Path):
    company = f"Crash {uuid.uuid4().hex[:6]}"
    campaign = await make_campaign(db_pool, company, trunk="trunk")
    await seed_debtors(db_pool, company, 2, timezone=campaign.timezone)
    assert (await WavePlanner(db_pool).plan(campaign, datetime.now().astimezone())).enqueued == 2
    env = {**os.environ, "DATABASE_URL": database_url, "AGENT_MODE": "greeting", "DIALER_CHANNELS": "2",
           "DIALER_POLL_S": "0.3", "DIALER_LEASE_S": "3", "SCHEDULE_WAVES": "false", "ORIGINATE_TIMEOUT_S": "25"}
    log = tmp_path / "app.log"

    async def attempts() -> list[tuple[str, str | None]]:
        async with db_pool.connection() as conn:
            cur = await conn.execute("SELECT state, outcome FROM call_attempts WHERE campaign_id = %s", (campaign.id,))
            return await cur.fetchall()

    async with SippCarrier("ring_forever", workdir=tmp_path / "carrier") as carrier:
        first = await _start_app(env, log)
        try:
            await _until(lambda: asyncio.to_thread(lambda: len(carrier.received("INVITE")) == 2), 30,
                         "both debtors' phones to ring")
            assert [state for state, _ in await attempts()] == ["dialing", "dialing"]
        finally:
            first.kill()  # SIGKILL mid-wave: both calls ringing, nothing settled
            await first.wait()

        second = await _start_app(env, log)
        try:
            # The restarted process closes the attempts the dead one left open (hanging up their
            # channels), and once the dead leases expire, the policy sees the two calls already placed.
            async def settled() -> bool:
                async with db_pool.connection() as conn:
                    cur = await conn.execute("SELECT reason FROM call_jobs WHERE campaign_id = %s", (campaign.id,))
                    return [r[0] for r in await cur.fetchall()] == ["retry_delay_failure"] * 2
            await _until(settled, 30, "the returned jobs to wait for their retry")
            await asyncio.sleep(2)  # time for a wrong second call to show up
            invites = len(carrier.received("INVITE"))
            cancels = len(carrier.received("CANCEL"))
        finally:
            second.terminate()
            await asyncio.wait_for(second.wait(), 30)

    assert invites == 2, log.read_text()  # nobody was called twice
    assert cancels == 2  # the ringing calls the dead process left behind were ended
    assert sorted(await attempts()) == [("ended", "failed"), ("ended", "failed")]  # no result lost
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT state, attempts, claims, next_at > now() + interval '25 minutes' "
                                 "FROM call_jobs WHERE campaign_id = %s", (campaign.id,))
        assert await cur.fetchall() == [("queued", 1, 2, True)] * 2
