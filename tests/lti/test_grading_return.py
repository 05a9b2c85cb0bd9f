"""A post-test with an open response: its score goes to the LMS as pending, then again, corrected,
each time a person grades or re-grades the answer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.authoring.models import Module, QuestionVersion
from ilms.delivery import services as delivery
from ilms.delivery.models import Attempt, Response
from ilms.extensions import db
from ilms.lti import grades
from ilms.lti.models import GradeStatus, LtiGradeSubmission
from tests.delivery.conftest import essay_module_id  # noqa: F401  (a fixture)
from tests.lti.test_grades import open_post_test, student_in_course, submissions


@pytest.fixture
def module_slug(app, essay_module_id: int) -> str:  # noqa: F811
    """The placed course uses the module whose tests have an open response."""
    with app.app_context():
        return db.session.get(Module, essay_module_id).slug


def submit_with_essay(app, attempt_id: int) -> int:
    """Answer the choices right and write the essay; returns the essay's response id."""
    with app.test_request_context():
        attempt = db.session.get(Attempt, attempt_id)
        essay_id = None
        for seq, question_id in enumerate(attempt.question_order, start=1):
            kind = db.session.get(QuestionVersion, question_id).type
            if kind == "single_choice":
                delivery.save_answer(attempt, question_id, "right", seq)
            elif kind == "open_response":
                essay_id = delivery.save_answer(attempt, question_id, "My essay.", seq).id
        delivery.submit_attempt(attempt)
        db.session.commit()
        assert essay_id is not None
        return essay_id


def grade(app, response_id: int, points: float, grader_id: int) -> None:
    with app.test_request_context():
        response = db.session.get(Response, response_id)
        delivery.grade_response(response, points, db.session.get(User, grader_id))
        db.session.commit()


def test_grading_sends_the_corrected_score(app, platform, placed_course, lti_browser, make_user):
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-essay")
    attempt_id = open_post_test(app, assignment_id, user_id)
    essay_id = submit_with_essay(app, attempt_id)
    (pending,) = platform.scores
    assert pending["scoreGiven"] == 2.0 and pending["gradingProgress"] == "PendingManual"

    grader = make_user("admin")
    grade(app, essay_id, 4, grader.id)
    first, graded = platform.scores
    assert graded["userId"] == "student-essay"
    assert graded["scoreGiven"] == 6.0 and graded["scoreMaximum"] == pending["scoreMaximum"]
    assert graded["gradingProgress"] == "FullyGraded"
    assert graded["timestamp"] > first["timestamp"]  # the LMS keeps the latest score

    grade(app, essay_id, 1.5, grader.id)  # a correction
    *_before, corrected = platform.scores
    assert corrected["scoreGiven"] == 3.5 and corrected["timestamp"] > graded["timestamp"]
    (row,) = submissions(app, attempt_id)  # the same row, sent again: not a duplicate
    assert row.status == GradeStatus.SENT and row.score_given == 3.5 and row.tries == 1


def test_a_correction_during_a_send_is_sent_after_it(
    app, platform, placed_course, lti_browser, make_user
):
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-race")
    attempt_id = open_post_test(app, assignment_id, user_id)
    essay_id = submit_with_essay(app, attempt_id)
    (row,) = submissions(app, attempt_id)
    grader = make_user("admin")
    with app.app_context():
        # A worker claims the row again (as if the first send were still going on) ...
        db.session.get(LtiGradeSubmission, row.id).status = GradeStatus.PENDING
        db.session.commit()
        work = grades.claim(row.id)
        db.session.commit()
        assert work is not None and work.body["scoreGiven"] == 2.0
    grade(app, essay_id, 5, grader.id)  # ... while a person grades the essay
    assert len(platform.scores) == 1  # the row is being sent: nothing else goes meanwhile
    with app.app_context():
        grades.record(work, None, None)
        db.session.commit()  # the old score was sent: the corrected one follows
    *_before, last = platform.scores
    assert last["scoreGiven"] == 7.0 and last["gradingProgress"] == "FullyGraded"
    (row,) = submissions(app, attempt_id)
    assert row.status == GradeStatus.SENT


def test_grading_a_pre_test_sends_nothing(app, platform, placed_course, lti_browser, make_user):
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-pre")
    open_post_test(app, assignment_id, user_id)  # the pre-test was submitted on the way
    with app.app_context():
        pre = db.session.scalar(
            select(Attempt).where(Attempt.user_id == user_id, Attempt.phase == "pre")
        )
        essay = db.session.scalar(
            select(Response)
            .join(QuestionVersion)
            .where(Response.attempt_id == pre.id, QuestionVersion.type == "open_response")
        )
        essay_id = essay.id
    grade(app, essay_id, 2, make_user("admin").id)
    assert platform.scores == []
