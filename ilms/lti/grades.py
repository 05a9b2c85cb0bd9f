"""Assignment and Grade Services: post-test scores sent to LMS gradebooks through an outbox.

Finishing a post-test adds one ``LtiGradeSubmission`` per grade-returning link of the assignment
(unique per link and attempt, so a post-test submitted twice sends one score); when a person
grades or corrects an answer of it, the same row is updated and sent again. The rows are sent
by a job once the transaction has committed; a failed send is retried with exponential backoff by
the periodic job, then shown to faculty as failed, with a retry button and the CSV export.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ilms.accounts import services as accounts
from ilms.accounts.models import User
from ilms.cohorts.models import Assignment, Cohort, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.delivery.models import Attempt, AttemptState, Phase, Quiz
from ilms.delivery.services import counted_attempt
from ilms.extensions import db
from ilms.lti import claims as c
from ilms.lti import outbound
from ilms.lti.models import (
    GradeStatus,
    LtiContext,
    LtiGradeSubmission,
    LtiPlatform,
    LtiResourceLink,
    LtiUser,
)
from ilms.lti.queueing import enqueue_after_commit

#: A claim older than this is taken to belong to a worker that died while sending.
STALE_CLAIM = timedelta(minutes=10)
LINE_ITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINE_ITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"


# --- From a finished attempt to the outbox --------------------------------------------------


def attempt_finished(attempt: Attempt) -> None:
    """Queue the counted post-test score for every gradebook linked to the assignment.

    Called by ``finish_attempt`` exactly once per attempt; one query when nothing is linked.
    """
    links = _grade_links(attempt)
    counted = counted_post_attempt(attempt) if links else None
    if counted is None or counted.score is None:
        return
    created = [s for link in links if (s := _outbox_row(link, attempt, counted)) is not None]
    send_after_commit([s.id for s in created])


def attempt_regraded(attempt: Attempt) -> None:
    """Queue the counted post-test score again after a person graded or corrected an answer.

    The row of this attempt, if it was queued before, is brought up to date and sent again (the
    LMS keeps the score with the latest timestamp), rather than refused as a duplicate.
    """
    links = _grade_links(attempt)
    counted = counted_post_attempt(attempt) if links else None
    if counted is None or counted.score is None:
        return
    queued = []
    for link in links:
        row = db.session.scalar(
            select(LtiGradeSubmission).where(
                LtiGradeSubmission.resource_link_id == link.id,
                LtiGradeSubmission.attempt_id == attempt.id,
            )
        )
        if row is None:
            row = _outbox_row(link, attempt, counted)
            queued += [row.id] if row is not None else []
        elif _requeue(row, counted):
            queued.append(row.id)
    send_after_commit(queued)


def _grade_links(attempt: Attempt) -> list[LtiResourceLink]:
    """The grade-returning links of the attempt's assignment; none for a pre-test."""
    if attempt.phase != Phase.POST:
        return []
    links = db.session.scalars(
        select(LtiResourceLink)
        .join(Quiz, Quiz.assignment_id == LtiResourceLink.assignment_id)
        .where(Quiz.id == attempt.quiz_id)
    )
    return [link for link in links if link.returns_grades]


def _requeue(row: LtiGradeSubmission, counted: Attempt) -> bool:
    """Put the counted score in ``row`` and make it due now; False while a worker is sending it
    (``record`` sees that the score changed during the send and queues it again)."""
    row.score_given = float(counted.score or 0.0)
    row.score_maximum = float(counted.max_score)
    row.grading_progress = "FullyGraded" if counted.fully_graded else "PendingManual"
    # The row now holds the score as of this moment: its time is the score's timestamp.
    row.created_at = utcnow()
    if row.status == GradeStatus.SENDING:
        return False
    row.status, row.tries, row.next_try_at = GradeStatus.PENDING, 0, row.created_at
    row.claimed_at = row.sent_at = row.last_error = None
    return True


def counted_post_attempt(attempt: Attempt) -> Attempt | None:
    attempts = db.session.scalars(
        select(Attempt).where(
            Attempt.quiz_id == attempt.quiz_id,
            Attempt.user_id == attempt.user_id,
            Attempt.state != AttemptState.OPEN,
        )
    )
    return counted_attempt(attempts, attempt.quiz.assignment.counting)


def lms_sub(user_id: int, issuer: str) -> str | None:
    return db.session.scalar(
        select(LtiUser.sub)
        .where(LtiUser.user_id == user_id, LtiUser.issuer == issuer)
        .order_by(LtiUser.id.desc())
        .limit(1)
    )


def _outbox_row(
    link: LtiResourceLink, attempt: Attempt, counted: Attempt
) -> LtiGradeSubmission | None:
    sub = lms_sub(attempt.user_id, link.platform.issuer)
    if sub is None:
        return None  # not an LMS user of this platform: the CSV export covers them
    row = LtiGradeSubmission(
        resource_link_id=link.id,
        attempt_id=attempt.id,
        user_id=attempt.user_id,
        lti_sub=sub,
        score_given=float(counted.score or 0.0),
        score_maximum=float(counted.max_score),
        grading_progress="FullyGraded" if counted.fully_graded else "PendingManual",
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None  # already in the outbox: one score per link and attempt
    return row


def send_after_commit(submission_ids: list[int]) -> None:
    """Send these rows once the current transaction commits (never for a rolled-back one)."""
    from ilms.lti.jobs import send_grade

    for submission_id in submission_ids:
        enqueue_after_commit(send_grade, submission_id)


# --- Sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeWork:
    """What one send needs, read before any network call (no transaction stays open)."""

    submission_id: int
    platform_id: int
    link_id: int
    lms_link_id: str
    label: str
    lineitem_url: str | None
    lineitems_url: str | None
    scopes: tuple[str, ...]
    body: dict[str, Any]


def claim(submission_id: int, now: datetime | None = None) -> GradeWork | None:
    """Mark a due row as being sent; None when another worker has it or it is not due."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(LtiGradeSubmission)
        .where(LtiGradeSubmission.id == submission_id)
        .where(
            or_(
                (LtiGradeSubmission.status == GradeStatus.PENDING)
                & (LtiGradeSubmission.next_try_at <= now),
                (LtiGradeSubmission.status == GradeStatus.SENDING)
                & (LtiGradeSubmission.claimed_at < now - STALE_CLAIM),
            )
        )
        .values(status=GradeStatus.SENDING, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    row = db.session.get(LtiGradeSubmission, submission_id)
    assert row is not None
    return _work(row)


def _work(row: LtiGradeSubmission) -> GradeWork:
    link = row.resource_link
    granted = tuple(link.ags_scopes or ())
    scopes = tuple(s for s in c.GRADE_SCOPES if not granted or s in granted)
    # The time the score was set: the submission, or later when a person graded or corrected it.
    submitted = max(row.attempt.submitted_at or row.created_at, row.created_at)
    return GradeWork(
        submission_id=row.id,
        platform_id=link.platform_id,
        link_id=link.id,
        lms_link_id=link.resource_link_id,
        label=link.title or link.assignment.module.slug,
        lineitem_url=link.lineitem_url,
        lineitems_url=link.lineitems_url,
        scopes=scopes or c.GRADE_SCOPES,
        body={
            "userId": row.lti_sub,
            "scoreGiven": row.score_given,
            "scoreMaximum": row.score_maximum,
            "activityProgress": "Completed",
            "gradingProgress": row.grading_progress,
            "timestamp": submitted.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
    )


def deliver(work: GradeWork) -> str:
    """Send the score; returns the line item URL used. Raises ``ServiceError``."""
    platform = db.session.get(LtiPlatform, work.platform_id)
    if platform is None or not platform.active:
        raise outbound.ServiceError(_("The LMS platform of this link is no longer active."))
    token = outbound.access_token(platform, work.scopes)
    lineitem = work.lineitem_url or line_item(work, token)
    reply = post_score(lineitem, work.body, token)
    if reply.status == 401:
        outbound.forget_token(platform, work.scopes)
        reply = post_score(lineitem, work.body, outbound.access_token(platform, work.scopes))
    if not reply.ok:
        raise outbound.ServiceError(
            _(
                "The LMS refused the score (HTTP %(status)d): %(detail)s",
                status=reply.status,
                detail=reply.detail(),
            )
        )
    return lineitem


def post_score(lineitem: str, body: dict[str, Any], token: str) -> outbound.Reply:
    return outbound.call(
        "POST",
        scores_url(lineitem),
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCORE_TYPE},
        body=json.dumps(body).encode(),
    )


def scores_url(lineitem: str) -> str:
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def line_item(work: GradeWork, token: str) -> str:
    """The link's line item: found by resource link and tag, else created."""
    if not work.lineitems_url:
        raise outbound.ServiceError(
            _("The LMS offered no gradebook for this link (no line item service).")
        )
    headers = {"Authorization": f"Bearer {token}"}
    query = urlencode({"resource_link_id": work.lms_link_id, "tag": c.LINE_ITEM_TAG})
    separator = "&" if "?" in work.lineitems_url else "?"
    found = outbound.call(
        "GET",
        f"{work.lineitems_url}{separator}{query}",
        headers=headers | {"Accept": LINE_ITEMS_TYPE},
    )
    items = found.json() if found.ok else None
    if isinstance(items, list) and items and isinstance(items[0], dict) and items[0].get("id"):
        return str(items[0]["id"])
    created = outbound.call(
        "POST",
        work.lineitems_url,
        headers=headers | {"Content-Type": LINE_ITEM_TYPE, "Accept": LINE_ITEM_TYPE},
        body=json.dumps(
            {
                "scoreMaximum": 100,
                "label": work.label,
                "resourceLinkId": work.lms_link_id,
                "tag": c.LINE_ITEM_TAG,
            }
        ).encode(),
    )
    document = created.json() if created.ok else None
    if not isinstance(document, dict) or not document.get("id"):
        raise outbound.ServiceError(
            _(
                "The LMS did not create the gradebook column (HTTP %(status)d).",
                status=created.status,
            )
        )
    return str(document["id"])


def record(work: GradeWork, lineitem_url: str | None, error: str | None) -> LtiGradeSubmission:
    """Keep the outcome of a send: sent, or failed and when to try again."""
    row = db.session.get(LtiGradeSubmission, work.submission_id)
    assert row is not None
    now = utcnow()
    if lineitem_url and row.resource_link.lineitem_url != lineitem_url:
        row.resource_link.lineitem_url = lineitem_url
    row.tries += 1
    row.claimed_at = None
    if error is None and _work(row).body != work.body:
        # A person corrected the score while the old one was being sent: send the new one.
        row.status, row.tries, row.next_try_at, row.last_error = GradeStatus.PENDING, 0, now, None
        send_after_commit([row.id])
        return row
    if error is None:
        row.status, row.sent_at, row.last_error = GradeStatus.SENT, now, None
        return row
    row.last_error = error[:2000]
    if row.tries >= int(current_app.config["LTI_GRADE_MAX_TRIES"]):
        row.status = GradeStatus.FAILED
    else:
        row.status = GradeStatus.PENDING
        delay = int(current_app.config["LTI_GRADE_RETRY_SECONDS"]) * 2 ** (row.tries - 1)
        row.next_try_at = now + timedelta(seconds=delay)
    return row


def due_submission_ids(now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(LtiGradeSubmission.id)
            .where(
                or_(
                    (LtiGradeSubmission.status == GradeStatus.PENDING)
                    & (LtiGradeSubmission.next_try_at <= now),
                    (LtiGradeSubmission.status == GradeStatus.SENDING)
                    & (LtiGradeSubmission.claimed_at < now - STALE_CLAIM),
                )
            )
            .order_by(LtiGradeSubmission.id)
            .limit(500)
        )
    )


def retry(row: LtiGradeSubmission, actor: User) -> None:
    """Send a failed (or waiting) score again now, with a fresh round of retries."""
    if row.status == GradeStatus.SENT:
        return
    row.status, row.tries, row.next_try_at, row.claimed_at = GradeStatus.PENDING, 0, utcnow(), None
    accounts.audit("lti.grade_retry", actor=actor, target=row.user, submission=row.id)
    send_after_commit([row.id])


# --- What faculty see -----------------------------------------------------------------------


def context_of(cohort: Cohort) -> LtiContext | None:
    return db.session.scalar(select(LtiContext).where(LtiContext.cohort_id == cohort.id))


def submission_in(cohort: Cohort, submission_id: int) -> LtiGradeSubmission | None:
    return db.session.scalar(
        select(LtiGradeSubmission)
        .join(LtiResourceLink)
        .join(LtiContext)
        .where(LtiGradeSubmission.id == submission_id, LtiContext.cohort_id == cohort.id)
    )


def cohort_submissions(cohort: Cohort) -> list[LtiGradeSubmission]:
    return list(
        db.session.scalars(
            select(LtiGradeSubmission)
            .join(LtiResourceLink)
            .join(LtiContext)
            .where(LtiContext.cohort_id == cohort.id)
            .order_by(LtiGradeSubmission.created_at.desc(), LtiGradeSubmission.id.desc())
            .options(
                selectinload(LtiGradeSubmission.user),
                selectinload(LtiGradeSubmission.resource_link)
                .selectinload(LtiResourceLink.assignment)
                .selectinload(Assignment.module_version),
            )
        )
    )


def status_counts(cohort_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(LtiGradeSubmission.status, func.count())
        .join(LtiResourceLink)
        .join(LtiContext)
        .where(LtiContext.cohort_id == cohort_id)
        .group_by(LtiGradeSubmission.status)
    )
    counts = {status.value: 0 for status in GradeStatus}
    for status, count in rows:
        counts[GradeStatus(status).value] = count
    return counts


def export_rows(cohort: Cohort, language: str) -> list[list[Any]]:
    """One row per student and assignment: the counted post-test score and its grade return."""
    issuer = _issuer_of(cohort)
    students = list(
        db.session.scalars(
            select(User)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id, CohortMember.role == MemberRole.STUDENT)
            .order_by(func.lower(User.name), User.id)
        )
    )
    assignments = list(
        db.session.scalars(
            select(Assignment).where(Assignment.cohort_id == cohort.id).order_by(Assignment.id)
        )
    )
    attempts = _post_attempts([a.id for a in assignments])
    status = _last_status(cohort)
    rows = []
    for assignment in assignments:
        title = assignment.module_version.text(assignment.module_version.title, language)
        for student in students:
            counted = counted_attempt(attempts[(assignment.id, student.id)], assignment.counting)
            rows.append(
                _export_row(
                    student, issuer, title, counted, status.get((assignment.id, student.id))
                )
            )
    return rows


def _export_row(
    student: User, issuer: str | None, title: str, counted: Attempt | None, status: str | None
) -> list[Any]:
    percent = round(counted.percent, 1) if counted and counted.percent is not None else ""
    return [
        student.name,
        "" if student.email.endswith("@lti.invalid") else student.email,
        (lms_sub(student.id, issuer) or "") if issuer else "",
        title,
        counted.score if counted else "",
        counted.max_score if counted else "",
        percent,
        status or "",
    ]


def export_header() -> list[str]:
    return [
        _("Name"),
        _("Email address"),
        _("LMS user id"),
        _("Module"),
        _("Post-test score"),
        _("Maximum score"),
        _("Percent"),
        _("Grade return"),
    ]


def _issuer_of(cohort: Cohort) -> str | None:
    context = context_of(cohort)
    return context.platform.issuer if context else None


def _post_attempts(assignment_ids: list[int]) -> dict[tuple[int, int], list[Attempt]]:
    grouped: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    for attempt, assignment_id in db.session.execute(
        select(Attempt, Quiz.assignment_id)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .where(Quiz.assignment_id.in_(assignment_ids), Quiz.phase == Phase.POST)
        .order_by(Attempt.number)
    ):
        grouped[(assignment_id, attempt.user_id)].append(attempt)
    return grouped


def _last_status(cohort: Cohort) -> dict[tuple[int, int], str]:
    latest: dict[tuple[int, int], str] = {}
    for row in reversed(cohort_submissions(cohort)):
        latest[(row.resource_link.assignment_id, row.user_id)] = status_label(row.status)
    return latest


def status_label(status: GradeStatus) -> str:
    return {
        GradeStatus.PENDING: _("Waiting to be sent"),
        GradeStatus.SENDING: _("Sending"),
        GradeStatus.SENT: _("Sent to the LMS"),
        GradeStatus.FAILED: _("Failed"),
    }[status]


def cohort_summary(cohort_id: int) -> dict[str, Any] | None:
    """Grade return and roster at a glance, for the cohort page; None for cohorts not in an LMS."""
    context = db.session.scalar(select(LtiContext).where(LtiContext.cohort_id == cohort_id))
    if context is None:
        return None
    return {
        "platform": context.platform.name,
        "course": context.title,
        "counts": status_counts(cohort_id),
        "roster": context.roster_report or {},
        "roster_synced_at": context.roster_synced_at,
        "roster_offered": bool(context.memberships_url),
    }
