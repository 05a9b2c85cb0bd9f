"""Loading assignments' counted attempts from the database into the statistics' matrices.

A constant number of queries per report, none per student: the students, the attempts, the module
versions, their questions, then every response of the finished attempts in one pass, assembled
with NumPy (and, for the attendance breakdown, one query per cohort to info sessions). Several
assignments of one module (a module across cohorts) are pooled into one matrix per phase; each
student of each assignment is one row.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Select, Text, cast, select

from ilms.accounts.models import User
from ilms.authoring.models import ModuleVersion, ModuleVersionQuestion, QuestionVersion
from ilms.cohorts.models import Assignment, AttemptCounting, CohortMember, MemberRole
from ilms.delivery.models import Attempt, AttemptState, Quiz, Response
from ilms.extensions import db
from ilms.infosessions.queries import cohort_attendees
from ilms.reports.stats import Choices, OutcomeMap, PhaseMatrix


class AttemptRow(NamedTuple):
    """A finished attempt (a tuple: tens of thousands are made per report)."""

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
    #: Student -> attended an info session held for the cohort (None: no attendance to report).
    attendance: dict[str, bool | None] | None = None


def counted(rows: list[AttemptRow], counting: AttemptCounting) -> AttemptRow | None:
    """The attempt that counts among one student's finished attempts at one quiz."""
    if len(rows) == 1:  # by far the most common case
        return rows[0] if rows[0].score is not None else None
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
    students = _students(assignments)
    names = {key(s.assignment_id, s.user_id): s.name for s in students}
    enrolled = set(names)
    rows, started = _attempts(by_id, enrolled, key)
    chosen = _counted_attempts(by_id, rows)
    versions = {a.module_version_id for a in assignments} | {r.module_version_id for r in rows}
    questions = _questions(versions)
    responses = _responses(list(by_id))
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
        attendance=_attendance(students, key),
    )


@dataclass(frozen=True)
class _Student:
    assignment_id: int
    cohort_id: int
    user_id: int
    name: str


def _students(assignments: Sequence[Assignment]) -> list[_Student]:
    """Each assignment's enrolled students."""
    by_cohort: dict[int, list[int]] = defaultdict(list)
    for a in assignments:
        by_cohort[a.cohort_id].append(a.id)
    members = _fetch(
        select(CohortMember.cohort_id, User.id, User.name)
        .join(User, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id.in_(list(by_cohort)), CohortMember.role == MemberRole.STUDENT)
    )
    return [
        _Student(assignment_id, cohort_id, user_id, name)
        for cohort_id, user_id, name in members
        for assignment_id in by_cohort[cohort_id]
    ]


def _attendance(students: list[_Student], key: _Keys) -> dict[str, bool | None] | None:
    """Who attended an info session held for their cohort; None when nobody did (or none was).

    One query per cohort (info sessions answer per cohort), none per student.
    """
    attended = {c: cohort_attendees(c) for c in {s.cohort_id for s in students}}
    if not any(attended.values()):
        return None
    return {key(s.assignment_id, s.user_id): s.user_id in attended[s.cohort_id] for s in students}


def _attempts(
    assignments: dict[int, Assignment], enrolled: set[str], key: _Keys
) -> tuple[list[AttemptRow], int]:
    """The finished attempts of enrolled students, and how many students started at all."""
    result = _fetch(
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
    )
    # Raw rows: the phase and the state are their stored strings.
    rows = [r for r in result if key(r[8], r[1]) in enrolled]
    finished = [
        AttemptRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[8], r[9])
        for r in rows
        if r[7] != AttemptState.OPEN.value
    ]
    return finished, len({key(r[8], r[1]) for r in rows})


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
    answers: np.ndarray  #: the answer as JSON text (objects)


def _responses(assignment_ids: list[int]) -> _Responses:
    # The answer is read as text and decoded later, once per distinct answer, for choice items.
    result = _fetch(
        select(
            Response.attempt_id,
            Response.question_version_id,
            Response.points,
            cast(Response.answer, Text),
        )
        .join(Attempt, Response.attempt_id == Attempt.id)
        .join(Quiz, Attempt.quiz_id == Quiz.id)
        .where(Quiz.assignment_id.in_(assignment_ids), Attempt.state != AttemptState.OPEN)
    )
    if not result:
        empty = np.array([], dtype=np.int64)
        return _Responses(empty, empty, np.array([], dtype=float), np.array([], dtype=object))
    count = len(result)
    return _Responses(
        np.fromiter(map(itemgetter(0), result), dtype=np.int64, count=count),
        np.fromiter(map(itemgetter(1), result), dtype=np.int64, count=count),
        np.array(list(map(itemgetter(2), result)), dtype=float),  # None becomes NaN
        np.array(list(map(itemgetter(3), result)), dtype=object),
    )


def _fetch(statement: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows as the database driver gives them, without a result object per row.

    Only for columns that need no conversion (numbers, text): a cohort's responses run to a
    million rows, and building a Row for each would cost more than the query.
    """
    result = db.session.connection().execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


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
    # Each response's row by binary search (no sort of the responses): the counted attempts only.
    found = np.searchsorted(attempt_ids, responses.attempt)
    mine = np.flatnonzero(attempt_ids[np.minimum(found, len(attempt_ids) - 1)] == responses.attempt)
    rows = found[mine]
    unique_questions, inverse = np.unique(responses.question[mine], return_inverse=True)
    column_ids = sorted(unique_questions.tolist(), key=lambda q: (questions[q].data["id"], q))
    position = {q: j for j, q in enumerate(column_ids)}
    cols = np.array([position[q] for q in unique_questions.tolist()], dtype=np.int64)[inverse]
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
        choices=_choices(specs, rows, cols, responses.answers[mine], len(ordered)),
    )


def _choices(
    specs: list[QuestionVersion], rows: np.ndarray, cols: np.ndarray, raw: np.ndarray, n: int
) -> Choices | None:
    options = [_options(q) for q in specs]
    if not any(options):
        return None
    width = max(len(o) for o in options)
    chosen = np.zeros((n, len(specs), width), dtype=bool)
    # Few distinct answers recur many times. Number each distinct text (in C: a text's number is
    # where it first occurs), renumber them 0..d-1, decode each once, and look every response's
    # (item, answer) pair up in a small table of chosen options.
    raw = np.where(np.array([bool(o) for o in options])[cols], raw, None)  # choice items only
    first_seen: dict[str | None, int] = {}
    codes = np.fromiter(
        map(first_seen.setdefault, raw, itertools.count()), dtype=np.int64, count=len(raw)
    )
    renumber = np.zeros(len(raw) + 1, dtype=np.int64)
    renumber[list(first_seen.values())] = np.arange(len(first_seen))
    distinct = [_decode(text) for text in first_seen]
    table = np.zeros((len(specs), len(distinct), width), dtype=bool)
    for col, choices in enumerate(options):
        index = {o: k for k, o in enumerate(choices)}
        for d, answer in enumerate(distinct):
            for option in answer:
                if option in index:
                    table[col, d, index[option]] = True
    chosen[rows, cols] = table[cols, renumber[codes]]
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
