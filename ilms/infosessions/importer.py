"""A term's schedule from a spreadsheet (CSV): every row is checked before any session is created,
so a file with one bad row imports nothing and every problem is reported with its line.

Columns (in any order, names in any case): ``title``, ``start`` (ISO 8601; without an offset it is
the library's time), ``duration_minutes``, ``capacity``, ``format`` (in_person, online, hybrid),
``location``, ``language`` (en, ru, kk), ``presenter_email`` (several separated by ``|``); optional
``description``, ``topics`` (separated by ``|``), ``audience`` and ``online_url``. Separated by
commas or semicolons; UTF-8 with or without a BOM, or Windows-1251 (Cyrillic Excel).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _

from ilms.accounts.models import User
from ilms.accounts.services import find_user_by_email
from ilms.errors import DomainError
from ilms.infosessions.models import InfoSession, SessionFormat
from ilms.infosessions.services import SessionData, check_session_data, create_sessions
from ilms.infosessions.timing import from_library_time
from ilms.permissions import Role

REQUIRED = (
    "title",
    "start",
    "duration_minutes",
    "capacity",
    "format",
    "location",
    "language",
    "presenter_email",
)
OPTIONAL = ("description", "topics", "audience", "online_url")
FORMATS = {
    "in_person": SessionFormat.IN_PERSON,
    "in-person": SessionFormat.IN_PERSON,
    "in person": SessionFormat.IN_PERSON,
    "online": SessionFormat.ONLINE,
    "hybrid": SessionFormat.HYBRID,
}
MAX_MINUTES = 24 * 60
_LIST = re.compile(r"\s*\|\s*")


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return _("line %(line)d: %(message)s", line=self.line, message=self.message)


@dataclass(frozen=True)
class ScheduleRow:
    line: int
    data: SessionData


@dataclass
class Schedule:
    """A file read and checked: the rows to create, or the problems that stop the import."""

    rows: list[ScheduleRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def decode(raw: bytes) -> tuple[str, str]:
    """The text of the file and the encoding it was in: UTF-8 (BOM or not), else Windows-1251."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="replace"), "cp1251"


def _delimiter(text: str) -> str:
    header = text.lstrip().partition("\n")[0]
    return ";" if header.count(";") > header.count(",") else ","


def read_schedule(raw: bytes) -> Schedule:
    text, encoding = decode(raw)
    delimiter = _delimiter(text)
    schedule = Schedule(encoding=encoding, delimiter=delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        schedule.errors.append(
            RowError(1, _("columns missing: %(columns)s", columns=", ".join(missing)))
        )
        return schedule
    seen: dict[tuple[str, datetime], int] = {}
    for values in reader:
        if not any(cell.strip() for cell in values):
            continue
        line = reader.line_num
        row = dict(zip(header, (cell.strip() for cell in values), strict=False))
        data, errors = parse_row(row, line)
        schedule.errors.extend(errors)
        if data is not None:
            key = (data.title[data.language].casefold(), data.starts_at)
            if key in seen:
                schedule.errors.append(
                    RowError(line, _("the same session is on line %(line)d", line=seen[key]))
                )
            seen[key] = line
            schedule.rows.append(ScheduleRow(line, data))
    if not schedule.rows and not schedule.errors:
        schedule.errors.append(RowError(1, _("the file has no sessions")))
    return schedule


def _whole_number(value: str, name: str, line: int, errors: list[RowError]) -> int | None:
    try:
        return int(value)
    except ValueError:
        errors.append(
            RowError(
                line,
                _("%(column)s must be a whole number, not “%(value)s”", column=name, value=value),
            )
        )
        return None


def _start(value: str, line: int, errors: list[RowError]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.append(
            RowError(
                line,
                _(
                    "start must be a date and time like 2026-02-10T14:00, not “%(value)s”",
                    value=value,
                ),
            )
        )
        return None
    return from_library_time(moment)


def _presenters(value: str, line: int, errors: list[RowError]) -> list[User]:
    people = []
    for email in (e for e in _LIST.split(value) if e):
        user = find_user_by_email(email)
        if user is None or not user.active or not user.has_any_role(Role.LIBRARIAN, Role.ADMIN):
            errors.append(RowError(line, _("%(email)s is not a librarian in ILMS", email=email)))
        else:
            people.append(user)
    if not people and not errors:
        errors.append(RowError(line, _("presenter_email is empty")))
    return people


def parse_row(row: dict[str, str], line: int) -> tuple[SessionData | None, list[RowError]]:
    """The session a row describes, or every problem found in it."""
    errors: list[RowError] = []
    starts_at = _start(row.get("start", ""), line, errors)
    minutes = _whole_number(row.get("duration_minutes", ""), "duration_minutes", line, errors)
    capacity = _whole_number(row.get("capacity", ""), "capacity", line, errors)
    session_format = FORMATS.get(row.get("format", "").lower())
    if session_format is None:
        errors.append(
            RowError(
                line,
                _(
                    "format must be in_person, online or hybrid, not “%(value)s”",
                    value=row.get("format", ""),
                ),
            )
        )
    if minutes is not None and not 0 < minutes <= MAX_MINUTES:
        errors.append(RowError(line, _("duration_minutes must be between 1 and 1440")))
    presenters = _presenters(row.get("presenter_email", ""), line, errors)
    if errors or starts_at is None or minutes is None or capacity is None or session_format is None:
        return None, errors
    language = row.get("language", "").lower()
    data = SessionData(
        title={language: row.get("title", "")},
        description={language: row.get("description", "")},
        format=session_format,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        capacity=capacity,
        language=language,
        audience=row.get("audience", "").lower() or "all",
        topics=[t for t in _LIST.split(row.get("topics", "")) if t],
        location=row.get("location", ""),
        online_url=row.get("online_url") or None,
        presenters=presenters,
    )
    try:
        check_session_data(data)
    except DomainError as error:
        return None, [RowError(line, error.message)]
    return data, []


def import_schedule(schedule: Schedule, actor: User | None) -> list[InfoSession]:
    """Create every session of a checked file; the caller commits (all or nothing)."""
    if not schedule.ok:
        raise DomainError(_("The file has problems; nothing was imported."))
    created: list[InfoSession] = []
    for row in schedule.rows:
        created.extend(create_sessions(row.data, actor))
    return created
