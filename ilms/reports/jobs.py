"""Background jobs of reports: recomputing stale snapshots, and rendering large report PDFs."""

from __future__ import annotations

import logging

from ilms.db import utcnow
from ilms.extensions import db
from ilms.jobs import enqueue, job
from ilms.reports import documents, snapshots
from ilms.reports.models import ReportSnapshot

log = logging.getLogger(__name__)


@job(retries=0)
def recompute_report(snapshot_id: int) -> None:
    """Recompute one claimed snapshot; on failure keep the last document and release the claim."""
    snapshot = db.session.get(ReportSnapshot, snapshot_id)
    if snapshot is None:
        return
    try:
        snapshots.recompute(snapshot)
        db.session.commit()
    except Exception as failure:  # shown as "the last update failed"; the next change retries
        log.exception("report snapshot %s could not be computed", snapshot_id)
        db.session.rollback()
        snapshots.record_failure(snapshot_id, failure)
        db.session.commit()


@job(retries=0, schedule={"minute": "*"})
def refresh_reports() -> int:
    """Every minute: queue a recompute of each assignment report that attempts have overtaken.

    Safe in several workers at once: each snapshot is claimed in the database by one of them.
    """
    claimed = snapshots.claim_stale(utcnow())
    db.session.commit()
    for snapshot_id in claimed:
        enqueue(recompute_report, snapshot_id)
    return len(claimed)


@job(retries=0)
def render_report_pdf(pdf_id: int) -> None:
    pdf = documents.start_rendering(pdf_id)
    if pdf is None:
        return
    db.session.commit()
    try:
        documents.render_requested(pdf)
        db.session.commit()
    except Exception as failure:  # shown to the person as "failed"
        log.exception("report PDF %s failed", pdf_id)
        db.session.rollback()
        documents.record_failure(pdf_id, failure)
        db.session.commit()
