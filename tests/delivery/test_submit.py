"""Submitting with grades worked out in advance: an answer saved in between is never missed."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from ilms.accounts.models import User
from ilms.authoring.models import QuestionVersion
from ilms.delivery import services
from ilms.delivery.models import Attempt, Phase, Quiz, Response
from ilms.extensions import db
from tests.delivery.conftest import quiz_id
from tests.delivery.test_api import api_for


def _open_attempt(app, make_user, make_assignment, enrol) -> tuple[int, int]:
    """A student's open pre-test attempt; returns the student's and the attempt's ids."""
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    with app.app_context():
        quiz = db.session.get(Quiz, quiz_id(app, assignment, Phase.PRE))
        attempt = services.start_attempt(quiz, db.session.get(User, student.id), "en")
        db.session.commit()
        return student.id, attempt.id


def _choices(attempt: Attempt) -> list[int]:
    types = dict(
        db.session.execute(
            select(QuestionVersion.id, QuestionVersion.type).where(
                QuestionVersion.id.in_(attempt.question_order)
            )
        ).all()
    )
    return [qid for qid in attempt.question_order if types[qid] == "single_choice"]


def _save(student_id: int, attempt_id: int, question_id: int, answer: str, seq: int) -> None:
    student = db.session.get(User, student_id)
    services.save_answer(
        services.attempt_for(student, attempt_id, lock=True), question_id, answer, seq
    )
    db.session.commit()


def _grades_in_advance(student_id: int, attempt_id: int) -> services.Grades | None:
    """As the API does before a submit on SQLite: in a transaction of their own."""
    grades = services.grades_in_advance(db.session.get(User, student_id), attempt_id)
    db.session.commit()
    return grades


def _submit(student_id: int, attempt_id: int, advance: services.Grades | None) -> Attempt:
    student = db.session.get(User, student_id)
    attempt = services.attempt_for(student, attempt_id, lock=True)
    services.submit_attempt(attempt, advance)
    db.session.commit()
    return attempt


def _points(attempt_id: int) -> dict[int, float | None]:
    rows = db.session.execute(
        select(Response.question_version_id, Response.points).where(
            Response.attempt_id == attempt_id
        )
    )
    return dict(rows.all())


def test_grades_worked_out_in_advance_are_those_of_the_submit(
    app, make_user, make_assignment, enrol
):
    student_id, attempt_id = _open_attempt(app, make_user, make_assignment, enrol)
    with app.app_context():
        first, second = _choices(db.session.get(Attempt, attempt_id))
        _save(student_id, attempt_id, first, "right", 1)
        _save(student_id, attempt_id, second, "wrong", 2)
        advance = _grades_in_advance(student_id, attempt_id)
        assert advance is not None and advance.score == 1.0
        attempt = _submit(student_id, attempt_id, advance)
        assert (attempt.state.value, attempt.score, attempt.max_score) == ("submitted", 1.0, 3.0)
        points = _points(attempt_id)
        assert (points[first], points[second]) == (1.0, 0.0)
        assert len(points) == 3  # the question left out is stored as an empty answer


def test_an_answer_changed_after_the_grades_in_advance_is_graded_as_changed(
    app, make_user, make_assignment, enrol
):
    student_id, attempt_id = _open_attempt(app, make_user, make_assignment, enrol)
    with app.app_context():
        first, second = _choices(db.session.get(Attempt, attempt_id))
        _save(student_id, attempt_id, first, "wrong", 1)
        advance = _grades_in_advance(student_id, attempt_id)
        assert advance is not None and advance.score == 0.0
        # A late save of the same question, and a first answer to another, before the submit.
        _save(student_id, attempt_id, first, "right", 2)
        _save(student_id, attempt_id, second, "right", 3)
        attempt = _submit(student_id, attempt_id, advance)
        assert attempt.score == 2.0
        points = _points(attempt_id)
        assert (points[first], points[second]) == (1.0, 1.0)


def test_no_grades_in_advance_for_a_submitted_attempt(app, make_user, make_assignment, enrol):
    student_id, attempt_id = _open_attempt(app, make_user, make_assignment, enrol)
    with app.app_context():
        stale = _grades_in_advance(student_id, attempt_id)  # nothing answered yet
        assert stale is not None and stale.score == 0.0
        first = _choices(db.session.get(Attempt, attempt_id))[0]
        _save(student_id, attempt_id, first, "right", 1)
        assert _submit(student_id, attempt_id, None).score == 1.0
        assert _grades_in_advance(student_id, attempt_id) is None
        # Submitting again, even with the stale grades from before, changes nothing.
        attempt = _submit(student_id, attempt_id, stale)
        assert (attempt.score, attempt.state.value) == (1.0, "submitted")
        assert _points(attempt_id)[first] == 1.0


def test_on_sqlite_the_api_grades_before_taking_the_write_lock(
    app, make_user, make_assignment, enrol
):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)
    attempt = api.post(f"/api/v1/quizzes/{quiz_id(app, assignment, Phase.PRE)}/attempts").get_json()
    choice = next(q for q in attempt["questions"] if q["type"] == "single_choice")
    url = f"/api/v1/attempts/{attempt['id']}"
    assert (
        api.put(f"{url}/answers/{choice['id']}", {"answer": "right", "seq": 1}).status_code == 200
    )
    with app.app_context():
        engine = db.engine
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        result = api.post(f"{url}/submit").get_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (result["score"], result["max_score"]) == (1.0, 3.0)
    locked = sent.index("BEGIN IMMEDIATE")
    reads_questions = [i for i, s in enumerate(sent) if "FROM question_versions" in s]
    assert reads_questions and max(reads_questions) < locked
    # Under the lock: the claim, a check that no answer changed, and the writes.
    assert any(s.startswith("SELECT responses.id, responses.seq ") for s in sent[locked:])
