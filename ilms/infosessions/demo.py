"""Demo data for ``flask ilms seed-demo``: a term of past and upcoming info sessions with
registrations, attendance and feedback, so that the catalogue and the figures are not empty."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.accounts.services import find_user_by_email
from ilms.authoring.models import Module
from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import quizzes
from ilms.infosessions.models import (
    InfoSession,
    Registration,
    RegistrationStatus,
    SessionFeedback,
    SessionFormat,
    SessionMail,
)
from ilms.infosessions.services import SessionData, create_sessions
from ilms.infosessions.timing import from_library_time, library_zone

Status = RegistrationStatus
LIBRARIAN = "librarian@example.edu"
STUDENT = "student@example.edu"
GUESTS = 40
QUIZ_MODULE = "evaluating-sources"  #: a bundled module, imported before the demo data
#: (titles, topics, frames, format, audience, language, minutes, capacity)
CATALOGUE = [
    (
        {
            "en": "Selecting a Journal for Publication",
            "ru": "Как выбрать журнал для публикации",
            "kk": "Жариялау үшін журнал таңдау",
        },
        ["publishing", "research impact"],
        ["scholarship-as-conversation", "information-has-value"],
        SessionFormat.HYBRID,
        "graduate",
        "en",
        90,
        20,
    ),
    (
        {"en": "Intro to GIS", "ru": "Введение в ГИС", "kk": "ГАЖ-ға кіріспе"},
        ["GIS", "data"],
        ["research-as-inquiry"],
        SessionFormat.IN_PERSON,
        "all",
        "ru",
        120,
        12,
    ),
    (
        {
            "en": "Critical thinking about news",
            "ru": "Критическое мышление и новости",
            "kk": "Жаңалықтарға сыни көзқарас",
        },
        ["news literacy", "evaluating sources"],
        ["authority-is-constructed-and-contextual", "information-creation-as-a-process"],
        SessionFormat.IN_PERSON,
        "undergraduate",
        "kk",
        60,
        25,
    ),
    (
        {
            "en": "Searching Scopus and Web of Science",
            "ru": "Поиск в Scopus и Web of Science",
            "kk": "Scopus және Web of Science-те іздеу",
        },
        ["databases", "searching"],
        ["searching-as-strategic-exploration"],
        SessionFormat.ONLINE,
        "all",
        "ru",
        60,
        40,
    ),
    (
        {
            "en": "Managing references with Zotero",
            "ru": "Управление ссылками в Zotero",
            "kk": "Zotero-да сілтемелерді басқару",
        },
        ["citation", "tools"],
        ["information-has-value"],
        SessionFormat.IN_PERSON,
        "all",
        "en",
        90,
        15,
    ),
]
USEFUL = [
    "The live search demonstration.",
    "Проверка источников по шагам.",
    "Дереккөздерді тексеру тәсілдері.",
    "",
]


def _slots(today: date) -> list[datetime]:
    """Tuesdays and Thursdays from eight weeks ago to six weeks ahead, at 10:00 or 14:00."""
    monday = today - timedelta(days=today.weekday())
    starts = []
    for week in range(-8, 7):
        for weekday, hour in ((1, 14), (3, 10)):
            day = monday + timedelta(weeks=week, days=weekday)
            starts.append(from_library_time(datetime.combine(day, time(hour, 0))))
    return starts


def _session(index: int, starts_at: datetime, presenter: User) -> InfoSession:
    titles, topics, frames, session_format, audience, language, minutes, capacity = CATALOGUE[
        index % len(CATALOGUE)
    ]
    data = SessionData(
        title=titles,
        description={"en": "A hands-on workshop: bring a laptop and a question of your own."},
        topics=topics,
        frames=frames,
        format=session_format,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        capacity=capacity,
        language=language,
        audience=audience,
        location="Library, room 204" if session_format.has_room else "",
        online_url="https://meet.example.edu/library" if session_format.has_link else None,
        presenters=[presenter],
    )
    return create_sessions(data, presenter)[0]


def _guest(
    number: int, place: int, status: RegistrationStatus, session: InfoSession
) -> Registration:
    return Registration(
        session_id=session.id,
        guest_email=f"demo-guest-{number}@example.edu",
        guest_name=f"Demo Guest {number}",
        locale=("en", "ru", "kk")[number % 3],
        status=status,
        place=place,
    )


def _past_status(rng: random.Random) -> RegistrationStatus:
    return Status.ATTENDED if rng.random() < 0.8 else Status.NO_SHOW


def _fill(session: InfoSession, rng: random.Random, now: datetime, student: User | None) -> int:
    past = session.ends_at <= now
    registrations = []
    if student is not None:
        status = Status.ATTENDED if past else Status.REGISTERED
        registrations.append(
            Registration(session_id=session.id, user_id=student.id, status=status, place=1)
        )
    wanted = rng.randint(session.capacity // 2, session.capacity + 4)
    for number in rng.sample(range(1, GUESTS + 1), min(wanted, GUESTS)):
        place = len(registrations) + 1
        if place > session.capacity:
            status = Status.WAITLISTED
        else:
            status = _past_status(rng) if past else Status.REGISTERED
        registrations.append(_guest(number, place, status, session))
    db.session.add_all(registrations)
    db.session.flush()
    if past:
        _record_past(session, registrations, rng, now)
    return len(registrations)


def _record_past(
    session: InfoSession, registrations: list[Registration], rng: random.Random, now: datetime
) -> None:
    session.roster_closed_at = session.ends_at + timedelta(hours=1)
    for registration in registrations:
        if registration.status in (Status.ATTENDED, Status.NO_SHOW):
            db.session.add(SessionMail(registration_id=registration.id, kind="reminder"))
        if registration.status is Status.ATTENDED:
            db.session.add(SessionMail(registration_id=registration.id, kind="thank_you"))
            if rng.random() < 0.6:
                db.session.add(
                    SessionFeedback(
                        registration_id=registration.id,
                        rating=rng.choice((3, 4, 4, 5, 5, 5)),
                        useful=rng.choice(USEFUL),
                    )
                )


def seed_demo_sessions() -> list[str]:
    """Create the demo term once (skipped when the demo librarian already has sessions)."""
    librarian = find_user_by_email(LIBRARIAN)
    if librarian is None:
        return []
    existing = db.session.scalar(
        select(func.count())
        .select_from(InfoSession)
        .where(InfoSession.created_by_id == librarian.id)
    )
    if existing:
        return [f"Demo info sessions: {existing} already there.", *_demo_tests(librarian)]
    student = find_user_by_email(STUDENT)
    rng = random.Random(2026)
    now = utcnow()
    today = now.astimezone(library_zone()).date()
    registrations = 0
    slots = _slots(today)
    for index, starts_at in enumerate(slots):
        session = _session(index, starts_at, librarian)
        with_student = student if index % 6 in (0, 1) else None
        registrations += _fill(session, rng, now, with_student)
    db.session.flush()
    return [
        f"Demo info sessions: {len(slots)} sessions, {registrations} registrations.",
        *_demo_tests(librarian),
    ]


def _demo_tests(librarian: User) -> list[str]:
    """Give the demo student's next session a pre-test they can take now and a post-test after
    it, once the bundled module is there (``import-modules`` runs before ``seed-demo``)."""
    module_id = db.session.scalar(select(Module.id).where(Module.slug == QUIZ_MODULE))
    student = find_user_by_email(STUDENT)
    if module_id is None or student is None:
        return []
    demo_sessions = select(InfoSession).where(InfoSession.created_by_id == librarian.id)
    if db.session.scalar(demo_sessions.where(InfoSession.quiz_module_id.is_not(None)).limit(1)):
        return []
    session = db.session.scalar(
        demo_sessions.join(Registration)
        .where(
            Registration.user_id == student.id,
            Registration.status == Status.REGISTERED,
            InfoSession.starts_at > utcnow(),
            InfoSession.cancelled_at.is_(None),
        )
        .order_by(InfoSession.starts_at)
        .limit(1)
    )
    if session is None:
        return []
    session.quiz_module_id = module_id
    quizzes.sync_session_quiz(session, librarian)
    db.session.flush()
    return [f"Demo info session with a pre-test and post-test: {session.title_in('en')}."]
