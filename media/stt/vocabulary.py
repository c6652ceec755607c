"""What a call is likely to hear: the debtor's name, the company, the debt's amounts and dates, the
words of the trade, and the operator's own corrections. The correction stage matches the recogniser's
words against it, and Whisper is given its names as a prompt.

A call's vocabulary comes from facts any caller of this module can supply (a dict: the CLI reads it
from JSON, the telephony side from the debtor's record), so `media` knows nothing of the database.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["CallVocabulary", "OperatorCorrections", "load_corrections"]

#: Words a number is followed by; a misheard one right after a number is corrected by sound even when it
#: is an ordinary word ("3 cortas de 50 mil").
NUMBER_UNITS = ("cuotas", "pesos", "mil", "millones", "meses", "días", "semanas")


@dataclass(frozen=True)
class OperatorCorrections:
    """``replace``: heard -> meant (whole words, any case or accents); ``terms``: extra vocabulary."""

    replace: tuple[tuple[str, str], ...] = ()
    terms: tuple[str, ...] = ()

    def merged(self, other: OperatorCorrections) -> OperatorCorrections:
        return OperatorCorrections(self.replace + other.replace, self.terms + other.terms)


def _parse(data: Mapping[str, Any], origin: str) -> OperatorCorrections:
    replace = data.get("replace", {})
    terms = data.get("vocabulary", {}).get("terms", [])
    if not isinstance(replace, dict) or not all(isinstance(v, str) for v in replace.values()):
        raise ValueError(f"{origin}: [replace] must map heard words to the words meant (strings)")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise ValueError(f"{origin}: [vocabulary] terms must be a list of strings")
    return OperatorCorrections(tuple((k, v) for k, v in replace.items() if k.strip()), tuple(terms))


def load_corrections(path: str | Path | None = None) -> OperatorCorrections:
    """The bundled corrections, plus the operator's file when given (its entries apply after ours)."""
    bundled = resources.files("media.stt") / "corrections.toml"
    out = _parse(tomllib.loads(bundled.read_text(encoding="utf-8")), "bundled corrections.toml")
    if path:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"cannot read the STT corrections file {p}: {exc}") from exc
        out = out.merged(_parse(data, str(p)))
    return out


@dataclass(frozen=True)
class CallVocabulary:
    """One call's likely words. ``names`` are proper names (debtor, company, products); ``amounts`` and
    ``dates`` the debt's own, against which heard figures are checked."""

    names: tuple[str, ...] = ()
    amounts: tuple[int, ...] = ()
    dates: tuple[date, ...] = ()
    corrections: OperatorCorrections = field(default_factory=OperatorCorrections)

    @property
    def terms(self) -> tuple[str, ...]:
        return self.corrections.terms

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any] | None, corrections: OperatorCorrections | None = None
                   ) -> CallVocabulary:
        """From a debtor's facts: ``debtor_name``, ``company``, ``products`` (list), ``balance``,
        ``installment``, ``minimum`` (amounts), ``due_date``, ``max_date`` (ISO dates); all optional."""
        facts = facts or {}
        names = [str(facts[k]) for k in ("debtor_name", "company") if facts.get(k)]
        names += [str(p) for p in facts.get("products") or ()]
        amounts = [int(facts[k]) for k in ("balance", "installment", "minimum") if facts.get(k)]
        dates = []
        for key in ("due_date", "max_date"):
            value = facts.get(key)
            if value:
                dates.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
        return cls(tuple(names), tuple(a for a in amounts if a > 0), tuple(dates),
                   corrections or OperatorCorrections())

    def prompt(self) -> str | None:
        """Whisper's prompt for the call: the names it could not know how to spell. The trade's words are
        not listed: a long prompt leaks into the transcript of short or unclear audio (measured in the lab)."""
        return ", ".join(dict.fromkeys(self.names)) + "." if self.names else None
