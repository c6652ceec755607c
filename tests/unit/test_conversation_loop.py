"""The conversation loop's wiring, with stand-in engines (tones for voices, a scripted recogniser): keys
are one more input to the turn loop, cutting the agent off and becoming turns; speech becomes a turn
through the speculative decode. test_conversation.py runs the same loop on real speech engines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

from media.conversation import Conversation
from media.g711 import CODECS
from media.pacer import RtpPacer
from media.segmenter import SpeechSegmenter
from media.turn import NoInputPolicy
from tests.standins.engines import FRAME, EnergyVad, ScriptedStt, ToneTts, tone


class Brain:
    """A scripted responder: it says which keys it expects and answers every turn with one sentence."""

    def __init__(self, greeting: str = "Hola.", keys_expected: int = 1) -> None:
        self._greeting = greeting
        self.keys_expected = keys_expected
        self.asked: list[tuple[str, str]] = []
        self.corrected: list[str] = []
        self.finished = False

    def greeting(self) -> str:
        return self._greeting

    async def reply(self, user_text: str) -> AsyncIterator[str]:
        self.asked.append(("reply", user_text))
        yield "Entiendo."

    async def keys(self, entry: str) -> AsyncIterator[str]:
        self.asked.append(("keys", entry))
        yield f"Marcó {entry}."

    def reprompt(self) -> str:
        return "¿Aló?"

    def farewell(self) -> str:
        return "Adiós."

    def correct_last_reply(self, spoken: str) -> None:
        self.corrected.append(spoken)

    def retract_last_reply(self) -> bool:
        self.asked.append(("retract", ""))
        return True


class Call:
    def __init__(self, brain: Brain, stt: ScriptedStt | None = None) -> None:
        self.pacer = RtpPacer(lambda data: None, CODECS["ulaw"])
        self.pacer.start()
        self.lines: list = []
        self.stored: list = []
        self.brain = brain

        async def on_turn(metrics) -> None:
            self.stored.append(metrics)

        self.conversation = Conversation(
            pacer=self.pacer, tts=ToneTts(seconds_per_char=0.02), stt=stt or ScriptedStt("sí"), agent=brain,
            segmenter=SpeechSegmenter(EnergyVad()), no_input=NoInputPolicy(timeout_s=30), on_turn=on_turn,
            on_line=self.lines.append)
        self.runner = asyncio.create_task(self.conversation.run())

    async def hang_up(self) -> None:
        self.runner.cancel()
        await asyncio.gather(self.runner, return_exceptions=True)
        await self.pacer.stop()

    def said(self) -> list[tuple[str, str, str]]:
        return [(x.speaker, x.source, x.text) for x in self.lines]


async def test_a_menu_key_is_a_turn_the_agent_answers():
    call = Call(Brain(keys_expected=1))
    await asyncio.sleep(0.3)  # the greeting (0.1 s) is over
    pressed_at = asyncio.get_running_loop().time()
    call.conversation.press("1")
    await asyncio.sleep(0.4)
    await call.hang_up()
    (turn,) = call.conversation.turns
    assert (turn.index, turn.user_text, turn.turn_rule, turn.confidence) == (1, "1", "dtmf", 1.0)
    assert turn.speech_end_at == turn.stt_final_at == pytest.approx(pressed_at, abs=0.005)  # when it was pressed
    assert turn.agent_spoken == ["Marcó 1."] and call.stored == [turn]
    assert call.brain.asked == [("keys", "1")]
    assert call.said() == [("agent", "tts", "Hola."), ("caller", "dtmf", "1"), ("agent", "tts", "Marcó 1.")]
    assert call.conversation.summary()["keys_pressed"] == 1


async def test_a_key_cuts_the_agent_off_but_a_stray_hash_does_not():
    call = Call(Brain(greeting="Hola, " * 30, keys_expected=1))  # 3.6 s of greeting
    await asyncio.sleep(0.3)
    call.conversation.press("#")  # habit, with nothing typed: ignored
    await asyncio.sleep(0.2)
    assert len(call.lines) == 0 and call.pacer.is_playing  # still greeting
    call.conversation.press("2")
    await asyncio.sleep(0.3)
    await call.hang_up()
    # The key's line comes first: the cut greeting reports what was heard once its task has stopped.
    key, greeting, answer = call.lines
    assert greeting.interrupted and 0.4 < greeting.end_at - greeting.start_at < 0.7
    assert call.brain.corrected == [greeting.text]  # the brain remembers only what was heard
    assert (key.text, key.source) == ("2", "dtmf") and answer.text == "Marcó 2." and not answer.interrupted
    assert call.conversation.keys_pressed == 2 and call.conversation.barge_ins == []  # a key is no barge-in


async def test_a_keyed_entry_ends_at_hash_or_after_a_pause_and_its_line_spans_the_keys():
    call = Call(Brain(keys_expected=9))
    await asyncio.sleep(0.3)
    loop = asyncio.get_running_loop()
    first = loop.time()
    for key in "12#":
        call.conversation.press(key)
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)
    call.conversation.press("7")
    await asyncio.sleep(3.3)  # KeypadEntry's 3 s after the last key
    await call.hang_up()
    keyed = [x for x in call.lines if x.source == "dtmf"]
    assert [x.text for x in keyed] == ["12", "7"]
    assert keyed[0].start_at == pytest.approx(first, abs=0.005)
    assert keyed[0].end_at - keyed[0].start_at == pytest.approx(0.2, abs=0.03)  # to the '#'
    assert call.brain.asked == [("keys", "12"), ("keys", "7")]
    assert [t.index for t in call.conversation.turns] == [1, 2]


async def test_speech_is_a_turn_decoded_in_the_callers_pause():
    stt = ScriptedStt("sí", delay_s=0.05)
    call = Call(Brain(), stt)
    loop = asyncio.get_running_loop()
    pcm = np.concatenate([tone(0.4, float("-inf")), tone(0.6, -20.0), tone(1.2, float("-inf"))])
    start = loop.time()
    for n in range(len(pcm) // FRAME):
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))
        call.conversation.feed(pcm[n * FRAME:(n + 1) * FRAME])
    await asyncio.sleep(0.3)
    await call.hang_up()
    (turn,) = call.conversation.turns
    assert turn.user_text == "sí" and turn.turn_rule == "answer_word" and turn.stt_speculative
    assert len(stt.clips) == 1 and call.conversation.usage.stt_requests == 1  # the guess was the transcript
    assert call.brain.asked == [("reply", "sí")]
    assert call.said() == [("agent", "tts", "Hola."), ("caller", "stt", "sí"), ("agent", "tts", "Entiendo.")]
    # Answered after the end-of-turn wait for a complete answer, counted from the end of the speech.
    assert 0.25 <= turn.agent_first_output_at - turn.speech_end_at < 0.45
    assert call.stored == [turn] and turn.first_rtp_out_at is not None


class SlowBrain(Brain):
    async def reply(self, user_text: str) -> AsyncIterator[str]:
        self.asked.append(("reply", user_text))
        yield "Entiendo, le explico las opciones de pago que tenemos para usted."  # 1.3 s of tone


async def _say(call: Call, pcm: np.ndarray) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(len(pcm) // FRAME):
        await asyncio.sleep(max(0.0, start + n * 0.02 - loop.time()))
        call.conversation.feed(pcm[n * FRAME:(n + 1) * FRAME])


async def test_a_caller_who_goes_on_right_after_the_turn_was_taken_continues_it():
    """Answered 0.3 s into a 0.6 s pause, the caller goes on: one turn with both halves, the reply to the
    first half stopped and forgotten by the brain, nothing of it stored as a turn."""
    call = Call(SlowBrain(), ScriptedStt("sí", delay_s=0.05))
    silence = float("-inf")
    await _say(call, np.concatenate([tone(0.4, silence), tone(0.6, -20.0), tone(0.6, silence),
                                     tone(0.6, -20.0), tone(2.5, silence)]))
    await call.hang_up()
    (turn,) = call.conversation.turns
    assert turn.user_text == "sí sí" and call.stored == [turn]
    assert call.brain.asked == [("reply", "sí"), ("retract", ""), ("reply", "sí sí")]
    assert call.brain.corrected == []  # a retracted reply is not "corrected": it never happened
    assert call.conversation.summary()["continuations"] == 1


async def test_a_caller_who_answers_after_the_reply_got_going_interrupts_it_instead():
    call = Call(SlowBrain(), ScriptedStt("sí", delay_s=0.05))
    silence = float("-inf")
    await _say(call, np.concatenate([tone(0.4, silence), tone(0.6, -20.0), tone(1.6, silence),
                                     tone(0.8, -20.0), tone(2.5, silence)]))
    await call.hang_up()
    assert [t.user_text for t in call.conversation.turns] == ["sí", "sí"]
    assert ("retract", "") not in call.brain.asked and call.conversation.summary()["continuations"] == 0


async def test_speech_heard_late_keeps_the_time_it_was_said():
    """The loop is held up for the whole utterance (every frame queued, none heard): the caller's line is
    still placed when the words arrived, where the recording puts them, and the delay is counted."""
    call = Call(Brain(), ScriptedStt("sí", delay_s=0.05))
    await asyncio.sleep(0.3)  # the greeting (0.1 s) is over
    pcm = np.concatenate([tone(0.2, float("-inf")), tone(0.8, -20.0), tone(0.6, float("-inf"))])
    loop = asyncio.get_running_loop()
    said_at = loop.time() + 0.2
    for n in range(len(pcm) // FRAME):
        time.sleep(0.02)  # noqa: ASYNC251 - blocking on purpose: the conversation takes no frame till the end
        call.conversation.feed(pcm[n * FRAME:(n + 1) * FRAME])
    await asyncio.sleep(0.8)
    await call.hang_up()
    line = next(x for x in call.lines if x.speaker == "caller")
    assert line.start_at == pytest.approx(said_at, abs=0.08) and line.end_at - line.start_at > 0.6, line
    assert call.conversation.summary()["max_behind_ms"] >= 1000
