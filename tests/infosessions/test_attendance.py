"""Self check-in with the room's code (only during the session), the roster, no-shows, thank-yous."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ilms.db import utcnow
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.infosessions import services
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.permissions import Role
from tests.conftest import csrf_token_from
from tests.infosessions.conftest import get_session, mails_to, register

GRACE = timedelta(minutes=15)


def test_check_in_only_during_the_session_and_its_grace(ctx, make_session, person):
    starts = utcnow() + timedelta(days=1)
    session_id = make_session(starts_at=starts, minutes=60)
    student = person()
    registration = register(session_id, student)
    code = get_session(session_id).check_in_code
    for moment in (
        starts - GRACE - timedelta(seconds=1),
        starts + timedelta(minutes=60) + GRACE + timedelta(seconds=1),
    ):
        with pytest.raises(DomainError, match="only during the session") as error:
            services.check_in(get_session(session_id), code, student, now=moment)
        assert error.value.field == "code"
        db.session.rollback()
    checked = services.check_in(get_session(session_id), code, student, now=starts - GRACE)
    db.session.commit()
    assert checked.id == registration.id
    assert checked.status is Status.ATTENDED
    assert checked.checked_in_at == starts - GRACE


def test_the_code_must_match_but_case_and_spaces_do_not_matter(ctx, make_session, person):
    starts = utcnow() + timedelta(days=1)
    session_id = make_session(starts_at=starts)
    student = person()
    register(session_id, student)
    code = get_session(session_id).check_in_code
    with pytest.raises(DomainError, match="not the code"):
        services.check_in(get_session(session_id), "WRONG1", student, now=starts)
    db.session.rollback()
    spaced = f" {code[:3].lower()} {code[3:].lower()} "
    assert (
        services.check_in(get_session(session_id), spaced, student, now=starts).status
        is Status.ATTENDED
    )


def test_walk_ins_and_people_waiting_can_check_in(ctx, make_session, person):
    starts = utcnow() + timedelta(days=1)
    session_id = make_session(starts_at=starts, capacity=1)
    register(session_id, person())
    waiting_person, walk_in = person(), person()
    waiting = register(session_id, waiting_person)
    assert waiting.status is Status.WAITLISTED
    code = get_session(session_id).check_in_code
    assert (
        services.check_in(get_session(session_id), code, waiting_person, now=starts).id
        == waiting.id
    )
    made = services.check_in(get_session(session_id), code, walk_in, now=starts)
    db.session.commit()
    assert made.status is Status.ATTENDED and made.user_id == walk_in.id
    assert {r.user_id for r in services.roster(get_session(session_id))} >= {
        waiting_person.id,
        walk_in.id,
    }


def test_no_check_in_to_a_cancelled_session(ctx, make_session, person):
    session_id = make_session(starts_at=utcnow() + timedelta(days=1))
    student = person()
    register(session_id, student)
    services.cancel_session(get_session(session_id))
    db.session.commit()
    session = get_session(session_id)
    with pytest.raises(DomainError):
        services.check_in(session, session.check_in_code, student, now=session.starts_at)


def test_roster_marks_and_closing_records_no_shows_and_thanks_once(
    ctx, make_session, person, outbox
):
    starts = utcnow() - timedelta(hours=2)
    session_id = make_session(starts_at=starts, minutes=60, registration_closes_at=None)
    # Registered before the start: the registration window is bypassed by registering earlier.
    people = [person() for _ in range(3)]
    made = [register(session_id, p, now=starts - timedelta(days=1)) for p in people]
    outbox.clear()
    services.record_attendance(
        get_session(session_id), {made[0].id: Status.ATTENDED, made[1].id: Status.NO_SHOW}
    )
    db.session.commit()
    assert [r.status for r in made] == [Status.ATTENDED, Status.NO_SHOW, Status.REGISTERED]
    assert outbox == []
    services.record_attendance(get_session(session_id), {}, close=True)
    db.session.commit()
    assert made[2].status is Status.NO_SHOW
    assert get_session(session_id).roster_closed_at is not None
    assert [m["To"] for m in outbox] == [people[0].email]
    assert "Thank you for coming" in outbox[0]["Subject"]
    assert f"/sessions/{session_id}/feedback" in outbox[0].get_content()
    # A correction after closing: the newly attended person is thanked, nobody twice.
    services.record_attendance(get_session(session_id), {made[1].id: Status.ATTENDED}, close=True)
    db.session.commit()
    assert [m["To"] for m in outbox] == [people[0].email, people[1].email]


def test_roster_refuses_early_marks_and_strangers(ctx, make_session, person):
    session_id = make_session(starts_at=utcnow() + timedelta(days=2))
    registration = register(session_id, person())
    with pytest.raises(DomainError, match="once the session begins"):
        services.record_attendance(get_session(session_id), {registration.id: Status.ATTENDED})
    db.session.rollback()
    started = make_session(starts_at=utcnow() - timedelta(minutes=5))
    with pytest.raises(DomainError, match="not on the roster"):
        services.record_attendance(get_session(started), {registration.id: Status.ATTENDED})
    db.session.rollback()
    with pytest.raises(DomainError, match="attended or not"):
        services.record_attendance(get_session(started), {registration.id: Status.CANCELLED})


def test_the_periodic_pass_closes_forgotten_rosters(ctx, make_session, person, outbox):
    starts = utcnow() - timedelta(days=3)
    session_id = make_session(starts_at=starts)
    made = register(session_id, person(), now=starts - timedelta(days=1))
    services.run_periodic_pass()
    db.session.commit()
    assert made.status is Status.NO_SHOW
    assert get_session(session_id).roster_closed_at is not None


def test_roster_page_is_one_keyboard_form(app, client, make_session, login_as, make_user, outbox):
    starts = utcnow() - timedelta(minutes=30)
    session_id = make_session(starts_at=starts, minutes=90)
    came, stayed_away, unmarked = (make_user(Role.STUDENT) for _ in range(3))
    with app.test_request_context():
        made = [
            register(session_id, p, now=starts - timedelta(hours=1)).id
            for p in (came, stayed_away, unmarked)
        ]
    login_as(Role.LIBRARIAN)
    page = client.get(f"/sessions/{session_id}/roster").get_data(as_text=True)
    for registration_id in made:
        assert f'name="r{registration_id}" type="radio" value="attended"' in page
    assert page.count("<fieldset>") == 3 and page.count("<legend>") == 3
    token = csrf_token_from(client, f"/sessions/{session_id}/roster")
    response = client.post(
        f"/sessions/{session_id}/roster",
        data={
            "csrf_token": token,
            f"r{made[0]}": "attended",
            f"r{made[1]}": "no_show",
            "close": "Save and close the roster",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        statuses = [db.session.get(services.Registration, i).status for i in made]
    assert statuses == [Status.ATTENDED, Status.NO_SHOW, Status.NO_SHOW]
    assert [m["To"] for m in outbox if "Thank you" in m["Subject"]] == [came.email]


def test_self_check_in_page(app, client, make_session, login_as):
    session_id = make_session(starts_at=utcnow() - timedelta(minutes=5))
    login_as(Role.STUDENT)
    with app.app_context():
        code = db.session.get(services.InfoSession, session_id).check_in_code
    page = f"/sessions/{session_id}/check-in"
    response = client.post(page, data={"csrf_token": csrf_token_from(client, page), "code": "nope"})
    assert response.status_code == 400
    assert "not the code" in response.get_data(as_text=True)
    response = client.post(page, data={"csrf_token": csrf_token_from(client, page), "code": code})
    assert response.status_code == 302
    session_page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "certificate" in session_page.lower()


def test_guest_checks_in_and_gives_feedback(app, client, make_session, outbox):
    from tests.infosessions.test_guests import ask_for_place, confirm, emailed_link

    session_id = make_session(starts_at=utcnow() + timedelta(minutes=10))
    email = "walk-in-guest@example.org"
    ask_for_place(client, session_id, email)
    manage = confirm(client, emailed_link(outbox, email)).headers["Location"]
    with app.app_context():
        code = db.session.get(services.InfoSession, session_id).check_in_code
    token = csrf_token_from(client, manage)
    assert (
        client.post(f"{manage}/check-in", data={"csrf_token": token, "code": code}).status_code
        == 302
    )
    page = client.get(manage).get_data(as_text=True)
    assert "Attended" in page
    response = client.post(
        f"{manage}/feedback",
        data={"csrf_token": token, "rating": "4", "useful": "The live demo", "comments": ""},
    )
    assert response.status_code == 302
    with app.app_context():
        registration = services.find_guest_registration(manage.rsplit("/", 1)[1])
        assert registration.feedback.rating == 4
    pdf = client.get(f"{manage}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert mails_to(outbox, email)
