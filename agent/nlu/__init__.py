"""Spanish understanding for the built-in rule engine: intents, amounts, dates, RUTs.

Used when no LLM is configured or the LLM failed a turn. Pure functions over a transcript and the
current time; no I/O. `understand` is the entry point; `numbers` and `dates` are usable alone.
"""

from __future__ import annotations

from agent.nlu.dates import parse_date, parse_when
from agent.nlu.intents import Intent, Understanding, understand
from agent.nlu.numbers import parse_amount, parse_installments, parse_rut, words_to_number

__all__ = [
    "Intent",
    "Understanding",
    "parse_amount",
    "parse_date",
    "parse_installments",
    "parse_rut",
    "parse_when",
    "understand",
    "words_to_number",
]
