"""What the grading page shows: the answers of an assignment that a person grades (open
responses), waiting ones first, and how many wait in each assignment of a cohort."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.authoring.models import QuestionVersion
from ilms.cohorts.models import Assignment, Cohort
from ilms.delivery.models import Attempt, AttemptState, Phase, Quiz, Response
from ilms.errors import NotFound
from ilms.extensions import db
from ilms.questions.types import REGISTRY, get_type

#: The question types whose answers a person grades.
PERSON_GRADED = tuple(name for name, qtype in REGISTRY.items() if not qtype.auto_graded)


@dataclass(frozen=True)
class GradingItem:
    response_id: int
    student: str
    phase: Phase
    attempt_number: int
    lang: str  #: the language the student worked in (question, rubric and answer)
    question: str  #: inline Markdown
    answer: str  #: the student's text, empty when there is none
    rubric: list[dict[str, Any]]  #: criteria: text (inline Markdown) and points (formatted)
    points: float | None
    max_points: float
    comment: str
    graded_by: str | None

    @property
    def waiting(self) -> bool:
        return self.points is None


def _answers(assignment_id: int) -> Any:
    """Person-graded responses of the assignment's submitted attempts, oldest attempt first."""
    return (
        select(Response, Attempt, QuestionVersion, User.name)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .join(QuestionVersion, QuestionVersion.id == Response.question_version_id)
        .join(User, User.id == Attempt.user_id)
        .where(
            Quiz.assignment_id == assignment_id,
            Attempt.state != AttemptState.OPEN,
            QuestionVersion.type.in_(PERSON_GRADED),
        )
        .order_by(Attempt.submitted_at, Attempt.id, Response.id)
    )


def grading_items(assignment: Assignment) -> list[GradingItem]:
    """Every answer of the assignment that a person grades: waiting ones first, then graded."""
    rows = db.session.execute(_answers(assignment.id)).all()
    grader_ids = {row[0].graded_by_id for row in rows if row[0].graded_by_id is not None}
    graders = {
        user_id: name
        for user_id, name in db.session.execute(
            select(User.id, User.name).where(User.id.in_(grader_ids))
        )
    }
    items = [
        _item(response, attempt, question, student, graders)
        for response, attempt, question, student in rows
    ]
    return [i for i in items if i.waiting] + [i for i in items if not i.waiting]


def _item(
    response: Response,
    attempt: Attempt,
    question: QuestionVersion,
    student: str,
    graders: dict[int, str],
) -> GradingItem:
    context = get_type(question.type).render_context(
        question.data, attempt.language, answer=response.answer
    )
    return GradingItem(
        response_id=response.id,
        student=student,
        phase=attempt.phase,
        attempt_number=attempt.number,
        lang=context["lang"],
        question=context["text"],
        answer=response.answer if isinstance(response.answer, str) else "",
        rubric=context.get("rubric", []),
        points=response.points,
        max_points=response.max_points,
        comment=str((response.details or {}).get("comment", "")),
        graded_by=graders.get(response.graded_by_id) if response.graded_by_id else None,
    )


def response_in(assignment: Assignment, response_id: int) -> Response:
    """A person-graded response of a submitted attempt of ``assignment``; else not found."""
    response = db.session.scalar(
        select(Response)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .join(QuestionVersion, QuestionVersion.id == Response.question_version_id)
        .where(
            Response.id == response_id,
            Quiz.assignment_id == assignment.id,
            Attempt.state != AttemptState.OPEN,
            QuestionVersion.type.in_(PERSON_GRADED),
        )
    )
    if response is None:
        raise NotFound(_("There is no such answer to grade in this module."))
    return response


def waiting_counts(cohort: Cohort) -> dict[int, int]:
    """For each assignment of the cohort with any: the answers waiting for a person's grade."""
    # Only answers a person grades stay without points once their attempt is submitted.
    rows = db.session.execute(
        select(Quiz.assignment_id, func.count(Response.id))
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .join(Assignment, Assignment.id == Quiz.assignment_id)
        .where(
            Assignment.cohort_id == cohort.id,
            Attempt.state != AttemptState.OPEN,
            Response.points.is_(None),
        )
        .group_by(Quiz.assignment_id)
    )
    return {assignment_id: count for assignment_id, count in rows}
