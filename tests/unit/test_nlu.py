"""The rule engine's Spanish understanding: numbers, dates, intents, and accuracy over the table."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.nlu import (
    Intent,
    parse_amount,
    parse_date,
    parse_installments,
    parse_rut,
    parse_when,
    understand,
    words_to_number,
)
from agent.nlu.text import normalise
from tests.unit.nlu_cases import CASES, NOW, TZ

# --- Accuracy over the labelled table (see tests/unit/nlu_cases.py and bench/nlu_accuracy.py).


def test_table_is_large_and_covers_every_intent():
    assert len(CASES) >= 120
    assert {case.intent for case in CASES} == set(Intent)


def test_accuracy_over_the_table_is_at_least_95_percent():
    failures = [(case.text, case.mismatches(understand(case.text, NOW))) for case in CASES]
    failures = [(text, wrong) for text, wrong in failures if wrong]
    accuracy = 1 - len(failures) / len(CASES)
    assert accuracy >= 0.95, f"accuracy {accuracy:.1%}; failures: {failures}"


# --- Numbers.


@pytest.mark.parametrize(("text", "amount"), [
    ("$104.050", 104_050),
    ("$ 104.050", 104_050),
    ("104,050", 104_050),
    ("104050", 104_050),
    ("50 mil", 50_000),
    ("cincuenta mil", 50_000),
    ("ciento cuatro mil cincuenta", 104_050),
    ("un millón doscientos mil", 1_200_000),
    ("dos millones y medio", 2_500_000),
    ("un millón y medio de pesos", 1_500_000),
    ("mil quinientos", 1_500),
    ("veintiún mil", 21_000),
    ("cien lucas", 100_000),
    ("100 lucas", 100_000),
    ("una luca", 1_000),
    ("luca y media", 1_500),
    ("un palo", 1_000_000),
    ("dos palos", 2_000_000),
    ("medio palo", 500_000),
    ("quinientos pesos", 500),
    ("1,5 millones", 1_500_000),
    ("doscientas barras", 200_000),
    ("le pago trescientos cuarenta y cinco mil pesos el viernes", 345_000),
    ("puedo pagar 1.200.000 en dos cuotas", 1_200_000),
])
def test_parse_amount(text, amount):
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", [
    "el 15",  # a day
    "en tres cuotas",  # a count
    "a las cinco",
    "el 15 de enero de 2027",  # the year is no amount
    "doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho guion cinco",  # a RUT
    "la mitad",
    "",
])
def test_parse_amount_none(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize(("text", "number"), [
    ("cero", 0),
    ("quince", 15),
    ("treinta y uno", 31),
    ("ciento veinte", 120),
    ("cien mil", 100_000),
    ("dos mil veintiséis", 2026),
    ("novecientos noventa y nueve mil novecientos noventa y nueve", 999_999),
    ("un millón mil", 1_001_000),
    ("mil millones", 1_000_000_000),
    ("un millón de pesos", 1_000_000),
])
def test_words_to_number(text, number):
    assert words_to_number(text) == number


@pytest.mark.parametrize("text", ["dos tres", "cuatro ciento", "hola", "", "el quince", "mil mil"])
def test_words_to_number_rejects_what_is_not_one_number(text):
    assert words_to_number(text) is None


def _words(text: str) -> list[str]:
    return text.split()


_UNITS = _words("cero uno dos tres cuatro cinco seis siete ocho nueve")
_TEENS = _words("diez once doce trece catorce quince dieciséis diecisiete dieciocho diecinueve veinte"
                " veintiuno veintidós veintitrés veinticuatro veinticinco veintiséis veintisiete"
                " veintiocho veintinueve")
_TENS = _words("_ _ _ treinta cuarenta cincuenta sesenta setenta ochenta noventa")
_HUNDREDS = _words("_ ciento doscientos trescientos cuatrocientos quinientos seiscientos setecientos "
                   "ochocientos novecientos")


def _spanish(n: int) -> str:
    """Spanish words for 0 <= n < 10**9, as a careful speaker says them (the parser's oracle)."""

    def below_1000(k: int, apocope: bool) -> str:
        if k == 100:
            return "cien"
        hundreds, rest = divmod(k, 100)
        if rest < 10:
            small = _UNITS[rest]
        elif rest < 30:
            small = _TEENS[rest - 10]
        else:
            small = _TENS[rest // 10] + (f" y {_UNITS[rest % 10]}" if rest % 10 else "")
        if apocope and small.endswith("uno"):  # "veintiún mil", "treinta y un millones"
            small = small[:-3] + ("ún" if small == "veintiuno" else "un")
        words = [_HUNDREDS[hundreds]] if hundreds else []
        return " ".join([*words, small] if rest or not hundreds else words)

    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    parts = []
    if millions:
        parts.append("un millón" if millions == 1 else below_1000(millions, True) + " millones")
    if thousands:
        parts.append("mil" if thousands == 1 else below_1000(thousands, True) + " mil")
    if units or not parts:
        parts.append(below_1000(units, False))
    return " ".join(parts)


@given(st.integers(min_value=0, max_value=999_999_999))
def test_words_to_number_reads_every_number_said_in_words(n):
    assert words_to_number(_spanish(n)) == n


@pytest.mark.parametrize(("text", "count"), [
    ("en tres cuotas", 3),
    ("3 cuotas", 3),
    ("dos pagos", 2),
    ("en 12 cuotas mensuales", 12),
    ("se lo pago en cuatro partes", 4),
    ("en una cuota", 1),
    ("en cuotas", None),
    ("en tres días", None),
    ("el 3", None),
    ("en cuotas sí, hágale en tres", 3),  # instalments are the subject: "en tres" is their count
    ("pago en tres", None),
    ("en cuotas, pero en dos semanas", None),
])
def test_parse_installments(text, count):
    assert parse_installments(text) == count


@pytest.mark.parametrize(("text", "rut"), [
    ("12.345.678-5", "12345678-5"),
    ("mi rut es 12345678-5", "12345678-5"),
    ("9.876.543-K", "9876543-K"),
    ("9876543 guion k", "9876543-K"),
    ("doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho guion cinco", "12345678-5"),
    ("siete millones ochocientos mil raya cero", "7800000-0"),
    ("uno cinco ocho cero cero dos cero tres guion ka", "15800203-K"),
    ("12345678", None),  # no check digit: not a RUT (and no place to guess one)
    ("le pago cincuenta mil", None),
])
def test_parse_rut(text, rut):
    assert parse_rut(text) == rut


# --- Dates. NOW is Monday 2026-11-23 10:00 in Santiago.

MONDAY = NOW.date()


@pytest.mark.parametrize(("text", "expected"), [
    ("el quince de diciembre", date(2026, 12, 15)),
    ("el 15 de diciembre", date(2026, 12, 15)),
    ("15/12", date(2026, 12, 15)),
    ("15-12-2026", date(2026, 12, 15)),
    ("15/12/27", date(2027, 12, 15)),
    ("el 15", date(2026, 12, 15)),
    ("el 25", date(2026, 11, 25)),
    ("el 23", date(2026, 11, 23)),  # today is "on or after today"
    ("el primero", date(2026, 12, 1)),
    ("el viernes", date(2026, 11, 27)),
    ("este viernes", date(2026, 11, 27)),
    ("el próximo viernes", date(2026, 11, 27)),
    ("el lunes", date(2026, 11, 30)),  # said on a Monday: next week's
    ("el próximo lunes", date(2026, 11, 30)),
    ("mañana", date(2026, 11, 24)),
    ("pasado mañana", date(2026, 11, 25)),
    ("hoy", date(2026, 11, 23)),
    ("fin de mes", date(2026, 11, 30)),
    ("a fin de mes", date(2026, 11, 30)),
    ("a fines del próximo mes", date(2026, 12, 31)),
    ("principios del próximo mes", date(2026, 12, 5)),
    ("a principio de mes", date(2026, 12, 5)),
    ("a principios de enero", date(2027, 1, 5)),
    ("la próxima semana", date(2026, 11, 30)),
    ("la otra semana", date(2026, 11, 30)),
    ("la semana que viene", date(2026, 11, 30)),
    ("en dos semanas", date(2026, 12, 7)),
    ("en 3 días", date(2026, 11, 26)),
    ("en un mes", date(2026, 12, 23)),
    ("el fin de semana", date(2026, 11, 28)),
    ("el 20 de noviembre", date(2027, 11, 20)),  # already past this year: next year's
])
def test_parse_date(text, expected):
    assert parse_date(text, MONDAY) == expected


@pytest.mark.parametrize("text", [
    "", "no sé", "la semana pasada", "el lunes pasado", "en diciembre", "a las tres", "en la mañana",
    "13/13", "le pago cien lucas",
])
def test_parse_date_none(text):
    assert parse_date(text, MONDAY) is None


@pytest.mark.parametrize(("text", "today", "expected"), [
    # Year roll-over.
    ("el 5 de enero", date(2026, 12, 20), date(2027, 1, 5)),
    ("el 15 de diciembre", date(2026, 12, 20), date(2027, 12, 15)),
    ("15/12", date(2026, 12, 20), date(2027, 12, 15)),
    ("el 5", date(2026, 12, 20), date(2027, 1, 5)),
    ("mañana", date(2026, 12, 31), date(2027, 1, 1)),
    ("principios del próximo mes", date(2026, 12, 20), date(2027, 1, 5)),
    ("la próxima semana", date(2026, 12, 30), date(2027, 1, 4)),
    # A day the month lacks is its last day.
    ("el 31", date(2026, 11, 23), date(2026, 11, 30)),
    ("el 31", date(2026, 11, 5), date(2026, 11, 30)),
    ("el 30", date(2027, 2, 10), date(2027, 2, 28)),
    ("el 30", date(2028, 2, 10), date(2028, 2, 29)),
    ("el 31", date(2027, 4, 1), date(2027, 4, 30)),
    ("el 31", date(2026, 12, 31), date(2026, 12, 31)),
    ("31 de noviembre", date(2026, 11, 1), date(2026, 11, 30)),
    # Month's end on its last day is today.
    ("fin de mes", date(2026, 11, 30), date(2026, 11, 30)),
    ("a fin de mes", date(2027, 2, 28), date(2027, 2, 28)),
    ("fin de mes", date(2028, 2, 1), date(2028, 2, 29)),
    # Weekdays are strictly after today; "próximo" on that weekday is a week away.
    ("el viernes", date(2026, 11, 27), date(2026, 12, 4)),
    ("el próximo viernes", date(2026, 11, 27), date(2026, 12, 4)),
    ("este viernes", date(2026, 11, 26), date(2026, 11, 27)),
    ("la próxima semana", date(2026, 11, 29), date(2026, 11, 30)),  # said on a Sunday
    ("el fin de semana", date(2026, 11, 29), date(2026, 11, 29)),
])
def test_parse_date_edges(text, today, expected):
    assert parse_date(text, today) == expected


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


TUESDAY = MONDAY + timedelta(days=1)


@pytest.mark.parametrize(("text", "expected"), [
    ("el lunes a las tres de la tarde", _at(MONDAY + timedelta(days=7), 15)),
    ("el viernes a 4 de la tarde", _at(MONDAY + timedelta(days=4), 16)),  # "las" left out
    ("llámeme el viernes al a-4 de la tarde", _at(MONDAY + timedelta(days=4), 16)),  # how Whisper heard it
    ("el viernes a 4 cuotas", _at(MONDAY + timedelta(days=4), 10)),  # a bare number alone is no hour
    ("mañana en la mañana", _at(TUESDAY, 10)),  # 10:00: docs/dialogue-spec.md
    ("en la tarde", _at(MONDAY, 15)),
    ("a la noche", _at(MONDAY, 19)),
    ("al mediodía", _at(MONDAY, 12)),
    ("a las 10", _at(TUESDAY, 10)),  # 10:00 now: the next 10:00
    ("a las 10 y media", _at(MONDAY, 10, 30)),
    ("a las 15:30", _at(MONDAY, 15, 30)),
    ("a las nueve de la mañana", _at(TUESDAY, 9)),
    ("a las 9 de la noche", _at(MONDAY, 21)),
    ("a la una", _at(MONDAY, 13)),
    ("a las seis menos cuarto", _at(MONDAY, 17, 45)),
    ("después de las seis", _at(MONDAY, 18)),
    ("antes de las cinco", _at(MONDAY, 16)),
    ("en una hora", _at(MONDAY, 11)),
    ("en media hora", _at(MONDAY, 10, 30)),
    ("en 20 minutos", _at(MONDAY, 10, 20)),
    ("más tarde", _at(MONDAY, 12)),
    ("más rato", _at(MONDAY, 12)),
    ("el viernes", _at(MONDAY + timedelta(days=4), 10)),  # a day without an hour: 10:00
    ("la próxima semana", _at(MONDAY + timedelta(days=7), 10)),
    ("hoy", _at(MONDAY, 12)),  # today's 10:00 is now: two hours from now
    ("el 15 de diciembre a las 11", _at(date(2026, 12, 15), 11)),
])
def test_parse_when(text, expected):
    got = parse_when(text, NOW)
    assert got == expected
    assert got is not None and got.tzinfo is NOW.tzinfo


def test_parse_when_period_already_past_is_tomorrow():
    evening = NOW.replace(hour=16)
    assert parse_when("en la tarde", evening) == _at(TUESDAY, 15)


def test_parse_when_keeps_the_callers_zone():
    bogota = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Bogota"))
    got = parse_when("mañana a las cuatro", bogota)
    assert got == datetime(2026, 11, 24, 16, 0, tzinfo=ZoneInfo("America/Bogota"))


@pytest.mark.parametrize("text", ["", "no sé", "ya pagué", "en otro momento"])
def test_parse_when_none(text):
    assert parse_when(text, NOW) is None


# --- Normalisation and intents.


def test_normalise_strips_accents_punctuation_and_whisper_artefacts():
    assert normalise("¡Sí! Le pago $104.050 el 15/12...") == "si le pago 104.050 pesos el 15/12"
    assert normalise("Subtítulos realizados por la comunidad de Amara.org") == ""
    assert normalise("Eh… MAÑANA, ¿ya?") == "eh manana ya"


@pytest.mark.parametrize(("text", "intent"), [
    ("no me vuelvan a llamar", Intent.STOP_CALLING),  # not CALLBACK, not DENY
    ("no me llamen a este número", Intent.STOP_CALLING),
    ("no me llame ahora, llámeme a las cinco", Intent.CALLBACK),
    ("llámeme el viernes", Intent.CALLBACK),
    ("le pago el viernes", Intent.PROMISE_TO_PAY),
    ("ya pagué", Intent.ALREADY_PAID),  # not CONFIRM
    ("ya, le pago el viernes", Intent.PROMISE_TO_PAY),
    ("no", Intent.DENY),
    ("no lo pagué porque no tengo plata", Intent.CANNOT_PAY),  # a negated past is no payment
    ("quiere que le pague el viernes", Intent.PROMISE_TO_PAY),  # subjunctive, not past
    ("no conozco a esa persona", Intent.WRONG_NUMBER),  # "persona" does not ask for a human
    ("esa deuda no es mía, está equivocado", Intent.DISPUTE),
    ("no puedo pagar", Intent.CANNOT_PAY),
    ("no puedo pagar hasta fin de mes", Intent.PROMISE_TO_PAY),
    ("ahora no puedo, estoy manejando", Intent.CALLBACK),
    ("¿puedo pagar en tres cuotas?", Intent.NEGOTIATE),
    ("puedo pagar en tres cuotas", Intent.PROMISE_TO_PAY),
    # With a pay verb and a day, a question is an offer: "¿y si le pago en tres cuotas? la primera el 1".
    ("¿y si le pago en tres cuotas? la primera el primero de diciembre", Intent.PROMISE_TO_PAY),
    ("uy, qué pena, pero todo no lo tengo", Intent.CANNOT_PAY),
    ("no lo tengo completo", Intent.CANNOT_PAY),
    ("aló, sí, con él", Intent.CONFIRM),
    ("¿y ese descuento del diez por ciento es si pago todo de una vez?", Intent.NEGOTIATE),  # no day in it
])
def test_precedence(text, intent):
    assert understand(text, NOW).intent is intent


def test_promise_with_date_and_amount():
    got = understand("Sí, el viernes le pago cincuenta mil.", NOW)
    assert (got.intent, got.promise_date, got.amount) == (Intent.PROMISE_TO_PAY, date(2026, 11, 27), 50_000)
    assert got.callback_at is None and got.confidence >= 0.8 and got.matched


def test_callback_has_a_time_and_no_promise_date():
    got = understand("llámeme el viernes a las cuatro", NOW)
    assert got.intent is Intent.CALLBACK
    assert got.callback_at == _at(date(2026, 11, 27), 16)
    assert got.promise_date is None


def test_rut_is_read_and_not_taken_for_an_amount():
    got = understand("mi rut es doce millones trescientos cuarenta y cinco mil seiscientos setenta y ocho "
                     "guion cinco", NOW)
    assert (got.intent, got.rut, got.amount) == (Intent.IDENTIFY, "12345678-5", None)


def test_unknown_and_empty():
    for text in ("", "...", "el gato se subió al techo", "Gracias por ver el video."):
        got = understand(text, NOW)
        assert got.intent is Intent.UNKNOWN and got.confidence == 0.0


def test_understanding_is_frozen():
    got = understand("sí", NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.intent = Intent.DENY  # type: ignore[misc]


@pytest.mark.parametrize(("text", "today", "expected"), [
    # "Al tiro" right after a day is "first thing", not today.
    ("lo pago mañana al tiro", date(2026, 11, 17), date(2026, 11, 18)),
    ("lo pago al tiro", date(2026, 11, 17), date(2026, 11, 17)),
    # The weekday said again is the day said with it (10 December 2026 is a Thursday).
    ("ah, no, el jueves diez, el jueves po", date(2026, 12, 1), date(2026, 12, 10)),
])
def test_promise_date_as_negotiated(text, today, expected):
    from agent.nlu.dates import prepare, promise_date_in
    assert promise_date_in(prepare(text), today) == (expected, "")
