"""Factories for info session tests: sessions at chosen times, registrations, a frozen "now"."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from ilms.accounts import services as account_services
from ilms.accounts.models import User
from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import services
from ilms.infosessions.models import InfoSession, Registration, SessionFormat
from ilms.permissions import Role
from tests.conftest import unique

MakeSession = Callable[..., int]


@pytest.fixture
def librarian(make_user: Callable[..., User]) -> User:
    return make_user(Role.LIBRARIAN, name="Lena Presenter")


def session_data(presenter: User | None = None, **fields: Any) -> services.SessionData:
    starts_at = fields.pop("starts_at", utcnow() + timedelta(days=3))
    minutes = fields.pop("minutes", 60)
    values: dict[str, Any] = {
        "title": {"en": unique("Session "), "ru": "Занятие"},
        "format": SessionFormat.IN_PERSON,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=minutes),
        "capacity": 10,
        "language": "en",
        "location": "Room 101",
        "topics": ["searching"],
        "presenters": [presenter] if presenter is not None else [],
    }
    values.update(fields)
    return services.SessionData(**values)


@pytest.fixture
def make_session(app: Flask, librarian: User) -> MakeSession:
    """Create and commit a session (``starts_at``, ``minutes``, any ``SessionData`` field);
    returns its id."""

    def factory(**fields: Any) -> int:
        with app.test_request_context():
            presenter = db.session.get(User, librarian.id)
            created = services.create_sessions(session_data(presenter, **fields), presenter)
            session_id = created[0].id
            db.session.commit()
            return session_id

    return factory


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """A request context whose database session is thrown away afterwards.

    Within it, make people with ``person`` (same database session), not ``make_user``: on SQLite
    another connection would wait for this session's write lock.
    """
    with app.test_request_context():
        yield app
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def person(password_hash: str) -> Callable[..., User]:
    """Create and commit a user in the current database session."""

    def factory(role: Role | str = Role.STUDENT, **fields: Any) -> User:
        created = account_services.create_user(
            fields.pop("email", f"{unique('person')}@example.edu"),
            fields.pop("name", unique("Person ")),
            [Role(role)],
            password_hash=password_hash,
            **fields,
        )
        db.session.commit()
        return created

    return factory


def get_session(session_id: int) -> InfoSession:
    found = db.session.get(InfoSession, session_id)
    assert found is not None
    return found


def user(user_id: int) -> User:
    found = db.session.get(User, user_id)
    assert found is not None
    return found


def register(
    session_id: int, person: User | services.Guest, now: datetime | None = None
) -> Registration:
    person = user(person.id) if isinstance(person, User) else person
    registration = services.register(get_session(session_id), person, now=now)
    db.session.commit()
    return registration


def mails_to(outbox: list, email: str) -> list:
    return [m for m in outbox if m["To"] == email]
