"""Loading assignments' counted attempts from the database into the statistics' matrices.

A constant number of queries per report, none per student or per cohort: the students, the
attempts, the module versions, their questions, then every response of the finished attempts in
one pass, assembled with NumPy. Several assignments of one module (a module across cohorts) are
pooled into one matrix per phase; each student of each assignment is one row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Text, case, cast, select

from ilms.accounts.models import User
from ilms.authoring.models import ModuleVersion, ModuleVersionQuestion, QuestionVersion
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
    assignment_id: int = 0
    module_version_id: int = 0


@dataclass(frozen=True)
class CohortData:
    """Everything ``build_report`` needs about one assignment (or a pool of them), decided and loaded."""

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


class _Keys:
    """Row keys of students: the user id, or ``<assignment>-<user>`` when assignments are pooled."""

    def __init__(self, pooled: bool) -> None:
        self.pooled = pooled

    def __call__(self, assignment_id: int, user_id: int) -> str:
        return f"{assignment_id}-{user_id}" if self.pooled else str(user_id)


def load_assignment(assignment: Assignment) -> CohortData:
    return load_assignments([assignment])


def load_assignments(assignments: Sequence[Assignment]) -> CohortData:
    """The counted attempts of ``assignments`` (of one module) as one report's input."""
    key = _Keys(pooled=len(assignments) > 1)
    by_id = {a.id: a for a in assignments}
    enrolled, names = _students(assignments, key)
    rows, started = _attempts(by_id, enrolled, key)
    chosen = _counted_attempts(by_id, rows)
    versions = {a.module_version_id for a in assignments} | {r.module_version_id for r in rows}
    questions = _questions(versions)
    responses = _responses(list(by_id), questions)
    questions.update(_missing_questions(responses, questions))
    matrices = {
        phase: _matrix(phase, attempts, questions, responses, key) if attempts else None
        for phase, attempts in chosen.items()
    }
    outcome_frame = _outcome_frames(versions)
    item_outcome = {_item_id(q): q.outcome for q in questions.values() if q.outcome}
    return CohortData(
        pre=matrices["pre"],
        post=matrices["post"],
        enrolled=len(enrolled),
        started=started,
        outcomes=OutcomeMap(item_outcome, outcome_frame),
        names=names,
        labels={_item_id(q): q.data["id"] for q in questions.values()},
    )


def _students(assignments: Sequence[Assignment], key: _Keys) -> tuple[set[str], dict[str, str]]:
    """Each assignment's enrolled students (as row keys) and their names."""
    by_cohort: dict[int, list[int]] = defaultdict(list)
    for a in assignments:
        by_cohort[a.cohort_id].append(a.id)
    members = db.session.execute(
        select(CohortMember.cohort_id, User.id, User.name)
        .join(User, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id.in_(list(by_cohort)), CohortMember.role == MemberRole.STUDENT)
    ).all()
    names = {
        key(assignment_id, user_id): name
        for cohort_id, user_id, name in members
        for assignment_id in by_cohort[cohort_id]
    }
    return set(names), names


def _attempts(
    assignments: dict[int, Assignment], enrolled: set[str], key: _Keys
) -> tuple[list[AttemptRow], int]:
    """The finished attempts of enrolled students, and how many students started at all."""
    result = db.session.execute(
        select(
            Attempt.id,
            Attempt.user_id,
            Attempt.phase,
            Attempt.number,
            Attempt.score,
            Attempt.max_score,
            Attempt.language,
            Attempt.state,
            Quiz.assignment_id,
            Attempt.module_version_id,
        )
        .join(Quiz, Attempt.quiz_id == Quiz.id)
        .where(Quiz.assignment_id.in_(list(assignments)))
    ).all()
    rows = [r for r in result if key(r.assignment_id, r.user_id) in enrolled]
    finished = [
        AttemptRow(
            r.id,
            r.user_id,
            r.phase.value,
            r.number,
            r.score,
            r.max_score,
            r.language,
            r.assignment_id,
            r.module_version_id,
        )
        for r in rows
        if r.state != AttemptState.OPEN
    ]
    return finished, len({key(r.assignment_id, r.user_id) for r in rows})


def _counted_attempts(
    assignments: dict[int, Assignment], rows: list[AttemptRow]
) -> dict[str, list[AttemptRow]]:
    by_student: dict[tuple[int, int, str], list[AttemptRow]] = defaultdict(list)
    for row in rows:
        by_student[(row.assignment_id, row.user_id, row.phase)].append(row)
    chosen: dict[str, list[AttemptRow]] = {"pre": [], "post": []}
    for (assignment_id, _user, phase), attempts in by_student.items():
        row = counted(attempts, assignments[assignment_id].counting)
        if row is not None:
            chosen[phase].append(row)
    return chosen


def _item_id(question: QuestionVersion) -> str:
    return (
        f"{question.data['id']}"
        if question.number == 1
        else f"{question.data['id']}@v{question.number}"
    )


def _questions(module_versions: set[int]) -> dict[int, QuestionVersion]:
    """The question versions of the module versions that the assignments and attempts use."""
    used = select(ModuleVersionQuestion.question_version_id).where(
        ModuleVersionQuestion.module_version_id.in_(list(module_versions))
    )
    found = db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(used)))
    return {q.id: q for q in found}


@dataclass(frozen=True)
class _Responses:
    """Every response of the finished attempts: ids and points as arrays, answers as text."""

    attempt: np.ndarray
    question: np.ndarray
    points: np.ndarray  #: NaN where not graded yet
    answers: list[str | None]  #: the answer as JSON text, for choice items only


def _responses(assignment_ids: list[int], questions: dict[int, QuestionVersion]) -> _Responses:
    choice_ids = [q.id for q in questions.values() if q.type in CHOICE_TYPES]
    # The answer is read as text and decoded below, once per distinct answer, and only for
    # choice items: decoding every response would cost more than the statistics.
    answer = case(
        (Response.question_version_id.in_(choice_ids), cast(Response.answer, Text)),
        else_=None,
    )
    result = db.session.execute(
        select(Response.attempt_id, Response.question_version_id, Response.points, answer)
        .join(Attempt, Response.attempt_id == Attempt.id)
        .join(Quiz, Attempt.quiz_id == Quiz.id)
        .where(Quiz.assignment_id.in_(assignment_ids), Attempt.state != AttemptState.OPEN)
    ).all()
    if not result:
        empty = np.array([], dtype=np.int64)
        return _Responses(empty, empty, np.array([], dtype=float), [])
    attempt, question, points, answers = zip(*result, strict=True)
    return _Responses(
        np.array(attempt, dtype=np.int64),
        np.array(question, dtype=np.int64),
        np.array(points, dtype=float),  # None becomes NaN
        list(answers),
    )


def _missing_questions(
    responses: _Responses, questions: dict[int, QuestionVersion]
) -> dict[int, QuestionVersion]:
    """Question versions answered but not listed for the module versions (none, normally)."""
    missing = set(np.unique(responses.question).tolist()) - set(questions)
    if not missing:
        return {}
    found = db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(missing)))
    return {q.id: q for q in found}


def _outcome_frames(module_versions: set[int]) -> dict[str, str]:
    outcome_frame: dict[str, str] = {}
    for outcomes in db.session.scalars(
        select(ModuleVersion.outcomes).where(ModuleVersion.id.in_(module_versions))
    ):
        outcome_frame.update({o["id"]: o["frame"] for o in outcomes})
    return outcome_frame


def _matrix(
    phase: str,
    attempts: list[AttemptRow],
    questions: dict[int, QuestionVersion],
    responses: _Responses,
    key: _Keys,
) -> PhaseMatrix:
    attempt_ids = np.array(sorted(a.id for a in attempts), dtype=np.int64)
    by_id = {a.id: a for a in attempts}
    mine = np.flatnonzero(np.isin(responses.attempt, attempt_ids))
    question = responses.question[mine]
    column_ids = sorted(
        {int(q) for q in np.unique(question)}, key=lambda q: (questions[q].data["id"], q)
    )
    position = {q: j for j, q in enumerate(column_ids)}
    unique_questions, inverse = np.unique(question, return_inverse=True)
    cols = np.array([position[int(q)] for q in unique_questions], dtype=np.int64)[inverse]
    rows = np.searchsorted(attempt_ids, responses.attempt[mine])
    scores = np.full((len(attempt_ids), len(column_ids)), np.nan)
    scores[rows, cols] = responses.points[mine]
    specs = [questions[q] for q in column_ids]
    ordered = [by_id[int(a)] for a in attempt_ids]
    return PhaseMatrix(
        phase=phase,
        students=tuple(key(a.assignment_id, a.user_id) for a in ordered),
        items=tuple(_item_id(q) for q in specs),
        max_points=np.array([q.points or 1.0 for q in specs]),
        scores=scores,
        languages=tuple(a.language for a in ordered),
        choices=_choices(specs, rows, cols, [responses.answers[i] for i in mine], len(ordered)),
    )


def _choices(
    specs: list[QuestionVersion], rows: np.ndarray, cols: np.ndarray, raw: list[str | None], n: int
) -> Choices | None:
    options = [_options(q) for q in specs]
    if not any(options):
        return None
    width = max(len(o) for o in options)
    chosen = np.zeros((n, len(specs), width), dtype=bool)
    # Few distinct answers recur many times: decode each once, then map (item, answer) pairs.
    codes_of: dict[str | None, int] = {}
    codes = np.fromiter(
        (codes_of.setdefault(text, len(codes_of)) for text in raw), dtype=np.int64, count=len(raw)
    )
    decoded = [_decode(text) for text in codes_of]
    pairs, inverse = np.unique(cols * len(codes_of) + codes, return_inverse=True)
    table = np.zeros((len(pairs), width), dtype=bool)
    for p, pair in enumerate(pairs.tolist()):
        col, code = divmod(pair, len(codes_of))
        index = {o: k for k, o in enumerate(options[col])}
        for option in decoded[code]:
            if option in index:
                table[p, index[option]] = True
    chosen[rows, cols] = table[inverse]
    keys = tuple(frozenset(_keys(q)) for q in specs)
    return Choices(options=tuple(tuple(o) for o in options), keys=keys, chosen=chosen)


def _decode(text: str | None) -> list[str]:
    if text is None:
        return []
    return _chosen(json.loads(text))


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
