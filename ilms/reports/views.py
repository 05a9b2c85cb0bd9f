"""Report pages: a cohort's reports, an assignment's dashboard with its PDF, CSV and JSON, and a
module's report across the cohorts a librarian may see.

Faculty and librarians see the reports of their own cohorts (others get 404, so that ids do not
leak), admins all; students get 403. Every figure shown rests on at least ``REPORT_MIN_N``
students. Pages show the latest snapshot at once; a stale one is recomputed by a job meanwhile.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ilms.authoring.models import Module
from ilms.cohorts.models import Assignment
from ilms.cohorts.services import cohort_for_staff, staff_cohorts
from ilms.db import set_write_intent, utcnow
from ilms.errors import NotFound
from ilms.extensions import db
from ilms.jobs import enqueue
from ilms.permissions import Role, require_role
from ilms.reports import documents, presentation, services, snapshots
from ilms.reports.forms import PdfForm, PdfLinkForm, TermForm
from ilms.reports.jobs import recompute_report, render_report_pdf
from ilms.reports.models import Appendix, PdfStatus, ReportPdf, ReportSnapshot
from ilms.reports.tabular import write_item_statistics, write_student_scores

bp = Blueprint("reports", __name__, url_prefix="/reports")

STAFF = (Role.FACULTY, Role.LIBRARIAN, Role.ADMIN)
ACROSS_COHORTS = (Role.LIBRARIAN, Role.ADMIN)


# --- Helpers --------------------------------------------------------------------------------


def lang() -> str:
    return str(get_locale())


def min_n() -> int:
    return int(current_app.config["REPORT_MIN_N"])


def _assignment(assignment_id: int) -> Assignment:
    """The assignment if the person may see its cohort; otherwise it does not exist for them."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("There is no such report."))
    cohort_for_staff(current_user, assignment.cohort_id)
    return assignment


def _begin_writing() -> None:
    """GET requests read in a deferred SQLite transaction; a write needs one that holds the lock."""
    db.session.commit()
    set_write_intent(True)


def _ready(
    find: Callable[[], ReportSnapshot | None],
    create: Callable[[], ReportSnapshot],
    students: Callable[[], int],
) -> ReportSnapshot:
    """The snapshot to show: computed now when small and new, else recomputed by a job if stale."""
    now = utcnow()
    snapshot = find()
    if snapshot is not None and not snapshots.needs_work(snapshot, students, now):
        return snapshot
    _begin_writing()
    snapshot = create()
    queue = snapshots.prepare(snapshot, students, now)
    db.session.commit()
    if queue:
        enqueue(recompute_report, snapshot.id)
    return snapshot


def _assignment_snapshot(assignment: Assignment) -> ReportSnapshot:
    return _ready(
        lambda: snapshots.find_assignment_snapshot(assignment),
        lambda: snapshots.assignment_snapshot(assignment),
        lambda: services.enrolled_count([assignment]),
    )


def _computed(snapshot: ReportSnapshot) -> dict[str, Any]:
    if snapshot.document is None:
        raise documents.NotReady(_("The report is being prepared. Please try again in a minute."))
    return snapshot.document


def _status(snapshot: ReportSnapshot) -> dict[str, Any]:
    """Whether the snapshot shown is the newest, for the page and for its status poller."""
    now = utcnow()
    pending = snapshots.is_pending(snapshot, now)
    failed = snapshots.has_failed(snapshot, now)
    if pending:
        message = _("The report is being prepared.")
    elif snapshot.document is None:
        message = _("The report could not be prepared.")
    elif failed:
        message = _(
            "The last update of these figures failed; they are shown as they were. It is tried "
            "again after the next submitted test."
        )
    else:
        message = _("Newer figures are ready. Reload the page to see them.")
    return {
        "ready": snapshot.document is not None and not pending and not failed,
        "updating": pending,
        "failed": failed,
        "message": message,
    }


def _retry(snapshot: ReportSnapshot | None) -> None:
    """Queue a new recompute of a snapshot whose last one failed ("Try again")."""
    if snapshot is None:
        abort(404)
    _begin_writing()
    queue = snapshots.retry(snapshot, utcnow())
    db.session.commit()
    if queue:
        enqueue(recompute_report, snapshot.id)


def _download(data: bytes | str, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _filename(assignment: Assignment, extension: str) -> str:
    return f"report-{assignment.module.slug}-cohort-{assignment.cohort_id}.{extension}"


# --- Index and cohorts ----------------------------------------------------------------------


@bp.get("/")
@require_role(*STAFF)
def index() -> str:
    across = current_user.has_any_role(*ACROSS_COHORTS)
    return render_template(
        "reports/index.html",
        cohorts=staff_cohorts(current_user),
        modules=services.reported_modules(current_user) if across else [],
        lang=lang(),
    )


@bp.get("/cohorts/<int:cohort_id>")
@require_role(*STAFF)
def cohort(cohort_id: int) -> str:
    cohort = cohort_for_staff(current_user, cohort_id)
    overviews = []
    for assignment in services.assignments_of(cohort.id):
        snapshot = _assignment_snapshot(assignment)
        summary = None
        if snapshot.document is not None:
            summary = presentation.summary_context(
                snapshot.document, snapshot.labels, min_n=min_n(), locale=lang()
            )
        overviews.append({"assignment": assignment, "snapshot": snapshot, "summary": summary})
    return render_template(
        "reports/cohort.html", cohort=cohort, overviews=overviews, lang=lang(), status=_status
    )


# --- An assignment --------------------------------------------------------------------------


@bp.get("/assignments/<int:assignment_id>")
@require_role(*STAFF)
def assignment(assignment_id: int) -> str:
    assignment = _assignment(assignment_id)
    snapshot = _assignment_snapshot(assignment)
    if snapshot.document is None:
        return render_template(
            "reports/preparing.html",
            assignment=assignment,
            status=_status(snapshot),
            status_url=url_for(".assignment_status", assignment_id=assignment.id),
            retry_url=url_for(".assignment_retry", assignment_id=assignment.id),
        )
    context = presentation.report_context(
        snapshot.document,
        snapshot.labels,
        min_n=min_n(),
        locale=lang(),
        computed_at=snapshot.computed_at,
    )
    allowed = documents.appendix_allowed(snapshot.document, min_n())
    direct = documents.renders_directly(snapshot)
    form = PdfLinkForm() if direct else PdfForm()
    form.limit(allowed)
    return render_template(
        "reports/assignment.html",
        assignment=assignment,
        report=context,
        status=_status(snapshot),
        status_url=url_for(".assignment_status", assignment_id=assignment.id),
        pdf_form=form,
        pdf_direct=direct,
        students_allowed=allowed,
    )


@bp.get("/assignments/<int:assignment_id>/status.json")
@require_role(*STAFF)
def assignment_status(assignment_id: int) -> Response:
    assignment = _assignment(assignment_id)
    snapshot = snapshots.find_assignment_snapshot(assignment)
    if snapshot is None:
        abort(404)
    return jsonify(_status(snapshot))


@bp.post("/assignments/<int:assignment_id>/retry")
@require_role(*STAFF)
def assignment_retry(assignment_id: int) -> Response:
    assignment = _assignment(assignment_id)
    _retry(snapshots.find_assignment_snapshot(assignment))
    return redirect(url_for(".assignment", assignment_id=assignment.id))


@bp.get("/assignments/<int:assignment_id>.json")
@require_role(*STAFF)
def assignment_json(assignment_id: int) -> Response:
    assignment = _assignment(assignment_id)
    snapshot = _assignment_snapshot(assignment)
    report = presentation.shown(_computed(snapshot), snapshot.labels, min_n())
    report["computed_at"] = snapshot.computed_at.isoformat() if snapshot.computed_at else None
    text = json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)
    return Response(text, mimetype="application/json")


@bp.get("/assignments/<int:assignment_id>/items.csv")
@require_role(*STAFF)
def assignment_items_csv(assignment_id: int) -> Response:
    assignment = _assignment(assignment_id)
    snapshot = _assignment_snapshot(assignment)
    report = presentation.shown(_computed(snapshot), snapshot.labels, min_n())
    stream = io.StringIO()
    write_item_statistics(report, stream)
    # A byte-order mark makes spreadsheet programs read the file as UTF-8.
    return _download("\ufeff" + stream.getvalue(), "text/csv", _filename(assignment, "items.csv"))


def _appendix(choices: Sequence[Appendix]) -> Appendix:
    value = request.args.get("appendix", Appendix.NONE.value)
    try:
        appendix = Appendix(value)
    except ValueError:
        abort(400)
    if appendix not in choices:
        abort(400)
    return appendix


@bp.get("/assignments/<int:assignment_id>/students.csv")
@require_role(*STAFF)
def assignment_students_csv(assignment_id: int) -> Response:
    assignment = _assignment(assignment_id)
    appendix = _appendix((Appendix.NAMES, Appendix.PSEUDONYMS))
    snapshot = _assignment_snapshot(assignment)
    if not documents.appendix_allowed(_computed(snapshot), min_n()):
        raise NotFound(
            _(
                "Each student's scores are available once every test rests on at least %(num)d "
                "students.",
                num=min_n(),
            )
        )
    rows = documents.student_rows(snapshot, appendix)
    stream = io.StringIO()
    write_student_scores({"students": {"rows": rows}}, stream)
    return _download(
        "\ufeff" + stream.getvalue(), "text/csv", _filename(assignment, "students.csv")
    )


@bp.get("/assignments/<int:assignment_id>.pdf")
@require_role(*STAFF)
def assignment_pdf(assignment_id: int) -> Response:
    assignment = _assignment(assignment_id)
    appendix = _appendix(tuple(Appendix))
    snapshot = _assignment_snapshot(assignment)
    _computed(snapshot)
    done = documents.finished_pdf(snapshot, lang(), appendix)
    if done is not None and done.pdf is not None:
        return _download(done.pdf, "application/pdf", _filename(assignment, "pdf"))
    if documents.renders_directly(snapshot):
        pdf = documents.snapshot_pdf(snapshot, lang(), appendix, min_n())
        _begin_writing()
        documents.keep(snapshot, current_user, lang(), appendix, pdf)
        db.session.commit()
        return _download(pdf, "application/pdf", _filename(assignment, "pdf"))
    flash(
        _("This report is large: its PDF is prepared in the background. Choose its options below.")
    )
    return redirect(url_for(".assignment", assignment_id=assignment.id, _anchor="downloads"))


@bp.post("/assignments/<int:assignment_id>/pdf")
@require_role(*STAFF)
def request_pdf(assignment_id: int) -> Response:
    assignment = _assignment(assignment_id)
    snapshot = _assignment_snapshot(assignment)
    form = PdfForm()
    form.limit(documents.appendix_allowed(_computed(snapshot), min_n()))
    if not form.validate_on_submit():
        abort(400)
    pdf, new = documents.request_pdf(snapshot, current_user, lang(), Appendix(form.appendix.data))
    db.session.commit()
    # Queued after the commit: the job reads the request in its own database session.
    if new:
        enqueue(render_report_pdf, pdf.id)
    return redirect(url_for(".pdf_status", pdf_id=pdf.id))


def _pdf(pdf_id: int) -> tuple[ReportPdf, Assignment]:
    pdf = db.session.get(ReportPdf, pdf_id)
    if pdf is None or pdf.snapshot.assignment_id is None:
        raise NotFound(_("There is no such report."))
    return pdf, _assignment(pdf.snapshot.assignment_id)


def _pdf_state(pdf: ReportPdf) -> str:
    """``done``, ``failed`` (also when its job died) or ``pending``."""
    if pdf.status == PdfStatus.DONE:
        return "done"
    return "failed" if documents.has_failed(pdf, utcnow()) else "pending"


@bp.get("/pdfs/<int:pdf_id>")
@require_role(*STAFF)
def pdf_status(pdf_id: int) -> str:
    pdf, assignment = _pdf(pdf_id)
    return render_template(
        "reports/pdf_status.html",
        pdf=pdf,
        state=_pdf_state(pdf),
        assignment=assignment,
        status_url=url_for(".pdf_status_json", pdf_id=pdf.id),
    )


@bp.get("/pdfs/<int:pdf_id>/status.json")
@require_role(*STAFF)
def pdf_status_json(pdf_id: int) -> Response:
    pdf, _assignment_of_pdf = _pdf(pdf_id)
    state = _pdf_state(pdf)
    messages = {
        "done": _("The PDF is ready."),
        "failed": _("The PDF could not be made."),
        "pending": _("The PDF is being prepared."),
    }
    return jsonify(
        {
            "ready": state == "done",
            "failed": state == "failed",
            "status": pdf.status.value,
            "message": messages[state],
        }
    )


@bp.get("/pdfs/<int:pdf_id>.pdf")
@require_role(*STAFF)
def pdf_download(pdf_id: int) -> Response:
    pdf, assignment = _pdf(pdf_id)
    if pdf.status != PdfStatus.DONE or pdf.pdf is None:
        abort(404)
    return _download(pdf.pdf, "application/pdf", _filename(assignment, "pdf"))


# --- A module across cohorts ----------------------------------------------------------------


def _term_form(module: Module) -> TermForm:
    form = TermForm(request.args)
    terms = services.module_terms(current_user, module)
    form.term.choices = [SelectChoice("", _("All terms")), *(SelectChoice(t, t) for t in terms)]
    if form.term.data not in {"", *terms}:
        abort(404)
    return form


def _module_snapshot(
    module: Module, term: str | None, assignments: list[Assignment]
) -> ReportSnapshot:
    return _ready(
        lambda: snapshots.find_module_snapshot(module, term, assignments),
        lambda: snapshots.module_snapshot(module, term, assignments),
        lambda: services.enrolled_count(assignments),
    )


@bp.get("/modules/<slug>")
@require_role(*ACROSS_COHORTS)
def module(slug: str) -> str:
    module = services.module_by_slug(slug)
    form = _term_form(module)
    term = form.term.data or None
    assignments = services.module_assignments(current_user, module, term)
    if not assignments:
        return render_template("reports/module.html", module=module, form=form, report=None)
    snapshot = _module_snapshot(module, term, assignments)
    status_url = url_for(".module_status", slug=module.slug, term=term or "")
    if snapshot.document is None:
        return render_template(
            "reports/preparing.html",
            module=module,
            status=_status(snapshot),
            status_url=status_url,
            retry_url=url_for(".module_retry", slug=module.slug, term=term or ""),
        )
    context = presentation.report_context(
        snapshot.document,
        snapshot.labels,
        min_n=min_n(),
        locale=lang(),
        computed_at=snapshot.computed_at,
    )
    return render_template(
        "reports/module.html",
        module=module,
        form=form,
        report=context,
        cohorts=snapshot.document.get("cohorts", [snapshot.document.get("cohort")]),
        status=_status(snapshot),
        status_url=status_url,
    )


def _found_module_snapshot(module: Module) -> tuple[str | None, ReportSnapshot | None]:
    """The term asked for and the module's snapshot for it, if one exists (none is created)."""
    term = _term_form(module).term.data or None
    assignments = services.module_assignments(current_user, module, term)
    snapshot = snapshots.find_module_snapshot(module, term, assignments) if assignments else None
    return term, snapshot


@bp.post("/modules/<slug>/retry")
@require_role(*ACROSS_COHORTS)
def module_retry(slug: str) -> Response:
    module = services.module_by_slug(slug)
    term, snapshot = _found_module_snapshot(module)
    _retry(snapshot)
    return redirect(url_for(".module", slug=module.slug, term=term or ""))


@bp.get("/modules/<slug>/status.json")
@require_role(*ACROSS_COHORTS)
def module_status(slug: str) -> Response:
    module = services.module_by_slug(slug)
    _term, snapshot = _found_module_snapshot(module)
    if snapshot is None:
        abort(404)
    return jsonify(_status(snapshot))
