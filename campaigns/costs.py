"""What a call cost: the telephony minutes and the speech and language work, at the operator's rates.

Rates are the operator's (settings), in one currency, and default to zero: the software cannot know
what a trunk or an API key costs. The one non-zero default is the billing increment, 60 s: carriers
bill started minutes unless the contract says otherwise (per second is 1, "6/6" billing is 6), and
rounding up to the minute never under-estimates. A zero rate still reports its quantity, so a
supervisor sees the minutes, seconds of audio, characters and tokens even before pricing them.

Every amount is a `Decimal`, item by item rounded to 4 places (the `cost` column's scale) with the
total their sum, so the detail always adds up to the total. The detail keeps quantities and rates,
which makes each call's cost auditable after the rates change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["CostRates", "billable_seconds", "price_call"]

_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class CostRates:
    currency: str = "USD"
    telephony_per_min: Decimal = Decimal(0)
    billing_increment_s: int = 60
    stt_per_min: Decimal = Decimal(0)  # per minute of audio transcribed
    tts_per_1k_chars: Decimal = Decimal(0)
    llm_per_1k_prompt_tokens: Decimal = Decimal(0)
    llm_per_1k_completion_tokens: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.billing_increment_s < 1:
            raise ValueError(f"billing increment must be at least 1 s, got {self.billing_increment_s}")
        rates = (self.telephony_per_min, self.stt_per_min, self.tts_per_1k_chars, self.llm_per_1k_prompt_tokens,
                 self.llm_per_1k_completion_tokens)
        if any(Decimal(rate) < 0 for rate in rates):
            raise ValueError("rates cannot be negative")


def billable_seconds(talk_s: float, increment_s: int) -> int:
    """Answered time rounded up to the billing increment; nothing for a call never answered.
    (Milliseconds are dropped first: 60.0004 s measured is a 60 s call, not two minutes.)"""
    if talk_s <= 0:
        return 0
    return math.ceil(round(talk_s, 3) / increment_s) * increment_s


def price_call(usage: Mapping[str, Any], rates: CostRates) -> tuple[Decimal, dict[str, Any]]:
    """(total, detail) for a call's usage: `telephony_s` (answered to ended), `stt_seconds`,
    `tts_chars`, `llm_requests`, `llm_prompt_tokens`, `llm_completion_tokens`; missing ones are 0."""
    talk_s = float(usage.get("telephony_s") or 0)
    billable = billable_seconds(talk_s, rates.billing_increment_s)
    stt_s = float(usage.get("stt_seconds") or 0)
    chars = int(usage.get("tts_chars") or 0)
    prompt = int(usage.get("llm_prompt_tokens") or 0)
    completion = int(usage.get("llm_completion_tokens") or 0)
    telephony = _money(Decimal(billable) / 60 * Decimal(rates.telephony_per_min))
    stt = _money(_exact(stt_s) / 60 * Decimal(rates.stt_per_min))
    tts = _money(Decimal(chars) / 1000 * Decimal(rates.tts_per_1k_chars))
    llm = _money(Decimal(prompt) / 1000 * Decimal(rates.llm_per_1k_prompt_tokens)
                 + Decimal(completion) / 1000 * Decimal(rates.llm_per_1k_completion_tokens))
    total = telephony + stt + tts + llm
    detail = {
        "currency": rates.currency,
        "total": str(total),
        "telephony": {"seconds": round(talk_s, 3), "billable_s": billable, "increment_s": rates.billing_increment_s,
                      "per_min": str(rates.telephony_per_min), "cost": str(telephony)},
        "stt": {"seconds": round(stt_s, 3), "per_min": str(rates.stt_per_min), "cost": str(stt)},
        "tts": {"chars": chars, "per_1k_chars": str(rates.tts_per_1k_chars), "cost": str(tts)},
        "llm": {"requests": int(usage.get("llm_requests") or 0), "prompt_tokens": prompt,
                "completion_tokens": completion, "per_1k_prompt_tokens": str(rates.llm_per_1k_prompt_tokens),
                "per_1k_completion_tokens": str(rates.llm_per_1k_completion_tokens), "cost": str(llm)},
    }
    return total, detail


def _exact(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(_PLACES, rounding=ROUND_HALF_UP)
