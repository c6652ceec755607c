"""BargeIn on its own: loud frames over the agent pause it, confirmed speech cuts it off, a cough resumes
it, and the agent's own echo (quieter than its voice by the margins) does neither."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from media.audio import AudioClip
from media.barge_in import BargeIn, BargeInConfig
from tests.standins.engines import RATE, tone

CONFIRM_S = BargeInConfig().min_speech_s


class Pacer:
    """What BargeIn does to the agent's audio."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")

    def flush(self) -> None:
        self.calls.append("flush")


class Segmenter:
    """The caller's speech as the VAD sees it: whether they are speaking, and the utterance so far."""

    def __init__(self) -> None:
        self.speaking = False
        self.pcm = np.zeros(0, dtype=np.int16)

    def utterance(self) -> AudioClip | None:
        return AudioClip(self.pcm, RATE) if len(self.pcm) else None


class Agent:
    def __init__(self, level_dbfs: float = -20.0) -> None:
        self.speaking = True
        self.level_dbfs = level_dbfs
        self.dropped = 0

    def drop(self) -> None:
        self.dropped += 1
        self.speaking = False


def barge_in(agent: Agent, pacer: Pacer, segmenter: Segmenter) -> BargeIn:
    return BargeIn(pacer, segmenter, agent_speaking=lambda: agent.speaking,  # type: ignore[arg-type]
                   agent_level_dbfs=lambda: agent.level_dbfs, drop_reply=agent.drop)


def frame(dbfs: float) -> np.ndarray:
    return tone(0.02, dbfs)


async def test_confirmed_speech_over_the_agent_cuts_it_off():
    agent, pacer, segmenter = Agent(-20.0), Pacer(), Segmenter()
    watch = barge_in(agent, pacer, segmenter)
    watch.hear(frame(-25.0))
    assert pacer.calls == []  # one loud frame is not an onset
    paused_at = asyncio.get_running_loop().time()
    watch.hear(frame(-25.0))
    assert pacer.calls == ["pause"]  # two of three: the agent stops at once
    segmenter.speaking, segmenter.pcm = True, tone(0.5, -25.0)
    watch.speech_started()
    await asyncio.sleep(CONFIRM_S + 0.05)
    assert pacer.calls == ["pause", "flush"] and agent.dropped == 1
    assert watch.barge_ins == [pytest.approx(paused_at, abs=0.01)]  # the time it was paused, not confirmed
    assert (watch.false_alarms, watch.echo_rejections) == (0, 0)


async def test_a_cough_pauses_the_agent_and_it_resumes():
    agent, pacer, segmenter = Agent(-20.0), Pacer(), Segmenter()
    watch = barge_in(agent, pacer, segmenter)
    watch.speech_started()
    for _ in range(2):
        watch.hear(frame(-22.0))
    assert watch.speech_ended(AudioClip(tone(0.2, -22.0), RATE)) is False  # too short, but not echo
    assert pacer.calls == ["pause", "resume"] and watch.false_alarms == 1
    await asyncio.sleep(CONFIRM_S + 0.05)  # the confirmation was called off with the pause
    assert agent.dropped == 0 and watch.barge_ins == []


async def test_the_agents_echo_neither_pauses_it_nor_becomes_a_turn():
    agent, pacer, segmenter = Agent(-20.0), Pacer(), Segmenter()
    watch = barge_in(agent, pacer, segmenter)
    watch.speech_started()  # the VAD hears the echo as speech: its reference is the agent's level now
    for _ in range(3):
        watch.hear(frame(-40.0))  # 20 dB down: under the onset's 12 dB margin
    assert pacer.calls == []
    assert watch.speech_ended(AudioClip(tone(1.0, -40.0), RATE)) is True  # and more than 18 dB down
    assert watch.echo_rejections == 1 and watch.false_alarms == 0


async def test_an_echo_loud_enough_to_pause_is_told_apart_at_the_confirmation():
    agent, pacer, segmenter = Agent(-20.0), Pacer(), Segmenter()
    watch = barge_in(agent, pacer, segmenter)
    watch.speech_started()
    for _ in range(2):
        watch.hear(frame(-31.0))  # a loud syllable of the echo: within 12 dB of the agent
    assert pacer.calls == ["pause"]
    segmenter.speaking, segmenter.pcm = True, tone(0.6, -39.0)  # but 19 dB down over the last 0.3 s
    await asyncio.sleep(CONFIRM_S + 0.05)
    assert pacer.calls == ["pause", "resume"] and agent.dropped == 0
    assert (watch.echo_rejections, watch.false_alarms, watch.barge_ins) == (1, 1, [])
    assert watch.speech_ended(AudioClip(tone(0.6, -30.0), RATE)) is True  # the utterance stays echo


async def test_onsets_need_two_loud_frames_of_three_over_an_audible_agent():
    agent, pacer, segmenter = Agent(-20.0), Pacer(), Segmenter()
    watch = barge_in(agent, pacer, segmenter)
    for level in (-25.0, -60.0, -60.0, -25.0, -60.0):  # never two loud ones within three frames
        watch.hear(frame(level))
    assert pacer.calls == []
    quiet = Agent(-50.0)  # a quiet agent: the floor, not the margin, decides
    watch = barge_in(quiet, pacer, segmenter)
    for _ in range(3):
        watch.hear(frame(-48.0))
    assert pacer.calls == []
    preparing = Agent(float("-inf"))  # its reply is still being synthesised: nothing to talk over yet
    watch = barge_in(preparing, pacer, segmenter)
    for _ in range(3):
        watch.hear(frame(-10.0))
    silent = Agent(-20.0)
    silent.speaking = False
    watch = barge_in(silent, pacer, segmenter)
    for _ in range(3):
        watch.hear(frame(-10.0))
    assert pacer.calls == []


async def test_a_cut_off_during_a_pause_ends_it_without_a_barge_in():
    agent, pacer, segmenter = Agent(-20.0), Pacer(), Segmenter()
    watch = barge_in(agent, pacer, segmenter)
    for _ in range(2):
        watch.hear(frame(-20.0))
    watch.cut_off()  # a key, while the speech over the agent was still being confirmed
    segmenter.speaking, segmenter.pcm = True, tone(0.5, -20.0)
    await asyncio.sleep(CONFIRM_S + 0.05)
    assert pacer.calls == ["pause", "flush"] and agent.dropped == 1
    assert (watch.barge_ins, watch.false_alarms) == ([], 0)
