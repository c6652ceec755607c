"""SpeculativeStt on its own: a decode starts in the caller's pause, is dropped when they go on, and is the
turn's transcript when the pause ends the utterance (no second decode); every decode is counted."""

from __future__ import annotations

import asyncio

from media.segmenter import SpeechEnded, SpeechSegmenter
from media.speculation import SpeculativeStt
from media.usage import CallUsage
from tests.standins.engines import EnergyVad, ScriptedStt, frames, tone


class Caller:
    """Pushes the caller's audio through a segmenter, frame by frame, and the speculation after each."""

    def __init__(self, recognition: SpeculativeStt, segmenter: SpeechSegmenter, agent_speaking: bool = False):
        self.recognition = recognition
        self.segmenter = segmenter
        self.agent_speaking = agent_speaking
        self.ended: list[SpeechEnded] = []
        self._t = 0.0

    async def say(self, seconds: float, dbfs: float = -20.0) -> None:
        for frame in frames(tone(seconds, dbfs)):
            for event in self.segmenter.push(frame, self._t):
                if isinstance(event, SpeechEnded):
                    self.ended.append(event)
                else:
                    self.recognition.forget()
            self._t += 0.02
            self.recognition.after_frame(agent_speaking=self.agent_speaking)
            await asyncio.sleep(0)  # let a started decode run, as the loop would between frames

    async def pause(self, seconds: float) -> None:
        await self.say(seconds, float("-inf"))


def setup(after_s: float | None = 0.1, stt: ScriptedStt | None = None):
    stt = stt or ScriptedStt("quiero pagar", delay_s=0)  # done by the next frame: never busy here
    segmenter = SpeechSegmenter(EnergyVad())  # 300 ms hang-over
    usage = CallUsage()
    return SpeculativeStt(stt, segmenter, usage, after_s=after_s), segmenter, stt, usage


async def test_a_pause_that_ends_the_turn_gives_the_transcript_without_a_second_decode():
    recognition, segmenter, stt, usage = setup()
    caller = Caller(recognition, segmenter)
    await caller.say(0.6)
    await caller.pause(0.08)
    assert stt.clips == []  # 80 ms of pause: not yet
    await caller.pause(0.04)
    assert len(stt.clips) == 1 and usage.stt_requests == 1  # at 100 ms, while the hang-over still runs
    await caller.pause(0.3)
    assert len(caller.ended) == 1
    guess = recognition.take()
    assert guess is not None and recognition.take() is None
    transcript = await recognition.transcript(segmenter.utterance(), guess)
    assert transcript.text == "quiero pagar"
    assert len(stt.clips) == 1 and usage.stt_requests == 1 and recognition.dropped == 0
    assert stt.clips[0].duration_s >= 0.6  # it heard all the speech


async def test_a_caller_who_goes_on_drops_the_guess_and_the_final_decode_hears_everything():
    recognition, segmenter, stt, usage = setup()
    caller = Caller(recognition, segmenter)
    await caller.say(0.6)
    await caller.pause(0.14)  # a guess starts...
    await caller.say(0.4)  # ...and the caller goes on
    assert recognition.dropped == 1 and len(stt.clips) == 1
    await caller.pause(0.12)  # the next pause starts another
    await caller.say(0.2)
    assert recognition.dropped == 2
    await caller.pause(0.4)
    guess = recognition.take()
    assert guess is not None and len(stt.clips) == 3 and usage.stt_requests == 3  # dropped decodes cost too
    assert stt.clips[-1].duration_s > 1.4  # the last guess heard the whole utterance, both pauses included
    await recognition.transcript(segmenter.utterance(), guess)


async def test_no_guess_over_the_agent_nor_while_the_recogniser_is_busy_nor_when_off():
    recognition, segmenter, stt, usage = setup()
    caller = Caller(recognition, segmenter, agent_speaking=True)
    await caller.say(0.6)
    await caller.pause(0.5)
    assert stt.clips == [] and recognition.take() is None
    # Off: the utterance is decoded at its end only, and that decode is counted.
    recognition, segmenter, stt, usage = setup(after_s=None)
    caller = Caller(recognition, segmenter)
    await caller.say(0.6)
    await caller.pause(0.5)
    assert stt.clips == [] and recognition.take() is None
    transcript = await recognition.transcript(segmenter.utterance(), None)
    assert transcript.text == "quiero pagar" and len(stt.clips) == 1 and usage.stt_requests == 1
    # Busy with another call's decode: the guess would only queue behind it.
    busy = ScriptedStt(delay_s=1.0)
    recognition, segmenter, stt, usage = setup(stt=busy)
    other = asyncio.create_task(busy.transcribe(object()))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    caller = Caller(recognition, segmenter)
    await caller.say(0.6)
    await caller.pause(0.2)
    assert len(busy.clips) == 1 and recognition.take() is None  # only the other decode
    other.cancel()


async def test_a_new_utterance_forgets_the_last_ones_guess():
    recognition, segmenter, stt, _ = setup()
    caller = Caller(recognition, segmenter)
    await caller.say(0.6)
    await caller.pause(0.15)
    assert len(stt.clips) == 1
    recognition.forget()
    assert recognition.take() is None and recognition.dropped == 0  # forgotten, not dropped: no cost counted
