"""Marking a report out of date when an attempt is finished: one UPDATE, nothing computed.

Kept apart from ``snapshots`` so that delivery, which calls it on every submission, does not load
the statistics (see ``snapshots`` for how stale reports are recomputed).
"""

from __future__ import annotations

from sqlalchemy import select, update

from ilms.delivery.models import Quiz
from ilms.extensions import db
from ilms.reports.models import ReportSnapshot


def mark_stale(quiz_id: int) -> None:
    """One more finished attempt at ``quiz_id``: its assignment's snapshot (if any) is behind."""
    assignment = select(Quiz.assignment_id).where(Quiz.id == quiz_id).scalar_subquery()
    db.session.execute(
        update(ReportSnapshot)
        .where(ReportSnapshot.assignment_id == assignment)
        .values(revision=ReportSnapshot.revision + 1)
        .execution_options(synchronize_session=False)
    )
