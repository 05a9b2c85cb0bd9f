"""What a student's pages show: their modules, the path through one (pre-test, lessons, post-test),
what is locked and why, lessons in the student's language, and when results may be seen.

Nothing here writes: the views call ``services`` for that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from typing import Any
from urllib.parse import unquote

from flask import url_for
from flask_babel import format_datetime, format_percent
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.authoring.models import Lesson, ModuleVersion
from ilms.cohorts.models import Assignment, AttemptCounting, CohortMember, FeedbackPolicy
from ilms.delivery import queries, services
from ilms.delivery.models import Attempt, LessonProgress, Phase, Quiz
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.markdown import render_markdown

#: ``<img src="images/NAME">`` as a lesson's Markdown renders it (the module format's only image path).
_LESSON_IMAGE = re.compile(r'(<img\b[^>]*?\bsrc=")images/([^"/]+)(")')


# --- Small rules ---------------------------------------------------------------------------------


def content_language(version: ModuleVersion, interface: str) -> str:
    """The student's interface language if the module has it, else English."""
    return interface if interface in version.languages else "en"


def availability(assignment: Assignment, now: datetime) -> str:
    """``upcoming`` before the open date, ``closed`` after the close date, else ``open``."""
    if now < assignment.opens_at:
        return "upcoming"
    if now > assignment.closes_at:
        return "closed"
    return "open"


def results_visible(assignment: Assignment, now: datetime) -> bool:
    """Whether the cohort lets students see scores, feedback and correct answers now."""
    policy = assignment.feedback_policy
    if policy == FeedbackPolicy.AFTER_SUBMIT:
        return True
    return policy == FeedbackPolicy.AFTER_CLOSE and now >= assignment.closes_at


def results_note(assignment: Assignment, now: datetime) -> str | None:
    """Why results are not shown yet (None when they are)."""
    if results_visible(assignment, now):
        return None
    if assignment.feedback_policy == FeedbackPolicy.AFTER_CLOSE:
        return _(
            "Scores, feedback and correct answers are shown after the module closes on %(when)s.",
            when=format_datetime(assignment.closes_at, "medium"),
        )
    return _("Your instructor has chosen not to show scores or correct answers for this module.")


def counting_text(counting: AttemptCounting) -> str:
    return {
        AttemptCounting.FIRST: _("Your first attempt counts."),
        AttemptCounting.LAST: _("Your last attempt counts."),
        AttemptCounting.BEST: _("Your best attempt counts."),
    }[counting]


def percent_text(percent: float | None) -> str:
    return "" if percent is None else format_percent(percent / 100, "#,##0.#%")


def _problem(check: Callable[[], None]) -> str | None:
    """The message of the rule ``check`` enforces, or None when it passes."""
    try:
        check()
    except NotFound:
        raise
    except DomainError as error:
        return error.message
    return None


# --- The next step -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    label: str
    url: str


def next_step(assignment_id: int, overall: str, pre_state: str, post_state: str) -> Step:
    """The one thing to do next: take or continue a test, read the lessons, or see results."""
    if overall == "completed":
        return Step(_("See your results"), url_for("learn.module", assignment_id=assignment_id))
    if overall == "pre_test":
        label = (
            _("Continue the pre-test") if pre_state == "in_progress" else _("Start the pre-test")
        )
        return Step(label, url_for("learn.quiz", assignment_id=assignment_id, phase="pre"))
    if overall == "lessons":
        return Step(
            _("Continue the lessons"), url_for("learn.lessons", assignment_id=assignment_id)
        )
    label = _("Continue the post-test") if post_state == "in_progress" else _("Take the post-test")
    return Step(label, url_for("learn.quiz", assignment_id=assignment_id, phase="post"))


def overall_state(pre_state: str, post_state: str, lessons_done: bool) -> str:
    """Where the student is on the path (the same words as ``queries.student_assignments``)."""
    if post_state == "submitted":
        return "completed"
    if pre_state != "submitted":
        return "pre_test"
    return "post_test" if lessons_done else "lessons"


# --- The dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSummary:
    state: str  #: not_started | in_progress | submitted
    score: str  #: the counted attempt's score as a percentage, when the cohort shows it; else ""


@dataclass(frozen=True)
class ModuleCard:
    assignment_id: int
    title: str
    lang: str
    cohort: str
    opens_at: datetime
    closes_at: datetime
    availability: str
    pre: PhaseSummary
    lessons_done: int
    lessons_total: int
    post: PhaseSummary
    complete: bool
    next: Step


def dashboard(user: User, interface: str, now: datetime) -> list[ModuleCard]:
    """The student's assigned modules in due-date order, with progress and the next step."""
    cards = []
    for entry in queries.student_assignments(user):
        # Loaded by the query above, so this comes from the session without another query.
        assignment = db.session.get(Assignment, entry["id"])
        assert assignment is not None
        cards.append(_card(entry, assignment, interface, now))
    return cards


def _card(
    entry: dict[str, Any], assignment: Assignment, interface: str, now: datetime
) -> ModuleCard:
    version = assignment.module_version
    lang = content_language(version, interface)
    shown = results_visible(assignment, now)
    return ModuleCard(
        assignment_id=assignment.id,
        title=version.text(version.title, lang),
        lang=lang,
        cohort=entry["cohort"],
        opens_at=assignment.opens_at,
        closes_at=assignment.closes_at,
        availability=availability(assignment, now),
        pre=_summary(entry["pre"], shown),
        lessons_done=entry["lessons"]["done"],
        lessons_total=entry["lessons"]["total"],
        post=_summary(entry["post"], shown),
        complete=entry["state"] == "completed",
        next=next_step(
            assignment.id, entry["state"], entry["pre"]["state"], entry["post"]["state"]
        ),
    )


def _summary(phase: dict[str, Any], shown: bool) -> PhaseSummary:
    return PhaseSummary(
        state=phase["state"], score=percent_text(phase["score_percent"]) if shown else ""
    )


# --- One quiz of the path ------------------------------------------------------------------------


@dataclass
class QuizStatus:
    """A student's standing at the pre-test or post-test of an assignment."""

    assignment: Assignment
    phase: Phase
    quiz: Quiz
    attempts: list[Attempt]
    allowed: int
    time_limit: int | None  #: minutes, accommodations included
    locked: str | None  #: why no attempt can be started now; None when one can
    results_visible: bool

    @property
    def open_attempt(self) -> Attempt | None:
        return next((a for a in self.attempts if a.is_open), None)

    @property
    def finished(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.is_open]

    @property
    def counted(self) -> Attempt | None:
        return services.counted_attempt(self.attempts, self.assignment.counting)

    @property
    def left(self) -> int:
        return max(self.allowed - len(self.attempts), 0)

    @property
    def state(self) -> str:
        if self.open_attempt is not None:
            return "in_progress"
        return "submitted" if self.counted is not None else "not_started"

    @property
    def score(self) -> str:
        counted = self.counted
        return percent_text(counted.percent) if counted and self.results_visible else ""

    @property
    def label(self) -> str:
        return services.phase_label(self.phase)

    @property
    def closes_at(self) -> datetime:
        return services.quiz_closes_at(self.quiz)

    @property
    def counting(self) -> str:
        return counting_text(self.assignment.counting)


def quiz_status(
    assignment: Assignment, member: CohortMember, user: User, phase: Phase, now: datetime
) -> QuizStatus:
    quiz = services.quiz_of(assignment, phase)
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.quiz_id == quiz.id, Attempt.user_id == user.id)
            .order_by(Attempt.number)
        )
    )
    allowed = assignment.attempts_allowed + member.extra_attempts
    limit = assignment.time_limit_minutes
    status = QuizStatus(
        assignment=assignment,
        phase=phase,
        quiz=quiz,
        attempts=attempts,
        allowed=allowed,
        time_limit=round(limit * member.time_multiplier) if limit else None,
        locked=None,
        results_visible=results_visible(assignment, now),
    )
    current = status.open_attempt
    if current is None or services.is_overdue(current, now):
        status.locked = _start_problem(status, user, now)
    return status


def _start_problem(status: QuizStatus, user: User, now: datetime) -> str | None:
    assignment = status.assignment
    problem = (
        _problem(lambda: services.check_window(assignment, now))
        or _problem(lambda: services.check_quiz_window(status.quiz, now))
        or _problem(lambda: services.check_gates(assignment, status.phase, user))
    )
    if problem is None and not status.left:
        return _("You have used all your attempts at this %(phase)s.", phase=status.label)
    return problem


def quiz_status_for(assignment: Assignment, user: User, phase: Phase, now: datetime) -> QuizStatus:
    """The student's standing at one quiz; NotFound unless it is part of their courses."""
    member = services.student_membership(assignment, user)
    return quiz_status(assignment, member, user, phase, now)


# --- The module page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonItem:
    key: str
    number: int
    title: str
    done: bool


@dataclass
class ModulePath:
    assignment: Assignment
    title: str
    summary: str
    lang: str
    availability: str
    pre: QuizStatus
    lessons: list[LessonItem]
    lessons_locked: str | None
    post: QuizStatus
    results_note: str | None

    @property
    def lessons_done(self) -> int:
        return sum(lesson.done for lesson in self.lessons)

    @property
    def complete(self) -> bool:
        return self.post.counted is not None

    @property
    def next(self) -> Step:
        state = overall_state(
            self.pre.state, self.post.state, self.lessons_done == len(self.lessons)
        )
        return next_step(self.assignment.id, state, self.pre.state, self.post.state)


def lessons_read(assignment: Assignment, user: User) -> set[str]:
    return set(
        db.session.scalars(
            select(LessonProgress.lesson_key).where(
                LessonProgress.assignment_id == assignment.id, LessonProgress.user_id == user.id
            )
        )
    )


def lesson_items(assignment: Assignment, user: User, lang: str) -> list[LessonItem]:
    version = assignment.module_version
    done = lessons_read(assignment, user)
    return [
        LessonItem(lesson.key, number, version.text(lesson.title, lang), lesson.key in done)
        for number, lesson in enumerate(version.lessons, 1)
    ]


def module_path(assignment: Assignment, user: User, interface: str, now: datetime) -> ModulePath:
    """The module page; NotFound for a module that is not part of the student's courses."""
    member = services.student_membership(assignment, user)
    version = assignment.module_version
    lang = content_language(version, interface)
    return ModulePath(
        assignment=assignment,
        title=version.text(version.title, lang),
        summary=version.text(version.summary, lang),
        lang=lang,
        availability=availability(assignment, now),
        pre=quiz_status(assignment, member, user, Phase.PRE, now),
        lessons=lesson_items(assignment, user, lang),
        lessons_locked=_problem(lambda: services.check_lessons_open(assignment, user)),
        post=quiz_status(assignment, member, user, Phase.POST, now),
        results_note=results_note(assignment, now),
    )


# --- Lessons -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonPage:
    assignment: Assignment
    module_title: str
    lang: str
    item: LessonItem
    count: int
    body: Markup
    previous: LessonItem | None
    following: LessonItem | None


def first_unread(assignment: Assignment, user: User) -> str | None:
    """The lesson to resume at: the first one not yet read (None when there are none)."""
    items = lesson_items(assignment, user, "en")
    unread = [item for item in items if not item.done]
    chosen = unread[0] if unread else (items[0] if items else None)
    return chosen.key if chosen else None


def unread_after(assignment: Assignment, user: User, key: str) -> str | None:
    """The next lesson to read after ``key``: the first unread one after it, else before it."""
    items = lesson_items(assignment, user, "en")
    keys = [item.key for item in items]
    start = keys.index(key) + 1 if key in keys else 0
    unread = [item.key for item in items[start:] + items[:start] if not item.done]
    return unread[0] if unread else None


def lesson_page(assignment: Assignment, user: User, key: str, interface: str) -> LessonPage:
    """A lesson with its neighbours; NotFound for another's module or an unknown lesson,
    DomainError when the lessons are still locked (the pre-test comes first)."""
    services.student_membership(assignment, user)
    services.check_lessons_open(assignment, user)
    version = assignment.module_version
    lang = content_language(version, interface)
    items = lesson_items(assignment, user, lang)
    index = next((i for i, item in enumerate(items) if item.key == key), None)
    if index is None:
        raise NotFound(_("There is no such lesson."))
    lesson = version.lessons[index]
    return LessonPage(
        assignment=assignment,
        module_title=version.text(version.title, lang),
        lang=lang,
        item=items[index],
        count=len(items),
        body=lesson_html(lesson, lang),
        previous=items[index - 1] if index > 0 else None,
        following=items[index + 1] if index + 1 < len(items) else None,
    )


def lesson_html(lesson: Lesson, lang: str) -> Markup:
    """The lesson's Markdown as safe HTML, its ``images/NAME`` served from ``/media/<sha256>``."""
    html = str(render_markdown(lesson.body.get(lang) or lesson.body.get("en")))

    def media_url(match: re.Match[str]) -> str:
        digest = lesson.images.get(unquote(unescape(match.group(2))))
        if digest is None:
            return match.group(0)
        return f"{match.group(1)}{url_for('learn.media', sha256=digest)}{match.group(3)}"

    # Sanitised by render_markdown; only a URL of this app, made of URL-safe characters, is added.
    return Markup(_LESSON_IMAGE.sub(media_url, html))  # noqa: S704
