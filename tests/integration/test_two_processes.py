"""Two call center processes on one Asterisk and one database (`make campaign` beside `make run`, or
a node per machine): neither takes the other's calls, and together they dial a queue once per job,
within the trunk's shared channel cap."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from ari_app.app import CallCenterApp
from ari_app.ari import StasisAppTaken
from ari_app.stasis_lease import STALE_S, StasisAppLease
from campaigns.planner import WavePlanner
from tests.campaigns.conftest import make_campaign, seed_debtors
from tests.integration.conftest import app_settings, finished
from tests.phones.sipp import SippCarrier

# A greeting long enough (about 20 s spoken) for a second process to start while the call is up.
LONG_GREETING = " ".join(["Hola, le habla el asistente de pruebas del laboratorio, esta llamada sigue en curso."] * 4)


@pytest.mark.timeout(240)
async def test_a_second_process_starting_leaves_the_first_ones_call_alone(database_url, tmp_path: Path):
    async with SippCarrier("answer", workdir=tmp_path / "carrier", port=5093) as carrier, \
            CallCenterApp(app_settings(database_url, GREETING=LONG_GREETING, ORIGINATE_TIMEOUT_S=8)) as first:
        await first.wait_ready()
        call = first.dialer.dial("+56955559301", trunk=f"trunk/sip:127.0.0.1:{carrier.port}")
        await asyncio.wait_for(call.in_stasis.wait(), 15)  # answered: in the app
        # The same Stasis app again: refused before it touches anything.
        with pytest.raises(StasisAppTaken, match="already served"):
            async with CallCenterApp(app_settings(database_url)):
                pass
        # Beside it (`make call`, `make campaign`): its own app and node, and no sweep of the first's call.
        async with CallCenterApp(app_settings(database_url, ORIGINATE_TIMEOUT_S=8), beside=True) as second:
            await second.wait_ready()
            assert second.stasis_app == f"{first.stasis_app}-2" and second.node != first.node
            assert not call.finished.is_set()
            # Its own call goes through answering-machine detection in the dialplan and comes back to its
            # own app, not to the first's (which would hang it up as a channel it knows nothing of).
            own = second.dialer.dial("+56955559302", trunk=f"trunk/sip:127.0.0.1:{carrier.port}",
                                     answering_machine="hangup")
            await finished(own, 60)
            own_record = await second.call_log.get(own.attempt_id)
            own_events = [e.kind for e in await second.call_log.events(own.attempt_id)]
        assert own_record is not None and own_record.outcome is not None, own_events
        assert own_record.outcome.value in ("answered", "voicemail"), (own_record.outcome, own_events)
        await finished(call, 60)
        events = [e.kind for e in await first.call_log.events(call.attempt_id)]
        record = await first.call_log.get(call.attempt_id)
    assert "orphaned" not in events, events
    assert record is not None and record.outcome is not None and record.outcome.value == "answered", record
    assert record.hangup_cause_txt != "process restarted during the call"


@pytest.mark.timeout(300)  # two processes start, then six calls at most two at a time
async def test_two_processes_dial_one_queue_once_per_job_within_the_shared_cap(database_url, db_pool, tmp_path: Path):
    company = f"Two {uuid.uuid4().hex[:6]}"
    async with SippCarrier("answer", workdir=tmp_path / "carrier", port=5095) as carrier:
        trunk = f"trunk/sip:127.0.0.1:{carrier.port}"  # this test's own: no other test's job is due on it
        campaign = await make_campaign(db_pool, company, trunk=trunk)
        debtors = await seed_debtors(db_pool, company, 6, phones=1, timezone=campaign.timezone)
        assert (await WavePlanner(db_pool).plan(campaign, datetime.now().astimezone())).enqueued == 6
        settings = app_settings(database_url, TRUNK_ENDPOINT=trunk, DIALER_CHANNELS=2, DIALER_POLL_S=0.2,
                                ORIGINATE_TIMEOUT_S=10)
        busiest = 0

        async def open_calls() -> int:
            async with db_pool.connection() as conn:
                cur = await conn.execute("SELECT count(*) FROM call_attempts WHERE campaign_id = %s "
                                         "AND state <> 'ended'", (campaign.id,))
                return (await cur.fetchone())[0]

        async with CallCenterApp(settings) as first, CallCenterApp(settings, beside=True) as second:
            for _ in range(600):  # up to 120 s for the six calls
                busiest = max(busiest, await open_calls())
                async with db_pool.connection() as conn:
                    cur = await conn.execute("SELECT count(*) FROM call_jobs WHERE campaign_id = %s "
                                             "AND state = 'done'", (campaign.id,))
                    if (await cur.fetchone())[0] == 6:
                        break
                await asyncio.sleep(0.2)
            placed = (first.campaign_dialer.stats.placed, second.campaign_dialer.stats.placed)
        dialed = sorted(carrier.dialed().values())
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT e164 FROM phones WHERE debtor_id = ANY(%s) ORDER BY e164", (debtors,))
        numbers = [n for (n,) in await cur.fetchall()]
    assert dialed == numbers, (dialed, numbers, placed)  # each debtor once, by one process or the other
    assert sum(placed) == 6 and 0 < busiest <= 2, (placed, busiest)


async def test_another_machines_lease_holds_while_renewed_and_is_taken_once_stale(db_pool):
    ari_url, app = "http://asterisk.test:8088", f"app-{uuid.uuid4().hex[:6]}"
    async with db_pool.connection() as conn:
        await conn.execute("INSERT INTO stasis_app_leases (ari_url, app, host, pid, node) "
                           "VALUES (%s, %s, 'other-machine', 1, 'other-machine/x')", (ari_url, app))
    with pytest.raises(StasisAppTaken):
        async with StasisAppLease(db_pool, ari_url, app):
            pass
    async with StasisAppLease(db_pool, ari_url, app, beside=True) as beside:
        assert beside.app == f"{app}-2"
    async with db_pool.connection() as conn:  # the other machine stopped renewing (crashed, cut off)
        await conn.execute("UPDATE stasis_app_leases SET heartbeat_at = now() - make_interval(secs => %s) "
                           "WHERE ari_url = %s AND app = %s", (STALE_S + 1, ari_url, app))
    async with StasisAppLease(db_pool, ari_url, app, node_id="here") as lease:
        assert (lease.app, lease.node) == (app, f"here/{app}")
    async with db_pool.connection() as conn:  # released on the way out
        cur = await conn.execute("SELECT count(*) FROM stasis_app_leases WHERE ari_url = %s", (ari_url,))
        assert await cur.fetchone() == (0,)
