"""Dates and times in Spanish: a payment promise's day and a callback's moment.

Callers name days relative to today ("el viernes", "pasado mañana", "a fin de mes", "el 15"), and
the collector needs an absolute date. The choices where Spanish is vague, in one place:

- A weekday ("el viernes", "este viernes", "el próximo viernes") is the next one *after* today,
  1 to 7 days ahead: said on a Friday, "el viernes" means next week's, as "hoy" would be used for
  today's.
- A day of the month ("el 15") is the next one on or after today; a day the month lacks ("el 31"
  in November) is the month's last day, which is what callers paid at month's end mean.
- "fin de mes" is the month's last day (today, on that day). "principios de mes" is the 5th of
  next month: salaries are paid on the last working day, and "early next month" in a promise
  means the first days after payday; the 5th is the latest of those that is still "early".
- "la próxima semana" / "la otra semana" / "la semana que viene" is next Monday.
- A day and month already past this year are next year's (a debtor promises, never back-dates).
- A month alone ("en diciembre"), "la quincena" and past references ("el lunes pasado") give
  None: the agent asks for the day rather than guess one.

For a callback without an hour the time is 10:00 (calls before 9:00 annoy); periods of the day are
10:00 (mañana, docs/dialogue-spec.md), 12:00 (mediodía), 15:00 (tarde) and 19:00 (noche, before the 20:00 limit on
collection calls); an hour 1-7 without "de la mañana" is p.m. ("a las tres" = 15:00); "más tarde"
and its kin are two hours from now.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from agent.nlu.numbers import numerify
from agent.nlu.text import normalise

__all__ = ["DateMatch", "find_date", "parse_date", "parse_when", "prepare", "promise_date_in", "when_in"]

MONTHS = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
WEEKDAYS = {"lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6}

DEFAULT_CALLBACK = time(10, 0)
PERIODS = {"manana": time(10), "temprano": time(9), "mediodia": time(12), "almuerzo": time(13),
           "tarde": time(15), "tardecita": time(17), "noche": time(19)}
LATER = timedelta(hours=2)

_MONTH = "|".join(MONTHS)
_WEEKDAY = "|".join(WEEKDAYS)
_DAY = r"(\d{1,2}|primero)(?: ro| o)?"  # "el 1ro" normalises to "el 1 ro"
_THIS_OR_NEXT_MONTH = r"(?:de este mes|(?:del )?(proximo|otro|siguiente) mes|del mes que viene)"

_NUMERIC_RE = re.compile(r"(?<!\S)(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2}|\d{4}))?(?!\S)")
_ARTICLE = r"(?:(?:el|del|al) )?(?:dia )?"  # so that "el 15 de diciembre" outranks the bare "el 15"
_DAY_MONTH_RE = re.compile(rf"\b{_ARTICLE}{_DAY} (?:de )?({_MONTH})(?: (?:de|del) (\d{{4}}))?\b")
_DAY_REL_MONTH_RE = re.compile(rf"\b{_ARTICLE}{_DAY} {_THIS_OR_NEXT_MONTH}")
# "el 15", "para el día 30", "hasta el 15": a bare day only after an article, and not when the
# number counts something ("el 15 de la tarde" cannot be, "el 2 cuotas" neither).
_BARE_DAY_RE = re.compile(
    rf"\b(?:el|del|al) (?:dia )?{_DAY}\b(?![-/:.,]\d)"
    r"(?! (?:mil|lucas?|palos?|pesos|cuotas?|pagos|dias|semanas|meses|horas?|minutos|de la|y media"
    r"|por ciento|por 100|%))"  # numerify reads "por ciento" as "por 100"
)
_WEEKDAY_RE = re.compile(rf"\b(?:(proximo|otro|siguiente) )?({_WEEKDAY})\b(?! pasado)")
_TODAY_RE = re.compile(r"\b(?:hoy|al tiro|altiro|ahora mismo|ya mismo|hoy mismo)\b")
_TOMORROW_RE = re.compile(r"(?<!\bla )(?<!\blas )(?<!\bpasado )\bmanana\b")
_AFTER_TOMORROW_RE = re.compile(r"\bpasado manana\b")
_MONTH_END_RE = re.compile(r"\b(?:fin|fines|final|finales) (?:de|del) (proximo |otro |siguiente )?mes\b")
_MONTH_START_RE = re.compile(
    rf"\b(?:principio|principios|inicio|inicios|comienzo|comienzos|primeros dias) (?:de|del) "
    rf"(?:(?:proximo |otro |siguiente )?mes|({_MONTH}))\b"
)
_MID_MONTH_RE = re.compile(r"\bmediados de(?:l)? mes\b")
_NEXT_WEEK_RE = re.compile(
    r"\b(?:(?:proxima|otra|siguiente) semana|semana (?:que viene|proxima|siguiente))\b"
)
_WEEKEND_RE = re.compile(r"\b(?:fin de semana|finde)\b")
_IN_RE = re.compile(r"\b(?:en|dentro de) (\d{1,3}|una?) (dias?|semanas?|mes|meses)\b")


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found in prepared text, with where it was said (for "pero el viernes sí")."""

    value: date
    start: int
    end: int
    rule: str


def prepare(text: str) -> str:
    """Normalised words with numbers in digits, the form every rule here matches on."""
    return " ".join(numerify(normalise(text).split()))


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, _last_day(year, month)))


def _add_months(d: date, months: int, day: int | None = None) -> date:
    index = d.year * 12 + d.month - 1 + months
    return _clamped(index // 12, index % 12 + 1, day or d.day)


def _day_number(raw: str) -> int:
    return 1 if raw == "primero" else int(raw)


def _next_day_of_month(day: int, today: date) -> date:
    this_month = _clamped(today.year, today.month, day)
    return this_month if this_month >= today else _add_months(today, 1, day)


def _rolled(day: int, month: int, today: date, year: str | None) -> date | None:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    if year:
        return _clamped(int(year) + (2000 if len(year) == 2 else 0), month, day)
    this_year = _clamped(today.year, month, day)
    return this_year if this_year >= today else _clamped(today.year + 1, month, day)


def _candidates(s: str, today: date) -> Iterator[DateMatch]:
    """Every date rule's matches; one small rule per way of saying a date."""
    for m in _NUMERIC_RE.finditer(s):
        if (d := _rolled(int(m[1]), int(m[2]), today, m[3])) is not None:
            yield DateMatch(d, m.start(), m.end(), "numeric")
    for m in _DAY_MONTH_RE.finditer(s):
        if (d := _rolled(_day_number(m[1]), MONTHS[m[2]], today, m[3])) is not None:
            yield DateMatch(d, m.start(), m.end(), "day_month")
    for m in _DAY_REL_MONTH_RE.finditer(s):
        day = _day_number(m[1])
        if 1 <= day <= 31:
            next_month = m[2] or "viene" in m[0]
            d = _add_months(today, 1, day) if next_month else _clamped(today.year, today.month, day)
            yield DateMatch(d, m.start(), m.end(), "day_of_month")
    for m in _BARE_DAY_RE.finditer(s):
        if 1 <= (day := _day_number(m[1])) <= 31:
            yield DateMatch(_next_day_of_month(day, today), m.start(), m.end(), "day")
    for m in _WEEKDAY_RE.finditer(s):
        ahead = (WEEKDAYS[m[2]] - today.weekday() - 1) % 7 + 1  # 1..7: strictly after today
        yield DateMatch(today + timedelta(days=ahead), m.start(), m.end(), "weekday")
    for m in _AFTER_TOMORROW_RE.finditer(s):
        yield DateMatch(today + timedelta(days=2), m.start(), m.end(), "pasado_manana")
    for m in _TOMORROW_RE.finditer(s):
        yield DateMatch(today + timedelta(days=1), m.start(), m.end(), "manana")
    for m in _TODAY_RE.finditer(s):
        yield DateMatch(today, m.start(), m.end(), "hoy")
    for m in _MONTH_END_RE.finditer(s):
        d = _add_months(today, 1 if m[1] else 0, 31)
        yield DateMatch(d, m.start(), m.end(), "fin_de_mes")
    for m in _MONTH_START_RE.finditer(s):
        d = _rolled(5, MONTHS[m[1]], today, None) if m[1] else _add_months(today, 1, 5)
        if d is not None:
            yield DateMatch(d, m.start(), m.end(), "principio_de_mes")
    for m in _MID_MONTH_RE.finditer(s):
        yield DateMatch(_next_day_of_month(15, today), m.start(), m.end(), "mediados")
    for m in _NEXT_WEEK_RE.finditer(s):
        yield DateMatch(today + timedelta(days=7 - today.weekday()), m.start(), m.end(), "proxima_semana")
    for m in _WEEKEND_RE.finditer(s):
        ahead = (5 - today.weekday()) % 7 if today.weekday() != 6 else 0
        yield DateMatch(today + timedelta(days=ahead), m.start(), m.end(), "fin_de_semana")
    for m in _IN_RE.finditer(s):
        n = 1 if m[1] in ("un", "una") else int(m[1])
        if m[2].startswith("mes"):
            d = _add_months(today, n)
        else:
            d = today + timedelta(days=n * (7 if m[2].startswith("semana") else 1))
        yield DateMatch(d, m.start(), m.end(), "en_n")


def find_date(prepared: str, today: date) -> DateMatch | None:
    """The first date said in ``prepared`` text (see :func:`prepare`); the longest on a tie."""
    found = list(_candidates(prepared, today))
    if not found:
        return None
    return min(found, key=lambda m: (m.start, -(m.end - m.start)))


# "el viernes 27", "el lunes 30": a weekday with its day of the month, which must agree.
_WEEKDAY_DAY_RE = re.compile(rf"\b({_WEEKDAY}) (?:(?:el )?dia )?(\d{{1,2}})\b(?! (?:mil|lucas?|palos?|pesos|cuotas?))")
_REFUSED_AFTER_RE = re.compile(r" (?:no|tampoco|ni)\b")
_AT_ONCE_RE = re.compile(r"al tiro|altiro|ya mismo")
_PAST_GRACE_DAYS = 60  # "el 5 de diciembre" said on 10 December is a mistake, not next year's


def promise_date_in(prepared: str, today: date) -> tuple[date | None, str]:
    """The day a payment is promised for, and what is wrong with it ("" when nothing).

    Unlike :func:`find_date` this reads the way a promise is negotiated: the last date said wins
    ("el viernes... mejor el lunes"), and a day followed by a no is dropped ("al tiro no puedo, el viernes";
    "el lunes, que el viernes no me alcanza"); a weekday with a day of the month
    must agree ("weekday_mismatch" when "el viernes 27" is a Thursday); "la otra semana" without a
    day is "which_day"; a day and month gone by a little is "past", not next year's.
    """
    found = list(_candidates(prepared, today))
    # "mañana al tiro", "el lunes altiro": right after a day, "al tiro" is "first thing", not today.
    found = [m for m in found if not (m.rule == "hoy" and _AT_ONCE_RE.fullmatch(prepared, m.start, m.end)
                                      and any(o is not m and 0 <= m.start - o.end <= 1 for o in found))]
    # "el viernes no me alcanza", "al tiro no puedo": a day said to be refused is not the promise's.
    kept = [m for m in found if not _REFUSED_AFTER_RE.match(prepared, m.end)] or found
    if not found:
        return None, ""
    last = max(kept, key=lambda m: (m.start, m.end - m.start))
    pairs = list(_WEEKDAY_DAY_RE.finditer(prepared))
    # "el jueves diez, el jueves po": the weekday said again is the same day, the one with its date.
    repeated = bool(pairs) and last.rule == "weekday" and last.value.weekday() == WEEKDAYS[pairs[-1][1]]
    if pairs and (pairs[-1].end() >= last.start or repeated):
        weekday, day = WEEKDAYS[pairs[-1][1]], int(pairs[-1][2])
        if not 1 <= day <= 31:
            return None, "which_day"
        on_day = _next_day_of_month(day, today)
        if on_day.weekday() != weekday:
            return None, "weekday_mismatch"
        return on_day, ""
    if last.rule == "proxima_semana" and not any(m.rule == "weekday" for m in found):
        return None, "which_day"
    if last.rule == "day_month" and not re.search(r"\b\d{4}\b", prepared[last.start:last.end]):
        this_year = last.value.replace(year=today.year) if last.value.year != today.year else last.value
        if this_year < today and (today - this_year).days <= _PAST_GRACE_DAYS:
            return this_year, "past"
    return last.value, ""


def parse_date(text: str, today: date) -> date | None:
    """The date a payment is promised for, on or after ``today``, or None when no date is said."""
    match = find_date(prepare(text), today)
    return match.value if match else None


# --- Times of day, for callbacks.
# "las" may be missing ("a 4 de la tarde", or Whisper's "al a-4" for "a las cuatro"); a bare number then
# counts only when the part of the day follows it, since "a 4" alone is as likely four instalments.
_AT_RE = re.compile(
    r"\b(?:(?P<qualifier>despues de|antes de|pasadas)|a|como a|tipo|cerca de) (?P<article>las? |eso de las? )?"
    r"(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?(?: (?:y (?P<past>media|cuarto|\d{1,2})|(?P<to>menos cuarto)))?"
    r"(?: (?:hrs|horas))?(?: (?P<meridiem>de la manana|de la tarde|de la noche|am|pm|a m|p m))?"
)
_PERIOD_RE = re.compile(
    r"\b(?:en la|por la|a la|de la) (manana|tarde|tardecita|noche)\b|\b(?:al|a|en el) (mediodia)\b"
    r"|\b(temprano)\b|\ba la hora (?:de|del) (almuerzo)\b"
)
_IN_TIME_RE = re.compile(r"\b(?:en|dentro de) (\d{1,3}|media) (horas?|minutos?|min)\b")
_LATER_RE = re.compile(
    r"\b(?:mas tarde|mas rato|en un rato|en un ratito|al rato|mas tardecito|despuesito|luego"
    r"|despues(?! de))\b"
)


def _hour(hour: int, meridiem: str | None, period: str | None) -> int:
    if meridiem in ("de la manana", "am", "a m"):
        return 0 if hour == 12 else hour
    if meridiem or period in ("tarde", "tardecita", "noche"):
        return hour + 12 if hour < 12 else hour
    return hour + 12 if 1 <= hour <= 7 else hour  # nobody asks for a 3 a.m. call


def _time_of_day(s: str) -> time | None:
    period_match = _PERIOD_RE.search(s)
    period = next((g for g in period_match.groups() if g), None) if period_match else None
    if m := next((m for m in _AT_RE.finditer(s) if m["article"] or m["meridiem"]), None):
        qualifier, hour, minute = m["qualifier"], int(m["hour"]), int(m["minute"] or 0)
        if past := m["past"]:
            minute = {"media": 30, "cuarto": 15}.get(past) or int(past)
        if hour > 23 or minute > 59:
            return None
        at = datetime.combine(date.min, time(_hour(hour, m["meridiem"], period) % 24, minute))
        if m["to"]:
            at -= timedelta(minutes=15)
        if qualifier == "antes de":
            at -= timedelta(hours=1)
        return at.time()
    return PERIODS[period] if period else None


def parse_when(text: str, now: datetime) -> datetime | None:
    """When the caller asks to be called back, in ``now``'s time zone, or None if they did not say."""
    return when_in(prepare(text), now)


def when_in(s: str, now: datetime) -> datetime | None:
    """:func:`parse_when` on text already prepared (see :func:`prepare`)."""
    if m := _IN_TIME_RE.search(s):
        minutes = 30 if m[1] == "media" else int(m[1]) * (60 if m[2].startswith("hora") else 1)
        return now + timedelta(minutes=minutes)
    day = find_date(s, now.date())
    at = _time_of_day(s)
    if day is not None:
        when = datetime.combine(day.value, at or DEFAULT_CALLBACK, tzinfo=now.tzinfo)
        return when if at is not None or when > now else now + LATER
    if at is not None:
        when = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
        return when if when > now else when + timedelta(days=1)
    if _LATER_RE.search(s):
        return now + LATER
    return None
