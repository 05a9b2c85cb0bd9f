"""The student's pages: joining a course, the module path, lessons, quizzes, results, the
certificate, and lesson images. The quiz page's script talks to the JSON API (``api.py``); these
views give the same quiz to a browser without JavaScript."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ilms.authoring.models import Asset
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Assignment
from ilms.db import utcnow
from ilms.delivery import documents, presentation, progress, services
from ilms.delivery.forms import JoinForm, QuizForm
from ilms.delivery.models import Attempt, Phase
from ilms.errors import Conflict, DomainError, NotFound
from ilms.extensions import db
from ilms.permissions import Role, require_role

bp = Blueprint("learn", __name__)

PHASE = "<any(pre, post):phase>"
SHA256 = re.compile(r"[0-9a-f]{64}")
#: Lesson images are named by their content's hash, so a cached copy never goes stale.
MEDIA_CACHE = "private, max-age=31536000, immutable"
#: Below this much time left a quiz without a time limit shows a countdown to the close date.
COUNTDOWN_FROM = timedelta(hours=1)


def interface_language() -> str:
    return str(get_locale())


def load_assignment(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("This module is not part of your courses."))
    return assignment


def load_attempt(assignment_id: int, attempt_id: int, lock: bool = False) -> Attempt:
    """The student's own attempt at a quiz of this assignment (404 otherwise)."""
    attempt = services.attempt_for(current_user, attempt_id, lock=lock)
    if attempt.quiz.assignment_id != assignment_id:
        raise NotFound(_("There is no such attempt."))
    return attempt


def quiz_url(attempt: Attempt) -> str:
    return url_for(
        "learn.quiz", assignment_id=attempt.quiz.assignment_id, phase=attempt.phase.value
    )


def results_url(attempt: Attempt) -> str:
    return url_for("learn.results", assignment_id=attempt.quiz.assignment_id, attempt_id=attempt.id)


# --- The dashboard and joining a course ----------------------------------------------------------


def student_dashboard() -> dict[str, object]:
    """The context of the student's home page (``home/student.html``)."""
    return {
        "cards": progress.dashboard(current_user, interface_language(), utcnow()),
        "join_form": JoinForm(formdata=None),
    }


@bp.post("/join")
@require_role(Role.STUDENT)
def join() -> BaseResponse | tuple[str, int]:
    form = JoinForm()
    if form.validate_on_submit():
        try:
            cohort = cohorts.join_by_code(current_user, form.code.data or "")
        except DomainError as error:
            form.code.errors = [error.message]
        else:
            db.session.commit()
            flash(_("You are a student of %(course)s.", course=cohort.label), "success")
            return redirect(url_for("home.student"))
    return render_template("learn/join.html", form=form), 400


@bp.get("/join/<code>")
@require_role(Role.STUDENT)
def join_link(code: str) -> str:
    """A join link asks before joining, so that following a link never changes anything."""
    return render_template("learn/join.html", form=JoinForm(code=code.strip().upper()))


# --- The module and its lessons ------------------------------------------------------------------


@bp.get("/learn/<int:assignment_id>")
@login_required
def module(assignment_id: int) -> str:
    path = progress.module_path(
        load_assignment(assignment_id), current_user, interface_language(), utcnow()
    )
    return render_template("learn/module.html", path=path)


@bp.get("/learn/<int:assignment_id>/lessons")
@login_required
def lessons(assignment_id: int) -> BaseResponse:
    """Resume the lessons at the first one not yet read."""
    assignment = load_assignment(assignment_id)
    services.student_membership(assignment, current_user)
    key = progress.first_unread(assignment, current_user)
    if key is None:
        return redirect(url_for("learn.module", assignment_id=assignment_id))
    return redirect(url_for("learn.lesson", assignment_id=assignment_id, key=key))


@bp.get("/learn/<int:assignment_id>/lessons/<key>")
@login_required
def lesson(assignment_id: int, key: str) -> BaseResponse | str:
    assignment = load_assignment(assignment_id)
    try:
        page = progress.lesson_page(assignment, current_user, key, interface_language())
    except NotFound:
        raise
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("learn.module", assignment_id=assignment_id, _anchor="lessons"))
    return render_template("learn/lesson.html", page=page)


@bp.post("/learn/<int:assignment_id>/lessons/<key>")
@login_required
def complete_lesson(assignment_id: int, key: str) -> BaseResponse:
    """Mark the lesson as read and go on to the next one (or back to the module)."""
    assignment = load_assignment(assignment_id)
    try:
        services.complete_lesson(assignment, current_user, key)
    except NotFound:
        raise
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("learn.module", assignment_id=assignment_id, _anchor="lessons"))
    db.session.commit()
    following = progress.unread_after(assignment, current_user, key)
    if following is None:
        flash(_("You have read every lesson of this module."), "success")
        return redirect(url_for("learn.module", assignment_id=assignment_id, _anchor="post-test"))
    return redirect(url_for("learn.lesson", assignment_id=assignment_id, key=following))


# --- Quizzes -------------------------------------------------------------------------------------


@bp.get(f"/learn/<int:assignment_id>/{PHASE}")
@login_required
def quiz(assignment_id: int, phase: str) -> str:
    """The quiz's start page, or the open attempt's questions."""
    assignment = load_assignment(assignment_id)
    now = utcnow()
    status = progress.quiz_status_for(assignment, current_user, Phase(phase), now)
    attempt = status.open_attempt
    path_title = _module_title(assignment)
    if attempt is None:
        return render_template("learn/quiz_start.html", status=status, title=path_title)
    if services.is_overdue(attempt, now):
        return _confirmation(attempt, path_title, time_up=True)
    return _quiz_page(attempt, path_title, now)


def _module_title(assignment: Assignment) -> str:
    version = assignment.module_version
    return version.text(version.title, progress.content_language(version, interface_language()))


def _quiz_page(
    attempt: Attempt, title: str, now: datetime, errors: dict[int, str] | None = None
) -> str:
    return render_template(
        "learn/quiz.html",
        attempt=attempt,
        title=title,
        form=QuizForm(formdata=None),
        questions=presentation.quiz_questions(attempt, errors),
        timer=_timer(attempt, now),
        messages=quiz_messages(),
    )


def _timer(attempt: Attempt, now: datetime) -> dict[str, object] | None:
    """The countdown the page shows: for a time limit, or when the module closes within the hour."""
    deadline = services.deadline(attempt)
    if attempt.expires_at is None and deadline - now > COUNTDOWN_FROM:
        return None
    minutes = max(int((deadline - now).total_seconds() // 60) + 1, 1)
    marks = sorted({1, *range(5, minutes + 1, 5)})
    return {
        "deadline": deadline,
        "now": now,
        "announcements": {
            str(n): ngettext("%(num)d minute left.", "%(num)d minutes left.", n) for n in marks
        },
    }


def quiz_messages() -> dict[str, str]:
    """What the quiz page's script says, in the page's language."""
    return {
        "saved": _("Saved"),
        "saving": _("Saving…"),
        "queued": _("Waiting to be sent"),
        "allSaved": _("All answers saved."),
        "offline": _("Offline: your answers will be sent when the connection returns."),
        "retrying": _(
            "The server did not answer. Your answers are kept in this browser and sent again shortly."
        ),
        "session": _(
            "You have been logged out. Log in again in another tab: your answers are kept in this "
            "browser and sent when you are back."
        ),
        "submitted": _(
            "This attempt has already been submitted, so answers can no longer be changed. "
            "The answers saved before count."
        ),
        "notSaved": _("Not saved: %(message)s"),
        "incomplete": _("Give every item a different position; the answer is saved then."),
        "replaced": _("A newer answer from another window was kept."),
        "seeResults": _("See your results"),
        "timeLeft": _("Time left: %(time)s"),
        "timeUp": _("Time is up. Submitting your answers…"),
        "submitting": _("Submitting…"),
        "submitFailed": _(
            "Could not reach the server. Your answers are kept; try again when the connection "
            "returns."
        ),
        "waitForConnection": _(
            "Some answers are waiting to be sent. You can submit once the connection returns."
        ),
    }


@bp.post(f"/learn/<int:assignment_id>/{PHASE}/start")
@login_required
def start(assignment_id: int, phase: str) -> BaseResponse:
    assignment = load_assignment(assignment_id)
    quiz = services.quiz_of(assignment, Phase(phase))
    try:
        services.start_attempt(quiz, current_user, interface_language())
    except NotFound:
        raise
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
    return redirect(url_for("learn.quiz", assignment_id=assignment_id, phase=phase))


@bp.post("/learn/<int:assignment_id>/attempts/<int:attempt_id>/answers")
@login_required
def save_answers(assignment_id: int, attempt_id: int) -> BaseResponse | tuple[str, int]:
    """The quiz form without JavaScript: save every changed answer, then stay or review."""
    attempt = load_attempt(assignment_id, attempt_id, lock=True)
    form = QuizForm()
    if not attempt.is_open:
        flash(_("This attempt has been submitted; its answers can no longer be changed."), "error")
        return redirect(results_url(attempt))
    try:
        problems = presentation.save_posted_answers(attempt, request.form)
    except Conflict as error:
        db.session.commit()  # an attempt closed because its time ran out stays closed
        flash(error.message, "error")
        return redirect(results_url(attempt))
    db.session.commit()
    if problems:
        title = _module_title(attempt.quiz.assignment)
        return _quiz_page(attempt, title, utcnow(), problems), 400
    if form.review.data:
        return redirect(_submit_url(attempt))
    flash(_("Your answers are saved."), "success")
    return redirect(quiz_url(attempt))


def _submit_url(attempt: Attempt) -> str:
    return url_for(
        "learn.confirm_submit", assignment_id=attempt.quiz.assignment_id, attempt_id=attempt.id
    )


@bp.get("/learn/<int:assignment_id>/attempts/<int:attempt_id>/submit")
@login_required
def confirm_submit(assignment_id: int, attempt_id: int) -> BaseResponse | str:
    attempt = load_attempt(assignment_id, attempt_id)
    if not attempt.is_open:
        return redirect(results_url(attempt))
    time_up = services.is_overdue(attempt, utcnow())
    return _confirmation(attempt, _module_title(attempt.quiz.assignment), time_up=time_up)


def _confirmation(attempt: Attempt, title: str, time_up: bool) -> str:
    answered, missing = presentation.answered_count(attempt)
    return render_template(
        "learn/confirm.html",
        attempt=attempt,
        title=title,
        answered=answered,
        missing=missing,
        total=len(attempt.question_order),
        time_up=time_up,
        timer=None if time_up else _timer(attempt, utcnow()),
        messages=quiz_messages(),
    )


@bp.post("/learn/<int:assignment_id>/attempts/<int:attempt_id>/submit")
@login_required
def submit(assignment_id: int, attempt_id: int) -> BaseResponse:
    """Submit without JavaScript; a repeated submit (a double click) changes nothing."""
    attempt = load_attempt(assignment_id, attempt_id, lock=True)
    was_open = attempt.is_open
    services.submit_attempt(attempt)
    db.session.commit()
    if was_open:
        flash(_("Your answers have been submitted."), "success")
    return redirect(results_url(attempt))


@bp.get("/learn/<int:assignment_id>/attempts/<int:attempt_id>")
@login_required
def results(assignment_id: int, attempt_id: int) -> BaseResponse | str:
    attempt = load_attempt(assignment_id, attempt_id)
    if attempt.is_open:
        return redirect(quiz_url(attempt))
    assignment = attempt.quiz.assignment
    path = progress.module_path(assignment, current_user, interface_language(), utcnow())
    return render_template(
        "learn/results.html",
        path=path,
        result=presentation.attempt_result(attempt, utcnow()),
    )


# --- Certificate and lesson images ---------------------------------------------------------------


@bp.get("/learn/<int:assignment_id>/certificate.pdf")
@login_required
def certificate(assignment_id: int) -> Response:
    assignment = load_assignment(assignment_id)
    pdf = documents.certificate_pdf(assignment, current_user, interface_language())
    response = Response(pdf, mimetype="application/pdf")
    filename = f"certificate-{assignment.module.slug}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/media/<sha256>")
@login_required
def media(sha256: str) -> Response:
    """A lesson image, by the SHA-256 of its content."""
    if not SHA256.fullmatch(sha256):
        abort(404)
    asset = db.session.scalar(select(Asset).where(Asset.sha256 == sha256))
    if asset is None:
        abort(404)
    response = Response(asset.data, mimetype=asset.content_type)
    response.headers["Cache-Control"] = MEDIA_CACHE
    response.set_etag(asset.sha256)
    return response.make_conditional(request)
