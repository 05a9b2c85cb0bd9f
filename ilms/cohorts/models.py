"""Cohorts, their members (with accommodations) and their assigned modules with settings."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ilms.accounts.models import User
from ilms.authoring.models import Module, ModuleVersion
from ilms.db import TimestampMixin, str_enum
from ilms.extensions import db


class MemberRole(enum.StrEnum):
    STUDENT = "student"
    OWNER = "owner"  #: faculty who own the cohort (see results, change settings)
    INSTRUCTOR = "instructor"  #: faculty without ownership (teaching assistants)
    LIBRARIAN = "librarian"  #: embedded librarian


class AttemptCounting(enum.StrEnum):
    FIRST = "first"
    LAST = "last"
    BEST = "best"


class FeedbackPolicy(enum.StrEnum):
    NEVER = "never"
    AFTER_SUBMIT = "after_submit"
    AFTER_CLOSE = "after_close"


class Cohort(TimestampMixin, db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint(
            "ends_on IS NULL OR starts_on IS NULL OR ends_on >= starts_on", name="dates_in_order"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_code: Mapped[str] = mapped_column(String(40))
    course_title: Mapped[str] = mapped_column(String(200))
    section: Mapped[str] = mapped_column(String(40), default="")
    term: Mapped[str] = mapped_column(String(40), index=True)  #: e.g. "Fall 2026"
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    language: Mapped[str] = mapped_column(String(8), default="en")  #: language of instruction
    join_code: Mapped[str] = mapped_column(String(16), unique=True)  #: students join with it
    join_enabled: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    members: Mapped[list[CohortMember]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan", order_by="Assignment.opens_at"
    )

    @property
    def label(self) -> str:
        section = f"-{self.section}" if self.section else ""
        return f"{self.course_code}{section} {self.course_title} ({self.term})"


class CohortMember(db.Model):
    __tablename__ = "cohort_members"
    __table_args__ = (
        CheckConstraint(
            "time_multiplier >= 1 AND time_multiplier <= 5", name="time_multiplier_range"
        ),
        CheckConstraint("extra_attempts >= 0", name="extra_attempts_not_negative"),
    )

    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "member_role"))
    #: Accommodations: time limits are multiplied by this; extra attempts are added.
    time_multiplier: Mapped[float] = mapped_column(default=1.0)
    extra_attempts: Mapped[int] = mapped_column(default=0)
    joined_at: Mapped[datetime | None]

    cohort: Mapped[Cohort] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Assignment(TimestampMixin, db.Model):
    """A module embedded in a cohort, with its dates and quiz settings."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("cohort_id", "module_id"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("attempts_allowed >= 1", name="attempts_allowed_positive"),
        CheckConstraint(
            "time_limit_minutes IS NULL OR time_limit_minutes > 0", name="time_limit_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="RESTRICT"))
    #: The version students get; a newer module version is adopted explicitly by staff.
    module_version_id: Mapped[int] = mapped_column(
        ForeignKey("module_versions.id", ondelete="RESTRICT")
    )
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    pre_required: Mapped[bool] = mapped_column(default=True)  #: pre-test before the lessons
    post_after_lessons: Mapped[bool] = mapped_column(default=True)  #: post-test after lessons
    attempts_allowed: Mapped[int] = mapped_column(default=1)
    time_limit_minutes: Mapped[int | None]
    counting: Mapped[AttemptCounting] = mapped_column(
        str_enum(AttemptCounting, "attempt_counting"), default=AttemptCounting.LAST
    )
    feedback_policy: Mapped[FeedbackPolicy] = mapped_column(
        str_enum(FeedbackPolicy, "feedback_policy"), default=FeedbackPolicy.AFTER_SUBMIT
    )

    cohort: Mapped[Cohort] = relationship(back_populates="assignments")
    module: Mapped[Module] = relationship()
    module_version: Mapped[ModuleVersion] = relationship()
