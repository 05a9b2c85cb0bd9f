"""Capacity under parallel registration, through a real threaded server (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from sqlalchemy import select

from ilms.extensions import db
from ilms.infosessions.models import Registration
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.permissions import Role
from tests.conftest import CSRF_RE, PASSWORD

PEOPLE = 30
PLACES = 10


class Visitor:
    """Someone logged in through the log-in form, holding their own cookies."""

    def __init__(self, base: str, email: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        token = CSRF_RE.search(self.opener.open(f"{base}/login").read().decode()).group(1)
        data = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
        self.opener.open(f"{base}/login", data=data.encode())
        self.token = json.loads(self.opener.open(f"{base}/api/v1/csrf-token").read())["csrf_token"]

    def post(self, path: str) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.base}{path}", method="POST", data=b"", headers={"X-CSRFToken": self.token}
        )
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def in_parallel(actions: list) -> list:
    results: list = [None] * len(actions)
    barrier = threading.Barrier(len(actions))

    def run(index: int) -> None:
        barrier.wait()
        results[index] = actions[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_thirty_people_ten_places(app, live_server, make_user, make_session):
    session_id = make_session(capacity=PLACES)
    visitors = [Visitor(live_server, make_user(Role.STUDENT).email) for _ in range(PEOPLE)]
    path = f"/api/v1/sessions/{session_id}/registrations"
    results = in_parallel([lambda v=v: v.post(path) for v in visitors])
    assert all(status == 201 for status, _ in results), results
    statuses = [body["status"] for _, body in results]
    assert statuses.count("registered") == PLACES
    assert statuses.count("waitlisted") == PEOPLE - PLACES
    with app.app_context():
        rows = db.session.scalars(
            select(Registration)
            .where(Registration.session_id == session_id)
            .order_by(Registration.place)
        ).all()
    assert [r.place for r in rows] == list(range(1, PEOPLE + 1))
    # The order is stable: the first ten places are the registered ones.
    assert [r.status for r in rows] == [Status.REGISTERED] * PLACES + [Status.WAITLISTED] * (
        PEOPLE - PLACES
    )
    by_id = {body["id"]: body["status"] for _, body in results}
    assert all(by_id[r.id] == r.status.value for r in rows)


def test_the_same_person_registering_at_once_gets_one_registration(
    app, live_server, make_user, make_session
):
    session_id = make_session(capacity=PLACES)
    visitor = Visitor(live_server, make_user(Role.STUDENT).email)
    path = f"/api/v1/sessions/{session_id}/registrations"
    results = in_parallel([lambda: visitor.post(path) for _ in range(8)])
    assert sorted(status for status, _ in results) == [201] + [409] * 7
    with app.app_context():
        count = len(
            db.session.scalars(
                select(Registration).where(Registration.session_id == session_id)
            ).all()
        )
    assert count == 1


def test_parallel_cancellations_promote_each_person_waiting_once(
    app, live_server, make_user, make_session, outbox
):
    session_id = make_session(capacity=5)
    visitors = [Visitor(live_server, make_user(Role.STUDENT).email) for _ in range(10)]
    path = f"/api/v1/sessions/{session_id}/registrations"
    ids = [visitor.post(path)[1]["id"] for visitor in visitors]  # five places, five waiting

    def cancel(visitor: Visitor, registration_id: int):
        request = urllib.request.Request(
            f"{live_server}/api/v1/registrations/{registration_id}",
            method="DELETE",
            headers={"X-CSRFToken": visitor.token},
        )
        with visitor.opener.open(request, timeout=60) as response:
            return response.status

    outbox.clear()
    results = in_parallel(
        [lambda v=v, i=i: cancel(v, i) for v, i in zip(visitors[:3], ids[:3], strict=True)]
    )
    assert results == [200, 200, 200]
    with app.app_context():
        rows = db.session.scalars(
            select(Registration)
            .where(Registration.session_id == session_id)
            .order_by(Registration.place)
        ).all()
    assert [r.status for r in rows] == [Status.CANCELLED] * 3 + [Status.REGISTERED] * 5 + [
        Status.WAITLISTED
    ] * 2
    promoted = [m for m in outbox if "A place is free" in m["Subject"]]
    assert len(promoted) == 3
