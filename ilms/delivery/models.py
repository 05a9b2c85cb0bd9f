"""Quizzes as delivered in a cohort, students' attempts and their responses, lesson progress."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ilms.accounts.models import User
from ilms.authoring.models import ModuleVersion, QuestionVersion
from ilms.cohorts.models import Assignment
from ilms.db import str_enum, utcnow
from ilms.extensions import db


class Phase(enum.StrEnum):
    PRE = "pre"
    POST = "post"


class AttemptState(enum.StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"
    CLOSED = "closed"  #: submitted by the system when time ran out


class Quiz(db.Model):
    """The pre-test or post-test of an assignment."""

    __tablename__ = "quizzes"
    __table_args__ = (UniqueConstraint("assignment_id", "phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    phase: Mapped[Phase] = mapped_column(str_enum(Phase, "phase"))
    #: A window of this phase within the assignment's (None: the assignment's own date). An info
    #: session's pre-test closes when the session starts; its post-test opens when it ends.
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]

    assignment: Mapped[Assignment] = relationship()


class FormAllocation(db.Model):
    """Which form a student gets as pre-test and post-test (counterbalanced A/B, B/A)."""

    __tablename__ = "form_allocations"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    pre_form: Mapped[str] = mapped_column(String(40))
    post_form: Mapped[str] = mapped_column(String(40))


class Attempt(db.Model):
    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("quiz_id", "user_id", "number"),
        # At most one open attempt per student and quiz: two parallel starts cannot both succeed.
        Index(
            "uq_attempts_one_open",
            "quiz_id",
            "user_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= max_score)", name="score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  #: 1 for the first attempt at this quiz, 2 for the second ...
    phase: Mapped[Phase] = mapped_column(str_enum(Phase, "phase"))
    state: Mapped[AttemptState] = mapped_column(
        str_enum(AttemptState, "attempt_state"), default=AttemptState.OPEN
    )
    module_version_id: Mapped[int] = mapped_column(
        ForeignKey("module_versions.id", ondelete="RESTRICT")
    )
    form: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    #: The question versions in the order this student sees them (stored so a resume looks the same).
    question_order: Mapped[list[int]] = mapped_column(JSON)
    #: Question version id (as a string) -> option ids in this student's order.
    option_orders: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]  #: the server-side deadline, accommodations included
    submitted_at: Mapped[datetime | None]
    score: Mapped[float | None]
    max_score: Mapped[float]
    #: True once every open-response item has been graded by a person.
    fully_graded: Mapped[bool] = mapped_column(default=True)

    quiz: Mapped[Quiz] = relationship()
    user: Mapped[User] = relationship()
    module_version: Mapped[ModuleVersion] = relationship()
    responses: Mapped[list[Response]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.state == AttemptState.OPEN

    @property
    def percent(self) -> float | None:
        if self.score is None or not self.max_score:
            return None
        return 100.0 * self.score / self.max_score


class Response(db.Model):
    """A student's answer to one question of an attempt; ``seq`` orders saves from the browser."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("attempt_id", "question_version_id"),
        CheckConstraint("seq >= 0", name="seq_not_negative"),
        CheckConstraint(
            "points IS NULL OR (points >= 0 AND points <= max_points)", name="points_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    question_version_id: Mapped[int] = mapped_column(
        ForeignKey("question_versions.id", ondelete="RESTRICT"), index=True
    )
    answer: Mapped[Any] = mapped_column(JSON)
    seq: Mapped[int]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    points: Mapped[float | None]  #: None until graded (open responses wait for a person)
    max_points: Mapped[float]
    #: Grading details (chosen options, per-part results) for feedback and distractor analysis.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    attempt: Mapped[Attempt] = relationship(back_populates="responses")
    question_version: Mapped[QuestionVersion] = relationship()


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("assignment_id", "user_id", "lesson_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_key: Mapped[str] = mapped_column(String(80))
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
