"""The conversation loop on real audio: real VAD, Whisper, espeak TTS and pacer, scripted LLM server."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import numpy as np
import pytest

from agent.llm import ChatLlm
from agent.llm_agent import LlmAgent
from agent.protocol import FallbackAgent
from media.audio import AudioClip, read_wav, resample
from media.conversation import Conversation, ConversationConfig
from media.g711 import CODECS
from media.pacer import RtpPacer
from media.rtp import RtpPacket
from media.segmenter import SpeechSegmenter
from media.stt import WhisperStt
from media.tts import EspeakTts
from media.turn import NoInputPolicy
from media.usage import CallUsage
from media.vad import speech_segments
from tests.phones.audio import make_spanish_wav
from tests.standins.openai_server import ScriptedOpenAIServer, ScriptedReply

FRAME = 160  # 20 ms at 8 kHz


def _speech(tmp_path: Path, text: str, name: str) -> np.ndarray:
    clip = read_wav(make_spanish_wav(text, tmp_path / f"{name}.wav"))
    return resample(clip.pcm, clip.sample_rate, 8000)


class Line:
    """The caller's side of the line: plays a script of audio/silence in real time, 20 ms a frame."""

    def __init__(self, conversation: Conversation) -> None:
        self._conversation = conversation
        self.started_at = 0.0

    async def play(self, script: list[np.ndarray | float]) -> None:
        loop = asyncio.get_running_loop()
        pcm = np.concatenate([
            part if isinstance(part, np.ndarray) else np.zeros(int(part * 8000), dtype=np.int16)
            for part in script
        ])
        start = self.started_at = loop.time()
        for n in range(len(pcm) // FRAME):
            await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))
            self._conversation.feed(pcm[n * FRAME : (n + 1) * FRAME])


@pytest.fixture
async def engines():
    async with WhisperStt() as stt, EspeakTts() as tts:
        yield stt, tts


def _conversation(engines, server, sent, send=None, **kwargs):
    stt, tts = engines
    send = send or (lambda data: sent.append((asyncio.get_running_loop().time(), RtpPacket.parse(data))))
    # The client first: building its SSL context blocks the loop for 50-110 ms, which a running pacer
    # would have to skip over (a marker bit, read as one more talkspurt).
    llm = ChatLlm(base_url=server.base_url, api_key="k", model="scripted")
    pacer = RtpPacer(send, CODECS["ulaw"])
    pacer.start()
    agent = LlmAgent(llm, "Eres un agente de cobranza.", FallbackAgent("Hola, buenas tardes."))
    turns = []

    async def on_turn(metrics):
        turns.append(metrics)

    conv = Conversation(pacer=pacer, tts=tts, stt=stt, agent=agent, segmenter=SpeechSegmenter(),
                        on_turn=on_turn, **kwargs)
    return conv, pacer, llm, turns


async def test_two_turns_are_answered_with_all_latency_marks(engines, tmp_path):
    first = _speech(tmp_path, "Quiero hablar con una persona.", "a")
    # (espeak's bare "No tengo dinero." is heard as "no tengo ni idea" with the fitted window: docs/speech.md)
    second = _speech(tmp_path, "No me vuelvan a llamar.", "b")
    replies = [ScriptedReply(text="Claro, le comunico con una persona."),
               ScriptedReply(text="Entiendo. Podemos buscar una fecha.")]
    sent: list = []
    lines: list = []
    usage = CallUsage()
    async with ScriptedOpenAIServer(replies).running() as server:
        conv, pacer, llm, turns = _conversation(engines, server, sent, no_input=NoInputPolicy(timeout_s=30),
                                                on_line=lines.append, usage=usage)
        runner = asyncio.create_task(conv.run())
        line = Line(conv)
        await line.play([3.0, first, 4.5, second, 4.5])
        runner.cancel()
        await pacer.stop()
        await llm.aclose()
    assert [t.index for t in turns] == [1, 2]
    assert "persona" in turns[0].user_text.lower() and "llamar" in turns[1].user_text.lower()
    assert turns[0].agent_spoken == ["Claro, le comunico con una persona."]
    assert conv.false_alarms == 0 and conv.barge_ins == []  # the agent was never paused
    # Recognition started in the pause that ended each turn, so it was done early.
    assert all(t.stt_speculative for t in turns), [t.as_dict() for t in turns]
    for turn in turns:
        marks = turn.as_dict()
        assert 0 < marks["stt_final_ms"] <= marks["agent_first_output_ms"] <= marks["tts_first_audio_ms"]
        assert marks["tts_first_audio_ms"] <= marks["first_rtp_out_ms"] == marks["voice_to_voice_ms"]
        assert marks["voice_to_voice_ms"] < 3000
    # The LLM saw the conversation so far, greeting included.
    assert [m["role"] for m in server.requests[1]["messages"]] == ["system", "assistant", "user", "assistant",
                                                                    "user"]
    # The transcript, line by line as heard: the greeting, then each turn and its answer, in order.
    assert [(x.speaker, x.source, x.text) for x in lines] == [
        ("agent", "tts", "Hola, buenas tardes."), ("caller", "stt", turns[0].user_text),
        ("agent", "tts", "Claro, le comunico con una persona."), ("caller", "stt", turns[1].user_text),
        ("agent", "tts", "Entiendo. Podemos buscar una fecha.")]
    assert all(a.end_at <= b.start_at for a, b in itertools.pairwise(lines))
    assert not any(x.interrupted for x in lines)
    onset = line.started_at + 3.0 + speech_segments(AudioClip(first, 8000))[0][0]
    assert abs(lines[1].start_at - onset) < 0.25 and lines[1].end_at - lines[1].start_at > 1.0  # the VAD's onset
    assert lines[2].start_at == turns[0].first_rtp_out_at
    # What the call asked of the engines: both utterances decoded (and a dropped guess or two), every
    # sentence synthesised, two LLM requests with the tokens the endpoint reported.
    assert usage.stt_seconds >= (len(first) + len(second)) / 8000 * 0.8
    assert usage.tts_chars == len("Hola, buenas tardes.") + sum(len(s) for t in turns for s in t.agent_planned)
    assert usage.llm_requests == 2 and usage.llm_prompt_tokens > 0 and usage.llm_completion_tokens > 0


async def test_a_pause_inside_a_turn_drops_the_speculative_transcript(engines, tmp_path):
    """A 200 ms pause starts a speculative decode; the caller goes on, so the turn hears both parts."""
    first = _speech(tmp_path, "Quiero hablar", "a")
    rest = _speech(tmp_path, "con una persona.", "b")
    first = first[: int(speech_segments(AudioClip(first, 8000))[-1][1] * 8000) + 160]  # no trailing silence
    rest = rest[max(0, int(speech_segments(AudioClip(rest, 8000))[0][0] * 8000) - 160):]  # nor leading
    sent: list = []
    async with ScriptedOpenAIServer([ScriptedReply(text="Claro.")]).running() as server:
        conv, pacer, llm, turns = _conversation(engines, server, sent, no_input=NoInputPolicy(timeout_s=30))
        runner = asyncio.create_task(conv.run())
        await Line(conv).play([3.0, first, 0.2, rest, 3.5])
        runner.cancel()
        await pacer.stop()
        await llm.aclose()
    assert len(turns) == 1, [t.as_dict() for t in turns]
    assert conv.speculations_dropped >= 1
    text = turns[0].user_text.lower()
    assert "quiero" in text and "persona" in text


async def test_words_before_a_long_pause_stay_in_the_turn(engines, tmp_path):
    """A 600 ms pause ends the utterance (the segmenter's hang-over is 300 ms) but not the turn: the
    caller who goes on is answered for everything said, not only for the words after the pause."""
    first = _speech(tmp_path, "Mire, lo que pasa es que", "a")
    rest = _speech(tmp_path, "ahora no tengo trabajo.", "b")
    first = first[: int(speech_segments(AudioClip(first, 8000))[-1][1] * 8000) + 160]
    rest = rest[max(0, int(speech_segments(AudioClip(rest, 8000))[0][0] * 8000) - 160):]
    sent: list = []
    lines: list = []
    async with ScriptedOpenAIServer([ScriptedReply(text="Entiendo.")]).running() as server:
        conv, pacer, llm, turns = _conversation(engines, server, sent, no_input=NoInputPolicy(timeout_s=30),
                                                on_line=lines.append)
        runner = asyncio.create_task(conv.run())
        await Line(conv).play([3.0, first, 0.6, rest, 3.5])
        runner.cancel()
        await pacer.stop()
        await llm.aclose()
    assert len(turns) == 1, [t.as_dict() for t in turns]
    text = turns[0].user_text.lower()
    assert "pasa" in text and "tengo" in text, text  # a word of each half ("trabajo" is espeak-fragile)
    assert "pasa" in server.requests[0]["messages"][-1]["content"].lower()  # the agent was told both parts
    # The transcript keeps each utterance where it was said.
    assert [x.speaker for x in lines] == ["agent", "caller", "caller", "agent"]

async def test_caller_speech_during_a_reply_interrupts_it(engines, tmp_path):
    question = _speech(tmp_path, "No tengo dinero.", "q")
    interruption = _speech(tmp_path, "Quiero hablar con una persona ahora mismo, por favor.", "i")
    long_reply = ScriptedReply(text="Entiendo su situación. " + "Le voy a explicar las opciones de pago. " * 6)
    sent: list = []
    lines: list = []
    async with ScriptedOpenAIServer([long_reply, ScriptedReply(text="Muy bien.")]).running() as server:
        conv, pacer, llm, turns = _conversation(engines, server, sent, no_input=NoInputPolicy(timeout_s=30),
                                                on_line=lines.append)
        # The reply's own frames, silent ones included: espeak leaves digital silence between words and
        # after each sentence, which a payload check cannot tell from the pacer's idle silence.
        played: list[float] = []
        pacer.on_sent = lambda payload, slot_at: played.append(asyncio.get_running_loop().time())
        runner = asyncio.create_task(conv.run())
        line = Line(conv)
        await line.play([3.0, question, 4.0, interruption, 3.0])
        runner.cancel()
        await pacer.stop()
        await llm.aclose()
    assert len(conv.barge_ins) == 1
    interrupted = turns[0]
    assert interrupted.interrupted
    assert len(" ".join(interrupted.agent_spoken)) < len(" ".join(interrupted.agent_planned)) / 2
    # The caller hears the agent stop within 150 ms of starting to speak over it.
    lead = speech_segments(AudioClip(interruption, 8000))[0][0]
    onset = line.started_at + 3.0 + len(question) / 8000 + 4.0 + lead
    silence = CODECS["ulaw"].silence(FRAME)
    overlap = [t - onset for t, p in sent if p.payload != silence and onset < t < onset + 0.3]
    assert overlap and max(overlap) <= 0.150, f"agent audio {max(overlap) * 1000:.0f} ms into the interruption"
    # The reply's audio ends within 2 frames of the pause (and the next reply comes much later).
    cut = conv.barge_ins[0]
    audio = [t - cut for t in played]
    assert any(-0.1 < t < 0 for t in audio), "the agent was not speaking when it was cut off"
    assert all(t <= 0.041 for t in audio if 0 < t < 0.3), [t for t in audio if 0 < t < 0.3]
    # The transcript keeps what the caller heard of the cut reply, ending when its audio stopped.
    (heard,) = [x for x in lines if x.interrupted]
    assert heard.speaker == "agent" and heard.text == " ".join(interrupted.agent_spoken)
    # One frame after the reply's last frame left (a slot late at most on a loaded machine).
    assert heard.end_at == pytest.approx(max(t for t in played if t < cut + 0.1) + 0.02, abs=0.025)


async def test_silence_reprompts_once_then_ends_politely(engines, tmp_path):
    sent: list = []
    lines: list = []
    async with ScriptedOpenAIServer([]).running() as server:
        conv, pacer, llm, turns = _conversation(engines, server, sent, on_line=lines.append,
                                                no_input=NoInputPolicy(timeout_s=1.0, reprompts=1))
        feeder = asyncio.create_task(Line(conv).play([30.0]))
        ended = await asyncio.wait_for(conv.run(), 20)
        feeder.cancel()
        await pacer.stop()
        await llm.aclose()
    assert ended == "no_input" and turns == [] and server.requests == []
    # Greeting, one re-prompt, the farewell, each played whole. (Not counted as RTP marker bits: the pacer
    # also marks a discontinuity after the loop stalled, which a loaded 2-core machine causes now and then.)
    assert [(x.speaker, x.text, x.interrupted) for x in lines] == [
        ("agent", "Hola, buenas tardes.", False), ("agent", "¿Aló? ¿Me escucha?", False),
        ("agent", "Como no le escucho, voy a cortar. Le volveremos a llamar. Que tenga un buen día.", False)]


async def test_a_call_past_its_maximum_duration_is_closed_politely(engines, tmp_path):
    sent: list = []
    lines: list = []
    async with ScriptedOpenAIServer([]).running() as server:
        conv, pacer, llm, turns = _conversation(engines, server, sent, on_line=lines.append,
                                                no_input=NoInputPolicy(timeout_s=30),
                                                config=ConversationConfig(max_duration_s=2.0))
        feeder = asyncio.create_task(Line(conv).play([30.0]))
        ended = await asyncio.wait_for(conv.run(), 20)
        feeder.cancel()
        await pacer.stop()
        await llm.aclose()
    assert ended == "max_duration" and conv.summary()["ended_because"] == "max_duration" and turns == []
    # The greeting whole, then the closing line whole: the time was up while nobody was talking.
    assert [(x.speaker, x.text, x.interrupted) for x in lines] == [
        ("agent", "Hola, buenas tardes.", False), ("agent", ConversationConfig().time_up_line, False)]

async def test_the_agents_own_echo_does_not_interrupt_it(engines, tmp_path):
    """The line returns the agent's voice 25 dB down after 60 ms, as a telephone hybrid does."""
    question = _speech(tmp_path, "No tengo dinero.", "q")
    reply = ScriptedReply(text="Entiendo su situación. Le voy a explicar las opciones de pago que tenemos.")
    sent: list = []
    async with ScriptedOpenAIServer([reply]).running() as server:
        loop = asyncio.get_running_loop()
        echo_gain = 10 ** (-25 / 20)

        def echo(data: bytes) -> None:
            packet = RtpPacket.parse(data)
            sent.append((loop.time(), packet))
            pcm = (CODECS["ulaw"].decode(packet.payload) * echo_gain).astype(np.int16)
            loop.call_later(0.06, conv.feed, pcm)

        conv, pacer, llm, turns = _conversation(engines, server, sent, send=echo,
                                                no_input=NoInputPolicy(timeout_s=30))
        runner = asyncio.create_task(conv.run())
        await Line(conv).play([3.5, question])
        await asyncio.sleep(9)
        runner.cancel()
        await pacer.stop()
        await llm.aclose()
    assert conv.barge_ins == [] and conv.false_alarms == 0  # the echo never even paused the agent
    assert [t.interrupted for t in turns] == [False]
    assert turns[0].agent_spoken == turns[0].agent_planned  # heard in full
    assert len(server.requests) == 1  # the echo was never taken for a caller turn
