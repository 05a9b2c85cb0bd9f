"""Read-only views of cohorts for their pages: lists, members, progress counts, roster scores."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.orm import selectinload

from ilms.accounts.models import User
from ilms.authoring.models import Module, ModuleVersion
from ilms.cohorts.models import Assignment, Cohort, CohortMember, MemberRole
from ilms.cohorts.services import STAFF_ROLES, staff_cohorts
from ilms.delivery.models import Attempt, AttemptState, Phase, Quiz
from ilms.delivery.services import counted_attempt
from ilms.extensions import db


@dataclass(frozen=True)
class CohortSummary:
    cohort: Cohort
    role: MemberRole | None  #: the viewer's role in it (None: an admin who is not a member)
    students: int
    modules: int


def cohort_summaries(user: User) -> list[CohortSummary]:
    """The cohorts ``user`` may see, with their role and the number of students and modules."""
    cohorts = staff_cohorts(user)
    ids = [c.id for c in cohorts]
    roles = dict(
        db.session.execute(
            select(CohortMember.cohort_id, CohortMember.role).where(
                CohortMember.user_id == user.id, CohortMember.cohort_id.in_(ids)
            )
        ).all()
    )
    students = _counts(
        select(CohortMember.cohort_id, func.count())
        .where(CohortMember.cohort_id.in_(ids), CohortMember.role == MemberRole.STUDENT)
        .group_by(CohortMember.cohort_id)
    )
    modules = _counts(
        select(Assignment.cohort_id, func.count())
        .where(Assignment.cohort_id.in_(ids))
        .group_by(Assignment.cohort_id)
    )
    return [
        CohortSummary(c, roles.get(c.id), students.get(c.id, 0), modules.get(c.id, 0))
        for c in cohorts
    ]


def _counts(query: Select[tuple[int, int]]) -> dict[int, int]:
    return {key: value for key, value in db.session.execute(query)}


def members_by_role(cohort: Cohort) -> dict[MemberRole, list[CohortMember]]:
    """The cohort's members by role, each list in name order."""
    members = db.session.scalars(
        select(CohortMember)
        .join(User, User.id == CohortMember.user_id)
        .where(CohortMember.cohort_id == cohort.id)
        .options(selectinload(CohortMember.user))
        .order_by(func.lower(User.name), User.id)
    )
    grouped: dict[MemberRole, list[CohortMember]] = {role: [] for role in MemberRole}
    for member in members:
        grouped[member.role].append(member)
    return grouped


def staff_members(cohort: Cohort) -> list[CohortMember]:
    grouped = members_by_role(cohort)
    return [member for role in STAFF_ROLES for member in grouped[role]]


def cohort_assignments(cohort: Cohort) -> list[Assignment]:
    return list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.cohort_id == cohort.id)
            .options(
                selectinload(Assignment.module).selectinload(Module.current_version),
                selectinload(Assignment.module_version),
            )
            .order_by(Assignment.opens_at, Assignment.id)
        )
    )


def assignable_modules(cohort: Cohort) -> list[Module]:
    """Published modules with content that are not embedded in the cohort yet."""
    assigned = select(Assignment.module_id).where(Assignment.cohort_id == cohort.id)
    return list(
        db.session.scalars(
            select(Module)
            .where(
                Module.published.is_(True),
                Module.current_version_id.is_not(None),
                Module.id.not_in(assigned),
            )
            .options(selectinload(Module.current_version))
            .order_by(Module.slug)
        )
    )


def module_title(version: ModuleVersion, lang: str) -> str:
    return version.text(version.title, lang) or version.module.slug


# --- Progress -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseCounts:
    started: int = 0  #: students with an attempt, open or finished
    completed: int = 0  #: students with a submitted attempt


@dataclass(frozen=True)
class Progress:
    students: int
    phases: dict[Phase, PhaseCounts] = field(default_factory=dict)

    def of(self, phase: Phase) -> PhaseCounts:
        return self.phases.get(phase, PhaseCounts())


def assignment_progress(cohort: Cohort) -> dict[int, Progress]:
    """For each assignment: how many of the cohort's students started and completed each test."""
    students = db.session.scalar(
        select(func.count())
        .select_from(CohortMember)
        .where(CohortMember.cohort_id == cohort.id, CohortMember.role == MemberRole.STUDENT)
    )
    finished = case((Attempt.state != AttemptState.OPEN, Attempt.user_id))
    rows = db.session.execute(
        select(
            Quiz.assignment_id,
            Quiz.phase,
            func.count(distinct(Attempt.user_id)),
            func.count(distinct(finished)),
        )
        .join(Attempt, Attempt.quiz_id == Quiz.id)
        .join(
            CohortMember,
            (CohortMember.user_id == Attempt.user_id) & (CohortMember.cohort_id == cohort.id),
        )
        .join(Assignment, Assignment.id == Quiz.assignment_id)
        .where(Assignment.cohort_id == cohort.id, CohortMember.role == MemberRole.STUDENT)
        .group_by(Quiz.assignment_id, Quiz.phase)
    )
    phases: dict[int, dict[Phase, PhaseCounts]] = defaultdict(dict)
    for assignment_id, phase, started, completed in rows:
        phases[assignment_id][Phase(phase)] = PhaseCounts(started, completed)
    return {a.id: Progress(students or 0, phases.get(a.id, {})) for a in cohort_assignments(cohort)}


# --- The roster with scores -----------------------------------------------------------------


@dataclass(frozen=True)
class RosterTable:
    header: list[str]
    rows: list[list[object]]


def _percent(attempt: Attempt | None) -> float | None:
    if attempt is None or attempt.percent is None:
        return None
    return round(attempt.percent, 1)


def roster_table(cohort: Cohort, lang: str) -> RosterTable:
    """Each student with their counted pre-test and post-test score (percent) per module."""
    students = members_by_role(cohort)[MemberRole.STUDENT]
    assignments = cohort_assignments(cohort)
    quizzes = {
        (q.assignment_id, q.phase): q.id
        for q in db.session.scalars(
            select(Quiz).where(Quiz.assignment_id.in_([a.id for a in assignments]))
        )
    }
    attempts: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for attempt in db.session.scalars(
        select(Attempt).where(
            Attempt.quiz_id.in_(list(quizzes.values())),
            Attempt.user_id.in_([m.user_id for m in students]),
            Attempt.state != AttemptState.OPEN,
        )
    ):
        attempts[(attempt.quiz_id, attempt.user_id)].append(attempt)
    header = [_("Name"), _("Email address"), _("Joined")]
    for assignment in assignments:
        title = module_title(assignment.module_version, lang)
        header += [
            _("%(module)s: pre-test score (percent)", module=title),
            _("%(module)s: post-test score (percent)", module=title),
        ]
    rows = []
    for member in students:
        row: list[object] = [
            member.user.name,
            member.user.email,
            member.joined_at.date().isoformat() if member.joined_at else "",
        ]
        for assignment in assignments:
            for phase in (Phase.PRE, Phase.POST):
                quiz_id = quizzes.get((assignment.id, phase))
                done = attempts.get((quiz_id, member.user_id), []) if quiz_id else []
                row.append(_percent(counted_attempt(done, assignment.counting)))
        rows.append(row)
    return RosterTable(header, rows)
