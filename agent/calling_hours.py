"""When the agent may say it will call back: the country's calling hours, read from its profile.

A callback the debtor asks for outside the law's hours ("llámeme el sábado" in Chile, "hoy a las
cinco" on a Colombian Saturday afternoon) is moved to the next allowed moment, so that the time the
agent says is the time the call will come (`campaigns.actions` moves it the same way when it books
it). The hours are each country's `profile.toml` `[calling_hours]` (mon = "08:00-20:00", ...); its
`holiday_calendar` names the `holidays` package calendar whose days have no calls.
"""

from __future__ import annotations

import functools
import tomllib
from datetime import datetime, time, timedelta

from countries import country

__all__ = ["next_allowed"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@functools.cache
def _hours(code: str) -> tuple[dict[int, tuple[time, time]], str | None] | None:
    found = country(code)
    text = found.profile_toml() if found else None
    if not text:
        return None
    data = tomllib.loads(text)
    windows = {}
    for index, day in enumerate(_DAYS):
        span = (data.get("calling_hours") or {}).get(day)
        if span:
            start, end = (time.fromisoformat(part.strip()) for part in span.split("-"))
            windows[index] = (start, end)
    return windows, data.get("holiday_calendar")


@functools.cache
def _holidays(calendar: str, year: int) -> frozenset:
    try:
        import holidays  # optional: without it, holidays are not skipped (the campaign's gate still is)
    except ImportError:
        return frozenset()
    try:
        return frozenset(holidays.country_holidays(calendar, years=year))
    except NotImplementedError:
        return frozenset()


def next_allowed(when: datetime, country_code: str | None) -> datetime:
    """`when` itself if calls are allowed then, else the next moment they are (unknown country: `when`)."""
    rules = _hours(country_code.upper()) if country_code else None
    if not rules or not rules[0]:
        return when
    windows, calendar = rules
    moment = when
    for _ in range(15):  # two weeks always hold an allowed moment
        window = windows.get(moment.weekday())
        holiday = calendar is not None and moment.date() in _holidays(calendar, moment.year)
        if window and not holiday:
            start, end = window
            if moment.time() < start:
                return moment.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
            if moment.time() < end:
                return moment
        moment = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return when
