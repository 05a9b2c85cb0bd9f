"""Keeping reports up to date: snapshots marked stale as attempts finish, recomputed in the background.

Finishing an attempt raises its assignment's snapshot revision (``freshness.mark_stale``). A snapshot whose
document was computed at an older revision is stale; the periodic job and the dashboard claim it
(at most one recompute queued per snapshot) and a job recomputes it, while the dashboard keeps
showing the latest document with its time. A module's snapshot pools several assignments and is
stale when the sum of their revisions moved on (revisions only grow, so the sum does too).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ilms.authoring.models import Module
from ilms.cohorts.models import Assignment
from ilms.db import utcnow
from ilms.extensions import db
from ilms.reports.models import ReportSnapshot
from ilms.reports.services import compute

#: A claim older than this is taken to belong to a job that died; the snapshot may be claimed again.
STUCK_AFTER = timedelta(minutes=10)


def assignment_scope(assignment_id: int) -> str:
    return f"assignment:{assignment_id}"


def module_scope(module_id: int, term: str | None, assignment_ids: Sequence[int]) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(assignment_ids))).encode()).hexdigest()
    return f"module:{module_id}:{term or '*'}:{digest[:24]}"


# --- Finding and creating snapshots ---------------------------------------------------------


def _get_or_create(scope: str, **fields: object) -> ReportSnapshot:
    snapshot = db.session.scalar(select(ReportSnapshot).where(ReportSnapshot.scope == scope))
    if snapshot is not None:
        return snapshot
    snapshot = ReportSnapshot(scope=scope, **fields)
    try:
        with db.session.begin_nested():
            db.session.add(snapshot)
    except IntegrityError:  # made by a parallel request in the meantime
        return db.session.scalars(select(ReportSnapshot).where(ReportSnapshot.scope == scope)).one()
    return snapshot


def find_assignment_snapshot(assignment: Assignment) -> ReportSnapshot | None:
    return db.session.scalar(
        select(ReportSnapshot).where(ReportSnapshot.assignment_id == assignment.id)
    )


def assignment_snapshot(assignment: Assignment) -> ReportSnapshot:
    """The assignment's snapshot, created (without a document yet) on first use."""
    return find_assignment_snapshot(assignment) or _get_or_create(
        assignment_scope(assignment.id), assignment_id=assignment.id, sources=[assignment.id]
    )


def find_module_snapshot(
    module: Module, term: str | None, assignments: Sequence[Assignment]
) -> ReportSnapshot | None:
    scope = module_scope(module.id, term, [a.id for a in assignments])
    return db.session.scalar(select(ReportSnapshot).where(ReportSnapshot.scope == scope))


def module_snapshot(
    module: Module, term: str | None, assignments: Sequence[Assignment]
) -> ReportSnapshot:
    """The snapshot pooling ``assignments``; each of them gets its own snapshot, to count revisions."""
    for assignment in assignments:
        assignment_snapshot(assignment)
    ids = sorted(a.id for a in assignments)
    return _get_or_create(module_scope(module.id, term, ids), module_id=module.id, sources=ids)


# --- Freshness ------------------------------------------------------------------------------


def current_revision(snapshot: ReportSnapshot) -> int:
    if snapshot.assignment_id is not None:
        return snapshot.revision
    total = db.session.scalar(
        select(func.coalesce(func.sum(ReportSnapshot.revision), 0)).where(
            ReportSnapshot.assignment_id.in_(snapshot.sources)
        )
    )
    return int(total or 0)


def is_stale(snapshot: ReportSnapshot) -> bool:
    return snapshot.document is None or snapshot.computed_revision != current_revision(snapshot)


def is_old(snapshot: ReportSnapshot, now: datetime) -> bool:
    """Older than ``REPORT_REFRESH_MINUTES``: grading or roster changes may have moved the figures."""
    limit = timedelta(minutes=current_app.config["REPORT_REFRESH_MINUTES"])
    return snapshot.computed_at is None or now - snapshot.computed_at > limit


def is_pending(snapshot: ReportSnapshot, now: datetime) -> bool:
    return snapshot.queued_at is not None and now - snapshot.queued_at <= STUCK_AFTER


def has_failed(snapshot: ReportSnapshot, now: datetime) -> bool:
    """The last recompute raised an error, or its job died (its claim expired unreleased)."""
    if is_pending(snapshot, now):
        return False
    return snapshot.error is not None or snapshot.queued_at is not None


@dataclass(frozen=True)
class Plan:
    """What a page should do about a snapshot before showing it."""

    compute_now: bool  #: no document yet and few students: compute in this request
    enqueue: bool  #: a recompute was claimed: queue it once the transaction is committed


def plan(snapshot: ReportSnapshot, students: Callable[[], int], now: datetime) -> Plan:
    """``students`` counts the students behind the report (asked only for a first report).

    A first report whose computing failed is not queued again by opening its page: the page says
    that it failed and offers to try again (``retry``), so that it does not wait in vain.
    """
    limit = current_app.config["REPORT_SYNC_MAX_STUDENTS"]
    if snapshot.document is None and students() <= limit:
        return Plan(compute_now=True, enqueue=False)
    if snapshot.document is None and has_failed(snapshot, now):
        return Plan(compute_now=False, enqueue=False)
    needs = is_stale(snapshot) or is_old(snapshot, now)
    return Plan(compute_now=False, enqueue=needs and not is_pending(snapshot, now))


def needs_work(snapshot: ReportSnapshot, students: Callable[[], int], now: datetime) -> bool:
    """Whether ``plan`` would write anything (pages then open a write transaction first)."""
    decided = plan(snapshot, students, now)
    return decided.compute_now or decided.enqueue


def claim(snapshot: ReportSnapshot, now: datetime) -> bool:
    """Mark a recompute of ``snapshot`` as queued, unless one already is (True: queue it)."""
    claimed = db.session.execute(
        update(ReportSnapshot)
        .where(
            ReportSnapshot.id == snapshot.id,
            or_(ReportSnapshot.queued_at.is_(None), ReportSnapshot.queued_at < now - STUCK_AFTER),
        )
        .values(queued_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(snapshot)
    return bool(claimed)


def prepare(snapshot: ReportSnapshot, students: Callable[[], int], now: datetime) -> bool:
    """Compute a small first report at once, or claim a recompute; True: queue the claimed one."""
    decided = plan(snapshot, students, now)
    if decided.compute_now:
        recompute(snapshot, now)
        return False
    return decided.enqueue and claim(snapshot, now)


def retry(snapshot: ReportSnapshot, now: datetime) -> bool:
    """Claim a recompute of a snapshot whose last one failed (True: queue it).

    Nothing to do when none failed or one is already queued (a second click on "Try again").
    """
    return has_failed(snapshot, now) and claim(snapshot, now)


def claim_stale(now: datetime) -> list[int]:
    """Claim every assignment snapshot behind its revision and not queued (the periodic job)."""
    candidates = db.session.scalars(
        select(ReportSnapshot).where(
            ReportSnapshot.assignment_id.is_not(None),
            or_(
                ReportSnapshot.computed_revision.is_(None),
                ReportSnapshot.computed_revision != ReportSnapshot.revision,
            ),
        )
    ).all()
    return [s.id for s in candidates if not is_pending(s, now) and claim(s, now)]


# --- Computing ------------------------------------------------------------------------------


def _sources(snapshot: ReportSnapshot) -> list[Assignment]:
    return list(
        db.session.scalars(
            select(Assignment)
            .where(Assignment.id.in_(snapshot.sources))
            .options(
                selectinload(Assignment.cohort),
                selectinload(Assignment.module),
                selectinload(Assignment.module_version),
            )
            .order_by(Assignment.id)
        )
    )


def _term(snapshot: ReportSnapshot) -> str | None:
    if snapshot.assignment_id is not None:
        return None
    term = snapshot.scope.split(":", 2)[2].rsplit(":", 1)[0]
    return None if term == "*" else term


def recompute(snapshot: ReportSnapshot, now: datetime | None = None) -> None:
    """Compute the snapshot's document from the database and release its claim."""
    revision = current_revision(snapshot)  # read first: a later attempt leaves it stale, not lost
    assignments = _sources(snapshot)
    if assignments:
        computed = compute(assignments, term=_term(snapshot))
        snapshot.document = computed.report
        snapshot.labels = computed.labels
        snapshot.students = computed.students
    snapshot.computed_revision = revision
    snapshot.computed_at = now or utcnow()
    snapshot.queued_at = None
    snapshot.error = None
    db.session.flush()


def record_failure(snapshot_id: int, error: BaseException) -> None:
    """Release a failed recompute's claim, keeping the last document, and say why it failed."""
    snapshot = db.session.get(ReportSnapshot, snapshot_id)
    if snapshot is None:
        return
    snapshot.queued_at = None
    snapshot.error = type(error).__name__[:200]
    db.session.flush()
