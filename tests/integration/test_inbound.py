"""End to end: a real softphone dials the agent; the agent's greeting reaches the phone's ears."""

from __future__ import annotations

from campaigns.calls import CallOutcome
from media.audio import read_wav
from media.vad import speech_segments
from tests.integration.conftest import last_inbound_record
from tests.phones.audio import make_spanish_wav
from tests.phones.baresip import BaresipPhone


async def test_softphone_hears_the_greeting_and_the_call_is_recorded(app, tmp_path):
    mic = make_spanish_wav("Aló, buenas tardes. ¿Con quién hablo?", tmp_path / "caller.wav")
    phone = BaresipPhone(mic, workdir=tmp_path / "phone", speak_after_s=0.5)
    # The phone stays on longer than the greeting: the agent is the one who hangs up.
    result = await phone.adial("sip:7000@127.0.0.1", duration_s=14)
    assert result.registered and result.established, f"phone could not call in; log: {result.log}"

    record = await last_inbound_record(app)
    events = await app.call_log.events(record.id)
    kinds = [e.kind for e in events]
    assert not [e for e in events if e.kind == "media_silent"], f"silent call: {events}"
    assert record.outcome is CallOutcome.ANSWERED, kinds
    assert record.hangup_cause == 16 and record.hangup_cause_txt
    assert record.local_number == "7000" and record.remote_number == "1001"
    for expected in ("attempt_opened", "stasis_start", "answered", "media_ready", "greeting_played",
                     "attempt_closed"):
        assert expected in kinds, f"{expected} missing from {kinds}"
    # The caller spoke: Asterisk delivered its RTP to our socket, about 20 ms apart, no gaps.
    assert record.metrics["rtp_in"]["packets"] > 100 and record.metrics["rtp_in"]["sequence_gaps"] == 0

    # What the phone heard: one stretch of speech as long as the TTS audio we sent (+-20%).
    assert result.heard_wav is not None, f"baresip recorded nothing; log: {result.log}"
    heard = read_wav(result.heard_wav)
    segments = speech_segments(heard, hangover_ms=400)
    assert segments, "the phone's recording holds no speech"
    heard_speech_s = segments[-1][1] - segments[0][0]
    tts_s = record.metrics["greeting"]["tts_duration_s"]
    assert abs(heard_speech_s - tts_s) <= 0.2 * tts_s, (segments, tts_s)
