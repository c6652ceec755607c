"""Sentiment during the call: each caller turn scored as it ends, and `sentiment_alert` raised as
soon as the conversation so far calls for it, not only after the call.

The scorer is the rule analyzer's (`analysis.rules.read_caller_turn`: `analysis.lexicon`'s cues
and the intent of `agent.nlu`), so a turn stored with "negative, frustrated" during the call is
what the analysis reads in it afterwards. A few regular expressions per turn (well under a
millisecond): run inline on the event loop.

The live rule names its reasons as the post-call one does (`analysis.store.sentiment_alert_reasons`),
so each reason alerts once per call, whichever raised it first; it is stricter about frustration
because it has to decide before the call is over:

- `asked_for_human`: the caller asked for a person;
- `frustrated`: frustration that repeats or builds: two frustrated turns, or two negative turns in
  a row one of which is frustrated (one angry word in a calm call waits for the analysis);
- `negative_and_worsening`: the last turn is negative and the trend so far (`schema.trend_of`)
  is worsening.

One `SentimentTracker` per call owns that call's turns; it raises at most one alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analysis.rules import read_caller_turn
from analysis.schema import Sentiment, Trend, trend_of

__all__ = ["LiveAlert", "SentimentTracker", "TurnMood"]


@dataclass(frozen=True, slots=True)
class TurnMood:
    """One caller turn's sentiment, as stored with the turn."""

    index: int
    sentiment: Sentiment
    frustrated: bool
    asked_for_human: bool

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "sentiment": self.sentiment.value, "frustrated": self.frustrated}


@dataclass(frozen=True, slots=True)
class LiveAlert:
    """The alert the conversation called for, at the turn it did."""

    turn_index: int
    reasons: tuple[str, ...]
    trend: Trend
    turns: tuple[TurnMood, ...]  # every scored caller turn up to this one

    def payload(self) -> dict[str, Any]:
        """The `sentiment_alert` webhook's own fields (the call's summary is added by whoever emits it);
        `sentiment` is the last turn's, `turns` every turn's so far."""
        return {
            "phase": "live",
            "turn_index": self.turn_index,
            "reasons": list(self.reasons),
            "sentiment": self.turns[-1].sentiment.value,
            "sentiment_trend": self.trend.value,
            "turns": [t.as_dict() for t in self.turns],
        }


class SentimentTracker:
    """One call's running sentiment. `observe` each caller turn as it ends."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock  # relative dates in a turn are read against it (they do not move its mood)
        self.turns: list[TurnMood] = []
        self.alert: LiveAlert | None = None

    def observe(self, index: int, text: str) -> tuple[TurnMood | None, LiveAlert | None]:
        """Score one caller turn and add it to the call's; the turn's mood (None: no words to score)
        and the alert this turn raises (None: none now, or the call already had its one)."""
        if not text.strip():
            return None, None
        read = read_caller_turn(text, self._clock())
        mood = TurnMood(index, read.sentiment, read.frustrated, read.asked_for_human)
        self.turns.append(mood)
        if self.alert is not None:
            return mood, None
        reasons = self._reasons()
        if not reasons:
            return mood, None
        self.alert = LiveAlert(index, reasons, trend_of([t.sentiment for t in self.turns]), tuple(self.turns))
        return mood, self.alert

    def _reasons(self) -> tuple[str, ...]:
        turns, last = self.turns, self.turns[-1]
        negative = Sentiment.NEGATIVE
        reasons = []
        if last.sentiment is negative and trend_of([t.sentiment for t in turns]) is Trend.WORSENING:
            reasons.append("negative_and_worsening")
        if last.asked_for_human:
            reasons.append("asked_for_human")
        pair = turns[-2:]
        building = len(pair) == 2 and all(t.sentiment is negative for t in pair) and any(t.frustrated for t in pair)
        if (last.frustrated and sum(t.frustrated for t in turns) >= 2) or building:
            reasons.append("frustrated")
        return tuple(reasons)
