"""Guests: an emailed single-use confirmation link (stored hashed), then a link to their registration."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import services
from ilms.infosessions.models import GuestConfirmation, Registration
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.permissions import Role
from tests.conftest import csrf_token_from, unique
from tests.infosessions.conftest import mails_to

LINK = re.compile(r"http://localhost(/sessions/(?:confirm|registration)/\S+)")


def ask_for_place(client, session_id: int, email: str, name: str = "Guest Person"):
    token = csrf_token_from(client, f"/sessions/{session_id}")
    return client.post(
        f"/sessions/{session_id}/guest",
        data={"name": name, "email": email, "csrf_token": token},
    )


def emailed_link(outbox, email: str) -> str:
    body = mails_to(outbox, email)[-1].get_content()
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def confirm(client, path: str):
    token = csrf_token_from(client, path)
    return client.post(path, data={"csrf_token": token})


def test_guest_registers_through_the_emailed_link(app, client, make_session, outbox):
    session_id = make_session()
    email = f"{unique('guest')}@example.org"
    response = ask_for_place(client, session_id, email.upper())
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{session_id}/guest/sent")
    link = emailed_link(outbox, email)
    assert "/sessions/confirm/" in link
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalar(
            select(GuestConfirmation).where(GuestConfirmation.email == email)
        )
        assert stored.token_hash == services.digest(token) and token not in stored.token_hash
        # Opening the link (as a mail scanner would) changes nothing.
        assert client.get(link).status_code == 200
        assert (
            db.session.scalar(select(Registration).where(Registration.guest_email == email)) is None
        )
    response = confirm(client, link)
    assert response.status_code == 302
    manage = response.headers["Location"]
    assert "/sessions/registration/" in manage
    with app.app_context():
        registration = db.session.scalar(
            select(Registration).where(Registration.guest_email == email)
        )
        assert registration.status is Status.REGISTERED
        assert registration.guest_name == "Guest Person"
        assert registration.guest_token_hash == services.digest(manage.rsplit("/", 1)[1])
    page = client.get(manage)
    assert page.status_code == 200
    assert "Room 101" in page.get_data(as_text=True)
    # The confirmation mail carries the same link to the registration.
    assert emailed_link(outbox, email) == manage


def test_the_confirmation_link_works_once(client, make_session, outbox):
    session_id = make_session()
    email = f"{unique('guest')}@example.org"
    ask_for_place(client, session_id, email)
    link = emailed_link(outbox, email)
    token = csrf_token_from(client, link)
    assert client.post(link, data={"csrf_token": token}).status_code == 302
    assert client.post(link, data={"csrf_token": token}).status_code == 410
    assert client.get(link).status_code == 410


def test_an_expired_link_is_refused(app, client, make_session, outbox):
    session_id = make_session()
    email = f"{unique('guest')}@example.org"
    ask_for_place(client, session_id, email)
    link = emailed_link(outbox, email)
    with app.app_context():
        stored = db.session.scalar(
            select(GuestConfirmation).where(GuestConfirmation.email == email)
        )
        stored.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get(link).status_code == 410


def test_unknown_tokens_are_not_found(client):
    assert client.get("/sessions/confirm/nonsense").status_code == 410
    assert client.get("/sessions/registration/nonsense").status_code == 404


def test_guest_form_errors_are_shown(client, make_session):
    session_id = make_session()
    response = ask_for_place(client, session_id, "not-an-email", name="")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "error-summary" in page and 'aria-invalid="true"' in page


def test_a_guest_address_with_an_account_registers_the_account(
    app, client, make_session, make_user, outbox
):
    session_id = make_session()
    student = make_user(Role.STUDENT)
    ask_for_place(client, session_id, student.email)
    response = confirm(client, emailed_link(outbox, student.email))
    assert response.headers["Location"].endswith(f"/sessions/{session_id}")
    with app.app_context():
        registration = db.session.scalar(
            select(Registration).where(
                Registration.session_id == session_id, Registration.user_id == student.id
            )
        )
        assert registration is not None and registration.guest_email is None


def test_a_full_session_puts_the_guest_on_the_waitlist(app, client, make_session, outbox):
    session_id = make_session(capacity=1)
    first, second = (f"{unique('guest')}@example.org" for _ in range(2))
    for email in (first, second):
        ask_for_place(client, session_id, email)
        confirm(client, emailed_link(outbox, email))
    with app.app_context():
        statuses = dict(
            db.session.execute(
                select(Registration.guest_email, Registration.status).where(
                    Registration.session_id == session_id
                )
            ).all()
        )
    assert statuses == {first: Status.REGISTERED, second: Status.WAITLISTED}


def test_guest_cancels_and_the_next_guest_is_told(app, client, make_session, outbox):
    session_id = make_session(capacity=1)
    first, second = (f"{unique('guest')}@example.org" for _ in range(2))
    manage = {}
    for email in (first, second):
        ask_for_place(client, session_id, email)
        manage[email] = confirm(client, emailed_link(outbox, email)).headers["Location"]
    path = manage[first]
    token = csrf_token_from(client, path)
    assert client.post(f"{path}/cancel", data={"csrf_token": token}).status_code == 302
    promoted = mails_to(outbox, second)[-1]
    assert "A place is free for you" in promoted["Subject"]
    assert manage[second] in promoted.get_content()


def test_logged_in_people_do_not_use_the_guest_form(client, make_session, login_as):
    session_id = make_session()
    login_as(Role.STUDENT)
    token = csrf_token_from(client, f"/sessions/{session_id}")
    response = client.post(
        f"/sessions/{session_id}/guest",
        data={"name": "X", "email": "x@example.org", "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{session_id}")
