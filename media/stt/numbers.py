"""Numbers you can trust: the amounts and dates a caller says, normalised and checked against the debt.

A promise's amount is the one word that must be right, and it is the word Whisper gets wrong most at
8 kHz ("ciento cuatro mil cincuenta" -> "14,550"). So every amount heard is checked:

* its spelling is made one (Whisper writes "14,550", "14.550" and "50m"); Chilean, Argentine and
  Colombian pesos have no cents, so a comma before three digits is a thousands separator;
* against the debt (`CallVocabulary.amounts`: the balance, an instalment, a minimum): an amount equal
  to one of them, or a round figure (of 500) between 1 % of the balance and the balance, is what
  people say; anything else (14.550 for a debt of 104.050, a figure over the balance) is implausible
  and is masked as `UNCLEAR_AMOUNT`, so the agent asks for it again instead of negotiating on it;
* against Whisper's own word probability: an amount or date word under `CRITICAL_MIN_PROBABILITY` is
  noted as a doubt and left for the agent's read-back, which every promise gets before it is recorded.
"""

from __future__ import annotations

import dataclasses
import re

from media.stt.base import UNCLEAR_AMOUNT, Transcript, Word
from media.stt.steps import edit, word_spans
from media.stt.vocabulary import CallVocabulary
from media.text import fold

__all__ = ["CRITICAL_MIN_PROBABILITY", "CheckNumbers", "amount_value"]

#: Chosen before measuring (not tuned on the spoken set): Whisper base at 8 kHz gives right digits
#: probabilities of 0.1-0.9, so this flags only the clearly unsure ones.
CRITICAL_MIN_PROBABILITY = 0.3

_COMMA_THOUSANDS = re.compile(r"\b(\d{1,3})((?:,\d{3})+)\b(?![.,]\d)")
_MIL_SUFFIX = re.compile(r"\b(\d+)\s?(?:m|k|mil)\b", re.IGNORECASE)
_MULTIPLIERS = {"mil": 1_000, "millon": 1_000_000, "millones": 1_000_000}
_CURRENCY = ("pesos", "peso", "lucas")
_MONTHS = {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
           "setiembre", "octubre", "noviembre", "diciembre"}
_WEEKDAYS = {"lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"}


def amount_value(number: str, following: list[str]) -> tuple[int, int] | None:
    """(pesos, words used after the number) when ``number`` + the words after it is an amount:
    "104.050" / "50" + "mil" / "2" + "millones" / "300" + "pesos"; None for a bare small number."""
    digits = number.replace(".", "")
    if not digits.isdigit():
        return None
    value = int(digits)
    used = 0
    if following and following[0] in _MULTIPLIERS:
        value *= _MULTIPLIERS[following[0]]
        used = 1
        if len(following) > 1 and following[1] in ("pesos", "de"):
            used += 1 if following[1] == "pesos" else 0
    elif following and following[0] in _CURRENCY:
        used = 1
    elif "." not in number:
        return None  # "3", "15": a count, a day, an hour; not an amount on its own
    return value, used


def _looks_like_rut(number: str, following: list[str]) -> bool:
    """A dictated RUT body as Whisper writes it ("18.230.456", then the check digit): two thousands groups
    that do not end in 000, with no money word after them. An amount of millions ends in thousands."""
    groups = number.split(".")
    money = bool(following) and following[0] in (*_MULTIPLIERS, *_CURRENCY)
    return len(groups) >= 3 and groups[-1] != "000" and not money


class CheckNumbers:
    name = "numbers"

    def __init__(self, vocabulary: CallVocabulary) -> None:
        self._amounts = vocabulary.amounts

    def correct(self, transcript: Transcript) -> Transcript:
        text = _COMMA_THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", "."), transcript.text)
        text = _MIL_SUFFIX.sub(r"\1 mil", text)
        if text != transcript.text:
            transcript = dataclasses.replace(transcript, text=" ".join(text.split()))
        spans = word_spans(transcript.text)
        words = [w for _, _, w in spans]
        doubts = list(transcript.doubts)
        edits = []
        for i, (start, end, word) in enumerate(spans):
            if not word[0].isdigit():
                if word in _MONTHS or word in _WEEKDAYS:
                    self._doubt_if_unsure(transcript.words, word, f"date word {word!r}", doubts)
                continue
            rut = (transcript.text[end:end + 1] == "-" or "rut" in "".join(words[max(0, i - 6):i])
                   or _looks_like_rut(word, words[i + 1:i + 2]))
            found = None if rut else amount_value(word, words[i + 1:i + 3])
            if found is None:
                self._doubt_if_unsure(transcript.words, word, f"number {word!r}", doubts)
                continue
            value, used = found
            reason = self._implausible(value)
            if reason:
                doubts.append(f"amount {value}: {reason}")
                edits.append((start, spans[i + used][1], UNCLEAR_AMOUNT))
            else:
                self._doubt_if_unsure(transcript.words, word, f"amount {value}", doubts)
        transcript = edit(transcript, edits)
        return transcript if tuple(doubts) == transcript.doubts else dataclasses.replace(
            transcript, doubts=tuple(doubts))

    def _implausible(self, value: int) -> str:
        if not self._amounts or value in self._amounts:
            return ""
        balance = max(self._amounts)
        if value > balance:
            return f"over the debt ({balance})"
        if value < balance // 100:
            return f"under 1% of the debt ({balance})"
        if value % 500:  # people say "ochenta y siete mil quinientos", not "catorce mil quinientos cincuenta"
            return f"neither the debt's figures {sorted(self._amounts)} nor a round amount"
        return ""

    @staticmethod
    def _doubt_if_unsure(words: tuple[Word, ...], folded: str, what: str, doubts: list[str]) -> None:
        probability = next((w.probability for w in words if fold(w.text).strip(".,;:!?¿¡") == folded), None)
        if probability is not None and probability < CRITICAL_MIN_PROBABILITY:
            doubts.append(f"{what}: heard with probability {probability:.2f}")
