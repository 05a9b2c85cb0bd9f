# The cohort fixtures are imported to be used here as fixtures; ruff reads the test functions'
# parameters of the same names as redefinitions of them.
# ruff: noqa: F811
"""The cohort pages of faculty and librarians in Chromium: axe-core in en, ru and kk on the cohort
list, the new cohort form, the cohort page, members and accommodations, the assign-module and
settings forms, the roster import and its preview, and the grading of open responses, also with
their error messages shown.

Nothing here reads translated wording: only structure, status codes and accessibility.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page

from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts import services as cohort_services
from ilms.cohorts.models import Cohort, MemberRole
from ilms.db import utcnow
from ilms.extensions import db
from tests.browser.conftest import LANGUAGES, assert_accessible, log_in
from tests.cohorts.conftest import (  # noqa: F401
    World,
    module_factory,
    pending_uploads,
    test_module_id,
    world,
)
from tests.cohorts.test_grading import essay_of, grade, take_pre_test
from tests.conftest import unique
from tests.delivery.conftest import essay_module_id  # noqa: F401

Prepare = Callable[[Page, World], None]


def open_path(page: Page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == status, f"{path} answered {response.status}"
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} went to {page.url}"


def submit(page: Page, selector: str, status: int) -> None:
    with page.expect_navigation() as navigation:
        page.locator(selector).click()
    response = navigation.value
    assert response is not None and response.status == status, response.status if response else None


def upload_roster(page: Page, world: World, text: str) -> None:
    open_path(page, f"/cohorts/{world.cohort_id}/roster/import")
    page.set_input_files(
        "#file", files=[{"name": "class.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    submit(page, "#submit", 200)
    assert "/roster/import/" in page.url


def blank_cohort_form(page: Page, world: World) -> None:
    open_path(page, "/cohorts/new")
    submit(page, "#submit", 400)
    assert page.locator(".error-summary[role=alert]").is_visible()


def bad_accommodations(page: Page, world: World) -> None:
    open_path(page, f"/cohorts/{world.cohort_id}/members")
    page.fill(f"#m{world.student.id}-time_multiplier", "9")
    submit(page, f"#accommodations-{world.student.id} button[type=submit]", 400)
    assert page.locator(".error-summary[role=alert]").is_visible()


def preview_with_errors(page: Page, world: World) -> None:
    upload_roster(
        page,
        world,
        f"ФИО;Почта\nАлия Сейтқали;{unique('new')}@example.edu\nБез почты;\n;not-an-address\n"
        f"Sara Student;{world.student.email}\n",
    )
    assert page.locator(".error-summary[role=alert]").is_visible()


def preview_ready(page: Page, world: World) -> None:
    upload_roster(page, world, f"email,name\n{unique('new')}@example.edu,New Person\n")
    assert page.locator("form input[type=submit]").count() == 1


@dataclass(frozen=True)
class Case:
    name: str
    path: str = ""  #: formatted with ``cohort`` and ``assignment`` ids
    prepare: Prepare | None = None  #: instead of ``path``: steps that end on the page to check

    def __str__(self) -> str:
        return self.name


CASES = [
    Case("cohort-list", "/cohorts"),
    Case("faculty-home", "/faculty"),
    Case("new-cohort", "/cohorts/new"),
    Case("new-cohort-errors", prepare=blank_cohort_form),
    Case("cohort", "/cohorts/{cohort}"),
    Case("members", "/cohorts/{cohort}/members"),
    Case("members-errors", prepare=bad_accommodations),
    Case("assign-module", "/cohorts/{cohort}/assignments/new"),
    Case("module-settings", "/cohorts/{cohort}/assignments/{assignment}/edit"),
    Case("roster-import", "/cohorts/{cohort}/roster/import"),
    Case("roster-preview-errors", prepare=preview_with_errors),
    Case("roster-preview", prepare=preview_ready),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_cohort_page_is_accessible(
    page: Page, language: str, case: Case, world: World, module_factory
) -> None:
    module_factory()  # a published module not yet assigned, for the assign form
    assert log_in(page, world.owner).ok
    if case.prepare:
        case.prepare(page, world)
    else:
        open_path(page, case.path.format(cohort=world.cohort_id, assignment=world.assignment_id))
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_librarian_workbench_with_cohorts_is_accessible(page: Page, language: str, world: World):
    assert log_in(page, world.librarian).ok
    open_path(page, "/librarian")
    assert page.locator(f'a[href="/cohorts/{world.cohort_id}"]').count() == 1
    assert_accessible(page)


def test_instructors_read_only_pages_are_accessible(page: Page, world: World) -> None:
    assert log_in(page, world.instructor).ok
    for path in (f"/cohorts/{world.cohort_id}", f"/cohorts/{world.cohort_id}/members"):
        open_path(page, path)
        assert_accessible(page)


def test_a_phone_shows_the_members_table_without_sideways_page_scrolling(
    page: Page, world: World
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    assert log_in(page, world.owner).ok
    for path in (f"/cohorts/{world.cohort_id}", f"/cohorts/{world.cohort_id}/members"):
        open_path(page, path)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"


@pytest.fixture
def grading_world(app: Flask, world: World, make_user, essay_module_id: int) -> tuple[str, int]:
    """The world's cohort with the essay module: one answer waiting, one graded; returns the
    grading page's path and the waiting answer's id."""
    student = make_user("student", name="Timur Student")
    with app.app_context():
        cohort = db.session.get(Cohort, world.cohort_id)
        now = utcnow()
        assignment = cohort_services.assign_module(
            cohort,
            db.session.get(Module, essay_module_id),
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=7),
        )
        second = db.session.get(User, student.id)
        cohort_services.add_member(cohort, second, MemberRole.STUDENT)
        db.session.commit()
        assignment_id, second_id = assignment.id, second.id
    waiting = take_pre_test(app, assignment_id, world.student.id)
    graded = take_pre_test(app, assignment_id, second_id)
    grade(app, essay_of(app, graded).id, 3, world.owner, "Well argued.")
    path = f"/cohorts/{world.cohort_id}/assignments/{assignment_id}/grading"
    return path, essay_of(app, waiting).id


@pytest.mark.parametrize("language", LANGUAGES)
def test_grading_page_is_accessible(page: Page, language: str, world: World, grading_world):
    path, waiting_id = grading_world
    assert log_in(page, world.instructor).ok
    open_path(page, path)
    assert page.locator("fieldset legend").count() == 2
    assert_accessible(page)
    page.fill(f"#r{waiting_id}-points", "9")
    page.fill(f"#r{waiting_id}-comment", "Kept after the error.")
    submit(page, f"form:has(#r{waiting_id}-points) input[type=submit]", 400)
    assert page.locator(".error-summary[role=alert]").is_visible()
    assert page.locator(f"#r{waiting_id}-points[aria-invalid=true]").count() == 1
    assert page.input_value(f"#r{waiting_id}-comment") == "Kept after the error."
    assert_accessible(page)
