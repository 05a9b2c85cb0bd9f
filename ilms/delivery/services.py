"""Taking quizzes: starting, saving answers, submitting and closing attempts; lesson progress.

Every rule that protects a student's work lives here, so that the web page, the JSON API, the
LTI launch and the background job enforce the same thing: one open attempt per quiz, saves
ordered by sequence number, submission exactly once.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ilms.accounts.models import User
from ilms.authoring import package as pkg
from ilms.authoring.models import ModuleVersion, QuestionVersion
from ilms.cohorts.models import Assignment, AttemptCounting, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.delivery.models import (
    Attempt,
    AttemptState,
    FormAllocation,
    LessonProgress,
    Phase,
    Quiz,
    Response,
)
from ilms.errors import Conflict, DomainError, NotFound
from ilms.extensions import db
from ilms.questions.types import InvalidAnswer, get_type
from ilms.reports.freshness import mark_stale as mark_report_stale

#: Saves arriving this long after the deadline still count (network latency, a slow phone).
DEADLINE_GRACE = timedelta(seconds=15)
_shuffle = random.SystemRandom()


# --- Membership and availability ------------------------------------------------------------


def student_membership(assignment: Assignment, user: User) -> CohortMember:
    member = db.session.get(CohortMember, (assignment.cohort_id, user.id))
    if member is None or member.role != MemberRole.STUDENT:
        raise NotFound(_("This quiz is not part of your courses."))
    if not assignment.module.published:
        raise NotFound(_("This module is not available yet."))
    return member


def check_window(assignment: Assignment, now: datetime) -> None:
    if now < assignment.opens_at:
        raise DomainError(
            _("This module opens on %(when)s.", when=format_datetime(assignment.opens_at))
        )
    if now > assignment.closes_at:
        raise DomainError(
            _("This module closed on %(when)s.", when=format_datetime(assignment.closes_at))
        )


def submitted_attempts(quiz_id: int, user_id: int) -> list[Attempt]:
    return list(
        db.session.scalars(
            select(Attempt)
            .where(
                Attempt.quiz_id == quiz_id,
                Attempt.user_id == user_id,
                Attempt.state != AttemptState.OPEN,
            )
            .order_by(Attempt.number)
        )
    )


def quiz_of(assignment: Assignment, phase: Phase) -> Quiz:
    quiz = db.session.scalar(
        select(Quiz).where(Quiz.assignment_id == assignment.id, Quiz.phase == phase)
    )
    if quiz is None:
        raise NotFound(_("This module has no %(phase)s.", phase=phase_label(phase)))
    return quiz


def phase_label(phase: Phase) -> str:
    return _("pre-test") if phase == Phase.PRE else _("post-test")


def lessons_done(assignment: Assignment, user: User) -> bool:
    keys = {lesson.key for lesson in assignment.module_version.lessons}
    done = set(
        db.session.scalars(
            select(LessonProgress.lesson_key).where(
                LessonProgress.assignment_id == assignment.id, LessonProgress.user_id == user.id
            )
        )
    )
    return keys <= done


def check_gates(assignment: Assignment, phase: Phase, user: User) -> None:
    """The order of the module: pre-test, then lessons, then post-test, as the cohort set it."""
    if phase != Phase.POST:
        return
    if assignment.pre_required and not submitted_attempts(
        quiz_of(assignment, Phase.PRE).id, user.id
    ):
        raise DomainError(_("Take the pre-test first."))
    if assignment.post_after_lessons and not lessons_done(assignment, user):
        raise DomainError(
            _("Finish the lessons first; the post-test opens when you have read them all.")
        )


def check_lessons_open(assignment: Assignment, user: User) -> None:
    if assignment.pre_required and not submitted_attempts(
        quiz_of(assignment, Phase.PRE).id, user.id
    ):
        raise DomainError(_("Take the pre-test first; the lessons open after it."))


# --- Forms ----------------------------------------------------------------------------------


def allocate_forms(assignment: Assignment, user: User) -> FormAllocation:
    """The student's pre and post forms; with parallel forms, half the cohort gets them reversed."""
    existing = db.session.scalar(
        select(FormAllocation).where(
            FormAllocation.assignment_id == assignment.id, FormAllocation.user_id == user.id
        )
    )
    if existing is not None:
        return existing
    tests = assignment.module_version.tests
    pre, post = tests["pre"], tests["post"]
    if pre != post:
        standard = db.session.scalar(
            select(func.count())
            .select_from(FormAllocation)
            .where(FormAllocation.assignment_id == assignment.id, FormAllocation.pre_form == pre)
        )
        total = db.session.scalar(
            select(func.count())
            .select_from(FormAllocation)
            .where(FormAllocation.assignment_id == assignment.id)
        )
        if standard > total - standard:
            pre, post = post, pre
    allocation = FormAllocation(
        assignment_id=assignment.id, user_id=user.id, pre_form=pre, post_form=post
    )
    try:
        with db.session.begin_nested():
            db.session.add(allocation)
    except IntegrityError:
        return db.session.scalar(
            select(FormAllocation).where(
                FormAllocation.assignment_id == assignment.id, FormAllocation.user_id == user.id
            )
        )
    return allocation


def form_question_versions(
    version: ModuleVersion, form_id: str, seed: str
) -> list[QuestionVersion]:
    by_key = {qv.data["id"]: qv for qv in version.question_versions}
    package = pkg.ModulePackage(
        slug=version.module.slug,
        version=version.package_version,
        languages=tuple(version.languages),
        audience=version.audience,
        estimated_minutes=version.estimated_minutes,
        title=version.title,
        summary=version.summary,
        outcomes=[pkg.Outcome(o["id"], o["frame"], o["text"]) for o in version.outcomes],
        lessons=[],
        questions=[qv.data for qv in version.question_versions],
        forms={
            fid: pkg.Form(
                id=fid,
                items=tuple(t.get("items", ())),
                per_outcome=t.get("per_outcome"),
                exclude_form=t.get("exclude_form"),
            )
            for fid, t in version.forms.items()
        },
        tests=dict(version.tests),
    )
    return [by_key[key] for key in pkg.resolve_form(package, form_id, seed)]


# --- Attempts -------------------------------------------------------------------------------


def open_attempt(quiz: Quiz, user: User) -> Attempt | None:
    return db.session.scalar(
        select(Attempt).where(
            Attempt.quiz_id == quiz.id,
            Attempt.user_id == user.id,
            Attempt.state == AttemptState.OPEN,
        )
    )


def start_attempt(quiz: Quiz, user: User, language: str, now: datetime | None = None) -> Attempt:
    """The student's open attempt at ``quiz``, started now if there is none (idempotent)."""
    now = now or utcnow()
    assignment = quiz.assignment
    member = student_membership(assignment, user)
    current = open_attempt(quiz, user)
    if current is not None and not is_overdue(current, now):
        return current
    if current is not None:
        finish_attempt(current, closed=True)
    check_window(assignment, now)
    check_gates(assignment, quiz.phase, user)
    used = (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.quiz_id == quiz.id, Attempt.user_id == user.id)
        )
        or 0
    )
    allowed = assignment.attempts_allowed + member.extra_attempts
    if used >= allowed:
        raise DomainError(
            _("You have used all your attempts at this %(phase)s.", phase=phase_label(quiz.phase))
        )
    attempt = _new_attempt(quiz, user, member, language, used + 1, now)
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        # Another request started it at the same moment: that one is the student's attempt.
        existing = open_attempt(quiz, user)
        if existing is None:
            raise
        return existing
    return attempt


def _new_attempt(
    quiz: Quiz, user: User, member: CohortMember, language: str, number: int, now: datetime
) -> Attempt:
    assignment = quiz.assignment
    version = assignment.module_version
    allocation = allocate_forms(assignment, user)
    form = allocation.pre_form if quiz.phase == Phase.PRE else allocation.post_form
    questions = form_question_versions(version, form, seed=str(assignment.id))
    _shuffle.shuffle(questions)
    option_orders = {}
    for qv in questions:
        qtype = get_type(qv.type)
        ids = qtype.option_ids(qv.data) if qv.type in ("single_choice", "multiple_response") else []
        if ids and qv.data.get("shuffle", True):
            option_orders[str(qv.id)] = _shuffle.sample(ids, len(ids))
    expires_at = None
    if assignment.time_limit_minutes:
        limit = timedelta(minutes=assignment.time_limit_minutes * member.time_multiplier)
        expires_at = min(now + limit, assignment.closes_at)
    language = language if language in version.languages else "en"
    return Attempt(
        quiz_id=quiz.id,
        user_id=user.id,
        number=number,
        phase=quiz.phase,
        state=AttemptState.OPEN,
        module_version_id=version.id,
        form=form,
        language=language,
        question_order=[qv.id for qv in questions],
        option_orders=option_orders,
        started_at=now,
        expires_at=expires_at,
        max_score=sum(qv.points for qv in questions),
    )


def deadline(attempt: Attempt) -> datetime:
    closes = attempt.quiz.assignment.closes_at
    return min(attempt.expires_at, closes) if attempt.expires_at else closes


def is_overdue(attempt: Attempt, now: datetime) -> bool:
    return attempt.is_open and now > deadline(attempt) + DEADLINE_GRACE


def attempt_for(user: User, attempt_id: int, lock: bool = False) -> Attempt:
    """The caller's own attempt; anyone else's is reported as not found."""
    query = select(Attempt).where(Attempt.id == attempt_id, Attempt.user_id == user.id)
    if lock:
        query = query.with_for_update()
    attempt = db.session.scalar(query)
    if attempt is None:
        raise NotFound(_("There is no such attempt."))
    return attempt


def save_answer(
    attempt: Attempt, question_version_id: int, raw: Any, seq: int, now: datetime | None = None
) -> Response:
    """Store an answer unless a newer one (higher ``seq``) is already saved."""
    now = now or utcnow()
    if question_version_id not in attempt.question_order:
        raise NotFound(_("This question is not part of the attempt."))
    if not attempt.is_open:
        raise Conflict(_("This attempt has been submitted; its answers can no longer be changed."))
    if is_overdue(attempt, now):
        finish_attempt(attempt, closed=True)
        raise Conflict(
            _("Time is up: the attempt was submitted with the answers saved before the deadline.")
        )
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise DomainError(_("The save carries no valid sequence number."))
    question = db.session.get(QuestionVersion, question_version_id)
    assert question is not None
    try:
        answer = get_type(question.type).normalise_answer(question.data, raw)
    except InvalidAnswer as error:
        raise DomainError(error.message) from error
    return _store(attempt, question, answer, seq, now)


def _store(
    attempt: Attempt, question: QuestionVersion, answer: Any, seq: int, now: datetime
) -> Response:
    changed = db.session.execute(
        update(Response)
        .where(
            Response.attempt_id == attempt.id,
            Response.question_version_id == question.id,
            Response.seq < seq,
        )
        .values(answer=answer, seq=seq, saved_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    existing = db.session.scalar(
        select(Response).where(
            Response.attempt_id == attempt.id, Response.question_version_id == question.id
        )
    )
    if changed:
        db.session.refresh(existing)
        return existing
    if existing is not None:
        raise Conflict(_("A newer answer to this question has already been saved."))
    response = Response(
        attempt_id=attempt.id,
        question_version_id=question.id,
        answer=answer,
        seq=seq,
        saved_at=now,
        max_points=question.points,
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        return _store(attempt, question, answer, seq, now)
    return response


def submit_attempt(attempt: Attempt) -> Attempt:
    """Grade and submit; a repeated submit returns the same result (idempotent)."""
    if not attempt.is_open:
        return attempt
    return finish_attempt(attempt, closed=is_overdue(attempt, utcnow()))


def finish_attempt(attempt: Attempt, closed: bool) -> Attempt:
    """Grade the saved answers and end the attempt; overdue ones end at their deadline."""
    claimed = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == AttemptState.OPEN)
        .values(state=AttemptState.CLOSED if closed else AttemptState.SUBMITTED)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    if not claimed:
        return attempt  # another request submitted it first
    finished = deadline(attempt) if closed else utcnow()
    attempt.submitted_at = finished
    _grade(attempt)
    mark_report_stale(attempt.quiz_id)
    db.session.flush()
    from ilms.lti.grades import attempt_finished  # the LMS gradebook, for linked post-tests

    attempt_finished(attempt)
    return attempt


def _grade(attempt: Attempt) -> None:
    responses = {
        r.question_version_id: r
        for r in db.session.scalars(select(Response).where(Response.attempt_id == attempt.id))
    }
    questions = {
        q.id: q
        for q in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.id.in_(attempt.question_order))
        )
    }
    total, pending = 0.0, False
    for qv_id in attempt.question_order:
        question = questions[qv_id]
        response = responses.get(qv_id)
        if response is None:
            response = Response(
                attempt_id=attempt.id,
                question_version_id=qv_id,
                answer=None,
                seq=0,
                max_points=question.points,
            )
            db.session.add(response)
        score = get_type(question.type).grade(question.data, response.answer)
        response.points = score.points
        response.details = score_details(score)
        pending = pending or score.points is None
        total += score.points or 0.0
    attempt.score = min(total, attempt.max_score)
    attempt.fully_graded = not pending


def score_details(score: Any) -> dict[str, Any]:
    return {
        "correct": score.correct,
        "feedback_key": score.feedback_key,
        "option_feedback": list(score.option_feedback),
        "parts": [[part_id, right] for part_id, right in score.parts],
    }


def close_overdue(now: datetime | None = None) -> int:
    """Submit every attempt whose time ran out, finishing it at its deadline."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Attempt)
        .join(Quiz)
        .join(Assignment)
        .where(Attempt.state == AttemptState.OPEN)
        .where(
            (Attempt.expires_at < now - DEADLINE_GRACE)
            | (Assignment.closes_at < now - DEADLINE_GRACE)
        )
    ).all()
    for attempt in candidates:
        finish_attempt(attempt, closed=True)
    return len(candidates)


def counted_attempt(attempts: Iterable[Attempt], counting: AttemptCounting) -> Attempt | None:
    """The attempt that counts, by the cohort's rule: first, last or best."""
    done = [a for a in attempts if not a.is_open and a.score is not None]
    if not done:
        return None
    done.sort(key=lambda a: a.number)
    if counting == AttemptCounting.FIRST:
        return done[0]
    if counting == AttemptCounting.LAST:
        return done[-1]
    return max(done, key=lambda a: (a.percent or 0.0, -a.number))


# --- Lessons --------------------------------------------------------------------------------


def complete_lesson(assignment: Assignment, user: User, lesson_key: str) -> None:
    student_membership(assignment, user)
    check_lessons_open(assignment, user)
    if lesson_key not in {lesson.key for lesson in assignment.module_version.lessons}:
        raise NotFound(_("There is no such lesson."))
    exists = db.session.scalar(
        select(LessonProgress.id).where(
            LessonProgress.assignment_id == assignment.id,
            LessonProgress.user_id == user.id,
            LessonProgress.lesson_key == lesson_key,
        )
    )
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.add(
                    LessonProgress(
                        assignment_id=assignment.id, user_id=user.id, lesson_key=lesson_key
                    )
                )
        except IntegrityError:
            pass  # the same lesson marked twice at once: once is enough
