"""Playwright fixtures: the system Chromium driven against the live server, and an axe-core check.

Every test in this folder is marked ``browser``. A missing Chromium fails the tests rather than
skipping them, because CI installs it and a silent skip would hide the accessibility checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, sync_playwright

from ilms.accounts.models import User
from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LANGUAGES = ("en", "ru", "kk")
AXE_SOURCE = Path(axe_playwright_python.__file__).with_name("axe.min.js")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Enough Tab presses to cross the header of any page; more means focus is lost or trapped.
MAX_TABS = 40
BROWSER_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this folder's tests before ``-m`` selects on markers."""
    for item in items:
        if BROWSER_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need it "
            "(on Debian or Ubuntu: apt-get install chromium).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def language() -> str:
    """The interface language asked for through ``Accept-Language``; parametrise to change it."""
    return "en"


@pytest.fixture
def context(browser: Browser, live_server: str, language: str) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=live_server,
        locale=language,
        extra_http_headers={"Accept-Language": language},
        viewport={"width": 1280, "height": 800},
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def focused(page: Page, selector: str) -> bool:
    """Whether the element that has the focus matches ``selector``."""
    return page.evaluate("s => document.activeElement?.matches(s) ?? false", selector)


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the focus is on ``selector``; fail if it never gets there."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if focused(page, selector):
            return
    raise AssertionError(f"{MAX_TABS} presses of Tab never reached {selector}")


def log_in(page: Page, user: User | str, password: str = PASSWORD) -> Response:
    """Open the log-in page, fill and send its form with the keyboard alone; the last response."""
    email = user if isinstance(user, str) else user.email
    page.goto("/login")
    tab_to(page, "#email")
    page.keyboard.type(email)
    tab_to(page, "#password")
    page.keyboard.type(password)
    with page.expect_navigation() as navigation:
        page.keyboard.press("Enter")
    response = navigation.value
    assert response is not None
    return response


def _describe(violation: dict[str, Any]) -> str:
    nodes = "".join(
        f"\n    on {' '.join(map(str, node['target']))}: {node['html'][:160]}"
        for node in violation["nodes"]
    )
    return f"- {violation['id']} ({violation.get('impact') or 'impact unknown'}): {violation['help']}{nodes}"


@cache
def axe_source() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core's WCAG 2.1 A and AA rules on the page as it is now."""
    # Evaluated rather than added as a <script>: the app's Content-Security-Policy forbids that.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(
        "async tags => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations",
        AXE_TAGS,
    )


def assert_accessible(page: Page) -> None:
    """Fail with every axe-core violation of the WCAG 2.1 A/AA rules found on the page."""
    violations = axe_violations(page)
    listing = "\n".join(_describe(v) for v in violations)
    assert not violations, f"axe-core: {len(violations)} violation(s) on {page.url}:\n{listing}"
