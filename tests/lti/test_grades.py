"""Assignment and Grade Services: the post-test score reaches the simulated LMS gradebook."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta

import jwt
from flask import render_template_string
from sqlalchemy import func, select, update

from ilms.accounts.models import User
from ilms.authoring.models import QuestionVersion
from ilms.cohorts.models import Assignment, Cohort
from ilms.db import utcnow
from ilms.delivery import services as delivery
from ilms.delivery.models import Attempt, Phase
from ilms.extensions import db
from ilms.lti import jobs
from ilms.lti.models import GradeStatus, LtiGradeSubmission, LtiResourceLink, LtiUser
from tests.lti.platform import INSTRUCTOR, LEARNER

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"


def student_in_course(app, platform, lti_browser, sub="student-g", **claims):
    """A student launched from the LMS; returns (user id, assignment id)."""
    path = lti_browser().land(sub=sub, roles=[LEARNER], **claims)
    with app.app_context():
        user_id = db.session.scalar(
            select(LtiUser.user_id).where(LtiUser.issuer == platform.issuer, LtiUser.sub == sub)
        )
    return user_id, int(path.rsplit("/", 1)[1])


def open_post_test(app, assignment_id, user_id):
    with app.test_request_context():
        assignment = db.session.get(Assignment, assignment_id)
        user = db.session.get(User, user_id)
        pre = delivery.start_attempt(delivery.quiz_of(assignment, Phase.PRE), user, "en")
        delivery.submit_attempt(pre)
        for lesson in assignment.module_version.lessons:
            delivery.complete_lesson(assignment, user, lesson.key)
        post = delivery.start_attempt(delivery.quiz_of(assignment, Phase.POST), user, "en")
        db.session.commit()
        return post.id


def answer_and_submit(app, attempt_id, right=True):
    with app.test_request_context():
        attempt = db.session.get(Attempt, attempt_id)
        for seq, question_id in enumerate(attempt.question_order, start=1):
            if db.session.get(QuestionVersion, question_id).type == "single_choice":
                answer = "right" if right else "wrong"
                delivery.save_answer(attempt, question_id, answer, seq)
        delivery.submit_attempt(attempt)
        db.session.commit()
        return attempt.score, attempt.max_score


def submissions(app, attempt_id):
    with app.app_context():
        rows = db.session.scalars(
            select(LtiGradeSubmission).where(LtiGradeSubmission.attempt_id == attempt_id)
        ).all()
        db.session.expunge_all()
        return rows


def tool_key(client, kid):
    return jwt.PyJWKSet.from_dict(client.get("/lti/jwks").get_json())[kid].key


def test_post_test_score_goes_to_the_gradebook(app, platform, placed_course, lti_browser):
    user_id, assignment_id = student_in_course(app, platform, lti_browser)
    attempt_id = open_post_test(app, assignment_id, user_id)
    assert platform.scores == []  # the pre-test sends nothing
    score, maximum = answer_and_submit(app, attempt_id)

    (token_request,) = platform.requests_to("/token")
    form = token_request.form
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert set(form["scope"].split()) == {
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    }
    assertion = form["client_assertion"]
    claims = jwt.decode(
        assertion,
        tool_key(app.test_client(), jwt.get_unverified_header(assertion)["kid"]),
        algorithms=["RS256"],
        audience=platform.token_url,
        issuer=platform.client_id,
        options={"require": ["exp", "iat", "jti", "sub"]},
    )
    assert claims["sub"] == platform.client_id

    (posted,) = platform.requests_to("/scores")
    assert posted.path == "/courses/course-1/lineitems/1/scores"
    assert posted.headers["Content-Type"] == "application/vnd.ims.lis.v1.score+json"
    assert posted.headers["Authorization"].startswith("Bearer ")
    body = posted.json
    assert body["userId"] == "student-g"
    assert body["scoreGiven"] == score == 2.0
    assert body["scoreMaximum"] == maximum
    assert body["activityProgress"] == "Completed"
    assert body["gradingProgress"] == "FullyGraded"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])
    (row,) = submissions(app, attempt_id)
    assert row.status == GradeStatus.SENT and row.tries == 1 and row.last_error is None


def test_the_line_item_is_found_or_created(app, platform, lti_browser, module_slug):
    endpoint = {
        AGS: {
            "scope": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            ],
            "lineitems": platform.lineitems_url,
        }
    }
    context = {"https://purl.imsglobal.org/spec/lti/claim/context": {"id": "course-2"}}
    custom = {"ilms_module": module_slug}
    lti_browser().land(
        sub="instructor-2",
        roles=[INSTRUCTOR],
        link_id="link-2",
        custom=custom,
        **endpoint,
        **context,
    )
    user_id, assignment_id = student_in_course(
        app, platform, lti_browser, sub="student-2", link_id="link-2", **endpoint, **context
    )
    answer_and_submit(app, open_post_test(app, assignment_id, user_id))
    (search,) = platform.requests_to("/lineitems", method="GET")
    assert "resource_link_id=link-2" in search.query and "tag=ilms-post-test" in search.query
    (created,) = platform.requests_to("/lineitems")
    assert created.json["resourceLinkId"] == "link-2"
    assert created.json["tag"] == "ilms-post-test"
    assert created.json["scoreMaximum"] == 100
    (posted,) = platform.requests_to("/scores")
    assert posted.path == "/courses/course-1/lineitems/2/scores"
    with app.app_context():
        link = db.session.scalar(
            select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "link-2")
        )
        assert link.lineitem_url == platform.lineitem_url(2)


def test_failures_are_retried_then_shown_with_a_retry_button(
    app, platform, placed_course, lti_browser, monkeypatch
):
    monkeypatch.setitem(app.config, "LTI_GRADE_MAX_TRIES", 2)
    platform.score_failures = 2
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-f")
    attempt_id = open_post_test(app, assignment_id, user_id)
    answer_and_submit(app, attempt_id)
    (row,) = submissions(app, attempt_id)
    assert row.status == GradeStatus.PENDING and row.tries == 1
    assert "HTTP 500" in row.last_error
    wait = row.next_try_at - utcnow()
    assert timedelta(seconds=50) < wait <= timedelta(seconds=60)

    with app.app_context():
        assert jobs.send_due_grades() == 0  # not due yet
        db.session.execute(
            update(LtiGradeSubmission)
            .where(LtiGradeSubmission.id == row.id)
            .values(next_try_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert jobs.send_due_grades() == 1
    (row,) = submissions(app, attempt_id)
    assert row.status == GradeStatus.FAILED and row.tries == 2

    faculty = placed_course.instructor.client
    page = faculty.get(f"/lti/cohorts/{placed_course.cohort_id}/grades").get_data(as_text=True)
    assert "Failed" in page and "Send again" in page and "HTTP 500" in page
    retry = faculty.post(
        f"/lti/cohorts/{placed_course.cohort_id}/grades/{row.id}/retry",
        data={"csrf_token": CSRF_RE.search(page).group(1)},
    )
    assert retry.status_code == 302
    (row,) = submissions(app, attempt_id)
    assert row.status == GradeStatus.SENT
    assert len(platform.requests_to("/scores")) == 3


def test_a_stale_claim_is_taken_over(app, platform, placed_course, lti_browser):
    platform.score_failures = 1
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-st")
    attempt_id = open_post_test(app, assignment_id, user_id)
    answer_and_submit(app, attempt_id)
    (row,) = submissions(app, attempt_id)
    with app.app_context():
        db.session.execute(
            update(LtiGradeSubmission)
            .where(LtiGradeSubmission.id == row.id)
            .values(status=GradeStatus.SENDING, claimed_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        assert jobs.send_due_grades() == 1
    (row,) = submissions(app, attempt_id)
    assert row.status == GradeStatus.SENT


def test_counted_attempt_by_the_cohort_rule(app, platform, placed_course, lti_browser):
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-b")
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        assignment.attempts_allowed = 2
        assignment.counting = "best"
        db.session.commit()
    answer_and_submit(app, open_post_test(app, assignment_id, user_id), right=True)
    with app.test_request_context():
        assignment = db.session.get(Assignment, assignment_id)
        user = db.session.get(User, user_id)
        second = delivery.start_attempt(delivery.quiz_of(assignment, Phase.POST), user, "en")
        db.session.commit()
        second_id = second.id
    answer_and_submit(app, second_id, right=False)
    first, best_again = platform.scores
    assert first["scoreGiven"] == 2.0
    assert best_again["scoreGiven"] == 2.0  # the best attempt still counts


def test_csv_export_is_safe_for_spreadsheets(app, platform, placed_course, lti_browser):
    user_id, assignment_id = student_in_course(
        app, platform, lti_browser, sub="student-x", name='=HYPERLINK("http://x")'
    )
    answer_and_submit(app, open_post_test(app, assignment_id, user_id))
    response = placed_course.instructor.client.get(
        f"/lti/cohorts/{placed_course.cohort_id}/grades.csv"
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Name", "Email address", "LMS user id", "Module"]
    (row,) = [r for r in rows if r[2] == "student-x"]
    assert row[0] == '\'=HYPERLINK("http://x")'
    assert float(row[4]) == 2.0
    assert row[7] == "Sent to the LMS"


def test_students_do_not_see_grade_return(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    browser.land(sub="student-p", roles=[LEARNER])
    for path in ("grades", "grades.csv", "roster"):
        assert (
            browser.client.get(f"/lti/cohorts/{placed_course.cohort_id}/{path}").status_code == 404
        )


def test_the_cohort_page_include(app, platform, placed_course, lti_browser, make_assignment):
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-i")
    answer_and_submit(app, open_post_test(app, assignment_id, user_id))
    other = make_assignment()
    page = placed_course.instructor.client.get(f"/cohorts/{placed_course.cohort_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Grade return" in html and "1 score sent" in html
    assert f"/lti/cohorts/{placed_course.cohort_id}/grades.csv" in html
    template = '{% include "lti/_grade_status.html" %}'
    with app.test_request_context():
        assert (
            render_template_string(template, cohort=db.session.get(Cohort, other.cohort_id)).strip()
            == ""
        )


def test_cohorts_without_an_lms_send_nothing(app, make_user, make_assignment, enrol):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(LtiGradeSubmission))
    answer_and_submit(app, open_post_test(app, assignment.id, student.id))
    with app.app_context():
        after = db.session.scalar(select(func.count()).select_from(LtiGradeSubmission))
    assert after == before


def test_a_rolled_back_submission_sends_nothing(app, platform, placed_course, lti_browser):
    user_id, assignment_id = student_in_course(app, platform, lti_browser, sub="student-rb")
    attempt_id = open_post_test(app, assignment_id, user_id)
    with app.test_request_context():
        delivery.submit_attempt(db.session.get(Attempt, attempt_id))
        db.session.rollback()
    time.sleep(0.1)
    assert platform.scores == []
    assert submissions(app, attempt_id) == []
