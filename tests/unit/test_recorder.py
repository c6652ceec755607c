"""The call recorder: the caller left, the agent right, on one clock, written while the call goes on."""

from __future__ import annotations

import asyncio
import wave
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from media.audio import AudioClip
from media.g711 import CODECS
from media.pacer import RtpPacer
from media.recorder import CallRecorder
from media.recordings import LocalRecordingStore, recording_key

RATE = 8000
FRAME = 160
ORIGIN = 1000.0  # the call's answer, in loop time


class Clock:
    def __init__(self, now: float = ORIGIN) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tone(hz: float, seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, RATE)
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return data[:, 0], data[:, 1]


def loud(pcm: np.ndarray) -> np.ndarray:
    """Which 20 ms frames carry sound."""
    frames = pcm[: len(pcm) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    return np.sqrt((frames**2).mean(axis=1)) > 100


def runs(flags: np.ndarray) -> list[tuple[float, float]]:
    """(start s, end s) of the loud stretches."""
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    return [(s * FRAME / RATE, e * FRAME / RATE) for s, e in zip(np.flatnonzero(edges == 1),
                                                                   np.flatnonzero(edges == -1), strict=True)]


def peak_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.fft.rfftfreq(len(pcm), 1 / RATE)[spectrum.argmax()])


async def feed_caller(recorder: CallRecorder, clock: Clock, pcm: np.ndarray, start_s: float) -> None:
    """Frames as the RTP socket hands them on: each when it is complete (one frame after it began)."""
    for k in range(len(pcm) // FRAME):
        clock.now = ORIGIN + start_s + (k + 1) * FRAME / RATE
        recorder.caller(pcm[k * FRAME : (k + 1) * FRAME])
        await asyncio.sleep(0)  # let the periodic writes finish, as on a live loop


async def feed_agent(recorder: CallRecorder, clock: Clock, pcm: np.ndarray, start_s: float) -> None:
    """Frames as the pacer sends them: each on its 20 ms slot."""
    for k in range(len(pcm) // FRAME):
        clock.now = ORIGIN + start_s + k * FRAME / RATE
        recorder.agent(pcm[k * FRAME : (k + 1) * FRAME], clock.now)
        await asyncio.sleep(0)


def recorder_for(tmp_path: Path, clock: Clock, **kwargs) -> tuple[CallRecorder, Path]:
    store = LocalRecordingStore(tmp_path)
    recorder = CallRecorder(store, "2026/11/23/call.wav", origin=ORIGIN, clock=clock, **kwargs)
    return recorder, store.path(recorder.key)


async def test_each_side_lands_in_its_channel_at_its_time_and_the_gaps_are_silent(tmp_path):
    clock = Clock()
    recorder, path = recorder_for(tmp_path, clock, flush_every_s=0.5)
    await feed_caller(recorder, clock, tone(440, 1.0), start_s=1.0)  # the phone says something at 1 s
    await feed_agent(recorder, clock, tone(1000, 0.5), start_s=2.5)  # the agent answers at 2.5 s
    await feed_caller(recorder, clock, tone(700, 0.4), start_s=3.2)  # and is cut off at 3.2 s
    recording = await recorder.close(ORIGIN + 4.0)  # hung up at 4 s

    assert recording is not None and recording.key == "2026/11/23/call.wav" and recording.duration_ms == 4000
    left, right = read(path)
    assert len(left) == len(right) == 4 * RATE  # from the answer to the hang-up
    assert runs(loud(left)) == [(1.0, 2.0), (3.2, 3.6)]
    assert runs(loud(right)) == [(2.5, 3.0)]
    assert abs(peak_hz(left[RATE : 2 * RATE]) - 440) < 5 and abs(peak_hz(right[20000:24000]) - 1000) < 5
    assert not left[: RATE].any() and not right[: 2 * RATE].any()  # silence, exactly, where nobody spoke


async def test_a_burst_after_a_stall_is_laid_where_it_belongs_and_jitter_adds_no_gaps(tmp_path):
    clock = Clock()
    recorder, path = recorder_for(tmp_path, clock)
    speech = tone(440, 1.0)
    frames = [speech[k * FRAME : (k + 1) * FRAME] for k in range(50)]
    for k, frame in enumerate(frames):
        due = 0.5 + (k + 1) * 0.02
        if 10 <= k < 15:
            clock.now = ORIGIN + 0.5 + 16 * 0.02  # a 100 ms stall: five frames arrive with the sixth
        else:
            clock.now = ORIGIN + due + (0.004 if k % 3 else 0.0)  # and a few ms of jitter everywhere
        recorder.caller(frame)
    recording = await recorder.close(ORIGIN + 2.0)
    assert recording is not None
    left, _ = read(path)
    assert runs(loud(left)) == [(0.5, 1.5)]  # one stretch, no hole, no shift
    assert np.array_equal(left[4000 : 4000 + len(speech)], speech)


async def test_a_hang_up_in_mid_sentence_leaves_a_valid_complete_file(tmp_path):
    clock = Clock()
    recorder, path = recorder_for(tmp_path, clock, flush_every_s=1.0)
    await feed_agent(recorder, clock, tone(1000, 3.0), start_s=0.2)  # the agent talks...
    so_far = 0
    for _ in range(100):  # ...and the periodic writes land on disk (off the loop) meanwhile
        await asyncio.sleep(0.01)
        try:
            left_so_far, right_so_far = read(path)  # a valid WAV while the call is still going on
        except (OSError, EOFError, wave.Error):
            continue
        if (so_far := len(right_so_far)) > 0:
            break
    assert so_far >= RATE and len(left_so_far) == so_far
    await feed_caller(recorder, clock, tone(440, 0.3), start_s=3.2)  # the caller starts, then hangs up
    recording = await recorder.close(ORIGIN + 3.5)
    assert recording is not None and recording.duration_ms == 3500
    left, right = read(path)
    assert len(left) == len(right) == 3.5 * RATE
    assert runs(loud(right)) == [(0.2, 3.2)] and runs(loud(left)) == [(3.2, 3.5)]
    recorder.caller(tone(440, 0.02))  # a late frame after the close is dropped, not written
    assert recorder.frames_dropped == 1 and read(path)[0].shape == left.shape


async def test_the_pacers_frames_are_recorded_on_their_slots(tmp_path):
    loop = asyncio.get_running_loop()
    store = LocalRecordingStore(tmp_path)
    pacer = RtpPacer(lambda packet: None, CODECS["ulaw"])
    origin = loop.time()
    recorder = CallRecorder(store, recording_key("c0ffee", date(2026, 1, 2)), origin=origin)
    recorder.attach(pacer)
    pacer.start()
    await asyncio.sleep(0.3)
    result = await pacer.play(AudioClip(tone(1000, 0.4), RATE))
    await asyncio.sleep(0.1)
    await pacer.stop()
    recording = await recorder.close()
    assert recording is not None and recording.key == "2026/01/02/c0ffee.wav"
    left, right = read(store.path(recording.key))
    assert len(runs(loud(right))) == 1
    sound = np.flatnonzero(right)  # to the sample: the slot the pacer sent the first frame in
    assert sound[0] / RATE == pytest.approx(result.started_at - origin, abs=0.002)
    assert (sound[-1] - sound[0]) / RATE == pytest.approx(0.4, abs=0.002)
    assert not left.any()


async def test_a_store_that_fails_costs_the_recording_not_the_call(tmp_path):
    class Broken:
        def open(self, key, *, channels, sample_rate):
            raise OSError("disk full")

    clock = Clock()
    recorder = CallRecorder(Broken(), "x.wav", origin=ORIGIN, clock=clock, flush_every_s=0.1)
    await feed_caller(recorder, clock, tone(440, 2.0), start_s=0.0)
    assert await recorder.close(ORIGIN + 2.5) is None


def test_keys_stay_inside_the_store(tmp_path):
    store = LocalRecordingStore(tmp_path)
    assert store.path("2026/11/23/a.wav") == tmp_path / "2026" / "11" / "23" / "a.wav"
    for bad in ("../a.wav", "/etc/passwd", "2026/../../a.wav", ""):
        with pytest.raises(ValueError):
            store.path(bad)
