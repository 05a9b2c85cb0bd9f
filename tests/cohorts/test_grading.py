"""Grading open responses: the service (score, fully graded, corrections, report freshness) and
the page the cohort's staff grade on (access, errors next to the field, the student's results)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from ilms.accounts.models import AuditEvent, User
from ilms.authoring.models import QuestionVersion
from ilms.cohorts.models import Assignment, CohortMember, FeedbackPolicy, MemberRole
from ilms.delivery import services
from ilms.delivery.models import Attempt, Phase, Response
from ilms.errors import Conflict, DomainError
from ilms.extensions import db
from ilms.reports import snapshots
from ilms.reports.models import ReportSnapshot
from tests.conftest import csrf_token_from, login
from tests.delivery.conftest import essay_module_id  # noqa: F401  (a fixture)

ESSAY = "Peer review <script>alert(1)</script> checks the method.\nAnd the data."


@dataclass(frozen=True)
class Course:
    assignment_id: int
    cohort_id: int
    owner: User
    instructor: User
    librarian: User
    student: User
    outsider: User  #: faculty who owns another cohort
    admin: User


@pytest.fixture
def course(app, make_user, make_assignment, enrol, essay_module_id) -> Course:  # noqa: F811
    assignment = make_assignment(module_id=essay_module_id)
    other = make_assignment(module_id=essay_module_id)
    people = {
        "instructor": make_user("faculty", name="Ivan Instructor"),
        "librarian": make_user("librarian", name="Lena Librarian"),
        "student": make_user("student", name="Sara Student"),
        "outsider": make_user("faculty", name="Oscar Outsider"),
        "admin": make_user("admin", name="Ada Admin"),
    }
    enrol(assignment, people["instructor"], MemberRole.INSTRUCTOR)
    enrol(assignment, people["librarian"], MemberRole.LIBRARIAN)
    enrol(assignment, people["student"])
    enrol(other, people["outsider"], MemberRole.OWNER)
    with app.app_context():
        owner = db.session.scalar(
            select(User)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(
                CohortMember.cohort_id == assignment.cohort_id,
                CohortMember.role == MemberRole.OWNER,
            )
        )
        db.session.expunge(owner)
    return Course(assignment.id, assignment.cohort_id, owner, **people)


def take_pre_test(app, assignment_id: int, user_id: int, essay: str | None = ESSAY) -> int:
    """Start and submit the pre-test: both choices right, the essay as given."""
    with app.test_request_context():
        assignment = db.session.get(Assignment, assignment_id)
        quiz = services.quiz_of(assignment, Phase.PRE)
        attempt = services.start_attempt(quiz, db.session.get(User, user_id), "en")
        for seq, qid in enumerate(attempt.question_order, 1):
            kind = db.session.get(QuestionVersion, qid).type
            if kind == "single_choice":
                services.save_answer(attempt, qid, "right", seq)
            elif kind == "open_response" and essay is not None:
                services.save_answer(attempt, qid, essay, seq)
        services.submit_attempt(attempt)
        db.session.commit()
        return attempt.id


def essay_of(app, attempt_id: int) -> Response:
    with app.app_context():
        response = db.session.scalar(
            select(Response)
            .join(QuestionVersion)
            .where(Response.attempt_id == attempt_id, QuestionVersion.type == "open_response")
        )
        db.session.expunge(response)
        return response


def attempt_of(app, attempt_id: int) -> Attempt:
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        db.session.expunge(attempt)
        return attempt


def grade(app, response_id: int, points: float, grader: User, comment: str | None = None):
    with app.test_request_context():
        response = db.session.get(Response, response_id)
        services.grade_response(response, points, db.session.get(User, grader.id), comment)
        db.session.commit()


def client_of(app, user: User | None):
    client = app.test_client()
    if user is not None:
        assert login(client, user).status_code == 302
    return client


def grading_url(course: Course) -> str:
    return f"/cohorts/{course.cohort_id}/assignments/{course.assignment_id}/grading"


def post_grade(client, course: Course, response_id: int, **fields: str):
    token = csrf_token_from(client, "/account")
    data = {"csrf_token": token, **{f"r{response_id}-{k}": v for k, v in fields.items()}}
    return client.post(f"{grading_url(course)}/{response_id}", data=data)


# --- The service ---------------------------------------------------------------------------------


def test_grading_sets_the_points_the_score_and_fully_graded(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    before = attempt_of(app, attempt_id)
    essay = essay_of(app, attempt_id)
    assert essay.points is None and essay.max_points == 5.0
    assert before.fully_graded is False and before.score == 2.0

    grade(app, essay.id, 3.5, course.librarian, "  Name the journal next time.  ")

    after = attempt_of(app, attempt_id)
    graded = essay_of(app, attempt_id)
    assert graded.points == 3.5 and graded.graded_by_id == course.librarian.id
    assert graded.details["comment"] == "Name the journal next time."
    assert graded.details["feedback_key"] == "partial" and graded.details["correct"] is False
    assert after.score == 5.5 and after.fully_graded is True
    assert after.max_score == before.max_score
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent)
            .where(AuditEvent.event == "delivery.response_graded")
            .where(AuditEvent.target_user_id == course.student.id)
        )
        assert event.actor_id == course.librarian.id
        assert event.details == {"response": graded.id, "points": 3.5, "previous": None}


@pytest.mark.parametrize("points", [-1, 5.5, math.nan, math.inf, True, 10**400, "3"])
def test_points_out_of_range_are_refused_and_nothing_changes(app, course, points):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    essay = essay_of(app, attempt_id)
    with app.test_request_context():
        response = db.session.get(Response, essay.id)
        with pytest.raises(DomainError) as refused:
            services.grade_response(response, points, db.session.get(User, course.owner.id))
        db.session.rollback()
    assert refused.value.field == "points"
    assert refused.value.message == "Give from 0 to 5 points."
    assert essay_of(app, attempt_id).points is None
    assert attempt_of(app, attempt_id).fully_graded is False


def test_a_comment_too_long_is_refused(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    essay = essay_of(app, attempt_id)
    with app.test_request_context():
        response = db.session.get(Response, essay.id)
        grader = db.session.get(User, course.owner.id)
        with pytest.raises(DomainError) as refused:
            services.grade_response(response, 2, grader, "x" * (services.COMMENT_LIMIT + 1))
        db.session.rollback()
    assert refused.value.field == "comment"
    assert refused.value.message == "Keep the comment under 4000 characters."
    assert essay_of(app, attempt_id).points is None


def test_a_grade_can_be_corrected(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    essay = essay_of(app, attempt_id)
    grade(app, essay.id, 5, course.owner, "Excellent.")
    assert attempt_of(app, attempt_id).score == 7.0
    assert essay_of(app, attempt_id).details["feedback_key"] == "correct"

    grade(app, essay.id, 0, course.instructor)

    corrected = essay_of(app, attempt_id)
    assert corrected.points == 0.0 and corrected.graded_by_id == course.instructor.id
    assert "comment" not in corrected.details  # an empty comment removes the old one
    assert corrected.details["feedback_key"] == "incorrect"
    after = attempt_of(app, attempt_id)
    assert after.score == 2.0 and after.fully_graded is True


def test_only_submitted_answers_that_need_a_person_are_graded(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    with app.test_request_context():
        choice = db.session.scalar(
            select(Response)
            .join(QuestionVersion)
            .where(Response.attempt_id == attempt_id, QuestionVersion.type == "single_choice")
        )
        grader = db.session.get(User, course.owner.id)
        with pytest.raises(DomainError, match="graded automatically"):
            services.grade_response(choice, 0, grader)
        db.session.rollback()
        # An open attempt (started, not submitted) cannot be graded yet.
        attempt = db.session.get(Attempt, attempt_id)
        essay_id = next(
            qid
            for qid in attempt.question_order
            if db.session.get(QuestionVersion, qid).type == "open_response"
        )
        assignment = db.session.get(Assignment, course.assignment_id)
        assignment.attempts_allowed = 2
        retry = services.start_attempt(attempt.quiz, db.session.get(User, course.student.id), "en")
        saved = services.save_answer(retry, essay_id, "A draft.", 1)
        with pytest.raises(Conflict):
            services.grade_response(db.session.get(Response, saved.id), 1, grader)
        db.session.rollback()


def test_grading_marks_the_report_out_of_date(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    with app.app_context():
        snapshot = snapshots.assignment_snapshot(db.session.get(Assignment, course.assignment_id))
        db.session.commit()
        snapshot_id, revision = snapshot.id, snapshot.revision
    grade(app, essay_of(app, attempt_id).id, 4, course.owner)
    with app.app_context():
        assert db.session.get(ReportSnapshot, snapshot_id).revision == revision + 1


# --- The page ------------------------------------------------------------------------------------


def test_the_cohort_page_links_to_the_answers_waiting(app, course):
    client = client_of(app, course.owner)
    cohort_page = f"/cohorts/{course.cohort_id}"
    assert "answer to grade" not in client.get(cohort_page).get_data(as_text=True)
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    html = client.get(cohort_page).get_data(as_text=True)
    assert "1 answer to grade" in html and grading_url(course) in html
    grade(app, essay_of(app, attempt_id).id, 2, course.owner)
    assert "answer to grade" not in client.get(cohort_page).get_data(as_text=True)


@pytest.mark.parametrize("who", ["owner", "instructor", "librarian", "admin"])
def test_staff_grade_on_the_page(app, course, who):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    essay = essay_of(app, attempt_id)
    client = client_of(app, getattr(course, who))
    page = client.get(grading_url(course))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1 answer to grade" in html and "Sara Student" in html
    assert "Pre-test, attempt 1" in html
    assert "Essay question essay1" in html
    assert "Backs it with <em>evidence</em>" in html  # the rubric, as Markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert f'<label for="r{essay.id}-points">' in html
    assert "<legend>Grade the answer of Sara Student</legend>" in html

    saved = post_grade(client, course, essay.id, points="4,5", comment="Good sources.")
    assert saved.status_code == 302 and saved.location.endswith(grading_url(course))
    html = client.get(saved.location).get_data(as_text=True)
    assert "Saved: 4.5 of 5 points for Sara Student." in html
    assert "No answers are waiting to be graded." in html and "1 graded answer" in html
    assert "Good sources." in html and 'value="4.5"' in html
    assert essay_of(app, attempt_id).points == 4.5
    assert attempt_of(app, attempt_id).score == 6.5


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("9", "Give from 0 to 5 points."),
        ("-1", "Give from 0 to 5 points."),
        ("lots", "Write a number with digits, using a comma or a point for decimals: 1234,5."),
        ("", "This field is required."),
    ],
)
def test_bad_points_are_shown_next_to_the_field(app, course, points, message):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    essay = essay_of(app, attempt_id)
    client = client_of(app, course.owner)
    page = post_grade(client, course, essay.id, points=points, comment="Keep this comment.")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert f'<a href="#r{essay.id}-points">Points: {message}</a>' in html
    assert f'<p class="error-message" id="r{essay.id}-points-error">{message}</p>' in html
    assert "Keep this comment.</textarea>" in html  # what was typed is not lost
    assert essay_of(app, attempt_id).points is None


def test_a_form_without_its_token_changes_nothing(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    essay = essay_of(app, attempt_id)
    client = client_of(app, course.owner)
    page = client.post(f"{grading_url(course)}/{essay.id}", data={f"r{essay.id}-points": "3"})
    assert page.status_code == 400
    assert "Your form expired or was sent from another page." in page.get_data(as_text=True)
    assert essay_of(app, attempt_id).points is None


def test_who_may_open_the_grading_page(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    essay = essay_of(app, attempt_id)
    url = grading_url(course)

    anonymous = app.test_client()
    assert anonymous.get(url).status_code == 302
    assert "/login" in anonymous.get(url).location

    student = client_of(app, course.student)
    assert student.get(url).status_code == 403
    assert post_grade(student, course, essay.id, points="5").status_code == 403

    outsider = client_of(app, course.outsider)
    assert outsider.get(url).status_code == 404
    assert post_grade(outsider, course, essay.id, points="5").status_code == 404

    assert essay_of(app, attempt_id).points is None


def test_answers_of_another_assignment_are_not_found(app, course, make_assignment, enrol):
    other = make_assignment(module_id=course_module(app, course))
    enrol(other, course.student)
    elsewhere = essay_of(app, take_pre_test(app, other.id, course.student.id))
    client = client_of(app, course.owner)
    assert post_grade(client, course, elsewhere.id, points="1").status_code == 404
    wrong_cohort = f"/cohorts/{other.cohort_id}/assignments/{course.assignment_id}/grading"
    assert client.get(wrong_cohort).status_code == 404
    assert essay_of(app, elsewhere.attempt_id).points is None


def course_module(app, course: Course) -> int:
    with app.app_context():
        return db.session.get(Assignment, course.assignment_id).module_id


# --- What the student sees -----------------------------------------------------------------------


def results_page(app, course: Course, attempt_id: int) -> str:
    client = client_of(app, course.student)
    page = client.get(f"/learn/{course.assignment_id}/attempts/{attempt_id}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_student_sees_the_points_and_the_comment(app, course):
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    html = results_page(app, course, attempt_id)
    assert "Not graded yet" in html and "may still rise" in html
    grade(app, essay_of(app, attempt_id).id, 4, course.owner, "Cite <b>two</b> sources.")
    html = results_page(app, course, attempt_id)
    assert "Not graded yet" not in html and "may still rise" not in html
    assert "4 of 5" in html
    assert "Comment from your grader" in html and "Cite &lt;b&gt;two&lt;/b&gt; sources." in html


def test_no_comment_when_the_cohort_shows_no_feedback(app, course):
    with app.app_context():
        db.session.get(Assignment, course.assignment_id).feedback_policy = FeedbackPolicy.NEVER
        db.session.commit()
    attempt_id = take_pre_test(app, course.assignment_id, course.student.id)
    grade(app, essay_of(app, attempt_id).id, 4, course.owner, "A private remark.")
    html = results_page(app, course, attempt_id)
    assert "A private remark." not in html and "Comment from your grader" not in html
    assert re.search(r"4 of 5", html) is None
