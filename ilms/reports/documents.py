"""The faculty PDF of a report: the dashboard's context with a cover, a methods appendix and,
optionally, every student's scores; rendered at once for small cohorts, otherwise by a job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import and_, delete, or_, select

from ilms.accounts.models import User
from ilms.db import utcnow
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.pdf import render_pdf
from ilms.reports.models import Appendix, PdfStatus, ReportPdf, ReportSnapshot
from ilms.reports.presentation import Numbers, report_context, student_lines
from ilms.reports.privacy import pseudonym

TEMPLATE = "reports/report_pdf.html"
#: A PDF queued or rendering for longer than this is taken to have lost its job (a worker died).
STUCK_AFTER = timedelta(minutes=10)


class NotReady(DomainError):
    """The report has not been computed yet; it is being prepared."""

    status_code = 503


def appendix_allowed(document: dict[str, Any], min_n: int) -> bool:
    """Per-student scores only when every test with results rests on at least ``min_n`` students."""
    counts = [document[phase]["n"] for phase in ("pre", "post") if document[phase]["n"]]
    return bool(counts) and all(n >= min_n for n in counts)


def student_rows(snapshot: ReportSnapshot, appendix: Appendix) -> list[dict[str, Any]]:
    """The snapshot's per-student rows, each ``student`` a name or a pseudonym, in that order."""
    rows = [dict(row) for row in snapshot.students or []]
    if appendix == Appendix.NAMES:
        names = _names([row["student"] for row in rows])
        for row in rows:
            row["student"] = names.get(row["student"], row["student"])
    else:
        salt = current_app.config["SECRET_KEY"]
        for row in rows:
            row["student"] = pseudonym(str(row["student"]), salt)
    return sorted(rows, key=lambda row: row["student"].casefold())


def _names(keys: list[str]) -> dict[str, str]:
    """Names of the students behind row keys (the user id, or ``assignment-user`` when pooled)."""
    user_ids = {int(key.rsplit("-", 1)[-1]) for key in keys}
    found = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())
    return {key: found.get(int(key.rsplit("-", 1)[-1]), key) for key in keys}


def pdf_context(
    document: dict[str, Any],
    labels: dict[str, str] | None,
    *,
    min_n: int,
    locale: str,
    computed_at: datetime | None,
    students: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "report": report_context(
            document, labels, min_n=min_n, locale=locale, computed_at=computed_at, printed=True
        ),
        "library": current_app.config["LIBRARY_NAME"],
        "generated": format_datetime(utcnow(), "medium"),
        "students": students,
    }


def document_pdf(
    document: dict[str, Any],
    labels: dict[str, str] | None,
    *,
    min_n: int,
    locale: str,
    computed_at: datetime | None = None,
) -> bytes:
    """The PDF of a report document (also for files read by ``analyze``), without an appendix."""
    with force_locale(locale):
        context = pdf_context(document, labels, min_n=min_n, locale=locale, computed_at=computed_at)
    return render_pdf(TEMPLATE, context, locale=locale)


def snapshot_pdf(snapshot: ReportSnapshot, locale: str, appendix: Appendix, min_n: int) -> bytes:
    """The faculty PDF of a computed snapshot, in ``locale``."""
    if snapshot.document is None:
        raise NotReady(_("The report is being prepared. Please try again in a minute."))
    with force_locale(locale):
        students = None
        if appendix != Appendix.NONE and appendix_allowed(snapshot.document, min_n):
            students = student_lines(student_rows(snapshot, appendix), Numbers(locale))
        context = pdf_context(
            snapshot.document,
            snapshot.labels,
            min_n=min_n,
            locale=locale,
            computed_at=snapshot.computed_at,
            students=students,
        )
    return render_pdf(TEMPLATE, context, locale=locale)


def students_behind(snapshot: ReportSnapshot) -> int:
    document = snapshot.document or {}
    enrolled = (document.get("participation") or {}).get("enrolled")
    return int(enrolled or 0)


def renders_directly(snapshot: ReportSnapshot) -> bool:
    """Small cohorts' PDFs are rendered in the request; larger ones only by a background job."""
    return students_behind(snapshot) <= current_app.config["REPORT_PDF_DIRECT_MAX_STUDENTS"]


# --- PDFs rendered in the background --------------------------------------------------------


def finished_pdf(snapshot: ReportSnapshot, locale: str, appendix: Appendix) -> ReportPdf | None:
    """A PDF already rendered from the snapshot as it is now, in ``locale`` with ``appendix``."""
    return db.session.scalar(
        select(ReportPdf)
        .where(
            ReportPdf.snapshot_id == snapshot.id,
            ReportPdf.locale == locale,
            ReportPdf.appendix == appendix,
            ReportPdf.status == PdfStatus.DONE,
            ReportPdf.snapshot_time == snapshot.computed_at,
        )
        .order_by(ReportPdf.id.desc())
        .limit(1)
    )


def has_failed(pdf: ReportPdf, now: datetime) -> bool:
    """Its job raised an error, or it has waited so long that its job must have died."""
    if pdf.status == PdfStatus.FAILED:
        return True
    return pdf.pending and now - pdf.created_at > STUCK_AFTER


def request_pdf(
    snapshot: ReportSnapshot, user: User, locale: str, appendix: Appendix
) -> tuple[ReportPdf, bool]:
    """The PDF being rendered (or done) for this snapshot, or a new request (True: queue it).

    A failed PDF, or one whose job died, is not reused: asking again queues a new one.
    """
    existing = db.session.scalar(
        select(ReportPdf)
        .where(
            ReportPdf.snapshot_id == snapshot.id,
            ReportPdf.locale == locale,
            ReportPdf.appendix == appendix,
            or_(
                ReportPdf.status == PdfStatus.DONE,
                and_(
                    ReportPdf.status.in_([PdfStatus.QUEUED, PdfStatus.RENDERING]),
                    ReportPdf.created_at >= utcnow() - STUCK_AFTER,
                ),
            ),
            ReportPdf.snapshot_time == snapshot.computed_at,
        )
        .order_by(ReportPdf.id.desc())
        .limit(1)
    )
    if existing is not None:
        return existing, False
    pdf = ReportPdf(
        snapshot_id=snapshot.id,
        requested_by_id=user.id,
        locale=locale,
        appendix=appendix,
        snapshot_time=snapshot.computed_at,
    )
    db.session.add(pdf)
    db.session.flush()
    return pdf, True


def start_rendering(pdf_id: int) -> ReportPdf | None:
    """Mark a queued PDF as rendering (None: it is gone or another worker has it)."""
    pdf = db.session.get(ReportPdf, pdf_id)
    if pdf is None or pdf.status != PdfStatus.QUEUED:
        return None
    pdf.status = PdfStatus.RENDERING
    db.session.flush()
    return pdf


def render_requested(pdf: ReportPdf) -> None:
    """Render a requested PDF from its snapshot; older PDFs of the same kind are dropped."""
    snapshot = pdf.snapshot
    data = snapshot_pdf(snapshot, pdf.locale, pdf.appendix, current_app.config["REPORT_MIN_N"])
    _finish(pdf, data, snapshot)


def keep(
    snapshot: ReportSnapshot, user: User, locale: str, appendix: Appendix, data: bytes
) -> None:
    """Keep a PDF rendered in a request, so that the next download of it is served as it is."""
    pdf = ReportPdf(
        snapshot_id=snapshot.id, requested_by_id=user.id, locale=locale, appendix=appendix
    )
    db.session.add(pdf)
    db.session.flush()
    _finish(pdf, data, snapshot)


def _finish(pdf: ReportPdf, data: bytes, snapshot: ReportSnapshot) -> None:
    pdf.pdf = data
    pdf.snapshot_time = snapshot.computed_at
    pdf.status = PdfStatus.DONE
    pdf.finished_at = utcnow()
    db.session.execute(
        delete(ReportPdf).where(
            ReportPdf.snapshot_id == snapshot.id,
            ReportPdf.locale == pdf.locale,
            ReportPdf.appendix == pdf.appendix,
            ReportPdf.id != pdf.id,
            ReportPdf.status.in_([PdfStatus.DONE, PdfStatus.FAILED]),
        )
    )
    db.session.flush()


def record_failure(pdf_id: int, error: BaseException) -> None:
    pdf = db.session.get(ReportPdf, pdf_id)
    if pdf is None:
        return
    pdf.status = PdfStatus.FAILED
    pdf.error = type(error).__name__
    pdf.finished_at = utcnow()
    db.session.flush()
