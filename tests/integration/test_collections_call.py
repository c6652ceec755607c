"""A campaign call through the lab, spoken end to end: the rule engine negotiates with a debtor phone
(baresip playing a Spanish script) and the promise lands in PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from decimal import Decimal

from ari_app.app import CallCenterApp
from campaigns.planner import WavePlanner
from tests.campaigns.conftest import make_campaign
from tests.integration.conftest import app_settings
from tests.phones.audio import make_caller_script
from tests.phones.baresip import BaresipPhone

DEBTOR_PHONE = "+56955551234"


async def test_a_debtor_promises_to_pay_and_the_promise_is_stored(database_url, db_pool, tmp_path):
    company = f"Natura {uuid.uuid4().hex[:6]}"
    campaign = await make_campaign(db_pool, company, trunk="trunk")
    today = datetime.now(campaign.tz).date()
    pay_on = date(today.year + (today.month == 12 and today.day >= 15), 12, 15)
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """INSERT INTO companies (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
               RETURNING id""", (company,))
        (company_id,) = await cur.fetchone()
        cur = await conn.execute(
            """INSERT INTO debtors (company_id, national_id, full_name, timezone, delinquency_type, amount_owed,
                                    installments_owed, due_date)
               VALUES (%s, '11111111-1', 'María José Pérez', %s, 'temprana', 185000, 3, %s) RETURNING id""",
            (company_id, campaign.timezone, today.replace(day=1)))
        (debtor_id,) = await cur.fetchone()
        await conn.execute("INSERT INTO phones (debtor_id, e164) VALUES (%s, %s)", (debtor_id, DEBTOR_PHONE))
    assert (await WavePlanner(db_pool).plan(campaign, datetime.now(campaign.tz))).enqueued == 1

    # The debtor answers, confirms who she is, waits for the notice and the debt (about 20 s of
    # speech), promises 50,000 pesos on 15 December, hears it read back and confirms.
    # Phrases and speed chosen so that Whisper base reads espeak's voice right (tests/phones/audio.py).
    mic = make_caller_script([4.0, "Correcto, soy yo.", 26.0,
                              "Le puedo pagar cincuenta mil pesos el quince de diciembre.", 14.0,
                              "Perfecto, de acuerdo.", 12.0], tmp_path / "debtor.wav", wpm=130)
    phone = BaresipPhone(mic, workdir=tmp_path / "phone")
    settings = app_settings(database_url, AGENT_MODE="conversation", DIALER_CHANNELS=1, DIALER_POLL_S=0.3,
                            NO_INPUT_TIMEOUT_S=25)
    with phone.answer(DEBTOR_PHONE, hangup_after_s=90):
        async with CallCenterApp(settings) as app:
            await app.wait_ready()

            async def job_state() -> tuple[str, str | None]:
                async with db_pool.connection() as conn:
                    cur = await conn.execute("SELECT state, reason FROM call_jobs WHERE debtor_id = %s",
                                             (debtor_id,))
                    return await cur.fetchone()

            for _ in range(400):
                if (await job_state())[0] not in ("queued", "claimed"):
                    break
                await asyncio.sleep(0.3)
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT promised_date, amount FROM promises WHERE debtor_id = %s", (debtor_id,))
        promises = await cur.fetchall()
        cur = await conn.execute(
            """SELECT t.user_text, t.agent_spoken FROM call_turns t JOIN call_attempts a ON a.id = t.attempt_id
                WHERE a.debtor_id = %s ORDER BY t.idx""", (debtor_id,))
        turns = await cur.fetchall()
        cur = await conn.execute("SELECT metrics->'conversation' FROM call_attempts WHERE debtor_id = %s",
                                 (debtor_id,))
        turns.append(await cur.fetchone())
    assert promises == [(pay_on, Decimal("50000.00"))], "\n".join(map(str, turns))
    assert await job_state() == ("done", "promise")
