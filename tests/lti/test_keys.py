"""Keys: the platform's JWKS (cached, refetched once, with a timeout) and the tool's own keys
(encrypted at rest, rotated, published)."""

from __future__ import annotations

import time
from datetime import timedelta
from html import unescape

import jwt
import pytest
from sqlalchemy import select, update

from ilms.db import utcnow
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.lti import jwks, keys
from ilms.lti.models import LtiKey
from tests.lti.conftest import counts
from tests.lti.platform import LEARNER


def test_platform_keys_are_cached(app, platform, placed_course, lti_browser):
    fetched = platform.jwks_fetches
    for sub in ("cache-1", "cache-2", "cache-3"):
        assert lti_browser().launch(sub=sub, roles=[LEARNER]).status_code == 303
    assert platform.jwks_fetches == fetched


def test_platform_keys_are_fetched_again_when_the_cache_is_old(
    app, platform, placed_course, lti_browser, monkeypatch
):
    fetched = platform.jwks_fetches
    monkeypatch.setitem(app.config, "LTI_JWKS_CACHE_SECONDS", 0)
    time.sleep(0.01)
    assert lti_browser().launch(sub="cache-old", roles=[LEARNER]).status_code == 303
    assert platform.jwks_fetches == fetched + 1


def test_a_slow_jwks_url_times_out(app, platform, lti_browser, monkeypatch):
    monkeypatch.setitem(app.config, "LTI_HTTP_TIMEOUT_SECONDS", 0.3)
    platform.jwks_delay = 2.0
    browser = lti_browser()
    login = browser.start()
    before = counts(app)
    started = time.monotonic()
    response = browser.post(platform.sign(platform.claims(login.nonce)), login.state)
    elapsed = time.monotonic() - started
    platform.jwks_delay = 0.0
    assert response.status_code == 400
    assert "could not read the platform's keys" in unescape(response.get_data(as_text=True))
    assert elapsed < 1.5
    assert counts(app) == before


def test_keys_of_another_kind_are_refused(app, platform):
    assert jwks.rsa_public_key({"kty": "oct", "k": "c2VjcmV0", "kid": "x"}) is None
    assert jwks.rsa_public_key({"kty": "RSA", "alg": "RS512", "n": "AQAB", "e": "AQAB"}) is None


def test_the_private_key_is_encrypted_at_rest(app):
    with app.app_context():
        key = keys.signing_key()
        db.session.commit()
        assert "PRIVATE KEY" not in key.private_key
        token = keys.sign({"hello": "world"})
        public = jwt.PyJWK(key.public_jwk).key
        assert jwt.decode(token, public, algorithms=["RS256"]) == {"hello": "world"}
    app.config["SECRET_KEY"], original = "another-secret-" + "y" * 32, app.config["SECRET_KEY"]
    try:
        with app.app_context(), pytest.raises(DomainError, match="rotate-key"):
            keys.sign({"hello": "world"})
    finally:
        app.config["SECRET_KEY"] = original


def test_rotation_keeps_the_previous_key_published_for_a_while(app, client):
    with app.app_context():
        old = keys.signing_key()
        new, _forgotten = keys.rotate_key()
        db.session.commit()
        old_kid, new_kid = old.kid, new.kid
    published = {k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]}
    assert {old_kid, new_kid} <= published
    with app.app_context():
        assert keys.signing_key().kid == new_kid
        db.session.execute(
            update(LtiKey)
            .where(LtiKey.kid == old_kid)
            .values(retired_at=utcnow() - timedelta(days=30))
        )
        db.session.commit()
    published = {k["kid"] for k in client.get("/lti/jwks").get_json()["keys"]}
    assert old_kid not in published and new_kid in published
    with app.app_context():
        _newest, forgotten = keys.rotate_key()
        db.session.commit()
        assert old_kid in forgotten
        assert db.session.scalar(select(LtiKey).where(LtiKey.kid == old_kid)) is None


def test_jwks_is_public_and_cacheable(client):
    response = client.get("/lti/jwks")
    assert response.status_code == 200
    assert "max-age=300" in response.headers["Cache-Control"]
    for key in response.get_json()["keys"]:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        assert "d" not in key and "p" not in key
