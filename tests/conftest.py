"""Shared fixtures: one app per test session on a migrated database, factories, clients.

The database is SQLite in a temporary folder, or PostgreSQL when ``ILMS_TEST_DATABASE_URL`` is set
(each xdist worker then gets a schema of its own, named from ``ILMS_TEST_SCHEMA_PREFIX``, so that
two runs on one server can be kept apart). Tests do not clean up: every factory makes
unique data, so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from werkzeug.serving import make_server

from ilms import create_app
from ilms.accounts import services as account_services
from ilms.accounts.models import User
from ilms.extensions import db
from ilms.permissions import Role

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def unique(prefix: str = "x") -> str:
    return f"{prefix}{os.getpid()}-{next(_counter)}"


def _postgres_url(base_url: str, worker: str) -> str:
    # ILMS_TEST_SCHEMA_PREFIX lets two runs share one PostgreSQL database without meeting.
    schema = f"{os.environ.get('ILMS_TEST_SCHEMA_PREFIX', 'ilms_test')}_{worker}"
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


def upgrade_database(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = os.environ.get("ILMS_TEST_DATABASE_URL")
    if base:
        return _postgres_url(base, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'ilms.sqlite3'}"


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "DATABASE_URL": database_url,
            "MAIL_BACKEND": "memory",
            "QUEUE_IMMEDIATE": True,
            "BASE_URL": "http://localhost",
            "SERVER_NAME": None,
            "ARGON2_PROFILE": "CHEAPEST",
        }
    )
    upgrade_database(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.test_request_context():
        yield app
        db.session.rollback()
        db.session.remove()


@pytest.fixture(scope="session")
def password_hash(app: Flask) -> str:
    with app.app_context():
        return account_services.hash_password(PASSWORD)


@pytest.fixture
def make_user(app: Flask, password_hash: str) -> Callable[..., User]:
    """Create and commit a user; returns it detached-safe (expire_on_commit is off)."""

    def factory(role: Role | str = Role.STUDENT, *roles: Role | str, **fields: Any) -> User:
        with app.app_context():
            user = account_services.create_user(
                fields.pop("email", f"{unique('user')}@example.edu"),
                fields.pop("name", "Test Person"),
                [Role(r) for r in (role, *roles)],
                password_hash=password_hash,
                **fields,
            )
            db.session.commit()
            db.session.refresh(user)
            user_id = user.id
            db.session.expunge_all()
        with app.app_context():
            loaded = db.session.get(User, user_id)
            assert loaded is not None
            _ = loaded.roles
            db.session.expunge(loaded)
            return loaded

    return factory


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """The kinds of SQL statement the app sends while the test runs (BEGIN IMMEDIATE apart)."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        kind = statement.split()[0].upper()
        seen.append(f"{kind} IMMEDIATE" if "IMMEDIATE" in statement else kind)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, user: User | str, password: str = PASSWORD, **environ: Any) -> Any:
    email = user if isinstance(user, str) else user.email
    token = csrf_token_from(client)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


@pytest.fixture
def login_as(client: FlaskClient, make_user: Callable[..., User]) -> Callable[..., User]:
    """Create a user with the given roles and log ``client`` in as them."""

    def do(role: Role | str = Role.STUDENT, *roles: Role | str, **fields: Any) -> User:
        user = make_user(role, *roles, **fields)
        response = login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return do


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The test app served by a threaded server on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def outbox(app: Flask) -> list:
    box = app.extensions.setdefault("ilms_outbox", [])
    box.clear()
    return box
