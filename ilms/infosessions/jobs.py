"""Background jobs of info sessions: the periodic pass (reminders, rosters, thank-yous) and the
annual report PDF."""

from __future__ import annotations

import logging

from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import documents, services
from ilms.infosessions.models import AnnualReport, ReportStatus
from ilms.jobs import job

log = logging.getLogger(__name__)


@job(retries=0, schedule={"minute": "*/15"})
def session_pass() -> services.PassResult:
    """Every 15 minutes in every worker; each mail is claimed in the database, so sent once."""
    result = services.run_periodic_pass()
    db.session.commit()
    log.info(
        "info sessions: %d reminders, %d rosters closed, %d thank-you mails",
        result.reminders,
        result.rosters_closed,
        result.thank_yous,
    )
    return result


@job(retries=0)
def render_annual_report(report_id: int) -> None:
    report = db.session.get(AnnualReport, report_id)
    if report is None or report.status is not ReportStatus.QUEUED:
        return
    try:
        pdf, error = documents.annual_report_pdf(report, utcnow()), None
    except Exception as failure:  # any failure is shown to the person as "failed"
        log.exception("annual report %s failed", report_id)
        db.session.rollback()
        report = db.session.get(AnnualReport, report_id)
        if report is None:
            return
        pdf, error = None, type(failure).__name__
    services.finish_annual_report(report, pdf, error)
    db.session.commit()
