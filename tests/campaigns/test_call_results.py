"""A call's results in PostgreSQL: the transcript lines, the recording's place, usage and cost, and the
call_ended webhook carrying them (the cost is stored before the attempt is closed)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from campaigns.calls import CallLine, CallLog, CallOutcome, Direction
from campaigns.costs import CostRates, price_call


async def test_lines_usage_and_cost_are_kept_and_announced(db_pool):
    log = CallLog(db_pool)
    attempt = uuid.uuid4()
    await log.open_attempt(attempt_id=attempt, direction=Direction.INBOUND, channel_id=f"test-{attempt}",
                           remote_number="+56955550000")
    await log.mark_answered(attempt)
    await log.add_lines(attempt, [CallLine("agent", "Hola, ¿hablo con María?", 120, 2300, "tts")])
    await log.add_lines(attempt, [CallLine("caller", "Sí, soy yo.", 3100, 4000, "stt"),
                                  CallLine("agent", "Le llamo porque…", 2600, 3300, "tts", interrupted=True)])
    await log.add_lines(attempt, [])
    usage = {"telephony_s": 61.2, "stt_seconds": 4.5, "tts_chars": 60, "llm_requests": 0}
    cost, detail = price_call(usage, CostRates(telephony_per_min=Decimal("0.03")))
    await log.record_results(attempt, recording_path="2026/11/23/x.wav", recording_ms=61200, usage=usage, cost=cost,
                             cost_detail=detail)
    assert await log.close_attempt(attempt, outcome=CallOutcome.ANSWERED, hangup_cause=16, hangup_cause_txt=None)

    # In the order heard (by offset), whatever order they were written in.
    assert [(x.speaker, x.start_ms, x.interrupted) for x in await log.lines(attempt)] == [
        ("agent", 120, False), ("agent", 2600, True), ("caller", 3100, False)]
    async with db_pool.connection() as conn:
        cur = await conn.execute("SELECT recording_path, recording_ms, usage, cost, cost_detail FROM call_attempts "
                                 "WHERE id = %s", (attempt,))
        row = await cur.fetchone()
        cur = await conn.execute("SELECT payload FROM webhook_outbox WHERE event = 'call_ended' AND call_key = %s",
                                 (str(attempt),))
        (ended,) = await cur.fetchone()
    assert row == ("2026/11/23/x.wav", 61200, usage, Decimal("0.0600"), detail)  # two started minutes
    assert ended["cost"] == {"amount": "0.0600", "currency": "USD"} and ended["recording"] is True
    assert await log.lines(uuid.uuid4()) == []
