"""The import page for librarians and admins: upload a file, preview what will be imported and
what skipped, then confirm or cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ilms.errors import DomainError
from ilms.exchange import pending, services
from ilms.exchange.forms import ActionForm, UploadForm
from ilms.exchange.items import Imported
from ilms.exchange.safety import Limits, size_text
from ilms.extensions import db
from ilms.permissions import Role, require_role
from ilms.questions.types import get_type

bp = Blueprint("exchange", __name__, url_prefix="/questions/import")


def _uploads() -> Path:
    return pending.folder(current_app.instance_path)


def _limits() -> Limits:
    return Limits.from_config(current_app.config)


@bp.route("/", methods=["GET", "POST"])
@require_role(Role.LIBRARIAN, Role.ADMIN)
def upload() -> Response | tuple[str, int]:
    limits = _limits()
    # Requests larger than MAX_CONTENT_LENGTH never reach the view (413); the file's own limit
    # is checked when it is read.
    form = UploadForm()
    if form.validate_on_submit():
        try:
            return redirect(url_for(".preview", token=_keep(form, limits)))
        except DomainError as error:
            target = form.bank if error.field == "bank" else form.file
            target.errors = [*target.errors, error.message]
    return _upload_page(form, limits), 400 if form.errors else 200


def _keep(form: UploadForm, limits: Limits) -> str:
    """Read the file (refusing what cannot be imported at all) and keep what was read for the
    preview and the confirmation."""
    data = form.file.data.read(limits.max_upload + 1)
    name = Path(form.file.data.filename or "upload").name
    result = services.read_file(data, name, form.format.data or None, limits)
    services.plan(form.bank.data, result)
    upload = pending.Upload(
        user_id=current_user.id,
        bank=form.bank.data.strip(),
        title=(form.title.data or "").strip(),
        filename=name,
    )
    return pending.save(_uploads(), upload, result).token


def _upload_page(form: UploadForm, limits: Limits) -> str:
    return render_template(
        "exchange/upload.html",
        form=form,
        banks=services.standalone_banks(),
        max_upload=size_text(limits.max_upload),
        max_unzipped=size_text(limits.max_unzipped),
        max_entries=limits.max_entries,
    )


@bp.get("/<token>")
@require_role(Role.LIBRARIAN, Role.ADMIN)
def preview(token: str) -> str:
    upload, result = pending.load(_uploads(), token, current_user.id)
    planned = services.plan(upload.bank, result)
    return render_template(
        "exchange/preview.html",
        upload=upload,
        bank=services.find_bank(upload.bank),
        items=[_preview_item(item, status) for item, status in planned],
        skipped=result.skipped,
        form=ActionForm(),
    )


def _preview_item(item: Imported, status: str) -> dict[str, Any]:
    question = item.question
    qtype = get_type(question["type"])
    return {
        "key": item.key,
        "label": item.label,
        "status": status,
        "type": qtype.label,
        "points": qtype.max_points(question),
        "tags": question.get("tags", []),
        "notes": item.notes,
        "context": qtype.render_context(question, "en"),
        "answer": qtype.correct_answer_text(question, "en"),
    }


@bp.post("/<token>")
@require_role(Role.LIBRARIAN, Role.ADMIN)
def confirm(token: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    upload, result = pending.load(_uploads(), token, current_user.id)
    report = services.import_questions(upload.bank, result, upload.title or None)
    db.session.commit()
    pending.discard(_uploads(), token)
    flash(
        _(
            "Bank %(bank)s: %(new)d questions added, %(changed)d updated, %(unchanged)d "
            "unchanged; %(skipped)d items skipped.",
            bank=report.bank,
            new=report.count("new"),
            changed=report.count("changed"),
            unchanged=report.count("unchanged"),
            skipped=len(report.skipped),
        ),
        "success",
    )
    return redirect(url_for(".upload"))


@bp.post("/<token>/cancel")
@require_role(Role.LIBRARIAN, Role.ADMIN)
def cancel(token: str) -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    pending.discard(_uploads(), token)
    flash(_("The import was cancelled; nothing was saved."), "info")
    return redirect(url_for(".upload"))
