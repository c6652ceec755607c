"""The conversation loop: caller audio and keys in, agent speech out, one turn at a time.

    RTP in -> decode -> SpeechSegmenter (VAD) -> STT -> TurnDetector -> Responder -> TTS -> RtpPacer

Frames (from the RTP socket's callback) and keys (from the call's telephony events) are only queued
there; everything else runs in this object's task, and the slow parts (STT decode, TTS synthesis) run
in their engines' own worker threads, so the 20 ms pacer never waits for them. The loop wires stages
that each do one job and are tested alone:

* `media.barge_in.BargeIn`: the caller talking over the agent pauses it, then cuts it off (or not: an
  echo of the agent, a cough);
* `media.speculation.SpeculativeStt`: the utterance is decoded in the caller's pause, before the turn
  is known to be over;
* `media.turn.TurnDetector`: how long to wait after the words before answering;
* `media.keypad.KeypadEntry`: keys gathered into an entry, which is a turn like an utterance is;
* `media.reply.ReplyPlayer`: the reply synthesised, played, and recorded as heard;
* `media.turn.NoInputPolicy`: a silent caller is re-prompted, then left.

An agent reply is a task of its own: barge-in (or a key) cancels it and flushes the pacer in the same
step, and what the caller actually heard is what gets recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from media.audio import AudioClip
from media.barge_in import BargeIn, BargeInConfig
from media.keypad import KeypadEntry
from media.pacer import RtpPacer
from media.prosody import ProsodyCues, prosody_cues
from media.reply import ReplyPlayer, ToolSink, sentences
from media.responder import Responder
from media.segmenter import SpeechEnded, SpeechSegmenter, SpeechStarted
from media.speculation import SpeculativeStt
from media.stt import SttEngine, Transcript
from media.transcript import LineSink, TranscriptLine, report
from media.tts import TtsEngine
from media.turn import NoInputPolicy, TurnDetector
from media.turn_metrics import TurnMetrics
from media.usage import CallUsage

__all__ = ["Conversation", "ConversationConfig", "ToolSink", "TurnSink"]

log = logging.getLogger(__name__)

MAX_BACKLOG = 500  # queued frames: 10 s of audio at most


@dataclass(frozen=True)
class ConversationConfig:
    barge_in: BargeInConfig = field(default_factory=BargeInConfig)
    # Start recognising the utterance after this much pause (None: only at the end of the turn).
    # Shorter than the segmenter's hang-over, so the decode overlaps the wait for the turn's end.
    speculate_after_s: float | None = 0.1
    # A caller who starts again this soon after the turn was taken was pausing mid-sentence, not done:
    # the reply stops, the brain forgets the turn, and its words join what follows (`_continue_turn`).
    # Answering fast makes such pauses common (measured: a 0.55 s pause was answered 0.34 s into it);
    # waiting longer on every turn would cost every caller that much.
    continuation_s: float = 1.0
    # A call that goes on past this is closed politely once the agent's current reply is over: a
    # conversation looping (a model, a caller playing with it) must not hold a channel and a worker
    # for an hour. None: no limit.
    max_duration_s: float | None = 600.0
    time_up_line: str = ("Debo finalizar la llamada ahora. Si necesita algo más, puede llamarnos. "
                         "Que tenga un buen día.")


@dataclass(frozen=True, slots=True)
class KeyPress:
    """A DTMF key, queued for the loop like a frame; `at` is when it was pressed (loop time)."""

    key: str
    at: float


TurnSink = Callable[[TurnMetrics], Awaitable[None]]


class Conversation:
    """One call's dialogue. `feed` and `press` from the call; `run` until it ends; returns why it ended."""

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
        config = config or ConversationConfig()
        self._pacer = pacer
        self._agent = agent
        self._segmenter = segmenter
        self._turn_detector = turn_detector or TurnDetector()
        self._no_input = no_input or NoInputPolicy()
        self._on_turn = on_turn
        self._on_line = on_line  # the transcript, line by line as heard (media.transcript)
        self.usage = usage or CallUsage()  # what this call asks of the shared engines (media.usage)
        self._loop = asyncio.get_running_loop()
        # Frames with the loop time they arrived: the transcript's and the turn's marks are when the caller
        # spoke, as the recording places it, even when this loop runs behind its audio for a while.
        self._inputs: asyncio.Queue[tuple[np.ndarray, float] | KeyPress] = asyncio.Queue()
        self.max_behind_s = 0.0  # the longest a frame waited here before it was heard
        self._voice = ReplyPlayer(pacer, tts, usage=self.usage, on_line=on_line, on_action=on_tool_call)
        self._barge_in = BargeIn(pacer, segmenter, config.barge_in, agent_speaking=self._is_agent_speaking,
                                 agent_level_dbfs=lambda: self._voice.level_dbfs, drop_reply=self._drop_reply)
        self._recognition = SpeculativeStt(stt, segmenter, self.usage, after_s=config.speculate_after_s)
        self._keypad = KeypadEntry()
        self._speaking: asyncio.Task[None] | None = None  # the agent's reply
        self._pending_turn: asyncio.Task[None] | None = None  # the turn's end awaited after an utterance
        # The utterances of the turn not yet answered, each decoded in a task of its own: a caller who pauses
        # and goes on cancels the wait for the turn's end, never the words already said.
        self._heard: list[asyncio.Future[Transcript | None]] = []
        self._agent_done_at = self._loop.time()
        self._continuation_s = config.continuation_s
        self._ends_at = None if config.max_duration_s is None else self._loop.time() + config.max_duration_s
        self._time_up_line = config.time_up_line
        self._onset_at = -float("inf")  # when the caller's latest speech began
        # The last turn taken: its marks, its words and when, while it can still turn out to be a pause.
        self._last_turn: tuple[TurnMetrics, list[Transcript], float] | None = None
        self.continuations = 0  # turns that turned out to be a pause mid-sentence
        self._reprompts = 0
        self.turns: list[TurnMetrics] = []
        self.unrecognised = 0  # utterances the recogniser returned no words for
        self.keys_pressed = 0
        self.ended_because: str | None = None

    # --- counters, kept by the stages that count them ---------------------------------------
    @property
    def barge_ins(self) -> list[float]:
        """Loop times at which the caller cut the agent off."""
        return self._barge_in.barge_ins

    @property
    def false_alarms(self) -> int:
        return self._barge_in.false_alarms

    @property
    def echo_rejections(self) -> int:
        return self._barge_in.echo_rejections

    @property
    def speculations_dropped(self) -> int:
        return self._recognition.dropped

    def summary(self) -> dict[str, Any]:
        """The call's conversation in numbers; the counters tune barge-in and speculation per trunk."""
        return {"turns": len(self.turns), "barge_ins": len(self.barge_ins), "false_alarms": self.false_alarms,
                "echo_rejections": self.echo_rejections, "unrecognised": self.unrecognised,
                "speculations_dropped": self.speculations_dropped, "keys_pressed": self.keys_pressed,
                "continuations": self.continuations, "max_behind_ms": round(self.max_behind_s * 1000),
                "ended_because": self.ended_because or "hung_up"}

    # --- input (synchronous: from the RTP socket and the call's telephony events) -----------
    def feed(self, pcm: np.ndarray) -> None:
        if self._inputs.qsize() >= MAX_BACKLOG:
            log.warning("conversation fell 10 s behind its audio; dropping a frame")
            return
        self._inputs.put_nowait((pcm, self._loop.time()))

    def press(self, key: str) -> None:
        """A DTMF key from the caller; never dropped, whatever the audio backlog."""
        if self.ended_because is not None:
            return
        self.keys_pressed += 1
        self._inputs.put_nowait(KeyPress(key, self._loop.time()))

    # --- the loop ---------------------------------------------------------------------------
    async def run(self) -> str:
        try:
            self._say(self._agent.greeting())
            while self.ended_because is None:
                item = None
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation (the
                # call hung up) that lands as its timeout fires, and the loop then ran on for a minute.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.1):
                        item = await self._inputs.get()
                if isinstance(item, KeyPress):
                    self._on_key(item)
                elif item is not None:
                    self._on_frame(*item)
                if (entry := self._keypad.expire(self._loop.time())) is not None:
                    self._key_turn(entry, self._loop.time())
                self._check_idle()
            if self._speaking is not None:  # let the farewell finish
                await self._speaking
            return self.ended_because
        finally:
            if self._is_agent_speaking():
                self._pacer.flush()  # cut off (a hang-up): what was played of the sentence is then known
            unfinished = [t for t in (self._pending_turn, self._speaking, *self._heard)
                          if t is not None and not t.done()]
            for task in unfinished:
                task.cancel()
            if unfinished:  # their last words reach the transcript and the turn record before we return
                await asyncio.wait(unfinished, timeout=2.0)

    def _on_frame(self, frame: np.ndarray, arrived: float) -> None:
        # The frame is complete when it arrives: it started one frame length before.
        self.max_behind_s = max(self.max_behind_s, self._loop.time() - arrived)
        start = arrived - len(frame) / self._segmenter.sample_rate
        for event in self._segmenter.push(frame, start):
            if isinstance(event, SpeechStarted):
                self._speech_started()
            else:
                self._speech_ended(event)
        self._recognition.after_frame(agent_speaking=self._is_agent_speaking())
        self._barge_in.hear(frame)

    def _speech_started(self) -> None:
        self._recognition.forget()
        self._onset_at = self._loop.time()
        self._barge_in.speech_started()
        self._cancel_pending_turn()  # the caller went on talking: the turn is not over

    def _continue_turn(self) -> None:
        """Speech over the reply was confirmed (louder than echo, long enough: `BargeIn`): when it began
        within `continuation_s` of the last turn being taken, and the reply did nothing yet but speak, that
        turn was a pause. The brain forgets it, and its words wait for the rest of the sentence."""
        if self._last_turn is None:
            return
        metrics, said, taken_at = self._last_turn
        self._last_turn = None
        if self._onset_at - taken_at > self._continuation_s or metrics.tool_calls:
            return
        if not self._agent.retract_last_reply():
            return
        metrics.retracted = True  # neither stored nor corrected: it never was a turn
        if self.turns and self.turns[-1] is metrics:
            self.turns.pop()
        self._heard[:0] = [_done(t) for t in said]
        self.continuations += 1
        log.info("turn %d was a pause mid-sentence: continued", metrics.index)

    def _speech_ended(self, ended: SpeechEnded) -> None:
        clip = self._segmenter.utterance()
        is_echo = self._barge_in.speech_ended(clip)
        guess = self._recognition.take()
        if clip is not None and not self._is_agent_speaking() and not is_echo:
            self._heard.append(asyncio.create_task(self._hear(clip, ended, guess)))
            cues = prosody_cues(clip)  # how the voice ended: ~1 ms per second of speech
            self._pending_turn = asyncio.create_task(self._finish_turn(ended, cues, speculative=guess is not None))

    def _on_key(self, press: KeyPress) -> None:
        """A key cuts the agent off at once, as on any phone menu (callers who know it type ahead);
        the entry becomes a turn when the keypad says it is complete."""
        if self._keypad.ignores(press.key):
            return  # e.g. a '#' out of habit after a complete entry: it must not cut off the answer
        if self._is_agent_speaking():
            self._last_turn = None  # a key answers the reply: the turn before it was no pause
            self._barge_in.cut_off()
        self._cancel_pending_turn()  # keys answer the question; a half-heard utterance does not
        self._heard.clear()
        entry = self._keypad.press(press.key, press.at, self._agent.keys_expected)
        if entry is not None:
            self._key_turn(entry, press.at)

    async def _hear(self, clip: AudioClip, ended: SpeechEnded,
                    guess: asyncio.Task[Transcript] | None) -> Transcript | None:
        """One utterance's words, in the transcript as soon as they are known (whether or not they end the
        turn); None when the recogniser failed: that utterance is lost, the turn is not."""
        try:
            transcript = await self._recognition.transcript(clip, guess)
        except Exception:
            self.unrecognised += 1
            log.exception("recognition failed on %.1f s of speech", clip.duration_s)
            return None
        text = transcript.text.strip()
        if not text:
            # Noise the VAD took for speech, or words Whisper could not make out: nothing said.
            self.unrecognised += 1
            log.info("speech of %.1f s gave no transcript (%d so far)", clip.duration_s, self.unrecognised)
        else:
            report(self._on_line, TranscriptLine("caller", text, ended.at_s - ended.duration_s, ended.at_s, "stt"))
        return transcript

    async def _finish_turn(self, ended: SpeechEnded, cues: ProsodyCues | None = None, *, speculative: bool) -> None:
        """After each utterance: its words and those the caller said before it in this turn, then the wait
        for the turn's end (cancelled if the caller goes on: the next utterance's turn carries these words)."""
        speech_end_at = ended.at_s  # the waits count from the VAD's end; latency from where it was heard
        metrics = TurnMetrics(index=len(self.turns) + 1, speech_end_at=ended.heard_end_s or speech_end_at,
                              end_detected_at=ended.detected_s, stt_speculative=speculative)
        said = [t for t in [await asyncio.shield(task) for task in list(self._heard)] if t and t.text.strip()]
        metrics.stt_final_at = self._loop.time()
        if not said:
            return  # no words yet in this turn: not a turn
        metrics.heard = said
        metrics.user_text = " ".join(t.text.strip() for t in said)
        metrics.confidence = round(min(t.confidence for t in said), 3)
        if any(t.raw_text is not None for t in said):
            metrics.heard_raw = " ".join((t.raw_text if t.raw_text is not None else t.text).strip() for t in said)
        metrics.stt_doubts = [doubt for t in said for doubt in t.doubts]
        if cues is not None:  # the pause so far: the hang-over plus the wait for the words
            cues = cues.with_pause(self._loop.time() - speech_end_at)
        decision = self._turn_detector.decide(metrics.user_text, cues)
        metrics.turn_rule = decision.reason
        remaining = decision.wait_s - (self._loop.time() - speech_end_at)
        if remaining > 0:
            await asyncio.sleep(remaining)  # cancelled if the caller resumes speaking
        self._take_turn(metrics)

    def _key_turn(self, entry: str, at: float) -> None:
        first, last = self._keypad.span or (at, at)
        report(self._on_line, TranscriptLine("caller", entry, first, last, "dtmf"))
        self._take_turn(TurnMetrics(index=len(self.turns) + 1, user_text=entry, confidence=1.0,
                                    speech_end_at=at, end_detected_at=at, stt_final_at=at, turn_rule="dtmf"))

    def _take_turn(self, metrics: TurnMetrics) -> None:
        """The caller's turn is over (words or keys): the agent answers it."""
        self._heard.clear()
        self._last_turn = (metrics, metrics.heard, self._loop.time()) if metrics.heard else None
        self.turns.append(metrics)
        self._reprompts = 0
        self._say(None, metrics)

    def _cancel_pending_turn(self) -> None:
        if self._pending_turn is not None and not self._pending_turn.done():
            self._pending_turn.cancel()

    def _check_idle(self) -> None:
        """Nothing going on (nobody talking, no turn pending): the call's time up, or a silent caller."""
        busy = self._is_agent_speaking() or self._segmenter.speaking or self._keypad.pending or (
            self._pending_turn is not None and not self._pending_turn.done())
        if busy:
            return
        if self._ends_at is not None and self._loop.time() >= self._ends_at:
            log.warning("call reached its maximum duration: closing it")
            self._say(self._time_up_line)
            self.ended_because = "max_duration"
            return
        action = self._no_input.decide(self._loop.time() - self._agent_done_at, self._reprompts)
        if action == "reprompt":
            self._reprompts += 1
            self._say(self._agent.reprompt())
        elif action == "hang_up":
            self._say(self._agent.farewell())
            self.ended_because = "no_input"

    # --- output -----------------------------------------------------------------------------
    def _say(self, fixed: str | None, metrics: TurnMetrics | None = None) -> None:
        """Start the agent's reply: a fixed line (greeting, re-prompt, farewell), or its answer to a turn."""
        self._speaking = asyncio.create_task(self._speak(fixed, metrics or TurnMetrics(index=0)))

    async def _speak(self, fixed: str | None, metrics: TurnMetrics) -> None:
        if fixed is not None:
            source = sentences(fixed)
        elif metrics.turn_rule == "dtmf":
            source = self._agent.keys(metrics.user_text)
        else:
            source = self._agent.reply(metrics.user_text)
        try:
            await self._voice.play(source, metrics)
            if self._agent.finished and self.ended_because is None:
                self.ended_because = "agent_closed"  # its last words are out: hang up
        finally:
            self._agent_done_at = self._loop.time()
            if metrics.interrupted and not metrics.retracted:
                self._agent.correct_last_reply(" ".join(metrics.agent_spoken))
            if metrics.index and not metrics.retracted and self._on_turn is not None:
                await self._on_turn(metrics)

    def _is_agent_speaking(self) -> bool:
        return self._speaking is not None and not self._speaking.done()

    def _drop_reply(self) -> None:
        """The reply is cut (by `BargeIn`, or a key): perhaps because the last turn was only a pause."""
        assert self._speaking is not None
        self._continue_turn()
        self._speaking.cancel()


def _done(transcript: Transcript) -> asyncio.Future[Transcript | None]:
    """An utterance's words already known, in the shape of the turn's pending decodes."""
    future: asyncio.Future[Transcript | None] = asyncio.get_running_loop().create_future()
    future.set_result(transcript)
    return future
