"""A broken promise's reminder, on a real PostgreSQL: the job the planner queues reaches the agent's card
with its purpose and the promise (date, amount); and the card carries the debtor's own country."""

from __future__ import annotations

import uuid
from datetime import timedelta

from agent.llm import ToolCall
from ari_app.calls.dialogue import ConversationFactory
from ari_app.calls.party import CallParty
from ari_app.settings import Settings
from campaigns.actions import CallContext
from campaigns.debtors import DebtorDirectory, PromiseDue
from campaigns.planner import WavePlanner
from campaigns.queue import CallQueue, JobPurpose
from tests.campaigns.conftest import make_campaign, seed_debtors
from tests.campaigns.test_holds import MONDAY, _at


async def test_a_reminder_jobs_card_carries_its_purpose_and_the_broken_promise(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",),
                                   promise_grace_days=0)
    debtor, plan_debtor, plain = await seed_debtors(db_pool, company, 3)
    async with db_pool.connection() as conn:
        await conn.execute("UPDATE debtors SET country = 'CO' WHERE id = %s", (plain,))
        cur = await conn.execute(
            """INSERT INTO promises (debtor_id, promised_date, amount) VALUES (%s, %s, 800) RETURNING id""",
            (debtor, MONDAY))
        (promise,) = await cur.fetchone()
        cur = await conn.execute(
            """INSERT INTO promises (debtor_id, promised_date, amount, installments, installment_amount)
               VALUES (%s, %s, 1001, 3, 334) RETURNING id""", (plan_debtor, MONDAY))
        (plan,) = await cur.fetchone()
    wave = await WavePlanner(db_pool).plan(campaign, _at(MONDAY + timedelta(days=1)), slot="09:00")
    assert (wave.enqueued, wave.reminders) == (3, 2)

    jobs = {job.debtor_id: job for job in await CallQueue(db_pool, "test").claim(campaign.trunk, cap=10, limit=10)}
    assert (jobs[debtor].purpose, jobs[debtor].promise_id) == (JobPurpose.PROMISE_REMINDER, promise)
    directory = DebtorDirectory(db_pool)

    card = await directory.card(debtor, campaign.id, jobs[debtor].id)
    assert card is not None and card.purpose == "promise_reminder"
    assert card.promise == PromiseDue(promise, MONDAY, 800)
    card = await directory.card(plan_debtor, campaign.id, jobs[plan_debtor].id)
    assert card is not None and card.promise == PromiseDue(plan, MONDAY, 334, 3)  # a plan: each instalment

    card = await directory.card(plain, campaign.id, jobs[plain].id)
    assert card is not None and (card.purpose, card.promise) == ("collection", None)
    assert card.country == "CO"  # the debtor's own, not the campaign's
    card = await directory.card(debtor, campaign.id)  # no job (an inbound call): a plain card
    assert card is not None and (card.purpose, card.promise, card.country) == ("collection", None, "CL")


async def test_the_calls_party_reads_the_reminder_and_the_agent_recalls_the_promise(db_pool, company):
    campaign = await make_campaign(db_pool, company, timezone="America/Santiago", profiles=("CL",),
                                   promise_grace_days=0)
    (debtor,) = await seed_debtors(db_pool, company, 1)
    async with db_pool.connection() as conn:
        cur = await conn.execute("INSERT INTO promises (debtor_id, promised_date, amount) VALUES (%s, %s, 800) "
                                 "RETURNING id", (debtor, MONDAY))
        (promise,) = await cur.fetchone()
    await WavePlanner(db_pool).plan(campaign, _at(MONDAY + timedelta(days=1)), slot="09:00")
    (job,) = await CallQueue(db_pool, "test").claim(campaign.trunk, cap=10, limit=10)
    party = CallParty(CallContext(uuid.uuid4(), debtor, campaign.id, job.id), lambda *_: None, actions=None,
                      debtors=DebtorDirectory(db_pool), conversations=None)
    card = await party.card(None)  # an outbound campaign call: the job's debtor, with what the job is for
    assert card is not None and card.promise is not None and card.promise.promise_id == promise

    agent = ConversationFactory(Settings(), tts=None, stt=None, llm=None).debtor_agent(card)  # type: ignore[arg-type]
    agent.greeting()
    said = []
    for words in ("Sí, soy yo", "Sí"):
        said.append(" ".join([item async for item in agent.reply(words) if not isinstance(item, ToolCall)]))
    assert "800" not in said[0] and "800 pesos" in said[1] and "23 de noviembre" in said[1]  # after the notice
