"""The library's figures on info sessions for a term or a year, in total and by topic, presenter,
format, audience and language: for the dashboard, the CSV export and the annual report.

``collect`` reads the sessions held in a period into plain ``SessionFact`` rows; everything after
that is pure. Definitions (also shown on the dashboard):

- a session is *held* when it was not cancelled and has ended; only held sessions count;
- *hours taught* is the sum of their durations;
- *registrations* are the people given a place (registered, attended, did not come), walk-ins
  included; people still waiting when the session began and cancellations are counted apart;
- *attendance rate* = attended / registrations, *no-show rate* = did not come / registrations;
- the *mean rating* is over the survey answers (1 to 5) of the period's sessions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ilms.extensions import db
from ilms.infosessions.models import InfoSession, Registration, RegistrationStatus, SessionFeedback
from ilms.infosessions.timing import Period, library_zone

Status = RegistrationStatus
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BREAKDOWNS = ("topic", "presenter", "format", "audience", "language")


@dataclass(frozen=True)
class SessionFact:
    id: int
    title: str
    starts_at: datetime
    minutes: int
    topics: tuple[str, ...]
    presenters: tuple[str, ...]
    format: str
    audience: str
    language: str
    registrations: int = 0
    attended: int = 0
    no_shows: int = 0
    waitlisted: int = 0
    cancellations: int = 0
    ratings: tuple[int, ...] = ()


@dataclass(frozen=True)
class Figures:
    sessions: int
    minutes: int
    registrations: int
    attended: int
    no_shows: int
    waitlisted: int
    cancellations: int
    feedback: int
    rating_sum: int

    @property
    def hours(self) -> float:
        return self.minutes / 60

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.registrations if self.registrations else None

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.registrations if self.registrations else None

    @property
    def mean_rating(self) -> float | None:
        return self.rating_sum / self.feedback if self.feedback else None


def summarise(facts: Iterable[SessionFact]) -> Figures:
    facts = list(facts)
    return Figures(
        sessions=len(facts),
        minutes=sum(f.minutes for f in facts),
        registrations=sum(f.registrations for f in facts),
        attended=sum(f.attended for f in facts),
        no_shows=sum(f.no_shows for f in facts),
        waitlisted=sum(f.waitlisted for f in facts),
        cancellations=sum(f.cancellations for f in facts),
        feedback=sum(len(f.ratings) for f in facts),
        rating_sum=sum(sum(f.ratings) for f in facts),
    )


def _groups(fact: SessionFact, breakdown: str) -> Iterable[str]:
    if breakdown == "topic":
        return fact.topics
    if breakdown == "presenter":
        return fact.presenters
    return (getattr(fact, breakdown),)


def breakdown_by(
    facts: Sequence[SessionFact], keys: Callable[[SessionFact], Iterable[str]]
) -> list[tuple[str, Figures]]:
    """Figures per group; a session in several groups (two topics) counts in each."""
    groups: dict[str, list[SessionFact]] = {}
    for fact in facts:
        for key in keys(fact):
            groups.setdefault(key, []).append(fact)
    return [(key, summarise(groups[key])) for key in sorted(groups, key=str.casefold)]


@dataclass(frozen=True)
class FiguresReport:
    period: Period
    totals: Figures
    breakdowns: dict[str, list[tuple[str, Figures]]]
    sessions: list[SessionFact]


def build_report(period: Period, facts: Sequence[SessionFact]) -> FiguresReport:
    return FiguresReport(
        period=period,
        totals=summarise(facts),
        breakdowns={
            name: breakdown_by(facts, lambda fact, name=name: _groups(fact, name))
            for name in BREAKDOWNS
        },
        sessions=sorted(facts, key=lambda f: (f.starts_at, f.id)),
    )


# --- Reading the database -------------------------------------------------------------------


def held_sessions(period: Period, now: datetime) -> list[InfoSession]:
    return list(
        db.session.scalars(
            select(InfoSession)
            .where(
                InfoSession.cancelled_at.is_(None),
                InfoSession.starts_at >= period.start,
                InfoSession.starts_at < period.end,
                InfoSession.ends_at <= now,
            )
            .order_by(InfoSession.starts_at, InfoSession.id)
        )
    )


def _status_counts(session_ids: list[int]) -> dict[int, dict[Status, int]]:
    counts: dict[int, dict[Status, int]] = {i: {} for i in session_ids}
    rows = db.session.execute(
        select(Registration.session_id, Registration.status, func.count())
        .where(Registration.session_id.in_(session_ids))
        .group_by(Registration.session_id, Registration.status)
    )
    for session_id, status, count in rows:
        counts[session_id][status] = count
    return counts


def _ratings(session_ids: list[int]) -> dict[int, list[int]]:
    ratings: dict[int, list[int]] = {i: [] for i in session_ids}
    rows = db.session.execute(
        select(Registration.session_id, SessionFeedback.rating)
        .join(SessionFeedback, SessionFeedback.registration_id == Registration.id)
        .where(Registration.session_id.in_(session_ids))
        .order_by(SessionFeedback.id)
    )
    for session_id, rating in rows:
        ratings[session_id].append(rating)
    return ratings


def collect(period: Period, now: datetime, lang: str) -> list[SessionFact]:
    """The sessions held in ``period`` (by their start) as plain facts."""
    sessions = held_sessions(period, now)
    ids = [s.id for s in sessions]
    counts = _status_counts(ids)
    ratings = _ratings(ids)
    return [_fact(s, counts[s.id], ratings[s.id], lang) for s in sessions]


def _fact(
    session: InfoSession, counts: dict[Status, int], ratings: list[int], lang: str
) -> SessionFact:
    return SessionFact(
        id=session.id,
        title=session.title_in(lang),
        starts_at=session.starts_at,
        minutes=round(session.duration.total_seconds() / 60),
        topics=tuple(session.topics),
        presenters=tuple(person.name for person in session.presenters),
        format=session.format.value,
        audience=session.audience,
        language=session.language,
        registrations=sum(
            counts.get(s, 0) for s in (Status.REGISTERED, Status.ATTENDED, Status.NO_SHOW)
        ),
        attended=counts.get(Status.ATTENDED, 0),
        no_shows=counts.get(Status.NO_SHOW, 0),
        waitlisted=counts.get(Status.WAITLISTED, 0),
        cancellations=counts.get(Status.CANCELLED, 0),
        ratings=tuple(ratings),
    )


def figures_for(period: Period, now: datetime, lang: str) -> FiguresReport:
    return build_report(period, collect(period, now, lang))


# --- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "section",
    "group",
    "date",
    "sessions",
    "hours",
    "registrations",
    "attended",
    "no_shows",
    "waitlisted",
    "cancellations",
    "attendance_rate",
    "no_show_rate",
    "feedback",
    "mean_rating",
)


def safe_cell(value: object) -> object:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ tab or CR
    gets a leading single quote. Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _rounded(value: float | None, digits: int) -> float | str:
    return "" if value is None else round(value, digits)


def _row(section: str, group: str, day: str, figures: Figures) -> list[object]:
    return [
        section,
        group,
        day,
        figures.sessions,
        round(figures.hours, 2),
        figures.registrations,
        figures.attended,
        figures.no_shows,
        figures.waitlisted,
        figures.cancellations,
        _rounded(figures.attendance_rate, 4),
        _rounded(figures.no_show_rate, 4),
        figures.feedback,
        _rounded(figures.mean_rating, 2),
    ]


def to_csv(report: FiguresReport) -> str:
    """The totals, each breakdown, then one row per session; every text cell is made safe."""
    stream = io.StringIO()
    writer = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = [_row("total", report.period.label, "", report.totals)]
    for name, groups in report.breakdowns.items():
        rows.extend(_row(name, group, "", figures) for group, figures in groups)
    for fact in report.sessions:
        day = fact.starts_at.astimezone(library_zone()).date().isoformat()
        rows.append(_row("session", fact.title, day, summarise([fact])))
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return stream.getvalue()
