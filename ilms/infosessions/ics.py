"""Sessions as iCalendar (RFC 5545): one event per session, all times in UTC."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event

PRODUCT_ID = "-//ILMS//Information sessions//EN"


@dataclass(frozen=True)
class CalendarEntry:
    """One session as it goes into a calendar, in one language."""

    uid: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    location: str
    url: str
    revision: int
    updated_at: datetime
    cancelled: bool = False
    online_url: str | None = None  #: only for people with a place


def _event(entry: CalendarEntry, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", entry.starts_at.astimezone(UTC))
    event.add("dtend", entry.ends_at.astimezone(UTC))
    event.add("summary", entry.title)
    event.add("sequence", entry.revision)
    event.add("last-modified", entry.updated_at.astimezone(UTC))
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    event.add("url", entry.url)
    description = entry.description
    if entry.online_url:
        description = f"{description}\n\n{entry.online_url}".strip()
    description = f"{description}\n\n{entry.url}".strip()
    event.add("description", description)
    location = ", ".join(part for part in (entry.location, entry.online_url or "") if part)
    if location:
        event.add("location", location)
    return event


def calendar(entries: Iterable[CalendarEntry], name: str, stamp: datetime) -> bytes:
    """A VCALENDAR with one VEVENT per entry, ready to serve as ``text/calendar``."""
    cal = Calendar()
    cal.add("prodid", PRODUCT_ID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for entry in entries:
        cal.add_component(_event(entry, stamp))
    return cal.to_ical()
