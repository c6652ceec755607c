"""The post-call analysis document: its type, its validation, and its JSON Schema for an LLM.

One document whoever wrote it (the rule analyzer or a model): what the supervisor's queue, the
`call_analyzed` webhook and the typed columns of `call_analyses` are filled from. `parse_analysis`
is the only way from untrusted JSON (a model's reply, a stored document) to a `CallAnalysis`; it
collects every problem rather than stopping at the first, because the list is what the model is
told when it is asked to try again.

The sentiment trend is never taken from a model: it is computed from the per-caller-turn
sentiments, which the document keeps, so the trend always agrees with the turns it summarises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from analysis.classification import ClassificationScheme

__all__ = ["AnalysisInvalid", "CallAnalysis", "InterestLevel", "NextAction", "Promise", "SalesFindings", "Sentiment",
           "Trend",
           "analysis_json_schema", "overall_sentiment", "parse_analysis", "trend_of"]

DOCUMENT_VERSION = 1
SUMMARY_MAX_CHARS = 600  # two or three sentences; the transcript is there for the rest
MAX_AMOUNT = Decimal("999999999999.99")  # numeric(14, 2)
PROMISE_HORIZON = timedelta(days=730)  # a "promise" two years out is a misread date


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Trend(StrEnum):
    IMPROVING = "improving"
    STABLE = "stable"
    WORSENING = "worsening"


class InterestLevel(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


class NextAction(StrEnum):
    SCHEDULE_MEETING = "schedule_meeting"
    SEND_INFO = "send_info"
    FOLLOW_UP_CALL = "follow_up_call"
    CLOSE_DEAL = "close_deal"
    NO_INTEREST = "no_interest"


class AnalysisInvalid(ValueError):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Promise:
    date: date
    amount: Decimal | None  # None: the caller named a day but no amount
    source: str = "transcript"  # 'registered' (the agent's tool stored it) or 'transcript'


@dataclass(frozen=True, slots=True)
class SalesFindings:
    """What a sales call adds (`analysis.sales`): the lead's interest, 1 (none) to 5 (wants to go ahead),
    what a person taking it over should know, and what held the lead back (`agent.sales.cues` codes)."""

    interest_score: int
    key_points: tuple[str, ...] = ()
    objections: tuple[str, ...] = ()
    source: str = "transcript"  # 'recorded' (the agent's record_lead) or 'transcript'

    def as_document(self) -> dict[str, Any]:
        return {"interest_score": self.interest_score, "key_points": list(self.key_points),
                "objections": list(self.objections), "source": self.source}


def _sales(raw: Any, problems: list[str]) -> SalesFindings | None:
    if raw is None:
        return None
    score = raw.get("interest_score") if isinstance(raw, Mapping) else None
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        problems.append(f"sales.interest_score must be an integer from 1 to 5, got {score!r}")
        return None
    lists = {k: raw.get(k) or [] for k in ("key_points", "objections")}
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists.values()):
        problems.append("sales.key_points and sales.objections must be lists of texts")
        return None
    return SalesFindings(score, tuple(lists["key_points"]), tuple(lists["objections"]),
                         str(raw.get("source") or "transcript"))


_SCORE = {Sentiment.POSITIVE: 1, Sentiment.NEUTRAL: 0, Sentiment.NEGATIVE: -1}


def trend_of(turns: Sequence[Sentiment]) -> Trend:
    """Improving/worsening when the last third of the caller's turns averages at least half a step
    better/worse than the first third; stable otherwise, and with fewer than three turns.

    Thirds rather than first-vs-last turn: the longer the call, the less one turn alone (a polite
    "gracias" to end an angry call) moves the trend. Two turns make no trend: the
    first is nearly always a neutral "sí, soy yo", and every call whose one real answer was a "no"
    would be "worsening".
    """
    if len(turns) < 3:
        return Trend.STABLE
    k = max(1, len(turns) // 3)
    first = sum(_SCORE[s] for s in turns[:k]) / k
    last = sum(_SCORE[s] for s in turns[-k:]) / k
    if last - first >= 0.5:
        return Trend.IMPROVING
    if first - last >= 0.5:
        return Trend.WORSENING
    return Trend.STABLE


def overall_sentiment(turns: Sequence[Sentiment]) -> Sentiment:
    """The call's sentiment: the turns' mean with later turns weighing more (how the caller left)."""
    if not turns:
        return Sentiment.NEUTRAL
    weights = range(1, len(turns) + 1)
    mean = sum(w * _SCORE[s] for w, s in zip(weights, turns, strict=True)) / sum(weights)
    if mean >= 1 / 3:
        return Sentiment.POSITIVE
    if mean <= -1 / 3:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


@dataclass(frozen=True, slots=True)
class CallAnalysis:
    summary: str  # Spanish, short
    sentiment: Sentiment
    turn_sentiments: tuple[Sentiment, ...]  # one per caller turn, in order
    interest_level: InterestLevel
    next_action: NextAction
    promise: Promise | None
    needs_human: bool
    priority: int  # 0..100, higher first in the ready-for-human queue
    asked_for_human: bool  # the caller asked for a person (or the agent transferred them)
    frustrated: bool  # anger, complaint, insults, "ya les dije"
    classification: dict[str, str] = field(default_factory=dict)
    analyzer: str = "rules"  # 'rules' or 'llm:<model>'
    fallback_reason: str | None = None  # why the rules answered when a model was configured
    sales: SalesFindings | None = None  # a sales call's lead (None: a collections call)

    @property
    def sentiment_trend(self) -> Trend:
        return trend_of(self.turn_sentiments)

    @property
    def final_sentiment(self) -> Sentiment:
        """How the caller sounded last (their last turn; the overall sentiment without turns)."""
        return self.turn_sentiments[-1] if self.turn_sentiments else self.sentiment

    def with_analyzer(self, analyzer: str, fallback_reason: str | None = None) -> CallAnalysis:
        return replace(self, analyzer=analyzer, fallback_reason=fallback_reason)

    def as_document(self) -> dict[str, Any]:
        """The JSON document stored in `call_analyses.result` (and read back by `parse_analysis`)."""
        p = self.promise
        return {
            "version": DOCUMENT_VERSION,
            "analyzer": self.analyzer,
            "fallback_reason": self.fallback_reason,
            "summary": self.summary,
            "sentiment": self.sentiment.value,
            "sentiment_trend": self.sentiment_trend.value,
            "final_sentiment": self.final_sentiment.value,
            "turn_sentiments": [s.value for s in self.turn_sentiments],
            "interest_level": self.interest_level.value,
            "next_action": self.next_action.value,
            "promise": None if p is None else {
                "date": p.date.isoformat(), "amount": None if p.amount is None else str(p.amount),
                "source": p.source},
            "needs_human": self.needs_human,
            "priority": self.priority,
            "asked_for_human": self.asked_for_human,
            "frustrated": self.frustrated,
            "classification": dict(self.classification),
            "sales": None if self.sales is None else self.sales.as_document(),
        }


def _enum(data: Mapping[str, Any], key: str, kind: type[StrEnum], problems: list[str]) -> Any:
    value = data.get(key)
    try:
        return kind(value)
    except ValueError:
        problems.append(f"{key} = {value!r} is not one of {[k.value for k in kind]}")
        return None


def _promise(raw: Any, call_date: date | None, problems: list[str]) -> Promise | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(f"promise must be an object with date and amount, or null; got {raw!r}")
        return None
    when = None
    if not isinstance(raw.get("date"), str):
        problems.append(f"promise.date = {raw.get('date')!r} must be a date as YYYY-MM-DD")
    else:
        try:
            when = date.fromisoformat(raw["date"])
        except ValueError:
            problems.append(f"promise.date = {raw['date']!r} is not a date as YYYY-MM-DD")
    if when is not None and call_date is not None and not call_date <= when <= call_date + PROMISE_HORIZON:
        problems.append(f"promise.date {when} must be on or after the call ({call_date}) and within two years")
    amount = raw.get("amount")
    if amount is not None:
        try:
            if isinstance(amount, bool) or not isinstance(amount, int | float | str):
                raise InvalidOperation
            amount = Decimal(str(amount)).quantize(Decimal("0.01"))
            if not (0 < amount <= MAX_AMOUNT):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.append(f"promise.amount = {raw.get('amount')!r} must be a positive amount in pesos, or null")
            amount = None
    source = raw.get("source", "transcript")
    if source not in ("transcript", "registered"):
        problems.append(f"promise.source = {source!r} is not 'transcript' or 'registered'")
    return None if when is None else Promise(when, amount, source)


def parse_analysis(data: Any, scheme: ClassificationScheme, *, caller_turns: int | None = None,
                   call_date: date | None = None, analyzer: str = "rules") -> CallAnalysis:
    """A `CallAnalysis` from JSON (a model's reply or a stored document), or `AnalysisInvalid`.

    `caller_turns`: how many caller lines the transcript has; the per-turn sentiments must match it.
    `call_date`: a promise is for that day or later. Unknown top-level keys are ignored (a model
    may add its own), unknown classification categories are not (they would be invented ones).
    """
    if not isinstance(data, Mapping):
        raise AnalysisInvalid([f"the analysis must be a JSON object, got {type(data).__name__}"])
    problems: list[str] = []
    summary = data.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems.append("summary must be a non-empty string (in Spanish)")
    elif len(summary) > SUMMARY_MAX_CHARS:
        problems.append(f"summary has {len(summary)} characters; at most {SUMMARY_MAX_CHARS}")
    sentiment = _enum(data, "sentiment", Sentiment, problems)
    raw_turns = data.get("turn_sentiments")
    turns: list[Sentiment] = []
    if not isinstance(raw_turns, list):
        problems.append("turn_sentiments must be a list: one sentiment per caller turn, in order")
    else:
        for i, value in enumerate(raw_turns):
            try:
                turns.append(Sentiment(value))
            except ValueError:
                problems.append(f"turn_sentiments[{i}] = {value!r} is not one of {[s.value for s in Sentiment]}")
        if caller_turns is not None and len(raw_turns) != caller_turns:
            problems.append(f"turn_sentiments has {len(raw_turns)} entries; the caller spoke {caller_turns} "
                            f"turns (one sentiment per caller turn)")
    interest = _enum(data, "interest_level", InterestLevel, problems)
    action = _enum(data, "next_action", NextAction, problems)
    flags = {}
    for key in ("needs_human", "asked_for_human", "frustrated"):
        if not isinstance(data.get(key), bool):
            problems.append(f"{key} must be true or false, got {data.get(key)!r}")
        flags[key] = data.get(key) is True
    priority = data.get("priority")
    if isinstance(priority, float) and priority.is_integer():
        priority = int(priority)  # JSON has one number type; 70.0 is 70
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100:
        problems.append(f"priority must be an integer from 0 to 100, got {priority!r}")
    promise = _promise(data.get("promise"), call_date, problems)
    sales = _sales(data.get("sales"), problems)
    problems += scheme.problems(data.get("classification"))
    if problems:
        raise AnalysisInvalid(problems)
    return CallAnalysis(
        summary=summary.strip(), sentiment=sentiment, turn_sentiments=tuple(turns), interest_level=interest,
        next_action=action, promise=promise, needs_human=flags["needs_human"], priority=priority,
        asked_for_human=flags["asked_for_human"], frustrated=flags["frustrated"],
        classification={name: data["classification"][name] for name in scheme.names},
        analyzer=str(data.get("analyzer") or analyzer),
        fallback_reason=reason if isinstance(reason := data.get("fallback_reason"), str) else None,
        sales=sales,
    )


def analysis_json_schema(scheme: ClassificationScheme) -> dict[str, Any]:
    """What a model must answer, as JSON Schema (strict structured outputs: every key required,
    no extra keys, nullable values as type unions). The trend is not asked for: it is computed."""

    def enum(kind: type[StrEnum], description: str) -> dict[str, Any]:
        return {"type": "string", "enum": [k.value for k in kind], "description": description}

    properties: dict[str, Any] = {
        "summary": {"type": "string", "description": "Resumen en español, una o dos oraciones."},
        "sentiment": enum(Sentiment, "Sentimiento general del deudor en la llamada."),
        "turn_sentiments": {"type": "array", "items": enum(Sentiment, "Sentimiento de ese turno."),
                            "description": "Un sentimiento por cada turno del deudor, en orden."},
        "interest_level": enum(InterestLevel, "Interés del deudor en ponerse al día."),
        "next_action": enum(NextAction, "Qué debe hacer la empresa ahora."),
        "promise": {
            "type": ["object", "null"],
            "description": "La promesa de pago del deudor (fecha y monto), o null si no prometió.",
            "properties": {"date": {"type": "string", "description": "AAAA-MM-DD"},
                           "amount": {"type": ["number", "null"], "description": "Monto en pesos, o null."}},
            "required": ["date", "amount"],
            "additionalProperties": False,
        },
        "needs_human": {"type": "boolean", "description": "Una persona debe revisar o llamar a este deudor."},
        "priority": {"type": "integer", "description": "Urgencia para una persona, de 0 a 100."},
        "asked_for_human": {"type": "boolean", "description": "El deudor pidió hablar con una persona."},
        "frustrated": {"type": "boolean", "description": "El deudor se mostró molesto, enojado o frustrado."},
        "classification": scheme.json_schema(),
    }
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}
