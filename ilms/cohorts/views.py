"""Cohort pages for faculty and librarians, with the roster import and export.

Every cohort page loads the cohort through ``cohort_for_staff`` (404 for people who may not see
it, so that ids do not leak) and checks ``can_manage_cohort`` before any change (403). Grading
answers is the exception: every member of the staff grades, instructors included.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts import queries, services, uploads
from ilms.cohorts.forms import (
    COUNTING_NAMES,
    FEEDBACK_NAMES,
    ROLE_NAMES,
    AccommodationsForm,
    ActionForm,
    AssignmentForm,
    AssignmentSettingsForm,
    CohortForm,
    GradeForm,
    JoiningForm,
    RosterConfirmForm,
    RosterUploadForm,
    StaffForm,
    library_zone,
)
from ilms.cohorts.models import Assignment, Cohort, MemberRole
from ilms.cohorts.roster import MAX_ROSTER_BYTES, parse_roster, write_csv
from ilms.db import utcnow
from ilms.delivery import grading
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase
from ilms.errors import DomainError, attach_error
from ilms.extensions import db
from ilms.permissions import Role, require_role

bp = Blueprint("cohorts", __name__)

STAFF = (Role.FACULTY, Role.LIBRARIAN, Role.ADMIN)


# --- Helpers --------------------------------------------------------------------------------


def _viewable(cohort_id: int) -> Cohort:
    return services.cohort_for_staff(current_user, cohort_id)


def _manageable(cohort_id: int) -> Cohort:
    cohort = _viewable(cohort_id)
    if not services.can_manage_cohort(current_user, cohort):
        abort(403)
    return cohort


def _member(cohort: Cohort, user_id: int, role: MemberRole | None = None) -> User:
    """A member of the cohort (with ``role``, if given); anyone else is not found."""
    user = db.session.get(User, user_id)
    member = services.membership(cohort, user) if user is not None else None
    if user is None or member is None or (role is not None and member.role != role):
        abort(404)
    return user


def lang() -> str:
    return str(get_locale())


@bp.app_template_global("my_cohorts")
def my_cohorts() -> list[queries.CohortSummary]:
    """The cohorts of the person logged in, for the faculty home and the librarian workbench."""
    return queries.cohort_summaries(current_user)


@bp.app_context_processor
def _names() -> dict[str, Any]:
    return {"member_role_names": ROLE_NAMES}


# --- Cohorts --------------------------------------------------------------------------------


@bp.get("/cohorts")
@require_role(*STAFF)
def index() -> str:
    return render_template("cohorts/index.html", summaries=my_cohorts())


@bp.route("/cohorts/new", methods=["GET", "POST"])
@require_role(*STAFF)
def new() -> Response | str | tuple[str, int]:
    form = CohortForm()
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(current_user, **asdict(form.details()))
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("The cohort %(label)s has been created.", label=cohort.label), "success")
            return redirect(url_for("cohorts.show", cohort_id=cohort.id))
    elif not form.is_submitted():
        form.language.data = lang()
    return _form_page("cohorts/cohort_form.html", form, cohort=None)


def _form_page(template: str, form: FlaskForm, **context: Any) -> str | tuple[str, int]:
    page = render_template(template, form=form, **context)
    return (page, 400) if form.is_submitted() else page


@bp.get("/cohorts/<int:cohort_id>")
@login_required
def show(cohort_id: int) -> str:
    cohort = _viewable(cohort_id)
    return render_template(
        "cohorts/show.html",
        cohort=cohort,
        manage=services.can_manage_cohort(current_user, cohort),
        members=queries.members_by_role(cohort),
        assignments=queries.cohort_assignments(cohort),
        progress=queries.assignment_progress(cohort),
        waiting=grading.waiting_counts(cohort),
        action_form=ActionForm(),
        joining_form=JoiningForm(enabled="off" if cohort.join_enabled else "on"),
        counting_names=COUNTING_NAMES,
        feedback_names=FEEDBACK_NAMES,
        phases=(Phase.PRE, Phase.POST),
        module_title=queries.module_title,
        lang=lang(),
    )


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@login_required
def edit(cohort_id: int) -> Response | str | tuple[str, int]:
    cohort = _manageable(cohort_id)
    form = CohortForm(obj=cohort)
    if form.validate_on_submit():
        try:
            services.update_cohort(cohort, form.details())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("The cohort has been saved."), "success")
            return redirect(url_for("cohorts.show", cohort_id=cohort.id))
    return _form_page("cohorts/cohort_form.html", form, cohort=cohort)


@bp.post("/cohorts/<int:cohort_id>/join-code")
@login_required
def regenerate_code(cohort_id: int) -> Response:
    cohort = _manageable(cohort_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    code = services.regenerate_join_code(cohort)
    db.session.commit()
    flash(_("The new join code is %(code)s. The old code no longer works.", code=code), "success")
    return redirect(url_for("cohorts.show", cohort_id=cohort.id, _anchor="joining"))


@bp.post("/cohorts/<int:cohort_id>/joining")
@login_required
def joining(cohort_id: int) -> Response:
    cohort = _manageable(cohort_id)
    form = JoiningForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_joining(cohort, form.enabled.data == "on")
    db.session.commit()
    if cohort.join_enabled:
        flash(_("Students can join with the code and the link again."), "success")
    else:
        flash(_("Joining is turned off: the code and the link no longer work."), "success")
    return redirect(url_for("cohorts.show", cohort_id=cohort.id, _anchor="joining"))


# --- Members --------------------------------------------------------------------------------


def _members_page(
    cohort: Cohort,
    staff_form: StaffForm | None = None,
    failed: tuple[int, AccommodationsForm] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    members = queries.members_by_role(cohort)
    manage = services.can_manage_cohort(current_user, cohort)
    forms = {
        m.user_id: AccommodationsForm(
            prefix=f"m{m.user_id}",
            formdata=None,
            time_multiplier=m.time_multiplier,
            extra_attempts=m.extra_attempts,
        )
        for m in members[MemberRole.STUDENT]
    }
    if failed is not None:
        forms[failed[0]] = failed[1]
    page = render_template(
        "cohorts/members.html",
        cohort=cohort,
        manage=manage,
        members=members,
        staff=[m for role in services.STAFF_ROLES for m in members[role]],
        staff_form=staff_form or StaffForm(formdata=None),
        accommodation_forms=forms,
        failed_form=failed[1] if failed else None,
        action_form=ActionForm(),
    )
    return page, status


@bp.get("/cohorts/<int:cohort_id>/members")
@login_required
def members(cohort_id: int) -> tuple[str, int]:
    return _members_page(_viewable(cohort_id))


@bp.post("/cohorts/<int:cohort_id>/members/staff")
@login_required
def add_staff(cohort_id: int) -> Response | tuple[str, int]:
    cohort = _manageable(cohort_id)
    form = StaffForm()
    if form.validate_on_submit():
        try:
            member = services.add_staff(cohort, form.email.data, MemberRole(form.role.data))
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "%(name)s is in the cohort as: %(role)s.",
                    name=member.user.name,
                    role=ROLE_NAMES[member.role],
                ),
                "success",
            )
            return redirect(url_for("cohorts.members", cohort_id=cohort.id, _anchor="staff"))
    return _members_page(cohort, staff_form=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/members/<int:user_id>/remove")
@login_required
def remove_member(cohort_id: int, user_id: int) -> Response:
    cohort = _manageable(cohort_id)
    user = _member(cohort, user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.remove_member(cohort, user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("%(name)s has been removed from the cohort.", name=user.name), "success")
    return redirect(url_for("cohorts.members", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/members/<int:user_id>/accommodations")
@login_required
def accommodations(cohort_id: int, user_id: int) -> Response | tuple[str, int]:
    cohort = _manageable(cohort_id)
    user = _member(cohort, user_id, MemberRole.STUDENT)
    form = AccommodationsForm(prefix=f"m{user_id}")
    if form.validate_on_submit():
        try:
            services.set_accommodations(
                cohort, user, float(form.time_multiplier.data), form.extra_attempts.data or 0
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Accommodations for %(name)s saved.", name=user.name), "success")
            return redirect(
                url_for("cohorts.members", cohort_id=cohort.id, _anchor=f"student-{user_id}")
            )
    return _members_page(cohort, failed=(user_id, form), status=400)


# --- Assigned modules -----------------------------------------------------------------------


@bp.route("/cohorts/<int:cohort_id>/assignments/new", methods=["GET", "POST"])
@login_required
def assign(cohort_id: int) -> Response | str | tuple[str, int]:
    cohort = _manageable(cohort_id)
    modules = queries.assignable_modules(cohort)
    form = AssignmentForm.blank(utcnow())
    form.offer(modules, lang())
    if form.validate_on_submit():
        try:
            assignment = _assign(cohort, form)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return _assignment_saved(assignment, _("The module has been assigned."))
    return _assignment_page(form, cohort, None)


def _assign(cohort: Cohort, form: AssignmentForm) -> Assignment:
    module = db.session.get(Module, form.module.data)
    if module is None:
        raise DomainError(_("Choose one of the modules offered."), field="module")
    return services.assign_module(cohort, module, **asdict(form.settings()))


@bp.route("/cohorts/<int:cohort_id>/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_assignment(cohort_id: int, assignment_id: int) -> Response | str | tuple[str, int]:
    cohort = _manageable(cohort_id)
    assignment = services.assignment_in(cohort, assignment_id)
    form = AssignmentSettingsForm.of(assignment)
    if form.validate_on_submit():
        try:
            services.update_assignment(assignment, form.settings())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return _assignment_saved(assignment, _("The settings have been saved."))
    return _assignment_page(
        form,
        cohort,
        assignment,
        newer=services.newer_version(assignment),
        started=services.students_started(assignment),
        title=queries.module_title(assignment.module_version, lang()),
        action_form=ActionForm(),
    )


def _assignment_saved(assignment: Assignment, message: str) -> Response:
    """Commit, say so, and show the assignment on its cohort's page."""
    db.session.commit()
    flash(message, "success")
    return redirect(
        url_for("cohorts.show", cohort_id=assignment.cohort_id, _anchor=f"a{assignment.id}")
    )


def _assignment_page(
    form: AssignmentSettingsForm, cohort: Cohort, assignment: Assignment | None, **context: Any
) -> str | tuple[str, int]:
    """The form that assigns a module (``assignment`` None) or changes an assignment's settings."""
    return _form_page(
        "cohorts/assignment_form.html",
        form,
        cohort=cohort,
        assignment=assignment,
        zone=library_zone().key,
        **context,
    )


@bp.post("/cohorts/<int:cohort_id>/assignments/<int:assignment_id>/adopt")
@login_required
def adopt_version(cohort_id: int, assignment_id: int) -> Response:
    cohort = _manageable(cohort_id)
    assignment = services.assignment_in(cohort, assignment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        version = services.adopt_newest_version(assignment)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            _("The cohort now uses version %(number)d of the module.", number=version.number),
            "success",
        )
    return redirect(
        url_for("cohorts.edit_assignment", cohort_id=cohort.id, assignment_id=assignment.id)
    )


# --- Grading open responses ---------------------------------------------------------------


@bp.get("/cohorts/<int:cohort_id>/assignments/<int:assignment_id>/grading")
@require_role(*STAFF)
def grading_page(cohort_id: int, assignment_id: int) -> tuple[str, int]:
    cohort = _viewable(cohort_id)
    return _grading_page(cohort, services.assignment_in(cohort, assignment_id))


@bp.post("/cohorts/<int:cohort_id>/assignments/<int:assignment_id>/grading/<int:response_id>")
@require_role(*STAFF)
def grade(cohort_id: int, assignment_id: int, response_id: int) -> Response | tuple[str, int]:
    cohort = _viewable(cohort_id)
    assignment = services.assignment_in(cohort, assignment_id)
    response = grading.response_in(assignment, response_id)
    form = GradeForm(prefix=f"r{response_id}")
    if form.validate_on_submit():
        try:
            delivery.grade_response(response, form.points_value(), current_user, form.comment.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Saved: %(points)s of %(max)s points for %(name)s.",
                    points=format_decimal(response.points),
                    max=format_decimal(response.max_points),
                    name=response.attempt.user.name,
                ),
                "success",
            )
            return redirect(
                url_for("cohorts.grading_page", cohort_id=cohort.id, assignment_id=assignment.id)
            )
    return _grading_page(cohort, assignment, failed=(response_id, form), status=400)


def _grading_page(
    cohort: Cohort,
    assignment: Assignment,
    failed: tuple[int, GradeForm] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    items = grading.grading_items(assignment)
    forms = {
        item.response_id: GradeForm(
            prefix=f"r{item.response_id}",
            formdata=None,
            points="" if item.points is None else format_decimal(item.points),
            comment=item.comment,
        )
        for item in items
    }
    if failed is not None:
        forms[failed[0]] = failed[1]
    page = render_template(
        "cohorts/grading.html",
        cohort=cohort,
        assignment=assignment,
        title=queries.module_title(assignment.module_version, lang()),
        waiting=[item for item in items if item.waiting],
        graded=[item for item in items if not item.waiting],
        forms=forms,
        failed_form=failed[1] if failed else None,
    )
    return page, status


# --- Roster export and import ---------------------------------------------------------------


def _filename(cohort: Cohort) -> str:
    label = "-".join(part for part in (cohort.course_code, cohort.section) if part)
    safe = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower()
    return f"roster-{safe or cohort.id}.csv"


@bp.get("/cohorts/<int:cohort_id>/roster.csv")
@login_required
def export_roster(cohort_id: int) -> Response:
    cohort = _viewable(cohort_id)
    table = queries.roster_table(cohort, lang())
    return Response(
        write_csv(table.header, table.rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(cohort)}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/cohorts/<int:cohort_id>/roster/import", methods=["GET", "POST"])
@login_required
def import_roster(cohort_id: int) -> Response | str | tuple[str, int]:
    cohort = _manageable(cohort_id)
    form = RosterUploadForm()
    if form.validate_on_submit():
        data = form.file.data.stream.read(MAX_ROSTER_BYTES + 1)
        try:
            parse_roster(data)
        except DomainError as error:
            attach_error(form, DomainError(error.message, field="file"))
        else:
            token = uploads.save_pending(cohort.id, current_user.id, data)
            return redirect(url_for("cohorts.preview_roster", cohort_id=cohort.id, token=token))
    return _form_page(
        "cohorts/roster_import.html", form, cohort=cohort, max_kb=MAX_ROSTER_BYTES // 1024
    )


def _preview(cohort: Cohort, token: str, data: bytes, status: int = 200) -> tuple[str, int]:
    plan = services.plan_roster_import(cohort, parse_roster(data))
    page = render_template(
        "cohorts/roster_preview.html",
        cohort=cohort,
        plan=plan,
        token=token,
        form=RosterConfirmForm(formdata=None),
        action_names=_action_names(),
    )
    return page, status


def _action_names() -> dict[str, str]:
    return {
        services.RowAction.EXISTING: _("Existing account: will be enrolled"),
        services.RowAction.NEW: _("New account: will be created and invited"),
        services.RowAction.MEMBER: _("Already in the cohort: no change"),
        services.RowAction.ERROR: _("Error: correct the file"),
    }


@bp.get("/cohorts/<int:cohort_id>/roster/import/<token>")
@login_required
def preview_roster(cohort_id: int, token: str) -> tuple[str, int]:
    cohort = _manageable(cohort_id)
    return _preview(cohort, token, uploads.load_pending(cohort.id, current_user.id, token))


@bp.post("/cohorts/<int:cohort_id>/roster/import/<token>")
@login_required
def confirm_roster(cohort_id: int, token: str) -> Response | tuple[str, int]:
    cohort = _manageable(cohort_id)
    if not RosterConfirmForm().validate_on_submit():
        abort(400)
    claimed = uploads.claim_pending(cohort.id, current_user.id, token)
    data = claimed.read_bytes()
    try:
        result = services.import_roster(cohort, parse_roster(data), current_user)
        db.session.commit()
    except (DomainError, IntegrityError):
        db.session.rollback()
        uploads.release_claim(claimed)
        flash(
            _("Nothing was imported: the roster changed meanwhile. Check the preview again."),
            "error",
        )
        return _preview(cohort, token, data, status=409)
    uploads.discard(claimed)
    services.send_invitations(result.invitations)
    enrolled = ngettext("%(num)d student enrolled.", "%(num)d students enrolled.", result.added)
    invited = ngettext(
        "%(num)d invitation sent.", "%(num)d invitations sent.", len(result.invitations)
    )
    flash(f"{enrolled} {invited}", "success")
    return redirect(url_for("cohorts.members", cohort_id=cohort.id))
