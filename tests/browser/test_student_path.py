# The delivery fixtures are imported to be used here as fixtures; ruff reads the test functions'
# parameters of the same names as redefinitions of them.
# ruff: noqa: F811
"""The student's path in Chromium: the keyboard alone through pre-test, lessons and post-test;
answers given offline reaching the server; axe on every student page in en, ru and kk; a phone's
width; and the script that turns the quiz form into API answers (static/js/answers.js).

Nothing here reads translated wording in ru or kk: only structure, states and the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.authoring import package as pkg
from ilms.authoring import services as authoring
from ilms.authoring.models import Module, QuestionVersion
from ilms.cohorts.models import Assignment, Cohort
from ilms.delivery.models import Attempt, AttemptState, LessonProgress, Response
from ilms.extensions import db
from tests.browser.conftest import LANGUAGES, assert_accessible, log_in, tab_to
from tests.conftest import unique
from tests.delivery.conftest import enrol, make_assignment, test_module_id  # noqa: F401
from tests.questions.conftest import SAMPLES

MEANINGS = {"AND": "both words", "OR": "either word", "NOT": "leave a word out"}
STEPS = ("First", "Second", "Third")
PAGE_OVERFLOW_JS = (
    "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
)


# --- Set-up --------------------------------------------------------------------------------------


def spec_of(page: Page, section: Any) -> dict[str, Any]:
    return json.loads(section.get_attribute("data-question"))


def sections(page: Page) -> list[tuple[Any, dict[str, Any]]]:
    found = page.locator("[data-question]")
    return [(found.nth(i), spec_of(page, found.nth(i))) for i in range(found.count())]


def attempts_of(app: Flask, user: User) -> list[Attempt]:
    with app.app_context():
        rows = db.session.scalars(
            select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def saved_answers(app: Flask, attempt_id: int) -> dict[int, Any]:
    with app.app_context():
        rows = db.session.scalars(select(Response).where(Response.attempt_id == attempt_id))
        return {r.question_version_id: r.answer for r in rows if r.seq > 0}


@pytest.fixture(scope="session")
def every_type_module(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> int:
    """A module in en, ru and kk whose tests hold one question of every type."""
    questions = [sample() for sample in SAMPLES.values()]
    outcomes = sorted({q["outcome"] for q in questions})
    both = {"en": "Every question type", "ru": "Все типы вопросов", "kk": "Барлық сұрақ түрлері"}
    package = pkg.ModulePackage(
        slug=f"every-type-{unique('m').replace('_', '-').lower()}",
        version=1,
        languages=("en", "ru", "kk"),
        audience="undergraduate",
        estimated_minutes=10,
        title=both,
        summary=both,
        outcomes=[
            pkg.Outcome(o, "searching-as-strategic-exploration", {k: o for k in both})
            for o in outcomes
        ],
        lessons=[
            pkg.Lesson(
                "intro",
                1,
                {"en": "Introduction", "ru": "Введение", "kk": "Кіріспе"},
                {
                    "en": "## Searching\n\nUse **AND** to narrow.",
                    "ru": "## Поиск\n\nИспользуйте **AND**.",
                    "kk": "## Іздеу\n\n**AND** қолданыңыз.",
                },
            )
        ],
        questions=questions,
        forms={"A": pkg.Form("A", items=tuple(q["id"] for q in questions))},
        tests={"pre": "A", "post": "A"},
    )
    folder = tmp_path_factory.mktemp("every-type") / package.slug
    pkg.write_package(package, folder)
    with app.app_context():
        _results, problems = authoring.import_folder(folder.parent)
        assert problems == [], problems
        db.session.commit()
        return db.session.scalar(select(Module.id).where(Module.slug == package.slug))


@pytest.fixture
def assign_module(app: Flask, make_user: Callable[..., User]) -> Callable[..., Assignment]:
    def do(module_id: int, **settings: Any) -> Assignment:
        from datetime import timedelta

        from ilms.cohorts import services as cohorts
        from ilms.db import utcnow

        owner = make_user("faculty")
        with app.app_context():
            cohort = cohorts.create_cohort(
                db.session.get(User, owner.id),
                course_code="IL301",
                course_title="Every type",
                term="Fall 2026",
                section=unique("s"),
            )
            settings.setdefault("opens_at", utcnow() - timedelta(days=1))
            settings.setdefault("closes_at", utcnow() + timedelta(days=7))
            assignment = cohorts.assign_module(
                cohort, db.session.get(Module, module_id), **settings
            )
            db.session.commit()
            assignment_id = assignment.id
        with app.app_context():
            loaded = db.session.get(Assignment, assignment_id)
            db.session.expunge(loaded)
            return loaded

    return do


@pytest.fixture
def student(make_user: Callable[..., User]) -> User:
    return make_user("student", name="Aigerim Student")


def start_quiz(page: Page, assignment: Assignment, phase: str = "pre") -> None:
    """Open the start page and start (a form POST); waits for the script to be ready."""
    page.goto(f"/learn/{assignment.id}/{phase}")
    with page.expect_navigation():
        page.locator(f"form[action$='/{phase}/start'] button").click()
    page.wait_for_selector("#quiz-form")
    page.wait_for_function("document.getElementById('quiz-status') !== null")


def wait_state(section: Any, state: str) -> None:
    section.locator(f".save-state[data-state='{state}']").wait_for()


# --- (a) The keyboard alone ----------------------------------------------------------------------


def press_enter_and_wait(page: Page) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def choose_radio(page: Page, spec: dict[str, Any], option: str) -> None:
    """Tab into the radio group, then Space and the arrow keys to check ``option``."""
    tab_to(page, f"input[name='answer-{spec['key']}']")
    page.keyboard.press("Space")
    for _ in range(spec["options"].index(option)):
        page.keyboard.press("ArrowDown")


def choose_in_select(page: Page, name: str, text: str) -> None:
    """Tab to the select and move down to the option showing ``text`` with the arrow key."""
    tab_to(page, f"select[name='{name}']")
    texts = page.locator(f"select[name='{name}'] option").all_inner_texts()
    for _ in range([t.strip() for t in texts].index(text)):
        page.keyboard.press("ArrowDown")


def answer_with_keyboard(page: Page) -> None:
    for section, spec in sections(page):
        if spec["type"] == "single_choice":
            choose_radio(page, spec, "right")
        elif spec["type"] == "matching":
            lefts = section.locator("select").evaluate_all(
                "els => els.map(e => document.querySelector(`label[for='${e.id}']`).innerText)"
            )
            for n, left in enumerate(lefts, 1):
                choose_in_select(page, f"answer-{spec['key']}.{n}", MEANINGS[left.strip()])
        elif spec["type"] == "ordering":
            items = section.locator("select").evaluate_all(
                "els => els.map(e => document.querySelector(`label[for='${e.id}']`).innerText)"
            )
            for n, item in enumerate(items, 1):
                position = str(STEPS.index(item.strip()) + 1)
                choose_in_select(page, f"answer-{spec['key']}.{n}", position)
        wait_state(section, "saved")


def take_with_keyboard(page: Page, assignment: Assignment, phase: str) -> None:
    tab_to(page, f"a[href='/learn/{assignment.id}/{phase}']")
    press_enter_and_wait(page)
    tab_to(page, f"form[action$='/{phase}/start'] button")
    press_enter_and_wait(page)
    page.wait_for_selector("#quiz-form")
    answer_with_keyboard(page)
    tab_to(page, "input[name='review']")
    press_enter_and_wait(page)  # the script saves everything, then opens the confirmation
    assert re.search(r"/attempts/\d+/submit$", page.url), page.url
    tab_to(page, "#submit-button")
    press_enter_and_wait(page)  # submitted through the API, then the results page
    assert re.search(r"/attempts/\d+$", page.url), page.url


def test_a_student_completes_the_module_with_the_keyboard_alone(
    app: Flask,
    page: Page,
    student: User,
    make_assignment,
    enrol,
) -> None:
    assignment = make_assignment()
    enrol(assignment, student)
    assert log_in(page, student).ok
    take_with_keyboard(page, assignment, "pre")
    assert "3 of 3 points" in page.inner_text("main")

    tab_to(page, f"a[href='/learn/{assignment.id}/lessons']")
    press_enter_and_wait(page)
    while "/lessons/" in page.url:
        tab_to(page, "form.lesson-complete button")
        press_enter_and_wait(page)
    assert page.url.endswith(f"/learn/{assignment.id}#post-test")
    take_with_keyboard(page, assignment, "post")

    attempts = attempts_of(app, student)
    assert [(a.phase.value, a.state, a.score) for a in attempts] == [
        ("pre", AttemptState.SUBMITTED, 3.0),
        ("post", AttemptState.SUBMITTED, 3.0),
    ]
    with app.app_context():
        read = db.session.scalars(
            select(LessonProgress.lesson_key).where(LessonProgress.user_id == student.id)
        ).all()
        assert sorted(read) == ["one", "two"]
    tab_to(page, f"a[href='/learn/{assignment.id}/certificate.pdf']")


# --- (b) Offline ---------------------------------------------------------------------------------


def test_answers_given_offline_reach_the_server_when_it_returns(
    app: Flask,
    context: BrowserContext,
    page: Page,
    student: User,
    make_assignment,
    enrol,
) -> None:
    assignment = make_assignment()
    enrol(assignment, student)
    assert log_in(page, student).ok
    start_quiz(page, assignment)
    attempt = attempts_of(app, student)[0]
    choices = [(s, spec) for s, spec in sections(page) if spec["type"] == "single_choice"]
    (first, first_spec), (second, second_spec) = choices
    first.locator("input").nth(first_spec["options"].index("right")).check()
    wait_state(first, "saved")

    context.set_offline(True)
    second.locator("input").nth(second_spec["options"].index("wrong")).check()
    second.locator("input").nth(second_spec["options"].index("right")).check()
    wait_state(second, "queued")
    page.locator("#quiz-status[data-state='offline']").wait_for()
    assert second_spec["id"] not in saved_answers(app, attempt.id)
    pending = page.evaluate("() => Object.keys(localStorage).filter(k => k.endsWith(':pending'))")
    assert len(pending) == 1

    context.set_offline(False)
    wait_state(second, "saved")
    page.locator("#quiz-status[data-state='ok']").wait_for()
    saved = saved_answers(app, attempt.id)
    assert saved[first_spec["id"]] == "right" and saved[second_spec["id"]] == "right"
    with app.app_context():
        sequence = db.session.scalar(
            select(Response.seq).where(
                Response.attempt_id == attempt.id,
                Response.question_version_id == second_spec["id"],
            )
        )
    assert sequence == 2  # the queued answers went in order; the later one stands

    # A reload after all this reuses no sequence number: the next save is accepted.
    page.reload()
    page.wait_for_selector("#quiz-form")
    second = page.locator(f"#save-state-{second_spec['id']}").locator("xpath=..")
    second.locator("input").nth(second_spec["options"].index("wrong")).check()
    wait_state(second, "saved")
    assert saved_answers(app, attempt.id)[second_spec["id"]] == "wrong"


def test_a_save_to_a_submitted_attempt_tells_the_student(
    app: Flask,
    page: Page,
    student: User,
    make_assignment,
    enrol,
) -> None:
    assignment = make_assignment()
    enrol(assignment, student)
    assert log_in(page, student).ok
    start_quiz(page, assignment)
    attempt = attempts_of(app, student)[0]
    # Submitted from another tab:
    token = page.locator("#quiz-form").get_attribute("data-csrf-token")
    submitted = page.request.post(
        f"/api/v1/attempts/{attempt.id}/submit", headers={"X-CSRFToken": token}, data={}
    )
    assert submitted.ok
    section, _spec = next((s, sp) for s, sp in sections(page) if sp["type"] == "single_choice")
    section.locator("input").first.check()
    page.locator("#quiz-status[data-state='submitted']").wait_for()
    assert (
        page.locator("#quiz-ended-link").get_attribute("href").endswith(f"/attempts/{attempt.id}")
    )


def test_a_newer_answer_from_another_window_is_kept_and_shown(
    app: Flask, page: Page, student: User, make_assignment, enrol
) -> None:
    assignment = make_assignment()
    enrol(assignment, student)
    assert log_in(page, student).ok
    start_quiz(page, assignment)
    attempt = attempts_of(app, student)[0]
    section, spec = next((s, sp) for s, sp in sections(page) if sp["type"] == "single_choice")
    token = page.locator("#quiz-form").get_attribute("data-csrf-token")
    other_window = page.request.put(
        f"/api/v1/attempts/{attempt.id}/answers/{spec['id']}",
        headers={"X-CSRFToken": token},
        data={"answer": "wrong", "seq": 50},
    )
    assert other_window.ok
    section.locator("input").nth(spec["options"].index("right")).check()
    wait_state(section, "replaced")  # a stale save is not an error: the newer answer stays
    assert section.locator("input").nth(spec["options"].index("wrong")).is_checked()
    page.locator("#quiz-status[data-state='ok']").wait_for()
    assert saved_answers(app, attempt.id)[spec["id"]] == "wrong"
    # The next answer given here carries a higher number and is saved.
    section.locator("input").nth(spec["options"].index("right")).check()
    wait_state(section, "saved")
    assert saved_answers(app, attempt.id)[spec["id"]] == "right"


def test_the_timer_announces_itself_politely_and_submits_when_time_is_up(
    app: Flask, page: Page, student: User, make_assignment, enrol
) -> None:
    assignment = make_assignment(time_limit_minutes=6)
    enrol(assignment, student)
    assert log_in(page, student).ok
    page.clock.install()
    start_quiz(page, assignment)
    timer, announcer = page.locator("#quiz-timer"), page.locator("#timer-announcement")
    assert timer.get_attribute("role") == "timer"
    assert announcer.get_attribute("aria-live") == "polite"
    assert re.fullmatch(r"\D*[56]:\d\d\D*", timer.inner_text())
    page.clock.run_for(30_000)
    assert announcer.inner_text() == ""  # not every second, nor every minute
    page.clock.run_for(45_000)
    assert announcer.inner_text() == "5 minutes left."
    assert "quiz-timer-warning" in (timer.get_attribute("class") or "")
    page.clock.run_for(60_000)
    assert announcer.inner_text() == "5 minutes left."
    page.clock.run_for(180_000)
    assert announcer.inner_text() == "1 minute left."
    with page.expect_navigation():
        page.clock.run_for(65_000)
    assert re.search(r"/attempts/\d+$", page.url), page.url
    assert attempts_of(app, student)[0].state == AttemptState.SUBMITTED


# --- (c) axe on every student page ---------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_student_page_passes_axe(
    app: Flask,
    page: Page,
    student: User,
    assign_module: Callable[..., Assignment],
    every_type_module: int,
    enrol,
    language: str,
) -> None:
    assignment = assign_module(every_type_module, time_limit_minutes=30)
    enrol(assignment, student)
    assert log_in(page, student).ok

    def check(path: str | None = None) -> None:
        if path:
            response = page.goto(path)
            assert response is not None and response.ok, path
        assert page.locator("html").get_attribute("lang") == language
        assert_accessible(page)

    check("/student")
    check(f"/learn/{assignment.id}")
    with app.app_context():
        code = db.session.get(Cohort, assignment.cohort_id).join_code
    check(f"/join/{code}")
    check(f"/learn/{assignment.id}/pre")
    start_quiz(page, assignment)
    section, _spec = next((s, sp) for s, sp in sections(page) if sp["type"] == "single_choice")
    section.locator("input").first.check()
    wait_state(section, "saved")
    check()  # the quiz, with its timer and save states
    attempt = attempts_of(app, student)[0]
    check(f"/learn/{assignment.id}/attempts/{attempt.id}/submit")
    with page.expect_navigation():
        page.locator("#submit-button").click()
    check()  # the results, with feedback
    check(f"/learn/{assignment.id}/lessons/intro")


# --- (d) A phone's width -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["kk"])
def test_the_quiz_fits_a_320_pixel_screen(
    page: Page,
    student: User,
    assign_module: Callable[..., Assignment],
    every_type_module: int,
    enrol,
    language: str,
) -> None:
    assignment = assign_module(every_type_module, time_limit_minutes=30)
    enrol(assignment, student)
    assert log_in(page, student).ok
    page.set_viewport_size({"width": 320, "height": 640})
    start_quiz(page, assignment)
    assert page.evaluate(PAGE_OVERFLOW_JS) <= 0
    page.goto(f"/learn/{assignment.id}")
    assert page.evaluate(PAGE_OVERFLOW_JS) <= 0


# --- The mapping from form to API answers ----------------------------------------------------------


def test_every_question_type_is_saved_as_the_api_expects(
    app: Flask,
    page: Page,
    student: User,
    assign_module: Callable[..., Assignment],
    every_type_module: int,
    enrol,
) -> None:
    """Answer each type through the page; the script's saves arrive as the type's own answers."""
    assignment = assign_module(every_type_module)
    enrol(assignment, student)
    assert log_in(page, student).ok
    start_quiz(page, assignment)
    attempt = attempts_of(app, student)[0]
    by_key = {spec["key"]: (section, spec) for section, spec in sections(page)}

    def option_index(section: Any, text: str) -> int:
        labels = section.locator("label").all_inner_texts()
        return [label.strip() for label in labels].index(text)

    section, _spec = by_key["bool-1"]
    section.locator("input").nth(option_index(section, "climate AND migration")).check()
    section, _spec = by_key["mr-1"]
    for text in ("Source a", "Source c"):
        section.locator("input").nth(option_index(section, text)).check()
    by_key["tf-1"][0].locator("input[value='false']").check()
    by_key["sa-1"][0].locator("input").fill("Boolean operators")
    by_key["num-1"][0].locator("input").fill("0,3")
    by_key["num-2"][0].locator("input").fill("15")
    section, _spec = by_key["match-1"]
    section.locator("select").nth(0).select_option(label="Journal")
    section.locator("select").nth(2).select_option(label="Blog")
    section, _spec = by_key["ord-1"]
    labels = [t.strip() for t in section.locator("label").all_inner_texts()]
    for n, label in enumerate(labels):
        position = ["Ask", "Search", "Evaluate", "Cite"].index(label) + 1
        section.locator("select").nth(n).select_option(str(position))
    section, _spec = by_key["cloze-1"]
    section.locator("input").fill("AND")
    section.locator("select").select_option(label="OR")
    by_key["essay-1"][0].locator("textarea").fill("A claim, with evidence.")
    page.locator("body").click()  # leave the last text box, as a student would
    for section, _spec in by_key.values():
        wait_state(section, "saved")

    with app.app_context():
        ids = {
            qv.data["id"]: qv.id
            for qv in db.session.scalars(
                select(QuestionVersion).where(
                    QuestionVersion.id.in_([spec["id"] for _s, spec in by_key.values()])
                )
            )
        }
    saved = {key: saved_answers(app, attempt.id)[qid] for key, qid in ids.items()}
    assert saved == {
        "bool-1": "a",
        "mr-1": ["a", "c"],
        "tf-1": False,
        "sa-1": "Boolean operators",
        "num-1": 0.3,
        "num-2": 15.0,
        "match-1": {"p1": "p1", "p3": "d1"},
        "ord-1": ["step-1", "step-2", "step-3", "step-4"],
        "cloze-1": {"1": "AND", "2": "or"},
        "essay-1": "A claim, with evidence.",
    }
    # The page after a reload shows the same answers: the reverse mapping agrees.
    page.reload()
    page.wait_for_selector("#quiz-form")
    assert page.locator(f"#{by_key['num-1'][0].get_attribute('id')} input").input_value() == "0.3"


MAPPING_CASES = [
    ({"type": "single_choice", "key": "q", "options": ["b", "a", "c"]}, {"answer-q": ["2"]}, "a"),
    ({"type": "single_choice", "key": "q", "options": ["b", "a"]}, {}, None),
    (
        {"type": "multiple_response", "key": "q", "options": ["b", "a", "c"]},
        {"answer-q": ["1", "3"]},
        ["b", "c"],
    ),
    ({"type": "true_false", "key": "q"}, {"answer-q": ["false"]}, False),
    ({"type": "true_false", "key": "q"}, {"answer-q": ["true"]}, True),
    ({"type": "short_answer", "key": "q"}, {"answer-q": ["  "]}, None),
    ({"type": "numeric", "key": "q"}, {"answer-q": ["1 234,5"]}, "1 234,5"),
    ({"type": "open_response", "key": "q"}, {"answer-q": ["Essay"]}, "Essay"),
    (
        {"type": "matching", "key": "q", "pairs": ["p1", "p2", "p3"]},
        {"answer-q.1": ["3"], "answer-q.3": ["1"]},
        {"p1": "c3", "p3": "c1"},
    ),
    (
        {"type": "ordering", "key": "q", "count": 3},
        {"answer-q.1": ["2"], "answer-q.2": ["3"], "answer-q.3": ["1"]},
        ["i3", "i1", "i2"],
    ),
    ({"type": "ordering", "key": "q", "count": 2}, {}, None),
    (
        {"type": "cloze", "key": "q", "blanks": [["1", None], ["2", ["or", "not"]]]},
        {"answer-q.1": ["AND"], "answer-q.2": ["2"]},
        {"1": "AND", "2": "not"},
    ),
]


@pytest.fixture
def answers_module(page: Page, live_server: str) -> Iterator[Page]:
    page.goto("/login")
    page.evaluate("async () => { window.answers = await import('/static/js/answers.js'); }")
    yield page


@pytest.mark.parametrize(("spec", "values", "expected"), MAPPING_CASES)
def test_the_mapping_module_matches_the_api(
    answers_module: Page, spec: dict[str, Any], values: dict[str, list[str]], expected: Any
) -> None:
    result = answers_module.evaluate(
        """([spec, values]) => {
          const read = (name) => values[name] ?? [];
          const answer = answers.toApiAnswer(spec, read);
          const back = answers.toFormValues(spec, answer);
          const again = answers.toApiAnswer(spec, (name) => back[name] ?? []);
          return {answer: answer ?? null, again: again ?? null};
        }""",
        [spec, values],
    )
    assert result["answer"] == expected
    assert result["again"] == expected  # toFormValues is the inverse


def test_an_ordering_with_a_position_missing_or_twice_is_not_sent(answers_module: Page) -> None:
    spec = {"type": "ordering", "key": "q", "count": 3}
    for values in (
        {"answer-q.1": ["1"]},
        {"answer-q.1": ["1"], "answer-q.2": ["1"], "answer-q.3": ["2"]},
    ):
        undefined = answers_module.evaluate(
            "([spec, values]) => answers.toApiAnswer(spec, (n) => values[n] ?? []) === undefined",
            [spec, values],
        )
        assert undefined


def test_the_mapping_refuses_a_position_the_page_did_not_show(answers_module: Page) -> None:
    thrown = answers_module.evaluate(
        """() => { try { answers.toApiAnswer({type: "single_choice", key: "q", options: ["a"]},
                   () => ["7"]); return false; } catch { return true; } }"""
    )
    assert thrown
