"""`make campaign` against the lab: a sipp carrier answers, the wave's calls are placed through the
real Asterisk, progress is printed, and the outcomes, retries and decisions land in PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from campaigns.campaign import CampaignStore
from tests.campaigns.conftest import zone_open_now
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
        invites = len(carrier.received("INVITE"))

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

    assert invites == len(attempts) == 5
    # Each debtor's first phone, with the outcome the carrier gives by its last digit.
    assert attempts == {"+56955550001": "answered", "+56955550002": "answered", "+56955550003": "answered",
                        "+56955550007": "busy", "+56955550008": "no_answer"}
    assert jobs["María José Pérez Soto"][:2] == ("done", "reached")
    # Not reached: back in the queue for the 60-minute retry, the reason recorded.
    assert jobs["Ana Luisa Fuentes"] == ("queued", "retry_delay_no_answer", 1, True)
    assert jobs["Pedro Muñoz Araya"] == ("queued", "retry_delay_no_answer", 1, True)
    assert deferred == 2
