"""Pages of information sessions in a real browser: axe-core in en, ru and kk, the keyboard.

Nothing here reads translated wording: only structure, ``lang``, status codes, focus and axe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page

from ilms.accounts.models import User
from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import services
from ilms.infosessions.models import InfoSession, Registration, SessionFormat
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.permissions import Role
from tests.browser.conftest import LANGUAGES, assert_accessible, focused, log_in, tab_to
from tests.conftest import unique

MakeUser = Callable[..., User]


@dataclass(frozen=True)
class Case:
    name: str
    path: str  #: may name {session}, {past}, {request}, {guest}, {confirm}
    role: Role | None = None
    status: int = 200

    def __str__(self) -> str:
        return self.name


CASES = [
    Case("catalogue", "/sessions"),
    Case("session-anonymous", "/sessions/{session}"),
    Case("session-registered", "/sessions/{session}", Role.STUDENT),
    Case("session-librarian", "/sessions/{past}", Role.LIBRARIAN),
    Case("guest-confirm", "/sessions/confirm/{confirm}"),
    Case("guest-registration", "/sessions/registration/{guest}"),
    Case("session-pre-test", "/sessions/{tested}", Role.STUDENT),
    Case("session-post-test", "/sessions/{tested_past}", Role.STUDENT),
    Case("session-tests-librarian", "/sessions/{tested}", Role.LIBRARIAN),
    Case("guest-registration-tests", "/sessions/registration/{tested_guest}"),
    Case("check-in", "/sessions/{now}/check-in", Role.STUDENT),
    Case("my-sessions", "/sessions/mine", Role.STUDENT),
    Case("roster", "/sessions/{past}/roster", Role.LIBRARIAN),
    Case("code", "/sessions/{now}/code", Role.LIBRARIAN),
    Case("manage", "/sessions/manage", Role.LIBRARIAN),
    Case("new-session", "/sessions/new", Role.LIBRARIAN),
    Case("edit-session", "/sessions/{session}/edit", Role.LIBRARIAN),
    Case("import", "/sessions/import", Role.LIBRARIAN),
    Case("figures", "/sessions/figures", Role.LIBRARIAN),
    Case("requests", "/sessions/requests", Role.FACULTY),
    Case("request-new", "/sessions/requests/new", Role.FACULTY),
    Case("request-librarian", "/sessions/requests/{request}", Role.LIBRARIAN),
]


def _session(librarian: User, **fields) -> int:
    starts_at = fields.pop("starts_at", utcnow() + timedelta(days=4))
    data = services.SessionData(
        title={
            "en": unique("Evaluating sources "),
            "ru": "Оценка источников",
            "kk": "Дереккөздерді бағалау",
        },
        description={"en": "Bring a **laptop**."},
        format=fields.pop("format", SessionFormat.HYBRID),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
        capacity=fields.pop("capacity", 2),
        language="en",
        location="Room 204",
        online_url="https://meet.example.edu/room",
        topics=["evaluating sources", "news"],
        frames=["authority-is-constructed-and-contextual"],
        presenters=[librarian],
        **fields,
    )
    return services.create_sessions(data, librarian)[0].id


def _quiz_module(root: Path) -> int:
    """A published module with a pre-test and a post-test, for the sessions with tests."""
    from ilms.authoring import services as authoring
    from ilms.authoring.models import Module
    from tests.delivery.conftest import write_test_module

    slug = f"browser-session-{unique('m').replace('_', '-').lower()}"
    write_test_module(root, slug)
    _results, problems = authoring.import_folder(root)
    assert problems == [], problems
    return db.session.query(Module).filter_by(slug=slug).one().id


@pytest.fixture(scope="module")
def world(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Sessions upcoming, running now and past, people on them, a guest and a request; and
    sessions with a pre-test and post-test, before and after."""
    from ilms.accounts import services as accounts
    from tests.conftest import PASSWORD

    with app.test_request_context():

        def person(role: Role) -> User:
            return accounts.create_user(
                f"{unique('b')}@example.edu", unique("Person "), [role], PASSWORD
            )

        librarian, student, faculty = (
            person(Role.LIBRARIAN),
            person(Role.STUDENT),
            person(Role.FACULTY),
        )
        others = [person(Role.STUDENT) for _ in range(3)]
        db.session.commit()
        upcoming = _session(librarian)
        module_id = _quiz_module(tmp_path_factory.mktemp("browser-modules"))
        tested = _session(librarian, quiz_module_id=module_id, capacity=5)
        tested_past = _session(
            librarian,
            quiz_module_id=module_id,
            starts_at=utcnow() - timedelta(days=1),
            capacity=5,
        )
        running = _session(librarian, starts_at=utcnow() - timedelta(minutes=20))
        past = _session(librarian, starts_at=utcnow() - timedelta(days=2), capacity=5)
        db.session.commit()
        services.register(db.session.get(InfoSession, upcoming), student)
        services.register(db.session.get(InfoSession, tested), student)
        services.register(
            db.session.get(InfoSession, tested_past), student, now=utcnow() - timedelta(days=2)
        )
        tested_guest = services.register(
            db.session.get(InfoSession, tested),
            services.Guest("tested-guest@example.org", "Guest Person", "kk"),
        )
        for other in others:
            services.register(
                db.session.get(InfoSession, past), other, now=utcnow() - timedelta(days=3)
            )
        guest = services.register(
            db.session.get(InfoSession, upcoming),
            services.Guest("guest@example.org", "Guest Person", "ru"),
        )
        services.request_guest_place(
            db.session.get(InfoSession, upcoming), "second@example.org", "Second Guest", "kk"
        )
        request = services.create_request(
            faculty,
            services.RequestData(
                course="HIST 201",
                topics="Primary sources",
                preferred_dates="Tuesdays",
                language="ru",
                format=SessionFormat.IN_PERSON,
                students=25,
            ),
        )
        db.session.commit()
        outbox = app.extensions.get("ilms_outbox", [])
        confirm = next(
            re.search(r"/sessions/confirm/([\w-]+)", m.get_content()).group(1)
            for m in reversed(outbox)
            if m["To"] == "second@example.org"
        )
        return {
            "session": upcoming,
            "now": running,
            "past": past,
            "guest": services.guest_token(guest),
            "tested": tested,
            "tested_past": tested_past,
            "tested_guest": services.guest_token(tested_guest),
            "confirm": confirm,
            "request": request.id,
            "users": {
                Role.LIBRARIAN: librarian.email,
                Role.STUDENT: student.email,
                Role.FACULTY: faculty.email,
            },
        }


@pytest.fixture(scope="module")
def cookies() -> dict[Role, list]:
    return {}


def open_case(page: Page, case: Case, world: dict, cookies: dict) -> None:
    if case.role is not None:
        if case.role in cookies:
            page.context.add_cookies(cookies[case.role])
        else:
            assert log_in(page, world["users"][case.role]).ok
            cookies[case.role] = page.context.cookies()
    path = case.path.format(**{k: v for k, v in world.items() if k != "users"})
    response = page.goto(path)
    assert response is not None and response.status == case.status, (
        f"{path} answered {response.status}"
    )
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} went to {page.url}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_page_is_accessible(page: Page, language: str, case: Case, world, cookies) -> None:
    open_case(page, case, world, cookies)
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").count() == 1
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_guest_registration_with_errors_is_accessible(page: Page, language: str, world) -> None:
    page.goto(f"/sessions/{world['session']}")
    tab_to(page, "#name")
    page.keyboard.type("")
    tab_to(page, "#email")
    page.keyboard.type("not an email")
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    assert navigation.value.status == 400
    assert page.locator(".error-summary[role=alert]").is_visible()
    assert page.locator("[aria-invalid=true]").count() == 2
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page)


def test_registering_by_keyboard(page: Page, app: Flask, make_user: MakeUser, world) -> None:
    student = make_user(Role.STUDENT)
    assert log_in(page, student).ok
    page.goto(f"/sessions/{world['session']}")
    tab_to(page, "form[action$='/register'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".flash-success").is_visible()
    assert_accessible(page)
    with app.app_context():
        registration = db.session.query(Registration).filter_by(user_id=student.id).one()
        assert registration.status in (Status.REGISTERED, Status.WAITLISTED)


def test_the_roster_works_with_the_keyboard_alone(page: Page, app: Flask, world, cookies) -> None:
    open_case(page, Case("roster", "/sessions/{past}/roster", Role.LIBRARIAN), world, cookies)
    first_radio = "ul.roster input[type=radio][value=attended]"
    tab_to(page, first_radio)
    page.keyboard.press("Space")
    assert page.locator(first_radio).first.is_checked()
    # Arrow keys move within one person's group; Tab moves on to the next person.
    page.keyboard.press("ArrowRight")
    assert focused(page, "ul.roster input[type=radio][value=no_show]")
    tab_to(page, "button[name=save], input[name=save]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".flash-success").is_visible()
    assert_accessible(page)
    with app.app_context():
        marked = (
            db.session.query(Registration)
            .filter(Registration.session_id == world["past"], Registration.status == Status.NO_SHOW)
            .count()
        )
    assert marked == 1


def test_the_catalogue_reflows_at_320_pixels(page: Page, world) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    for path in ("/sessions", f"/sessions/{world['session']}"):
        page.goto(path)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px"


def test_request_answer_page_lists_the_actions(page: Page, world, cookies) -> None:
    open_case(page, Case("request", "/sessions/requests/{request}", Role.LIBRARIAN), world, cookies)
    assert page.locator(f"a[href='/sessions/new?request={world['request']}']").count() == 1
    assert page.locator("textarea#message").count() == 1


def test_taking_the_pre_test_by_keyboard(
    page: Page, app: Flask, make_user: MakeUser, world
) -> None:
    """From the session's page to the quiz engine's start page, by keyboard alone."""
    student = make_user(Role.STUDENT)
    with app.test_request_context():
        services.register(db.session.get(InfoSession, world["tested"]), student)
        db.session.commit()
    assert log_in(page, student).ok
    page.goto(f"/sessions/{world['tested']}")
    tab_to(page, "form[action$='/tests/pre'] button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/learn/\d+/pre$", urlsplit(page.url).path)
    assert page.locator("form[action$='/pre/start'] button[type=submit]").count() == 1
    assert_accessible(page)
