"""Deep Linking: an instructor picks a module inside the LMS; ILMS posts back a signed response."""

from __future__ import annotations

import re
from html import unescape

import jwt
from sqlalchemy import select

from ilms.extensions import db
from ilms.lti.models import LinkTarget, LtiResourceLink
from tests.lti.platform import INSTRUCTOR, LEARNER

FORM_RE = re.compile(r'<form method="post" action="([^"]+)" data-autosubmit>')
JWT_RE = re.compile(r'name="JWT" value="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def open_selection(lti_browser, **claims):
    browser = lti_browser()
    path = browser.land(
        sub="instructor-dl", roles=[INSTRUCTOR], message_type="LtiDeepLinkingRequest", **claims
    )
    assert path == "/lti/deep-linking"
    return browser


def choose(browser, module_id, target):
    page = browser.client.get("/lti/deep-linking").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return browser.client.post(
        "/lti/deep-linking",
        data={"csrf_token": token, "module": str(module_id), "target": target},
    )


def tool_key(client, kid):
    jwks = client.get("/lti/jwks").get_json()
    return jwt.PyJWKSet.from_dict(jwks)[kid].key


def test_instructor_places_the_post_test(app, platform, lti_browser, test_module_id, module_slug):
    browser = open_selection(lti_browser)
    page = browser.client.get("/lti/deep-linking").get_data(as_text=True)
    assert "Place a module in your course" in page
    assert f'value="{test_module_id}"' in page
    response = choose(browser, test_module_id, "post")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert unescape(FORM_RE.search(html).group(1)) == f"{platform.base}/deep-link-return"
    assert "lti-autosubmit.js" in html and "<script>" not in html
    policy = response.headers["Content-Security-Policy"]
    assert f"form-action 'self' {platform.base.rsplit('/p/', 1)[0]}" in policy

    token = unescape(JWT_RE.search(html).group(1))
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(
        token,
        tool_key(browser.client, kid),
        algorithms=["RS256"],
        audience=platform.issuer,
        issuer=platform.client_id,
        options={"require": ["exp", "iat", "nonce"]},
    )
    assert claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] == (
        "LtiDeepLinkingResponse"
    )
    assert claims["https://purl.imsglobal.org/spec/lti/claim/version"] == "1.3.0"
    assert claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] == (
        platform.deployment_id
    )
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-platform-data"
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == "http://localhost/lti/launch"
    assert item["custom"] == {"ilms_module": module_slug, "ilms_target": "post"}
    assert item["lineItem"]["scoreMaximum"] == 100
    assert item["title"].endswith("post-test")

    # The platform makes a link of it; a student's launch of that link opens the module.
    lti_browser().land(
        sub="instructor-dl", roles=[INSTRUCTOR], link_id="link-dl", custom=item["custom"]
    )
    path = lti_browser().land(
        sub="student-dl", roles=[LEARNER], link_id="link-dl", custom=item["custom"]
    )
    with app.app_context():
        link = db.session.scalar(
            select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "link-dl")
        )
        assert link.target == LinkTarget.POST
        assert path == f"/learn/{link.assignment_id}"


def test_a_pre_test_gets_no_gradebook_column(platform, lti_browser, test_module_id):
    browser = open_selection(lti_browser)
    html = choose(browser, test_module_id, "pre").get_data(as_text=True)
    token = unescape(JWT_RE.search(html).group(1))
    claims = jwt.decode(token, options={"verify_signature": False})
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert "lineItem" not in item
    assert item["custom"]["ilms_target"] == "pre"


def test_an_unpublished_or_unknown_module_cannot_be_placed(platform, lti_browser):
    browser = open_selection(lti_browser)
    response = choose(browser, 999999, "module")
    assert response.status_code == 400


def test_selection_needs_a_content_selection_launch(platform, placed_course, lti_browser):
    browser = lti_browser()
    browser.land(sub="instructor-1", roles=[INSTRUCTOR], custom={"ilms_module": "x"})
    assert browser.client.get("/lti/deep-linking").status_code == 404
