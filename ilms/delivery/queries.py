"""What a student sees of their assignments: dates, quizzes, progress and the next step."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ilms.accounts.models import User
from ilms.authoring.models import Lesson, Module, ModuleVersion
from ilms.cohorts.models import Assignment, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.delivery.models import Attempt, LessonProgress, Phase, Quiz
from ilms.delivery.services import counted_attempt
from ilms.extensions import db


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def student_assignment_rows(user: User) -> list[Assignment]:
    return list(
        db.session.scalars(
            select(Assignment)
            .join(CohortMember, CohortMember.cohort_id == Assignment.cohort_id)
            .join(Module, Module.id == Assignment.module_id)
            .where(
                CohortMember.user_id == user.id,
                CohortMember.role == MemberRole.STUDENT,
                Module.published.is_(True),
            )
            .options(
                # Only the lessons' keys: their bodies (Markdown in every language) are not shown.
                selectinload(Assignment.module_version)
                .selectinload(ModuleVersion.lessons)
                .load_only(Lesson.key, Lesson.position),
                selectinload(Assignment.module),
                selectinload(Assignment.cohort),
            )
            .order_by(Assignment.closes_at)
        )
    )


def phase_state(attempts: list[Attempt], counting: Any) -> dict[str, Any]:
    open_attempt = next((a for a in attempts if a.is_open), None)
    counted = counted_attempt(attempts, counting)
    if open_attempt is not None:
        state = "in_progress"
    elif counted is not None:
        state = "submitted"
    else:
        state = "not_started"
    return {
        "state": state,
        "attempts_used": len(attempts),
        "open_attempt_id": open_attempt.id if open_attempt else None,
        "score_percent": round(counted.percent, 1)
        if counted and counted.percent is not None
        else None,
        "counted_attempt_id": counted.id if counted else None,
    }


def student_assignments(user: User) -> list[dict[str, Any]]:
    """Each assignment of the student with quiz ids and progress, in due-date order."""
    assignments = student_assignment_rows(user)
    ids = [a.id for a in assignments]
    quizzes = {
        (q.assignment_id, q.phase): q
        for q in db.session.scalars(select(Quiz).where(Quiz.assignment_id.in_(ids)))
    }
    attempts: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in db.session.scalars(
        select(Attempt)
        .where(Attempt.user_id == user.id, Attempt.quiz_id.in_([q.id for q in quizzes.values()]))
        .order_by(Attempt.number)
    ):
        attempts[attempt.quiz_id].append(attempt)
    progress: dict[int, set[str]] = defaultdict(set)
    for row in db.session.execute(
        select(LessonProgress.assignment_id, LessonProgress.lesson_key).where(
            LessonProgress.user_id == user.id, LessonProgress.assignment_id.in_(ids)
        )
    ):
        progress[row.assignment_id].add(row.lesson_key)
    return [_entry(a, quizzes, attempts, progress[a.id]) for a in assignments]


def _entry(assignment: Assignment, quizzes: dict, attempts: dict, done: set[str]) -> dict[str, Any]:
    version = assignment.module_version
    pre, post = quizzes.get((assignment.id, Phase.PRE)), quizzes.get((assignment.id, Phase.POST))
    pre_state = phase_state(attempts[pre.id] if pre else [], assignment.counting)
    post_state = phase_state(attempts[post.id] if post else [], assignment.counting)
    lesson_keys = [lesson.key for lesson in version.lessons]
    now = utcnow()
    return {
        "id": assignment.id,
        "cohort_id": assignment.cohort_id,
        "cohort": assignment.cohort.label,
        "module": {
            "slug": assignment.module.slug,
            "title": version.title,
            "languages": version.languages,
            "estimated_minutes": version.estimated_minutes,
        },
        "opens_at": _iso(assignment.opens_at),
        "closes_at": _iso(assignment.closes_at),
        "is_open": assignment.opens_at <= now <= assignment.closes_at,
        "pre_quiz_id": pre.id if pre else None,
        "post_quiz_id": post.id if post else None,
        "pre": pre_state,
        "lessons": {"done": sum(k in done for k in lesson_keys), "total": len(lesson_keys)},
        "post": post_state,
        "state": _overall(pre_state, post_state, done, lesson_keys),
    }


def _overall(pre: dict, post: dict, done: set[str], lessons: list[str]) -> str:
    if post["state"] == "submitted":
        return "completed"
    if pre["state"] != "submitted":
        return "pre_test"
    if not set(lessons) <= done:
        return "lessons"
    return "post_test"
