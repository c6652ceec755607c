"""Sentiment during the call on a real PostgreSQL: each turn stored with the caller's sentiment, the
live `sentiment_alert` in the webhook outbox once, and the post-call analysis not alerting again for
a reason the call already alerted for (only for a new one)."""

from __future__ import annotations

import uuid

import pytest

from ari_app.calls.journal import CallJournal
from ari_app.calls.results import CallResults
from campaigns.calls import CallLine, CallLog, CallOutcome, Direction
from media.turn_metrics import TurnMetrics
from tests.campaigns.conftest import seed_debtors
from tests.campaigns.test_analysis import analyse_all, outbox, worker


@pytest.fixture(autouse=True)
async def empty_queue(db_pool):
    """The session's database is shared: other tests' answered calls are queued too."""
    async with db_pool.connection() as conn:
        await conn.execute("DELETE FROM call_analyses")


async def talk(pool, company, *said: str) -> uuid.UUID:
    """A call to a new debtor whose caller says `said`, one turn each, stored as the app stores them
    (`CallResults.store_turn`), with the transcript's lines; then closed as answered."""
    (debtor_id,) = await seed_debtors(pool, company, 1, phones=1)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, e164 FROM phones WHERE debtor_id = %s", (debtor_id,))
        phone_id, e164 = await cur.fetchone()
    attempt, log = uuid.uuid4(), CallLog(pool)
    await log.open_attempt(attempt_id=attempt, direction=Direction.OUTBOUND, channel_id=f"live-{attempt}",
                           remote_number=e164, debtor_id=debtor_id, phone_id=phone_id)
    await log.mark_answered(attempt)
    journal = CallJournal(log, attempt, f"live-{attempt}")
    journal.start()
    results = CallResults(log, attempt, journal)
    for i, text in enumerate(said, 1):
        await log.add_lines(attempt, [CallLine("caller", text, i * 4000, i * 4000 + 2000, "stt"),
                                      CallLine("agent", "Entiendo.", i * 4000 + 2500, i * 4000 + 3500, "tts")])
        await results.store_turn(TurnMetrics(index=i, user_text=text, agent_spoken=["Entiendo."]))
    await journal.close()
    await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt="Normal Clearing")
    return attempt


async def alerts(pool, attempt) -> list[dict]:
    return [payload for event, payload, _ in await outbox(pool, attempt) if event == "sentiment_alert"]


async def test_turns_carry_their_sentiment_and_the_live_alert_goes_out_once(db_pool, company):
    attempt = await talk(db_pool, company, "Sí, soy yo.", "¿Otra vez ustedes? Ya les dije que no.",
                         "Estoy harto de que me llamen.", "Hasta cuándo, es un abuso.")
    turns = await CallLog(db_pool).turns(attempt)
    assert [(t["idx"], t["sentiment"], t["frustrated"]) for t in turns] == [
        (1, "neutral", False), (2, "negative", True), (3, "negative", True), (4, "negative", True)]

    (live,) = await alerts(db_pool, attempt)  # once, though the fourth turn was frustrated too
    assert live["phase"] == "live" and live["turn_index"] == 3
    assert live["reasons"] == ["negative_and_worsening", "frustrated"]
    assert [t["sentiment"] for t in live["turns"]] == ["neutral", "negative", "negative"]
    assert live["call"]["attempt_id"] == str(attempt) and live["call"]["phone"].count("*") >= 5
    # Raised before the call ended: its outbox row precedes call_ended's.
    events = [e for e, _, _ in await outbox(db_pool, attempt)]
    assert events.index("sentiment_alert") < events.index("call_ended")
    # A second alert for these reasons is refused by the record, whoever asks.
    assert not await CallLog(db_pool).sentiment_alert(attempt, ["frustrated"], {"phase": "live"})

    await analyse_all(worker(db_pool))
    events = [e for e, _, _ in await outbox(db_pool, attempt)]
    assert events.count("call_analyzed") == 1 and events.count("sentiment_alert") == 1  # not again after the call
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT sentiment_alerts FROM call_attempts WHERE id = %s", (attempt,))
        assert (await cur.fetchone())[0] == ["negative_and_worsening", "frustrated"]


async def test_the_analysis_alerts_only_for_a_reason_the_call_did_not_alert_for(db_pool, company):
    attempt = await talk(db_pool, company, "Quiero hablar con una persona.", "Sí, con una persona.",
                         "Estoy harto, es un abuso.", "Ya les dije, qué molestia.")
    live = await alerts(db_pool, attempt)
    assert [(a["phase"], a["turn_index"], a["reasons"]) for a in live] == [("live", 1, ["asked_for_human"])]
    await analyse_all(worker(db_pool))
    live_again, after = await alerts(db_pool, attempt)
    assert live_again == live[0]
    # New reasons only: not asked_for_human again.
    assert after["phase"] == "post_call" and after["reasons"] == ["negative_and_worsening", "frustrated"]
    assert after["needs_human"] is True


async def test_a_calm_call_raises_no_alert_live_or_after(db_pool, company):
    attempt = await talk(db_pool, company, "Aló, sí, soy yo.", "Le pago el viernes cincuenta mil.",
                         "Perfecto, muchas gracias.")
    assert [t["sentiment"] for t in await CallLog(db_pool).turns(attempt)] == ["neutral", "positive", "positive"]
    await analyse_all(worker(db_pool))
    assert await alerts(db_pool, attempt) == []
