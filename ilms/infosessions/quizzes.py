"""An info session's pre-test and post-test, delivered by the quiz engine of the cohorts.

A session with a quiz module keeps a cohort of its own (``InfoSession.quiz_cohort_id``) with the
module assigned in it. Participants join it as students when they first open a test; the
session's presenters are its embedded librarians, so the cohort's reports are theirs. Its dates
follow the session's: the pre-test is open until the session starts, the post-test from its end
for ``INFO_SESSION_POST_TEST_DAYS`` days. Each date of a series has a cohort of its own, because
each date has its own times and its own group (the module's report adds the dates up).

Changing or removing the module keeps every attempt: the assignment of the module no one has
begun is taken out, one that has answers stays in the cohort with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ilms.accounts.models import User
from ilms.accounts.services import normalise_email
from ilms.authoring.models import Module
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Assignment, Cohort, MemberRole
from ilms.db import utcnow
from ilms.delivery import progress
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase
from ilms.errors import Conflict, DomainError, NotFound
from ilms.extensions import db
from ilms.infosessions.models import InfoSession, Registration, RegistrationStatus
from ilms.infosessions.timing import term_of, to_library_time

#: Registrations whose holder may take the tests (a no-show did not come to the session).
MAY_TAKE = (RegistrationStatus.REGISTERED, RegistrationStatus.ATTENDED)


# --- The cohort and assignment behind a session ---------------------------------------------


def quiz_cohort(session: InfoSession) -> Cohort | None:
    if session.quiz_cohort_id is None:
        return None
    return db.session.get(Cohort, session.quiz_cohort_id)


def _assignment_of(cohort_id: int, module_id: int) -> Assignment | None:
    return db.session.scalar(
        select(Assignment).where(
            Assignment.cohort_id == cohort_id, Assignment.module_id == module_id
        )
    )


def current_assignment(session: InfoSession) -> Assignment | None:
    """The assignment of the session's quiz module, or None when the session has no tests."""
    if session.quiz_module_id is None or session.quiz_cohort_id is None:
        return None
    return _assignment_of(session.quiz_cohort_id, session.quiz_module_id)


def session_assignments(session: InfoSession) -> list[Assignment]:
    """Every assignment of the session's cohort: the current one and those kept for answers."""
    if session.quiz_cohort_id is None:
        return []
    return list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.cohort_id == session.quiz_cohort_id)
            .order_by(Assignment.id)
        )
    )


def post_test_closes(session: InfoSession) -> datetime:
    days = current_app.config["INFO_SESSION_POST_TEST_DAYS"]
    return session.ends_at + timedelta(days=days)


def cohort_details(session: InfoSession) -> cohorts.CohortDetails:
    """The cohort as the session describes it: code and title, term, dates, language."""
    with force_locale(session.language):
        term = term_of(session.starts_at).label
    return cohorts.CohortDetails(
        course_code=f"INFO-{session.id}",
        course_title=session.title_in(session.language)[: cohorts.TEXT_LIMITS["course_title"]],
        term=term[: cohorts.TEXT_LIMITS["term"]],
        starts_on=to_library_time(session.starts_at).date(),
        ends_on=to_library_time(post_test_closes(session)).date(),
        language=session.language,
    )


def _settings(
    session: InfoSession, assignment: Assignment | None, now: datetime
) -> cohorts.AssignmentSettings:
    """Open from the registration's opening (or now), closed some days after the session; the
    post-test is not held back until the lessons are read: the session takes their place."""
    opens = session.registration_opens_at or (assignment.opens_at if assignment else now)
    kept: dict[str, Any] = {}
    if assignment is not None:
        kept = {
            "attempts_allowed": assignment.attempts_allowed,
            "time_limit_minutes": assignment.time_limit_minutes,
            "counting": assignment.counting,
            "feedback_policy": assignment.feedback_policy,
        }
    return cohorts.AssignmentSettings(
        opens_at=min(opens, session.starts_at),
        closes_at=post_test_closes(session),
        pre_required=False,
        post_after_lessons=False,
        **kept,
    )


def sync_session_quiz(
    session: InfoSession, actor: User | None, now: datetime | None = None
) -> None:
    """Bring the session's cohort and assignment in line with the session, after it is saved."""
    now = now or utcnow()
    cohort = quiz_cohort(session)
    if session.quiz_module_id is None:
        if cohort is not None:
            _take_out_unstarted(cohort, keep=None)
        return
    if cohort is None:
        cohort = cohorts.create_linked_cohort(cohort_details(session), actor)
        session.quiz_cohort_id = cohort.id
    else:
        cohorts.update_cohort(cohort, cohort_details(session))
    staff = list(session.presenters) or ([actor] if actor is not None else [])
    if staff:
        cohorts.set_librarians(cohort, staff)
    assignment = _assignment_of(cohort.id, session.quiz_module_id)
    settings = _settings(session, assignment, now)
    if assignment is None:
        assignment = _assign(cohort, session.quiz_module_id, settings)
    else:
        cohorts.update_assignment(assignment, settings)
    cohorts.set_phase_windows(
        assignment, {Phase.PRE: (None, session.starts_at), Phase.POST: (session.ends_at, None)}
    )
    _take_out_unstarted(cohort, keep=assignment)


def _assign(cohort: Cohort, module_id: int, settings: cohorts.AssignmentSettings) -> Assignment:
    module = db.session.get(Module, module_id)
    if module is None:
        raise DomainError(_("Choose one of the modules offered."), field="quiz_module")
    try:
        return cohorts.assign_module(
            cohort,
            module,
            opens_at=settings.opens_at,
            closes_at=settings.closes_at,
            pre_required=settings.pre_required,
            post_after_lessons=settings.post_after_lessons,
        )
    except DomainError as error:
        raise DomainError(error.message, field="quiz_module") from error


def _take_out_unstarted(cohort: Cohort, keep: Assignment | None) -> None:
    for assignment in list(
        db.session.scalars(select(Assignment).where(Assignment.cohort_id == cohort.id))
    ):
        if keep is None or assignment.id != keep.id:
            cohorts.remove_unstarted_assignment(assignment)


def close_tests(session: InfoSession, now: datetime) -> None:
    """A cancelled session's tests: the module no one has begun is taken out, a begun one closes
    now (an attempt still open is then submitted with its saved answers, see close-overdue)."""
    cohort = quiz_cohort(session)
    if cohort is None:
        return
    _take_out_unstarted(cohort, keep=None)
    for assignment in session_assignments(session):
        assignment.closes_at = max(now, assignment.opens_at + timedelta(seconds=1))
    db.session.flush()


# --- Taking the tests -----------------------------------------------------------------------


def _registration_of(session_id: int, user: User) -> Registration | None:
    return db.session.scalar(
        select(Registration).where(
            Registration.session_id == session_id, Registration.user_id == user.id
        )
    )


def participant_problem(session: InfoSession, registration: Registration | None) -> str | None:
    """Why the holder of ``registration`` may not take the session's tests (None: they may)."""
    if session.is_cancelled:
        return _("This session has been cancelled.")
    if registration is None or registration.status is RegistrationStatus.CANCELLED:
        return _("The pre-test and post-test are for people registered for this session.")
    if registration.status is RegistrationStatus.WAITLISTED:
        return _("You are on the waitlist: the pre-test and post-test are for people with a place.")
    if registration.status not in MAY_TAKE:
        return _(
            "The roster records that you did not come to this session, so its tests are not open "
            "to you. If this is wrong, please contact the library."
        )
    return None


def phase_now(session: InfoSession, now: datetime) -> Phase:
    """The test of the moment: the pre-test until the session starts, then the post-test."""
    return Phase.PRE if now < session.starts_at else Phase.POST


def _window_problem(assignment: Assignment, phase: Phase, now: datetime) -> str | None:
    """The quiz engine's own rules for opening a test now (its dates, the phase's window)."""
    if not assignment.module.published:
        return _("This module is not available yet.")
    quiz = delivery.quiz_of(assignment, phase)
    for check in (
        lambda: delivery.check_window(assignment, now),
        lambda: delivery.check_quiz_window(quiz, now),
    ):
        try:
            check()
        except DomainError as error:
            return error.message
    return None


def test_problem(
    session: InfoSession,
    assignment: Assignment,
    registration: Registration | None,
    phase: Phase,
    now: datetime,
) -> str | None:
    """Why the holder of ``registration`` cannot open the test ``phase`` now (None: they can)."""
    return participant_problem(session, registration) or _window_problem(assignment, phase, now)


def take_test(
    session: InfoSession, user: User, phase: Phase, now: datetime | None = None
) -> Assignment:
    """Let a participant with a place open the pre-test (before the session) or the post-test
    (after it): they join the session's cohort as a student, once however often they ask.
    Returns the assignment whose quiz page they go to."""
    now = now or utcnow()
    # Who may take the tests first: a cancelled session's tests are already taken out.
    problem = participant_problem(session, _registration_of(session.id, user))
    if problem is not None:
        raise DomainError(problem)
    assignment = current_assignment(session)
    if assignment is None:
        raise NotFound(_("This session has no pre-test or post-test."))
    problem = _window_problem(assignment, phase, now)
    if problem is not None:
        raise DomainError(problem)
    cohorts.enrol_student(assignment.cohort, user)
    db.session.flush()
    return assignment


def claim_guest_registration(registration: Registration, user: User) -> Registration:
    """Give a guest's registration to the account with the same address, so that its holder can
    take the tests; the guest's link (proof of the address) is what lets them ask."""
    if not registration.is_guest:
        if registration.user_id != user.id:
            raise NotFound(_("This link does not lead to a registration. Please check it."))
        return registration
    if normalise_email(user.email) != registration.guest_email:
        raise DomainError(
            _(
                "Log in with the account under %(email)s, the address you registered with, to "
                "take the tests.",
                email=registration.guest_email,
            )
        )
    if _registration_of(registration.session_id, user) is not None:
        raise Conflict(
            _(
                "Your account has its own registration for this session: take the tests from the "
                "session's page."
            )
        )
    registration.user_id = user.id
    registration.guest_email = None
    registration.locale = None
    try:
        db.session.flush()
    except IntegrityError as error:  # the account registered at the same moment
        raise Conflict(
            _(
                "Your account has its own registration for this session: take the tests from the "
                "session's page."
            )
        ) from error
    return registration


def take_test_with_link(registration: Registration, user: User, phase: Phase) -> Assignment:
    """A guest, logged in and come back through their link, takes a test with their account."""
    claim_guest_registration(registration, user)
    return take_test(registration.session, user, phase)


# --- What the session page shows ------------------------------------------------------------


@dataclass(frozen=True)
class SessionTests:
    """A session's tests as the person looking at its page sees them."""

    title: str  #: the module's title
    assignment: Assignment
    phase: Phase  #: the test of the moment
    pre: progress.QuizStatus | None  #: the person's standing, once they have joined
    post: progress.QuizStatus | None
    problem: str | None  #: why the person cannot take the test of the moment
    can_take: bool

    @property
    def current(self) -> progress.QuizStatus | None:
        return self.pre if self.phase is Phase.PRE else self.post

    @property
    def in_progress(self) -> bool:
        return self.current is not None and self.current.open_attempt is not None


def module_title(assignment: Assignment, lang: str) -> str:
    version = assignment.module_version
    return version.text(version.title, progress.content_language(version, lang))


def tests_for(
    session: InfoSession, user: User | None, lang: str, now: datetime
) -> SessionTests | None:
    """What the session page says about its tests to ``user`` (None: signed out)."""
    assignment = current_assignment(session)
    if assignment is None:
        return None
    phase = phase_now(session, now)
    statuses: dict[Phase, progress.QuizStatus] = {}
    problem: str | None = None
    if user is not None:
        member = cohorts.membership(assignment.cohort, user)
        if member is not None and member.role == MemberRole.STUDENT:
            statuses = {p: progress.quiz_status(assignment, member, user, p, now) for p in Phase}
        problem = participant_problem(session, _registration_of(session.id, user))
    can_take = False
    if user is not None and problem is None:
        problem, can_take = _current_problem(assignment, statuses.get(phase), phase, now)
    return SessionTests(
        title=module_title(assignment, lang),
        assignment=assignment,
        phase=phase,
        pre=statuses.get(Phase.PRE),
        post=statuses.get(Phase.POST),
        problem=problem,
        can_take=can_take,
    )


def _current_problem(
    assignment: Assignment, status: progress.QuizStatus | None, phase: Phase, now: datetime
) -> tuple[str | None, bool]:
    if status is None:
        problem = _window_problem(assignment, phase, now)
        return problem, problem is None
    if status.open_attempt is not None and status.locked is None:
        return None, True
    if status.state == "submitted" and not status.left:
        return None, False  # done: the page shows the result instead of a reason
    return status.locked, status.locked is None


def report_assignments(session: InfoSession, user: User) -> list[Assignment]:
    """The assignments whose reports ``user`` may open (the presenters', and admins')."""
    cohort = quiz_cohort(session)
    if cohort is None or not cohorts.can_view_cohort(user, cohort):
        return []
    return session_assignments(session)
