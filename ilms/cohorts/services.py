"""Creating cohorts, managing their members and embedding modules in them."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts.models import (
    Assignment,
    AttemptCounting,
    Cohort,
    CohortMember,
    FeedbackPolicy,
    MemberRole,
)
from ilms.db import utcnow
from ilms.delivery.models import Phase, Quiz
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.permissions import Role

STAFF_ROLES = (MemberRole.OWNER, MemberRole.INSTRUCTOR, MemberRole.LIBRARIAN)
#: Join codes avoid letters and digits that are easily confused (0/O, 1/I/L).
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(8))


def create_cohort(
    creator: User,
    *,
    course_code: str,
    course_title: str,
    term: str,
    section: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
    language: str = "en",
) -> Cohort:
    if starts_on and ends_on and ends_on < starts_on:
        raise DomainError(_("The cohort cannot end before it starts."), field="ends_on")
    cohort = Cohort(
        course_code=course_code.strip(),
        course_title=course_title.strip(),
        section=section.strip(),
        term=term.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        language=language,
        join_code=new_join_code(),
        created_by_id=creator.id,
    )
    role = MemberRole.LIBRARIAN if creator.has_role(Role.LIBRARIAN) else MemberRole.OWNER
    cohort.members.append(CohortMember(user_id=creator.id, role=role))
    db.session.add(cohort)
    db.session.flush()
    return cohort


def membership(cohort: Cohort, user: User) -> CohortMember | None:
    return db.session.get(CohortMember, (cohort.id, user.id))


def can_view_cohort(user: User, cohort: Cohort) -> bool:
    """Admins see every cohort; faculty and librarians only those they belong to."""
    if user.is_admin:
        return True
    member = membership(cohort, user)
    return member is not None and member.role in STAFF_ROLES


def can_manage_cohort(user: User, cohort: Cohort) -> bool:
    """Owners, embedded librarians and admins change a cohort; instructors only look."""
    if user.is_admin:
        return True
    member = membership(cohort, user)
    return member is not None and member.role in (MemberRole.OWNER, MemberRole.LIBRARIAN)


def cohort_for_staff(user: User, cohort_id: int) -> Cohort:
    """The cohort if ``user`` may see it; otherwise it does not exist for them (404)."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None or not can_view_cohort(user, cohort):
        raise NotFound(_("There is no such cohort."))
    return cohort


def staff_cohorts(user: User) -> list[Cohort]:
    query = select(Cohort).order_by(Cohort.term.desc(), Cohort.course_code, Cohort.section)
    if not user.is_admin:
        query = query.join(CohortMember).where(
            CohortMember.user_id == user.id, CohortMember.role.in_(STAFF_ROLES)
        )
    return list(db.session.scalars(query))


def student_cohorts(user: User) -> list[Cohort]:
    return list(
        db.session.scalars(
            select(Cohort)
            .join(CohortMember)
            .where(CohortMember.user_id == user.id, CohortMember.role == MemberRole.STUDENT)
            .order_by(Cohort.term.desc(), Cohort.course_code)
        )
    )


def add_member(cohort: Cohort, user: User, role: MemberRole) -> CohortMember:
    """Add ``user`` with ``role``; an existing member keeps their row and gets the new role."""
    member = membership(cohort, user)
    if member is not None:
        member.role = role
        return member
    member = CohortMember(cohort_id=cohort.id, user_id=user.id, role=role, joined_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(member)
    except IntegrityError:
        member = membership(cohort, user)
        assert member is not None
    return member


def remove_member(cohort: Cohort, user: User) -> None:
    member = membership(cohort, user)
    if member is None:
        raise NotFound(_("This person is not in the cohort."))
    if member.role == MemberRole.OWNER:
        owners = [m for m in cohort.members if m.role == MemberRole.OWNER]
        if len(owners) == 1:
            raise DomainError(_("A cohort needs at least one owner; add another owner first."))
    db.session.delete(member)


def join_by_code(user: User, code: str) -> Cohort:
    cohort = db.session.scalar(select(Cohort).where(Cohort.join_code == code.strip().upper()))
    if cohort is None or not cohort.join_enabled:
        raise DomainError(
            _("This join code is not valid. Check it with your instructor."), field="code"
        )
    member = membership(cohort, user)
    if member is not None and member.role in STAFF_ROLES:
        return cohort
    add_member(cohort, user, MemberRole.STUDENT)
    return cohort


def set_accommodations(
    cohort: Cohort, user: User, time_multiplier: float, extra_attempts: int
) -> None:
    member = membership(cohort, user)
    if member is None or member.role != MemberRole.STUDENT:
        raise NotFound(_("This person is not a student of the cohort."))
    if not 1 <= time_multiplier <= 5:
        raise DomainError(
            _("The time multiplier must be between 1 and 5."), field="time_multiplier"
        )
    if not 0 <= extra_attempts <= 20:
        raise DomainError(_("Extra attempts must be between 0 and 20."), field="extra_attempts")
    member.time_multiplier = time_multiplier
    member.extra_attempts = extra_attempts


def assign_module(
    cohort: Cohort,
    module: Module,
    *,
    opens_at: datetime,
    closes_at: datetime,
    pre_required: bool = True,
    post_after_lessons: bool = True,
    attempts_allowed: int = 1,
    time_limit_minutes: int | None = None,
    counting: AttemptCounting = AttemptCounting.LAST,
    feedback_policy: FeedbackPolicy = FeedbackPolicy.AFTER_SUBMIT,
) -> Assignment:
    """Embed the module's current version in the cohort, with its pre-test and post-test."""
    if module.current_version is None:
        raise DomainError(_("This module has no content yet."))
    if closes_at <= opens_at:
        raise DomainError(_("The close date must be after the open date."), field="closes_at")
    if attempts_allowed < 1:
        raise DomainError(_("Allow at least one attempt."), field="attempts_allowed")
    if time_limit_minutes is not None and time_limit_minutes <= 0:
        raise DomainError(
            _("The time limit must be a positive number of minutes."), field="time_limit_minutes"
        )
    existing = db.session.scalar(
        select(Assignment).where(
            Assignment.cohort_id == cohort.id, Assignment.module_id == module.id
        )
    )
    if existing is not None:
        raise DomainError(_("This module is already embedded in the cohort."), field="module")
    assignment = Assignment(
        cohort=cohort,
        module=module,
        module_version=module.current_version,
        opens_at=opens_at,
        closes_at=closes_at,
        pre_required=pre_required,
        post_after_lessons=post_after_lessons,
        attempts_allowed=attempts_allowed,
        time_limit_minutes=time_limit_minutes,
        counting=counting,
        feedback_policy=feedback_policy,
    )
    db.session.add(assignment)
    db.session.flush()
    db.session.add_all([Quiz(assignment_id=assignment.id, phase=phase) for phase in Phase])
    db.session.flush()
    return assignment
