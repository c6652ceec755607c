"""The rule analyzer and the analysis document: Spanish transcripts read into promises, refusals and
requests for a person; the classification never outside its enums (hypothesis, over random
transcripts and over random model output); operator classification files checked at load."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    AnalysisInput,
    AnalysisInvalid,
    CallFacts,
    ClassificationConfigError,
    ClassificationScheme,
    RegisteredPromise,
    RuleAnalyzer,
    Sentiment,
    Trend,
    Utterance,
    analysis_json_schema,
    load_classification,
    overall_sentiment,
    parse_analysis,
    trend_of,
)
from analysis.store import sentiment_alert_reasons

MONDAY = datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("America/Santiago"))
SCHEME = load_classification()
RULES = RuleAnalyzer(SCHEME)
P, N, X = Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEGATIVE


def analyse(*caller: str, agent: str = "Hola, le llamo por su deuda con Natura.", **facts):
    lines = [Utterance("agent", agent)]
    for text in caller:
        lines += [Utterance("caller", text), Utterance("agent", "Entiendo.")]
    return RULES.analyze(AnalysisInput(CallFacts(call_at=MONDAY, **facts), tuple(lines)))


def test_a_spoken_promise_gives_its_date_and_amount_relative_to_the_call():
    a = analyse("Sí, soy yo", "le pago cincuenta mil el quince de diciembre")
    assert (a.promise.date, a.promise.amount, a.promise.source) == (date(2026, 12, 15), Decimal(50000), "transcript")
    assert (a.interest_level.value, a.next_action.value) == ("high", "close_deal")
    assert a.classification["payment_stance"] == "will_pay" and a.classification["negotiation_stage"] == "agreement"
    assert "$50.000" in a.summary and "15 de diciembre de 2026" in a.summary
    assert not a.needs_human and a.priority == 0
    # "el viernes" is the Friday after the call (a Monday), not after whenever the analysis runs.
    assert analyse("le pago el viernes", "unos treinta mil").promise.date == date(2026, 11, 27)
    assert analyse("le pago el viernes", "unos treinta mil").promise.amount == Decimal(30000)


def test_the_registered_promise_outranks_what_the_transcript_seems_to_say():
    a = analyse("le pago cincuenta mil el quince de diciembre", result="promise",
                promise=RegisteredPromise(date(2026, 12, 20), Decimal(104050)))
    assert (a.promise.date, a.promise.amount, a.promise.source) == (date(2026, 12, 20), Decimal(104050), "registered")


def test_a_refusal_is_no_interest_and_low_even_though_nlu_reads_a_pay_verb_in_it():
    a = analyse("Sí, con él", "no, no quiero pagar nada, no me interesa")
    assert (a.next_action.value, a.interest_level.value) == ("no_interest", "low")
    assert a.classification["payment_stance"] == "refuses" and a.promise is None
    assert a.sentiment is X and not a.needs_human
    # The agent's recorded result says the same without the words, and outranks words that sounded like a promise.
    assert analyse("mmm", result="refused").next_action.value == "no_interest"
    overruled = analyse("le pago cincuenta mil el viernes", result="refused")
    assert overruled.promise is None and "negó" in overruled.summary


def test_asking_for_a_person_needs_a_human_first_when_the_caller_is_also_frustrated():
    calm = analyse("quiero hablar con una persona")
    angry = analyse("quiero hablar con una persona", "ya les dije mil veces, estoy harto de sus llamadas")
    for a in (calm, angry):
        assert a.needs_human and a.asked_for_human and a.next_action.value == "schedule_meeting"
    assert calm.priority == 70 and not calm.frustrated
    assert angry.priority == 90 and angry.frustrated and angry.classification["call_issue"] == "complaint"
    assert angry.classification["urgency"] == "high" and "persona" in angry.summary
    # A transfer the agent made counts as asking; a pre-legal debt comes before a late one.
    transferred = analyse("sí", result="transfer", delinquency_type="prejudicial")
    assert transferred.asked_for_human and transferred.priority == 80


@pytest.mark.parametrize(("caller", "category", "value", "interest", "needs_human"), [
    ("no, aquí no vive ninguna María, número equivocado", "contact_result", "wrong_number", "none", False),
    ("número equivocado, dejen de molestar", "contact_result", "wrong_number", "none", False),  # not our debtor
    ("no me vuelvan a llamar", "payment_stance", "refuses", "none", False),
    ("¿puedo pagar en cuotas?", "payment_stance", "negotiating", "medium", True),
    ("ya pagué la semana pasada", "payment_stance", "already_paid", "low", True),
    ("esa deuda no es mía, nunca he comprado en Natura", "payment_stance", "disputes", "low", True),
    ("no tengo plata, estoy cesante", "payment_stance", "cannot_pay", "low", False),
    ("mándeme el link por whatsapp", "payment_stance", "will_pay", "high", False),
])
def test_each_stance_decides_the_classification_and_who_needs_a_person(caller, category, value, interest,
                                                                         needs_human):
    a = analyse(caller)
    assert a.classification[category] == value and a.interest_level.value == interest
    assert a.needs_human is needs_human and (a.priority > 0) is needs_human


def test_reasons_channels_and_contact_are_read_from_the_words():
    a = analyse("no tengo plata, estoy cesante")
    assert a.classification["non_payment_reason"] == "unemployment" and "sin trabajo" in a.summary
    assert analyse("mándeme el link por whatsapp").classification["payment_channel"] == "payment_link"
    assert analyse("no está, soy su hija").classification["contact_result"] == "third_party"
    assert analyse().classification["contact_result"] == "no_conversation"
    assert analyse("hello, I don't speak Spanish, sorry").classification["language"] == "en"


@pytest.mark.parametrize(("turns", "trend"), [
    ([], Trend.STABLE), ([X, X], Trend.STABLE), ([N, P], Trend.STABLE),  # two turns make no trend
    ([N, N, X], Trend.WORSENING), ([X, N, P], Trend.IMPROVING), ([P, X, P], Trend.STABLE),
    ([X, X, X, P, P, P], Trend.IMPROVING), ([X] * 14 + [P], Trend.STABLE),  # in a long call one turn is not enough
])
def test_the_trend_compares_the_first_and_last_thirds_of_the_callers_turns(turns, trend):
    assert trend_of(turns) is trend


def test_the_overall_sentiment_weighs_how_the_caller_left():
    assert overall_sentiment([X, N, P, P]) is P and overall_sentiment([P, N, X, X]) is X
    assert overall_sentiment([]) is N


def test_the_sentiment_alert_rule():
    worsening = analyse("gracias, muy amable", "sí", "no quiero, no puedo, es imposible").as_document()
    assert worsening["sentiment_trend"] == "worsening" and not worsening["frustrated"]
    assert sentiment_alert_reasons(worsening) == ["negative_and_worsening"]
    assert sentiment_alert_reasons(analyse("no, no quiero pagar, no me interesa").as_document()) == []
    angry = analyse("quiero hablar con una persona, estoy harto").as_document()
    assert sentiment_alert_reasons(angry) == ["asked_for_human", "frustrated"]


# ---------------------------------------------------------------- classification files
def test_an_operators_file_replaces_the_categories_and_unknown_ones_get_their_fallback(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[categories.payment_stance]\nvalues = ["will_pay", "other"]\nfallback = "other"\n'
                    '[categories.product]\ndescription = "Producto"\nvalues = ["card", "loan"]\nfallback = "loan"\n')
    rules = RuleAnalyzer(load_classification(path))
    inp = lambda text: AnalysisInput(CallFacts(call_at=MONDAY), (Utterance("caller", text),))
    assert rules.analyze(inp("le pago cincuenta mil el viernes")).classification == {
        "payment_stance": "will_pay", "product": "loan"}
    # The rules' guess "refuses" is not in this file's list: the fallback, never the guess.
    assert rules.analyze(inp("no quiero pagar")).classification["payment_stance"] == "other"


@pytest.mark.parametrize(("text", "error"), [
    ("[categories.a]\nvalues = []\nfallback = 'x'", "non-empty"),
    ("[categories.a]\nvalues = ['x', 'x']\nfallback = 'x'", "repeated"),
    ("[categories.a]\nvalues = ['x', 'y']\nfallback = 'z'", "fallback 'z'"),
    ("[categories.A]\nvalues = ['x']\nfallback = 'x'", "lower_snake_case"),
    ("[categories.a]\nvalues = ['x']\nfallback = 'x'\ncolour = 1", "unknown keys"),
    ("title = 'nothing'", "at least one"),
    ("[categories.a\n", "not valid TOML"),
])
def test_a_bad_classification_file_is_refused_with_the_reason(text, error):
    with pytest.raises(ClassificationConfigError, match=error):
        ClassificationScheme.from_toml(text, "mine.toml")


def test_a_missing_classification_file_is_a_clear_error(tmp_path):
    with pytest.raises(ClassificationConfigError, match="cannot read"):
        load_classification(tmp_path / "nope.toml")


# ---------------------------------------------------------------- the document and its validation
def valid_reply(**overrides):
    reply = {"summary": "Prometió pagar.", "sentiment": "positive", "turn_sentiments": ["neutral", "positive"],
             "interest_level": "high", "next_action": "close_deal",
             "promise": {"date": "2026-12-15", "amount": 50000}, "needs_human": False, "priority": 0,
             "asked_for_human": False, "frustrated": False, "classification": SCHEME.fallbacks()}
    return {**reply, **overrides}


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"sentiment": "furious"}, "sentiment = 'furious'"),
    ({"classification": {**SCHEME.fallbacks(), "urgency": "extreme"}}, "classification.urgency = 'extreme'"),
    ({"classification": {**SCHEME.fallbacks(), "urgency": None}}, "classification.urgency = None"),
    ({"classification": {**SCHEME.fallbacks(), "mood": "ok"}}, "unknown categories ['mood']"),
    ({"classification": {k: v for k, v in SCHEME.fallbacks().items() if k != "language"}}, "language is missing"),
    ({"turn_sentiments": ["neutral"]}, "the caller spoke 2 turns"),
    ({"promise": {"date": "2026-11-01", "amount": 5}}, "on or after the call"),
    ({"promise": {"date": "15/12/2026", "amount": 5}}, "YYYY-MM-DD"),
    ({"promise": {"date": "2026-12-15", "amount": -5}}, "positive amount"),
    ({"priority": 101}, "0 to 100"), ({"priority": True}, "0 to 100"), ({"needs_human": "yes"}, "true or false"),
    ({"summary": ""}, "non-empty"),
])
def test_the_validator_names_what_is_wrong(overrides, problem):
    with pytest.raises(AnalysisInvalid) as invalid:
        parse_analysis(valid_reply(**overrides), SCHEME, caller_turns=2, call_date=MONDAY.date())
    assert any(problem in p for p in invalid.value.problems), invalid.value.problems


def test_a_valid_reply_and_a_stored_document_read_back_the_same():
    a = parse_analysis(valid_reply(priority=70.0, extra="ignored"), SCHEME, caller_turns=2, call_date=MONDAY.date())
    assert a.priority == 70 and a.promise.amount == Decimal("50000.00")
    assert parse_analysis(json.loads(json.dumps(a.as_document())), SCHEME) == a


def test_the_json_schema_is_strict_and_carries_the_enums():
    schema = analysis_json_schema(SCHEME)

    def objects(node):
        if isinstance(node, dict):
            if "properties" in node:
                yield node
            for value in node.values():
                yield from objects(value)

    for obj in objects(schema):
        assert obj["additionalProperties"] is False and set(obj["required"]) == set(obj["properties"])
    urgency = schema["properties"]["classification"]["properties"]["urgency"]
    assert urgency["enum"] == list(SCHEME.category("urgency").values)
    assert "sentiment_trend" not in schema["properties"]  # computed, never asked for


# ---------------------------------------------------------------- properties
_WORDS = ["sí", "no", "le", "pago", "cincuenta", "mil", "el", "quince", "de", "diciembre", "viernes", "mañana",
          "quiero", "hablar", "con", "una", "persona", "no", "tengo", "plata", "gracias", "harto", "cuotas",
          "link", "ya", "pagué", "llámeme", "equivocado", "vuelvan", "a", "llamar", "¿cuánto?", "debo", "hola",
          "perfecto", "imposible", "cesante", "transferencia", "123", "15/12", "$104.050", "¡", "…"]
utterances = st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join) | st.text(max_size=40)
transcripts = st.lists(st.tuples(st.sampled_from(["agent", "caller"]), utterances), max_size=8)
results = st.sampled_from([None, "promise", "callback", "wrong_number", "transfer", "refused", "stop_calling",
                           "already_paid", "dispute", "payment_link", "completed", "hung_up"])


@settings(max_examples=300, deadline=None)
@given(transcripts, results, st.sampled_from(["", "temprana", "tardia", "prejudicial"]))
def test_the_rules_always_write_a_valid_document_with_every_category_inside_its_enum(lines, result, kind):
    inp = AnalysisInput(CallFacts(call_at=MONDAY, result=result, delinquency_type=kind),
                        tuple(Utterance(s, t) for s, t in lines))
    a = RULES.analyze(inp)
    for category in SCHEME.categories:
        assert a.classification[category.name] in category.values
    assert set(a.classification) == set(SCHEME.names)
    assert 0 <= a.priority <= 100 and (a.priority > 0) == a.needs_human
    assert len(a.turn_sentiments) == len(inp.caller_lines)
    # What the rules write is what the validator accepts (the same gate as a model's output).
    assert parse_analysis(a.as_document(), SCHEME, caller_turns=len(inp.caller_lines), call_date=MONDAY.date()) == a


def _maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    junk = st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=8) | st.lists(st.integers(), max_size=2)
    return st.one_of(valid, valid, junk)


random_classification = st.fixed_dictionaries(
    {c.name: _maybe(st.sampled_from(c.values)) for c in SCHEME.categories},
    optional={"invented": st.text(max_size=5)}) | st.none()
random_replies = st.fixed_dictionaries({
    "summary": _maybe(st.text(min_size=1, max_size=50)), "sentiment": _maybe(st.sampled_from(["positive", "neutral",
                                                                                              "negative"])),
    "turn_sentiments": _maybe(st.lists(st.sampled_from(["positive", "neutral", "negative", "mad"]), max_size=3)),
    "interest_level": _maybe(st.sampled_from(["high", "medium", "low", "none"])),
    "next_action": _maybe(st.sampled_from(["close_deal", "send_info", "no_interest"])),
    "promise": st.none() | st.fixed_dictionaries({"date": _maybe(st.sampled_from(["2026-12-15", "2026-11-23"])),
                                                  "amount": _maybe(st.integers(1, 10**6) | st.none())}),
    "needs_human": _maybe(st.booleans()), "priority": _maybe(st.integers(0, 100)),
    "asked_for_human": _maybe(st.booleans()), "frustrated": _maybe(st.booleans()),
    "classification": random_classification,
})


@settings(max_examples=500, deadline=None)
@given(random_replies)
def test_the_validator_lets_nothing_outside_the_enums_through(reply):
    try:
        a = parse_analysis(reply, SCHEME, call_date=MONDAY.date())
    except AnalysisInvalid as invalid:
        assert invalid.problems  # a rejection always says why (the model is told)
        return
    assert set(a.classification) == set(SCHEME.names)
    for category in SCHEME.categories:
        assert a.classification[category.name] in category.values
    assert a.sentiment.value in ("positive", "neutral", "negative") and 0 <= a.priority <= 100
    assert isinstance(a.needs_human, bool) and a.summary.strip()
