"""The JSON API: the upcoming catalogue, registering, cancelling, one's own registrations."""

from __future__ import annotations

from datetime import timedelta

from ilms.db import utcnow
from ilms.infosessions.models import SessionFormat
from ilms.permissions import Role


def csrf(client) -> str:
    return client.get("/api/v1/csrf-token").get_json()["csrf_token"]


def post(client, path: str, token: str | None = None):
    headers = {"X-CSRFToken": token if token is not None else csrf(client)}
    return client.post(path, headers=headers)


def delete(client, path: str):
    return client.delete(path, headers={"X-CSRFToken": csrf(client)})


def test_sessions_lists_upcoming_public_fields(client, make_session):
    upcoming = make_session(
        format=SessionFormat.HYBRID, online_url="https://meet.example.edu/secret", capacity=5
    )
    past = make_session(starts_at=utcnow() - timedelta(days=1))
    hidden = make_session(listed=False)
    response = client.get("/api/v1/sessions")
    assert response.status_code == 200
    found = {s["id"]: s for s in response.get_json()["sessions"]}
    assert upcoming in found and past not in found and hidden not in found
    item = found[upcoming]
    assert item["format"] == "hybrid" and item["capacity"] == 5 and item["places_left"] == 5
    assert item["starts_at"].endswith("Z") and item["registration_open"] is True
    assert item["title"]["en"].startswith("Session ")
    assert "secret" not in response.get_data(as_text=True)
    assert item["ics_url"].endswith(f"/sessions/{upcoming}.ics")


def test_sessions_can_be_filtered(client, make_session):
    russian = make_session(language="ru", title={"ru": "По-русски"}, topics=["GIS"])
    english = make_session(topics=["maps"])
    ids = {s["id"] for s in client.get("/api/v1/sessions?language=ru").get_json()["sessions"]}
    assert russian in ids and english not in ids
    ids = {s["id"] for s in client.get("/api/v1/sessions?topic=gis").get_json()["sessions"]}
    assert russian in ids and english not in ids


def test_register_and_cancel(client, make_session, login_as):
    session_id = make_session(capacity=1)
    login_as(Role.STUDENT)
    response = post(client, f"/api/v1/sessions/{session_id}/registrations")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "status"} and body["status"] == "registered"
    again = post(client, f"/api/v1/sessions/{session_id}/registrations")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == 409
    mine = client.get("/api/v1/me/registrations").get_json()["registrations"]
    assert [(r["id"], r["status"]) for r in mine] == [(body["id"], "registered")]
    assert mine[0]["session"]["id"] == session_id
    response = delete(client, f"/api/v1/registrations/{body['id']}")
    assert response.status_code == 200
    assert response.get_json() == {"id": body["id"], "status": "cancelled"}
    assert delete(client, f"/api/v1/registrations/{body['id']}").status_code == 409


def test_a_full_session_waitlists(client, make_session, make_user, app):
    from tests.conftest import login

    session_id = make_session(capacity=1)
    first, second = make_user(Role.STUDENT), make_user(Role.FACULTY)
    login(client, first)
    assert (
        post(client, f"/api/v1/sessions/{session_id}/registrations").get_json()["status"]
        == "registered"
    )
    other = app.test_client()
    login(other, second)
    assert (
        post(other, f"/api/v1/sessions/{session_id}/registrations").get_json()["status"]
        == "waitlisted"
    )


def test_writes_need_a_login_and_the_csrf_header(client, make_session, login_as):
    session_id = make_session()
    response = post(client, f"/api/v1/sessions/{session_id}/registrations")
    assert response.status_code == 401 and response.is_json
    assert client.get("/api/v1/me/registrations").status_code == 401
    login_as(Role.STUDENT)
    response = client.post(f"/api/v1/sessions/{session_id}/registrations")
    assert response.status_code == 400 and response.is_json
    response = post(client, f"/api/v1/sessions/{session_id}/registrations", token="forged")
    assert response.status_code == 400


def test_errors_are_json(client, make_session, login_as):
    login_as(Role.STUDENT)
    assert post(client, "/api/v1/sessions/999999/registrations").status_code == 404
    closed = make_session(starts_at=utcnow() - timedelta(minutes=1))
    response = post(client, f"/api/v1/sessions/{closed}/registrations")
    assert response.status_code == 400
    assert "already started" in response.get_json()["error"]["message"]


def test_other_peoples_registrations_are_not_found(client, make_session, make_user, app, login_as):
    from tests.conftest import login

    session_id = make_session()
    owner = make_user(Role.STUDENT)
    login(client, owner)
    registration = post(client, f"/api/v1/sessions/{session_id}/registrations").get_json()["id"]
    intruder = app.test_client()
    login(intruder, make_user(Role.STUDENT))
    assert delete(intruder, f"/api/v1/registrations/{registration}").status_code == 404
    assert intruder.get("/api/v1/me/registrations").get_json()["registrations"] == []
    faculty = app.test_client()
    login(faculty, make_user(Role.FACULTY))
    assert delete(faculty, f"/api/v1/registrations/{registration}").status_code == 404
    librarian = app.test_client()
    login(librarian, make_user(Role.LIBRARIAN))
    assert delete(librarian, f"/api/v1/registrations/{registration}").status_code == 200
