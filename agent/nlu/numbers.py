"""Spanish numbers as debtors say them and Whisper writes them: amounts, instalments and the RUT.

Whisper writes an amount in digits ("$104.050", "104,050", "50 mil") or in words ("ciento cuatro
mil cincuenta"), and callers use slang: in Chile and Argentina a "luca" is a thousand pesos, in
Chile and Colombia a "palo" is a million ("medio palo" = 500.000). All of it goes through one
parser of number *spans* over normalised words, so an amount, a day of the month, an hour and a
RUT are read the same way and told apart by what surrounds them.

A span ends where the next word cannot continue the number ("ciento cuatro" continues, "cuatro
ciento" does not), which is also what splits a RUT dictated digit by digit ("uno cinco ocho")
into single digits instead of adding them up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.nlu.text import normalise
from countries import all_countries

__all__ = [
    "NumberSpan",
    "amount_in",
    "installments_in",
    "number_spans",
    "numerify",
    "parse_amount",
    "parse_installments",
    "parse_rut",
    "rut_in",
    "words_to_number",
]

_UNITS = {
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
}
# Ten to twenty-nine: one word each, and nothing can be added to them.
_TEENS = {
    "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
    "veintiun": 21, "veintiuno": 21, "veintiuna": 21, "veintidos": 22, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintisiete": 27,
    "veintiocho": 28, "veintinueve": 29,
}
_TENS = {
    "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "setenta": 70, "ochenta": 80, "noventa": 90,
}
_HUNDREDS = {
    "cien": 100, "ciento": 100, "doscientos": 200, "doscientas": 200, "trescientos": 300,
    "trescientas": 300, "cuatrocientos": 400, "cuatrocientas": 400, "quinientos": 500,
    "quinientas": 500, "seiscientos": 600, "seiscientas": 600, "setecientos": 700,
    "setecientas": 700, "ochocientos": 800, "ochocientas": 800, "novecientos": 900,
    "novecientas": 900,
}
#: Multipliers, with the money slang of every country (each country's words are in its folder,
#: `countries/<code>/__init__.py`: luca(s) = 1.000 in Chile and Argentina, barra(s) = 1.000 in
#: Colombia, palo(s) = 1.000.000 in Chile and Colombia). The words of all countries are read in any
#: call: none of them means another amount elsewhere.
_SLANG_WORDS = {word: value for c in all_countries().values() for word, value in c.money_words.items()}
_THOUSANDS = {"mil": 1_000} | {w: v for w, v in _SLANG_WORDS.items() if v == 1_000}
_MILLIONS = {"millon": 1_000_000, "millones": 1_000_000} | {w: v for w, v in _SLANG_WORDS.items() if v == 1_000_000}
_SLANG = frozenset(_SLANG_WORDS)
_HALF = frozenset({"medio", "media"})

_INT_RE = re.compile(r"\d+")
_THOUSANDS_SEP_RE = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")  # "104.050", "1,500,000"
_DECIMAL_RE = re.compile(r"(\d+)[.,](\d{1,2})")  # "1,5 millones", "2.5 palos": only before a multiplier


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """Words ``tokens[start:end]`` read as ``value``. ``multiplied``: it has mil/millón or slang
    (a quantity of money, not a day or an hour); ``slang``: lucas/palos/barras; ``digits``: written
    in digits."""

    start: int
    end: int
    value: int
    multiplied: bool = False
    slang: bool = False
    digits: bool = False


def _digit_value(token: str) -> int | float | None:
    if _INT_RE.fullmatch(token):
        return int(token)
    if _THOUSANDS_SEP_RE.fullmatch(token):
        return int(re.sub(r"[.,]", "", token))
    if m := _DECIMAL_RE.fullmatch(token):
        return float(f"{m[1]}.{m[2]}")
    return None


_ADDITIVE = frozenset({"unit", "teen", "tens", "hundred"})
_MULTIPLIER = frozenset({"thousand", "million"})


class _Reader:
    """One span being read: millions + thousands + the group being said now ("ciento cuatro")."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.millions = 0.0
        self.thousands = 0.0
        self.current = 0.0
        self.last = ""  # kind of the last word read
        self.multiplier = 0  # the last multiplier, for "y medio"
        self.multiplied = self.slang = self.digits = False
        self.words = 0

    def can_add(self, kind: str, value: float) -> bool:
        """Whether a unit/teen/tens/hundred word continues the span ("ciento" + "cuatro" does,
        "cuatro" + "ciento" and "dos" + "tres" do not)."""
        if self.words == 0 or self.last in _MULTIPLIER:
            return True
        if self.last == "hundred":
            return value < 100 and self.current % 100 == 0
        return self.last == "tens" and kind == "unit"

    def add(self, kind: str, value: float) -> None:
        self.current += value
        self.last = kind
        self.words += 1
        self.digits = self.digits or kind in ("digits", "decimal")

    def can_multiply(self, kind: str) -> bool:
        if kind == "thousand":  # "mil mil" is two numbers; "un millón mil" is one
            return not self.thousands and self.last not in ("thousand", "half")
        return not self.millions and self.last != "half"

    def multiply(self, kind: str, value: int, word: str) -> None:
        if kind == "thousand":
            self.thousands += (self.current or 1) * value
        else:
            self.millions += ((self.thousands + self.current) or 1) * value
            self.thousands = 0
        self.current = 0
        self.last, self.multiplier = kind, value
        self.multiplied = True
        self.slang = self.slang or word in _SLANG
        self.words += 1

    def span(self, end: int) -> NumberSpan:
        value = round(self.millions + self.thousands + self.current)
        return NumberSpan(self.start, end, value, self.multiplied, self.slang, self.digits)


def number_spans(tokens: Sequence[str]) -> list[NumberSpan]:
    """Every number in the normalised words ``tokens``, left to right, as non-overlapping spans."""
    spans: list[NumberSpan] = []
    reader: _Reader | None = None

    def close(end: int) -> None:
        nonlocal reader
        if reader is not None and reader.words and reader.last != "half_before":
            spans.append(reader.span(end))
        reader = None

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        kind, value = _classify(tok)
        next_kind = _classify(nxt)[0]
        if kind == "y":
            # "treinta y cinco", "dos millones y medio", "una luca y media"; any other "y" ends the span.
            if reader is not None and reader.last == "tens" and next_kind == "unit":
                i += 1
                continue
            if reader is not None and reader.last in _MULTIPLIER and nxt in _HALF:
                reader.current += reader.multiplier / 2
                reader.last = "half"
                i += 2
                continue
            close(i)
        elif kind in _ADDITIVE:
            if reader is None or not reader.can_add(kind, value):
                close(i)
                reader = _Reader(i)
            reader.add(kind, value)
        elif kind in ("zero", "digits") or (kind in ("decimal", "half") and next_kind in _MULTIPLIER):
            # A digit group, a dictated "cero", "1,5 (millones)" and "medio (palo)" start a span;
            # "cero" also ends it, as nothing is added to a zero.
            close(i)
            reader = _Reader(i)
            reader.add("half_before" if kind == "half" else kind, value)
            if kind == "zero":
                close(i + 1)
        elif kind in _MULTIPLIER:
            if reader is None or not reader.can_multiply(kind):
                close(i)
                reader = _Reader(i)  # a bare "mil", "luca" or "palo" is one of them
            reader.multiply(kind, int(value), tok)
        else:
            close(i)
        i += 1
    close(len(tokens))
    return spans


def _classify(tok: str) -> tuple[str, float]:
    if tok in _UNITS:
        return "unit", _UNITS[tok]
    if tok == "cero":
        return "zero", 0
    if tok in _TEENS:
        return "teen", _TEENS[tok]
    if tok in _TENS:
        return "tens", _TENS[tok]
    if tok in _HUNDREDS:
        return "hundred", _HUNDREDS[tok]
    if tok in _THOUSANDS:
        return "thousand", _THOUSANDS[tok]
    if tok in _MILLIONS:
        return "million", _MILLIONS[tok]
    if tok in _HALF:
        return "half", 0.5
    if tok == "y":
        return "y", 0
    if tok and tok[0].isdigit():
        value = _digit_value(tok)
        if isinstance(value, float):
            return "decimal", value
        if value is not None:
            return "digits", value
    return "other", 0


def numerify(tokens: Sequence[str]) -> list[str]:
    """``tokens`` with each number span replaced by its value in digits ("el quince" -> "el 15")."""
    out: list[str] = []
    i = 0
    for span in number_spans(tokens):
        out.extend(tokens[i:span.start])
        out.append(str(span.value))
        i = span.end
    out.extend(tokens[i:])
    return out


def words_to_number(text: str) -> int | None:
    """The number ``text`` is, in words, digits or slang ("mil quinientos", "cien lucas"), else None.

    The whole text must be one number (a trailing "pesos" is allowed): "dos tres" is not a number.
    """
    tokens = [t for t in normalise(text).split() if t not in ("pesos", "peso")]
    if tokens and tokens[-1] == "de":  # "un millón de pesos"
        tokens.pop()
    spans = number_spans(tokens)
    if len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(tokens):
        return spans[0].value
    return None


_CURRENCY = frozenset({"pesos", "peso", "dolares", "dolar", "lucas", "luca"})
_RUT_DASH = frozenset({"guion", "raya", "menos"})


def _is_amount(tokens: Sequence[str], span: NumberSpan) -> bool:
    after = tokens[span.end] if span.end < len(tokens) else ""
    after2 = tokens[span.end + 1] if span.end + 1 < len(tokens) else ""
    before = tokens[span.start - 1] if span.start else ""
    if after in _RUT_DASH:
        return False  # the body of a RUT
    if after in _CURRENCY or (after == "de" and after2 in _CURRENCY) or span.slang:
        return True
    if span.value < 1000:
        return False
    # Not a year ("el 15 de enero de 2027").
    year = span.digits and not span.multiplied and 1900 <= span.value <= 2100
    return not (year and before in ("de", "del"))


def parse_amount(text: str) -> int | None:
    """The first amount of money in ``text``, in pesos, or None.

    Money is a number with a currency or a multiplier ("50 mil", "cien lucas", "un palo",
    "$104.050", "quinientos pesos") or any number of at least 1.000 that is not a year or a RUT.
    Smaller bare numbers ("el 15", "tres cuotas") are days, hours and counts, not money.
    """
    return amount_in(normalise(text).split())


def amount_in(tokens: Sequence[str]) -> int | None:
    """:func:`parse_amount` on words already normalised."""
    for span in number_spans(tokens):
        if _is_amount(tokens, span):
            return span.value
    return None


_INSTALLMENTS_RE = re.compile(r"(?<!\S)(\d{1,2}) (?:cuotas?|pagos|partes|mensualidades|abonos)\b")


def parse_installments(text: str) -> int | None:
    """How many instalments the caller proposes ("en tres cuotas", "3 cuotas", "dos pagos"), or None."""
    return installments_in(" ".join(numerify(normalise(text).split())))


# "En cuotas sí, hágale en tres": once instalments are the subject, "en tres" is their count.
_IN_COUNT_RE = re.compile(r"(?<!\S)en (\d{1,2})\b(?! (?:dias?|semanas?|meses|mes|horas?|minutos?|mil|lucas?))")
_CUOTAS_RE = re.compile(r"\bcuotas\b")


def installments_in(prepared: str) -> int | None:
    """:func:`parse_installments` on normalised words with numbers in digits."""
    m = _INSTALLMENTS_RE.search(prepared)
    if m is None and _CUOTAS_RE.search(prepared):
        m = _IN_COUNT_RE.search(prepared)
    if m and 1 <= int(m[1]) <= 72:
        return int(m[1])
    return None


# --- RUT: 7 or 8 digits, a dash and a check digit (0-9 or K). Not validated: a misheard digit is
# the identity check's business, which asks again.
_RUT_TOKEN_RE = re.compile(r"(\d{1,2}(?:\.\d{3}){2}|\d{7,8})-(\d|k)")
_RUT_BODY_RE = re.compile(r"\d{1,2}(?:\.\d{3}){2}|\d{7,8}")
_DV_WORDS = {"k": "K", "ka": "K", "ca": "K", "cero": "0", **{w: str(v) for w, v in _UNITS.items()}}


def dictated_digits(text: str, n: int) -> str | None:
    """`n` digits said one by one ("cero cero cuatro uno"), in pairs as phone numbers are read aloud
    ("cuarenta y cinco sesenta y siete"), or as one figure ("0041"); else None."""
    tokens = normalise(text).split()
    for tok in tokens:
        if tok.isdigit() and len(tok) == n:
            return tok
    digits = "".join(str(s.value) for s in number_spans(tokens) if isinstance(s.value, int) and s.value <= 99)
    return digits if len(digits) == n else None


def parse_rut(text: str) -> str | None:
    """A Chilean RUT in ``text``, as digits, in words or dictated digit by digit, as '12345678-5'.

    The dash must be there ("guion", "raya" or "-"): without it a long number is an amount.
    """
    return rut_in(normalise(text).split())


def rut_in(tokens: Sequence[str]) -> str | None:
    """:func:`parse_rut` on words already normalised."""
    for tok in tokens:
        if m := _RUT_TOKEN_RE.fullmatch(tok):
            return f"{m[1].replace('.', '')}-{m[2].upper()}"
    for i, tok in enumerate(tokens):
        if tok not in _RUT_DASH or i + 1 >= len(tokens):
            continue
        dv = tokens[i + 1] if not tokens[i + 1].isdigit() or len(tokens[i + 1]) == 1 else ""
        dv = _DV_WORDS.get(dv, dv if dv.isdigit() else "")
        body = _rut_body(tokens[:i])
        if dv and body:
            return f"{body}-{dv}"
    return None


def _rut_body(tokens: Sequence[str]) -> str | None:
    """The RUT body ending just before a spoken dash: one number, or 7-8 dictated digits."""
    if tokens and _RUT_BODY_RE.fullmatch(tokens[-1]):
        return tokens[-1].replace(".", "")
    spans = [s for s in number_spans(tokens) if s.end <= len(tokens)]
    if not spans or spans[-1].end != len(tokens):
        return None
    if 1_000_000 <= spans[-1].value <= 99_999_999:
        return str(spans[-1].value)
    digits = ""
    end = len(tokens)
    for span in reversed(spans):  # "uno cinco ocho cero cero dos cero tres": single-digit spans
        if span.end != end or span.value > 9 or span.end - span.start != 1:
            break
        digits = str(span.value) + digits
        end = span.start
    return digits if 7 <= len(digits) <= 8 else None
