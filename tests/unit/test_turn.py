"""End-of-turn decisions on Spanish partial transcripts, and the no-input policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.turn import NoInputPolicy, TurnDetector, turn_complete, words

COMPLETE = [
    "sí",
    "Sí.",
    "SÍ!",
    "si",
    "no",
    "ya pagué",
    "Ya pague.",
    "el quince de diciembre.",
    "El 15 de diciembre",
    "bueno",
    "ya pues",
    "sí po",
    "hasta luego",
    "yo también",
    "¿Cómo está?",
    "¿y qué?",
    "¿Y cuándo?",
    "es para mí",
    "no puedo pagar este mes",
    "¿Puedo pagar el lunes?",
    "hola, buenas tardes",
]

INCOMPLETE = [
    ("pero", "connector"),
    ("Pero...", "connector"),
    ("ya pagué y", "connector"),
    ("lo hice porque", "connector"),
    ("entonces", "connector"),
    ("dijo que", "connector"),
    ("o", "connector"),
    ("pagué con la", "function_word"),
    ("lo pagué en el", "function_word"),
    ("fui a", "function_word"),
    ("es de", "function_word"),
    ("lo hago por", "function_word"),
    ("es para mi", "function_word"),
    ("lo pagó su", "function_word"),
    ("eh", "filler"),
    ("Em...", "filler"),
    ("mmm", "filler"),
    ("Mmmm", "filler"),
    ("sí, este", "filler"),
    ("ciento", "number"),
    ("son cuarenta mil", "number"),
    ("mil", "number"),
    ("cuatro", "number"),
    ("veinti", "number"),
    ("doce millones trescientos", "number"),
    ("Doce millones, trescientos...", "number"),
    ("12.345.678", "number"),
    ("doce punto tres cuatro cinco guion", "number"),
    ("¿y si", "lead_in"),
    ("¿Y si...?", "lead_in"),
    ("qué pasa si", "lead_in"),
    ("¿Qué pasa si", "lead_in"),
    ("mi RUT es", "lead_in"),
    ("no sé...", "trailing_off"),
    ("", "empty"),
    ("  ¿?  ", "empty"),
]


@pytest.mark.parametrize("text", COMPLETE)
def test_complete_utterances_get_a_short_wait(text: str) -> None:
    decision = turn_complete(text)
    assert decision.complete, decision
    assert 0.2 <= decision.wait_s <= 0.3


@pytest.mark.parametrize(("text", "reason"), INCOMPLETE)
def test_unfinished_utterances_get_a_long_wait(text: str, reason: str) -> None:
    decision = turn_complete(text)
    assert not decision.complete, decision
    assert decision.reason == reason
    assert 0.9 <= decision.wait_s <= 1.2


def test_numbers_wait_longest() -> None:
    assert turn_complete("doce millones").wait_s > turn_complete("pero").wait_s


def test_words_strip_case_accents_and_punctuation() -> None:
    assert words("¿Qué PASA, señor?  ¡Ya pagué!") == ["que", "pasa", "senor", "ya", "pague"]


def test_waits_are_configurable() -> None:
    fast = TurnDetector(
        complete_wait_s=0.1, incomplete_wait_s=0.5, number_wait_s=0.6, trailing_off_wait_s=0.5
    )
    assert fast.decide("sí").wait_s == 0.1
    assert fast.decide("doce mil").wait_s == 0.6
    with pytest.raises(ValueError):
        TurnDetector(complete_wait_s=-1)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_decision_never_raises_and_wait_is_bounded(text: str) -> None:
    detector = TurnDetector()
    decision = detector.decide(text)
    assert detector.min_wait_s <= decision.wait_s <= detector.max_wait_s
    assert decision.complete == (decision.wait_s == detector.complete_wait_s)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["sí", "y", "pero", "mil", "¿", "?", "...", "qué", "de", "pagué", " "])))
def test_decision_on_spanish_word_soup_is_bounded(words: list[str]) -> None:
    decision = turn_complete(" ".join(words))
    assert 0.25 <= decision.wait_s <= 1.2


def test_no_input_policy_sequence() -> None:
    policy = NoInputPolicy(timeout_s=6, reprompts=1)
    assert policy.decide(0.0, 0) == "wait"
    assert policy.decide(5.9, 0) == "wait"
    assert policy.decide(6.0, 0) == "reprompt"
    # The reprompt was played; silence is measured again from its end.
    assert policy.decide(3.0, 1) == "wait"
    assert policy.decide(6.5, 1) == "hang_up"
    assert NoInputPolicy(timeout_s=4, reprompts=0).decide(4.0, 0) == "hang_up"
    assert [NoInputPolicy(reprompts=2).decide(7.0, n) for n in range(3)] == [
        "reprompt",
        "reprompt",
        "hang_up",
    ]


def test_no_input_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        NoInputPolicy(timeout_s=0)
    with pytest.raises(ValueError):
        NoInputPolicy(reprompts=-1)
    with pytest.raises(ValueError):
        NoInputPolicy().decide(-1.0, 0)
