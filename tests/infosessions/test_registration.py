"""Registration rules: places and the waitlist, windows, cut-offs, promotion order, capacity changes."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from ilms.db import utcnow
from ilms.errors import Conflict, DomainError
from ilms.extensions import db
from ilms.infosessions import services
from ilms.infosessions.models import RegistrationStatus as Status
from tests.infosessions.conftest import get_session, mails_to, register, session_data, user


def test_places_then_waitlist_in_order(ctx, make_session, person, outbox):
    session_id = make_session(capacity=2)
    people = [person() for _ in range(4)]
    made = [register(session_id, person) for person in people]
    assert [r.status for r in made] == [
        Status.REGISTERED,
        Status.REGISTERED,
        Status.WAITLISTED,
        Status.WAITLISTED,
    ]
    assert [r.place for r in made] == [1, 2, 3, 4]
    first, third = mails_to(outbox, people[0].email), mails_to(outbox, people[2].email)
    assert "Your place is booked" in first[0]["Subject"]
    assert "waitlist" in third[0]["Subject"]
    assert "Room 101" in first[0].get_content()


def test_the_online_link_is_mailed_only_to_people_with_a_place(ctx, make_session, person, outbox):
    session_id = make_session(
        capacity=1,
        format=services.SessionFormat.ONLINE,
        location="",
        online_url="https://meet.example.edu/x",
    )
    placed, waiting = person(), person()
    register(session_id, placed)
    register(session_id, waiting)
    assert "https://meet.example.edu/x" in mails_to(outbox, placed.email)[0].get_content()
    assert "https://meet.example.edu/x" not in mails_to(outbox, waiting.email)[0].get_content()


def test_registering_twice_is_refused(ctx, make_session, person):
    session_id = make_session(capacity=1)
    person, other = person(), person()
    register(session_id, person)
    with pytest.raises(Conflict, match="already registered"):
        register(session_id, person)
    db.session.rollback()
    register(session_id, other)
    with pytest.raises(Conflict, match="waitlist"):
        register(session_id, other)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"registration_opens_at": utcnow() + timedelta(days=1)}, "Registration opens"),
        ({"registration_closes_at": utcnow() - timedelta(hours=1)}, "has closed"),
        ({"starts_at": utcnow() - timedelta(minutes=5)}, "already started"),
    ],
)
def test_registration_window(ctx, make_session, person, fields, message):
    session_id = make_session(**fields)
    with pytest.raises(DomainError, match=message):
        register(session_id, person())


def test_no_registration_for_a_cancelled_session(ctx, make_session, person):
    session_id = make_session()
    services.cancel_session(get_session(session_id))
    db.session.commit()
    with pytest.raises(DomainError, match="cancelled"):
        register(session_id, person())


def test_cancelling_promotes_the_first_waiting_and_tells_them(ctx, make_session, person, outbox):
    session_id = make_session(capacity=2)
    people = [person() for _ in range(5)]
    made = [register(session_id, person) for person in people]
    outbox.clear()
    promoted = services.cancel_registration(made[1])
    db.session.commit()
    assert [r.id for r in promoted] == [made[2].id]
    assert [m["To"] for m in outbox] == [people[2].email]
    assert "A place is free for you" in outbox[0]["Subject"]
    promoted = services.cancel_registration(made[0])
    db.session.commit()
    assert [r.id for r in promoted] == [made[3].id]
    statuses = [r.status for r in services.active_registrations(session_id)]
    assert statuses == [Status.REGISTERED, Status.REGISTERED, Status.WAITLISTED]


def test_leaving_the_waitlist_promotes_nobody(ctx, make_session, person, outbox):
    session_id = make_session(capacity=1)
    made = [register(session_id, person()) for _ in range(3)]
    outbox.clear()
    assert services.cancel_registration(made[1]) == []
    db.session.commit()
    assert outbox == []
    assert [r.id for r in services.waitlist(get_session(session_id))] == [made[2].id]


def test_coming_back_after_cancelling_goes_to_the_end_of_the_queue(ctx, make_session, person):
    session_id = make_session(capacity=1)
    first, second, third = (person() for _ in range(3))
    made = register(session_id, first)
    register(session_id, second)
    services.cancel_registration(made)  # second is promoted
    db.session.commit()
    register(session_id, third)
    again = register(session_id, first)
    assert again.id == made.id
    assert again.status is Status.WAITLISTED
    assert [r.user_id for r in services.waitlist(get_session(session_id))] == [third.id, first.id]


def test_cut_off_for_people_with_a_place(ctx, make_session, person):
    starts = utcnow() + timedelta(hours=3)
    session_id = make_session(starts_at=starts, cancel_cutoff_hours=2, capacity=1)
    placed = register(session_id, person())
    waiting = register(session_id, person())
    late = starts - timedelta(hours=1)
    with pytest.raises(DomainError, match="can be given up until"):
        services.cancel_registration(placed, now=late)
    db.session.rollback()
    # People waiting may leave until the start; librarians may cancel anyone at any time.
    assert services.cancel_registration(waiting, now=late) == []
    services.cancel_registration(placed, by_staff=True, now=late)
    db.session.commit()
    assert placed.status is Status.CANCELLED


def test_nobody_cancels_after_the_start_or_after_attendance(ctx, make_session, person):
    session_id = make_session(starts_at=utcnow() + timedelta(hours=1), cancel_cutoff_hours=0)
    registration = register(session_id, person())
    with pytest.raises(DomainError, match="too late"):
        services.cancel_registration(registration, now=utcnow() + timedelta(hours=2))
    db.session.rollback()
    registration = db.session.merge(registration)
    registration.status = Status.ATTENDED
    db.session.commit()
    with pytest.raises(DomainError, match="Attendance has been recorded"):
        services.cancel_registration(registration, by_staff=True)
    db.session.rollback()


def test_cancelling_twice_is_a_conflict(ctx, make_session, person):
    registration = register(make_session(), person())
    services.cancel_registration(registration)
    db.session.commit()
    with pytest.raises(Conflict):
        services.cancel_registration(registration)


def test_no_promotion_once_the_session_has_started(ctx, make_session, person, outbox):
    starts = utcnow() + timedelta(hours=5)
    session_id = make_session(starts_at=starts, capacity=1)
    placed = register(session_id, person())
    register(session_id, person())
    promoted = services.cancel_registration(
        placed, by_staff=True, now=starts + timedelta(minutes=10)
    )
    assert promoted == []


def test_a_larger_capacity_gives_places_to_people_waiting(ctx, make_session, person, librarian):
    session_id = make_session(capacity=1)
    made = [register(session_id, person()) for _ in range(4)]
    session = get_session(session_id)
    data = session_data(user(librarian.id), starts_at=session.starts_at, capacity=3)
    services.update_session(session, data)
    db.session.commit()
    statuses = {r.id: r.status for r in services.active_registrations(session_id)}
    assert [statuses[r.id] for r in made] == [
        Status.REGISTERED,
        Status.REGISTERED,
        Status.REGISTERED,
        Status.WAITLISTED,
    ]
    assert get_session(session_id).revision == 1


def test_capacity_cannot_drop_below_the_places_taken(ctx, make_session, person, librarian):
    session_id = make_session(capacity=3)
    for _ in range(3):
        register(session_id, person())
    session = get_session(session_id)
    data = session_data(user(librarian.id), starts_at=session.starts_at, capacity=2)
    with pytest.raises(DomainError, match="3 people already have a place") as error:
        services.update_session(session, data)
    assert error.value.field == "capacity"


def test_cancelling_a_session_cancels_and_tells_everyone(ctx, make_session, person, outbox):
    session_id = make_session(capacity=1)
    people = [person() for _ in range(2)]
    for person in people:
        register(session_id, person)
    outbox.clear()
    assert services.cancel_session(get_session(session_id)) == 2
    db.session.commit()
    assert sorted(m["To"] for m in outbox) == sorted(p.email for p in people)
    assert all("Cancelled" in m["Subject"] for m in outbox)
    assert services.active_registrations(session_id) == []
    with pytest.raises(Conflict):
        services.cancel_session(get_session(session_id))


def test_registering_for_a_series(ctx, librarian, person, outbox):
    presenter = user(librarian.id)
    created = services.create_sessions(session_data(presenter), presenter, repeat_weeks=3)
    db.session.commit()
    assert len(created) == 4
    assert len({s.series_id for s in created}) == 1
    gaps = {b.starts_at - a.starts_at for a, b in pairwise(created)}
    assert gaps == {timedelta(weeks=1)}
    student = person()
    outbox.clear()
    made = services.register_series(created[2], student)
    db.session.commit()
    assert len(made) == 4
    assert len(outbox) == 1 and "4 dates" in outbox[0]["Subject"]
    with pytest.raises(DomainError, match="every date"):
        services.register_series(created[0], student)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": {"ru": "Только по-русски"}}, "title_en"),
        ({"minutes": 0}, "duration_minutes"),
        ({"capacity": 0}, "capacity"),
        ({"location": ""}, "location"),
        ({"format": services.SessionFormat.ONLINE, "online_url": "meet"}, "online_url"),
        ({"frames": ["not-a-frame"]}, "frames"),
        ({"audience": "children"}, "audience"),
        ({"language": "de"}, "language"),
        ({"registration_closes_at": utcnow() + timedelta(days=30)}, "registration_closes_at"),
    ],
)
def test_session_data_is_checked(ctx, librarian, fields, field):
    presenter = user(librarian.id)
    with pytest.raises(DomainError) as error:
        services.create_sessions(session_data(presenter, **fields), presenter)
    assert error.value.field == field


def test_only_librarians_present(ctx, person):
    student = person()
    with pytest.raises(DomainError) as error:
        services.create_sessions(session_data(student), student)
    assert error.value.field == "presenters"


def test_a_session_that_took_place_cannot_be_cancelled(ctx, make_session):
    session_id = make_session(starts_at=utcnow() - timedelta(hours=3))
    with pytest.raises(DomainError, match="taken place"):
        services.cancel_session(get_session(session_id))


def test_a_guest_address_gets_a_few_links_at_most(ctx, make_session, outbox):
    session = get_session(make_session())
    for _ in range(services.MAX_OPEN_CONFIRMATIONS):
        services.request_guest_place(session, "Flood@Example.org", "Flood", "en")
    with pytest.raises(DomainError, match="already sent you links") as error:
        services.request_guest_place(session, "flood@example.org", "Flood", "en")
    assert error.value.field == "email"
    assert len(mails_to(outbox, "flood@example.org")) == services.MAX_OPEN_CONFIRMATIONS
