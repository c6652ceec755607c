"""The call's transcript as it was heard: one line per agent reply and per caller turn.

The conversation loop reports lines as they happen, in the event loop's clock (seconds, like every
other mark in `media`); whoever owns the call turns them into offsets from its answer and stores
them. An agent line holds only what went out on the line: after a barge-in, the sentences played in
full and the played share of the cut one (marked with "…"), never what was planned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from media.pacer import PlaybackResult

log = logging.getLogger(__name__)

Speaker = Literal["agent", "caller"]
Source = Literal["", "stt", "dtmf", "tts"]


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    speaker: Speaker
    text: str
    start_at: float  # loop time: the first audio of the line (speech onset, first agent packet, first key)
    end_at: float
    source: Source = ""
    interrupted: bool = False


LineSink = Callable[[TranscriptLine], None]  # synchronous: it only queues the line


def report(sink: LineSink | None, line: TranscriptLine | None) -> None:
    """Hand `line` (None: nothing was heard) to `sink`; a transcript fault must not end the conversation."""
    if line is None or sink is None:
        return
    try:
        sink(line)
    except Exception:
        log.exception("could not report a transcript line")


def heard(played: Iterable[tuple[str, PlaybackResult | None]]) -> list[str]:
    """Sentences fully played, plus the played share (by words) of the one cut short; `None` stands
    for a sentence that never got a result (cancelled before the pacer resolved it)."""
    said: list[str] = []
    for sentence, result in played:
        if result is None:
            break
        if not result.interrupted and result.frames_played >= result.frames_total:
            said.append(sentence)
            continue
        words = sentence.split()
        share = result.frames_played / max(result.frames_total, 1)
        if (cut := round(len(words) * share)) > 0:
            said.append(" ".join(words[:cut]) + "…")
        break
    return said


def agent_line(played: list[tuple[str, PlaybackResult | None]], *, frame_s: float,
               interrupted: bool = False) -> TranscriptLine | None:
    """The agent's line for one reply (greeting, answer, re-prompt...), None if nothing was heard."""
    said = heard(played)
    results = [r for _, r in played[: len(said)] if r is not None and r.started_at is not None]
    if not said or not results:
        return None
    cut = interrupted or len(said) < len(played) or said[-1] != played[len(said) - 1][0]
    last = results[-1]
    # The line ends one frame after its last packet left (a pause before a cut is not speech).
    end = (last.last_frame_at or last.finished_at or last.started_at) + frame_s
    start = results[0].started_at
    assert start is not None
    return TranscriptLine("agent", " ".join(said), start, max(end, start), "tts", cut)
