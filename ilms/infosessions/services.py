"""Info session operations: scheduling, registration and waitlists, guests, attendance, feedback,
instruction requests, and the periodic pass that sends reminders and closes rosters.

Every change to who holds a place in a session happens under ``lock_session``: the count of places
taken and the insert or update that follows are one serialised step, so the capacity holds however
many people register at the same moment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ilms.accounts.models import User
from ilms.accounts.services import find_user_by_email, normalise_email
from ilms.authoring.package import AUDIENCES, FRAMES, SUPPORTED_LANGUAGES
from ilms.cohorts.services import cohort_for_staff
from ilms.db import utcnow
from ilms.errors import Conflict, DomainError, NotFound
from ilms.extensions import db
from ilms.infosessions import mails, quizzes
from ilms.infosessions.models import (
    ACTIVE,
    WITH_PLACE,
    AnnualReport,
    GuestConfirmation,
    InfoSession,
    InfoSessionSeries,
    InstructionRequest,
    Registration,
    RegistrationStatus,
    ReportStatus,
    RequestStatus,
    SessionFeedback,
    SessionFormat,
    SessionMail,
)
from ilms.infosessions.timing import from_library_time, library_zone
from ilms.permissions import Role
from ilms.reports.freshness import mark_cohort_stale

#: Letters and digits that cannot be mistaken for one another on a projector (no 0/O, 1/I).
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_REPEATS = 20
MAX_TOPIC_LENGTH = 60
#: Unused confirmation links one address may hold for one session (against mail flooding).
MAX_OPEN_CONFIRMATIONS = 3
#: Thank-you mails are not sent for sessions that ended longer ago than this.
THANK_YOU_WITHIN = timedelta(days=14)

Status = RegistrationStatus


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_check_in_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


# --- Sessions -------------------------------------------------------------------------------


@dataclass
class SessionData:
    """What a librarian (or an imported row) says about a session."""

    title: dict[str, str]
    format: SessionFormat
    starts_at: datetime
    ends_at: datetime
    capacity: int
    language: str
    audience: str = "all"
    description: dict[str, str] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    location: str = ""
    online_url: str | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    cancel_cutoff_hours: int | None = None  #: None: the configured default
    listed: bool = True
    presenters: list[User] = field(default_factory=list)
    quiz_module_id: int | None = None
    cohort_id: int | None = None


def clean_localised(texts: dict[str, str]) -> dict[str, str]:
    return {lang: text.strip() for lang, text in texts.items() if text and text.strip()}


def clean_topics(topics: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for topic in topics:
        name = " ".join(topic.split())[:MAX_TOPIC_LENGTH]
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def is_web_address(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_session_data(data: SessionData) -> None:
    """Raise ``DomainError`` naming the field of the first rule ``data`` breaks."""
    if data.language not in SUPPORTED_LANGUAGES:
        raise DomainError(_("Choose the language of instruction."), field="language")
    if not clean_localised(data.title).get(data.language):
        raise DomainError(
            _("Give the title in the language of instruction."), field=f"title_{data.language}"
        )
    if data.ends_at <= data.starts_at:
        raise DomainError(_("The session must end after it starts."), field="duration_minutes")
    if data.capacity < 1:
        raise DomainError(_("The capacity must be at least 1."), field="capacity")
    if data.audience not in AUDIENCES:
        raise DomainError(_("Choose the audience."), field="audience")
    if set(data.frames) - set(FRAMES):
        raise DomainError(_("Choose frames of the ACRL Framework."), field="frames")
    _check_place_and_link(data)
    _check_windows(data)
    for person in data.presenters:
        if not person.has_any_role(Role.LIBRARIAN, Role.ADMIN):
            raise DomainError(
                _("%(name)s is not a librarian and cannot present.", name=person.name),
                field="presenters",
            )


def _check_place_and_link(data: SessionData) -> None:
    if data.format.has_room and not data.location.strip():
        raise DomainError(_("Give the room of a session held in person."), field="location")
    if data.format.has_link and not is_web_address(data.online_url):
        raise DomainError(
            _("Give the web address (https://...) of an online session."), field="online_url"
        )
    if data.online_url and not is_web_address(data.online_url):
        raise DomainError(_("Give a web address that starts with https://."), field="online_url")


def _check_windows(data: SessionData) -> None:
    opens, closes = data.registration_opens_at, data.registration_closes_at
    if closes is not None and closes > data.ends_at:
        raise DomainError(
            _("Registration must close before the session ends."), field="registration_closes_at"
        )
    if opens is not None and opens >= (closes or data.starts_at):
        raise DomainError(
            _("Registration must open before it closes."), field="registration_opens_at"
        )
    if data.cancel_cutoff_hours is not None and data.cancel_cutoff_hours < 0:
        raise DomainError(_("The cut-off cannot be negative."), field="cancel_cutoff_hours")


def _apply(session: InfoSession, data: SessionData, weeks: int = 0) -> None:
    session.title = clean_localised(data.title)
    session.description = clean_localised(data.description)
    session.topics = clean_topics(data.topics)
    session.frames = [frame for frame in FRAMES if frame in data.frames]
    session.format = data.format
    session.location = data.location.strip() if data.format.has_room else ""
    session.online_url = (data.online_url or "").strip() or None
    session.starts_at = shift_weeks(data.starts_at, weeks)
    session.ends_at = shift_weeks(data.ends_at, weeks)
    session.capacity = data.capacity
    session.registration_opens_at = _shift_optional(data.registration_opens_at, weeks)
    session.registration_closes_at = _shift_optional(data.registration_closes_at, weeks)
    session.cancel_cutoff_hours = (
        current_app.config["INFO_SESSION_CANCEL_CUTOFF_HOURS"]
        if data.cancel_cutoff_hours is None
        else data.cancel_cutoff_hours
    )
    session.audience = data.audience
    session.language = data.language
    session.listed = data.listed
    session.presenters = list(data.presenters)
    session.quiz_module_id = data.quiz_module_id
    session.cohort_id = data.cohort_id


def shift_weeks(moment: datetime, weeks: int) -> datetime:
    """``moment`` ``weeks`` later at the same wall-clock time in the library (across DST)."""
    if weeks == 0:
        return moment
    local = moment.astimezone(library_zone()).replace(tzinfo=None) + timedelta(weeks=weeks)
    return from_library_time(local)


def _shift_optional(moment: datetime | None, weeks: int) -> datetime | None:
    return None if moment is None else shift_weeks(moment, weeks)


def create_sessions(
    data: SessionData,
    actor: User | None,
    *,
    repeat_weeks: int = 0,
    request: InstructionRequest | None = None,
) -> list[InfoSession]:
    """Create a session, or a series of ``repeat_weeks`` + 1 weekly dates."""
    check_session_data(data)
    if not 0 <= repeat_weeks <= MAX_REPEATS:
        raise DomainError(
            _("Repeat a session at most %(n)d times.", n=MAX_REPEATS), field="repeat_weeks"
        )
    series = InfoSessionSeries(created_by_id=actor.id if actor else None) if repeat_weeks else None
    if series is not None:
        db.session.add(series)
    sessions = []
    for weeks in range(repeat_weeks + 1):
        session = InfoSession(
            series=series,
            check_in_code=new_check_in_code(),
            created_by_id=actor.id if actor else None,
        )
        _apply(session, data, weeks)
        db.session.add(session)
        sessions.append(session)
    db.session.flush()
    for session in sessions:
        quizzes.sync_session_quiz(session, actor)
    if request is not None and actor is not None:
        schedule_request(request, sessions[0], actor)
    return sessions


def update_session(
    session: InfoSession,
    data: SessionData,
    now: datetime | None = None,
    *,
    actor: User | None = None,
) -> None:
    """Change a session; a larger capacity gives places to the first people waiting. The
    session's tests follow its new times, presenters and module (see ``quizzes``)."""
    now = now or utcnow()
    session = lock_session(session.id)
    if session.is_cancelled:
        raise DomainError(_("A cancelled session cannot be changed."))
    check_session_data(data)
    taken = places_taken(session.id)
    if data.capacity < taken:
        raise DomainError(
            ngettext(
                "%(num)d person already has a place, so the capacity cannot be lower.",
                "%(num)d people already have a place, so the capacity cannot be lower.",
                taken,
            ),
            field="capacity",
        )
    _apply(session, data)
    session.revision += 1
    db.session.flush()
    quizzes.sync_session_quiz(session, actor, now)
    fill_places(session, now)


def cancel_session(session: InfoSession, now: datetime | None = None) -> int:
    """Cancel the session and everyone's registration, telling them; returns how many."""
    now = now or utcnow()
    session = lock_session(session.id)
    if session.is_cancelled:
        raise Conflict(_("This session has already been cancelled."))
    if session.ends_at <= now:
        raise DomainError(_("A session that has taken place cannot be cancelled."))
    session.cancelled_at = now
    session.revision += 1
    quizzes.close_tests(session, now)
    affected = active_registrations(session.id)
    for registration in affected:
        registration.status = Status.CANCELLED
        registration.cancelled_at = now
    db.session.flush()
    for registration in affected:
        mails.send_session_cancelled(registration)
    return len(affected)


# --- Registration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Guest:
    """Someone without an account who confirmed their email address."""

    email: str
    name: str
    locale: str | None = None


Person = User | Guest


def lock_session(session_id: int) -> InfoSession:
    """The session, re-read under a lock that serialises every change to its places.

    PostgreSQL: ``SELECT ... FOR UPDATE`` on the session row. SQLite: every write transaction
    holds the database's write lock from its first statement (``BEGIN IMMEDIATE``), which
    serialises writers already; ``FOR UPDATE`` is not emitted there.
    """
    found = db.session.scalar(
        select(InfoSession)
        .where(InfoSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(_("This session does not exist."))
    return found


def _reload(registration: Registration) -> Registration:
    fresh = db.session.scalar(
        select(Registration)
        .where(Registration.id == registration.id)
        .execution_options(populate_existing=True)
    )
    if fresh is None:
        raise NotFound(_("This registration does not exist."))
    return fresh


def places_taken(session_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.session_id == session_id, Registration.status.in_(WITH_PLACE))
    )


def _next_place(session_id: int) -> int:
    last = db.session.scalar(
        select(func.max(Registration.place)).where(Registration.session_id == session_id)
    )
    return (last or 0) + 1


def active_registrations(session_id: int) -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.session_id == session_id, Registration.status.in_(ACTIVE))
            .order_by(Registration.place)
        )
    )


def find_registration(session_id: int, person: Person) -> Registration | None:
    query = select(Registration).where(Registration.session_id == session_id)
    if isinstance(person, User):
        query = query.where(Registration.user_id == person.id)
    else:
        query = query.where(Registration.guest_email == normalise_email(person.email))
    return db.session.scalar(query)


def registration_problem(session: InfoSession, now: datetime) -> str | None:
    """Why nobody can register now, or None when registration is open."""
    if session.is_cancelled:
        return _("This session has been cancelled.")
    if now >= session.starts_at:
        return _("This session has already started.")
    if session.registration_opens_at is not None and now < session.registration_opens_at:
        return _(
            "Registration opens on %(date)s.",
            date=format_datetime(session.registration_opens_at, "medium"),
        )
    if now >= session.registration_closes:
        return _("Registration for this session has closed.")
    return None


def register(
    session: InfoSession, person: Person, *, now: datetime | None = None, notify: bool = True
) -> Registration:
    """Give ``person`` a place, or a place on the waitlist when the session is full."""
    now = now or utcnow()
    session = lock_session(session.id)
    problem = registration_problem(session, now)
    if problem:
        raise DomainError(problem)
    registration = find_registration(session.id, person)
    if registration is not None and registration.is_active:
        if registration.status is Status.WAITLISTED:
            raise Conflict(_("You are already on the waitlist for this session."))
        raise Conflict(_("You are already registered for this session."))
    full = places_taken(session.id) >= session.capacity
    place = _next_place(session.id)
    if registration is None:
        registration = Registration(session_id=session.id)
        db.session.add(registration)
    for name, value in _person_fields(person).items():
        setattr(registration, name, value)
    registration.status = Status.WAITLISTED if full else Status.REGISTERED
    registration.place = place
    registration.cancelled_at = registration.promoted_at = registration.checked_in_at = None
    _flush_registration()
    if registration.is_guest:
        registration.guest_token_hash = digest(guest_token(registration))
    if notify:
        mails.send_registration(registration)
    return registration


def _person_fields(person: Person) -> dict[str, object]:
    if isinstance(person, User):
        return {"user_id": person.id}
    return {
        "guest_email": normalise_email(person.email),
        "guest_name": person.name.strip(),
        "locale": person.locale,
    }


def _flush_registration() -> None:
    # The lock makes this unreachable in practice; the constraints are the last line of defence.
    try:
        db.session.flush()
    except IntegrityError as error:
        raise Conflict(_("You are already registered for this session.")) from error


def register_series(
    session: InfoSession, user: User, now: datetime | None = None
) -> list[Registration]:
    """Register ``user`` for every date of the series still open, in date order; one mail."""
    now = now or utcnow()
    if session.series_id is None:
        raise DomainError(_("This session is not part of a series."))
    dates = db.session.scalars(
        select(InfoSession)
        .where(InfoSession.series_id == session.series_id)
        .order_by(InfoSession.starts_at, InfoSession.id)
    ).all()
    made = []
    for date in dates:
        existing = find_registration(date.id, user)
        if registration_problem(date, now) or (existing is not None and existing.is_active):
            continue
        made.append(register(date, user, now=now, notify=False))
    if not made:
        raise DomainError(_("You are already registered for every date still open."))
    mails.send_series_registration(user, made)
    return made


def guest_token(registration: Registration) -> str:
    """The token of a guest's link to their registration, derived from the secret key.

    It can be put in every mail to the guest, while the database keeps only its SHA-256.
    """
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"ilms-guest-registration:{registration.id}".encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def find_guest_registration(token: str) -> Registration:
    registration = db.session.scalar(
        select(Registration).where(Registration.guest_token_hash == digest(token))
    )
    if registration is None or not hmac.compare_digest(guest_token(registration), token):
        raise NotFound(_("This link does not lead to a registration. Please check it."))
    return registration


def request_guest_place(
    session: InfoSession, email: str, name: str, locale: str | None, now: datetime | None = None
) -> None:
    """Email a guest a single-use link that confirms their address and asks for the place."""
    now = now or utcnow()
    problem = registration_problem(session, now)
    if problem:
        raise DomainError(problem)
    if not name.strip():
        raise DomainError(_("Give your name."), field="name")
    email = normalise_email(email)
    if _open_confirmations(session, email, now) >= MAX_OPEN_CONFIRMATIONS:
        raise DomainError(
            _("We have already sent you links for this session. Please look in your email."),
            field="email",
        )
    token = secrets.token_urlsafe(32)
    hours = current_app.config["INFO_SESSION_GUEST_LINK_HOURS"]
    confirmation = GuestConfirmation(
        token_hash=digest(token),
        session_id=session.id,
        email=email,
        name=name.strip(),
        locale=locale,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(confirmation)
    db.session.flush()
    mails.send_guest_confirmation(confirmation, token, hours)


def _open_confirmations(session: InfoSession, email: str, now: datetime) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(GuestConfirmation)
        .where(
            GuestConfirmation.session_id == session.id,
            GuestConfirmation.email == email,
            GuestConfirmation.used_at.is_(None),
            GuestConfirmation.expires_at > now,
        )
    )


def find_guest_confirmation(
    token: str, now: datetime | None = None, *, lock: bool = False
) -> GuestConfirmation:
    """The unused, unexpired confirmation of ``token``; ``lock`` it to use it."""
    now = now or utcnow()
    query = select(GuestConfirmation).where(GuestConfirmation.token_hash == digest(token))
    confirmation = db.session.scalar(query.with_for_update() if lock else query)
    if confirmation is None or confirmation.used_at is not None or confirmation.expires_at <= now:
        raise DomainError(
            _("This confirmation link has expired or has already been used. Please register again.")
        )
    return confirmation


def confirm_guest(token: str, now: datetime | None = None) -> Registration:
    """Use a guest's link: register them (as their account, if the address has one)."""
    now = now or utcnow()
    confirmation = find_guest_confirmation(token, now, lock=True)
    confirmation.used_at = now
    user = find_user_by_email(confirmation.email)
    person: Person = (
        user
        if user is not None and user.active
        else Guest(confirmation.email, confirmation.name, confirmation.locale)
    )
    return register(confirmation.session, person, now=now)


# --- Cancellation and the waitlist ----------------------------------------------------------


def cancel_registration(
    registration: Registration, *, by_staff: bool = False, now: datetime | None = None
) -> list[Registration]:
    """Give up a place (or leave the waitlist); returns the people promoted in its stead.

    People with a place may cancel until the session's cut-off, people waiting until the start;
    librarians (``by_staff``) at any time before attendance is recorded.
    """
    now = now or utcnow()
    session = lock_session(registration.session_id)
    registration = _reload(registration)
    if registration.status is Status.CANCELLED:
        raise Conflict(_("This registration is already cancelled."))
    if registration.status in (Status.ATTENDED, Status.NO_SHOW):
        raise DomainError(
            _("Attendance has been recorded for this registration; it cannot be cancelled.")
        )
    if not by_staff:
        _check_cut_off(session, registration, now)
    had_place = registration.status is Status.REGISTERED
    registration.status = Status.CANCELLED
    registration.cancelled_at = now
    db.session.flush()
    return fill_places(session, now) if had_place else []


def _check_cut_off(session: InfoSession, registration: Registration, now: datetime) -> None:
    if now >= session.starts_at:
        raise DomainError(_("The session has started: it is too late to cancel."))
    if registration.status is Status.REGISTERED and now >= session.cancel_until:
        raise DomainError(
            _(
                "Places can be given up until %(time)s. Please contact the library.",
                time=format_datetime(session.cancel_until, "medium"),
            )
        )


def fill_places(session: InfoSession, now: datetime) -> list[Registration]:
    """Give free places to the first people waiting, in waitlist order, and tell them.

    Call with the session locked. Nobody is promoted once the session has started.
    """
    if session.is_cancelled or now >= session.starts_at:
        return []
    free = session.capacity - places_taken(session.id)
    if free <= 0:
        return []
    promoted = list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.session_id == session.id,
                Registration.status == Status.WAITLISTED,
            )
            .order_by(Registration.place)
            .limit(free)
        )
    )
    for registration in promoted:
        registration.status = Status.REGISTERED
        registration.promoted_at = now
    db.session.flush()
    for registration in promoted:
        mails.send_promotion(registration)
    return promoted


# --- Attendance -----------------------------------------------------------------------------


def check_in_window(session: InfoSession) -> tuple[datetime, datetime]:
    grace = timedelta(minutes=current_app.config["INFO_SESSION_CHECK_IN_GRACE_MINUTES"])
    return session.starts_at - grace, session.ends_at + grace


def check_in_open(session: InfoSession, now: datetime) -> bool:
    opens, closes = check_in_window(session)
    return not session.is_cancelled and opens <= now <= closes


def check_in(
    session: InfoSession,
    code: str,
    person: User | Registration,
    now: datetime | None = None,
) -> Registration:
    """Record that ``person`` came, with the code shown in the room; valid only during the
    session. Someone without a place (waiting, or not registered) who has the code was let in."""
    now = now or utcnow()
    session = lock_session(session.id)
    if not check_in_open(session, now):
        opens, closes = check_in_window(session)
        raise DomainError(
            _(
                "Check-in is open only during the session, from %(opens)s to %(closes)s.",
                opens=format_datetime(opens, "short"),
                closes=format_datetime(closes, "short"),
            ),
            field="code",
        )
    if not hmac.compare_digest(normalise_code(code).encode(), session.check_in_code.encode()):
        raise DomainError(
            _("This is not the code shown in the room. Check it and try again."), field="code"
        )
    if isinstance(person, Registration):
        registration: Registration | None = _reload(person)
    else:
        registration = find_registration(session.id, person)
    if registration is None:
        registration = Registration(
            session_id=session.id, user_id=person.id, place=_next_place(session.id)
        )
        db.session.add(registration)
    registration.status = Status.ATTENDED
    registration.checked_in_at = registration.checked_in_at or now
    _flush_registration()
    _attendance_changed(session)
    return registration


def _attendance_changed(session: InfoSession) -> None:
    """The reports of a cohort the session was held for split students by attendance."""
    if session.cohort_id is not None:
        mark_cohort_stale(session.cohort_id)


def roster(session: InfoSession) -> list[Registration]:
    """The people with a place, by name."""
    people = [r for r in active_registrations(session.id) if r.status in WITH_PLACE]
    return sorted(people, key=lambda r: (r.name.casefold(), r.id))


def waitlist(session: InfoSession) -> list[Registration]:
    return [r for r in active_registrations(session.id) if r.status is Status.WAITLISTED]


def record_attendance(
    session: InfoSession,
    marks: dict[int, RegistrationStatus],
    *,
    close: bool = False,
    now: datetime | None = None,
) -> None:
    """Mark people on the roster as attended or not; ``close`` makes the unmarked no-shows."""
    now = now or utcnow()
    session = lock_session(session.id)
    if session.is_cancelled:
        raise DomainError(_("This session has been cancelled."))
    if now < check_in_window(session)[0]:
        raise DomainError(_("Attendance can be recorded once the session begins."))
    people = {r.id: r for r in roster(session)}
    for registration_id, status in marks.items():
        if status not in (Status.ATTENDED, Status.NO_SHOW):
            raise DomainError(_("Mark each person as attended or not."))
        if registration_id not in people:
            raise DomainError(_("Someone marked is not on the roster of this session."))
        people[registration_id].status = status
    db.session.flush()
    _attendance_changed(session)
    if close:
        close_roster(session, now)


def close_roster(session: InfoSession, now: datetime) -> int:
    """Record everyone still unmarked as a no-show, and thank those who came; returns the
    number of no-shows recorded. The roster can still be corrected afterwards."""
    unmarked = [r for r in roster(session) if r.status is Status.REGISTERED]
    for registration in unmarked:
        registration.status = Status.NO_SHOW
    if session.roster_closed_at is None:
        session.roster_closed_at = now
    db.session.flush()
    send_thank_yous(session, now)
    return len(unmarked)


# --- Feedback -------------------------------------------------------------------------------


def give_feedback(
    registration: Registration, rating: int, useful: str, comments: str
) -> SessionFeedback:
    """Record (or replace) an attendee's answers to the session's survey."""
    if registration.status is not Status.ATTENDED:
        raise DomainError(_("The survey is for people who attended the session."))
    if not 1 <= rating <= 5:
        raise DomainError(_("Choose a rating from 1 to 5."), field="rating")
    feedback = registration.feedback or SessionFeedback(registration_id=registration.id)
    feedback.rating = rating
    feedback.useful = useful.strip()
    feedback.comments = comments.strip()
    db.session.add(feedback)
    db.session.flush()
    return feedback


# --- Mails sent once, and the periodic pass --------------------------------------------------


def claim_mail(registration: Registration, kind: str) -> bool:
    """Record that ``kind`` is being sent to ``registration``; False if it already was.

    The unique constraint decides between two runs of the job at the same moment: the second
    insert waits for the first transaction and then fails.
    """
    try:
        with db.session.begin_nested():
            db.session.add(SessionMail(registration_id=registration.id, kind=kind))
    except IntegrityError:
        return False
    return True


def _not_yet_mailed(kind: str):  # type: ignore[no-untyped-def]
    return (
        ~select(SessionMail.id)
        .where(SessionMail.registration_id == Registration.id, SessionMail.kind == kind)
        .exists()
    )


def send_due_reminders(now: datetime | None = None) -> int:
    """Remind people with a place of a session starting within ``INFO_SESSION_REMINDER_HOURS``."""
    now = now or utcnow()
    horizon = now + timedelta(hours=current_app.config["INFO_SESSION_REMINDER_HOURS"])
    due = db.session.scalars(
        select(Registration)
        .join(InfoSession)
        .where(
            Registration.status == Status.REGISTERED,
            InfoSession.cancelled_at.is_(None),
            InfoSession.starts_at > now,
            InfoSession.starts_at <= horizon,
            _not_yet_mailed("reminder"),
        )
        .order_by(Registration.id)
    ).all()
    sent = 0
    for registration in due:
        if claim_mail(registration, "reminder"):
            mails.send_reminder(registration)
            sent += 1
    return sent


def send_thank_yous(session: InfoSession, now: datetime) -> int:
    if session.ends_at < now - THANK_YOU_WITHIN:
        return 0
    attended = db.session.scalars(
        select(Registration).where(
            Registration.session_id == session.id,
            Registration.status == Status.ATTENDED,
            _not_yet_mailed("thank_you"),
        )
    ).all()
    sent = 0
    for registration in attended:
        if claim_mail(registration, "thank_you"):
            mails.send_thank_you(registration)
            sent += 1
    return sent


@dataclass(frozen=True)
class PassResult:
    reminders: int
    rosters_closed: int
    thank_yous: int


def run_periodic_pass(now: datetime | None = None) -> PassResult:
    """Send due reminders, close rosters left open after sessions, thank attendees."""
    now = now or utcnow()
    reminders = send_due_reminders(now)
    overdue = now - timedelta(hours=current_app.config["INFO_SESSION_ROSTER_CLOSE_HOURS"])
    to_close = db.session.scalars(
        select(InfoSession.id).where(
            InfoSession.roster_closed_at.is_(None),
            InfoSession.cancelled_at.is_(None),
            InfoSession.ends_at <= overdue,
        )
    ).all()
    for session_id in to_close:
        close_roster(lock_session(session_id), now)
    recent = db.session.scalars(
        select(InfoSession).where(
            InfoSession.roster_closed_at.is_not(None),
            InfoSession.ends_at >= now - THANK_YOU_WITHIN,
        )
    ).all()
    thank_yous = sum(send_thank_yous(session, now) for session in recent)
    return PassResult(reminders, len(to_close), thank_yous)


# --- Instruction requests -------------------------------------------------------------------


@dataclass
class RequestData:
    course: str
    topics: str
    preferred_dates: str
    language: str
    format: SessionFormat
    students: int | None = None
    notes: str = ""
    cohort_id: int | None = None


def create_request(faculty: User, data: RequestData) -> InstructionRequest:
    course = data.course.strip()
    if data.cohort_id is not None:
        try:
            cohort = cohort_for_staff(faculty, data.cohort_id)
        except NotFound as error:
            raise DomainError(_("Choose one of your cohorts."), field="cohort") from error
        course = course or cohort.label
    if not course:
        raise DomainError(_("Name the course and section."), field="course")
    if not data.topics.strip():
        raise DomainError(_("Say what the session should cover."), field="topics")
    if data.language not in SUPPORTED_LANGUAGES:
        raise DomainError(_("Choose the language of instruction."), field="language")
    if data.students is not None and data.students < 1:
        raise DomainError(_("The number of students must be at least 1."), field="students")
    request = InstructionRequest(
        requested_by_id=faculty.id,
        cohort_id=data.cohort_id,
        course=course[:200],
        topics=data.topics.strip(),
        preferred_dates=data.preferred_dates.strip(),
        students=data.students,
        language=data.language,
        format=data.format,
        notes=data.notes.strip(),
    )
    db.session.add(request)
    db.session.flush()
    return request


def _check_open_request(request: InstructionRequest) -> None:
    if request.status not in (RequestStatus.REQUESTED, RequestStatus.ACCEPTED):
        raise Conflict(_("This request has already been answered."))


def accept_request(request: InstructionRequest, librarian: User, message: str) -> None:
    if request.status is not RequestStatus.REQUESTED:
        raise Conflict(_("This request has already been answered."))
    request.status = RequestStatus.ACCEPTED
    request.librarian_id = librarian.id
    request.response = message.strip()
    db.session.flush()
    mails.send_request_update(request)


def decline_request(request: InstructionRequest, librarian: User, message: str) -> None:
    _check_open_request(request)
    if not message.strip():
        raise DomainError(_("Tell the instructor why, in a few words."), field="message")
    request.status = RequestStatus.DECLINED
    request.librarian_id = librarian.id
    request.response = message.strip()
    db.session.flush()
    mails.send_request_update(request)


def schedule_request(request: InstructionRequest, session: InfoSession, librarian: User) -> None:
    """Link the request to the session created for it, and tell the instructor."""
    _check_open_request(request)
    request.status = RequestStatus.SCHEDULED
    request.session_id = session.id
    request.librarian_id = request.librarian_id or librarian.id
    if session.cohort_id is None:
        session.cohort_id = request.cohort_id
    db.session.flush()
    mails.send_request_update(request)


# --- Annual reports -------------------------------------------------------------------------


def request_annual_report(year: int, term: str | None, actor: User, locale: str) -> AnnualReport:
    """Record a request for the report; the caller commits, then queues ``jobs.annual_report``."""
    report = AnnualReport(year=year, term=term, locale=locale, requested_by_id=actor.id)
    db.session.add(report)
    db.session.flush()
    return report


def finish_annual_report(report: AnnualReport, pdf: bytes | None, error: str | None) -> None:
    report.pdf = pdf
    report.error = error
    report.status = ReportStatus.DONE if pdf is not None else ReportStatus.FAILED
    report.finished_at = utcnow()
    db.session.flush()
