"""Country profiles: the law's limits on collection calls, as data an operator can read and adjust.

Each profile is a TOML file in its country's folder (`countries/cl/profile.toml`) with the law's name next
to every rule. A campaign runs under its country's profile, optionally combined with others (for
example Regulation F as an international reference); combining keeps the stricter rule of each.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import holidays

from countries import all_countries

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ProfileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Window:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        try:
            a, b = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise ProfileError(f"calling window {text!r} is not HH:MM-HH:MM") from exc
        if not a < b:
            raise ProfileError(f"calling window {text!r} ends before it starts")
        return cls(a, b)

    def intersect(self, other: Window | None) -> Window | None:
        if other is None:
            return None
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Window(start, end) if start < end else None


@dataclass(frozen=True, slots=True)
class CountryProfile:
    """The legal limits in force for one campaign. `None` for a limit means the law sets none."""

    name: str
    hours: tuple[Window | None, ...]  # by weekday, Monday first; None: no calls that day
    holiday_calendars: tuple[str, ...] = ()
    contacts_per_day: int | None = None
    contacts_per_week: int | None = None
    attempts_per_7_days: int | None = None
    days_after_contact: int | None = None
    caller_id_prefix: str | None = None
    laws: Mapping[str, str] = field(default_factory=dict)  # rule -> the law it comes from

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> CountryProfile:
        laws: dict[str, str] = {}
        hours_table = dict(data.get("calling_hours") or {})
        if "law" in hours_table:
            laws["calling_hours"] = hours_table.pop("law")
        unknown = set(hours_table) - set(WEEKDAYS)
        if unknown:
            raise ProfileError(f"unknown weekday(s) in calling_hours: {sorted(unknown)}")
        hours = tuple(Window.parse(hours_table[d]) if d in hours_table else None for d in WEEKDAYS)

        def rule(name: str, key: str) -> Any:
            table = data.get(name)
            if table is None:
                return None
            if "law" not in table:
                raise ProfileError(f"rule {name!r} must name the law it comes from")
            laws[name] = table["law"]
            return table[key]

        calendar = data.get("holiday_calendar")
        if calendar:
            hours_law = laws.get("calling_hours", data.get("law", ""))
            laws["holidays"] = f"{hours_law}; calendar: public holidays of {calendar} (`holidays` package)"
        return cls(
            name=data.get("name", data.get("country", "?")),
            hours=hours,
            holiday_calendars=(calendar,) if calendar else (),
            contacts_per_day=rule("contacts_per_day", "limit"),
            contacts_per_week=rule("contacts_per_week", "limit"),
            attempts_per_7_days=rule("attempts_per_7_days", "limit"),
            days_after_contact=rule("days_after_contact", "days"),
            caller_id_prefix=rule("caller_id", "prefix"),
            laws=laws,
        )

    def stricter(self, other: CountryProfile) -> CountryProfile:
        """Both profiles at once: the narrower window, the lower limit, the longer wait, all holidays."""

        def low(a: int | None, b: int | None) -> int | None:
            return b if a is None else a if b is None else min(a, b)

        def high(a: int | None, b: int | None) -> int | None:
            return b if a is None else a if b is None else max(a, b)

        return CountryProfile(
            name=f"{self.name} + {other.name}",
            hours=tuple(a.intersect(b) if a else None for a, b in zip(self.hours, other.hours, strict=True)),
            holiday_calendars=tuple(dict.fromkeys(self.holiday_calendars + other.holiday_calendars)),
            contacts_per_day=low(self.contacts_per_day, other.contacts_per_day),
            contacts_per_week=low(self.contacts_per_week, other.contacts_per_week),
            attempts_per_7_days=low(self.attempts_per_7_days, other.attempts_per_7_days),
            days_after_contact=high(self.days_after_contact, other.days_after_contact),
            # A caller-id rule is per country: the campaign's own country's wins.
            caller_id_prefix=self.caller_id_prefix or other.caller_id_prefix,
            laws={k: "; ".join(dict.fromkeys(x for x in (self.laws.get(k), other.laws.get(k)) if x))
                  for k in {**self.laws, **other.laws}},
        )

    def window(self, day: date) -> Window | None:
        return self.hours[day.weekday()]

    def next_open(self, local: datetime) -> datetime:
        """The first moment at or after `local` (aware, in the debtor's zone) when calling is allowed."""
        tz = local.tzinfo
        for _ in range(400):  # a year of days is more than any calendar closes in a row
            day = local.date()
            window = self.window(day)
            if window is not None and not self.holiday(day):
                start = datetime.combine(day, window.start, tz)
                end = datetime.combine(day, window.end, tz)
                if local < start:
                    return start
                if local < end:
                    return local
            local = datetime.combine(day + timedelta(days=1), time(0), tz)
        raise ProfileError(f"profile {self.name} never allows a call")

    def holiday(self, day: date) -> str | None:
        """The holiday's name when `day` is one in any of the profile's calendars."""
        for code in self.holiday_calendars:
            name = _calendar(code, day.year).get(day)
            if name:
                return f"{name} ({code})"
        return None


@functools.lru_cache(maxsize=64)
def _calendar(code: str, year: int) -> holidays.HolidayBase:
    # Named in Spanish where the calendar has it: the names reach Spanish prompts and supervisors' reasons,
    # and the package's default otherwise follows the process locale.
    spanish = "es" in holidays.country_holidays(code).supported_languages
    return holidays.country_holidays(code, years=year, language="es" if spanish else None)


def warm_calendars(today: date | None = None) -> None:
    """Build every bundled profile's holiday calendars for this year and the next, once per process.

    Call it at start-up in a worker thread: the first `holiday()` of a country imports its `holidays`
    module and builds its year (100-290 ms measured in a lab call), which in a call would hold the
    event loop, and with it every call's 20 ms RTP clock."""
    year = (today or date.today()).year
    codes = {code for profile in _bundled().values() for code in profile.holiday_calendars}
    for code in sorted(codes):
        for y in (year, year + 1):
            _calendar(code, y)


def bundled_profiles() -> dict[str, CountryProfile]:
    profiles = {}
    for c in all_countries().values():
        if (text := c.profile_toml()) is not None:
            data = tomllib.loads(text)
            profiles[data["country"]] = CountryProfile.from_toml(data)
    return profiles


@functools.cache
def _bundled() -> dict[str, CountryProfile]:
    return bundled_profiles()


def profile_for(countries: Iterable[str]) -> CountryProfile:
    """The combined profile of these countries (the first is the campaign's own)."""
    known = _bundled()
    chosen = []
    for code in countries:
        if code not in known:
            raise ProfileError(f"no country profile for {code!r} (known: {', '.join(sorted(known))})")
        chosen.append(known[code])
    if not chosen:
        raise ProfileError("a campaign needs at least its own country's profile")
    combined = chosen[0]
    for other in chosen[1:]:
        combined = combined.stricter(other)
    return combined
