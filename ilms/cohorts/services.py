"""Creating cohorts, managing their members and embedding modules in them."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError

from ilms.accounts import services as accounts
from ilms.accounts.models import User
from ilms.authoring.models import Module, ModuleVersion
from ilms.cohorts.models import (
    Assignment,
    AttemptCounting,
    Cohort,
    CohortMember,
    FeedbackPolicy,
    MemberRole,
)
from ilms.cohorts.roster import ParsedRoster, RosterRow
from ilms.db import utcnow
from ilms.delivery.models import Attempt, FormAllocation, LessonProgress, Phase, Quiz
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.mail import Mail, render_mail, send_mail
from ilms.permissions import Role

STAFF_ROLES = (MemberRole.OWNER, MemberRole.INSTRUCTOR, MemberRole.LIBRARIAN)
#: The members who may change a cohort (instructors only look).
MANAGER_ROLES = (MemberRole.OWNER, MemberRole.LIBRARIAN)
#: Join codes avoid letters and digits that are easily confused (0/O, 1/I/L).
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_ATTEMPTS_ALLOWED = 20
MAX_EXTRA_ATTEMPTS = 20
MAX_TIME_LIMIT_MINUTES = 600
MAX_TIME_MULTIPLIER = 5.0
#: How long the link in an invitation to a new account stays valid.
INVITATION_MAX_AGE = timedelta(days=14)
#: Lengths of the cohort's text columns (see the model).
TEXT_LIMITS = {"course_code": 40, "course_title": 200, "section": 40, "term": 40}


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(8))


# --- Cohorts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortDetails:
    """What a person fills in about a cohort, when creating it and when editing it."""

    course_code: str
    course_title: str
    term: str
    section: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    language: str = "en"

    def cleaned(self) -> CohortDetails:
        """The details with spaces trimmed, or a ``DomainError`` naming the field to fix."""
        texts = {name: getattr(self, name).strip() for name in TEXT_LIMITS}
        for name, value in texts.items():
            if not value and name != "section":
                raise DomainError(_("This field is required."), field=name)
            if len(value) > TEXT_LIMITS[name]:
                raise DomainError(
                    _("Use at most %(n)d characters.", n=TEXT_LIMITS[name]), field=name
                )
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise DomainError(_("The cohort cannot end before it starts."), field="ends_on")
        if self.language not in current_app.config["LANGUAGES"]:
            raise DomainError(_("Choose one of the languages offered."), field="language")
        return CohortDetails(
            **texts, starts_on=self.starts_on, ends_on=self.ends_on, language=self.language
        )


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
    """A new cohort; its creator joins it as embedded librarian (librarians) or owner (others)."""
    details = CohortDetails(
        course_code=course_code,
        course_title=course_title,
        term=term,
        section=section,
        starts_on=starts_on,
        ends_on=ends_on,
        language=language,
    ).cleaned()
    cohort = Cohort(**asdict(details), join_code=new_join_code(), created_by_id=creator.id)
    role = MemberRole.LIBRARIAN if creator.has_role(Role.LIBRARIAN) else MemberRole.OWNER
    cohort.members.append(CohortMember(user_id=creator.id, role=role, joined_at=utcnow()))
    db.session.add(cohort)
    db.session.flush()
    return cohort


def create_linked_cohort(details: CohortDetails, creator: User | None) -> Cohort:
    """A cohort that another part of ILMS keeps for its own use (an info session's tests).

    Nobody joins it by code (the feature adds its students) and its creator is not made a
    member: ``set_librarians`` names the staff.
    """
    cohort = Cohort(
        **asdict(details.cleaned()),
        join_code=new_join_code(),
        join_enabled=False,
        created_by_id=creator.id if creator is not None else None,
    )
    db.session.add(cohort)
    db.session.flush()
    return cohort


def update_cohort(cohort: Cohort, details: CohortDetails) -> None:
    for name, value in asdict(details.cleaned()).items():
        setattr(cohort, name, value)
    db.session.flush()


def regenerate_join_code(cohort: Cohort) -> str:
    """A new join code; the old code and link stop working at once."""
    cohort.join_code = new_join_code()
    db.session.flush()
    return cohort.join_code


def set_joining(cohort: Cohort, enabled: bool) -> None:
    cohort.join_enabled = enabled


# --- Who may see and change a cohort --------------------------------------------------------


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
    return member is not None and member.role in MANAGER_ROLES


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


# --- Members --------------------------------------------------------------------------------


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
        member.role = role
    return member


#: The account role a person needs for each staff role in a cohort.
STAFF_ACCOUNT_ROLE = {
    MemberRole.OWNER: Role.FACULTY,
    MemberRole.INSTRUCTOR: Role.FACULTY,
    MemberRole.LIBRARIAN: Role.LIBRARIAN,
}


def add_staff(cohort: Cohort, email: str, role: MemberRole) -> CohortMember:
    """Make the holder of an existing staff account an owner, instructor or embedded librarian."""
    if role not in STAFF_ROLES:
        raise DomainError(_("Choose owner, instructor or embedded librarian."), field="role")
    user = accounts.find_user_by_email(email)
    if user is None or not user.active:
        raise DomainError(
            _(
                "There is no active account with the address %(email)s. Staff join a cohort with "
                "their existing account; an administrator can create one.",
                email=accounts.normalise_email(email),
            ),
            field="email",
        )
    _check_account_role(user, role)
    member = membership(cohort, user)
    if member is not None and member.role == MemberRole.STUDENT:
        raise DomainError(
            _(
                "%(name)s is a student of this cohort. Remove them from the students first.",
                name=user.name,
            ),
            field="email",
        )
    if member is not None and member.role != role:
        _check_managed_without(cohort, member, new_role=role)
    return add_member(cohort, user, role)


def _check_account_role(user: User, role: MemberRole) -> None:
    needed = STAFF_ACCOUNT_ROLE[role]
    if user.has_role(needed):
        return
    if needed == Role.LIBRARIAN:
        message = _(
            "%(email)s is not a librarian account; only librarians can be embedded librarians.",
            email=user.email,
        )
    else:
        message = _(
            "%(email)s is not a faculty account; only faculty can be owners or instructors.",
            email=user.email,
        )
    raise DomainError(message, field="email")


def _check_managed_without(
    cohort: Cohort, member: CohortMember, new_role: MemberRole | None = None
) -> None:
    """Refuse a change that would leave the cohort without an owner or without a manager."""
    others = db.session.scalars(
        select(CohortMember).where(
            CohortMember.cohort_id == cohort.id, CohortMember.user_id != member.user_id
        )
    ).all()
    if (
        member.role == MemberRole.OWNER
        and new_role != MemberRole.OWNER
        and not any(m.role == MemberRole.OWNER for m in others)
    ):
        raise DomainError(_("A cohort needs at least one owner; add another owner first."))
    if (
        member.role in MANAGER_ROLES
        and new_role not in MANAGER_ROLES
        and not any(m.role in MANAGER_ROLES for m in others)
    ):
        raise DomainError(
            _("A cohort needs an owner or an embedded librarian to manage it; add one first.")
        )


def remove_member(cohort: Cohort, user: User) -> None:
    """Take ``user`` out of the cohort; a student's attempts are kept."""
    member = membership(cohort, user)
    if member is None:
        raise NotFound(_("This person is not in the cohort."))
    _check_managed_without(cohort, member)
    db.session.delete(member)
    db.session.flush()


def set_librarians(cohort: Cohort, librarians: Sequence[User]) -> None:
    """Make exactly ``librarians`` the cohort's embedded librarians; other members stay as they
    are (a student keeps their place, so their answers keep counting as a student's)."""
    wanted = {user.id: user for user in librarians}
    current = db.session.scalars(
        select(CohortMember).where(
            CohortMember.cohort_id == cohort.id, CohortMember.role == MemberRole.LIBRARIAN
        )
    ).all()
    for member in current:
        if member.user_id not in wanted:
            db.session.delete(member)
    db.session.flush()
    for user in wanted.values():
        if membership(cohort, user) is None:
            add_member(cohort, user, MemberRole.LIBRARIAN)
    db.session.flush()
    db.session.expire(cohort, ["members"])


def enrol_student(cohort: Cohort, user: User) -> CohortMember:
    """Add ``user`` as a student, once however often it is asked (also at the same moment)."""
    member = membership(cohort, user)
    if member is not None and member.role != MemberRole.STUDENT:
        raise DomainError(
            _("You are on the staff of this cohort, so you cannot take its tests as a student.")
        )
    return member or add_member(cohort, user, MemberRole.STUDENT)


def join_by_code(user: User, code: str) -> Cohort:
    cohort = db.session.scalar(select(Cohort).where(Cohort.join_code == code.strip().upper()))
    if cohort is None or not cohort.join_enabled:
        raise DomainError(
            _("This join code is not valid. Check it with your instructor."), field="code"
        )
    member = membership(cohort, user)
    if member is not None:
        return cohort
    add_member(cohort, user, MemberRole.STUDENT)
    return cohort


def set_accommodations(
    cohort: Cohort, user: User, time_multiplier: float, extra_attempts: int
) -> None:
    member = membership(cohort, user)
    if member is None or member.role != MemberRole.STUDENT:
        raise NotFound(_("This person is not a student of the cohort."))
    if not 1 <= time_multiplier <= MAX_TIME_MULTIPLIER:
        raise DomainError(
            _("The time multiplier must be between 1 and 5."), field="time_multiplier"
        )
    if not 0 <= extra_attempts <= MAX_EXTRA_ATTEMPTS:
        raise DomainError(_("Extra attempts must be between 0 and 20."), field="extra_attempts")
    member.time_multiplier = time_multiplier
    member.extra_attempts = extra_attempts


# --- Assigned modules -----------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentSettings:
    """When a module is open in a cohort, and how its pre-test and post-test are delivered."""

    opens_at: datetime
    closes_at: datetime
    pre_required: bool = True
    post_after_lessons: bool = True
    attempts_allowed: int = 1
    time_limit_minutes: int | None = None
    counting: AttemptCounting = AttemptCounting.LAST
    feedback_policy: FeedbackPolicy = FeedbackPolicy.AFTER_SUBMIT

    def check(self) -> None:
        if self.closes_at <= self.opens_at:
            raise DomainError(_("The close date must be after the open date."), field="closes_at")
        if not 1 <= self.attempts_allowed <= MAX_ATTEMPTS_ALLOWED:
            raise DomainError(
                _("Allow between 1 and %(n)d attempts.", n=MAX_ATTEMPTS_ALLOWED),
                field="attempts_allowed",
            )
        limit = self.time_limit_minutes
        if limit is not None and not 1 <= limit <= MAX_TIME_LIMIT_MINUTES:
            raise DomainError(
                _(
                    "The time limit must be between 1 and %(n)d minutes, or empty for none.",
                    n=MAX_TIME_LIMIT_MINUTES,
                ),
                field="time_limit_minutes",
            )


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
        raise DomainError(_("This module has no content yet."), field="module")
    if not module.published:
        raise DomainError(
            _("This module is not published yet; only published modules can be assigned."),
            field="module",
        )
    settings = AssignmentSettings(
        opens_at=opens_at,
        closes_at=closes_at,
        pre_required=pre_required,
        post_after_lessons=post_after_lessons,
        attempts_allowed=attempts_allowed,
        time_limit_minutes=time_limit_minutes,
        counting=counting,
        feedback_policy=feedback_policy,
    )
    settings.check()
    existing = db.session.scalar(
        select(Assignment).where(
            Assignment.cohort_id == cohort.id, Assignment.module_id == module.id
        )
    )
    if existing is not None:
        raise DomainError(_("This module is already embedded in the cohort."), field="module")
    assignment = Assignment(
        cohort=cohort, module=module, module_version=module.current_version, **asdict(settings)
    )
    db.session.add(assignment)
    db.session.flush()
    db.session.add_all([Quiz(assignment_id=assignment.id, phase=phase) for phase in Phase])
    db.session.flush()
    return assignment


def update_assignment(assignment: Assignment, settings: AssignmentSettings) -> None:
    """Change the dates and settings; attempts already made keep their own deadlines."""
    settings.check()
    for name, value in asdict(settings).items():
        setattr(assignment, name, value)
    db.session.flush()


def set_phase_windows(
    assignment: Assignment, windows: dict[Phase, tuple[datetime | None, datetime | None]]
) -> None:
    """Give the pre-test or post-test a window of its own (opens, closes) inside the
    assignment's dates; None on either side leaves the assignment's date in force."""
    quizzes = db.session.scalars(select(Quiz).where(Quiz.assignment_id == assignment.id))
    for quiz in quizzes:
        if quiz.phase in windows:
            quiz.opens_at, quiz.closes_at = windows[quiz.phase]
    db.session.flush()


def remove_unstarted_assignment(assignment: Assignment) -> bool:
    """Take a module out of the cohort if no student has begun it; returns whether it was.
    A module someone has begun stays, with their answers."""
    if students_started(assignment):
        return False
    cohort = assignment.cohort
    db.session.delete(assignment)
    db.session.flush()
    db.session.expire(cohort, ["assignments"])
    return True


def assignment_in(cohort: Cohort, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.cohort_id != cohort.id:
        raise NotFound(_("This module is not assigned in the cohort."))
    return assignment


def students_started(assignment: Assignment) -> bool:
    """Whether any student has begun the module: an attempt at either test, or a lesson read."""
    attempted = exists().where(Attempt.quiz_id == Quiz.id, Quiz.assignment_id == assignment.id)
    read = exists().where(LessonProgress.assignment_id == assignment.id)
    return bool(db.session.scalar(select(attempted | read)))


def newer_version(assignment: Assignment) -> ModuleVersion | None:
    """The module's current version if it is newer than the one the cohort uses."""
    current = assignment.module.current_version
    if current is None or current.id == assignment.module_version_id:
        return None
    return current


def adopt_newest_version(assignment: Assignment) -> ModuleVersion:
    """Move the cohort to the module's newest version, while no student has started it."""
    newest = newer_version(assignment)
    if newest is None:
        raise DomainError(_("The cohort already uses the newest version of this module."))
    if students_started(assignment):
        raise DomainError(
            _(
                "Students have already started this module on version %(number)d. Changing the "
                "version now would mix answers to different questions in one set of results, so "
                "the cohort keeps version %(number)d. Assign the new version in a new cohort.",
                number=assignment.module_version.number,
            )
        )
    # Forms are allocated as students start, so there should be none; any left over would name
    # the forms of the old version.
    db.session.execute(delete(FormAllocation).where(FormAllocation.assignment_id == assignment.id))
    assignment.module_version = newest
    db.session.flush()
    return newest


# --- Roster import --------------------------------------------------------------------------


class RowAction(enum.StrEnum):
    """What importing a roster row does."""

    EXISTING = "existing"  #: an existing account becomes a student of the cohort
    NEW = "new"  #: a new student account is created and invited
    MEMBER = "member"  #: already in the cohort: nothing changes
    ERROR = "error"  #: the row must be corrected first


@dataclass(frozen=True)
class RowPlan:
    row: RosterRow
    action: RowAction
    user: User | None = None
    member_role: MemberRole | None = None


@dataclass(frozen=True)
class RosterPlan:
    roster: ParsedRoster
    rows: tuple[RowPlan, ...]

    @property
    def has_errors(self) -> bool:
        return any(plan.action == RowAction.ERROR for plan in self.rows)

    def count(self, action: RowAction | str) -> int:
        return sum(plan.action == action for plan in self.rows)


@dataclass(frozen=True)
class RosterImport:
    added: int
    invitations: tuple[Mail, ...]


def _accounts_by_email(emails: Sequence[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        for user in db.session.scalars(select(User).where(func.lower(User.email).in_(chunk))):
            found[user.email.lower()] = user
    return found


def plan_roster_import(cohort: Cohort, roster: ParsedRoster) -> RosterPlan:
    """What importing ``roster`` would do to each row; changes nothing."""
    emails = [row.email for row in roster.rows if not row.errors]
    users = _accounts_by_email(emails)
    roles = dict(
        db.session.execute(
            select(CohortMember.user_id, CohortMember.role).where(
                CohortMember.cohort_id == cohort.id,
                CohortMember.user_id.in_([u.id for u in users.values()]),
            )
        ).all()
    )
    plans = []
    for row in roster.rows:
        user = users.get(row.email)
        if row.errors:
            plans.append(RowPlan(row, RowAction.ERROR))
        elif user is None:
            plans.append(RowPlan(row, RowAction.NEW))
        elif user.id in roles:
            plans.append(RowPlan(row, RowAction.MEMBER, user, roles[user.id]))
        else:
            plans.append(RowPlan(row, RowAction.EXISTING, user))
    return RosterPlan(roster, tuple(plans))


def import_roster(cohort: Cohort, roster: ParsedRoster, actor: User) -> RosterImport:
    """Enrol every student of ``roster``, all or none; new accounts get an invitation.

    The invitations are returned, to be sent with ``send_invitations`` once the caller has
    committed: nobody is invited to an account that a failed import did not create.
    """
    plan = plan_roster_import(cohort, roster)
    if plan.has_errors:
        raise DomainError(_("Correct the rows marked as errors and upload the file again."))
    added, invitations = 0, []
    for row_plan in plan.rows:
        user = row_plan.user
        if row_plan.action == RowAction.NEW:
            name = row_plan.row.name or row_plan.row.email.split("@")[0]
            user = accounts.create_user(row_plan.row.email, name, [Role.STUDENT], actor=actor)
            invitations.append(invitation_mail(cohort, user, actor))
        if row_plan.action in (RowAction.NEW, RowAction.EXISTING):
            assert user is not None
            add_member(cohort, user, MemberRole.STUDENT)
            added += 1
    db.session.flush()
    return RosterImport(added=added, invitations=tuple(invitations))


def invitation_mail(cohort: Cohort, user: User, inviter: User) -> Mail:
    """The invitation to a new account, in its language (else the cohort's), with its link."""
    link = accounts.password_link(user, INVITATION_MAX_AGE)
    return render_mail(
        "invitation",
        user.locale or cohort.language,
        user.email,
        user=user,
        cohort=cohort,
        inviter=inviter,
        link=link,
        days=INVITATION_MAX_AGE.days,
    )


def send_invitations(mails: Iterable[Mail]) -> None:
    for mail in mails:
        send_mail(mail)
