"""The authoring pages in a real browser: axe-core on every page in en, ru and kk (with and without
errors shown), reflow at 320px, the live preview and the list buttons by keyboard; and a librarian
building a small module with a pre-test from nothing, which a student can then start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Cookie, Page, expect
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.authoring import editing, services
from ilms.authoring.models import Module
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import MemberRole
from ilms.db import utcnow
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase, Quiz
from ilms.extensions import db
from ilms.permissions import Role
from tests.authoring.fixture import write_module
from tests.browser.conftest import LANGUAGES, assert_accessible, focused, log_in
from tests.conftest import unique

MakeUser = Callable[..., User]
QUESTION_TYPES = (
    "single_choice",
    "multiple_response",
    "true_false",
    "short_answer",
    "numeric",
    "matching",
    "ordering",
    "cloze",
    "open_response",
)
PAGE_OVERFLOW_JS = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


@pytest.fixture(scope="module")
def sample_slug(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A complete module in English and Russian, with an image, as a file import makes it."""
    slug = f"browser-{unique('m').replace('_', '-').lower()}"
    root = tmp_path_factory.mktemp("authoring")
    write_module(root, slug)
    with app.app_context():
        _results, problems = services.import_folder(root, publish=False)
        assert problems == []
        db.session.commit()
    return slug


def author_pages(slug: str) -> list[str]:
    base = f"/author/modules/{slug}"
    return [
        "/author/modules",
        "/author/new-module",
        base,
        f"{base}/settings",
        f"{base}/duplicate",
        f"{base}/outcomes/",
        f"{base}/outcomes/keywords",
        f"{base}/lessons/",
        f"{base}/lessons/keywords",
        *(f"{base}/questions/?type={name}" for name in QUESTION_TYPES),
        f"{base}/questions/kw-1",
        f"{base}/questions/kw-1/preview",
        f"{base}/tests",
        f"{base}/forms/",
        f"{base}/forms/B",
    ]


@pytest.fixture(scope="module")
def librarian_cookies() -> dict[str, list[Cookie]]:
    return {}


@pytest.fixture
def as_librarian(
    page: Page, make_user: MakeUser, librarian_cookies: dict[str, list[Cookie]]
) -> Page:
    """The page, logged in as a librarian (through the form once, then with the same cookies)."""
    if "cookies" not in librarian_cookies:
        assert log_in(page, make_user(Role.LIBRARIAN)).ok
        librarian_cookies["cookies"] = page.context.cookies()
    page.context.add_cookies(librarian_cookies["cookies"])  # type: ignore[arg-type]
    return page


def open_page(page: Page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response is not None and response.status == status, (
        f"{path} answered {response and response.status}"
    )
    assert urlsplit(page.url).path == urlsplit(path).path, f"{path} went to {page.url}"


# --- axe-core on every page --------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_authoring_page_is_accessible(
    as_librarian: Page, language: str, sample_slug: str
) -> None:
    failures = []
    for path in author_pages(sample_slug):
        open_page(as_librarian, path)
        assert as_librarian.locator("html").get_attribute("lang") == language
        try:
            assert_accessible(as_librarian)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_showing_errors_are_accessible(
    as_librarian: Page, language: str, sample_slug: str
) -> None:
    base = f"/author/modules/{sample_slug}"
    page = as_librarian
    # A question whose two options are both marked correct and lack feedback.
    open_page(page, f"{base}/questions/kw-1")
    page.locator("#options-1-correct").check()
    page.locator("#options-1-feedback-en").fill("")
    with page.expect_navigation():
        page.locator("#submit-top").click()
    expect(page.locator(".error-summary[role=alert]")).to_be_visible()
    assert page.locator("[aria-invalid=true]").count() >= 1
    assert_accessible(page)
    # A lesson with an image and no alternative text, previewed first.
    open_page(page, f"{base}/lessons/")
    page.locator("#title-en").fill("Untitled")
    with page.expect_navigation():
        page.locator("#preview").click()
    assert_accessible(page)
    page.locator("#image").set_input_files(
        files=[
            {
                "name": "chart.png",
                "mimeType": "image/png",
                "buffer": b"\x89PNG\r\n\x1a\n" + bytes(16),
            }
        ]
    )
    with page.expect_navigation():
        page.locator("#submit-top").click()
    expect(page.locator(".error-summary[role=alert]")).to_be_visible()
    assert_accessible(page)
    # The question preview after grading an answer.
    open_page(page, f"{base}/questions/kw-1/preview")
    page.locator("input[name='answer-kw-1']").first.check()
    with page.expect_navigation():
        page.locator("form.question-preview button[type=submit]").click()
    expect(page.locator(".result")).to_be_visible()
    assert_accessible(page)
    # Publishing an incomplete module.
    draft = f"draft-{unique('d').replace('_', '-').lower()}"
    open_page(page, "/author/new-module")
    page.locator("#slug").fill(draft)
    page.locator("#estimated_minutes").fill("10")
    page.locator("#title-en").fill("Draft")
    page.locator("#summary-en").fill("A draft.")
    with page.expect_navigation():
        page.locator("#submit").click()
    with page.expect_navigation():
        page.locator(f"form[action$='/{draft}/publish'] button").click()
    expect(page.locator(".error-summary[role=alert]")).to_be_visible()
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_editors_do_not_scroll_sideways_at_320_css_pixels(
    as_librarian: Page, language: str, sample_slug: str
) -> None:
    page = as_librarian
    page.set_viewport_size({"width": 320, "height": 640})
    base = f"/author/modules/{sample_slug}"
    for path in (
        "/author/modules",
        base,
        f"{base}/lessons/keywords",
        f"{base}/questions/kw-1",
        f"{base}/questions/?type=cloze",
        f"{base}/tests",
    ):
        open_page(page, path)
        overflow = page.evaluate(PAGE_OVERFLOW_JS)
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at 320px wide"


# --- Keyboard and the live preview -------------------------------------------------------------


def test_list_buttons_work_by_keyboard_and_keep_the_input(
    as_librarian: Page, sample_slug: str
) -> None:
    page = as_librarian
    open_page(page, f"/author/modules/{sample_slug}/questions/?type=single_choice")
    page.locator("#text-en").fill("Typed before adding")
    page.locator("#add-options").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert focused(page, "#options-2-text-en"), "the new option's first field should have the focus"
    expect(page.locator("#text-en")).to_have_value("Typed before adding")
    page.keyboard.type("third option")
    page.locator("#up-options-2").focus()
    with page.expect_navigation():
        page.keyboard.press("Space")
    expect(page.locator("#options-1-text-en")).to_have_value("third option")
    page.locator("#remove-options-1").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#options-2-text-en").count() == 0
    assert focused(page, "#add-options")


def test_the_lesson_preview_follows_the_typing(as_librarian: Page, sample_slug: str) -> None:
    page = as_librarian
    open_page(page, f"/author/modules/{sample_slug}/lessons/keywords")
    preview = page.locator("#body-ru-preview")
    expect(preview.locator("img")).to_have_attribute("alt", "Страница результатов: 2 340 записей")
    assert page.evaluate("document.querySelector('#body-ru-preview img').naturalWidth") >= 0
    page.locator("#body-en").fill("A **bold** claim.\n\n<script>window.hacked = 1</script>")
    expect(page.locator("#body-en-preview strong")).to_have_text("bold")
    assert page.locator("#body-en-preview script").count() == 0
    assert page.evaluate("window.hacked === undefined")


# --- A librarian builds a module from nothing -----------------------------------------------------


def fill_localised(page: Page, prefix: str, text: str) -> None:
    page.locator(f"#{prefix}-en").fill(text)


def save(page: Page, selector: str = "#submit") -> None:
    with page.expect_navigation():
        page.locator(selector).first.click()
    expect(page.locator(".error-summary")).to_have_count(0)


def add_question(page: Page, slug: str, type_name: str, fill: Callable[[Page], None]) -> None:
    open_page(page, f"/author/modules/{slug}")
    page.locator("#new-question-type").select_option(type_name)
    with page.expect_navigation():
        page.locator("form[action$='/questions/'] button[type=submit]").click()
    fill(page)
    save(page, "#submit-top")


def single_choice(page: Page) -> None:
    page.locator("#key").fill("which-and")
    fill_localised(page, "text", "Which search finds articles that mention **both** words?")
    page.locator("#options-0-text-en").fill("climate AND migration")
    page.locator("#options-0-correct").check()
    page.locator("#options-0-feedback-en").fill("Right: AND requires both words.")
    page.locator("#options-1-text-en").fill("climate OR migration")
    page.locator("#options-1-feedback-en").fill("OR finds either word, so more results.")


def true_false(page: Page) -> None:
    page.locator("#key").fill("synonyms")
    fill_localised(page, "text", "Adding synonyms with OR finds more results.")
    page.get_by_label("True", exact=True).check()
    page.locator("#feedback-correct-en").fill("Yes: OR widens the search.")
    page.locator("#feedback-incorrect-en").fill("It does: OR finds records with either word.")


def short_answer(page: Page) -> None:
    page.locator("#key").fill("narrow")
    fill_localised(page, "text", "Which operator narrows a search?")
    page.locator("#accepted-en").fill("AND\nthe AND operator")


def test_a_librarian_builds_a_module_with_a_pre_test(
    page: Page, app: Flask, make_user: MakeUser
) -> None:
    slug = f"built-{unique('b').replace('_', '-').lower()}"
    assert log_in(page, make_user(Role.LIBRARIAN)).ok
    open_page(page, "/librarian")
    with page.expect_navigation():
        page.locator("a[href='/author/modules']").first.click()
    with page.expect_navigation():
        page.locator("a[href='/author/new-module']").click()

    page.locator("#slug").fill(slug)
    page.locator("#audience").select_option("undergraduate")
    page.locator("#estimated_minutes").fill("25")
    page.locator("#title-en").fill("Boolean searching")
    page.locator("#summary-en").fill("Combine keywords with AND, OR and NOT.")
    save(page)
    assert urlsplit(page.url).path == f"/author/modules/{slug}"

    with page.expect_navigation():
        page.locator("a[href$='/outcomes/']").click()
    page.locator("#outcome_id").fill("boolean")
    page.locator("input[name=frame][value='searching-as-strategic-exploration']").check()
    page.locator("#text-en").fill("Combine keywords with AND, OR and NOT.")
    save(page)

    with page.expect_navigation():
        page.locator("a[href$='/lessons/']").click()
    page.locator("#title-en").fill("Boolean operators")
    page.locator("#body-en").fill("Use **AND** to narrow a search and **OR** to widen it.")
    expect(page.locator("#body-en-preview strong").first).to_have_text("AND")
    save(page, "#submit-top")

    add_question(page, slug, "single_choice", single_choice)
    add_question(page, slug, "true_false", true_false)
    add_question(page, slug, "short_answer", short_answer)

    open_page(page, f"/author/modules/{slug}/tests")
    with page.expect_navigation():
        page.locator("a[href$='/forms/']").click()
    page.locator("#form_id").fill("A")
    page.locator("input[name=kind][value=items]").check()
    for key in ("which-and", "synonyms", "narrow"):
        page.locator(f"input[name=items][value='{key}']").check()
    save(page)
    expect(page.locator("#pre")).to_have_value("A")

    open_page(page, f"/author/modules/{slug}")
    expect(page.locator("#blockers-heading")).to_have_count(0)
    with page.expect_navigation():
        page.locator(f"form[action$='/{slug}/publish'] button").click()
    expect(page.locator(".status-published")).to_be_visible()
    assert_accessible(page)

    listing = page.request.get("/api/v1/modules").json()["modules"]
    mine = next(module for module in listing if module["slug"] == slug)
    assert mine["published"] is True and mine["question_count"] == 3
    assert mine["tests"] == {"pre": "A", "post": "A"}
    assert [o["frame"] for o in mine["outcomes"]] == ["searching-as-strategic-exploration"]

    student, owner = make_user(Role.STUDENT), make_user(Role.FACULTY)
    with app.app_context():
        module = db.session.scalar(select(Module).where(Module.slug == slug))
        cohort = cohorts.create_cohort(
            db.session.get(User, owner.id),
            course_code="IL101",
            course_title="Research",
            term="Fall",
            section=unique("s"),
        )
        now = utcnow()
        assignment = cohorts.assign_module(
            cohort, module, opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=7)
        )
        cohorts.add_member(cohort, db.session.get(User, student.id), MemberRole.STUDENT)
        db.session.commit()
        quiz = db.session.scalar(
            select(Quiz).where(Quiz.assignment_id == assignment.id, Quiz.phase == Phase.PRE)
        )
        attempt = delivery.start_attempt(quiz, db.session.get(User, student.id), "en")
        db.session.commit()
        keys = {
            version.data["id"]
            for version in module.current_version.question_versions
            if version.id in attempt.question_order
        }
        assert keys == {"which-and", "synonyms", "narrow"}
        assert attempt.max_score == 3
        assert editing.blockers(module) == []
