"""A flow's negotiation limits as data, and the checks and counter-offers made within them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.calling_hours import next_allowed
from agent.flow import Flow, FlowError, bundled_flows
from agent.negotiation import Deal, Negotiator, Offer, Terms, VerdictKind

TODAY = date(2026, 11, 23)  # a Monday
MAX = date(2026, 12, 31)


def negotiator(flow: str, balance: int = 1_000_000) -> Negotiator:
    return Negotiator(bundled_flows()[flow].negotiation, balance, MAX, TODAY)


def test_each_bundled_flow_carries_the_spec_limits():
    terms = {name: bundled_flows()[name].negotiation for name in ("temprana", "tardia", "prejudicial")}
    assert terms["temprana"] == Terms(0.5, 3, 0.30, 0.0, 0, (Offer.FULL, Offer.PARTIAL, Offer.INSTALLMENTS))
    assert terms["tardia"] == Terms(0.3, 6, 0.15, 0.0, 0, (Offer.FULL, Offer.INSTALLMENTS, Offer.PARTIAL))
    assert terms["prejudicial"] == Terms(0.2, 12, 0.08, 0.10, 5, (Offer.FULL, Offer.INSTALLMENTS, Offer.PARTIAL))


def test_a_flow_without_a_negotiation_table_gets_the_friendliest_limits_and_a_bad_one_is_refused():
    base = Flow.from_toml(_minimal_flow(""))
    assert base.negotiation == Terms()
    with pytest.raises(FlowError, match="negotiation"):
        Flow.from_toml(_minimal_flow("[negotiation]\npartial_minimum = 50\n"))
    with pytest.raises(FlowError, match="negotiation"):
        Flow.from_toml(_minimal_flow('[negotiation]\noffers = ["full", "nada"]\n'))


def _minimal_flow(table: str) -> str:
    temprana = bundled_flows()["temprana"]
    prompts = "\n".join(f'{key} = "{text}"' for key, text in temprana.prompts.items())
    return f'name = "x"\n{table}\n[prompts]\n{prompts}\n'


def test_amounts_and_dates_are_checked_against_the_balance_the_maximum_and_the_flow():
    n = negotiator("temprana", 185_000)
    assert n.check(Deal(date(2026, 11, 27), 185_000)).kind is VerdictKind.OK
    assert n.check(Deal(date(2026, 11, 27), 200_000)).kind is VerdictKind.OVER_BALANCE
    assert n.check(Deal(date(2027, 1, 5), 185_000)).kind is VerdictKind.TOO_LATE
    assert n.check(Deal(date(2026, 11, 20), 185_000)).kind is VerdictKind.PAST
    low = n.check(Deal(date(2026, 11, 27), 50_000))
    assert low.kind is VerdictKind.PARTIAL_TOO_LOW and low.counter == Deal(date(2026, 11, 27), 92_500)
    assert n.check(Deal(date(2026, 11, 27), 92_500)).kind is VerdictKind.OK


def test_a_plan_outside_the_limits_is_countered_with_the_largest_inside_and_rounds_up():
    n = negotiator("tardia", 450_000)
    outside = n.check(Deal(date(2026, 12, 10), 45_000, installments=10))
    assert outside.kind is VerdictKind.PLAN_OUTSIDE and outside.counter == Deal(date(2026, 12, 10), 75_000, 6)
    assert negotiator("temprana", 200_000).plan(3, TODAY).amount == 66_667  # 200000 / 3, up to the peso
    assert negotiator("prejudicial").largest_plan() == 12


def test_the_discount_holds_for_the_whole_balance_inside_its_window_only():
    n = negotiator("prejudicial", 1_250_000)
    assert n.has_discount and n.discounted_balance() == 1_125_000 and n.discount_deadline == date(2026, 11, 28)
    assert n.full_payment(date(2026, 11, 27), with_discount=True) == Deal(date(2026, 11, 27), 1_125_000, None, 0.10)
    assert n.full_payment(date(2026, 12, 10), with_discount=True) == Deal(date(2026, 12, 10), 1_250_000)
    assert not negotiator("temprana").has_discount
    assert [n.next_offer(i) for i in range(4)] == [Offer.FULL, Offer.INSTALLMENTS, Offer.PARTIAL, None]


@pytest.mark.parametrize("country, asked, booked", [
    ("CL", datetime(2026, 11, 21, 10), datetime(2026, 11, 23, 8)),  # Saturday: no calls, Monday 08:00
    ("CO", datetime(2026, 11, 21, 17), datetime(2026, 11, 23, 7)),  # Saturday after 15:00: Monday 07:00
    ("AR", datetime(2026, 12, 16, 8), datetime(2026, 12, 16, 9)),  # before 09:00: at 09:00
    ("CL", datetime(2026, 11, 24, 15), datetime(2026, 11, 24, 15)),  # inside the hours: as asked
    ("CL", datetime(2026, 12, 7, 21), datetime(2026, 12, 9, 8)),  # 8 December is a holiday in Chile
])
def test_a_callback_outside_the_calling_hours_moves_to_the_next_allowed_moment(country, asked, booked):
    zone = ZoneInfo("America/Santiago")
    assert next_allowed(asked.replace(tzinfo=zone), country) == booked.replace(tzinfo=zone)
    assert next_allowed(asked.replace(tzinfo=zone), None) == asked.replace(tzinfo=zone)
