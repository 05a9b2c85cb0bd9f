"""Names and Role Provisioning Services: faculty bring the cohort's roster up to date from the LMS."""

from __future__ import annotations

import re

from sqlalchemy import select

from ilms.cohorts.models import CohortMember, MemberRole
from ilms.extensions import db
from ilms.lti.models import LtiContext, LtiUser
from tests.lti.platform import INSTRUCTOR, LEARNER, TEACHING_ASSISTANT

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def member(sub: str, roles: list[str], status: str = "Active", email: bool = True) -> dict:
    entry = {"user_id": sub, "status": status, "roles": roles, "name": f"Person {sub}"}
    if email:
        entry["email"] = f"{sub}@roster.example.edu"
    return entry


def roles_in(app, platform, cohort_id) -> dict[str, MemberRole]:
    with app.app_context():
        rows = db.session.execute(
            select(LtiUser.sub, CohortMember.role)
            .join(CohortMember, CohortMember.user_id == LtiUser.user_id)
            .where(CohortMember.cohort_id == cohort_id, LtiUser.issuer == platform.issuer)
        )
        return {sub: role for sub, role in rows}


def sync(course):
    client = course.instructor.client
    page = client.get(f"/lti/cohorts/{course.cohort_id}/roster").get_data(as_text=True)
    response = client.post(
        f"/lti/cohorts/{course.cohort_id}/roster/sync",
        data={"csrf_token": CSRF_RE.search(page).group(1)},
    )
    assert response.status_code == 302
    return client.get(f"/lti/cohorts/{course.cohort_id}/roster").get_data(as_text=True)


def test_roster_sync_adds_and_updates_but_never_removes(app, platform, placed_course, lti_browser):
    lti_browser().land(sub="leaver", roles=[LEARNER])
    lti_browser().land(sub="promoted", roles=[LEARNER])
    platform.members = [
        member("instructor-1", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]),
        member("promoted", [INSTRUCTOR, TEACHING_ASSISTANT]),
        member("newcomer", ["Learner"]),
        member("quiet", [LEARNER], email=False),
        member("gone", [LEARNER], status="Inactive"),
        member("observer", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]),
    ]
    page = sync(placed_course)

    roles = roles_in(app, platform, placed_course.cohort_id)
    assert roles["instructor-1"] == MemberRole.OWNER
    assert roles["promoted"] == MemberRole.INSTRUCTOR
    assert roles["newcomer"] == MemberRole.STUDENT
    assert roles["quiet"] == MemberRole.STUDENT
    assert roles["leaver"] == MemberRole.STUDENT  # not removed
    assert "gone" not in roles and "observer" not in roles

    # Three pages of two members each, followed by the Link header.
    pages = platform.requests_to("/memberships", method="GET")
    assert [p.query for p in pages] == ["", "page=2", "page=3"]
    assert all(p.headers["Authorization"].startswith("Bearer ") for p in pages)
    (token,) = platform.requests_to("/token")
    assert token.form["scope"] == (
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
    )

    with app.app_context():
        context = db.session.scalar(
            select(LtiContext).where(LtiContext.cohort_id == placed_course.cohort_id)
        )
        report = context.roster_report
    assert report["status"] == "done" and report["complete"]
    assert (report["added"], report["updated"], report["unchanged"], report["skipped"]) == (
        2,
        1,
        1,
        2,
    )
    assert [m["name"] for m in report["missing"]] == ["Person leaver"]
    assert "In the cohort but no longer active in the LMS course" in page
    assert "Person leaver" in page


def test_a_failed_sync_is_reported(app, platform, placed_course):
    platform.tokens.clear()
    with app.app_context():
        context = db.session.scalar(
            select(LtiContext).where(LtiContext.cohort_id == placed_course.cohort_id)
        )
        context.memberships_url = platform.memberships_url + "-missing"
        db.session.commit()
    page = sync(placed_course)
    assert "The last sync failed" in page
    assert "HTTP 404" in page


def test_students_cannot_sync(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    browser.land(sub="student-n", roles=[LEARNER])
    token = CSRF_RE.search(browser.client.get("/account").get_data(as_text=True)).group(1)
    response = browser.client.post(
        f"/lti/cohorts/{placed_course.cohort_id}/roster/sync", data={"csrf_token": token}
    )
    assert response.status_code == 404
