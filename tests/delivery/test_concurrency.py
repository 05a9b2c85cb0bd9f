"""Parallel requests against a real server: one attempt per start, one grade per submit."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import event, func, select

from ilms.accounts.models import User
from ilms.delivery import services
from ilms.delivery.models import Attempt, Phase, Quiz, Response
from ilms.extensions import db
from tests.conftest import CSRF_RE, PASSWORD
from tests.delivery.conftest import quiz_id


class Browser:
    def __init__(self, base: str, email: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = self.opener.open(f"{base}/login").read().decode()
        token = CSRF_RE.search(page).group(1)
        data = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
        self.opener.open(f"{base}/login", data=data.encode())
        self.token = CSRF_RE.search(self.opener.open(f"{base}/account").read().decode()).group(1)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.token},
        )
        try:
            # Generous: on a loaded machine ten requests queue for the same rows and connections.
            with self.opener.open(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def in_parallel(count: int, action) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = action()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_parallel_starts_make_one_attempt(app, live_server, make_user, make_assignment, enrol):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    browser = Browser(live_server, student.email)
    quiz = quiz_id(app, assignment, Phase.PRE)
    results = in_parallel(10, lambda: browser.call("POST", f"/api/v1/quizzes/{quiz}/attempts"))
    assert sorted(status for status, _ in results) == [200] * 9 + [201], results
    assert len({body["id"] for _, body in results}) == 1
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.quiz_id == quiz, Attempt.user_id == student.id)
        )
    assert count == 1


def test_twenty_parallel_submits_give_one_grade(
    app, live_server, make_user, make_assignment, enrol
):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    browser = Browser(live_server, student.email)
    _status, attempt = browser.call(
        "POST", f"/api/v1/quizzes/{quiz_id(app, assignment, Phase.PRE)}/attempts"
    )
    for seq, question in enumerate(attempt["questions"], start=1):
        if question["type"] == "single_choice":
            browser.call(
                "PUT",
                f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}",
                {"answer": "right", "seq": seq},
            )
    results = in_parallel(
        20, lambda: browser.call("POST", f"/api/v1/attempts/{attempt['id']}/submit")
    )
    assert {status for status, _ in results} == {200}, results
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    assert results[0][1]["score"] == 2.0
    with app.app_context():
        responses = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.attempt_id == attempt["id"])
        )
    assert responses == len(attempt["questions"])  # graded once: one row per question


def test_parallel_saves_keep_the_highest_sequence(
    app, live_server, make_user, make_assignment, enrol
):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    browser = Browser(live_server, student.email)
    _, attempt = browser.call(
        "POST", f"/api/v1/quizzes/{quiz_id(app, assignment, Phase.PRE)}/attempts"
    )
    question = next(q for q in attempt["questions"] if q["type"] == "single_choice")
    url = f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}"
    counter = iter(range(1, 100))
    lock = threading.Lock()

    def save() -> tuple[int, int]:
        with lock:
            seq = next(counter)
        status, _ = browser.call(
            "PUT", url, {"answer": "right" if seq == 12 else "wrong", "seq": seq}
        )
        return status, seq

    results = in_parallel(12, save)
    assert {status for status, _ in results} <= {200, 409}
    _, saved = browser.call("GET", f"/api/v1/attempts/{attempt['id']}")
    assert saved["answers"][str(question["id"])] == {"answer": "right", "seq": 12}


def test_start_racing_a_committed_start_returns_that_attempt(
    app, make_user, make_assignment, enrol
):
    """A start that commits while another start of the same student is between its reads of the
    attempts table: the second start returns the first one's attempt instead of refusing it as
    an attempt used up (READ COMMITTED re-reads; SQLite serialises writes, so the window is
    PostgreSQL's)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite takes the write lock before reading, so starts cannot interleave")
    assignment = make_assignment()  # one attempt allowed
    student = make_user("student")
    enrol(assignment, student)
    quiz = quiz_id(app, assignment, Phase.PRE)
    main = threading.get_ident()
    fired: list[int] = []

    def start_elsewhere() -> None:
        with app.test_request_context():
            services.start_attempt(
                db.session.get(Quiz, quiz), db.session.get(User, student.id), "en"
            )
            db.session.commit()
            fired.append(db.session.scalar(select(Attempt.id).where(Attempt.quiz_id == quiz)))

    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        if not fired and threading.get_ident() == main and "FROM attempts" in statement:
            other = threading.Thread(target=start_elsewhere)
            other.start()
            other.join()

    event.listen(engine, "after_cursor_execute", after)
    try:
        with app.test_request_context():
            attempt = services.start_attempt(
                db.session.get(Quiz, quiz), db.session.get(User, student.id), "en"
            )
            db.session.commit()
            assert fired and attempt.id == fired[0]
    finally:
        event.remove(engine, "after_cursor_execute", after)
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.quiz_id == quiz)
        )
        assert count == 1
