"""Jobs that a transaction asks for run once it has committed, and never if it rolls back.

A job queued in the middle of a request would otherwise run (at once with ``QUEUE_IMMEDIATE``,
or in a worker) before the rows it needs are visible to other connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from ilms.extensions import db

_KEY = "ilms_lti_after_commit"


def enqueue_after_commit(fn: Callable[..., Any], *args: Any) -> None:
    db.session.info.setdefault(_KEY, []).append((fn, args))


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    from ilms.jobs import enqueue

    if session.in_nested_transaction():
        return  # a savepoint: the transaction itself has not committed yet
    queued = session.info.pop(_KEY, [])
    if not queued:
        return
    # A job run at once (QUEUE_IMMEDIATE) must not use the session that is finishing its commit:
    # a fresh app context gives it a session of its own.
    with current_app.app_context():
        for fn, args in queued:
            enqueue(fn, *args)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_KEY, None)
