"""Every page of the foundation in a real browser: axe-core in en, ru and kk, keyboard, reflow.

Translations may be incomplete, so nothing here reads translated wording: only structure,
``lang`` attributes, status codes, focus and accessibility.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Cookie, Page

from ilms.accounts import services as account_services
from ilms.accounts.models import User
from ilms.extensions import db
from ilms.permissions import Role
from tests.browser.conftest import LANGUAGES, assert_accessible, focused, log_in, tab_to

MakeUser = Callable[..., User]
SignIn = Callable[[Page, Role], int]
HOME_PAGES = {
    Role.STUDENT: "/student",
    Role.LIBRARIAN: "/librarian",
    Role.FACULTY: "/faculty",
    Role.ADMIN: "/admin/",
}
#: Reports the focus style of the focused element, or null once the focus has left the page or
#: come back to an element it has already visited.
FOCUS_STYLE_JS = """() => {
  const el = document.activeElement;
  window.__seen = window.__seen || new WeakSet();
  if (!el || el === document.body || window.__seen.has(el)) return null;
  window.__seen.add(el);
  const style = getComputedStyle(el);
  return {
    element: el.outerHTML.slice(0, 120),
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none',
  };
}"""
PAGE_OVERFLOW_JS = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


@dataclass(frozen=True)
class PageCase:
    name: str
    path: str  #: may name ``{user_id}``, the id of the person logged in
    status: int = 200
    role: Role | None = None

    def __str__(self) -> str:
        return self.name


PAGES = [
    PageCase("landing", "/"),
    PageCase("login", "/login"),
    PageCase("forgot-password", "/password/forgot"),
    PageCase("reset-link-invalid", "/password/reset/no-such-token", 410),
    PageCase("not-found", "/no-such-page", 404),
    PageCase("account", "/account", role=Role.STUDENT),
    PageCase("student-home", "/student", role=Role.STUDENT),
    PageCase("librarian-home", "/librarian", role=Role.LIBRARIAN),
    PageCase("faculty-home", "/faculty", role=Role.FACULTY),
    PageCase("admin-home", "/admin/", role=Role.ADMIN),
    PageCase("admin-users", "/admin/users", role=Role.ADMIN),
    PageCase("admin-user-new", "/admin/users/new", role=Role.ADMIN),
    PageCase("admin-user", "/admin/users/{user_id}", role=Role.ADMIN),
    PageCase("admin-audit", "/admin/audit", role=Role.ADMIN),
    PageCase("forbidden", "/admin/users", 403, role=Role.STUDENT),
]
#: The pages checked for visible focus and reflow: the busiest anonymous and signed-in ones.
KEY_PAGES = [case for case in PAGES if case.name in ("login", "admin-users")]


def html_lang(page: Page) -> str | None:
    return page.locator("html").get_attribute("lang")


def open_page(page: Page, path: str, status: int = 200) -> None:
    """Go to ``path`` and check that it answered ``status`` without redirecting elsewhere."""
    response = page.goto(path)
    assert response is not None
    assert response.status == status, f"{path} answered {response.status}"
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} redirected to {page.url}"


@pytest.fixture(scope="session")
def role_cookies() -> dict[Role, tuple[int, list[Cookie]]]:
    """The cookies of one log-in per role, for pages that only need someone of that role."""
    return {}


@pytest.fixture
def sign_in(make_user: MakeUser, role_cookies: dict[Role, tuple[int, list[Cookie]]]) -> SignIn:
    """``sign_in(page, role)``: log in through the form once per role, then reuse the cookies."""

    def do(page: Page, role: Role) -> int:
        if role not in role_cookies:
            user = make_user(role)
            assert log_in(page, user).ok
            role_cookies[role] = (user.id, page.context.cookies())
        user_id, cookies = role_cookies[role]
        page.context.add_cookies(cookies)  # type: ignore[arg-type]
        return user_id

    return do


def open_case(page: Page, case: PageCase, sign_in: SignIn) -> None:
    user_id = sign_in(page, case.role) if case.role else None
    open_page(page, case.path.format(user_id=user_id), case.status)


def reset_link_path(app: Flask, user: User) -> str:
    """Ask for a password reset as the service does and return the path of the emailed link."""
    with app.test_request_context():
        account_services.request_password_reset(user.email, None)
        db.session.commit()
    bodies = [m.get_content() for m in app.extensions["ilms_outbox"] if m["To"] == user.email]
    match = re.search(r"/password/reset/[\w-]+", bodies[-1]) if bodies else None
    assert match, f"no reset link was emailed to {user.email}"
    return match.group(0)


def assert_error_summary_shown(page: Page) -> None:
    assert page.locator(".error-summary[role=alert]").is_visible()


# --- axe-core on every page, in every language -----------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", PAGES, ids=str)
def test_page_is_accessible(page: Page, language: str, case: PageCase, sign_in: SignIn) -> None:
    open_case(page, case, sign_in)
    assert html_lang(page) == language
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_password_reset_page_is_accessible(
    page: Page, language: str, app: Flask, make_user: MakeUser
) -> None:
    open_page(page, reset_link_path(app, make_user(Role.STUDENT)))
    assert page.locator("input[type=password]").count() == 2
    assert html_lang(page) == language
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_signup_page_is_accessible(
    page: Page, language: str, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SIGNUP_ENABLED", True)
    open_page(page, "/signup")
    assert html_lang(page) == language
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_login_with_form_errors_is_accessible(page: Page, language: str) -> None:
    response = log_in(page, "not-an-email", password="")
    assert response.status == 400
    assert_error_summary_shown(page)
    assert page.locator("[aria-invalid=true]").count() == 2
    assert html_lang(page) == language
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_throttled_login_is_accessible(
    page: Page, language: str, app: Flask, make_user: MakeUser
) -> None:
    user = make_user(Role.STUDENT)
    throttle = app.extensions["ilms_login_throttle"]
    # Use up the account's attempts from another address, so the browser's address stays clear.
    for _ in range(100):
        if not throttle.attempt(user.email, "192.0.2.1"):
            break
    else:
        pytest.fail("the log-in throttle never refused an attempt")
    response = log_in(page, user)
    assert response.status == 429
    assert_error_summary_shown(page)
    assert html_lang(page) == language
    assert_accessible(page)


# --- Keyboard ----------------------------------------------------------------------------------


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page: Page) -> None:
    open_page(page, "/login")
    page.keyboard.press("Tab")
    assert focused(page, "a.skip-link[href='#main']")
    assert page.locator("a.skip-link").is_visible()
    box = page.locator("a.skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "skip link is off screen"
    page.keyboard.press("Enter")
    assert focused(page, "main#main")
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


@pytest.mark.parametrize("role", list(HOME_PAGES), ids=str)
def test_keyboard_log_in_lands_on_the_role_home_page(
    page: Page, make_user: MakeUser, role: Role
) -> None:
    response = log_in(page, make_user(role))
    assert response.status == 200
    assert urlsplit(page.url).path == HOME_PAGES[role]


def press_language(page: Page, code: str, key: str) -> None:
    button = f".language-switcher button[value='{code}']"
    tab_to(page, button)
    with page.expect_navigation():
        page.keyboard.press(key)


def test_language_switcher_works_by_keyboard(page: Page) -> None:
    open_page(page, "/password/forgot")
    assert html_lang(page) == "en"
    for code, key in (("kk", "Enter"), ("ru", "Space"), ("en", "Enter")):
        press_language(page, code, key)
        assert urlsplit(page.url).path == "/password/forgot"
        assert html_lang(page) == code
        current = page.locator(".language-switcher button[aria-current=true]")
        assert current.get_attribute("value") == code
    press_language(page, "kk", "Enter")
    open_page(page, "/login")
    assert html_lang(page) == "kk", "the chosen language does not last for the session"


@pytest.mark.parametrize("case", KEY_PAGES, ids=str)
def test_focus_is_visible_on_every_tab_stop(page: Page, case: PageCase, sign_in: SignIn) -> None:
    open_case(page, case, sign_in)
    stops: list[dict[str, Any]] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        style = page.evaluate(FOCUS_STYLE_JS)
        if style is None:
            break
        stops.append(style)
    assert len(stops) >= 5, f"only {len(stops)} tab stops on {case.path}"
    invisible = [s["element"] for s in stops if not (s["outline"] or s["shadow"])]
    assert not invisible, "focus is not visible on:\n" + "\n".join(invisible)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", KEY_PAGES, ids=str)
def test_no_horizontal_scrolling_at_320_css_pixels(
    page: Page, language: str, case: PageCase, sign_in: SignIn
) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    open_case(page, case, sign_in)
    overflow = page.evaluate(PAGE_OVERFLOW_JS)
    assert overflow <= 1, f"{case.path} scrolls sideways by {overflow}px at 320px wide"


def test_log_out_ends_the_session(page: Page, make_user: MakeUser) -> None:
    assert log_in(page, make_user(Role.STUDENT)).ok
    assert urlsplit(page.url).path == "/student"
    signed_in_cookies = page.context.cookies()
    tab_to(page, ".logout-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == "/login"
    assert_accessible(page)  # with the flash message shown
    page.goto("/student")
    assert urlsplit(page.url).path == "/login"
    # The server has ended the session: the old cookie, replayed, does not log anyone in.
    page.context.add_cookies(signed_in_cookies)  # type: ignore[arg-type]
    page.goto("/student")
    assert urlsplit(page.url).path == "/login"
