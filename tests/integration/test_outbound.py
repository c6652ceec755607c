"""Outbound calls through the real Asterisk to a sipp carrier on the `trunk` endpoint."""

from __future__ import annotations

import pytest

from campaigns.calls import CallOutcome
from tests.integration.conftest import assert_not_silent, finished
from tests.phones.sipp import SippCarrier


async def test_answered_call_speaks_and_is_recorded(app):
    with SippCarrier("answer"):  # answers at once and echoes our RTP back
        call = await finished(app.dialer.dial("5551234"))
    record = await app.call_log.get(call.attempt_id)
    events = await app.call_log.events(call.attempt_id)
    assert_not_silent(call, events)
    assert record.outcome is CallOutcome.ANSWERED
    assert record.hangup_cause == 16
    assert record.answered_at is not None and record.ended_at is not None
    kinds = [e.kind for e in events]
    for expected in ("attempt_opened", "originated", "stasis_start", "media_ready", "greeting_played",
                     "attempt_closed"):
        assert expected in kinds, f"{expected} missing from {kinds}"
    assert kinds.index("originated") < kinds.index("stasis_start") < kinds.index("greeting_played")
    greeting = record.metrics["greeting"]
    assert greeting["frames_played"] == greeting["frames_total"] > 50
    # sipp echoed what we sent: what came back is about as long as the greeting.
    assert record.metrics["rtp_in"]["packets"] >= 0.8 * greeting["frames_total"]
    assert record.metrics["rtp_out"]["late_frames"] == 0


# What the carrier answers -> what the contact policy must be told (hangup causes measured in the lab).
@pytest.mark.parametrize(
    ("scenario", "outcome", "cause"),
    [
        ("busy", CallOutcome.BUSY, 17),
        ("unavailable", CallOutcome.NO_ANSWER, 19),
        ("congestion", CallOutcome.CONGESTION, 34),
        ("not_found", CallOutcome.INVALID_NUMBER, 1),
        ("ring_forever", CallOutcome.NO_ANSWER, 19),
    ],
)
async def test_unanswered_outcomes_follow_the_hangup_cause(app, scenario, outcome, cause):
    with SippCarrier(scenario):
        call = await finished(app.dialer.dial("5551234"), timeout_s=30)
    record = await app.call_log.get(call.attempt_id)
    assert (record.outcome, record.hangup_cause) == (outcome, cause)
    assert record.answered_at is None
    kinds = [e.kind for e in await app.call_log.events(call.attempt_id)]
    assert "stasis_start" not in kinds and "media_ready" not in kinds
    assert kinds[0] == "attempt_opened" and kinds[-1] == "attempt_closed"


async def test_a_call_without_audio_is_reported_silent_not_hung(database_url):
    """sipp answers but never sends RTP: the app must notice within its timeout and say why."""
    from ari_app.app import CallCenterApp
    from tests.integration.conftest import app_settings

    async with CallCenterApp(app_settings(database_url, RTP_SILENCE_TIMEOUT_S=1.5)) as app:
        await app.wait_ready()
        with SippCarrier("answer_mute"):
            call = await finished(app.dialer.dial("5551234"), timeout_s=15)
        record = await app.call_log.get(call.attempt_id)
        events = await app.call_log.events(call.attempt_id)
    assert record.outcome is CallOutcome.SILENT
    silent = [e for e in events if e.kind == "media_silent"]
    assert len(silent) == 1
    diagnostics = silent[0].data
    assert diagnostics["rtp_in"]["packets"] == 0
    assert diagnostics["local_rtp"] and diagnostics["asterisk_rtp"] and diagnostics["rtp_out_packets"] > 0
