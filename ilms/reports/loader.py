"""Loading an assignment's counted attempts from the database into the statistics' matrices.

A constant number of queries per report, none per student: the attempts, then every response of
the counted attempts in one pass, assembled with NumPy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import String, cast, select

from ilms.accounts.models import User
from ilms.authoring.models import QuestionVersion
from ilms.cohorts.models import Assignment, AttemptCounting, CohortMember, MemberRole
from ilms.delivery.models import Attempt, AttemptState, Quiz, Response
from ilms.extensions import db
from ilms.reports.stats import Choices, OutcomeMap, PhaseMatrix

CHOICE_TYPES = ("single_choice", "multiple_response", "true_false")


@dataclass(frozen=True)
class AttemptRow:
    id: int
    user_id: int
    phase: str
    number: int
    score: float | None
    max_score: float
    language: str


@dataclass(frozen=True)
class CohortData:
    """Everything ``build_report`` needs about one assignment, decided and loaded."""

    pre: PhaseMatrix | None
    post: PhaseMatrix | None
    enrolled: int
    started: int
    outcomes: OutcomeMap
    names: dict[str, str]
    labels: dict[str, str]  #: item id -> the question's id in its bank, for display


def counted(rows: list[AttemptRow], counting: AttemptCounting) -> AttemptRow | None:
    """The attempt that counts among one student's finished attempts at one quiz."""
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: r.number)
    if not scored:
        return None
    if counting == AttemptCounting.FIRST:
        return scored[0]
    if counting == AttemptCounting.LAST:
        return scored[-1]
    return max(scored, key=lambda r: (r.score / r.max_score if r.max_score else 0.0, -r.number))


def _attempts(assignment: Assignment, enrolled: set[int]) -> tuple[list[AttemptRow], int]:
    """The finished attempts of enrolled students, and how many students started at all."""
    quiz_ids = select(Quiz.id).where(Quiz.assignment_id == assignment.id)
    rows = [
        r
        for r in db.session.execute(
            select(
                Attempt.id,
                Attempt.user_id,
                Attempt.phase,
                Attempt.number,
                Attempt.score,
                Attempt.max_score,
                Attempt.language,
                Attempt.state,
            ).where(Attempt.quiz_id.in_(quiz_ids))
        ).all()
        if r.user_id in enrolled
    ]
    finished = [
        AttemptRow(r.id, r.user_id, r.phase.value, r.number, r.score, r.max_score, r.language)
        for r in rows
        if r.state != AttemptState.OPEN
    ]
    return finished, len({r.user_id for r in rows})


def _counted_attempts(
    assignment: Assignment, rows: list[AttemptRow]
) -> dict[str, list[AttemptRow]]:
    by_student: dict[tuple[int, str], list[AttemptRow]] = defaultdict(list)
    for row in rows:
        by_student[(row.user_id, row.phase)].append(row)
    chosen: dict[str, list[AttemptRow]] = {"pre": [], "post": []}
    for (_user, phase), attempts in by_student.items():
        row = counted(attempts, assignment.counting)
        if row is not None:
            chosen[phase].append(row)
    return chosen


def load_assignment(assignment: Assignment) -> CohortData:
    students = db.session.execute(
        select(User.id, User.name)
        .join(CohortMember, CohortMember.user_id == User.id)
        .where(
            CohortMember.cohort_id == assignment.cohort_id, CohortMember.role == MemberRole.STUDENT
        )
    ).all()
    enrolled_ids = {row.id for row in students}
    rows, started = _attempts(assignment, enrolled_ids)
    chosen = _counted_attempts(assignment, rows)
    questions = _questions(assignment, [r.id for phase in chosen.values() for r in phase])
    responses = _responses([r.id for phase in chosen.values() for r in phase])
    matrices = {
        phase: _matrix(phase, attempts, questions, responses) if attempts else None
        for phase, attempts in chosen.items()
    }
    version = assignment.module_version
    outcome_frame = {o["id"]: o["frame"] for o in version.outcomes}
    item_outcome = {_item_id(q): q.outcome for q in questions.values() if q.outcome}
    return CohortData(
        pre=matrices["pre"],
        post=matrices["post"],
        enrolled=len(enrolled_ids),
        started=started,
        outcomes=OutcomeMap(item_outcome, outcome_frame),
        names={str(row.id): row.name for row in students},
        labels={_item_id(q): q.data["id"] for q in questions.values()},
    )


def _item_id(question: QuestionVersion) -> str:
    return (
        f"{question.data['id']}"
        if question.number == 1
        else f"{question.data['id']}@v{question.number}"
    )


def _questions(assignment: Assignment, attempt_ids: list[int]) -> dict[int, QuestionVersion]:
    """The question versions the counted attempts presented (pooled across languages)."""
    used = (
        select(Response.question_version_id).where(Response.attempt_id.in_(attempt_ids)).distinct()
    )
    versions = db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(used)))
    return {q.id: q for q in versions}


def _responses(attempt_ids: list[int]) -> tuple[np.ndarray, list[str | None]]:
    """(attempt id, question version id, points or NaN) for every response, and raw answers."""
    if not attempt_ids:
        return np.empty((0, 3)), []
    result = db.session.execute(
        select(
            Response.attempt_id,
            Response.question_version_id,
            Response.points,
            cast(Response.answer, String),
        ).where(Response.attempt_id.in_(attempt_ids))
    ).all()
    numbers = np.array(
        [(r[0], r[1], np.nan if r[2] is None else r[2]) for r in result], dtype=float
    )
    answers = [r[3] for r in result]
    return numbers.reshape(-1, 3), answers


def _matrix(
    phase: str,
    attempts: list[AttemptRow],
    questions: dict[int, QuestionVersion],
    responses: tuple[np.ndarray, list[str | None]],
) -> PhaseMatrix:
    numbers, answers = responses
    attempt_ids = np.array(sorted(a.id for a in attempts))
    by_id = {a.id: a for a in attempts}
    mine = np.isin(numbers[:, 0], attempt_ids)
    data, raw = numbers[mine], [a for a, keep in zip(answers, mine, strict=True) if keep]
    columns = sorted({int(q) for q in data[:, 1]}, key=lambda q: (questions[q].data["id"], q))
    column_ids = np.array(columns)
    rows = np.searchsorted(attempt_ids, data[:, 0])
    cols = np.searchsorted(column_ids, data[:, 1], sorter=np.argsort(column_ids))
    cols = np.argsort(column_ids)[cols]
    scores = np.full((len(attempt_ids), len(columns)), np.nan)
    scores[rows, cols] = data[:, 2]
    specs = [questions[q] for q in columns]
    return PhaseMatrix(
        phase=phase,
        students=tuple(str(by_id[a].user_id) for a in attempt_ids),
        items=tuple(_item_id(q) for q in specs),
        max_points=np.array([q.points or 1.0 for q in specs]),
        scores=scores,
        languages=tuple(by_id[a].language for a in attempt_ids),
        choices=_choices(specs, rows, cols, raw, len(attempt_ids)),
    )


def _choices(
    specs: list[QuestionVersion], rows: np.ndarray, cols: np.ndarray, raw: list[str | None], n: int
) -> Choices | None:
    options = [_options(q) for q in specs]
    if not any(options):
        return None
    width = max(len(o) for o in options)
    chosen = np.zeros((n, len(specs), width), dtype=bool)
    index = [{o: k for k, o in enumerate(opts)} for opts in options]
    for row, col, text in zip(rows.tolist(), cols.tolist(), raw, strict=True):
        if not options[col] or text in (None, "null"):
            continue
        for option in _chosen(json.loads(text)):
            if option in index[col]:
                chosen[row, col, index[col][option]] = True
    keys = tuple(frozenset(_keys(q)) for q in specs)
    return Choices(options=tuple(tuple(o) for o in options), keys=keys, chosen=chosen)


def _options(question: QuestionVersion) -> list[str]:
    if question.type in ("single_choice", "multiple_response"):
        return [o["id"] for o in question.data["options"]]
    if question.type == "true_false":
        return ["true", "false"]
    return []


def _keys(question: QuestionVersion) -> list[str]:
    if question.type == "true_false":
        return ["true" if question.data["answer"] else "false"]
    if question.type in ("single_choice", "multiple_response"):
        return [o["id"] for o in question.data["options"] if o.get("correct")]
    return []


def _chosen(answer: Any) -> list[str]:
    if isinstance(answer, bool):
        return ["true" if answer else "false"]
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, list):
        return [a for a in answer if isinstance(a, str)]
    return []
