"""Sentiment during the call (`analysis.live.SentimentTracker`): each caller turn scored as the
post-call analysis scores it, and one `sentiment_alert` at most, raised at the turn the conversation
first calls for it (a request for a person, frustration that repeats or builds, a call going from
calm to negative)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from analysis import AnalysisInput, CallFacts, RuleAnalyzer, Sentiment, Utterance, load_classification
from analysis.live import SentimentTracker
from analysis.store import sentiment_alert_reasons

MONDAY = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("America/Santiago"))
P, N, X = Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE


def run(*caller: str) -> tuple[SentimentTracker, list]:
    """The tracker after `caller`'s turns (indexed from 1), and what each turn raised."""
    tracker = SentimentTracker(clock=lambda: MONDAY)
    return tracker, [tracker.observe(i, text)[1] for i, text in enumerate(caller, 1)]


def test_a_calm_call_raises_nothing():
    tracker, alerts = run("Aló, sí, soy yo.", "Ah, sí, sé de esa deuda.", "Le pago el viernes cincuenta mil.",
                          "Perfecto, muchas gracias.")
    assert alerts == [None] * 4 and tracker.alert is None
    assert [t.sentiment for t in tracker.turns] == [N, N, P, P]


def test_an_unhappy_but_steady_caller_raises_nothing():
    # Collections' ordinary call: "no" from the start to the end is no news.
    assert run("No, no tengo plata.", "No puedo pagar.", "No me interesa.")[1] == [None] * 3


def test_one_angry_word_in_a_calm_call_waits_for_the_analysis():
    tracker, alerts = run("Sí, soy yo.", "Qué molestia, pero bueno, dígame.", "Ya, le pago el viernes.")
    assert tracker.turns[1].frustrated and alerts == [None] * 3


def test_two_frustrated_turns_raise_one_alert_at_the_second():
    tracker, alerts = run("Sí, soy yo.", "¿Otra vez ustedes? Ya les dije que no.", "Estoy harto de que me llamen.",
                          "Hasta cuándo con lo mismo, es un abuso.")
    assert alerts[:2] == [None, None] and alerts[3] is None  # never twice
    alert = alerts[2]
    assert alert is tracker.alert and alert.turn_index == 3 and "frustrated" in alert.reasons
    payload = alert.payload()
    assert payload["phase"] == "live" and payload["turn_index"] == 3 and payload["sentiment"] == "negative"
    assert payload["turns"] == [{"index": 1, "sentiment": "neutral", "frustrated": False},
                                {"index": 2, "sentiment": "negative", "frustrated": True},
                                {"index": 3, "sentiment": "negative", "frustrated": True}]
    assert len(tracker.turns) == 4  # turns after the alert are still scored


def test_frustration_after_a_negative_turn_is_building():
    _, alerts = run("No tengo cómo pagar.", "Es un robo lo que cobran.")
    assert alerts[0] is None and alerts[1].reasons == ("frustrated",)


def test_a_request_for_a_person_raises_one_alert_at_once():
    tracker, alerts = run("Sí.", "Quiero hablar con una persona.", "Con un humano, por favor, estoy harto.",
                          "¡Que me pase con alguien!")
    assert alerts[0] is None and alerts[2:] == [None, None]
    assert alerts[1].reasons == ("asked_for_human",) and alerts[1].turn_index == 2 and tracker.alert is alerts[1]


def test_a_call_that_turns_negative_raises_negative_and_worsening():
    _, alerts = run("Gracias, muy amable.", "Sí.", "No quiero, no puedo, es imposible.")
    assert alerts[:2] == [None, None] and alerts[2].reasons == ("negative_and_worsening",)
    assert alerts[2].payload()["sentiment_trend"] == "worsening"


def test_a_turn_without_words_is_not_scored():
    tracker = SentimentTracker(clock=lambda: MONDAY)
    assert tracker.observe(1, "  ") == (None, None) and tracker.turns == []


def test_the_live_scorer_is_the_analysis_scorer():
    said = ("Sí, soy yo.", "¿Otra vez? Estoy harto.", "No tengo plata, lamentablemente.", "Gracias, le pago mañana.",
            "Quiero hablar con una persona.", "No me interesa, olvídese.")
    tracker, _ = run(*said)
    lines = tuple(Utterance("caller", text) for text in said)
    analysis = RuleAnalyzer(load_classification()).analyze(AnalysisInput(CallFacts(call_at=MONDAY), lines))
    assert tuple(t.sentiment for t in tracker.turns) == analysis.turn_sentiments
    assert any(t.frustrated for t in tracker.turns) is analysis.frustrated
    assert any(t.asked_for_human for t in tracker.turns) is analysis.asked_for_human
    # The live alert came at the third turn (a second negative one after the frustrated one, worse than
    # the first); the analysis, which reads the whole call, alerts on what the call was in the end (it
    # ended better than at the third turn). The same names: each reason alerts once per call.
    assert tracker.alert.turn_index == 3 and tracker.alert.reasons == ("negative_and_worsening", "frustrated")
    assert sentiment_alert_reasons(analysis.as_document()) == ["asked_for_human", "frustrated"]
