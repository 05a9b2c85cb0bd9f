"""The cohort services: creating and editing, members, join codes, accommodations, assigned
modules and their settings, and adopting a module's newer version."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts import services
from ilms.cohorts.models import (
    Assignment,
    AttemptCounting,
    Cohort,
    CohortMember,
    FeedbackPolicy,
    MemberRole,
)
from ilms.cohorts.services import AssignmentSettings, CohortDetails
from ilms.db import utcnow
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase, Quiz
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from tests.conftest import unique

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def get_user(user: User) -> User:
    found = db.session.get(User, user.id)
    assert found is not None
    return found


def new_cohort(owner: User, **fields: object) -> Cohort:
    values: dict[str, object] = {
        "course_code": "IL101",
        "course_title": "Research skills",
        "term": "Fall 2026",
        "section": unique("s"),
    }
    values.update(fields)
    return services.create_cohort(get_user(owner), **values)  # type: ignore[arg-type]


def settings(**changes: object) -> AssignmentSettings:
    values: dict[str, object] = {"opens_at": NOW, "closes_at": NOW + timedelta(days=14)}
    values.update(changes)
    return AssignmentSettings(**values)  # type: ignore[arg-type]


# --- Creating and editing -------------------------------------------------------------------


def test_create_cohort_trims_fields_and_makes_the_faculty_creator_owner(app_ctx, make_user):
    owner = make_user("faculty")
    cohort = new_cohort(owner, course_code="  IL101 ", course_title=" Research ", section="")
    assert (cohort.course_code, cohort.course_title) == ("IL101", "Research")
    assert len(cohort.join_code) == 8
    assert set(cohort.join_code) <= set(services.JOIN_ALPHABET)
    member = services.membership(cohort, get_user(owner))
    assert member is not None and member.role == MemberRole.OWNER
    assert member.joined_at is not None


def test_a_librarian_creator_is_the_embedded_librarian(app_ctx, make_user):
    librarian = make_user("librarian")
    cohort = new_cohort(librarian)
    member = services.membership(cohort, get_user(librarian))
    assert member is not None and member.role == MemberRole.LIBRARIAN
    assert services.can_manage_cohort(get_user(librarian), cohort)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"course_code": "  "}, "course_code"),
        ({"course_title": ""}, "course_title"),
        ({"term": ""}, "term"),
        ({"course_code": "X" * 41}, "course_code"),
        ({"section": "S" * 41}, "section"),
        ({"starts_on": date(2026, 9, 1), "ends_on": date(2026, 8, 31)}, "ends_on"),
        ({"language": "de"}, "language"),
    ],
)
def test_create_cohort_refuses_bad_details(app_ctx, make_user, fields, field):
    with pytest.raises(DomainError) as error:
        new_cohort(make_user("faculty"), **fields)
    assert error.value.field == field


def test_update_cohort_changes_details_with_the_same_rules(app_ctx, make_user):
    cohort = new_cohort(make_user("faculty"))
    services.update_cohort(
        cohort,
        CohortDetails(
            course_code="IL102",
            course_title=" New title ",
            term="Spring 2027",
            starts_on=date(2027, 1, 10),
            ends_on=date(2027, 5, 1),
            language="ru",
        ),
    )
    assert (cohort.course_code, cohort.course_title, cohort.language) == (
        "IL102",
        "New title",
        "ru",
    )
    with pytest.raises(DomainError):
        services.update_cohort(
            cohort,
            CohortDetails(
                course_code="IL102",
                course_title="T",
                term="T",
                starts_on=date(2027, 5, 1),
                ends_on=date(2027, 1, 1),
            ),
        )


# --- Join codes -----------------------------------------------------------------------------


def test_a_new_join_code_replaces_the_old_one(app_ctx, make_user):
    owner, student = make_user("faculty"), make_user("student")
    cohort = new_cohort(owner)
    old = cohort.join_code
    new = services.regenerate_join_code(cohort)
    assert new != old and cohort.join_code == new
    student = get_user(student)
    with pytest.raises(DomainError):
        services.join_by_code(student, old)
    assert services.join_by_code(student, new.lower()) is cohort


def test_joining_turned_off_refuses_the_code(app_ctx, make_user):
    owner, student = make_user("faculty"), make_user("student")
    cohort = new_cohort(owner)
    services.set_joining(cohort, False)
    student = get_user(student)
    with pytest.raises(DomainError, match="not valid"):
        services.join_by_code(student, cohort.join_code)
    services.set_joining(cohort, True)
    services.join_by_code(student, cohort.join_code)
    member = services.membership(cohort, student)
    assert member is not None and member.role == MemberRole.STUDENT


def test_staff_following_the_join_code_stay_staff(app_ctx, make_user):
    owner = make_user("faculty")
    cohort = new_cohort(owner)
    services.join_by_code(get_user(owner), cohort.join_code)
    member = services.membership(cohort, get_user(owner))
    assert member is not None and member.role == MemberRole.OWNER


# --- Members --------------------------------------------------------------------------------


def test_add_staff_by_email_case_insensitively(app_ctx, make_user):
    owner = make_user("faculty")
    colleague = make_user("faculty", email=f"{unique('Prof')}@Example.EDU")
    cohort = new_cohort(owner)
    member = services.add_staff(cohort, colleague.email.upper(), MemberRole.INSTRUCTOR)
    assert member.user_id == colleague.id and member.role == MemberRole.INSTRUCTOR
    assert services.can_view_cohort(get_user(colleague), cohort)
    assert not services.can_manage_cohort(get_user(colleague), cohort)
    services.add_staff(cohort, colleague.email, MemberRole.OWNER)
    assert services.can_manage_cohort(get_user(colleague), cohort)


def test_add_staff_refuses_unknown_and_deactivated_accounts(app_ctx, make_user):
    owner, gone = make_user("faculty"), make_user("faculty")
    cohort = new_cohort(owner)
    with pytest.raises(DomainError, match="no active account") as error:
        services.add_staff(cohort, "nobody@example.edu", MemberRole.OWNER)
    assert error.value.field == "email"
    gone = get_user(gone)
    gone.active = False
    with pytest.raises(DomainError, match="no active account"):
        services.add_staff(cohort, gone.email, MemberRole.OWNER)


@pytest.mark.parametrize(
    ("account_role", "member_role", "message"),
    [
        ("student", MemberRole.OWNER, "not a faculty account"),
        ("librarian", MemberRole.INSTRUCTOR, "not a faculty account"),
        ("faculty", MemberRole.LIBRARIAN, "not a librarian account"),
        ("student", MemberRole.LIBRARIAN, "not a librarian account"),
    ],
)
def test_add_staff_needs_the_matching_account_role(
    app_ctx, make_user, account_role, member_role, message
):
    owner, person = make_user("faculty"), make_user(account_role)
    cohort = new_cohort(owner)
    with pytest.raises(DomainError, match=message):
        services.add_staff(cohort, person.email, member_role)
    assert services.membership(cohort, get_user(person)) is None


def test_add_staff_refuses_the_student_role_and_students_of_the_cohort(app_ctx, make_user):
    owner, teaching_student = make_user("faculty"), make_user("student", "faculty")
    cohort = new_cohort(owner)
    teaching_student = get_user(teaching_student)
    with pytest.raises(DomainError) as error:
        services.add_staff(cohort, teaching_student.email, MemberRole.STUDENT)
    assert error.value.field == "role"
    services.add_member(cohort, teaching_student, MemberRole.STUDENT)
    with pytest.raises(DomainError, match="is a student of this cohort"):
        services.add_staff(cohort, teaching_student.email, MemberRole.INSTRUCTOR)


def test_the_last_owner_can_be_neither_removed_nor_demoted(app_ctx, make_user):
    owner, second = make_user("faculty"), make_user("faculty")
    cohort = new_cohort(owner)
    with pytest.raises(DomainError, match="at least one owner"):
        services.remove_member(cohort, get_user(owner))
    with pytest.raises(DomainError, match="at least one owner"):
        services.add_staff(cohort, owner.email, MemberRole.INSTRUCTOR)
    services.add_staff(cohort, second.email, MemberRole.OWNER)
    services.add_staff(cohort, owner.email, MemberRole.INSTRUCTOR)
    services.remove_member(cohort, get_user(owner))
    assert services.membership(cohort, get_user(owner)) is None


def test_the_last_manager_of_a_librarians_cohort_stays(app_ctx, make_user):
    librarian, faculty = make_user("librarian"), make_user("faculty")
    cohort = new_cohort(librarian)
    with pytest.raises(DomainError, match="owner or an embedded librarian"):
        services.remove_member(cohort, get_user(librarian))
    services.add_staff(cohort, faculty.email, MemberRole.OWNER)
    services.remove_member(cohort, get_user(librarian))


def test_remove_a_student_keeps_their_attempts(app_ctx, make_user, test_module_id):
    owner, student = make_user("faculty"), make_user("student")
    cohort = new_cohort(owner)
    assignment = services.assign_module(
        cohort,
        db.session.get(Module, test_module_id),
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=1),
    )
    student = get_user(student)
    services.add_member(cohort, student, MemberRole.STUDENT)
    quiz = db.session.scalar(
        select(Quiz).where(Quiz.assignment_id == assignment.id, Quiz.phase == Phase.PRE)
    )
    attempt = delivery.start_attempt(quiz, student, "en")
    services.remove_member(cohort, student)
    assert services.membership(cohort, student) is None
    assert db.session.get(type(attempt), attempt.id) is not None
    with pytest.raises(NotFound):
        services.remove_member(cohort, student)


# --- Accommodations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("multiplier", "extra", "ok"),
    [
        (1.0, 0, True),
        (5.0, 20, True),
        (1.5, 2, True),
        (0.99, 0, False),
        (5.01, 0, False),
        (1.0, -1, False),
        (1.0, 21, False),
    ],
)
def test_accommodation_limits(app_ctx, make_user, multiplier, extra, ok):
    owner, student = make_user("faculty"), make_user("student")
    cohort = new_cohort(owner)
    student = get_user(student)
    services.add_member(cohort, student, MemberRole.STUDENT)
    if ok:
        services.set_accommodations(cohort, student, multiplier, extra)
        member = services.membership(cohort, student)
        assert member is not None
        assert (member.time_multiplier, member.extra_attempts) == (multiplier, extra)
    else:
        with pytest.raises(DomainError) as error:
            services.set_accommodations(cohort, student, multiplier, extra)
        assert error.value.field in ("time_multiplier", "extra_attempts")


def test_accommodations_are_for_students_of_the_cohort_only(app_ctx, make_user):
    owner, stranger = make_user("faculty"), make_user("student")
    cohort = new_cohort(owner)
    with pytest.raises(NotFound):
        services.set_accommodations(cohort, get_user(owner), 2.0, 1)
    with pytest.raises(NotFound):
        services.set_accommodations(cohort, get_user(stranger), 2.0, 1)


# --- Assigned modules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"closes_at": NOW}, "closes_at"),
        ({"closes_at": NOW - timedelta(minutes=1)}, "closes_at"),
        ({"attempts_allowed": 0}, "attempts_allowed"),
        ({"attempts_allowed": 21}, "attempts_allowed"),
        ({"time_limit_minutes": 0}, "time_limit_minutes"),
        ({"time_limit_minutes": 601}, "time_limit_minutes"),
    ],
)
def test_assignment_settings_are_checked(changes, field, app_ctx):
    with pytest.raises(DomainError) as error:
        settings(**changes).check()
    assert error.value.field == field


def test_assign_module_with_settings_creates_both_quizzes(app_ctx, make_user, module_factory):
    owner, module_id = make_user("faculty"), module_factory()
    cohort = new_cohort(owner)
    module = db.session.get(Module, module_id)
    assignment = services.assign_module(
        cohort,
        module,
        opens_at=NOW,
        closes_at=NOW + timedelta(days=7),
        pre_required=False,
        post_after_lessons=False,
        attempts_allowed=3,
        time_limit_minutes=30,
        counting=AttemptCounting.BEST,
        feedback_policy=FeedbackPolicy.AFTER_CLOSE,
    )
    assert assignment.module_version_id == module.current_version_id
    assert (assignment.attempts_allowed, assignment.time_limit_minutes) == (3, 30)
    assert assignment.counting == AttemptCounting.BEST
    phases = set(db.session.scalars(select(Quiz.phase).where(Quiz.assignment_id == assignment.id)))
    assert phases == {Phase.PRE, Phase.POST}
    with pytest.raises(DomainError, match="already embedded"):
        services.assign_module(cohort, module, opens_at=NOW, closes_at=NOW + timedelta(days=1))


def test_only_published_modules_can_be_assigned(app_ctx, make_user, module_factory):
    owner, draft_id = make_user("faculty"), module_factory(publish=False)
    cohort = new_cohort(owner)
    draft = db.session.get(Module, draft_id)
    with pytest.raises(DomainError, match="not published") as error:
        services.assign_module(cohort, draft, opens_at=NOW, closes_at=NOW + timedelta(days=1))
    assert error.value.field == "module"


def test_update_assignment_changes_settings_and_checks_them(app_ctx, make_user, module_factory):
    owner, module_id = make_user("faculty"), module_factory()
    cohort = new_cohort(owner)
    module = db.session.get(Module, module_id)
    assignment = services.assign_module(
        cohort, module, opens_at=NOW, closes_at=NOW + timedelta(days=7)
    )
    services.update_assignment(
        assignment,
        settings(attempts_allowed=2, time_limit_minutes=45, counting=AttemptCounting.FIRST),
    )
    assert (assignment.attempts_allowed, assignment.time_limit_minutes) == (2, 45)
    with pytest.raises(DomainError):
        services.update_assignment(assignment, settings(attempts_allowed=0))


def test_assignment_in_refuses_another_cohorts_assignment(app_ctx, make_user, module_factory):
    owner, other, module_id = make_user("faculty"), make_user("faculty"), module_factory()
    mine, theirs = new_cohort(owner), new_cohort(other)
    module = db.session.get(Module, module_id)
    assignment = services.assign_module(
        theirs, module, opens_at=NOW, closes_at=NOW + timedelta(days=7)
    )
    with pytest.raises(NotFound):
        services.assignment_in(mine, assignment.id)
    assert services.assignment_in(theirs, assignment.id) is assignment


# --- Adopting a newer module version --------------------------------------------------------


def assigned_open(cohort: Cohort, module_id: int) -> Assignment:
    return services.assign_module(
        cohort,
        db.session.get(Module, module_id),
        opens_at=utcnow() - timedelta(days=1),
        closes_at=utcnow() + timedelta(days=7),
    )


def test_adopt_the_newest_version_while_nobody_started(app, make_user, module_factory):
    slug = f"adopt-{unique('m').lower()}"
    module_id, owner = module_factory(slug), make_user("faculty")
    with app.test_request_context():
        cohort = new_cohort(owner)
        assignment = assigned_open(cohort, module_id)
        with pytest.raises(DomainError, match="already uses the newest"):
            services.adopt_newest_version(assignment)
        db.session.commit()
        assignment_id = assignment.id
    module_factory(slug, version=2)
    with app.test_request_context():
        assignment = db.session.get(Assignment, assignment_id)
        newer = services.newer_version(assignment)
        assert newer is not None and newer.number == 2
        assert services.adopt_newest_version(assignment) is newer
        assert assignment.module_version.number == 2
        assert services.newer_version(assignment) is None
        db.session.rollback()


@pytest.mark.parametrize("started_by", ["attempt", "lesson"])
def test_adopting_is_refused_once_a_student_started(app, make_user, module_factory, started_by):
    slug = f"adopt-{unique('m').lower()}"
    module_id, owner, student = module_factory(slug), make_user("faculty"), make_user("student")
    with app.test_request_context():
        cohort = new_cohort(owner)
        assignment = assigned_open(cohort, module_id)
        if started_by == "lesson":
            assignment.pre_required = False
        student = get_user(student)
        services.add_member(cohort, student, MemberRole.STUDENT)
        if started_by == "attempt":
            quiz = db.session.scalar(
                select(Quiz).where(Quiz.assignment_id == assignment.id, Quiz.phase == Phase.PRE)
            )
            delivery.start_attempt(quiz, student, "en")
        else:
            delivery.complete_lesson(assignment, student, "one")
        db.session.commit()
        assignment_id = assignment.id
    module_factory(slug, version=2)
    with app.test_request_context():
        assignment = db.session.get(Assignment, assignment_id)
        assert services.students_started(assignment)
        with pytest.raises(DomainError, match="already started this module on version 1"):
            services.adopt_newest_version(assignment)
        assert assignment.module_version.number == 1


def test_staff_and_student_lists(app_ctx, make_user):
    owner, colleague, student, admin = (
        make_user("faculty"),
        make_user("faculty"),
        make_user("student"),
        make_user("admin"),
    )
    mine = new_cohort(owner)
    other = new_cohort(colleague)
    student = get_user(student)
    services.add_member(other, student, MemberRole.STUDENT)
    ids = {c.id for c in services.staff_cohorts(get_user(owner))}
    assert mine.id in ids and other.id not in ids
    admin_ids = {c.id for c in services.staff_cohorts(get_user(admin))}
    assert {mine.id, other.id} <= admin_ids
    assert [c.id for c in services.student_cohorts(student)] == [other.id]
    assert services.staff_cohorts(student) == []
    with pytest.raises(NotFound):
        services.cohort_for_staff(get_user(owner), other.id)
    with pytest.raises(NotFound):
        services.cohort_for_staff(get_user(owner), 10**9)
    members = db.session.scalars(select(CohortMember).where(CohortMember.cohort_id == mine.id))
    assert [m.role for m in members] == [MemberRole.OWNER]
