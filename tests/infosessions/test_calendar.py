"""iCalendar: a file per session and a subscribable feed, valid (parsed back), times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from ilms.infosessions.models import SessionFormat
from ilms.permissions import Role
from tests.conftest import csrf_token_from

LINK = "https://meet.example.edu/room-42"


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def events(calendar: Calendar) -> dict[str, object]:
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def online_session(make_session, **fields) -> int:
    return make_session(format=SessionFormat.HYBRID, online_url=LINK, **fields)


def test_session_file_is_valid_icalendar_in_utc(client, make_session):
    starts = datetime(2031, 3, 4, 8, 30, tzinfo=UTC)
    session_id = online_session(make_session, starts_at=starts, minutes=90)
    calendar = parse(client.get(f"/sessions/{session_id}.ics"))
    assert calendar["version"] == "2.0" and calendar["prodid"]
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == starts
    assert event.decoded("dtend") == starts + timedelta(minutes=90)
    assert event.decoded("dtstart").utcoffset() == timedelta(0)
    assert b"DTSTART:20310304T083000Z" in client.get(f"/sessions/{session_id}.ics").data
    assert str(event["uid"]) == f"info-session-{session_id}@localhost"
    assert str(event["summary"]).startswith("Session ")
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["url"]).endswith(f"/sessions/{session_id}")


def test_the_online_link_only_for_people_with_a_place(client, make_session, login_as):
    session_id = online_session(make_session, capacity=1)
    assert LINK.encode() not in client.get(f"/sessions/{session_id}.ics").data
    login_as(Role.STUDENT)
    assert LINK.encode() not in client.get(f"/sessions/{session_id}.ics").data
    token = csrf_token_from(client, f"/sessions/{session_id}")
    client.post(f"/sessions/{session_id}/register", data={"csrf_token": token})
    (event,) = parse(client.get(f"/sessions/{session_id}.ics")).walk("VEVENT")
    assert LINK in str(event["location"]) and LINK in str(event["description"])
    assert LINK in client.get(f"/sessions/{session_id}").get_data(as_text=True)


def test_people_waiting_do_not_get_the_link(app, client, make_session, make_user, login_as):
    from tests.infosessions.conftest import register

    session_id = online_session(make_session, capacity=1)
    with app.test_request_context():
        register(session_id, make_user(Role.STUDENT))
    login_as(Role.STUDENT)
    token = csrf_token_from(client, f"/sessions/{session_id}")
    client.post(f"/sessions/{session_id}/register", data={"csrf_token": token})
    assert LINK.encode() not in client.get(f"/sessions/{session_id}.ics").data
    assert LINK not in client.get(f"/sessions/{session_id}").get_data(as_text=True)


def test_feed_lists_upcoming_listed_sessions_without_links(client, make_session, app):
    from ilms.extensions import db
    from ilms.infosessions import services
    from tests.infosessions.conftest import get_session

    listed = online_session(make_session)
    unlisted = make_session(listed=False)
    past = make_session(starts_at=datetime.now(UTC) - timedelta(days=2))
    cancelled = make_session()
    with app.test_request_context():
        services.cancel_session(get_session(cancelled))
        db.session.commit()
    found = events(parse(client.get("/sessions/feed.ics")))
    uid = "info-session-{}@localhost".format
    assert uid(listed) in found
    assert not {uid(unlisted), uid(past), uid(cancelled)} & set(found)
    assert LINK not in str(found[uid(listed)].get("location", ""))


def test_a_cancelled_session_file_says_so(app, client, make_session):
    from ilms.extensions import db
    from ilms.infosessions import services
    from tests.infosessions.conftest import get_session

    session_id = make_session()
    with app.test_request_context():
        services.cancel_session(get_session(session_id))
        db.session.commit()
    (event,) = parse(client.get(f"/sessions/{session_id}.ics")).walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    assert int(event["sequence"]) == 1


def test_unknown_session_file_is_404(client):
    assert client.get("/sessions/999999.ics").status_code == 404
