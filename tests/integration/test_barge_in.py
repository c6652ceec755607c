"""End to end through the lab: the caller talks over the agent, and the agent stops.

Measured on the phone's line: a `LoopbackTap` stamps the RTP the phone sends and receives with
the kernel's clock, so the interruption's onset (in what the phone sent) and the moment the
agent's audio stops (in what it received) are on one time base. baresip's own recordings have
no common clock, and the one it heard also carries the phone's playout buffer, which no agent
can cut short; they are checked for what they can show: the reply was cut short.
"""

from __future__ import annotations

from ari_app.app import CallCenterApp
from media.audio import AudioClip, read_wav
from media.tts import EspeakTts
from media.vad import speech_segments
from tests.integration.conftest import app_settings, last_inbound_record
from tests.phones.audio import make_caller_script
from tests.phones.baresip import DIAL_RTP_PORTS, BaresipPhone
from tests.phones.wiretap import LoopbackTap, loud_times, stream_pcm
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

QUIET_DBFS = -45.0  # the agent's speech sits near -20 dBFS; the pacer's silence decodes to zero
QUESTION, INTERRUPTION = "No tengo dinero.", "Quiero hablar con una persona ahora mismo, por favor."
REPLY = "Entiendo su situación. " + "Le voy a explicar con calma las opciones de pago que tenemos. " * 5


async def test_caller_interrupts_the_agent_mid_sentence(database_url, tmp_path):
    mic = make_caller_script([3.0, QUESTION, 4.0, INTERRUPTION, 6.0], tmp_path / "caller.wav")
    replies = [ScriptedReply(text=REPLY), ScriptedReply(text="Muy bien, le comunico.")]
    async with ScriptedOpenAIServer(replies).running() as llm:
        settings = app_settings(database_url, AGENT_MODE="conversation", LLM_BASE_URL=llm.base_url,
                                GREETING="Hola.", NO_INPUT_TIMEOUT_S=20)
        async with CallCenterApp(settings) as app:
            await app.wait_ready()
            phone = BaresipPhone(mic, workdir=tmp_path / "phone")
            with LoopbackTap(DIAL_RTP_PORTS) as tap:
                result = await phone.adial("sip:7000@127.0.0.1", duration_s=20)
            record = await last_inbound_record(app)
            turns = await app.call_log.turns(record.id)
            events = await app.call_log.events(record.id)
    assert result.established, f"phone could not call in; log: {result.log}"
    sent, heard = tap.streams()
    assert len(sent) > 900 and len(heard) > 900, (len(sent), len(heard))

    # The interruption's onset: the start of the phone's second utterance on the wire.
    spoken = speech_segments(AudioClip(stream_pcm(sent), 8000))
    assert len(spoken) >= 2, spoken
    onset = sent[0].at_s + spoken[1][0]
    # The agent was talking when the caller started, and fell quiet within 150 ms.
    loud = loud_times(heard, QUIET_DBFS)
    assert any(onset - 0.2 < t < onset for t in loud), "the agent was not speaking at the interruption"
    after = [t - onset for t in loud if onset <= t < onset + 1.0]
    stopped_after = (max(after) + 0.02) if after else 0.0  # a packet carries the 20 ms after its stamp
    assert stopped_after <= 0.150, f"the agent went on {stopped_after * 1000:.0f} ms over the caller"

    # The stored turn says what was played: the cut reply, ending where the phone stopped hearing it.
    assert [t["idx"] for t in turns] == [1, 2], turns
    first = turns[0]
    assert first["interrupted"] and first["agent_planned"] == REPLY.strip()
    assert first["agent_spoken"].endswith("…"), first["agent_spoken"]
    assert REPLY.startswith(first["agent_spoken"].rstrip("…"))
    reply_start = next(t for t in loud if t > sent[0].at_s + spoken[0][1])
    async with EspeakTts(voice=settings.tts_voice, rate=settings.tts_rate) as tts:
        said = await tts.synthesize(first["agent_spoken"].rstrip("…"))
    said_s = speech_segments(said)[-1][1] - speech_segments(said)[0][0]
    played_s = onset + stopped_after - reply_start
    assert abs(played_s - said_s) < 0.7, (played_s, said_s, first["agent_spoken"])
    # ... and the caller's interruption became the next turn.
    assert "persona" in turns[1]["user_text"].lower()
    summary = next(e.data for e in events if e.kind == "conversation_ended")
    assert summary["barge_ins"] == 1 and summary["turns"] == 2, summary

    # The phone's own recording of what it heard: the reply lasted about as long as what was played,
    # far less than the whole reply.
    heard_segments = speech_segments(read_wav(result.heard_wav), hangover_ms=500)
    longest = max(end - start for start, end in heard_segments)
    assert longest < played_s + 0.7, (heard_segments, played_s)
