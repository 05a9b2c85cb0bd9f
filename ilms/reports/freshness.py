"""Marking a report out of date when an attempt is finished, or when attendance of a session held
for the cohort changes (its "attended the session" groups): one UPDATE, nothing computed.

Kept apart from ``snapshots`` so that delivery, which calls it on every submission, does not load
the statistics (see ``snapshots`` for how stale reports are recomputed).
"""

from __future__ import annotations

import functools

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.sql.dml import Update

from ilms.cohorts.models import Assignment
from ilms.extensions import db
from ilms.reports.models import ReportSnapshot


def mark_stale(assignment_id: int) -> None:
    """One more finished attempt in the assignment: its snapshot (if any) is behind.

    A prebuilt statement, as every submission calls it: a class submits at the same moment.
    """
    db.session.execute(_bump_assignment(), {"finished_in": assignment_id})


@functools.cache
def _bump_assignment() -> Update:
    table = ReportSnapshot.__table__
    return (
        update(table)
        .where(table.c.assignment_id == bindparam("finished_in"))
        .values(revision=table.c.revision + 1)
    )


def mark_cohort_stale(cohort_id: int) -> None:
    """Something every report of the cohort shows has changed (attendance of its info sessions)."""
    _bump(
        ReportSnapshot.assignment_id.in_(
            select(Assignment.id).where(Assignment.cohort_id == cohort_id)
        )
    )


def _bump(which: ColumnElement[bool]) -> None:
    """Raise the revision of the snapshots ``which`` selects: one UPDATE, nothing computed."""
    db.session.execute(
        update(ReportSnapshot)
        .where(which)
        .values(revision=ReportSnapshot.revision + 1)
        .execution_options(synchronize_session=False)
    )
