"""The contact policy's holds, as a pure function: an open promise through its date and the grace (in
the debtor's own days), a callback the debtor asked for, and a follow-up waiting for a person."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.policy import (
    ContactPolicy,
    ContactPolicyConfig,
    DebtorState,
    OpenPromise,
    Phone,
    Verdict,
    WaitingForHuman,
)

BOGOTA = ZoneInfo("America/Bogota")
PROMISED = date(2026, 11, 24)  # a Tuesday


def _state(**holds: object) -> DebtorState:
    return DebtorState(phones=[Phone(1, 0)], attempts=[], timezone=BOGOTA, **holds)


# Colombia opens at 07:00 on weekdays and at 08:00 on Saturdays.
@pytest.mark.parametrize(("grace", "free_at"), [(0, datetime(2026, 11, 25, 7, tzinfo=BOGOTA)),
                                                (1, datetime(2026, 11, 26, 7, tzinfo=BOGOTA)),
                                                (3, datetime(2026, 11, 28, 8, tzinfo=BOGOTA))])
def test_an_open_promise_holds_through_its_date_and_the_grace_in_the_debtors_days(grace, free_at):
    policy = ContactPolicy(ContactPolicyConfig(profiles=("CO",), promise_grace_days=grace))
    state = _state(open_promises=[OpenPromise(7, PROMISED - timedelta(days=9)), OpenPromise(8, PROMISED)])
    last_held = datetime.combine(PROMISED + timedelta(days=grace), datetime.min.time(), BOGOTA).replace(hour=18)
    held = policy.decide(state, last_held)
    assert (held.verdict, held.reason, held.detail["promise_id"]) == (Verdict.HOLD, "open_promise", 8)
    assert held.not_before == free_at  # the first opening of the day after
    assert policy.decide(state, held.not_before).verdict is Verdict.CALL
    assert policy.decide(_state(), last_held).verdict is Verdict.CALL  # nothing open: nothing held


def test_a_callback_the_debtor_asked_for_is_not_held_by_their_promise():
    policy = ContactPolicy(ContactPolicyConfig(profiles=("CO",)))
    now = datetime(2026, 11, 24, 10, tzinfo=BOGOTA)
    asked = _state(open_promises=[OpenPromise(8, PROMISED)], callback_at=now - timedelta(minutes=1))
    assert policy.decide(asked, now).reason == "callback"


def test_waiting_for_a_person_holds_with_no_end_and_exclusion_still_comes_first():
    policy = ContactPolicy(ContactPolicyConfig(profiles=("CO",)))
    now = datetime(2026, 11, 24, 10, tzinfo=BOGOTA)
    waiting = WaitingForHuman("a1", "dispute", now - timedelta(days=30))
    held = policy.decide(_state(waiting_for_human=waiting, callback_at=now), now)
    assert (held.verdict, held.reason, held.not_before, held.detail["result"]) == \
        (Verdict.HOLD, "waiting_for_human", None, "dispute")
    excluded = policy.decide(_state(waiting_for_human=waiting, excluded_reason="asked_not_to_be_called"), now)
    assert excluded.verdict is Verdict.EXCLUDE


def test_the_grace_is_a_bounded_number_of_days():
    assert ContactPolicyConfig().promise_grace_days == 1
    with pytest.raises(ValueError, match="promise_grace_days"):
        ContactPolicyConfig(promise_grace_days=-1)
