"""The contact policy over simulated weeks of calling (hypothesis), checked against an oracle
written from the law's figures directly, not from the policy's own helpers."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.calls import CallOutcome
from campaigns.campaign import check_caller_id
from campaigns.policy import Attempt, ContactPolicy, ContactPolicyConfig, DebtorState, Phone, Verdict
from countries.profile import ProfileError, profile_for

# The figures of DESIGN.md section 4, restated: weekday -> (open hour, close hour).
WEEKDAY_8_20 = {d: (8, 20) for d in range(5)}
ORACLE_HOURS = {
    "CL": WEEKDAY_8_20,
    "CO": {**{d: (7, 19) for d in range(5)}, 5: (8, 15)},
    "US": {d: (8, 21) for d in range(7)},
}
ZONES = {"CL": "America/Santiago", "CO": "America/Bogota", "US": "America/New_York"}
NOT_REACHED = {CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL}


def oracle_open(profiles: tuple[str, ...], local: datetime) -> bool:
    for code in profiles:
        hours = ORACLE_HOURS[code].get(local.weekday())
        if hours is None or not hours[0] <= local.hour < hours[1]:
            return False
        if code != "US" and local.date() in holidays.country_holidays(code, years=local.year):
            return False
    return True


def simulate(policy: ContactPolicy, tz: ZoneInfo, n_phones: int, outcomes: list[CallOutcome], start: datetime,
             days: int = 28) -> tuple[list[Attempt], Verdict | None, dict[int, datetime]]:
    """Drive the policy like the dialer does: call when it says so, else wait until `not_before`."""
    phones = [Phone(id=100 + i, position=i) for i in range(n_phones)]
    state = DebtorState(phones=phones, attempts=[], timezone=tz)
    invalid_since: dict[int, datetime] = {}
    source = itertools.cycle(outcomes)
    now, end = start, start + timedelta(days=days)
    while now < end:
        decision = policy.decide(state, now)
        if decision.verdict in (Verdict.EXCLUDE, Verdict.FAIL, Verdict.DO_NOT_CALL):
            return list(state.attempts), decision.verdict, invalid_since
        if decision.verdict is Verdict.DEFER:
            assert decision.not_before is not None and decision.not_before > now, decision
            now = decision.not_before
            continue
        outcome = next(source)
        state.attempts = [*state.attempts, Attempt(now, decision.phone_id, outcome)]
        state.last_phone_id = decision.phone_id
        if outcome is CallOutcome.INVALID_NUMBER:
            invalid_since[decision.phone_id] = now
            state.phones = [Phone(p.id, p.position, usable=p.id != decision.phone_id and p.usable)
                            for p in state.phones]
        now += timedelta(minutes=2)  # the call itself
    return list(state.attempts), None, invalid_since


PROFILE_SETS = [("CL",), ("CO",), ("US",), ("CL", "US")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    profiles=st.sampled_from(PROFILE_SETS),
    n_phones=st.integers(1, 3),
    outcomes=st.lists(st.sampled_from(list(CallOutcome)), min_size=1, max_size=12),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1)),
)
def test_weeks_of_calling_respect_every_rule(profiles, n_phones, outcomes, start):
    config = ContactPolicyConfig(profiles=profiles)
    policy = ContactPolicy(config)
    tz = ZoneInfo(ZONES[profiles[0]])
    attempts, final, invalid_since = simulate(policy, tz, n_phones, outcomes, start.replace(tzinfo=tz))
    local = [a.at.astimezone(tz) for a in attempts]

    # Never outside the profile's hours, days and holidays.
    for when in local:
        assert oracle_open(profiles, when), f"called at {when:%a %Y-%m-%d %H:%M}"

    # Never more than 3 calls per person per local day.
    per_day: dict[date, int] = {}
    for when in local:
        per_day[when.date()] = per_day.get(when.date(), 0) + 1
    assert max(per_day.values(), default=0) <= config.calls_per_day

    # Exclusion after no-answer calls on 3 different days (since the last conversation), at once.
    days_without_answer: set[date] = set()
    for attempt, when in zip(attempts, local, strict=True):
        assert len(days_without_answer) < 3, "called after 3 days with no answer"
        if attempt.outcome is CallOutcome.ANSWERED:
            days_without_answer.clear()
        elif attempt.outcome in NOT_REACHED:
            days_without_answer.add(when.date())
    if len(days_without_answer) >= 3:
        assert final is Verdict.EXCLUDE

    # Weekly (and daily) contact limits, counting conversations, and Regulation F's attempt limits.
    answered = [a.at for a in attempts if a.outcome is CallOutcome.ANSWERED]
    for i, at in enumerate(answered):
        later = [b for b in answered[i + 1:] if b - at < timedelta(days=7)]
        if "CL" in profiles or "CO" in profiles:
            assert not later, "two conversations within 7 days"
    for i, attempt in enumerate(attempts):
        if "US" in profiles:
            window = [b for b in attempts[:i] if attempt.at - b.at < timedelta(days=7)]
            assert len(window) < 7, "an 8th attempt within 7 days"
            assert not [b for b in answered if timedelta(0) < attempt.at - b < timedelta(days=7)], \
                "a call within 7 days after a conversation"

    # Retries at the right delays: never earlier, and exactly then when nothing else stands in the way.
    for (a, la), (b, lb) in itertools.pairwise(zip(attempts, local, strict=True)):
        if a.outcome is CallOutcome.ANSWERED:
            continue
        delay = timedelta(minutes=60 if a.outcome in NOT_REACHED else 30)
        assert b.at - a.at >= delay
        due = (a.at + delay).astimezone(tz)
        free = (due.date() == la.date() and per_day[la.date()] >= 1
                and sum(1 for x in local if x.date() == la.date() and x <= la) < config.calls_per_day
                and oracle_open(profiles, due)
                and not ("US" in profiles and sum(1 for x in attempts if due - x.at < timedelta(days=7)) >= 7))
        if free:
            assert b.at == a.at + delay, f"retry at {lb}, expected {due}"

    # Phones rotated in order, skipping those found invalid; none called after it was found invalid.
    for a, b in itertools.pairwise(attempts):
        usable = [100 + i for i in range(n_phones) if not (100 + i in invalid_since and invalid_since[100 + i] <= a.at)]
        if a.phone_id in usable:
            expected = usable[(usable.index(a.phone_id) + 1) % len(usable)]
        else:
            later = [p for p in usable if p > a.phone_id]
            expected = later[0] if later else usable[0]
        assert b.phone_id == expected
    for attempt in attempts:
        since = invalid_since.get(attempt.phone_id)
        assert since is None or attempt.at <= since
    # Ended after 3 calls in a row that could not be placed; never a 4th such call in a row.
    run = 0
    for attempt in attempts:
        assert run < 3, "called again after 3 calls in a row that could not be placed"
        run = run + 1 if attempt.outcome in (CallOutcome.FAILED, CallOutcome.CONGESTION) else 0
    if final is Verdict.FAIL:
        assert len(invalid_since) == n_phones or run == 3


CL = ZoneInfo("America/Santiago")


def _state(**kw) -> DebtorState:
    return DebtorState(phones=kw.pop("phones", [Phone(1, 0), Phone(2, 1)]), attempts=kw.pop("attempts", []),
                       timezone=CL, **kw)


def test_holiday_is_a_reason_with_its_name_and_law():
    policy = ContactPolicy(ContactPolicyConfig())
    christmas = datetime(2026, 12, 25, 10, tzinfo=CL)
    decision = policy.decide(_state(), christmas)
    assert decision.verdict is Verdict.DEFER
    assert decision.reason.startswith("holiday: ") and "Navidad" in decision.reason
    assert "19.496" in (decision.law or "")
    assert decision.not_before == datetime(2026, 12, 28, 8, tzinfo=CL)  # the next working day opens


def test_weekly_contact_limit_gives_way_to_a_callback_the_debtor_asked_for():
    policy = ContactPolicy(ContactPolicyConfig())
    talked = datetime(2026, 11, 23, 10, tzinfo=CL)
    attempts = [Attempt(talked.astimezone(UTC), 1, CallOutcome.ANSWERED)]
    next_day = datetime(2026, 11, 24, 11, tzinfo=CL)
    blocked = policy.decide(_state(attempts=attempts), next_day)
    assert blocked.reason == "weekly_contact_limit"
    assert blocked.not_before == talked + timedelta(days=7)
    callback = datetime(2026, 11, 24, 11, 30, tzinfo=CL)
    early = policy.decide(_state(attempts=attempts, callback_at=callback), next_day)
    assert (early.reason, early.not_before) == ("callback_requested", callback)
    due = policy.decide(_state(attempts=attempts, callback_at=callback), callback)
    assert due.call and due.reason == "callback"


def test_daily_limit_moves_to_the_next_days_first_wave():
    policy = ContactPolicy(ContactPolicyConfig())
    day = datetime(2026, 11, 23, tzinfo=CL)
    attempts = [Attempt(day.replace(hour=h), 1, CallOutcome.NO_ANSWER) for h in (9, 12, 15)]
    decision = policy.decide(_state(attempts=attempts), day.replace(hour=17))
    assert decision.reason == "daily_call_limit"
    assert decision.not_before == datetime(2026, 11, 24, 9, tzinfo=CL)


def test_do_not_call_and_exclusion_are_final():
    policy = ContactPolicy(ContactPolicyConfig())
    now = datetime(2026, 11, 23, 10, tzinfo=CL)
    dnc = policy.decide(_state(phones=[Phone(1, 0, do_not_call=True)]), now)
    assert dnc.verdict is Verdict.DO_NOT_CALL
    only_dnc_left = policy.decide(_state(phones=[Phone(1, 0, do_not_call=True), Phone(2, 1)]), now)
    assert only_dnc_left.call and only_dnc_left.phone_id == 2
    excluded = policy.decide(_state(excluded_reason="asked_not_to_be_called"), now)
    assert (excluded.verdict, excluded.reason) == (Verdict.EXCLUDE, "asked_not_to_be_called")


def test_stricter_profile_wins_when_combined():
    both = profile_for(["CL", "US"])
    assert both.window(date(2026, 11, 23)).end == time(20)  # Chile closes before Regulation F does
    assert both.window(date(2026, 11, 29)) is None  # Sunday: Chile says no
    assert (both.contacts_per_week, both.attempts_per_7_days, both.days_after_contact) == (1, 7, 7)
    assert both.caller_id_prefix == "600"
    assert "1006.14" in both.laws["attempts_per_7_days"]
    assert "19.496" in both.laws["calling_hours"] and "1006.6" in both.laws["calling_hours"]
    with pytest.raises(ProfileError, match="no country profile"):
        profile_for(["XX"])


def test_chile_requires_the_600_prefix_on_a_caller_id():
    chile = ContactPolicy(ContactPolicyConfig(profiles=("CL",)))
    check_caller_id("6003601234", chile)
    check_caller_id("+566003601234", chile)
    check_caller_id("", chile)  # none set: the trunk's own
    with pytest.raises(ValueError, match="600 prefix"):
        check_caller_id("+56229998888", chile)
    check_caller_id("+56229998888", ContactPolicy(ContactPolicyConfig(profiles=("CO",))))


def test_wave_times_are_local_and_never_carry_an_offset():
    # An API client sending "12:00:00+01:00" once put an offset-aware time next to naive ones, and
    # the wave scheduler crashed comparing them (found by the OpenAPI fuzzer).
    with pytest.raises(ValueError, match="without an offset"):
        ContactPolicyConfig.model_validate({"waves": ["09:00", "12:00:00+01:00"]})
    assert ContactPolicyConfig.model_validate({"waves": ["15:00", "09:00"]}).waves == (time(9), time(15))


def test_a_job_that_cannot_be_placed_three_times_in_a_row_ends():
    policy = ContactPolicy(ContactPolicyConfig())
    day = datetime(2026, 11, 23, tzinfo=CL)
    failed = [Attempt(day.replace(hour=h), 1, o)
              for h, o in ((9, CallOutcome.FAILED), (10, CallOutcome.CONGESTION), (11, CallOutcome.FAILED))]
    decision = policy.decide(_state(attempts=failed), day.replace(day=24, hour=10))
    assert (decision.verdict, decision.reason) == (Verdict.FAIL, "failed_3_times_in_a_row")
    # A call that rang in between starts the count again.
    rang = [failed[0], Attempt(day.replace(hour=10), 1, CallOutcome.NO_ANSWER), *failed[1:]]
    assert policy.decide(_state(attempts=rang), day.replace(day=24, hour=10)).call
