"""Launches ILMS refuses: each with a 4xx, a message an LMS administrator can act on, and no
session or account created."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from ilms.accounts.models import AuditEvent
from ilms.extensions import db
from tests.lti.conftest import LtiBrowser, counts, register
from tests.lti.platform import LEARNER, SimPlatform, new_key, public_jwk

Tamper = Callable[[SimPlatform, str], str]


def signed(**changes: Any) -> Tamper:
    """A token signed properly by the platform, with these claims changed (None removes one)."""

    def make(sim: SimPlatform, nonce: str) -> str:
        claims = sim.claims(nonce, roles=[LEARNER])
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value(sim) if callable(value) else value
        return sim.sign(claims)

    return make


def alg_none(sim: SimPlatform, nonce: str) -> str:
    return sim.unsigned(sim.claims(nonce, roles=[LEARNER]))


def hs256_public_key(sim: SimPlatform, nonce: str) -> str:
    return sim.hs256_with_public_key(sim.claims(nonce, roles=[LEARNER]))


def other_key_same_kid(sim: SimPlatform, nonce: str) -> str:
    import jwt
    from cryptography.hazmat.primitives import serialization

    pem = new_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return jwt.encode(
        sim.claims(nonce, roles=[LEARNER]), pem, algorithm="RS256", headers={"kid": sim.kid}
    )


def wrong_nonce(sim: SimPlatform, nonce: str) -> str:
    return sim.sign(sim.claims("not-the-nonce", roles=[LEARNER]))


CASES: dict[str, tuple[Tamper, str]] = {
    "wrong aud": (signed(aud="someone-else"), "not for the client id"),
    "several aud without azp": (
        signed(aud=lambda sim: [sim.client_id, "another-tool"]),
        "authorised party (azp)",
    ),
    "several aud with a wrong azp": (
        signed(aud=lambda sim: [sim.client_id, "another-tool"], azp="another-tool"),
        "authorised party (azp)",
    ),
    "missing exp": (signed(exp=None), "no exp claim"),
    "expired exp": (signed(exp=lambda sim: int(time.time()) - 600), "has expired"),
    "missing iat": (signed(iat=None), "no iat claim"),
    "iat in the future": (signed(iat=lambda sim: int(time.time()) + 3600), "in the future"),
    "iat long ago": (
        signed(iat=lambda sim: int(time.time()) - 7200, exp=lambda sim: int(time.time()) + 60),
        "too long ago",
    ),
    "missing sub": (signed(sub=None), "no sub claim"),
    "alg none": (alg_none, "accepts RS256 only"),
    "HS256 signed with the platform's public key": (hs256_public_key, "accepts RS256 only"),
    "signed by another key": (other_key_same_kid, "signature does not match"),
    "nonce not the one sent": (wrong_nonce, "nonce is not the one"),
    "unregistered deployment": (
        signed(**{"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-x"}),
        "deployment-x",
    ),
    "unknown issuer": (
        signed(iss="https://unknown-lms.example.edu"),
        "No platform with the issuer",
    ),
    "another registered issuer": (signed(iss="REGISTERED"), "log-in was started by"),
    "not LTI 1.3": (
        signed(**{"https://purl.imsglobal.org/spec/lti/claim/version": "1.1"}),
        "LTI 1.3.0",
    ),
    "unknown message type": (
        signed(**{"https://purl.imsglobal.org/spec/lti/claim/message_type": "Other"}),
        "does not handle Other",
    ),
    "no roles ILMS knows": (
        signed(**{"https://purl.imsglobal.org/spec/lti/claim/roles": ["urn:lti:role:ims/x"]}),
        "does not know your role",
    ),
    "another target link": (
        signed(**{"https://purl.imsglobal.org/spec/lti/claim/target_link_uri": "https://evil"}),
        "target_link_uri",
    ),
}


def assert_refused(app, response, before: tuple[int, int], words: str) -> None:
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, text[:500]
    assert words in text, text[:2000]
    assert "Nobody has been logged in" in text
    assert counts(app) == before
    for cookie in response.headers.getlist("Set-Cookie"):
        if cookie.startswith("ilms_session="):
            value = cookie.split(";", 1)[0].removeprefix("ilms_session=")
            data = app.session_interface.get_signing_serializer(app).loads(value)
            assert not {"login_token", "_user_id", "lti_launch"} & set(data)


@pytest.mark.parametrize("case", list(CASES))
def test_refused_launches(app, lms, platform, placed_course, lti_browser, case):
    tamper, words = CASES[case]
    if case == "another registered issuer":
        other = lms.new_platform(platform.name + "-other")
        register(app, other)
        tamper = signed(iss=other.issuer)
    browser = lti_browser()
    login = browser.start()
    before = counts(app)
    response = browser.post(tamper(platform, login.nonce), login.state)
    assert_refused(app, response, before, words)


def test_replayed_id_token(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    login = browser.start()
    token = platform.sign(platform.claims(login.nonce, sub="student-r", roles=[LEARNER]))
    assert browser.post(token, login.state).status_code == 303
    before = counts(app)
    replay = lti_browser().post(token, login.state)
    assert_refused(app, replay, before, "already used")
    # With a fresh log-in the old token's nonce is not the one sent.
    other = lti_browser()
    fresh = other.start()
    assert_refused(app, other.post(token, fresh.state), before, "nonce is not the one")


def test_a_nonce_is_accepted_once(app, platform):
    from ilms.lti.models import LtiPlatform
    from ilms.lti.validation import LaunchRefused, record_nonce

    payload = {"nonce": "n-once", "exp": int(time.time()) + 60}
    with app.test_request_context():
        row = db.session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == platform.issuer))
        record_nonce(row, payload)
        with pytest.raises(LaunchRefused, match="already been used"):
            record_nonce(row, payload)
        db.session.rollback()


def test_unknown_kid_is_refused_after_one_refetch(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    fetched = platform.jwks_fetches
    login = browser.start()
    token = platform.sign(platform.claims(login.nonce, roles=[LEARNER]), kid="no-such-key")
    before = counts(app)
    assert_refused(app, browser.post(token, login.state), before, "does not publish")
    assert platform.jwks_fetches == fetched + 1


def test_unknown_issuer_at_log_in(app, platform, lti_browser):
    browser = lti_browser()
    before = counts(app)
    response = browser.client.post(
        "/lti/login",
        data={
            "iss": "https://unknown-lms.example.edu",
            "login_hint": "x",
            "target_link_uri": "http://localhost/lti/launch",
        },
    )
    assert response.status_code == 400
    assert "No platform with the issuer https://unknown-lms.example.edu" in response.get_data(
        as_text=True
    )
    assert counts(app) == before


def test_unregistered_deployment_at_log_in(app, platform, lti_browser):
    response = lti_browser().client.post(
        "/lti/login",
        data={
            "iss": platform.issuer,
            "login_hint": "x",
            "target_link_uri": "http://localhost/lti/launch",
            "lti_deployment_id": "deployment-x",
        },
    )
    assert response.status_code == 400
    assert "deployment-x" in response.get_data(as_text=True)


def test_state_mismatch(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    login = browser.start()
    token = platform.sign(platform.claims(login.nonce, roles=[LEARNER]))
    before = counts(app)
    assert_refused(app, browser.post(token, "made-up-state"), before, "state is unknown")
    assert_refused(app, browser.post(token, ""), before, "has no state")


def test_state_from_another_browser(app, platform, placed_course, lti_browser):
    victim, attacker = lti_browser(), lti_browser()
    login = attacker.start()
    victim.start()  # the victim has a binding cookie of its own
    token = platform.sign(platform.claims(login.nonce, roles=[LEARNER]))
    before = counts(app)
    response = victim.post(token, login.state)
    assert_refused(app, response, before, "another browser")
    # The refusal offers to start again in a new window, with a fresh log-in.
    assert 'href="/lti/login?' in response.get_data(as_text=True)
    # And the state is used up: not even the browser that started it can use it now.
    assert_refused(app, attacker.post(token, login.state), before, "state is unknown")


def test_a_browser_without_the_binding_cookie(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    login = browser.start()
    browser.client.delete_cookie("ilms_lti_browser", path="/lti/")
    token = platform.sign(platform.claims(login.nonce, roles=[LEARNER]))
    before = counts(app)
    response = browser.post(token, login.state)
    assert_refused(app, response, before, "blocked the cookie")
    assert "Open ILMS in a new window" in response.get_data(as_text=True)


def test_expired_state(app, platform, placed_course, lti_browser, monkeypatch):
    monkeypatch.setitem(app.config, "LTI_STATE_SECONDS", -1)
    browser = lti_browser()
    login = browser.start()
    token = platform.sign(platform.claims(login.nonce, roles=[LEARNER]))
    before = counts(app)
    assert_refused(app, browser.post(token, login.state), before, "expired")


def test_an_inactive_platform_is_refused(app, platform, lti_browser):
    from ilms.lti.models import LtiPlatform

    with app.app_context():
        row = db.session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == platform.issuer))
        row.active = False
        db.session.commit()
    response = lti_browser().client.post(
        "/lti/login",
        data={"iss": platform.issuer, "login_hint": "x", "target_link_uri": "http://localhost/"},
    )
    assert response.status_code == 400


def test_refusals_are_in_the_audit_log(app, platform, placed_course, lti_browser):
    browser = lti_browser()
    login = browser.start()
    browser.post(platform.sign(platform.claims(login.nonce, aud="nobody")), login.state)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent)
            .where(AuditEvent.event == "lti.launch_refused")
            .order_by(AuditEvent.id.desc())
        )
        assert "not for the client id" in event.details["reason"]


def test_a_rotated_platform_key_is_found_by_the_refetch(app, platform, placed_course, lti_browser):
    browser: LtiBrowser = lti_browser()
    browser.land(sub="student-k", roles=[LEARNER])
    fetched = platform.jwks_fetches
    rotated = new_key()
    platform.extra_keys.append(public_jwk(rotated, "rotated-key"))
    platform.key, old = rotated, platform.key
    platform.kid = "rotated-key"
    assert browser.launch(sub="student-k", roles=[LEARNER]).status_code == 303
    assert platform.jwks_fetches == fetched + 1
    platform.extra_keys[:] = [public_jwk(old, "old")]
