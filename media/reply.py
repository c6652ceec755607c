"""The agent's voice: sentences synthesised, played on the call's pacer, and reported as heard.

Every place the agent speaks (a conversation's replies, the greeting of a media check, the message
left on an answering machine) must do the same four things, so they are done here once:

* synthesise each sentence and queue it on the pacer, which plays it on its own 20 ms clock while
  the next sentence is synthesised (the pacer never waits for the TTS, the TTS never for the pacer);
* count what the reply asks of the shared engines (`media.usage`): its TTS characters, and the LLM
  requests the reply's source makes while it is iterated in this task;
* report what the caller actually heard (`media.transcript.heard`, `agent_line`): after a cut (a
  barge-in, a key, a hang-up cancels `play`) the sentences played in full and the played share of
  the cut one, never what was planned;
* mark the turn's times (`TurnMetrics`): first output of the brain, first synthesised audio, first
  RTP packet out;
* carry out the reply's actions in order (`on_action`, the call's tools) before asking the reply for
  its next item, and hand each result back on the action (`media.responder`): the brain that
  yielded it reads it when it resumes.

While a reply plays, `level_dbfs` is the loudest of its sentences so far: barge-in (`media.barge_in`)
compares the caller's level with it to tell the agent's own echo from the caller talking over it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from media.pacer import PlaybackResult, RtpPacer
from media.responder import Action, ActionResult, ReplyItem
from media.transcript import LineSink, agent_line, heard, report
from media.tts import TtsEngine
from media.turn_metrics import TurnMetrics
from media.usage import CallUsage, count_into
from media.vad import rms_dbfs

__all__ = ["PlayedSentence", "ReplyPlayer", "ToolSink", "sentences"]

# Carries out one action for the call (a tool call) and says how it went.
ToolSink = Callable[[Action], Awaitable[ActionResult]]


@dataclass(frozen=True, slots=True)
class PlayedSentence:
    """One sentence handed to the pacer: its text, the length of its audio, and its playback."""

    text: str
    duration_s: float
    playback: asyncio.Future[PlaybackResult]

    @property
    def result(self) -> PlaybackResult | None:
        """What the pacer did with it; None while it plays, or if its playback was cancelled."""
        done = self.playback.done() and not self.playback.cancelled()
        return self.playback.result() if done else None


class ReplyPlayer:
    """Plays replies on one call's pacer; one reply at a time (`level_dbfs` is the current one's)."""

    def __init__(self, pacer: RtpPacer, tts: TtsEngine, *, usage: CallUsage | None = None,
                 on_line: LineSink | None = None, on_action: ToolSink | None = None) -> None:
        self._pacer = pacer
        self._tts = tts
        self.usage = usage or CallUsage()
        self._on_line = on_line  # the transcript, one agent line per reply (media.transcript)
        self._on_action = on_action  # a reply's tool calls: the call carries them out, nobody hears them
        self._loop = asyncio.get_running_loop()
        self.level_dbfs = -math.inf  # loudest sentence of the reply now playing; -inf between replies

    async def play(self, items: AsyncIterable[ReplyItem], metrics: TurnMetrics | None = None, *,
                   not_before: Callable[[], Awaitable[object]] | None = None) -> list[PlayedSentence]:
        """Speak `items` (sentences; actions go to `on_action`) and return once all were played.

        Each action is carried out before the next item is asked for, and its result is set on it
        (`ActionResult.UNRECORDED` when there is no `on_action`). The source is closed when the reply
        ends, cut or not, so whatever it keeps (a chat history) is final when `play` returns.

        `items` is iterated here, after this task's engine use is pointed at `usage`: a source that
        asks an LLM (an async generator does nothing until iterated) counts its requests as this call's.
        `metrics` receives the reply's marks and what was planned and heard. `not_before` is awaited once
        the first sentence is synthesised and before it is queued (a machine's beep: speak after it).
        Cancelling stops at once: the caller of `play` flushes the pacer; what was heard is still reported.
        """
        count_into(self.usage)  # the LLM requests this reply makes are this call's
        metrics = metrics if metrics is not None else TurnMetrics(index=0)
        played: list[PlayedSentence] = []
        try:
            async for item in items:
                now = self._loop.time()
                metrics.agent_first_output_at = metrics.agent_first_output_at or now
                if not isinstance(item, str):  # an action for the call (a tool call), never spoken
                    metrics.tool_calls.append(item.name)
                    # Shielded: an action under way is finished even if the reply is cut (a barge-in, a
                    # hang-up): a promise half-written is worse than one not heard confirmed.
                    item.result = (await asyncio.shield(self._on_action(item)) if self._on_action is not None
                                   else ActionResult.UNRECORDED)
                    continue
                metrics.agent_planned.append(item)
                self.usage.tts(item)
                clip = await self._tts.synthesize(item)
                self.level_dbfs = max(self.level_dbfs, rms_dbfs(clip.pcm))
                metrics.tts_first_audio_at = metrics.tts_first_audio_at or self._loop.time()
                if not_before is not None:
                    wait, not_before = not_before, None
                    await wait()
                # Queued, not awaited: it plays while the next sentence is synthesised.
                played.append(PlayedSentence(item, clip.duration_s, self._pacer.play(clip)))
            for sentence in played:
                await sentence.playback
        except asyncio.CancelledError:
            metrics.interrupted = True
            raise
        finally:
            close = getattr(items, "aclose", None)
            if close is not None:  # a cut reply's generator runs its `finally` now, not when collected
                await close()
            results = [(sentence.text, sentence.result) for sentence in played]
            metrics.agent_spoken = heard(results)
            report(self._on_line, agent_line(results, frame_s=self._pacer.frame_ms / 1000,
                                             interrupted=metrics.interrupted))
            metrics.first_rtp_out_at = next((r.started_at for _, r in results if r and r.started_at), None)
            self.level_dbfs = -math.inf
        return played

    async def say(self, text: str, *,
                  not_before: Callable[[], Awaitable[object]] | None = None) -> PlayedSentence:
        """Speak one fixed sentence (a greeting, a voicemail message) outside any turn; how it played."""
        (sentence,) = await self.play(sentences(text), not_before=not_before)
        return sentence


async def sentences(*lines: str) -> AsyncIterator[str]:
    """Fixed lines as a reply's source (a greeting, a re-prompt, a farewell)."""
    for line in lines:
        yield line
