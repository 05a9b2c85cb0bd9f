"""A post-test submitted twenty times at once sends exactly one score to the LMS."""

from __future__ import annotations

from sqlalchemy import select

from ilms.extensions import db
from ilms.lti.models import GradeStatus, LtiGradeSubmission
from tests.delivery.test_concurrency import Browser, in_parallel
from tests.lti.test_grades import open_post_test, student_in_course


def test_twenty_parallel_submits_send_one_score(
    app, live_server, platform, placed_course, lti_browser, make_user
):
    # The student has a password too, so the parallel browser can log in on the live server;
    # the launch links the LMS account to it by email.
    student = make_user("student", email=f"student-c@{platform.name}.example.edu")
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-c")
    assert user_id == student.id
    attempt_id = open_post_test(app, assignment_id, student.id)
    browser = Browser(live_server, student.email)
    _, attempt = browser.call("GET", f"/api/v1/attempts/{attempt_id}")
    for seq, question in enumerate(attempt["questions"], start=1):
        if question["type"] == "single_choice":
            browser.call(
                "PUT",
                f"/api/v1/attempts/{attempt_id}/answers/{question['id']}",
                {"answer": "right", "seq": seq},
            )
    results = in_parallel(20, lambda: browser.call("POST", f"/api/v1/attempts/{attempt_id}/submit"))
    assert {status for status, _ in results} == {200}, results

    assert len(platform.requests_to("/token")) == 1
    (score,) = platform.scores
    assert score["userId"] == "student-c"
    assert score["scoreGiven"] == 2.0
    with app.app_context():
        rows = db.session.scalars(
            select(LtiGradeSubmission).where(LtiGradeSubmission.attempt_id == attempt_id)
        ).all()
        assert [(r.status, r.tries) for r in rows] == [(GradeStatus.SENT, 1)]
