"""Background jobs of LTI: sending scores to gradebooks, roster syncs, forgetting old launches.

Network calls to a platform happen outside any write transaction, so a slow LMS never holds the
database's write lock (SQLite) or a row lock (PostgreSQL).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from ilms.db import set_write_intent
from ilms.extensions import db
from ilms.jobs import enqueue, job
from ilms.lti import grades, roster, services
from ilms.lti.outbound import ServiceError


@contextmanager
def reading_only() -> Iterator[None]:
    """Reads in this block begin a deferred transaction, ended at the block's end."""
    previous = set_write_intent(False).old_value
    try:
        yield
    finally:
        db.session.commit()
        set_write_intent(True if previous is contextvars.Token.MISSING else bool(previous))


@job(retries=0)
def send_grade(submission_id: int) -> str | None:
    """Send one score; a failure is recorded with the time of the next try."""
    work = grades.claim(submission_id)
    db.session.commit()
    if work is None:
        return None
    lineitem, error = None, None
    try:
        with reading_only():
            lineitem = grades.deliver(work)
    except ServiceError as failure:
        error = failure.message
    row = grades.record(work, lineitem, error)
    db.session.commit()
    return row.status.value


@job(retries=0, schedule={"minute": "*"})
def send_due_grades() -> int:
    """Every minute: send scores whose retry is due (safe in several workers: rows are claimed)."""
    due = grades.due_submission_ids()
    db.session.commit()
    for submission_id in due:
        enqueue(send_grade, submission_id)
    return len(due)


@job(retries=0)
def sync_roster(context_id: int) -> str:
    target = roster.sync_target(context_id)
    db.session.commit()
    if target is None:
        return "gone"
    try:
        with reading_only():
            members, complete = roster.fetch_members(target)
    except ServiceError as failure:
        roster.record_failure(context_id, failure.message)
        db.session.commit()
        return "failed"
    roster.apply(context_id, members, complete)
    db.session.commit()
    return "done"


@job(retries=0, schedule={"minute": "*/30"})
def purge_expired_launches() -> int:
    removed = services.purge_expired()
    db.session.commit()
    return removed
