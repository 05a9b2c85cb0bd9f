"""Taking quizzes: starting, saving answers, submitting and closing attempts; lesson progress.

Every rule that protects a student's work lives here, so that the web page, the JSON API, the
LTI launch and the background job enforce the same thing: one open attempt per quiz, saves
ordered by sequence number, submission exactly once.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import ReturningInsert, Update

from ilms.accounts import services as accounts
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
from ilms.questions.types import InvalidAnswer, get_type, is_number
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


def check_quiz_window(quiz: Quiz, now: datetime) -> None:
    """The phase's own window, where it has one (an info session's tests)."""
    if quiz.opens_at is not None and now < quiz.opens_at:
        when = format_datetime(quiz.opens_at)
        raise DomainError(
            _("The pre-test opens on %(when)s.", when=when)
            if quiz.phase == Phase.PRE
            else _("The post-test opens on %(when)s.", when=when)
        )
    if quiz.closes_at is not None and now > quiz.closes_at:
        when = format_datetime(quiz.closes_at)
        raise DomainError(
            _("The pre-test closed on %(when)s.", when=when)
            if quiz.phase == Phase.PRE
            else _("The post-test closed on %(when)s.", when=when)
        )


def quiz_closes_at(quiz: Quiz) -> datetime:
    """When the quiz closes: the assignment's close date, or the phase's own if earlier."""
    closes = quiz.assignment.closes_at
    return closes if quiz.closes_at is None else min(closes, quiz.closes_at)


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
    return begin_attempt(quiz, user, language, now)[0]


def begin_attempt(
    quiz: Quiz, user: User, language: str, now: datetime | None = None
) -> tuple[Attempt, bool]:
    """As :func:`start_attempt`, and whether this call started the attempt."""
    now = now or utcnow()
    assignment = quiz.assignment
    member = student_membership(assignment, user)
    # Counted before looking for the open attempt: under READ COMMITTED a parallel start that
    # commits in between is then either found open below or not yet counted here, never counted
    # as a used attempt without being found.
    used = _attempts_used(quiz, user)
    current = open_attempt(quiz, user)
    if current is not None and not is_overdue(current, now):
        return current, False
    if current is not None:
        finish_attempt(current, closed=True)
    check_window(assignment, now)
    check_quiz_window(quiz, now)
    check_gates(assignment, quiz.phase, user)
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
        return existing, False
    return attempt, True


def _attempts_used(quiz: Quiz, user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.quiz_id == quiz.id, Attempt.user_id == user.id)
        )
        or 0
    )


#: Types whose authored order is the key (ordering) or pairs it with the items (matching): the
#: order this attempt shows is always shuffled, and never left as authored.
_KEY_REVEALING_ORDER = ("matching", "ordering")


def shown_order(question: QuestionVersion) -> list[str] | None:
    """This attempt's order of a question's options, or None where the authored order is shown."""
    ids = get_type(question.type).option_ids(question.data) if _has_options(question) else []
    if question.type in _KEY_REVEALING_ORDER:
        order = _shuffle.sample(ids, len(ids))
        while len(ids) > 1 and order == ids:
            order = _shuffle.sample(ids, len(ids))
        return order
    if ids and question.data.get("shuffle", True):
        return _shuffle.sample(ids, len(ids))
    return None


def _has_options(question: QuestionVersion) -> bool:
    return question.type in ("single_choice", "multiple_response", *_KEY_REVEALING_ORDER)


def _new_attempt(
    quiz: Quiz, user: User, member: CohortMember, language: str, number: int, now: datetime
) -> Attempt:
    assignment = quiz.assignment
    version = assignment.module_version
    allocation = allocate_forms(assignment, user)
    form = allocation.pre_form if quiz.phase == Phase.PRE else allocation.post_form
    questions = form_question_versions(version, form, seed=str(assignment.id))
    _shuffle.shuffle(questions)
    option_orders = {
        str(qv.id): order for qv in questions if (order := shown_order(qv)) is not None
    }
    expires_at = None
    if assignment.time_limit_minutes:
        limit = timedelta(minutes=assignment.time_limit_minutes * member.time_multiplier)
        expires_at = min(now + limit, quiz_closes_at(quiz))
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
        responses=[],  # known to be empty: reading them back would cost a query
    )


def deadline(attempt: Attempt) -> datetime:
    closes = quiz_closes_at(attempt.quiz)
    return min(attempt.expires_at, closes) if attempt.expires_at else closes


def is_overdue(attempt: Attempt, now: datetime) -> bool:
    return attempt.is_open and now > deadline(attempt) + DEADLINE_GRACE


def attempt_for(user: User, attempt_id: int, lock: bool = False) -> Attempt:
    """The caller's own attempt; anyone else's is reported as not found."""
    attempt = db.session.scalar(_attempt_query(lock), {"attempt": attempt_id, "owner": user.id})
    if attempt is None:
        raise NotFound(_("There is no such attempt."))
    return attempt


@functools.cache
def _attempt_query(lock: bool) -> Select[tuple[Attempt]]:
    """A person's attempt with its quiz and assignment, which give the deadline that every save
    and submit needs; with ``lock``, the attempt's row alone is locked. Built once: a class saves
    thousands of answers, and SQLAlchemy then need not work out the query's cache key each time.
    """
    query = (
        select(Attempt)
        .where(Attempt.id == bindparam("attempt"), Attempt.user_id == bindparam("owner"))
        .options(
            joinedload(Attempt.quiz, innerjoin=True).joinedload(Quiz.assignment, innerjoin=True)
        )
    )
    return query.with_for_update(of=Attempt) if lock else query


def save_answer(
    attempt: Attempt, question_version_id: int, raw: Any, seq: int, now: datetime | None = None
) -> SavedAnswer:
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


class SavedAnswer(NamedTuple):
    """What the browser is told about a stored answer."""

    id: int
    seq: int
    saved_at: datetime


def _store(
    attempt: Attempt, question: QuestionVersion, answer: Any, seq: int, now: datetime
) -> SavedAnswer:
    """Insert or update the answer in one statement, unless a newer one (higher seq) is saved.

    One statement, so that parallel saves of the same answer need no retry and the write lock
    of a class saving at once is held as briefly as possible; a Core statement returning three
    columns, as a class saves thousands of answers and the browser needs no more.
    """
    stored = db.session.execute(
        _upsert_answer(db.session.get_bind().dialect.name),
        {
            "attempt_id": attempt.id,
            "question_version_id": question.id,
            "answer": answer,
            "seq": seq,
            "saved_at": now,
            "max_points": question.points,
            "details": {},
        },
    ).one_or_none()
    if stored is None:
        raise Conflict(_("A newer answer to this question has already been saved."))
    _forget_loaded_responses(attempt.id)
    return SavedAnswer(*stored)


@functools.cache
def _upsert_answer(dialect: str) -> ReturningInsert[tuple[int, int, datetime]]:
    """The upsert of an answer, built once per database dialect; the values come as parameters."""
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = Response.__table__
    statement = upsert(table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c.attempt_id, table.c.question_version_id],
        set_={"answer": excluded.answer, "seq": excluded.seq, "saved_at": excluded.saved_at},
        where=table.c.seq < excluded.seq,
    ).returning(table.c.id, table.c.seq, table.c.saved_at)


def _forget_loaded_responses(attempt_id: int) -> None:
    """Expire the attempt's answers this session holds: a Core statement has just changed them."""
    for key, instance in list(db.session.identity_map.items()):
        if key[0] is Response and instance.attempt_id == attempt_id:
            db.session.expire(instance)


def submit_attempt(attempt: Attempt, advance: Grades | None = None) -> Attempt:
    """Grade and submit; a repeated submit returns the same result (idempotent).

    ``advance`` are grades worked out before the submit's write transaction began
    (:func:`grades_in_advance`); they are used if no answer changed since.
    """
    if not attempt.is_open:
        return attempt
    return finish_attempt(attempt, closed=is_overdue(attempt, utcnow()), advance=advance)


def finish_attempt(attempt: Attempt, closed: bool, advance: Grades | None = None) -> Attempt:
    """Grade the saved answers and end the attempt; overdue ones end at their deadline."""
    finished = deadline(attempt) if closed else utcnow()
    state = AttemptState.CLOSED if closed else AttemptState.SUBMITTED
    # Claimed first: from here on no save to the attempt is accepted, so the grades below are
    # those of every answer saved before the end.
    claimed = db.session.execute(
        _end_open_attempt(), {"attempt_id": attempt.id, "new_state": state, "ended_at": finished}
    ).rowcount
    if not claimed:
        db.session.refresh(attempt)
        return attempt  # another request submitted it first
    # This request ended the attempt: what the UPDATE wrote is now the attempt's own state.
    set_committed_value(attempt, "state", state)
    set_committed_value(attempt, "submitted_at", finished)
    _grade(attempt, advance)
    _score_changed(attempt, regraded=False)
    return attempt


def _score_changed(attempt: Attempt, regraded: bool) -> None:
    """Tell those who keep the attempt's score: its report, and a linked LMS gradebook."""
    mark_report_stale(attempt.quiz.assignment_id)
    db.session.flush()
    from ilms.lti import grades  # the LMS gradebook, for linked post-tests

    (grades.attempt_regraded if regraded else grades.attempt_finished)(attempt)


# A class submits at the same moment: the statements that end and grade an attempt are built
# once, write table rows without ORM objects, and take their values as parameters.


@functools.cache
def _end_open_attempt() -> Update:
    table = Attempt.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("attempt_id"), table.c.state == AttemptState.OPEN)
        .values(state=bindparam("new_state"), submitted_at=bindparam("ended_at"))
    )


@functools.cache
def _set_attempt_score() -> Update:
    table = Attempt.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("attempt_id"))
        .values(score=bindparam("new_score"), fully_graded=bindparam("graded"))
    )


@functools.cache
def _set_response_points() -> Update:
    table = Response.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("response_id"))
        .values(points=bindparam("new_points"), details=bindparam("new_details"))
    )


class Grades(NamedTuple):
    """An attempt's grades as worked out from its saved answers, ready to be written."""

    graded: frozenset[tuple[int, int]]  #: the (id, seq) of each saved answer graded
    updates: list[dict[str, Any]]  #: points and details of the saved answers
    unanswered: list[dict[str, Any]]  #: empty answers to insert for questions left out
    score: float
    fully_graded: bool


def grades_in_advance(user: User, attempt_id: int) -> Grades | None:
    """The grades of the caller's open attempt, worked out before its submit takes a lock.

    On SQLite one write transaction at a time holds the whole database, and a class submits at
    the same moment: grading first, outside it, keeps the lock for the writes alone. The submit
    checks that no answer changed in between, and grades again if one did.
    """
    attempt = attempt_for(user, attempt_id)
    grades = _work_out_grades(attempt) if attempt.is_open else None
    db.session.expire(attempt)  # read again, as it is then, by the submit itself
    return grades


def _grade(attempt: Attempt, advance: Grades | None = None) -> None:
    """Grade every question of the attempt from its saved answers, and write the grades.

    ``advance`` grades are written as they are only if the attempt's saved answers are still
    those they were worked out from. The points go back with one UPDATE executed for all the
    answers, and questions left unanswered are inserted as empty answers in one INSERT: no ORM
    object per answer, as a class submits at the same moment.
    """
    grades = advance
    if grades is None or grades.graded != _saved_versions(attempt.id):
        grades = _work_out_grades(attempt)
    if grades.updates:
        db.session.execute(_set_response_points(), grades.updates)
    if grades.unanswered:
        db.session.execute(insert(Response.__table__), grades.unanswered)
    _forget_loaded_responses(attempt.id)
    db.session.execute(
        _set_attempt_score(),
        {"attempt_id": attempt.id, "new_score": grades.score, "graded": grades.fully_graded},
    )
    set_committed_value(attempt, "score", grades.score)
    set_committed_value(attempt, "fully_graded", grades.fully_graded)


def _saved_versions(attempt_id: int) -> frozenset[tuple[int, int]]:
    """Which answer of each question is saved: a newer save always has a higher ``seq``."""
    responses = Response.__table__.c
    query = select(responses.id, responses.seq).where(responses.attempt_id == attempt_id)
    return frozenset((row.id, row.seq) for row in db.session.execute(query))


def _work_out_grades(attempt: Attempt) -> Grades:
    """The grades of the attempt's saved answers (read as rows), nothing written yet."""
    responses = Response.__table__.c
    saved = {
        row.question_version_id: row
        for row in db.session.execute(
            select(
                responses.id, responses.question_version_id, responses.answer, responses.seq
            ).where(responses.attempt_id == attempt.id)
        )
    }
    versions = QuestionVersion.__table__.c
    questions = {
        row.id: row
        for row in db.session.execute(
            select(versions.id, versions.type, versions.data, versions.points).where(
                versions.id.in_(attempt.question_order)
            )
        )
    }
    updates: list[dict[str, Any]] = []
    unanswered: list[dict[str, Any]] = []
    total, pending = 0.0, False
    for qv_id in attempt.question_order:
        question, response = questions[qv_id], saved.get(qv_id)
        score = get_type(question.type).grade(question.data, response.answer if response else None)
        details = score_details(score)
        if response is not None:
            updates.append(
                {"response_id": response.id, "new_points": score.points, "new_details": details}
            )
        else:
            unanswered.append(
                {
                    "attempt_id": attempt.id,
                    "question_version_id": qv_id,
                    "answer": None,
                    "seq": 0,
                    "max_points": question.points,
                    "points": score.points,
                    "details": details,
                }
            )
        pending = pending or score.points is None
        total += score.points or 0.0
    return Grades(
        graded=frozenset((r.id, r.seq) for r in saved.values()),
        updates=updates,
        unanswered=unanswered,
        score=min(total, attempt.max_score),
        fully_graded=not pending,
    )


#: The longest comment a grader may leave on an answer.
COMMENT_LIMIT = 4000


def grade_response(
    response: Response, points: float, grader: User, feedback: str | None = None
) -> Response:
    """A person's points for an answer that waits for one (an open response), or a correction.

    The attempt's score and ``fully_graded`` are recomputed from all its responses, the report is
    marked out of date and a linked LMS gradebook gets the corrected score.
    """
    # Locked, so that two people grading answers of the same attempt at once both count.
    attempt = db.session.scalar(
        select(Attempt)
        .where(Attempt.id == response.attempt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert attempt is not None
    if attempt.is_open:
        raise Conflict(_("The student has not submitted this attempt yet; grade it afterwards."))
    if get_type(response.question_version.type).auto_graded:
        raise DomainError(_("This answer is graded automatically and cannot be graded by hand."))
    maximum = response.max_points
    if not is_number(points) or not 0 <= points <= maximum:
        raise DomainError(
            _("Give from 0 to %(max)s points.", max=format_decimal(maximum)), field="points"
        )
    comment = (feedback or "").strip()
    if len(comment) > COMMENT_LIMIT:
        raise DomainError(
            _("Keep the comment under %(limit)d characters.", limit=COMMENT_LIMIT),
            field="comment",
        )
    accounts.audit(
        "delivery.response_graded",
        actor=grader,
        target=attempt.user,
        response=response.id,
        points=float(points),
        previous=response.points,
    )
    response.points = float(points)
    response.graded_by_id = grader.id
    response.details = _graded_details(response.details or {}, float(points), maximum, comment)
    db.session.flush()
    _rescore(attempt)
    _score_changed(attempt, regraded=True)
    return response


def _graded_details(
    details: dict[str, Any], points: float, maximum: float, comment: str
) -> dict[str, Any]:
    key = "correct" if points == maximum else "incorrect" if points == 0 else "partial"
    graded = {name: value for name, value in details.items() if name != "comment"}
    graded.update(correct=points == maximum, feedback_key=key)
    if comment:
        graded["comment"] = comment
    return graded


def _rescore(attempt: Attempt) -> None:
    """The attempt's score and ``fully_graded`` from the points its responses hold now."""
    total, pending = db.session.execute(
        select(
            func.coalesce(func.sum(Response.points), 0.0),
            func.count(Response.id).filter(Response.points.is_(None)),
        ).where(Response.attempt_id == attempt.id)
    ).one()
    attempt.score = min(float(total), attempt.max_score)
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
            | (Quiz.closes_at < now - DEADLINE_GRACE)
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
            # The same lesson marked twice at once: once is enough.
            return
