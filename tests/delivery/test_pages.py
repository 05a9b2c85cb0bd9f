"""The student's pages through the test client: dashboard, joining, the module path and its gates,
lessons, the quiz form without JavaScript, results per feedback policy, the certificate, access."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.authoring import services as authoring
from ilms.authoring.models import Module, QuestionVersion
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Assignment, Cohort, FeedbackPolicy
from ilms.db import utcnow
from ilms.delivery import services
from ilms.delivery.jobs import close_overdue_attempts
from ilms.delivery.models import Attempt, AttemptState, LessonProgress, Phase, Quiz, Response
from ilms.extensions import db
from tests.conftest import csrf_token_from, login, unique
from tests.delivery.conftest import quiz_id, write_test_module

#: A 1x1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
SPEC_RE = re.compile(r"data-question='([^']+)'")


# --- Helpers -------------------------------------------------------------------------------------


@pytest.fixture
def student(make_user, client):
    """A student logged in with ``client``."""
    user = make_user("student", name="Aigerim Student")
    assert login(client, user).status_code == 302
    return user


def page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code, response.location)
    return response.get_data(as_text=True)


def post(client, path, data=None, status=302):
    token = csrf_token_from(client, "/account")
    response = client.post(path, data={"csrf_token": token, **(data or {})})
    assert response.status_code == status, (path, response.status_code)
    return response


def specs(html):
    return [json.loads(unescape(raw)) for raw in SPEC_RE.findall(html)]


def take_quiz(app, assignment, user, phase, answer="right"):
    """Start and submit a quiz through the services, answering every choice with ``answer``."""
    with app.test_request_context():
        quiz = db.session.get(Quiz, quiz_id(app, assignment, phase))
        attempt = services.start_attempt(quiz, db.session.get(User, user.id), "en")
        for seq, qid in enumerate(attempt.question_order, 1):
            if db.session.get(QuestionVersion, qid).type == "single_choice":
                services.save_answer(attempt, qid, answer, seq)
        services.submit_attempt(attempt)
        db.session.commit()
        return attempt.id


def read_lessons(app, assignment, user):
    with app.test_request_context():
        full = db.session.get(Assignment, assignment.id)
        for lesson in full.module_version.lessons:
            services.complete_lesson(full, db.session.get(User, user.id), lesson.key)
        db.session.commit()


def start_pre(client, assignment):
    post(client, f"/learn/{assignment.id}/pre/start")
    html = page(client, f"/learn/{assignment.id}/pre")
    attempt_id = int(re.search(r"/learn/\d+/attempts/(\d+)/answers", html).group(1))
    return attempt_id, html


def choice_position(spec, option_id="right"):
    return str(spec["options"].index(option_id) + 1)


def answer_form(html, matching="1"):
    """Form data answering every choice question right and every matching item with ``matching``."""
    data = {}
    for spec in specs(html):
        if spec["type"] == "single_choice":
            data[f"answer-{spec['key']}"] = choice_position(spec)
        elif spec["type"] == "matching":
            for n in range(1, len(spec["pairs"]) + 1):
                data[f"answer-{spec['key']}.{n}"] = matching
    return data


def responses(app, attempt_id):
    with app.app_context():
        rows = db.session.scalars(select(Response).where(Response.attempt_id == attempt_id)).all()
        return {r.question_version_id: (r.answer, r.seq) for r in rows}


def import_module(app, tmp_path, languages=("en",), image=False, publish=True) -> int:
    """A fresh module like the test module: in more languages, with an image in lesson one."""
    slug = f"pages-{unique('m').replace('_', '-').lower()}"
    folder = write_test_module(tmp_path, slug)
    toml = folder / "module.toml"
    text = toml.read_text(encoding="utf-8").replace(
        'languages = ["en"]', f"languages = {json.dumps(list(languages))}"
    )
    for code in languages[1:]:
        text = re.sub(r'(\{ en = "([^"]*)")', rf'\1, {code} = "\2 ({code})"', text)
    toml.write_text(text, encoding="utf-8")
    bank = folder / "bank.toml"
    bank_text = bank.read_text(encoding="utf-8")
    for code in languages[1:]:
        bank_text = re.sub(r'(\{ en = "([^"]*)")', rf'\1, {code} = "\2 ({code})"', bank_text)
    bank.write_text(bank_text, encoding="utf-8")
    lessons = folder / "lessons"
    for path in list(lessons.glob("*.en.md")):
        for code in languages[1:]:
            body = path.read_text(encoding="utf-8").replace("Read me.", f"Read me in {code}.")
            Path(str(path).replace(".en.md", f".{code}.md")).write_text(body, encoding="utf-8")
    if image:
        (lessons / "images").mkdir()
        (lessons / "images" / "dot.png").write_bytes(PNG)
        for path in lessons.glob("01-one.*.md"):
            path.write_text(
                path.read_text(encoding="utf-8") + "\n![A single dot](images/dot.png)\n",
                encoding="utf-8",
            )
    with app.app_context():
        _results, problems = authoring.import_folder(tmp_path, publish=publish)
        assert problems == [], problems
        db.session.commit()
        return db.session.scalar(select(Module.id).where(Module.slug == slug))


def assign(app, make_user, module_id, **settings) -> Assignment:
    owner = make_user("faculty")
    with app.app_context():
        cohort = cohorts.create_cohort(
            db.session.get(User, owner.id),
            course_code="IL201",
            course_title="Sources",
            term="Fall 2026",
            section=unique("s"),
        )
        now = utcnow()
        settings.setdefault("opens_at", now - timedelta(days=1))
        settings.setdefault("closes_at", now + timedelta(days=7))
        assignment = cohorts.assign_module(cohort, db.session.get(Module, module_id), **settings)
        db.session.commit()
        assignment_id = assignment.id
    with app.app_context():
        loaded = db.session.get(Assignment, assignment_id)
        db.session.expunge(loaded)
        return loaded


# --- The dashboard and joining -------------------------------------------------------------------


def test_dashboard_lists_the_students_modules_with_progress(
    app, client, student, make_assignment, enrol
):
    mine, theirs = make_assignment(), make_assignment()
    enrol(mine, student)
    html = page(client, "/student")
    assert "Test module" in html and "IL101" in html
    assert f'href="/learn/{mine.id}/pre"' in html and "Start the pre-test" in html
    assert "0 of 2 read" in html
    assert f"/learn/{theirs.id}" not in html

    take_quiz(app, mine, student, Phase.PRE)
    html = page(client, "/student")
    assert "Submitted, score 66.7%" in html
    assert f'href="/learn/{mine.id}/lessons"' in html and "Continue the lessons" in html


def test_dashboard_hides_scores_when_the_policy_does(app, client, student, make_assignment, enrol):
    assignment = make_assignment(feedback_policy=FeedbackPolicy.NEVER)
    enrol(assignment, student)
    take_quiz(app, assignment, student, Phase.PRE)
    html = page(client, "/student")
    assert "Submitted" in html and "score" not in html.lower().split("assigned modules")[1]


def test_join_with_a_code_and_with_a_link(app, client, make_user, make_assignment):
    assignment = make_assignment()
    with app.app_context():
        code = db.session.get(Cohort, assignment.cohort_id).join_code
    user = make_user("student")

    # The link works after logging in: the log-in page sends the student back to it.
    response = client.get(f"/join/{code.lower()}")
    assert response.status_code == 302 and "/login?next=" in response.location
    token = csrf_token_from(client)
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": "correct horse battery staple",
            "csrf_token": token,
            "next": f"/join/{code.lower()}",
        },
    )
    assert response.location.endswith(f"/join/{code.lower()}")
    html = page(client, f"/join/{code.lower()}")
    assert f'value="{code}"' in html  # shown to confirm; following the link changes nothing
    with app.app_context():
        assert cohorts.membership(db.session.get(Cohort, assignment.cohort_id), user) is None

    refused = post(client, "/join", {"code": "NOSUCH99"}, status=400)
    assert "not valid" in refused.get_data(as_text=True)
    empty = post(client, "/join", {"code": ""}, status=400)
    assert "required" in empty.get_data(as_text=True)

    joined = post(client, "/join", {"code": code})
    assert joined.location.endswith("/student")
    assert "Test module" in page(client, "/student")
    post(client, "/join", {"code": code})  # joining twice is harmless
    with app.app_context():
        cohort = db.session.get(Cohort, assignment.cohort_id)
        assert cohorts.membership(cohort, user).role.value == "student"


# --- The module page, gates and access -----------------------------------------------------------


def test_module_page_shows_the_path_and_what_is_locked(
    app, client, student, make_assignment, enrol
):
    assignment = make_assignment()
    enrol(assignment, student)
    html = page(client, f"/learn/{assignment.id}")
    assert "Take the pre-test first; the lessons open after it." in html
    assert "Take the pre-test first." in html  # the post-test
    assert f'href="/learn/{assignment.id}/lessons/one"' not in html

    take_quiz(app, assignment, student, Phase.PRE)
    html = page(client, f"/learn/{assignment.id}")
    assert f'href="/learn/{assignment.id}/lessons/one"' in html
    assert "Finish the lessons first" in html
    assert "Attempt 1: results" in html

    read_lessons(app, assignment, student)
    html = page(client, f"/learn/{assignment.id}")
    assert "Finish the lessons first" not in html
    assert f'href="/learn/{assignment.id}/post"' in html and "Take the post-test" in html


def test_other_students_and_other_cohorts_pages_are_not_found(
    app, client, make_user, make_assignment, enrol
):
    mine, theirs = make_assignment(), make_assignment()
    owner, intruder = make_user("student"), make_user("student")
    enrol(mine, owner)
    enrol(mine, intruder)
    enrol(theirs, owner)
    attempt_id = take_quiz(app, theirs, owner, Phase.PRE)
    mine_attempt = take_quiz(app, mine, owner, Phase.PRE)
    assert login(client, intruder).status_code == 302
    for path in (
        f"/learn/{theirs.id}",
        f"/learn/{theirs.id}/pre",
        f"/learn/{theirs.id}/lessons",
        f"/learn/{theirs.id}/lessons/one",
        f"/learn/{theirs.id}/certificate.pdf",
        f"/learn/{theirs.id}/attempts/{attempt_id}",
        f"/learn/{mine.id}/attempts/{mine_attempt}",  # in the intruder's cohort, not theirs
        f"/learn/{mine.id}/attempts/{mine_attempt}/submit",
        "/learn/999999",
    ):
        page(client, path, status=404)
    post(client, f"/learn/{theirs.id}/pre/start", status=404)
    post(client, f"/learn/{theirs.id}/lessons/one", status=404)
    post(client, f"/learn/{mine.id}/attempts/{mine_attempt}/submit", status=404)
    post(client, f"/learn/{mine.id}/attempts/{mine_attempt}/answers", status=404)
    # An attempt named under another assignment of the owner is not found either.
    owners_client = app.test_client()
    assert login(owners_client, owner).status_code == 302
    page(owners_client, f"/learn/{mine.id}/attempts/{attempt_id}", status=404)


def test_an_unpublished_module_is_hidden(app, client, student, make_user, enrol, tmp_path):
    assignment = assign(app, make_user, import_module(app, tmp_path))
    enrol(assignment, student)
    assert f"/learn/{assignment.id}" in page(client, "/student")
    with app.app_context():
        db.session.get(Module, assignment.module_id).published = False
        db.session.commit()
    assert f"/learn/{assignment.id}" not in page(client, "/student")
    page(client, f"/learn/{assignment.id}", status=404)
    page(client, f"/learn/{assignment.id}/pre", status=404)


def test_pages_need_log_in(client, make_assignment):
    assignment = make_assignment()
    for path in (f"/learn/{assignment.id}", f"/learn/{assignment.id}/pre", "/join/ABC"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location


# --- Lessons -------------------------------------------------------------------------------------


def test_lessons_are_locked_until_the_pre_test(client, student, make_assignment, enrol):
    assignment = make_assignment()
    enrol(assignment, student)
    response = client.get(f"/learn/{assignment.id}/lessons/one")
    assert response.status_code == 302 and response.location.endswith(
        f"/learn/{assignment.id}#lessons"
    )
    assert "Take the pre-test first" in page(client, f"/learn/{assignment.id}")
    post(client, f"/learn/{assignment.id}/lessons/one")
    with client.application.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(LessonProgress)
                .where(LessonProgress.assignment_id == assignment.id)
            )
            == 0
        )


def test_lesson_progress_is_kept_and_resumed(app, client, student, make_assignment, enrol):
    assignment = make_assignment(pre_required=False)
    enrol(assignment, student)
    response = client.get(f"/learn/{assignment.id}/lessons")
    assert response.location.endswith(f"/learn/{assignment.id}/lessons/one")
    html = page(client, f"/learn/{assignment.id}/lessons/one")
    assert "Lesson 1 of 2" in html and "Read me." in html and "Mark as read and continue" in html
    assert f'href="/learn/{assignment.id}/lessons/two"' in html

    done = post(client, f"/learn/{assignment.id}/lessons/one")
    assert done.location.endswith(f"/learn/{assignment.id}/lessons/two")
    # Resuming goes to the first lesson not yet read.
    assert client.get(f"/learn/{assignment.id}/lessons").location.endswith("/lessons/two")
    html = page(client, f"/learn/{assignment.id}/lessons/two")
    assert "Mark as read and finish the lessons" in html
    assert f'href="/learn/{assignment.id}/lessons/one"' in html  # previous
    finished = post(client, f"/learn/{assignment.id}/lessons/two")
    assert finished.location.endswith(f"/learn/{assignment.id}#post-test")
    post(client, f"/learn/{assignment.id}/lessons/two")  # marking again is harmless
    assert "2 of 2 read" in page(client, f"/learn/{assignment.id}")
    page(client, f"/learn/{assignment.id}/lessons/nosuch", status=404)
    post(client, f"/learn/{assignment.id}/lessons/nosuch", status=404)
    with app.app_context():
        keys = db.session.scalars(
            select(LessonProgress.lesson_key).where(LessonProgress.assignment_id == assignment.id)
        ).all()
        assert sorted(keys) == ["one", "two"]


def test_lessons_in_the_students_language_with_their_images(
    app, client, make_user, enrol, tmp_path
):
    assignment = assign(
        app, make_user, import_module(app, tmp_path, ("en", "ru"), image=True), pre_required=False
    )
    student = make_user("student", locale="ru")
    enrol(assignment, student)
    assert login(client, student).status_code == 302
    html = page(client, f"/learn/{assignment.id}/lessons/one")
    assert "Read me in ru." in html and 'lang="ru"' in html
    source = re.search(r'<img[^>]*src="([^"]+)"', html).group(1)
    assert re.fullmatch(r"/media/[0-9a-f]{64}", source)
    assert 'alt="A single dot"' in html

    image = client.get(source)
    assert image.status_code == 200 and image.data == PNG
    assert image.mimetype == "image/png"
    assert (
        "immutable" in image.headers["Cache-Control"]
        and "max-age=31536000" in image.headers["Cache-Control"]
    )
    assert client.get(source, headers={"If-None-Match": image.headers["ETag"]}).status_code == 304
    assert client.get("/media/" + "0" * 64).status_code == 404
    assert client.get("/media/not-a-hash").status_code == 404

    english = make_user("student", locale="kk")  # the module has no Kazakh: English it is
    enrol(assignment, english)
    other = app.test_client()
    assert login(other, english).status_code == 302
    html = page(other, f"/learn/{assignment.id}/lessons/one")
    assert "Read me." in html and '<article class="lesson" lang="en"' in html


# --- The quiz without JavaScript -----------------------------------------------------------------


def test_the_start_page_writes_nothing_and_start_is_a_post(
    app, client, student, make_assignment, enrol
):
    assignment = make_assignment(time_limit_minutes=30, attempts_allowed=2)
    enrol(assignment, student)
    html = page(client, f"/learn/{assignment.id}/pre")
    assert "30 minutes" in html and "2 attempts left" in html
    assert f'action="/learn/{assignment.id}/pre/start"' in html
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.user_id == student.id)
            )
            == 0
        )
    attempt_id, html = start_pre(client, assignment)
    assert len(specs(html)) == 3 and 'id="quiz-timer"' in html and "data-deadline=" in html
    again, _html = start_pre(client, assignment)
    assert again == attempt_id
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        # The page shows the attempt's stored order, options in the stored shuffle.
        shown = [spec["id"] for spec in specs(html)]
        assert shown == attempt.question_order
        for spec in specs(html):
            if spec["type"] == "single_choice":
                assert spec["options"] == attempt.option_orders[str(spec["id"])]


def test_starting_a_locked_quiz_says_why_and_starts_nothing(
    app, client, student, make_assignment, enrol
):
    assignment = make_assignment()
    enrol(assignment, student)
    html = page(client, f"/learn/{assignment.id}/post")
    assert "Take the pre-test first." in html and "/post/start" not in html
    refused = post(client, f"/learn/{assignment.id}/post/start")
    assert refused.location.endswith(f"/learn/{assignment.id}/post")
    assert "Take the pre-test first." in page(client, refused.location)
    with app.app_context():
        count = select(func.count()).select_from(Attempt).where(Attempt.user_id == student.id)
        assert db.session.scalar(count) == 0


def test_the_dashboard_tells_upcoming_and_closed_modules(client, student, make_assignment, enrol):
    now = utcnow()
    upcoming = make_assignment(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2))
    closed = make_assignment(opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))
    enrol(upcoming, student)
    enrol(closed, student)
    html = page(client, "/student")
    assert "Opens on" in html and "This module has closed." in html
    assert f'href="/learn/{upcoming.id}/pre"' not in html
    assert "This module opens on" in page(client, f"/learn/{upcoming.id}/pre")
    assert "This module closed on" in page(client, f"/learn/{closed.id}")


def test_the_quiz_form_saves_answers_with_growing_sequence_numbers(
    app, client, student, make_assignment, enrol
):
    assignment = make_assignment()
    enrol(assignment, student)
    attempt_id, html = start_pre(client, assignment)
    saved = post(
        client,
        f"/learn/{assignment.id}/attempts/{attempt_id}/answers",
        {**answer_form(html), "save": "Save answers"},
    )
    assert saved.location.endswith(f"/learn/{assignment.id}/pre")
    first = responses(app, attempt_id)
    assert len(first) == 3 and {seq for _answer, seq in first.values()} == {1}
    assert {answer for answer, _seq in first.values() if isinstance(answer, str)} == {"right"}

    # The page shows the saved answers; saving again changes only what changed.
    html = page(client, f"/learn/{assignment.id}/pre")
    assert html.count(" checked") == 2
    choice = next(s for s in specs(html) if s["type"] == "single_choice")
    data = {**answer_form(html), f"answer-{choice['key']}": choice_position(choice, "wrong")}
    post(client, f"/learn/{assignment.id}/attempts/{attempt_id}/answers", {**data, "save": "1"})
    second = responses(app, attempt_id)
    assert second[choice["id"]] == ("wrong", 2)
    assert [seq for qid, (_a, seq) in second.items() if qid != choice["id"]] == [1, 1]


def test_a_bad_answer_is_reported_and_the_others_are_saved(
    app, client, student, make_assignment, enrol
):
    assignment = make_assignment()
    enrol(assignment, student)
    attempt_id, html = start_pre(client, assignment)
    response = post(
        client,
        f"/learn/{assignment.id}/attempts/{attempt_id}/answers",
        {**answer_form(html, matching="99"), "save": "1"},
        status=400,
    )
    text = response.get_data(as_text=True)
    assert 'class="error-summary"' in text and "Some answers could not be saved" in text
    assert "names an option this question does not have" in text
    saved = responses(app, attempt_id)
    assert len(saved) == 2 and all(answer == "right" for answer, _seq in saved.values())


def test_review_submit_and_double_submit(app, client, student, make_assignment, enrol):
    assignment = make_assignment()
    enrol(assignment, student)
    attempt_id, html = start_pre(client, assignment)
    data = answer_form(html)
    matching = next(s for s in specs(html) if s["type"] == "matching")
    data = {k: v for k, v in data.items() if not k.startswith(f"answer-{matching['key']}")}
    review = post(
        client,
        f"/learn/{assignment.id}/attempts/{attempt_id}/answers",
        {**data, "review": "Review and submit"},
    )
    assert review.location.endswith(f"/learn/{assignment.id}/attempts/{attempt_id}/submit")
    confirm = page(client, review.location)
    assert "You answered 2 of 3 questions." in confirm
    assert "Not answered yet" in confirm and 'id="submit-form"' in confirm

    first = post(client, f"/learn/{assignment.id}/attempts/{attempt_id}/submit")
    second = post(client, f"/learn/{assignment.id}/attempts/{attempt_id}/submit")
    assert first.location == second.location
    assert first.location.endswith(f"/learn/{assignment.id}/attempts/{attempt_id}")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.state == AttemptState.SUBMITTED and attempt.score == 2.0
        submitted_at = attempt.submitted_at
    # After submitting: the quiz page is the start page again, saving is refused, confirm redirects.
    late = post(
        client, f"/learn/{assignment.id}/attempts/{attempt_id}/answers", {**data, "save": "1"}
    )
    assert late.location.endswith(f"/attempts/{attempt_id}")
    assert client.get(f"/learn/{assignment.id}/attempts/{attempt_id}/submit").status_code == 302
    assert "used all your attempts" in page(client, f"/learn/{assignment.id}/pre")
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).submitted_at == submitted_at


def test_an_overdue_attempt_shows_time_up_and_submits_at_the_deadline(
    app, client, student, make_assignment, enrol
):
    assignment = make_assignment(time_limit_minutes=10)
    enrol(assignment, student)
    attempt_id, html = start_pre(client, assignment)
    post(
        client,
        f"/learn/{assignment.id}/attempts/{attempt_id}/answers",
        {**answer_form(html), "save": "1"},
    )
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        attempt.started_at -= timedelta(hours=1)
        attempt.expires_at -= timedelta(hours=1)
        deadline = attempt.expires_at
        db.session.commit()
    html = page(client, f"/learn/{assignment.id}/pre")
    assert "Time is up" in html and 'id="submit-form"' in html
    with app.app_context():
        assert db.session.get(Attempt, attempt_id).is_open  # showing it wrote nothing
    late = post(
        client,
        f"/learn/{assignment.id}/attempts/{attempt_id}/answers",
        {**answer_form(html), "save": "1"},
    )
    assert late.location.endswith(f"/attempts/{attempt_id}")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.state == AttemptState.CLOSED and attempt.submitted_at == deadline
    assert "Time ran out" in page(client, late.location)


def test_the_periodic_job_closes_overdue_attempts(app, make_user, make_assignment, enrol):
    assignment = make_assignment(time_limit_minutes=5)
    student = make_user("student")
    enrol(assignment, student)
    with app.test_request_context():
        quiz = db.session.get(Quiz, quiz_id(app, assignment, Phase.PRE))
        attempt = services.start_attempt(
            quiz, db.session.get(User, student.id), "en", now=utcnow() - timedelta(hours=1)
        )
        db.session.commit()
        attempt_id = attempt.id
    with app.app_context():
        assert close_overdue_attempts() >= 1
        assert db.session.get(Attempt, attempt_id).state == AttemptState.CLOSED
    name = "ilms.delivery.jobs.close_overdue_attempts"
    assert name in app.extensions["ilms_tasks"]
    queue = app.extensions["ilms_queue"]
    assert name in {task.name for task in queue._registry.periodic_tasks}


# --- Results and feedback ------------------------------------------------------------------------


def results_page(client, assignment, attempt_id):
    return page(client, f"/learn/{assignment.id}/attempts/{attempt_id}")


def api_attempt(client, attempt_id):
    response = client.get(f"/api/v1/attempts/{attempt_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def assert_no_key_in_api(client, attempt_id):
    body = api_attempt(client, attempt_id)
    document = json.loads(body)
    for question in document["questions"]:
        assert not {"correct", "feedback", "accepted", "answer", "key"} & set(question)
        for option in question.get("options", []):
            assert set(option) == {"id", "text"}
    assert "Yes." not in body and "No." not in body


@pytest.mark.parametrize("policy", list(FeedbackPolicy))
def test_results_follow_the_feedback_policy(app, client, student, make_assignment, enrol, policy):
    assignment = make_assignment(feedback_policy=policy)
    enrol(assignment, student)
    attempt_id = take_quiz(app, assignment, student, Phase.PRE, answer="wrong")
    html = results_page(client, assignment, attempt_id)
    assert "Attempt 1, submitted" in html
    shown = policy == FeedbackPolicy.AFTER_SUBMIT
    assert ("Feedback" in html) is shown
    assert ("No." in html) is shown  # the chosen option's feedback
    assert ("Correct answer" in html and "The right one" in html) is shown
    assert ("Your score:" in html) is shown
    assert_no_key_in_api(client, attempt_id)
    if policy == FeedbackPolicy.AFTER_CLOSE:
        assert "after the module closes" in html
        with app.app_context():
            row = db.session.get(Assignment, assignment.id)
            row.opens_at, row.closes_at = (
                utcnow() - timedelta(days=3),
                utcnow() - timedelta(minutes=1),
            )
            db.session.commit()
        html = results_page(client, assignment, attempt_id)
        assert "Correct answer" in html and "No." in html and "Your score:" in html
        assert_no_key_in_api(client, attempt_id)
    if policy == FeedbackPolicy.NEVER:
        assert "chosen not to show" in html


def test_results_show_each_answer_verdict_and_feedback(
    app, client, student, make_assignment, enrol
):
    assignment = make_assignment()
    enrol(assignment, student)
    attempt_id = take_quiz(app, assignment, student, Phase.PRE)
    html = results_page(client, assignment, attempt_id)
    assert "2 of 3 points" in html
    assert html.count("result-correct") == 2 and html.count("result-unanswered") == 1
    assert "Yes." in html and "No answer" in html
    assert "AND → both words" in html  # the matching key


def test_an_open_attempts_results_lead_back_to_the_quiz(client, student, make_assignment, enrol):
    assignment = make_assignment()
    enrol(assignment, student)
    attempt_id, _html = start_pre(client, assignment)
    response = client.get(f"/learn/{assignment.id}/attempts/{attempt_id}")
    assert response.status_code == 302 and response.location.endswith(f"/learn/{assignment.id}/pre")


# --- The certificate -----------------------------------------------------------------------------


def test_the_certificate_names_the_student_and_the_module(
    app, client, make_user, make_assignment, enrol
):
    assignment = make_assignment()
    student = make_user("student", name="Әлия Қасымова", locale="kk")
    enrol(assignment, student)
    assert login(client, student).status_code == 302
    page(client, f"/learn/{assignment.id}/certificate.pdf", status=404)
    take_quiz(app, assignment, student, Phase.PRE)
    read_lessons(app, assignment, student)
    page(client, f"/learn/{assignment.id}/certificate.pdf", status=404)
    take_quiz(app, assignment, student, Phase.POST)
    assert f'href="/learn/{assignment.id}/certificate.pdf"' in page(
        client, f"/learn/{assignment.id}"
    )
    response = client.get(f"/learn/{assignment.id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Әлия Қасымова" in text and "Test module" in text
    assert len(reader.pages) == 1
