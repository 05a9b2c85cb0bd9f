"""Factories for report pages: synthetic cohorts, their staff, and clients logged in as them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ilms.accounts.models import User
from ilms.authoring.models import QuestionVersion
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Assignment, Cohort, MemberRole
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase
from ilms.extensions import db
from ilms.reports.synth import SynthCohort, synth_cohort
from tests.conftest import login
from tests.delivery.conftest import enrol, make_assignment, test_module_id  # noqa: F401


@pytest.fixture
def synth(app: Flask) -> Callable[..., SynthCohort]:
    """A committed synthetic cohort (students, pre- and post-tests with a known gain)."""

    def factory(
        students: int = 30, items: int = 8, seed: int = 1, gain: float = 1.0
    ) -> SynthCohort:
        with app.app_context():
            result = synth_cohort(students, items, seed=seed, gain=gain)
            db.session.commit()
            return result

    return factory


@pytest.fixture
def add_staff(app: Flask) -> Callable[..., None]:
    """Make ``user`` a member of the cohort with a staff role (owner by default)."""

    def do(cohort_id: int, user: User, role: MemberRole = MemberRole.OWNER) -> None:
        with app.app_context():
            cohort = db.session.get(Cohort, cohort_id)
            cohorts.add_member(cohort, db.session.get(User, user.id), role)
            db.session.commit()

    return do


@pytest.fixture
def client_as(
    app: Flask, make_user: Callable[..., User], add_staff: Callable[..., None]
) -> Callable[..., tuple[FlaskClient, User]]:
    """A new client logged in as a new user with ``roles``, staff of ``cohort_id`` if given."""

    def do(
        *roles: str,
        cohort_id: int | None = None,
        role: MemberRole = MemberRole.OWNER,
        **fields: Any,
    ) -> tuple[FlaskClient, User]:
        user = make_user(*(roles or ("faculty",)), **fields)
        if cohort_id is not None:
            add_staff(cohort_id, user, role)
        client = app.test_client()
        response = login(client, user)
        assert response.status_code == 302
        return client, user

    return do


def answer_for(question: QuestionVersion, right: bool) -> str:
    """A single-choice answer: the correct option or a wrong one."""
    options = question.data["options"]
    return next(o["id"] for o in options if bool(o.get("correct")) == right)


def take_test(assignment: Assignment, user: User, phase: Phase, right: int) -> None:
    """Start, answer (the first ``right`` choice questions correctly) and submit a test."""
    attempt = delivery.start_attempt(delivery.quiz_of(assignment, phase), user, "en")
    seq = 0
    for qv_id in attempt.question_order:
        question = db.session.get(QuestionVersion, qv_id)
        if question.type != "single_choice":
            continue
        seq += 1
        delivery.save_answer(attempt, qv_id, answer_for(question, seq <= right), seq)
    delivery.submit_attempt(attempt)


@pytest.fixture
def new_attempt(app: Flask, make_user: Callable[..., User]) -> Callable[..., User]:
    """A new student of the assignment's cohort who submits a pre-test (through delivery)."""

    def do(assignment_id: int, phase: Phase = Phase.PRE, right: int = 1) -> User:
        student = make_user("student")
        with app.app_context():
            assignment = db.session.get(Assignment, assignment_id)
            person = db.session.get(User, student.id)
            cohorts.add_member(assignment.cohort, person, MemberRole.STUDENT)
            take_test(assignment, person, phase, right)
            db.session.commit()
        return student

    return do
