"""The contact policy: may we call this debtor now, on which phone, and if not, why and until when?

The user's rules (seed 000) and the law's (a `CountryProfile`) in one place, as a pure function
of the debtor's call history and the clock, so it can be tested over simulated weeks. The dialer
asks it before every call; the wave planner's SQL pre-selects with the same limits, and this is
the gate that has the last word. What the conversations left also holds a debtor back: an open
payment promise until its date and the campaign's grace have passed, and an "already paid" or a
dispute until a person has closed its follow-up (`campaigns.holds` loads both).

Days are the debtor's local days; "a week" is any rolling 7 days.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from campaigns.calls import CallOutcome
from countries.profile import CountryProfile, profile_for

# Outcomes where the debtor did not pick up: these count towards "3 days with no answer".
# A call with the debtor is up (or being placed): look again after a typical collections call.
IN_ANOTHER_CALL_RETRY = timedelta(minutes=5)
CALL_NOT_PLACED = frozenset({CallOutcome.FAILED, CallOutcome.CONGESTION})
NOT_REACHED = frozenset({CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL})


class ContactPolicyConfig(BaseModel):
    """A campaign's contact rules (its `policy` column overrides these defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    waves: tuple[time, ...] = (time(9), time(12), time(15))
    debtors_per_day: int = Field(60, ge=1)
    calls_per_day: int = Field(3, ge=1)
    no_answer_days_to_exclude: int = Field(3, ge=1)
    retry_after_no_answer_min: int = Field(60, ge=0)
    retry_after_failure_min: int = Field(30, ge=0)
    # Calls that could not be placed (the trunk failed or was congested), in a row: the job ends
    # ("MAX_TRIES") instead of retrying for days; a later wave queues the person again.
    max_failures_in_a_row: int = Field(3, ge=1)
    # Days after a promised date before an unpaid promise counts as broken: the payment may take a
    # day or two to show. The debtor is not called through the date and these days.
    promise_grace_days: int = Field(1, ge=0, le=60)
    # The campaign's country first; more profiles (e.g. "US" for Regulation F) make it stricter.
    profiles: tuple[str, ...] = ("CL",)

    @field_validator("waves")
    @classmethod
    def _sorted_waves(cls, waves: tuple[time, ...]) -> tuple[time, ...]:
        if not waves:
            raise ValueError("a campaign needs at least one wave")
        if any(t.tzinfo is not None for t in waves):  # "09:00" is 09:00 wherever the campaign dials
            raise ValueError("wave times are local to the campaign's timezone: give them without an offset")
        return tuple(sorted(set(waves)))


class Verdict(enum.StrEnum):
    CALL = "call"
    DEFER = "deferred"  # not now; look again at `not_before`
    EXCLUDE = "excluded"  # never again in this campaign (stored on the debtor)
    FAIL = "failed"  # the job ends: no phone left to try
    DO_NOT_CALL = "do_not_call"
    # Held back by what a conversation left (an open promise, a follow-up waiting for a person): this
    # job ends; a wave queues the debtor again once the hold has ended.
    HOLD = "held"


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    phone_id: int
    outcome: CallOutcome | None  # None: still open, or lost in a crash; counted all the same
    reached_debtor: bool = True  # False: answered by someone else (a wrong number)

    @property
    def contact(self) -> bool:
        """A conversation with the debtor: what the law's contact limits count."""
        return self.outcome is CallOutcome.ANSWERED and self.reached_debtor


@dataclass(frozen=True, slots=True)
class Phone:
    id: int
    position: int
    usable: bool = True  # False: marked invalid / wrong number, or on the do-not-call list
    do_not_call: bool = False


@dataclass(frozen=True, slots=True)
class OpenPromise:
    """A payment promise nobody has marked kept or broken yet. An instalment plan's date is its first."""

    id: int
    promised_date: date


@dataclass(frozen=True, slots=True)
class WaitingForHuman:
    """The debtor's last conversation ended on a result a person must take up (`holds.WAITING_FOR_HUMAN`)."""

    attempt_id: str
    result: str
    at: datetime


@dataclass(slots=True)
class DebtorState:
    """What the policy needs to know about one debtor, loaded by the caller."""

    phones: Sequence[Phone]
    attempts: Sequence[Attempt]  # every outbound call placed to this debtor, any campaign, oldest first
    timezone: ZoneInfo
    last_phone_id: int | None = None
    excluded_reason: str | None = None
    callback_at: datetime | None = None  # the debtor asked to be called at this time
    open_promises: Sequence[OpenPromise] = ()
    waiting_for_human: WaitingForHuman | None = None
    in_another_call: bool = False  # another job is dialing this debtor, or a call with them is up


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str
    not_before: datetime | None = None
    phone_id: int | None = None
    law: str | None = None  # the law behind the reason, when it is a legal rule
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def call(self) -> bool:
        return self.verdict is Verdict.CALL


class ContactPolicy:
    def __init__(self, config: ContactPolicyConfig, profile: CountryProfile | None = None) -> None:
        self.config = config
        self.profile = profile or profile_for(config.profiles)

    # ---------------------------------------------------------------- the decision
    def decide(self, state: DebtorState, now: datetime) -> Decision:
        decision = self._decide(state, now)
        if decision.call and state.in_another_call:
            # Never two calls to one person at once (two campaigns, two processes): this one waits.
            return self._defer("in_another_call", now + IN_ANOTHER_CALL_RETRY, None)
        return decision

    def _decide(self, state: DebtorState, now: datetime) -> Decision:
        cfg = self.config
        if state.excluded_reason:
            return Decision(Verdict.EXCLUDE, state.excluded_reason)
        phones = [p for p in state.phones if p.usable and not p.do_not_call]
        if not phones:
            if any(p.do_not_call for p in state.phones):
                return Decision(Verdict.DO_NOT_CALL, "every phone is on the do-not-call list")
            return Decision(Verdict.FAIL, "all_phones_exhausted")
        tz = state.timezone
        local = now.astimezone(tz)
        attempts = state.attempts
        if self.no_answer_days(attempts, tz) >= cfg.no_answer_days_to_exclude:
            return Decision(Verdict.EXCLUDE, f"no_answer_on_{cfg.no_answer_days_to_exclude}_days")
        if self.failures_in_a_row(attempts) >= cfg.max_failures_in_a_row:
            return Decision(Verdict.FAIL, f"failed_{cfg.max_failures_in_a_row}_times_in_a_row")

        held = self._held(state, now)
        if held:
            return held

        closed = self._closed(local)
        if closed:
            reason, law = closed
            return self._defer(reason, self.next_open(local), law)

        today = local.date()
        placed_today = [a for a in attempts if a.at.astimezone(tz).date() == today]
        if len(placed_today) >= cfg.calls_per_day:
            return self._defer("daily_call_limit", self._next_day(local), None,
                               calls_today=len(placed_today))

        # A callback the debtor asked for is their consent: the contact limits give way to it,
        # the calling hours and the daily limit above do not.
        callback_due = state.callback_at is not None and now >= state.callback_at
        if state.callback_at is not None and now < state.callback_at:
            return self._defer("callback_requested", self.next_open(state.callback_at.astimezone(tz)), None)
        if not callback_due:
            limited = self._contact_limits(attempts, now, local)
            if limited:
                return limited

        if attempts and not callback_due:
            last = attempts[-1]
            delay = self.retry_delay(last.outcome if last.reached_debtor else CallOutcome.FAILED)
            if delay and now < last.at + delay:
                reason = "retry_delay_no_answer" if last.outcome in NOT_REACHED else "retry_delay_failure"
                return self._defer(reason, self.next_open((last.at + delay).astimezone(tz)), None)

        phone = self.next_phone(state.phones, state.last_phone_id)
        return Decision(Verdict.CALL, "callback" if callback_due else "ok", phone_id=phone.id)

    def _held(self, state: DebtorState, now: datetime) -> Decision | None:
        """Held back by what a conversation left, or None."""
        waiting = state.waiting_for_human
        if waiting is not None:
            return Decision(Verdict.HOLD, "waiting_for_human",
                            detail={"result": waiting.result, "attempt_id": waiting.attempt_id,
                                    "call_at": waiting.at.isoformat()})
        # A callback the debtor asked for is their consent: an open promise does not hold it back.
        if state.callback_at is None:
            until = self.promise_hold_until(state.open_promises, state.timezone)
            if until is not None and now < until:
                latest = max(state.open_promises, key=lambda p: (p.promised_date, p.id))
                return Decision(Verdict.HOLD, "open_promise", not_before=self.next_open(until),
                                detail={"promise_id": latest.id, "promised_date": latest.promised_date.isoformat()})
        return None

    def promise_hold_until(self, promises: Sequence[OpenPromise], tz: ZoneInfo) -> datetime | None:
        """When the open promises stop holding the calls: the start of the debtor's day after the latest
        promised date plus the grace days; None without an open promise. A promise then still open is
        broken, and a wave queues its reminder."""
        if not promises:
            return None
        last = max(p.promised_date for p in promises)
        return datetime.combine(last + timedelta(days=self.config.promise_grace_days + 1), time(0), tz)

    def _contact_limits(self, attempts: Sequence[Attempt], now: datetime, local: datetime) -> Decision | None:
        prof, tz = self.profile, local.tzinfo
        contacts = [a for a in attempts if a.contact]
        if prof.contacts_per_day is not None:
            today = [a for a in contacts if a.at.astimezone(tz).date() == local.date()]
            if len(today) >= prof.contacts_per_day:
                return self._defer("daily_contact_limit", self._next_day(local), prof.laws.get("contacts_per_day"))
        if prof.days_after_contact is not None and contacts:
            until = contacts[-1].at + timedelta(days=prof.days_after_contact)
            if now < until:
                return self._defer("wait_after_contact", self.next_open(until.astimezone(tz)),
                                   prof.laws.get("days_after_contact"))
        for rule, reason, counted in (("contacts_per_week", "weekly_contact_limit", contacts),
                                      ("attempts_per_7_days", "weekly_attempt_limit", attempts)):
            limit = getattr(prof, rule)
            recent = [a for a in counted if a.at > now - timedelta(days=7)]
            if limit is not None and len(recent) >= limit:
                # Free again 7 days after the oldest of the `limit` most recent ones.
                until = recent[-limit].at + timedelta(days=7)
                return self._defer(reason, self.next_open(until.astimezone(tz)), prof.laws.get(rule))
        return None

    def _defer(self, reason: str, until: datetime, law: str | None, **detail: object) -> Decision:
        return Decision(Verdict.DEFER, reason, not_before=until, law=law, detail=dict(detail))

    # ---------------------------------------------------------------- the rules, one by one
    @staticmethod
    def failures_in_a_row(attempts: Sequence[Attempt]) -> int:
        """The newest attempts that could not be placed (failed, congestion), counted back to another."""
        n = 0
        for attempt in reversed(attempts):
            if attempt.outcome not in CALL_NOT_PLACED:
                break
            n += 1
        return n

    def retry_delay(self, outcome: CallOutcome | None) -> timedelta:
        if outcome is CallOutcome.ANSWERED:
            return timedelta(0)  # after a conversation the contact limits decide
        if outcome in NOT_REACHED:
            return timedelta(minutes=self.config.retry_after_no_answer_min)
        return timedelta(minutes=self.config.retry_after_failure_min)

    @staticmethod
    def no_answer_days(attempts: Sequence[Attempt], tz: ZoneInfo) -> int:
        """Local days with calls and no answer, since the debtor last answered."""
        days: dict[date, bool] = {}
        for a in attempts:
            if a.contact:
                days.clear()
                continue
            day = a.at.astimezone(tz).date()
            if a.outcome in NOT_REACHED:
                days.setdefault(day, True)
        return len(days)

    @staticmethod
    def next_phone(phones: Sequence[Phone], last_phone_id: int | None) -> Phone:
        """Rotate in order: the first usable phone after the one tried last, wrapping around.

        The one tried last may have left the rotation since (found invalid): its place in the
        order still says where to go on from.
        """
        ordered = sorted(phones, key=lambda p: (p.position, p.id))
        ids = [p.id for p in ordered]
        start = ids.index(last_phone_id) + 1 if last_phone_id in ids else 0
        for phone in ordered[start:] + ordered[:start]:
            if phone.usable and not phone.do_not_call:
                return phone
        raise ValueError("no usable phone")

    def _closed(self, local: datetime) -> tuple[str, str | None] | None:
        """Why calling is not allowed at this local time (reason, law), or None when it is."""
        prof = self.profile
        holiday = prof.holiday(local.date())
        if holiday:
            return f"holiday: {holiday}", prof.laws.get("holidays")
        window = prof.window(local.date())
        if window is None:
            return f"no_calls_on_{local.strftime('%A').lower()}", prof.laws.get("calling_hours")
        if not window.start <= local.time() < window.end:
            return "outside_calling_hours", prof.laws.get("calling_hours")
        return None

    def closed_reason(self, local: datetime) -> str | None:
        """Why no call may be placed at this local time (holiday, day, hours); None when one may."""
        closed = self._closed(local)
        return closed[0] if closed else None

    def next_open(self, local: datetime) -> datetime:
        """The first moment at or after `local` (aware, in the debtor's zone) when calling is allowed."""
        return self.profile.next_open(local)

    def _next_day(self, local: datetime) -> datetime:
        """The next day's first wave (or its opening, if later): where daily limits send a job."""
        tz = local.tzinfo
        assert isinstance(tz, ZoneInfo)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), self.config.waves[0], tz)
        return self.next_open(tomorrow)
