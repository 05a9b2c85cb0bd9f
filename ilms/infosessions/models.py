"""Info sessions and series, their registrations, attendance, feedback, mails sent, instruction
requests and annual reports.

Capacity is enforced by the registration service under a lock on the session row; the constraints
here are the database's own backstop against double registration and duplicate reminders.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ilms.accounts.models import User
from ilms.db import TimestampMixin, str_enum, utcnow
from ilms.extensions import db

#: A localised text: language code -> text.
Localised = dict[str, str]


class SessionFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"

    @property
    def label(self) -> str:
        return str(FORMAT_LABELS[self])

    @property
    def has_room(self) -> bool:
        return self is not SessionFormat.ONLINE

    @property
    def has_link(self) -> bool:
        return self is not SessionFormat.IN_PERSON


FORMAT_LABELS = {
    SessionFormat.IN_PERSON: _l("In person"),
    SessionFormat.ONLINE: _l("Online"),
    SessionFormat.HYBRID: _l("Hybrid"),
}


AUDIENCE_LABELS = {
    "undergraduate": _l("Undergraduate students"),
    "graduate": _l("Graduate students"),
    "faculty": _l("Faculty"),
    "all": _l("Everyone"),
}


def audience_label(audience: str) -> str:
    label = AUDIENCE_LABELS.get(audience)
    return str(label) if label is not None else audience


class RegistrationStatus(enum.StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    RegistrationStatus.REGISTERED: _l("Registered"),
    RegistrationStatus.WAITLISTED: _l("On the waitlist"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
    RegistrationStatus.ATTENDED: _l("Attended"),
    RegistrationStatus.NO_SHOW: _l("Did not come"),
}

#: The statuses of a person who was given a place (they count against the capacity).
WITH_PLACE = (
    RegistrationStatus.REGISTERED,
    RegistrationStatus.ATTENDED,
    RegistrationStatus.NO_SHOW,
)
#: Every status but cancelled.
ACTIVE = (*WITH_PLACE, RegistrationStatus.WAITLISTED)


class RequestStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return str(REQUEST_STATUS_LABELS[self])


REQUEST_STATUS_LABELS = {
    RequestStatus.REQUESTED: _l("Waiting for a librarian"),
    RequestStatus.ACCEPTED: _l("Accepted, being scheduled"),
    RequestStatus.SCHEDULED: _l("Scheduled"),
    RequestStatus.DECLINED: _l("Declined"),
}


class ReportStatus(enum.StrEnum):
    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


session_presenters = Table(
    "info_session_presenters",
    db.metadata,
    Column(
        "session_id",
        ForeignKey("info_sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class InfoSessionSeries(TimestampMixin, db.Model):
    """Dates of one repeating session, created together; people may register for all of them."""

    __tablename__ = "info_session_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    sessions: Mapped[list[InfoSession]] = relationship(
        back_populates="series", order_by="InfoSession.starts_at"
    )


class InfoSession(TimestampMixin, db.Model):
    __tablename__ = "info_sessions"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("cancel_cutoff_hours >= 0", name="cutoff_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("info_session_series.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[Localised] = mapped_column(JSON)
    description: Mapped[Localised] = mapped_column(JSON, default=dict)  #: Markdown per language
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)  #: free tags, as typed
    frames: Mapped[list[str]] = mapped_column(JSON, default=list)  #: ACRL frame values
    format: Mapped[SessionFormat] = mapped_column(str_enum(SessionFormat, "session_format"))
    location: Mapped[str] = mapped_column(String(200), default="")  #: the room
    online_url: Mapped[str | None] = mapped_column(String(500))  #: shown to people with a place
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    registration_opens_at: Mapped[datetime | None]  #: None: open as soon as it is published
    registration_closes_at: Mapped[datetime | None]  #: None: open until the start
    #: People may give up their place until this many hours before the start.
    cancel_cutoff_hours: Mapped[int] = mapped_column(default=2)
    audience: Mapped[str] = mapped_column(String(20))  #: as for modules: undergraduate ... all
    language: Mapped[str] = mapped_column(String(8))  #: the language of instruction
    listed: Mapped[bool] = mapped_column(default=True)  #: in the public catalogue and feed
    cancelled_at: Mapped[datetime | None]
    check_in_code: Mapped[str] = mapped_column(String(12))  #: shown in the room
    roster_closed_at: Mapped[datetime | None]  #: when the unmarked became no-shows
    revision: Mapped[int] = mapped_column(default=0)  #: iCalendar SEQUENCE, raised on each change
    #: The module whose pre/post quiz goes with the session (taken through the delivery engine).
    quiz_module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="SET NULL")
    )
    #: The cohort that delivers the session's pre/post test to its participants (see
    #: ``quizzes.py``); it keeps the attempts when the module is changed or removed.
    quiz_cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL"), unique=True
    )
    #: The cohort the session was taught for (a course-integrated session), if any.
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    series: Mapped[InfoSessionSeries | None] = relationship(back_populates="sessions")
    presenters: Mapped[list[User]] = relationship(
        secondary=session_presenters, order_by=User.name, lazy="selectin"
    )
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="session", order_by="Registration.place", passive_deletes=True
    )

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @property
    def cancel_until(self) -> datetime:
        return self.starts_at - timedelta(hours=self.cancel_cutoff_hours)

    @property
    def registration_closes(self) -> datetime:
        return self.registration_closes_at or self.starts_at

    def text(self, field: Localised, lang: str) -> str:
        """``field`` in ``lang``, else in the language of instruction, else in any language."""
        return field.get(lang) or field.get(self.language) or next(iter(field.values()), "")

    def title_in(self, lang: str) -> str:
        return self.text(self.title, lang)

    def description_in(self, lang: str) -> str:
        return self.text(self.description or {}, lang)


class Registration(db.Model):
    """A person's place in a session: a user's, or a guest's who confirmed their email."""

    __tablename__ = "info_session_registrations"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id"),
        UniqueConstraint("session_id", "guest_email"),
        UniqueConstraint("session_id", "place"),
        CheckConstraint("(user_id IS NULL) <> (guest_email IS NULL)", name="user_or_guest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("info_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    guest_email: Mapped[str | None] = mapped_column(String(254))  #: lower-cased
    guest_name: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of the token in a guest's link to their registration (the token is not kept).
    guest_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    locale: Mapped[str | None] = mapped_column(String(8))  #: a guest's language for mail
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, "registration_status")
    )
    #: Order of (re-)registration within the session: the waitlist is served in this order.
    place: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None]
    promoted_at: Mapped[datetime | None]  #: when a waitlisted person was given a place
    checked_in_at: Mapped[datetime | None]  #: self check-in with the room's code

    session: Mapped[InfoSession] = relationship(back_populates="registrations")
    user: Mapped[User | None] = relationship()
    feedback: Mapped[SessionFeedback | None] = relationship(back_populates="registration")

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    @property
    def email(self) -> str:
        return self.user.email if self.user is not None else self.guest_email or ""

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else self.guest_name or ""

    @property
    def mail_locale(self) -> str | None:
        return self.user.locale if self.user is not None else self.locale

    @property
    def has_place(self) -> bool:
        return self.status in WITH_PLACE

    @property
    def is_active(self) -> bool:
        return self.status is not RegistrationStatus.CANCELLED


class GuestConfirmation(db.Model):
    """A guest's request for a place, waiting for them to open the emailed link."""

    __tablename__ = "info_session_guest_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  #: the token is not kept
    session_id: Mapped[int] = mapped_column(
        ForeignKey("info_sessions.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    session: Mapped[InfoSession] = relationship()


class SessionMail(db.Model):
    """A mail sent once per registration (reminder, thank-you): the row is claimed before sending."""

    __tablename__ = "info_session_mails"
    __table_args__ = (UniqueConstraint("registration_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("info_session_registrations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))  #: ``reminder`` or ``thank_you``
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionFeedback(db.Model):
    __tablename__ = "info_session_feedback"
    __table_args__ = (CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("info_session_registrations.id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[int]  #: 1 (poor) to 5 (excellent)
    useful: Mapped[str] = mapped_column(Text, default="")  #: what was useful
    comments: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    registration: Mapped[Registration] = relationship(back_populates="feedback")


class InstructionRequest(TimestampMixin, db.Model):
    """Faculty asking the library for a session for one of their courses."""

    __tablename__ = "instruction_requests"
    __table_args__ = (CheckConstraint("students >= 1", name="students_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: The cohort the session is for, when the course is in ILMS.
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL"), index=True
    )
    course: Mapped[str] = mapped_column(String(200))  #: the course and section, as faculty name it
    topics: Mapped[str] = mapped_column(Text)
    preferred_dates: Mapped[str] = mapped_column(Text)
    students: Mapped[int | None]  #: expected number of students
    language: Mapped[str] = mapped_column(String(8))
    format: Mapped[SessionFormat] = mapped_column(str_enum(SessionFormat, "session_format"))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "instruction_request_status"), default=RequestStatus.REQUESTED
    )
    librarian_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    response: Mapped[str] = mapped_column(Text, default="")  #: the librarian's message
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("info_sessions.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    librarian: Mapped[User | None] = relationship(foreign_keys=[librarian_id])
    session: Mapped[InfoSession | None] = relationship()


class AnnualReport(db.Model):
    """An annual report PDF, rendered by a background job; its status is shown to the person."""

    __tablename__ = "info_session_annual_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]  #: the academic year that starts in this calendar year
    term: Mapped[str | None] = mapped_column(String(20))  #: None: the whole year
    locale: Mapped[str] = mapped_column(String(8))
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, "annual_report_status"), default=ReportStatus.QUEUED
    )
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "year": self.year, "term": self.term, "status": self.status.value}
