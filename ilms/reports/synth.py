"""Synthetic cohorts for demos and benchmarks: a generated module, students, and pre- and post-test
attempts drawn from a simple item-response model with a known gain.

Each student has an ability θ ~ N(0, 1) and each item a difficulty b; a student answers an item
right with probability 1 / (1 + exp(-(θ - b))) on the pre-test and 1 / (1 + exp(-(θ + gain - b)))
on the post-test. Wrong answers pick a distractor, the first ones more often. Rows are written with
bulk inserts (Core ``insert()`` executemany in chunks), not one object per row.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import insert, select

from ilms.accounts import services as accounts
from ilms.accounts.models import User, UserRole
from ilms.authoring import package as pkg
from ilms.authoring import services as authoring
from ilms.authoring.models import Module, ModuleVersionQuestion
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Assignment, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.delivery.models import Attempt, AttemptState, Phase, Quiz, Response
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.permissions import Role

CHUNK = 5_000  #: rows per executemany
OPTIONS = ("a", "b", "c", "d")
DISTRACTOR_WEIGHTS = (0.5, 0.3, 0.2)
LANGUAGES = ("en", "ru", "kk")
LANGUAGE_SHARES = (0.5, 0.3, 0.2)
POST_COMPLETION = 0.95  #: the share of students who also take the post-test
FRAMES = (
    "authority-is-constructed-and-contextual",
    "information-creation-as-a-process",
    "information-has-value",
    "research-as-inquiry",
    "scholarship-as-conversation",
    "searching-as-strategic-exploration",
)


@dataclass(frozen=True)
class SynthCohort:
    cohort_id: int
    assignment_id: int
    module_slug: str
    students: int
    items: int
    pre_mean: float  #: mean percentage score of the generated pre-tests
    post_mean: float  #: of the post-tests
    matched: int  #: students with both tests


# --- The module -----------------------------------------------------------------------------


def _localised(en: str, ru: str, kk: str) -> str:
    return f'{{ en = "{en}", ru = "{ru}", kk = "{kk}" }}'


def _module_toml(slug: str, items: int, outcomes: int) -> str:
    lines = [
        f'slug = "{slug}"',
        "version = 1",
        'languages = ["en", "ru", "kk"]',
        'audience = "undergraduate"',
        "estimated_minutes = 30",
        "title = " + _localised("Synthetic module", "Синтетический модуль", "Синтетикалық модуль"),
        "summary = "
        + _localised(
            "Generated for demonstrations.",
            "Создан для демонстрации.",
            "Көрсетуге арналып жасалған.",
        ),
    ]
    for o in range(outcomes):
        lines += [
            "",
            "[[outcomes]]",
            f'id = "outcome-{o + 1}"',
            f'frame = "{FRAMES[o % len(FRAMES)]}"',
            "text = " + _localised(f"Outcome {o + 1}", f"Результат {o + 1}", f"Нәтиже {o + 1}"),
        ]
    names = ", ".join(f'"q{j + 1:03d}"' for j in range(items))
    lines += ["", "[forms.A]", f"items = [{names}]", "", "[tests]", 'pre = "A"', 'post = "A"']
    return "\n".join(lines) + "\n"


def _bank_toml(items: int, outcomes: int) -> str:
    parts = []
    for j in range(items):
        parts += [
            "[[questions]]",
            f'id = "q{j + 1:03d}"',
            'type = "single_choice"',
            f'outcome = "outcome-{j % outcomes + 1}"',
            "text = " + _localised(f"Question {j + 1}", f"Вопрос {j + 1}", f"Сұрақ {j + 1}"),
        ]
        for k, option in enumerate(OPTIONS):
            parts += [
                "",
                "[[questions.options]]",
                f'id = "{option}"',
                f"correct = {'true' if k == 0 else 'false'}",
                "text = " + _localised(f"Option {option}", f"Вариант {option}", f"Нұсқа {option}"),
                "feedback = " + _localised("Feedback.", "Отзыв.", "Кері байланыс."),
            ]
        parts.append("")
    return "\n".join(parts)


def _write_package(root: Path, slug: str, items: int) -> None:
    outcomes = min(6, items)
    folder = root / slug
    (folder / "lessons").mkdir(parents=True)
    (folder / "module.toml").write_text(_module_toml(slug, items, outcomes), encoding="utf-8")
    (folder / "bank.toml").write_text(_bank_toml(items, outcomes), encoding="utf-8")
    lessons = {
        "en": ("Introduction", "Read me."),
        "ru": ("Введение", "Прочитайте."),
        "kk": ("Кіріспе", "Оқыңыз."),
    }
    for lang, (title, body) in lessons.items():
        text = f"# {title}\n\n{body}\n"
        (folder / "lessons" / f"01-intro.{lang}.md").write_text(text, encoding="utf-8")


def import_module(slug: str, items: int, actor: User) -> Module:
    """Generate the module's package and import it as any other (ilms.authoring.services)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write_package(root, slug, items)
        package, problems = pkg.check_package(root / slug)
        if problems:
            raise DomainError("; ".join(str(p) for p in problems))
        authoring.import_package(package, actor)
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    assert module is not None
    return module


# --- People ---------------------------------------------------------------------------------


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _bulk(table: Any, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        db.session.execute(insert(table), chunk)


def _students(tag: str, count: int, cohort_id: int, now: datetime) -> list[int]:
    prefix = f"synth-{tag}-"
    _bulk(
        User.__table__,
        [
            {
                "email": f"{prefix}{i:06d}@example.edu",
                "name": f"Student {i + 1:06d} ({tag})",
                "password_hash": None,
                "active": True,
                "created_at": now,
            }
            for i in range(count)
        ],
    )
    ids = list(
        db.session.scalars(
            select(User.id).where(User.email.like(f"{prefix}%")).order_by(User.email)
        )
    )
    _bulk(UserRole.__table__, [{"user_id": i, "role": Role.STUDENT} for i in ids])
    _bulk(
        CohortMember.__table__,
        [
            {
                "cohort_id": cohort_id,
                "user_id": i,
                "role": MemberRole.STUDENT,
                "time_multiplier": 1.0,
                "extra_attempts": 0,
                "joined_at": now,
            }
            for i in ids
        ],
    )
    return ids


# --- Answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answers:
    right: np.ndarray  #: (students, items) bool
    chosen: np.ndarray  #: (students, items) option index
    took: np.ndarray  #: (students,) bool


def _answers(
    rng: np.random.Generator,
    ability: np.ndarray,
    difficulty: np.ndarray,
    shift: float,
    took: np.ndarray,
) -> _Answers:
    probability = 1 / (1 + np.exp(-(ability[:, None] + shift - difficulty[None, :])))
    right = rng.random(probability.shape) < probability
    distractor = 1 + rng.choice(len(DISTRACTOR_WEIGHTS), size=right.shape, p=DISTRACTOR_WEIGHTS)
    return _Answers(right, np.where(right, 0, distractor), took)


def _attempt_rows(
    quiz: Quiz, users: list[int], answers: _Answers, meta: dict[str, Any]
) -> list[dict[str, Any]]:
    scores = answers.right.sum(axis=1)
    return [
        {
            "quiz_id": quiz.id,
            "user_id": user,
            "number": 1,
            "phase": quiz.phase,
            "state": AttemptState.SUBMITTED,
            "module_version_id": meta["version"],
            "form": "A",
            "language": meta["languages"][i],
            "question_order": meta["questions"],
            "option_orders": {},
            "started_at": meta["started"],
            "expires_at": None,
            "submitted_at": meta["started"] + timedelta(minutes=20),
            "score": float(scores[i]),
            "max_score": float(len(meta["questions"])),
            "fully_graded": True,
        }
        for i, user in enumerate(users)
        if answers.took[i]
    ]


def _response_rows(
    attempt_of: dict[int, int],
    users: list[int],
    answers: _Answers,
    questions: list[int],
    at: datetime,
) -> Iterator[list[dict[str, Any]]]:
    details = ({"correct": False, "feedback_key": None, "option_feedback": [], "parts": []},)
    right_details = {**details[0], "correct": True}
    per_chunk = max(1, CHUNK // len(questions))
    for start in range(0, len(users), per_chunk):
        rows = []
        for i in range(start, min(start + per_chunk, len(users))):
            if not answers.took[i]:
                continue
            attempt = attempt_of[users[i]]
            for j, question in enumerate(questions):
                right = bool(answers.right[i, j])
                rows.append(
                    {
                        "attempt_id": attempt,
                        "question_version_id": question,
                        "answer": OPTIONS[int(answers.chosen[i, j])],
                        "seq": j + 1,
                        "saved_at": at,
                        "points": 1.0 if right else 0.0,
                        "max_points": 1.0,
                        "details": right_details if right else details[0],
                        "graded_by_id": None,
                    }
                )
        yield rows


# --- The cohort -----------------------------------------------------------------------------


def synth_cohort(students: int, items: int, seed: int = 0, gain: float = 1.0) -> SynthCohort:
    """Create a module, a cohort with ``students`` and their pre- and post-tests; flushes only."""
    if students < 1 or items < 2:
        raise DomainError(_("A synthetic cohort needs at least one student and two items."))
    rng = np.random.default_rng(seed)
    tag = f"{seed}-{secrets.token_hex(3)}"
    now = utcnow()
    owner = accounts.create_user(
        f"synth-owner-{tag}@example.edu", f"Synthetic faculty ({tag})", [Role.FACULTY]
    )
    module = import_module(f"synthetic-{items}-{tag}", items, owner)
    cohort = cohorts.create_cohort(
        owner,
        course_code="SYN",
        course_title=f"Synthetic cohort of {students} students",
        term="Synthetic",
        section=tag,
    )
    assignment = cohorts.assign_module(
        cohort, module, opens_at=now - timedelta(days=30), closes_at=now + timedelta(days=30)
    )
    users = _students(tag, students, cohort.id, now)
    ability = rng.normal(size=students)
    difficulty = rng.normal(scale=1.0, size=items)
    languages = rng.choice(LANGUAGES, size=students, p=LANGUAGE_SHARES).tolist()
    took_post = rng.random(students) < POST_COMPLETION
    phases = {
        Phase.PRE: _answers(rng, ability, difficulty, 0.0, np.ones(students, dtype=bool)),
        Phase.POST: _answers(rng, ability, difficulty, gain, took_post),
    }
    _store_attempts(assignment, users, phases, languages, now)
    pre, post = phases[Phase.PRE], phases[Phase.POST]
    return SynthCohort(
        cohort_id=cohort.id,
        assignment_id=assignment.id,
        module_slug=module.slug,
        students=students,
        items=items,
        pre_mean=float(100 * pre.right.mean()),
        post_mean=float(100 * post.right[post.took].mean()) if post.took.any() else 0.0,
        matched=int(post.took.sum()),
    )


def _store_attempts(
    assignment: Assignment,
    users: list[int],
    phases: dict[Phase, _Answers],
    languages: list[str],
    now: datetime,
) -> None:
    questions = list(
        db.session.scalars(
            select(ModuleVersionQuestion.question_version_id)
            .where(ModuleVersionQuestion.module_version_id == assignment.module_version_id)
            .order_by(ModuleVersionQuestion.position)
        )
    )
    quizzes = {
        q.phase: q
        for q in db.session.scalars(select(Quiz).where(Quiz.assignment_id == assignment.id))
    }
    for phase, answers in phases.items():
        started = now - timedelta(days=20 if phase == Phase.PRE else 2)
        meta = {
            "version": assignment.module_version_id,
            "languages": languages,
            "questions": questions,
            "started": started,
        }
        _bulk(Attempt.__table__, _attempt_rows(quizzes[phase], users, answers, meta))
        attempt_of = dict(
            db.session.execute(
                select(Attempt.user_id, Attempt.id).where(Attempt.quiz_id == quizzes[phase].id)
            ).all()
        )
        for rows in _response_rows(attempt_of, users, answers, questions, started):
            _bulk(Response.__table__, rows)
