"""A call's cost: telephony rounded up to the billing increment, speech and tokens at the operator's rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.costs import CostRates, billable_seconds, price_call


@pytest.mark.parametrize(("talk_s", "increment", "billed"), [
    (0, 60, 0), (-1, 60, 0),  # never answered
    (0.4, 60, 60), (60, 60, 60), (60.0004, 60, 60), (60.2, 60, 120), (119.9, 60, 120),
    (37.2, 1, 38), (13, 6, 18), (12, 6, 12),
])
def test_talk_time_is_rounded_up_to_the_billing_increment(talk_s, increment, billed):
    assert billable_seconds(talk_s, increment) == billed


def test_zero_rates_price_nothing_but_keep_the_quantities():
    usage = {"telephony_s": 42.5, "stt_seconds": 12.3456, "tts_chars": 812, "llm_requests": 3,
             "llm_prompt_tokens": 2400, "llm_completion_tokens": 180}
    total, detail = price_call(usage, CostRates())
    assert total == Decimal("0.0000") and detail["total"] == "0.0000" and detail["currency"] == "USD"
    assert detail["telephony"] == {"seconds": 42.5, "billable_s": 60, "increment_s": 60, "per_min": "0",
                                   "cost": "0.0000"}
    assert detail["stt"]["seconds"] == 12.346 and detail["tts"]["chars"] == 812
    assert (detail["llm"]["requests"], detail["llm"]["prompt_tokens"], detail["llm"]["completion_tokens"]) == \
        (3, 2400, 180)
    assert price_call({}, CostRates())[0] == 0  # an unanswered call: nothing at all


def test_each_item_is_priced_at_its_rate_and_the_detail_adds_up():
    rates = CostRates(currency="CLP", telephony_per_min=Decimal("0.02"), billing_increment_s=60,
                      stt_per_min=Decimal("0.006"), tts_per_1k_chars=Decimal("0.015"),
                      llm_per_1k_prompt_tokens=Decimal("0.00015"), llm_per_1k_completion_tokens=Decimal("0.0006"))
    usage = {"telephony_s": 90, "stt_seconds": 30, "tts_chars": 2000, "llm_requests": 4,
             "llm_prompt_tokens": 10_000, "llm_completion_tokens": 1000}
    total, detail = price_call(usage, rates)
    assert detail["telephony"]["billable_s"] == 120 and detail["telephony"]["cost"] == "0.0400"  # 2 started minutes
    assert detail["stt"]["cost"] == "0.0030"  # half a minute of audio
    assert detail["tts"]["cost"] == "0.0300"
    assert detail["llm"]["cost"] == "0.0021"  # 0.0015 prompt + 0.0006 completion
    assert total == Decimal("0.0751") and detail["total"] == "0.0751" and detail["currency"] == "CLP"
    assert sum(Decimal(detail[item]["cost"]) for item in ("telephony", "stt", "tts", "llm")) == total
    assert detail["llm"]["per_1k_prompt_tokens"] == "0.00015"  # the rates in force are kept with the call


def test_amounts_round_half_up_to_the_columns_four_places():
    total, detail = price_call({"tts_chars": 5}, CostRates(tts_per_1k_chars=Decimal("0.01")))  # 0.00005
    assert total == Decimal("0.0001") and detail["tts"]["cost"] == "0.0001"


def test_rates_must_make_sense():
    with pytest.raises(ValueError):
        CostRates(billing_increment_s=0)
    with pytest.raises(ValueError):
        CostRates(stt_per_min=Decimal("-0.01"))
