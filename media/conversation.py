"""The conversation loop: caller audio in, agent speech out, one turn at a time, with barge-in.

    RTP in -> decode -> SpeechSegmenter (VAD) -> STT -> TurnDetector -> Agent -> TTS -> RtpPacer

Frames arrive from the RTP socket's callback and are only queued there; everything else runs
in this object's task, and the slow parts (STT decode, TTS synthesis) run in their engines' own
worker threads, so the 20 ms pacer never waits for them. An agent reply is a task of its own:
barge-in cancels it and flushes the pacer in the same step, and what the caller actually heard
(whole sentences plus the played share of the interrupted one) is what gets recorded.

Speculative recognition: the recogniser starts on the utterance as soon as the caller pauses
(``speculate_after_s``), while the segmenter's hang-over is still timing the pause. If the pause
becomes the end of the turn, the transcript is ready or nearly so; if the caller goes on, the
result is dropped and the final utterance is decoded as usual.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from media.keypad import KeypadEntry
from media.pacer import PlaybackResult, RtpPacer
from media.responder import Action, Responder
from media.segmenter import SpeechEnded, SpeechSegmenter, SpeechStarted
from media.stt import SttEngine, Transcript
from media.transcript import LineSink, TranscriptLine, agent_line, heard
from media.tts import TtsEngine
from media.turn import NoInputPolicy, TurnDetector
from media.turn_metrics import TurnMetrics
from media.usage import CallUsage, count_into
from media.vad import rms_dbfs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversationConfig:
    # Barge-in in two steps: a few loud frames from the caller over the agent *pause* its audio at
    # once (the caller hears the agent stop within ~150 ms), and if the VAD confirms speech after
    # barge_in_min_speech_s the reply is dropped; otherwise (a cough, an "ajá") it resumes.
    barge_in_onset_frames: int = 2
    barge_in_onset_window: int = 3  # ...loud frames out of this many (speech onsets flicker)
    # The onset check looks at single 20 ms frames, where the echo of a loud syllable can sit 8 dB
    # above the echo's average: it asks for more headroom than the confirmation does.
    onset_margin_db: float = 12.0
    onset_floor_dbfs: float = -45.0  # line noise and silence never count as an onset, whatever the margin
    barge_in_min_speech_s: float = 0.3
    # The line may return the agent's own voice (hybrid or acoustic echo, typically 20-40 dB down).
    # Speech quieter than the agent's level minus this margin, while the agent talks, is echo.
    echo_margin_db: float = 18.0
    # Start recognising the utterance after this much pause (None: only at the end of the turn).
    # Shorter than the segmenter's hang-over, so the decode overlaps the wait for the turn's end.
    speculate_after_s: float | None = 0.1


TurnSink = Callable[[TurnMetrics], Awaitable[None]]
ToolSink = Callable[[Action], Awaitable[None]]


class Conversation:
    """One call's dialogue. `feed` from the RTP callback; `run` until it ends; returns why it ended."""

    def __init__(
        self,
        *,
        pacer: RtpPacer,
        tts: TtsEngine,
        stt: SttEngine,
        agent: Responder,
        segmenter: SpeechSegmenter,
        turn_detector: TurnDetector | None = None,
        no_input: NoInputPolicy | None = None,
        config: ConversationConfig | None = None,
        on_turn: TurnSink | None = None,
        on_tool_call: ToolSink | None = None,
        on_line: LineSink | None = None,
        usage: CallUsage | None = None,
    ) -> None:
        self._pacer = pacer
        self._tts = tts
        self._stt = stt
        self._agent = agent
        self._segmenter = segmenter
        self._turns = turn_detector or TurnDetector()
        self._no_input = no_input or NoInputPolicy()
        self._config = config or ConversationConfig()
        self._on_turn = on_turn
        self._on_tool_call = on_tool_call
        self._on_line = on_line  # the transcript, line by line as heard (media.transcript)
        self.usage = usage or CallUsage()  # what this call asks of the shared engines (media.usage)
        self._frames: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize=500)  # 10 s of backlog at most
        self._loop = asyncio.get_running_loop()
        self._speaking: asyncio.Task[None] | None = None
        self._pending_turn: asyncio.Task[None] | None = None
        self._speculation: asyncio.Task[Transcript] | None = None
        self._barge_check: asyncio.TimerHandle | None = None
        self._agent_done_at = self._loop.time()
        self._reprompts = 0
        self.turns: list[TurnMetrics] = []
        self.barge_ins: list[float] = []  # loop times at which the caller cut the agent off
        self.echo_rejections = 0
        self.unrecognised = 0  # utterances the recogniser returned no words for
        self.speculations_dropped = 0  # decodes started in a pause the caller then talked through
        self._segment_is_echo = False
        self._segment_echo_ref_dbfs = -math.inf
        self._onset: deque[bool] = deque(maxlen=self._config.barge_in_onset_window)
        self._ducked_at: float | None = None
        self.false_alarms = 0  # pauses that resumed: speech over the agent that was not a barge-in
        self._playing_level_dbfs = -math.inf
        self._keypad = KeypadEntry()
        self._keys_at: tuple[float, float] | None = None  # first and last key of the entry being typed
        self.keys_pressed = 0
        self.ended_because: str | None = None

    def summary(self) -> dict[str, Any]:
        """The call's conversation in numbers; the counters tune barge-in and speculation per trunk."""
        return {"turns": len(self.turns), "barge_ins": len(self.barge_ins), "false_alarms": self.false_alarms,
                "echo_rejections": self.echo_rejections, "unrecognised": self.unrecognised,
                "speculations_dropped": self.speculations_dropped, "keys_pressed": self.keys_pressed,
                "ended_because": self.ended_because or "hung_up"}

    # --- input (synchronous, from the RTP socket) -------------------------------------------
    def feed(self, pcm: np.ndarray) -> None:
        try:
            self._frames.put_nowait(pcm)
        except asyncio.QueueFull:
            log.warning("conversation fell 10 s behind its audio; dropping a frame")

    def press(self, key: str) -> None:
        """A DTMF key from the caller (synchronous, from the call's telephony events).

        A key cuts the agent off at once, as on any phone menu (callers who know it type ahead);
        the entry becomes a turn when the keypad says it is complete.
        """
        if self.ended_because is not None:
            return
        self.keys_pressed += 1
        if self._keypad.ignores(key):
            return  # e.g. a '#' out of habit after a complete entry: it must not cut off the answer
        if self._is_agent_speaking():
            self._cut_off()
        if self._pending_turn is not None and not self._pending_turn.done():
            self._pending_turn.cancel()  # keys answer the question; a half-heard utterance does not
        now = self._loop.time()
        self._keys_at = (self._keys_at[0] if self._keys_at and self._keypad.pending else now, now)
        entry = self._keypad.press(key, now, self._agent.keys_expected)
        if entry is not None:
            self._key_turn(entry)

    def _key_turn(self, entry: str) -> None:
        now = self._loop.time()
        first, last = self._keys_at or (now, now)
        self._line(TranscriptLine("caller", entry, first, last, "dtmf"))
        metrics = TurnMetrics(index=len(self.turns) + 1, user_text=entry, confidence=1.0, speech_end_at=now,
                              end_detected_at=now, stt_final_at=now, turn_rule="dtmf")
        self.turns.append(metrics)
        self._reprompts = 0
        self._say(None, metrics=metrics)

    # --- the loop ---------------------------------------------------------------------------
    async def run(self) -> str:
        try:
            self._say([self._agent.greeting()], metrics=None)
            while self.ended_because is None:
                try:
                    frame = await asyncio.wait_for(self._frames.get(), 0.1)
                except TimeoutError:
                    frame = None
                if frame is not None:
                    # The frame is complete when it arrives: it started one frame length ago.
                    start = self._loop.time() - len(frame) / self._segmenter.sample_rate
                    for event in self._segmenter.push(frame, start):
                        self._on_segment(event)
                    self._speculate()
                    self._watch_for_barge_in(frame)
                if (entry := self._keypad.expire(self._loop.time())) is not None:
                    self._key_turn(entry)
                await self._check_no_input()
            if self._speaking is not None:  # let the farewell finish
                await self._speaking
            return self.ended_because
        finally:
            if self._is_agent_speaking():
                self._pacer.flush()  # cut off (a hang-up): what was played of the sentence is then known
            unfinished = [t for t in (self._pending_turn, self._speaking) if t is not None and not t.done()]
            for task in unfinished:
                task.cancel()
            if unfinished:  # their last words reach the transcript and the turn record before we return
                await asyncio.wait(unfinished, timeout=2.0)

    def _on_segment(self, event: SpeechStarted | SpeechEnded) -> None:
        if isinstance(event, SpeechStarted):
            self._speculation = None
            # Speech that starts while the agent talks may be its echo: judged by level at the end.
            self._segment_is_echo = False
            self._segment_echo_ref_dbfs = self._playing_level_dbfs if self._is_agent_speaking() else -math.inf
            if self._pending_turn is not None and not self._pending_turn.done():
                self._pending_turn.cancel()  # the caller went on talking: the turn is not over
        else:
            if self._barge_check is not None:
                self._barge_check.cancel()
            self._resume_after_false_alarm()  # speech too short to be a barge-in: go on talking
            clip = self._segmenter.utterance()
            if clip is not None and rms_dbfs(clip.pcm) < self._segment_echo_ref_dbfs - self._config.echo_margin_db:
                self._segment_is_echo = True
                self.echo_rejections += 1
            speculation, self._speculation = self._speculation, None
            if clip is not None and not self._is_agent_speaking() and not self._segment_is_echo:
                self._pending_turn = asyncio.create_task(self._finish_turn(clip, event, speculation))

    def _speculate(self) -> None:
        """Decode the utterance so far once the caller pauses; forget it if they go on."""
        after = self._config.speculate_after_s
        if after is None or not self._segmenter.speaking:
            return
        if self._segmenter.last_frame_speech:
            if self._speculation is not None:
                self._speculation = None  # stale now; the worker finishes it, nobody waits for it
                self.speculations_dropped += 1
            return
        if (self._speculation is None and self._segmenter.trailing_silence_s >= after - 1e-9
                and not self._stt.busy and not self._is_agent_speaking()):
            clip = self._segmenter.utterance()
            if clip is not None:
                self.usage.stt(clip.duration_s)
                self._speculation = asyncio.create_task(self._stt.transcribe(clip))
                self._speculation.add_done_callback(_consume_exception)

    def _watch_for_barge_in(self, frame: np.ndarray) -> None:
        """Pause the agent when most of the last few frames are louder than its echo could be.

        Level alone decides the pause: the VAD flags speech 30-60 ms after it starts, and through
        Asterisk that delay would push the stop past 150 ms. A pause costs nothing if wrong (it
        resumes); the VAD-based confirmation decides whether the reply is really dropped.
        """
        if not self._is_agent_speaking() or self._ducked_at is not None or self._playing_level_dbfs == -math.inf:
            self._onset.clear()  # nothing audible from the agent yet (its reply is still being prepared)
            return
        threshold = max(self._playing_level_dbfs - self._config.onset_margin_db, self._config.onset_floor_dbfs)
        self._onset.append(rms_dbfs(frame) >= threshold)
        if sum(self._onset) >= self._config.barge_in_onset_frames:
            self._onset.clear()
            self._ducked_at = self._loop.time()
            self._pacer.pause()
            self._barge_check = self._loop.call_later(self._config.barge_in_min_speech_s,
                                                      self._barge_in_if_still_speaking)

    def _resume_after_false_alarm(self) -> None:
        if self._ducked_at is not None:
            self._ducked_at = None
            self.false_alarms += 1
            self._pacer.resume()

    def _barge_in_if_still_speaking(self) -> None:
        if not (self._segmenter.speaking and self._is_agent_speaking()):
            self._resume_after_false_alarm()
            return
        utterance = self._segmenter.utterance()
        if utterance is not None:
            recent = utterance.pcm[-int(self._config.barge_in_min_speech_s * utterance.sample_rate):]
            if rms_dbfs(recent) < self._playing_level_dbfs - self._config.echo_margin_db:
                self.echo_rejections += 1
                self._segment_is_echo = True
                self._resume_after_false_alarm()
                return
        self._segment_is_echo = False
        self.barge_ins.append(self._ducked_at or self._loop.time())
        self._cut_off()

    def _cut_off(self) -> None:
        """Stop the agent now (a barge-in, a key): its audio stops at the next 20 ms slot, and the flush
        also ends a pause a suspected barge-in started; its reply task is cancelled."""
        if self._barge_check is not None:
            self._barge_check.cancel()
        self._ducked_at = None
        self._pacer.flush()
        assert self._speaking is not None
        self._speaking.cancel()

    def _is_agent_speaking(self) -> bool:
        return self._speaking is not None and not self._speaking.done()

    async def _finish_turn(self, clip: Any, ended: SpeechEnded,
                           speculation: asyncio.Task[Transcript] | None) -> None:
        speech_end_at = ended.at_s
        metrics = TurnMetrics(index=len(self.turns) + 1, speech_end_at=speech_end_at,
                              end_detected_at=ended.detected_s)
        if speculation is not None:
            # Started in the pause that turned out to end the utterance: it heard all the speech.
            metrics.stt_speculative = True
            transcript = await asyncio.shield(speculation)  # a resumed caller cancels the turn, not it
        else:
            self.usage.stt(clip.duration_s)
            transcript = await self._stt.transcribe(clip)
        metrics.stt_final_at = self._loop.time()
        metrics.user_text, metrics.confidence = transcript.text.strip(), round(transcript.confidence, 3)
        if not metrics.user_text:
            # Noise the VAD took for speech, or words Whisper could not make out: not a turn.
            self.unrecognised += 1
            log.info("speech of %.1f s gave no transcript (%d so far)", clip.duration_s, self.unrecognised)
            return
        # Said, whether or not it ends the turn (the caller may go on; the next utterance is another line).
        self._line(TranscriptLine("caller", metrics.user_text, ended.at_s - ended.duration_s, ended.at_s, "stt"))
        decision = self._turns.decide(metrics.user_text)
        metrics.turn_rule = decision.reason
        remaining = decision.wait_s - (self._loop.time() - speech_end_at)
        if remaining > 0:
            await asyncio.sleep(remaining)  # cancelled if the caller resumes speaking
        self.turns.append(metrics)
        self._reprompts = 0
        self._say(None, metrics=metrics)

    # --- output -----------------------------------------------------------------------------
    def _say(self, fixed: list[str] | None, metrics: TurnMetrics | None) -> None:
        self._speaking = asyncio.create_task(self._speak(fixed, metrics))

    async def _speak(self, fixed: list[str] | None, metrics: TurnMetrics | None) -> None:
        count_into(self.usage)  # the LLM requests this reply makes are this call's
        metrics = metrics or TurnMetrics(index=0)
        played: list[tuple[str, asyncio.Future[PlaybackResult]]] = []
        try:
            if fixed is not None:
                source = _fixed(fixed)
            elif metrics.turn_rule == "dtmf":
                source = self._agent.keys(metrics.user_text)
            else:
                source = self._agent.reply(metrics.user_text)
            async for item in source:
                now = self._loop.time()
                metrics.agent_first_output_at = metrics.agent_first_output_at or now
                if not isinstance(item, str):  # an action for the call (a tool call), never spoken
                    metrics.tool_calls.append(item.name)
                    if self._on_tool_call is not None:
                        await self._on_tool_call(item)
                    continue
                metrics.agent_planned.append(item)
                self.usage.tts(item)
                clip = await self._tts.synthesize(item)
                self._playing_level_dbfs = max(self._playing_level_dbfs, rms_dbfs(clip.pcm))
                metrics.tts_first_audio_at = metrics.tts_first_audio_at or self._loop.time()
                played.append((item, self._pacer.play(clip)))  # plays while the next is synthesised
            for _, future in played:
                await future
            if self._agent.finished and self.ended_because is None:
                self.ended_because = "agent_closed"  # its last words are out: hang up
        except asyncio.CancelledError:
            metrics.interrupted = True
            raise
        finally:
            results = [(sentence, _result(future)) for sentence, future in played]
            metrics.agent_spoken = heard(results)
            self._line(agent_line(results, frame_s=self._pacer.frame_ms / 1000, interrupted=metrics.interrupted))
            metrics.first_rtp_out_at = next((r.started_at for _, r in results if r and r.started_at), None)
            self._agent_done_at = self._loop.time()
            self._playing_level_dbfs = -math.inf
            if metrics.interrupted:
                self._agent.correct_last_reply(" ".join(metrics.agent_spoken))
            if metrics.index and self._on_turn is not None:
                await self._on_turn(metrics)

    async def _check_no_input(self) -> None:
        busy = self._is_agent_speaking() or self._segmenter.speaking or self._keypad.pending or (
            self._pending_turn is not None and not self._pending_turn.done())
        if busy:
            return
        action = self._no_input.decide(self._loop.time() - self._agent_done_at, self._reprompts)
        if action == "reprompt":
            self._reprompts += 1
            self._say([self._agent.reprompt()], metrics=None)
        elif action == "hang_up":
            self._say([self._agent.farewell()], metrics=None)
            self.ended_because = "no_input"

    def _line(self, line: TranscriptLine | None) -> None:
        if line is not None and self._on_line is not None:
            try:
                self._on_line(line)
            except Exception:  # a transcript fault must not end the conversation
                log.exception("could not report a transcript line")


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # A dropped speculative decode may fail unobserved; its failure shows again on the final decode.
    if not task.cancelled():
        task.exception()


async def _fixed(lines: list[str]):
    for line in lines:
        yield line


def _result(future: asyncio.Future[PlaybackResult]) -> PlaybackResult | None:
    return future.result() if future.done() and not future.cancelled() else None
