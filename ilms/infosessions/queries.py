"""Read-only views of sessions for the pages, the calendar and the JSON API."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ilms.accounts.models import User, UserRole
from ilms.authoring.models import Module
from ilms.authoring.queries import visible_modules
from ilms.extensions import db
from ilms.infosessions.ics import CalendarEntry
from ilms.infosessions.models import (
    WITH_PLACE,
    AnnualReport,
    InfoSession,
    InstructionRequest,
    Registration,
    RegistrationStatus,
    RequestStatus,
    SessionFormat,
)
from ilms.infosessions.timing import from_library_time
from ilms.permissions import Role


@dataclass(frozen=True)
class PlaceCounts:
    taken: int = 0
    waiting: int = 0

    def left(self, capacity: int) -> int:
        return max(capacity - self.taken, 0)


def place_counts(session_ids: Sequence[int]) -> dict[int, PlaceCounts]:
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Registration.session_id, Registration.status, func.count())
        .where(Registration.session_id.in_(session_ids))
        .group_by(Registration.session_id, Registration.status)
    )
    taken: dict[int, int] = {}
    waiting: dict[int, int] = {}
    for session_id, status, count in rows:
        if status in WITH_PLACE:
            taken[session_id] = taken.get(session_id, 0) + count
        elif status is RegistrationStatus.WAITLISTED:
            waiting[session_id] = count
    return {i: PlaceCounts(taken.get(i, 0), waiting.get(i, 0)) for i in session_ids}


# --- The catalogue --------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueFilters:
    topic: str = ""
    language: str = ""
    format: str = ""
    date_from: date | None = None
    date_to: date | None = None


def catalogue_sessions(filters: CatalogueFilters, now: datetime) -> list[InfoSession]:
    """Listed sessions that are not cancelled, from ``date_from`` (else now) in date order."""
    start = (
        from_library_time(datetime.combine(filters.date_from, time())) if filters.date_from else now
    )
    query = (
        select(InfoSession)
        .where(
            InfoSession.listed.is_(True),
            InfoSession.cancelled_at.is_(None),
            InfoSession.ends_at > start,
        )
        .order_by(InfoSession.starts_at, InfoSession.id)
    )
    if filters.date_to:
        end = from_library_time(datetime.combine(filters.date_to, time.max))
        query = query.where(InfoSession.starts_at <= end)
    if filters.language:
        query = query.where(InfoSession.language == filters.language)
    if filters.format in {f.value for f in SessionFormat}:
        query = query.where(InfoSession.format == SessionFormat(filters.format))
    sessions = list(db.session.scalars(query))
    if filters.topic:
        wanted = filters.topic.casefold()
        sessions = [s for s in sessions if wanted in (t.casefold() for t in s.topics)]
    return sessions


def topics_in(sessions: Sequence[InfoSession]) -> list[str]:
    found: dict[str, str] = {}
    for session in sessions:
        for topic in session.topics:
            found.setdefault(topic.casefold(), topic)
    return sorted(found.values(), key=str.casefold)


def upcoming_listed(now: datetime) -> list[InfoSession]:
    return catalogue_sessions(CatalogueFilters(), now)


@dataclass(frozen=True)
class Page:
    """A page of a list, with the attributes the ``pagination_nav`` macro reads."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate(items: Sequence[Any], page: int, per_page: int) -> Page:
    page = max(page, 1)
    start = (page - 1) * per_page
    return Page(list(items[start : start + per_page]), page, per_page, len(items))


# --- Librarians' lists ----------------------------------------------------------------------


def managed_sessions(view: str, now: datetime) -> list[InfoSession]:
    """``upcoming`` (the default) or ``past`` sessions, listed or not, cancelled or not."""
    query = select(InfoSession)
    if view == "past":
        query = query.where(InfoSession.ends_at <= now).order_by(InfoSession.starts_at.desc())
    else:
        query = query.where(InfoSession.ends_at > now).order_by(InfoSession.starts_at)
    return list(db.session.scalars(query.order_by(InfoSession.id)))


def presenter_choices() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                User.role_rows.any(UserRole.role.in_([Role.LIBRARIAN, Role.ADMIN])),
            )
            .order_by(func.lower(User.name), User.id)
        )
    )


def users_by_ids(ids: Sequence[int]) -> list[User]:
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids))))


def quiz_module_choices(user: User, current_id: int | None = None) -> list[Module]:
    """Published modules (only those can be assigned), and the session's own if it is not."""
    return [m for m in visible_modules(user) if m.published or m.id == current_id]


def requests_for(user: User) -> list[InstructionRequest]:
    """All requests for librarians; faculty see their own."""
    query = select(InstructionRequest).order_by(
        InstructionRequest.created_at.desc(), InstructionRequest.id.desc()
    )
    if not user.has_any_role(Role.LIBRARIAN, Role.ADMIN):
        query = query.where(InstructionRequest.requested_by_id == user.id)
    return list(db.session.scalars(query))


def open_request_count() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(InstructionRequest)
        .where(InstructionRequest.status == RequestStatus.REQUESTED)
    )


def recent_reports(user: User) -> list[AnnualReport]:
    return list(
        db.session.scalars(
            select(AnnualReport)
            .where(AnnualReport.requested_by_id == user.id)
            .order_by(AnnualReport.created_at.desc(), AnnualReport.id.desc())
            .limit(5)
        )
    )


# --- One person's registrations ---------------------------------------------------------------


def registrations_of(user: User) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .join(InfoSession)
            .where(Registration.user_id == user.id)
            .options(selectinload(Registration.session))
            .order_by(InfoSession.starts_at.desc(), Registration.id)
        )
    )


def feedback_of(session: InfoSession) -> list[Registration]:
    """The attendees who answered the survey, with their answers."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.session_id == session.id, Registration.feedback.has())
            .options(selectinload(Registration.feedback))
            .order_by(Registration.id)
        )
    )


def cohort_attendees(cohort_id: int) -> set[int]:
    """The users who attended a session held for the cohort (for the "attended the session"
    subgroup of the cohort's report)."""
    return set(
        db.session.scalars(
            select(Registration.user_id)
            .join(InfoSession)
            .where(
                InfoSession.cohort_id == cohort_id,
                InfoSession.cancelled_at.is_(None),
                Registration.status == RegistrationStatus.ATTENDED,
                Registration.user_id.is_not(None),
            )
        )
    )


# --- JSON and iCalendar ---------------------------------------------------------------------


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def api_session(session: InfoSession, counts: PlaceCounts, now: datetime) -> dict[str, Any]:
    """A session's public fields (never the online link)."""
    from ilms.infosessions.services import registration_problem

    return {
        "id": session.id,
        "title": session.title,
        "description": session.description,
        "topics": session.topics,
        "frames": session.frames,
        "format": session.format.value,
        "location": session.location,
        "language": session.language,
        "audience": session.audience,
        "starts_at": _utc(session.starts_at),
        "ends_at": _utc(session.ends_at),
        "capacity": session.capacity,
        "places_left": counts.left(session.capacity),
        "waitlist": counts.waiting,
        "registration_open": registration_problem(session, now) is None,
        "series_id": session.series_id,
        "presenters": [person.name for person in session.presenters],
        "url": url_for("infosessions.session", session_id=session.id, _external=True),
        "ics_url": url_for("infosessions.session_ics", session_id=session.id, _external=True),
    }


def api_registration(registration: Registration, lang: str) -> dict[str, Any]:
    session = registration.session
    return {
        "id": registration.id,
        "status": registration.status.value,
        "session": {
            "id": session.id,
            "title": session.title_in(lang),
            "starts_at": _utc(session.starts_at),
            "ends_at": _utc(session.ends_at),
            "cancelled": session.is_cancelled,
            "url": url_for("infosessions.session", session_id=session.id, _external=True),
        },
    }


def calendar_entry(session: InfoSession, lang: str, *, with_link: bool, host: str) -> CalendarEntry:
    return CalendarEntry(
        uid=f"info-session-{session.id}@{host}",
        title=session.title_in(lang),
        description=session.description_in(lang),
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        location=session.location,
        url=url_for("infosessions.session", session_id=session.id, _external=True),
        revision=session.revision,
        updated_at=session.updated_at,
        cancelled=session.is_cancelled,
        online_url=session.online_url if with_link else None,
    )
