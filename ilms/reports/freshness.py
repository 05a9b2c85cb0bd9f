"""Marking a report out of date when an attempt is finished, or when attendance of a session held
for the cohort changes (its "attended the session" groups): one UPDATE, nothing computed.

Kept apart from ``snapshots`` so that delivery, which calls it on every submission, does not load
the statistics (see ``snapshots`` for how stale reports are recomputed).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, select, update

from ilms.cohorts.models import Assignment
from ilms.delivery.models import Quiz
from ilms.extensions import db
from ilms.reports.models import ReportSnapshot


def mark_stale(quiz_id: int) -> None:
    """One more finished attempt at ``quiz_id``: its assignment's snapshot (if any) is behind."""
    _bump(ReportSnapshot.assignment_id == _assignment_of(quiz_id))


def mark_cohort_stale(cohort_id: int) -> None:
    """Something every report of the cohort shows has changed (attendance of its info sessions)."""
    _bump(
        ReportSnapshot.assignment_id.in_(
            select(Assignment.id).where(Assignment.cohort_id == cohort_id)
        )
    )


def _assignment_of(quiz_id: int) -> ScalarSelect[int]:
    return select(Quiz.assignment_id).where(Quiz.id == quiz_id).scalar_subquery()


def _bump(which: ColumnElement[bool]) -> None:
    """Raise the revision of the snapshots ``which`` selects: one UPDATE, nothing computed."""
    db.session.execute(
        update(ReportSnapshot)
        .where(which)
        .values(revision=ReportSnapshot.revision + 1)
        .execution_options(synchronize_session=False)
    )
