"""Times in the library's zone, and the academic year and its terms as UTC periods.

Sessions are stored in UTC and entered in the library's time zone (``LIBRARY_TIMEZONE``);
a term is a run of calendar months of the academic year (``ACADEMIC_TERMS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_location
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

TERM_LABELS = {
    "autumn": _l("Autumn term"),
    "spring": _l("Spring term"),
    "summer": _l("Summer term"),
}


def library_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LIBRARY_TIMEZONE"])


def zone_named(name: str | None) -> ZoneInfo:
    """The zone ``name`` (a user's preference), else the library's."""
    return ZoneInfo(name) if name else library_zone()


def from_library_time(local: datetime) -> datetime:
    """A wall-clock time in the library (naive, as typed) as an aware UTC time."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=library_zone()).astimezone(UTC)


def to_library_time(moment: datetime) -> datetime:
    """An aware time as the naive wall-clock time of the library (to fill in a form)."""
    return moment.astimezone(library_zone()).replace(tzinfo=None)


@dataclass(frozen=True)
class Period:
    """An academic year, or one of its terms: ``start <= t < end`` in UTC."""

    year: int  #: the calendar year in which the academic year starts
    term: str | None
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        year = year_label(self.year)
        return f"{term_label(self.term)} {year}" if self.term else year


def _terms() -> list[tuple[str, int]]:
    return [(key, int(month)) for key, month in current_app.config["ACADEMIC_TERMS"]]


def term_keys() -> list[str]:
    return [key for key, _month in _terms()]


def term_label(key: str) -> str:
    label = TERM_LABELS.get(key)
    return str(label) if label is not None else key


def _start_month() -> int:
    return _terms()[0][1]


def year_label(year: int) -> str:
    return str(year) if _start_month() == 1 else f"{year}–{year + 1}"


def _month_start(year: int, first_month: int, month: int) -> datetime:
    """Midnight in the library on the 1st of ``month`` of the academic year ``year``."""
    calendar_year = year if month >= first_month else year + 1
    local = datetime.combine(date(calendar_year, month, 1), time(0, 0))
    return from_library_time(local)


def academic_year_of(moment: datetime) -> int:
    local = moment.astimezone(library_zone())
    return local.year if local.month >= _start_month() else local.year - 1


def period(year: int, term: str | None = None) -> Period:
    """The academic year ``year`` (all of it when ``term`` is None) as a UTC period."""
    terms = _terms()
    first = terms[0][1]
    if term is None:
        return Period(
            year, None, _month_start(year, first, first), _month_start(year + 1, first, first)
        )
    keys = [key for key, _month in terms]
    if term not in keys:
        raise ValueError(f"unknown term {term!r}")
    index = keys.index(term)
    start = _month_start(year, first, terms[index][1])
    end = (
        _month_start(year, first, terms[index + 1][1])
        if index + 1 < len(terms)
        else _month_start(year + 1, first, first)
    )
    return Period(year, term, start, end)


def term_of(moment: datetime) -> Period:
    """The term ``moment`` falls in (the academic year, if the terms leave a gap)."""
    year = academic_year_of(moment)
    for key in term_keys():
        found = period(year, key)
        if found.start <= moment < found.end:
            return found
    return period(year)


def describe_when(starts_at: datetime, ends_at: datetime, zone: ZoneInfo, locale: str) -> str:
    """The date, start and end time and zone of a session, in ``locale`` and ``zone``."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    values = {
        "date": format_date(start.date(), "full", locale=locale),
        "start": format_time(start, "short", locale=locale),
        "end": format_time(end, "short", locale=locale),
        "zone": get_timezone_location(zone, locale=locale, return_city=True),
    }
    if start.date() == end.date():
        return _("%(date)s, %(start)s–%(end)s, %(zone)s", **values)
    end_date = format_date(end.date(), "full", locale=locale)
    return _("%(date)s, %(start)s – %(end_date)s, %(end)s, %(zone)s", end_date=end_date, **values)
