"""Launches from a simulated LMS: log-in, launch, course and role mapping, cookies, framing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from ilms.accounts.models import User
from ilms.cohorts.models import Assignment, CohortMember, MemberRole
from ilms.extensions import db
from ilms.lti.models import LtiContext, LtiLaunchState, LtiResourceLink, LtiUser
from ilms.lti.services import digest
from ilms.permissions import Role
from tests.conftest import login
from tests.lti.conftest import LAUNCH_URL, counts
from tests.lti.platform import INSTRUCTOR, LEARNER, TEACHING_ASSISTANT


def lti_user(app, sim, sub):
    with app.app_context():
        link = db.session.scalar(
            select(LtiUser).where(LtiUser.issuer == sim.issuer, LtiUser.sub == sub)
        )
        if link is None:
            return None
        user = link.user
        _ = user.roles
        db.session.expunge_all()
        return user


def member_role(app, cohort_id, user_id):
    with app.app_context():
        member = db.session.get(CohortMember, (cohort_id, user_id))
        return member.role if member else None


def test_login_redirects_to_the_platform_with_state_and_nonce(app, platform, lti_browser):
    browser = lti_browser()
    login = browser.start(lti_message_hint="message-7")
    assert login.params["client_id"] == platform.client_id
    assert login.params["redirect_uri"] == LAUNCH_URL
    assert login.params["response_type"] == "id_token"
    assert login.params["response_mode"] == "form_post"
    assert login.params["scope"] == "openid"
    assert login.params["prompt"] == "none"
    assert login.params["login_hint"] == "hint-1"
    assert login.params["lti_message_hint"] == "message-7"
    cookie = browser.client.get_cookie("ilms_lti_browser", path="/lti/")
    assert cookie is not None and cookie.secure and cookie.http_only
    with app.app_context():
        row = db.session.scalar(
            select(LtiLaunchState).where(LtiLaunchState.state_hash == digest(login.state))
        )
        assert row.nonce == login.nonce
        assert row.browser_hash == digest(cookie.value)


def test_login_by_get_works_too(app, platform, lti_browser):
    browser = lti_browser()
    response = browser.client.get(
        "/lti/login",
        query_string={
            "iss": platform.issuer,
            "login_hint": "x",
            "target_link_uri": LAUNCH_URL,
            "client_id": platform.client_id,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(platform.auth_login_url + "?")


def test_instructor_launch_creates_the_cohort_and_the_assignment(
    app, platform, placed_course, module_slug
):
    cohort_id = placed_course.cohort_id
    instructor = lti_user(app, platform, "instructor-1")
    assert instructor.has_role(Role.FACULTY)
    assert member_role(app, cohort_id, instructor.id) == MemberRole.OWNER
    with app.app_context():
        context = db.session.scalar(select(LtiContext).where(LtiContext.cohort_id == cohort_id))
        assert context.context_id == "course-1"
        assert context.cohort.course_code == "IL101"
        assert context.cohort.course_title == "Research skills"
        assert context.cohort.term == "LMS"
        assert context.memberships_url == platform.memberships_url
        link = db.session.scalar(
            select(LtiResourceLink).where(LtiResourceLink.context_id == context.id)
        )
        assert link.assignment.module.slug == module_slug
        assert link.lineitem_url == platform.lineitem_url()


def test_student_launch_lands_on_the_module_page(app, platform, placed_course, lti_browser):
    path = lti_browser().land(sub="student-1", roles=[LEARNER])
    student = lti_user(app, platform, "student-1")
    assert student.has_role(Role.STUDENT)
    assert student.email == f"student-1@{platform.name}.example.edu"
    with app.app_context():
        assignment = db.session.scalar(
            select(Assignment).where(Assignment.cohort_id == placed_course.cohort_id)
        )
        assert path == f"/learn/{assignment.id}"
    assert member_role(app, assignment.cohort_id, student.id) == MemberRole.STUDENT


def test_teaching_assistant_and_administrator_are_instructors(
    app, platform, placed_course, lti_browser
):
    cohort_id = placed_course.cohort_id
    lti_browser().land(sub="ta-1", roles=[INSTRUCTOR, TEACHING_ASSISTANT])
    admin_role = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
    lti_browser().land(sub="lms-admin-1", roles=[admin_role])
    for sub in ("ta-1", "lms-admin-1"):
        user = lti_user(app, platform, sub)
        assert user.has_role(Role.FACULTY)
        assert member_role(app, cohort_id, user.id) == MemberRole.INSTRUCTOR


def test_existing_account_is_matched_by_email(app, platform, placed_course, lti_browser, make_user):
    existing = make_user("student", email=f"student-9@{platform.name}.example.edu")
    lti_browser().land(sub="student-9", roles=[LEARNER])
    assert lti_user(app, platform, "student-9").id == existing.id


def test_an_administrator_account_is_never_matched_by_email(
    app, platform, placed_course, lti_browser, make_user
):
    make_user("admin", email=f"student-8@{platform.name}.example.edu")
    before = counts(app)
    response = lti_browser().launch(sub="student-8", roles=[LEARNER])
    assert response.status_code == 400
    assert "administrator" in response.get_data(as_text=True)
    assert counts(app) == before


def test_lms_locale_picks_the_interface_language(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    browser.land(
        sub="student-ru",
        roles=[LEARNER],
        **{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {"locale": "ru-RU"}},
    )
    assert lti_user(app, platform, "student-ru").locale == "ru"
    page = browser.client.get("/account").get_data(as_text=True)
    assert '<html lang="ru"' in page
    browser.land(
        sub="student-kk",
        roles=[LEARNER],
        **{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {"locale": "kk_KZ"}},
    )
    assert lti_user(app, platform, "student-kk").locale == "kk"


def test_lti_session_cookie_is_for_a_third_party_frame(platform, placed_course, lti_browser):
    response = lti_browser().launch(sub="student-c", roles=[LEARNER])
    cookie = next(
        v for v in response.headers.getlist("Set-Cookie") if v.startswith("ilms_session=")
    )
    assert "SameSite=None" in cookie
    assert "Secure" in cookie
    assert "Partitioned" in cookie
    assert "HttpOnly" in cookie


def test_ordinary_sessions_keep_lax_cookies(client, make_user):
    response = login(client, make_user("student"))
    cookie = next(
        v for v in response.headers.getlist("Set-Cookie") if v.startswith("ilms_session=")
    )
    assert "SameSite=Lax" in cookie
    assert "Partitioned" not in cookie


def test_launch_data_stays_on_the_server(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    browser.land(sub="student-d", roles=[LEARNER])
    raw = browser.client.get_cookie("ilms_session").value
    data = app.session_interface.get_signing_serializer(app).loads(raw)
    assert set(data) <= {
        "login_token",
        "lti_launch",
        "_user_id",
        "_fresh",
        "_id",
        "_permanent",
        "csrf_token",
    }
    assert len(raw) < 400  # a reference, not an id_token


def test_lti_pages_may_be_framed_by_registered_platforms_only(
    app, platform, placed_course, lti_browser, client
):
    origin = "https://lms-" + platform.name + ".example.edu"
    jwks = client.get("/lti/jwks")
    assert f"frame-ancestors {origin}" in jwks.headers["Content-Security-Policy"] or (
        f" {origin}" in jwks.headers["Content-Security-Policy"]
    )
    assert "X-Frame-Options" not in jwks.headers
    plain = client.get("/login")
    assert "frame-ancestors 'none'" in plain.headers["Content-Security-Policy"]
    assert plain.headers["X-Frame-Options"] == "DENY"
    browser = lti_browser()
    browser.land(sub="student-f", roles=[LEARNER])
    framed = browser.client.get("/account")
    policy = framed.headers["Content-Security-Policy"]
    ancestors = policy.split("frame-ancestors ", 1)[1].split(";")[0].split()
    assert origin in ancestors
    assert all(a.startswith("https://") for a in ancestors)
    assert "X-Frame-Options" not in framed.headers


def test_blocked_cookies_fall_back_to_a_new_window(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    response = browser.launch(sub="student-w", roles=[LEARNER])
    assert response.status_code == 303
    token = parse_qs(urlsplit(response.headers["Location"]).query)["token"][0]
    no_cookies = app.test_client()
    page = no_cookies.get(f"/lti/launched?token={token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Open ILMS in a new window" in html
    assert 'target="_blank"' in html
    before = counts(app)
    opened = no_cookies.post("/lti/open", data={"token": token})
    assert opened.status_code == 302
    assert opened.headers["Location"].startswith("/learn/")
    assert counts(app)[0] == before[0] + 1
    assert no_cookies.get("/account").status_code == 200
    again = app.test_client().post("/lti/open", data={"token": token})
    assert again.status_code == 404
    assert counts(app)[0] == before[0] + 1


def test_a_learner_cannot_open_content_selection(platform, placed_course, lti_browser):
    response = lti_browser().launch(
        sub="student-dl", roles=[LEARNER], message_type="LtiDeepLinkingRequest"
    )
    assert response.status_code == 400
    assert "Only instructors" in response.get_data(as_text=True)


def test_student_first_in_an_unknown_course_is_told_what_to_do(platform, lti_browser):
    response = lti_browser().launch(
        sub="student-early",
        roles=[LEARNER],
        custom={"ilms_module": "anything"},
        **{
            "https://purl.imsglobal.org/spec/lti/claim/context": {
                "id": "course-new",
                "title": "New course",
            }
        },
    )
    assert response.status_code == 400
    assert "not connected to ILMS yet" in response.get_data(as_text=True)


def test_a_link_without_a_module_is_explained(platform, placed_course, lti_browser):
    response = lti_browser().launch(
        sub="instructor-1", roles=[INSTRUCTOR], link_id="link-manual", custom={}
    )
    assert response.status_code == 400
    assert "Deep Linking" in response.get_data(as_text=True)


def test_the_same_person_is_one_account(app, platform, placed_course, lti_browser):
    lti_browser().land(sub="student-s", roles=[LEARNER])
    lti_browser().land(sub="student-s", roles=[LEARNER])
    with app.app_context():
        links = db.session.scalars(
            select(LtiUser).where(LtiUser.issuer == platform.issuer, LtiUser.sub == "student-s")
        ).all()
        assert len(links) == 1
        assert (
            len(
                db.session.scalars(
                    select(User).where(User.email == f"student-s@{platform.name}.example.edu")
                ).all()
            )
            == 1
        )
