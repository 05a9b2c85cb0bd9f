"""Password reset by emailed single-use link, and the rules for new passwords."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from argon2 import Type
from sqlalchemy import select, update

from ilms.accounts import services as accounts
from ilms.accounts.models import PasswordResetToken, User
from ilms.accounts.services import argon2_profile
from ilms.config import Defaults
from ilms.db import utcnow
from ilms.extensions import db
from tests.conftest import PASSWORD, csrf_token_from, login

LINK_RE = re.compile(r"http://localhost(/password/reset/[\w-]+)")


def ask_for_reset(client, email: str) -> None:
    token = csrf_token_from(client, "/password/forgot")
    response = client.post("/password/forgot", data={"email": email, "csrf_token": token})
    assert response.status_code == 302


def reset_link(outbox) -> str:
    assert outbox, "no mail was sent"
    match = LINK_RE.search(outbox[-1].get_content())
    assert match, outbox[-1].get_content()
    return match.group(1)


def choose(client, path: str, password: str):
    token = csrf_token_from(client, path)
    return client.post(path, data={"password": password, "confirm": password, "csrf_token": token})


def test_reset_link_sets_a_new_password_once(client, make_user, outbox, app):
    user = make_user("student")
    ask_for_reset(client, user.email)
    message = outbox[-1]
    assert message["To"] == user.email
    path = reset_link(outbox)

    response = choose(client, path, "a fresh passphrase 42")
    assert response.status_code == 302
    assert login(app.test_client(), user, "a fresh passphrase 42").status_code == 302
    assert login(app.test_client(), user, PASSWORD).status_code == 401
    # The link is single-use.
    assert client.get(path).status_code == 410


def test_reset_mail_is_in_the_users_language(client, make_user, outbox):
    user = make_user("student", locale="ru")
    ask_for_reset(client, user.email)
    assert "парол" in outbox[-1]["Subject"].lower()


def test_expired_link_is_refused(client, make_user, outbox, app):
    user = make_user("student")
    ask_for_reset(client, user.email)
    path = reset_link(outbox)
    with app.app_context():
        db.session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_unknown_email_gets_the_same_answer_and_no_mail(client, outbox):
    token = csrf_token_from(client, "/password/forgot")
    response = client.post(
        "/password/forgot",
        data={"email": "nobody-at-all@example.edu", "csrf_token": token},
        follow_redirects=True,
    )
    assert "If an account exists for nobody-at-all@example.edu" in response.get_data(as_text=True)
    assert outbox == []


def test_tokens_are_stored_hashed(client, make_user, outbox, app):
    user = make_user("student")
    ask_for_reset(client, user.email)
    raw = reset_link(outbox).rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalars(
            select(PasswordResetToken.token_hash).where(PasswordResetToken.user_id == user.id)
        ).all()
    assert raw not in stored


def test_short_password_is_refused_and_the_link_still_works(client, make_user, outbox):
    user = make_user("student")
    ask_for_reset(client, user.email)
    path = reset_link(outbox)
    response = choose(client, path, "short")
    assert response.status_code == 200
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert choose(client, path, "long enough passphrase").status_code == 302


def test_reset_logs_out_every_session(app, make_user, outbox):
    user = make_user("student")
    thief = app.test_client()
    login(thief, user)
    owner = app.test_client()
    ask_for_reset(owner, user.email)
    choose(owner, reset_link(outbox), "a fresh passphrase 43")
    assert thief.get("/student").status_code == 302


def test_mismatched_confirmation_is_shown_in_the_error_summary(client, make_user, outbox):
    user = make_user("student")
    ask_for_reset(client, user.email)
    path = reset_link(outbox)
    token = csrf_token_from(client, path)
    response = client.post(
        path,
        data={
            "password": "long enough passphrase",
            "confirm": "something else",
            "csrf_token": token,
        },
    )
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page
    assert "The two passwords do not match." in page


def test_passwords_are_hashed_with_owasps_argon2id_parameters_by_default():
    assert Defaults.ARGON2_PROFILE == "OWASP"
    profile = argon2_profile("OWASP")
    assert (profile.type, profile.memory_cost, profile.time_cost, profile.parallelism) == (
        Type.ID,
        19 * 1024,
        2,
        1,
    )
    assert argon2_profile("RFC_9106_LOW_MEMORY").memory_cost == 64 * 1024
    with pytest.raises(ValueError, match="NO_SUCH"):
        argon2_profile("NO_SUCH")


def test_a_hash_made_with_other_parameters_is_replaced_at_log_in(app, make_user):
    user = make_user("student")  # hashed with the tests' cheap profile
    saved = app.config["ARGON2_PROFILE"], app.extensions.pop("ilms_password_hasher", None)
    app.config["ARGON2_PROFILE"] = "OWASP"
    try:
        with app.app_context():
            stored = db.session.get(User, user.id)
            old_hash = stored.password_hash
            assert "m=19456,t=2,p=1" not in old_hash
            assert not accounts.verify_password(stored, "not the password")
            assert stored.password_hash == old_hash  # only a right password is rehashed
            assert accounts.verify_password(stored, PASSWORD)
            assert "$argon2id$v=19$m=19456,t=2,p=1$" in stored.password_hash
            assert accounts.verify_password(stored, PASSWORD)  # the new hash verifies
            db.session.rollback()
    finally:
        app.config["ARGON2_PROFILE"] = saved[0]
        app.extensions.pop("ilms_password_hasher", None)
        if saved[1] is not None:
            app.extensions["ilms_password_hasher"] = saved[1]
