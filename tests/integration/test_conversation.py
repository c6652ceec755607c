"""End to end through the lab: a softphone holds a two-turn Spanish conversation with the agent."""

from __future__ import annotations

from ari_app.app import CallCenterApp
from campaigns.calls import CallOutcome
from media.audio import read_wav
from media.vad import speech_segments
from tests.integration.conftest import app_settings, last_inbound_record
from tests.phones.audio import make_caller_script
from tests.phones.baresip import BaresipPhone
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply


async def test_two_spoken_turns_are_answered_and_stored_with_latencies(database_url, tmp_path):
    replies = [ScriptedReply(text="Claro, le comunico con una persona en un momento."),
               ScriptedReply(text="Entiendo. Podemos buscar una fecha de pago que le acomode.")]
    mic = make_caller_script([3.0, "Quiero hablar con una persona.", 6.0, "No me vuelvan a llamar.", 6.0],
                             tmp_path / "caller.wav")
    async with ScriptedOpenAIServer(replies).running() as llm:
        settings = app_settings(database_url, AGENT_MODE="conversation", LLM_BASE_URL=llm.base_url,
                                GREETING="Hola, buenas tardes.", NO_INPUT_TIMEOUT_S=20)
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            phone = BaresipPhone(mic, workdir=tmp_path / "phone")
            result = await phone.adial("sip:7000@127.0.0.1", duration_s=19)
            record = await last_inbound_record(app)
            turns = await app.call_log.turns(record.id)
            kinds = [e.kind for e in await app.call_log.events(record.id)]
    assert result.established, f"phone could not call in; log: {result.log}"
    assert "media_silent" not in kinds, kinds
    assert record.outcome is CallOutcome.ANSWERED
    assert len(turns) == 2, turns
    assert "persona" in turns[0]["user_text"].lower() and "llamar" in turns[1]["user_text"].lower()
    assert turns[0]["agent_spoken"] == "Claro, le comunico con una persona en un momento."
    for turn in turns:
        for mark in ("stt_final_ms", "agent_first_output_ms", "tts_first_audio_ms", "first_rtp_out_ms"):
            assert turn[mark] is not None and turn[mark] > 0, (mark, turn)
        assert turn["voice_to_voice_ms"] == turn["first_rtp_out_ms"] < 3000
    assert kinds.count("turn") == 2
    # The LLM was asked with the caller's words.
    assert "persona" in llm.requests[0]["messages"][-1]["content"].lower()
    # The phone heard the greeting and both replies: three stretches of speech.
    heard = read_wav(result.heard_wav)
    assert len(speech_segments(heard, hangover_ms=500)) >= 3
