"""Factories for cohort tests: a cohort with a member of every role, clients logged in as them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ilms.accounts.models import User
from ilms.authoring import services as authoring
from ilms.authoring.models import Module
from ilms.cohorts import services, uploads
from ilms.cohorts.models import Cohort, MemberRole
from ilms.db import utcnow
from ilms.extensions import db
from tests.conftest import csrf_token_from, login, unique
from tests.delivery.conftest import (  # noqa: F401  (fixtures shared with the delivery tests)
    enrol,
    make_assignment,
    test_module_id,
    write_test_module,
)


@pytest.fixture(autouse=True)
def pending_uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Roster files waiting for confirmation go to the test's folder, not the instance folder."""
    folder = tmp_path / "roster-uploads"
    folder.mkdir()
    monkeypatch.setattr(uploads, "_folder", lambda: folder)
    return folder


@dataclass(frozen=True)
class World:
    """A cohort with the test module assigned, a person in every role, and someone outside."""

    cohort_id: int
    other_cohort_id: int
    assignment_id: int
    owner: User
    instructor: User
    librarian: User
    student: User
    outsider: User  #: faculty who owns another cohort
    admin: User


@pytest.fixture
def world(app: Flask, make_user: Callable[..., User], test_module_id: int) -> World:  # noqa: F811
    people = {
        "owner": make_user("faculty", name="Olga Owner"),
        "instructor": make_user("faculty", name="Ivan Instructor"),
        "librarian": make_user("librarian", name="Lena Librarian"),
        "student": make_user("student", name="Sara Student"),
        "outsider": make_user("faculty", name="Oscar Outsider"),
        "admin": make_user("admin", name="Ada Admin"),
    }
    with app.app_context():
        get = lambda key: db.session.get(User, people[key].id)  # noqa: E731
        cohort = services.create_cohort(
            get("owner"),
            course_code="IL101",
            course_title="Research skills",
            term="Fall 2026",
            section=unique("s"),
        )
        services.add_member(cohort, get("instructor"), MemberRole.INSTRUCTOR)
        services.add_member(cohort, get("librarian"), MemberRole.LIBRARIAN)
        services.add_member(cohort, get("student"), MemberRole.STUDENT)
        other = services.create_cohort(
            get("outsider"), course_code="HIS200", course_title="History", term="Fall 2026"
        )
        now = utcnow()
        assignment = services.assign_module(
            cohort,
            db.session.get(Module, test_module_id),
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=7),
        )
        db.session.commit()
        return World(cohort.id, other.id, assignment.id, **people)


@pytest.fixture
def client_for(app: Flask) -> Callable[[User | None], FlaskClient]:
    """A new client logged in as ``user`` (anonymous for None)."""

    def make(user: User | None) -> FlaskClient:
        client = app.test_client()
        if user is not None:
            response = login(client, user)
            assert response.status_code == 302, response.get_data(as_text=True)[:300]
        return client

    return make


def token_for(client: FlaskClient, logged_in: bool = True) -> str:
    return csrf_token_from(client, "/account" if logged_in else "/login")


def load_cohort(app: Flask, cohort_id: int) -> Cohort:
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        assert cohort is not None
        _ = [m.role for m in cohort.members], [a.module_version_id for a in cohort.assignments]
        db.session.expunge_all()
        return cohort


@pytest.fixture
def module_factory(app: Flask, tmp_path: Path) -> Callable[..., int]:
    """Import a fresh test module (a new slug each time); ``version=2`` changes its content."""

    def make(slug: str | None = None, version: int = 1, publish: bool = True) -> int:
        slug = slug or f"cohort-test-{unique('m').lower()}"
        root = tmp_path / f"v{version}-{unique('r')}"
        folder = write_test_module(root, slug)
        if version > 1:
            toml = folder / "module.toml"
            text = toml.read_text(encoding="utf-8").replace("version = 1", f"version = {version}")
            toml.write_text(text.replace("A module for tests.", f"Version {version}."))
        with app.app_context():
            _results, problems = authoring.import_folder(root, publish=publish)
            assert problems == [], problems
            db.session.commit()
            module = db.session.scalar(db.select(Module).where(Module.slug == slug))
            assert module is not None
            return module.id

    return make
