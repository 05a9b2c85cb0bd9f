"""The JSON API behind the quiz page (documented in docs/api.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from ilms.authoring.models import QuestionVersion
from ilms.db import read_before_writing
from ilms.delivery import api_format, queries, services
from ilms.delivery.models import Attempt, Quiz
from ilms.errors import DomainError, NotFound
from ilms.extensions import db

bp = Blueprint("delivery_api", __name__, url_prefix="/api/v1")


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _question_versions(ids: list[int]) -> dict[int, QuestionVersion]:
    """The question versions by id: those the session holds already (an attempt just started
    loaded them all), and the rest in one query."""
    loaded = db.session.identity_map
    found = {i: q for i in ids if (q := loaded.get(identity_key(QuestionVersion, i))) is not None}
    missing = [i for i in ids if i not in found]
    if missing:
        query = select(QuestionVersion).where(QuestionVersion.id.in_(missing))
        found.update((q.id, q) for q in db.session.scalars(query))
    return found


def attempt_document(attempt: Attempt, with_questions: bool) -> dict[str, Any]:
    questions = _question_versions(attempt.question_order)
    saved = {r.question_version_id: r for r in attempt.responses}
    document: dict[str, Any] = {
        "id": attempt.id,
        "quiz_id": attempt.quiz_id,
        "phase": attempt.phase.value,
        "number": attempt.number,
        "state": attempt.state.value,
        "language": attempt.language,
        "started_at": _iso(attempt.started_at),
        "expires_at": _iso(attempt.expires_at),
        "deadline": _iso(services.deadline(attempt)),
        "submitted_at": _iso(attempt.submitted_at),
        "max_score": attempt.max_score,
        "score": attempt.score if not attempt.is_open else None,
        "answers": {
            str(qid): {
                "answer": api_format.encode_answer(attempt, questions[qid], r.answer),
                "seq": r.seq,
            }
            for qid, r in saved.items()
            if r.seq > 0
        },
    }
    if with_questions:
        document["questions"] = [
            api_format.public_question(attempt, questions[qid]) for qid in attempt.question_order
        ]
    return document


@bp.get("/me/assignments")
@login_required
def my_assignments() -> Response:
    return jsonify(assignments=queries.student_assignments(current_user))


@bp.post("/quizzes/<int:quiz_id>/attempts")
@login_required
def start(quiz_id: int) -> tuple[Response, int]:
    quiz = db.session.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFound(_("There is no such quiz."))
    attempt, created = services.begin_attempt(quiz, current_user, str(get_locale()))
    # The answer is made before the commit: reading it afterwards would begin a new transaction.
    document = attempt_document(attempt, with_questions=True)
    db.session.commit()
    return jsonify(document), 201 if created else 200


@bp.get("/attempts/<int:attempt_id>")
@login_required
def show(attempt_id: int) -> Response:
    attempt = services.attempt_for(current_user, attempt_id)
    return jsonify(attempt_document(attempt, with_questions=True))


@bp.put("/attempts/<int:attempt_id>/answers/<int:question_id>")
@login_required
def save(attempt_id: int, question_id: int) -> tuple[Response, int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "answer" not in body or "seq" not in body:
        raise DomainError(_('Send a JSON object with "answer" and "seq".'))
    attempt = services.attempt_for(current_user, attempt_id, lock=True)
    question = db.session.get(QuestionVersion, question_id)
    if question is None or question_id not in attempt.question_order:
        raise NotFound(_("This question is not part of the attempt."))
    try:
        response = services.save_answer(
            attempt,
            question_id,
            api_format.decode_answer(attempt, question, body["answer"]),
            body["seq"],
        )
    except DomainError as error:
        if error.status_code == 409:
            db.session.commit()  # an overdue attempt closed while refusing stays closed
        raise
    saved = {"question_id": question_id, "seq": response.seq, "saved_at": _iso(response.saved_at)}
    db.session.commit()
    return jsonify(saved), 200


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
def submit(attempt_id: int) -> Response:
    advance = None
    with read_before_writing(db.session()) as apart:
        if apart:  # graded before the write lock is taken; elsewhere no lock waits on the grading
            advance = services.grades_in_advance(current_user, attempt_id)
    attempt = services.attempt_for(current_user, attempt_id, lock=True)
    services.submit_attempt(attempt, advance)
    result = {
        "id": attempt.id,
        "state": attempt.state.value,
        "score": attempt.score,
        "max_score": attempt.max_score,
        "submitted_at": _iso(attempt.submitted_at),
        "fully_graded": attempt.fully_graded,
    }
    db.session.commit()
    return jsonify(result)
