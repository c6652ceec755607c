"""Barge-in: the caller talks over the agent and the agent stops, but never for its own echo.

Two steps, because the two signals come at different times. Level alone decides the *pause*: the VAD
flags speech 30-60 ms after it starts, and through Asterisk that delay would push the stop past 150 ms.
A pause costs nothing if wrong (it resumes); the VAD-based confirmation, `min_speech_s` later, decides
whether the reply is really dropped. Otherwise (a cough, an "ajá") the agent resumes: a false alarm.

The line may return the agent's own voice (hybrid or acoustic echo, typically 20-40 dB down). It is
told apart by level against the loudest sentence of the reply playing: quieter than that by
`echo_margin_db` is echo, which neither cuts the agent off nor becomes a caller turn.

The counters (`barge_ins`, `false_alarms`, `echo_rejections`) are what tunes these margins per trunk.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from media.audio import AudioClip
from media.pacer import RtpPacer
from media.segmenter import SpeechSegmenter
from media.vad import rms_dbfs

__all__ = ["BargeIn", "BargeInConfig"]


@dataclass(frozen=True)
class BargeInConfig:
    # A few loud frames from the caller over the agent *pause* its audio at once (the caller hears the
    # agent stop within ~150 ms), and if the VAD confirms speech after min_speech_s the reply is dropped.
    onset_frames: int = 2
    onset_window: int = 3  # ...loud frames out of this many (speech onsets flicker)
    # The onset check looks at single 20 ms frames, where the echo of a loud syllable can sit 8 dB
    # above the echo's average: it asks for more headroom than the confirmation does.
    onset_margin_db: float = 12.0
    onset_floor_dbfs: float = -45.0  # line noise and silence never count as an onset, whatever the margin
    min_speech_s: float = 0.3
    # Speech quieter than the agent's level minus this margin, while the agent talks, is echo.
    echo_margin_db: float = 18.0


class BargeIn:
    """Watches the caller's audio while the agent speaks; pauses, resumes or cuts off the agent.

    It sees the agent through three callables: whether a reply is in progress, the level of what it
    plays (`ReplyPlayer.level_dbfs`; -inf before its first audio), and how to drop it (cancel its task).
    """

    def __init__(self, pacer: RtpPacer, segmenter: SpeechSegmenter, config: BargeInConfig | None = None, *,
                 agent_speaking: Callable[[], bool], agent_level_dbfs: Callable[[], float],
                 drop_reply: Callable[[], None]) -> None:
        self._pacer = pacer
        self._segmenter = segmenter
        self._config = config or BargeInConfig()
        self._agent_speaking = agent_speaking
        self._agent_level_dbfs = agent_level_dbfs
        self._drop_reply = drop_reply
        self._loop = asyncio.get_running_loop()
        self._onset: deque[bool] = deque(maxlen=self._config.onset_window)
        self._paused_at: float | None = None  # the agent is paused: a suspected barge-in awaits confirmation
        self._confirmation: asyncio.TimerHandle | None = None
        self._segment_is_echo = False
        self._segment_echo_ref_dbfs = -math.inf
        self.barge_ins: list[float] = []  # loop times at which the caller cut the agent off
        self.false_alarms = 0  # pauses that resumed: speech over the agent that was not a barge-in
        self.echo_rejections = 0

    def hear(self, frame: np.ndarray) -> None:
        """Pause the agent when most of the last few frames are louder than its echo could be.

        Level alone decides the pause (see the module docstring); the confirmation is scheduled here.
        """
        level = self._agent_level_dbfs()
        if not self._agent_speaking() or self._paused_at is not None or level == -math.inf:
            self._onset.clear()  # nothing audible from the agent yet (its reply is still being prepared)
            return
        threshold = max(level - self._config.onset_margin_db, self._config.onset_floor_dbfs)
        self._onset.append(rms_dbfs(frame) >= threshold)
        if sum(self._onset) >= self._config.onset_frames:
            self._onset.clear()
            self._paused_at = self._loop.time()
            self._pacer.pause()
            self._confirmation = self._loop.call_later(self._config.min_speech_s, self._confirm)

    def speech_started(self) -> None:
        """Speech that starts while the agent talks may be its echo: judged by level when it ends."""
        self._segment_is_echo = False
        self._segment_echo_ref_dbfs = self._agent_level_dbfs() if self._agent_speaking() else -math.inf

    def speech_ended(self, clip: AudioClip | None) -> bool:
        """The utterance `clip` is over; True when it was the agent's echo (not a caller turn).

        Speech that ends before the confirmation was too short to be a barge-in: the agent goes on.
        """
        if self._confirmation is not None:
            self._confirmation.cancel()
        self._resume_after_false_alarm()
        ref = self._segment_echo_ref_dbfs
        if clip is not None and rms_dbfs(clip.pcm) < ref - self._config.echo_margin_db:
            self._segment_is_echo = True
            self.echo_rejections += 1
        return self._segment_is_echo

    def cut_off(self) -> None:
        """Stop the agent now (a barge-in, a key): its audio stops at the next 20 ms slot, and the flush
        also ends a pause a suspected barge-in started; its reply is dropped."""
        if self._confirmation is not None:
            self._confirmation.cancel()
        self._paused_at = None
        self._pacer.flush()
        self._drop_reply()

    def _confirm(self) -> None:
        """`min_speech_s` after the pause: still speech, and louder than echo? Then it is a barge-in."""
        if not (self._segmenter.speaking and self._agent_speaking()):
            self._resume_after_false_alarm()
            return
        utterance = self._segmenter.utterance()
        if utterance is not None:
            recent = utterance.pcm[-int(self._config.min_speech_s * utterance.sample_rate):]
            if rms_dbfs(recent) < self._agent_level_dbfs() - self._config.echo_margin_db:
                self.echo_rejections += 1
                self._segment_is_echo = True
                self._resume_after_false_alarm()
                return
        self._segment_is_echo = False
        self.barge_ins.append(self._paused_at or self._loop.time())
        self.cut_off()

    def _resume_after_false_alarm(self) -> None:
        if self._paused_at is not None:
            self._paused_at = None
            self.false_alarms += 1
            self._pacer.resume()
