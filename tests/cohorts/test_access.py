"""Who may open each cohort page and send each cohort form.

Faculty and librarians see only their cohorts (404 for the others, so that ids do not leak),
instructors see but cannot change (403), admins see all; students get 404 and anonymous visitors
are sent to log in. A refused POST changes nothing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts import services
from ilms.cohorts.models import Cohort
from ilms.db import utcnow
from ilms.extensions import db
from tests.cohorts.conftest import World, load_cohort, token_for

ROLES = ("anonymous", "student", "outsider", "instructor", "owner", "librarian", "admin")
BOGUS_TOKEN = "A" * 32
CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*>')


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str  #: formatted with cohort, assignment, student (ids) and token
    manage: bool  #: a change (or a form to make one): owners, librarians, admins only
    data: Callable[[World], dict[str, object]] | None = None

    def __str__(self) -> str:
        return self.name


GET_CASES = [
    Case("cohort", "GET", "/cohorts/{cohort}", manage=False),
    Case("members", "GET", "/cohorts/{cohort}/members", manage=False),
    Case("export", "GET", "/cohorts/{cohort}/roster.csv", manage=False),
    Case("edit-form", "GET", "/cohorts/{cohort}/edit", manage=True),
    Case("assign-form", "GET", "/cohorts/{cohort}/assignments/new", manage=True),
    Case("settings-form", "GET", "/cohorts/{cohort}/assignments/{assignment}/edit", manage=True),
    Case("import-form", "GET", "/cohorts/{cohort}/roster/import", manage=True),
    Case("import-preview", "GET", "/cohorts/{cohort}/roster/import/{token}", manage=True),
]


def _edit(world: World) -> dict[str, object]:
    return {"course_code": "HACK", "course_title": "Changed", "term": "T", "language": "en"}


def _settings(world: World) -> dict[str, object]:
    return {
        "opens_at": "2026-09-01T09:00",
        "closes_at": "2026-09-02T09:00",
        "attempts_allowed": "5",
        "counting": "best",
        "feedback_policy": "never",
    }


POST_CASES = [
    Case("edit", "POST", "/cohorts/{cohort}/edit", True, _edit),
    Case("new-code", "POST", "/cohorts/{cohort}/join-code", True),
    Case("joining", "POST", "/cohorts/{cohort}/joining", True, lambda w: {"enabled": "off"}),
    Case(
        "add-staff",
        "POST",
        "/cohorts/{cohort}/members/staff",
        True,
        lambda w: {"email": w.outsider.email, "role": "owner"},
    ),
    Case("remove", "POST", "/cohorts/{cohort}/members/{student}/remove", True),
    Case(
        "accommodations",
        "POST",
        "/cohorts/{cohort}/members/{student}/accommodations",
        True,
        lambda w: {f"m{w.student.id}-time_multiplier": "2", f"m{w.student.id}-extra_attempts": "3"},
    ),
    Case("assign", "POST", "/cohorts/{cohort}/assignments/new", True, _settings),
    Case("settings", "POST", "/cohorts/{cohort}/assignments/{assignment}/edit", True, _settings),
    Case("adopt", "POST", "/cohorts/{cohort}/assignments/{assignment}/adopt", True),
    Case(
        "upload",
        "POST",
        "/cohorts/{cohort}/roster/import",
        True,
        lambda w: {"file": (io.BytesIO(b"email\nnew@example.edu\n"), "r.csv")},
    ),
    Case("confirm", "POST", "/cohorts/{cohort}/roster/import/{token}", True),
]


def person(world: World, role: str) -> User | None:
    return None if role == "anonymous" else getattr(world, role)


def url(case: Case, world: World, cohort_id: int | None = None) -> str:
    return case.path.format(
        cohort=cohort_id or world.cohort_id,
        assignment=world.assignment_id,
        student=world.student.id,
        token=BOGUS_TOKEN,
    )


def expected_refusal(case: Case, role: str) -> int | None:
    """The status a refused person gets, or None when the page is theirs."""
    if role == "anonymous":
        return 302
    if role in ("student", "outsider"):
        return 404
    if role == "instructor" and case.manage:
        return 403
    return None


def send(client: FlaskClient, case: Case, world: World, path: str, logged_in: bool):
    if case.method == "GET":
        return client.get(path)
    data = {"csrf_token": token_for(client, logged_in), **(case.data(world) if case.data else {})}
    return client.post(path, data=data, content_type="multipart/form-data")


def snapshot(app: Flask, cohort_id: int) -> tuple[object, ...]:
    cohort = load_cohort(app, cohort_id)
    return (
        cohort.course_code,
        cohort.join_code,
        cohort.join_enabled,
        sorted((m.user_id, m.role, m.time_multiplier, m.extra_attempts) for m in cohort.members),
        [(a.attempts_allowed, a.counting, a.module_version_id) for a in cohort.assignments],
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", GET_CASES + POST_CASES, ids=str)
def test_access(app: Flask, world: World, client_for, case: Case, role: str) -> None:
    user = person(world, role)
    client = client_for(user)
    before = snapshot(app, world.cohort_id)
    response = send(client, case, world, url(case, world), user is not None)
    refusal = expected_refusal(case, role)
    if refusal is None:
        assert response.status_code not in (401, 403, 404) or case.name in (
            "import-preview",
            "confirm",  # the bogus upload token is unknown: 404 after the access check
        ), response.get_data(as_text=True)[:500]
        return
    assert response.status_code == refusal, response.get_data(as_text=True)[:500]
    if refusal == 302:
        assert "/login" in response.headers["Location"]
    assert snapshot(app, world.cohort_id) == before


@pytest.mark.parametrize("case", GET_CASES + POST_CASES, ids=str)
def test_staff_of_one_cohort_get_404_for_another(app, world, client_for, case):
    """The owner of one cohort probing the id of another sees no difference from a missing id."""
    client = client_for(world.owner)
    other_path, missing_path = (url(case, world, c) for c in (world.other_cohort_id, 10**8))
    other = send(client, case, world, other_path, True)
    missing = send(client, case, world, missing_path, True)
    assert other.status_code == missing.status_code == 404
    assert normalised(other.get_data(as_text=True), other_path) == normalised(
        missing.get_data(as_text=True), missing_path
    )


def normalised(page: str, path: str) -> str:
    """The page without what differs between any two requests: the CSRF token, and the address
    the language switcher returns to."""
    return CSRF_VALUE.sub("", page.replace(path, "PATH"))


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("student", 403), ("owner", 200), ("librarian", 200), ("admin", 200)],
)
@pytest.mark.parametrize("path", ["/cohorts", "/cohorts/new"])
def test_cohort_list_and_new_form_need_a_staff_role(world, client_for, role, status, path):
    response = client_for(person(world, role)).get(path)
    assert response.status_code == status


def test_a_student_cannot_create_a_cohort(world, client_for):
    client = client_for(world.student)
    data = {"csrf_token": token_for(client), "course_code": "X", "course_title": "Y", "term": "Z"}
    assert client.post("/cohorts/new", data=data).status_code == 403


def test_a_post_without_csrf_token_is_refused(app, world, client_for):
    client = client_for(world.owner)
    before = snapshot(app, world.cohort_id)
    response = client.post(f"/cohorts/{world.cohort_id}/join-code")
    assert response.status_code == 400
    assert snapshot(app, world.cohort_id) == before


def test_an_assignment_of_another_cohort_is_not_found(world, client_for, app):
    module_id = load_cohort(app, world.cohort_id).assignments[0].module_id
    with app.app_context():
        other = db.session.get(Cohort, world.other_cohort_id)
        assignment = services.assign_module(
            other,
            db.session.get(Module, module_id),
            opens_at=utcnow(),
            closes_at=utcnow() + timedelta(days=1),
        )
        db.session.commit()
        foreign = assignment.id
    client = client_for(world.owner)
    path = f"/cohorts/{world.cohort_id}/assignments/{foreign}/edit"
    assert client.get(path).status_code == 404
