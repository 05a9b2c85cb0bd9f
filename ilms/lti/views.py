"""LTI 1.3 endpoints (log-in, launch, keys, content selection, grade return, roster) and the
administrators' pages for LMS platforms.

Registering the ``lti`` blueprint also installs the session interface that gives LTI sessions
iframe-friendly cookies and the framing rule for LTI pages (``ilms.lti.cookies``).
"""

from __future__ import annotations

from hmac import compare_digest
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ilms.accounts.views import client_address, is_local_url, log_in
from ilms.cohorts.models import Cohort
from ilms.cohorts.roster import write_csv
from ilms.cohorts.services import can_manage_cohort, cohort_for_staff
from ilms.db import set_write_intent
from ilms.errors import DomainError, attach_error
from ilms.extensions import csrf, db
from ilms.lti import cookies, deep_linking, grades, keys, roster, services, setup
from ilms.lti import platforms as lti_platforms
from ilms.lti.claims import ALL_SCOPES
from ilms.lti.cookies import LTI_SESSION_KEY
from ilms.lti.forms import (
    ActionForm,
    DeepLinkForm,
    DeploymentForm,
    LaunchForm,
    PlatformForm,
    ResumeForm,
)
from ilms.lti.models import GradeStatus, LinkTarget, LtiDeployment, LtiPlatform
from ilms.permissions import Role, require_role
from ilms.security import content_security_policy, current_frame_ancestors

bp = Blueprint("lti", __name__, url_prefix="/lti")
admin_bp = Blueprint("lti_admin", __name__, url_prefix="/admin/lti")


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    cookies.init_app(state.app)


@bp.app_template_global("lti_grade_summary")
def lti_grade_summary(cohort_id: int) -> dict[str, Any] | None:
    return grades.cohort_summary(cohort_id)


def refusal(error: DomainError, restart: str | None = None) -> tuple[str, int]:
    page = render_template("lti/refused.html", message=error.message, restart=restart)
    return page, error.status_code


def language() -> str:
    return str(get_locale())


# --- Log-in and launch ----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt
def login() -> BaseResponse | tuple[str, int]:
    """OIDC third-party initiated log-in: remember state and nonce, send the browser on."""
    # The platform may use GET; this request records the log-in, so it takes the write lock.
    set_write_intent(True)
    token = cookies.ensure_browser_token()
    try:
        target = services.start_login(request.values.to_dict(), token)
    except DomainError as error:
        db.session.rollback()
        services.record_refusal(None, error.message, client_address())
        db.session.commit()
        return refusal(error)
    db.session.commit()
    response = redirect(target)
    cookies.set_browser_cookie(response, token)
    return response


@bp.post("/launch")
@csrf.exempt
def launch() -> BaseResponse | tuple[str, int]:
    """The platform's form post of the id_token (checked by state, nonce and signature)."""
    form = LaunchForm()
    state = form.state.data or None
    try:
        accepted = services.accept_launch(
            state, form.id_token.data or None, cookies.browser_token(), client_address()
        )
    except DomainError as error:
        db.session.rollback()
        services.record_refusal(state, error.message, client_address())
        db.session.commit()
        return refusal(error, _restart_for(error))
    log_in(accepted.launch.user)
    session[LTI_SESSION_KEY] = accepted.launch.ref
    db.session.commit()
    return redirect(url_for("lti.launched", token=accepted.resume_token), 303)


def _restart_for(error: DomainError) -> str | None:
    if isinstance(error, services.BrowserMismatch):
        return services.restart_url(error.login_params)
    return None


@bp.get("/launched")
def launched() -> BaseResponse | str:
    """Where a launch lands: on its page if the session cookie came back, else an offer to
    continue in a new window (the browser blocks cookies inside the LMS page)."""
    token = request.args.get("token")
    current = services.launch_by_ref(session.get(LTI_SESSION_KEY))
    if (
        current is not None
        and token
        and compare_digest(current.resume_token_hash, services.digest(token))
    ):
        return redirect(current.landing_path if is_local_url(current.landing_path) else "/")
    services.launch_by_resume_token(token)
    return render_template("lti/new_window.html", form=ResumeForm(token=token))


@bp.post("/open")
@csrf.exempt
def open_in_window() -> BaseResponse:
    """Continue a launch in a window of its own, with the launch's one-time token."""
    form = ResumeForm()
    opened = services.resume_launch(form.token.data)
    log_in(opened.user)
    session[LTI_SESSION_KEY] = opened.ref
    db.session.commit()
    return redirect(opened.landing_path if is_local_url(opened.landing_path) else "/")


@bp.get("/jwks")
def jwks() -> Response:
    response = jsonify(keys.jwks())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


# --- Deep Linking ---------------------------------------------------------------------------


@bp.route("/deep-linking", methods=["GET", "POST"])
@login_required
def deep_linking_page() -> Response | str | tuple[str, int]:
    launch = deep_linking.deep_linking_launch(services.launch_by_ref(session.get(LTI_SESSION_KEY)))
    if launch.user_id != current_user.id:
        abort(404)
    choices = deep_linking.module_choices(language())
    form = DeepLinkForm()
    form.offer(
        [(m.id, m.title) for m in choices],
        [(t.value, deep_linking.target_label(t)) for t in LinkTarget],
    )
    if form.validate_on_submit():
        try:
            reply = deep_linking.place_module(
                launch, form.module.data, LinkTarget(form.target.data), language()
            )
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            return _return_to_platform(reply)
    page = render_template("lti/deep_linking.html", form=form, choices=choices)
    return (page, 400) if form.is_submitted() else page


def _return_to_platform(reply: deep_linking.DeepLinkingResponse) -> Response:
    """The page that posts the signed response to the platform (by script, or by its button)."""
    response = make_response(render_template("lti/deep_linking_return.html", reply=reply))
    response.headers["Content-Security-Policy"] = content_security_policy(
        current_frame_ancestors(), form_action=f"'self' {reply.return_origin}"
    )
    return response


# --- Grade return and roster (faculty) ------------------------------------------------------


def _cohort(cohort_id: int) -> Cohort:
    return cohort_for_staff(current_user, cohort_id)


@bp.get("/cohorts/<int:cohort_id>/grades")
@login_required
def grade_return(cohort_id: int) -> str:
    cohort = _cohort(cohort_id)
    return render_template(
        "lti/grades.html",
        cohort=cohort,
        context=grades.context_of(cohort),
        rows=grades.cohort_submissions(cohort),
        counts=grades.status_counts(cohort.id),
        status_label=grades.status_label,
        retryable=(GradeStatus.FAILED, GradeStatus.PENDING),
        action_form=ActionForm(),
        language=language(),
    )


@bp.post("/cohorts/<int:cohort_id>/grades/<int:submission_id>/retry")
@login_required
def retry_grade(cohort_id: int, submission_id: int) -> BaseResponse:
    cohort = _cohort(cohort_id)
    row = grades.submission_in(cohort, submission_id)
    if row is None:
        abort(404)
    if ActionForm().validate_on_submit():
        grades.retry(row, current_user)
        db.session.commit()
        flash(_("The score is being sent again."), "success")
    return redirect(url_for("lti.grade_return", cohort_id=cohort.id))


@bp.get("/cohorts/<int:cohort_id>/grades.csv")
@login_required
def grade_export(cohort_id: int) -> Response:
    cohort = _cohort(cohort_id)
    body = write_csv(grades.export_header(), grades.export_rows(cohort, language()))
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    name = f"grades-{cohort.course_code}-{cohort.id}.csv".replace('"', "")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/cohorts/<int:cohort_id>/roster")
@login_required
def roster_page(cohort_id: int) -> str:
    cohort = _cohort(cohort_id)
    return render_template(
        "lti/roster.html",
        cohort=cohort,
        context=roster.context_for(cohort),
        manage=can_manage_cohort(current_user, cohort),
        action_form=ActionForm(),
    )


@bp.post("/cohorts/<int:cohort_id>/roster/sync")
@login_required
def roster_sync(cohort_id: int) -> BaseResponse:
    cohort = _cohort(cohort_id)
    if not can_manage_cohort(current_user, cohort):
        abort(403)
    if ActionForm().validate_on_submit():
        try:
            roster.request_sync(cohort, current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The roster is being brought up to date from the LMS."), "success")
    return redirect(url_for("lti.roster_page", cohort_id=cohort.id))


# --- Administration of platforms ------------------------------------------------------------


def _platform(platform_id: int) -> LtiPlatform:
    return db.get_or_404(LtiPlatform, platform_id)


@admin_bp.get("/")
@require_role(Role.ADMIN)
def platforms() -> str:
    return render_template("lti/admin/platforms.html", platforms=lti_platforms.platforms())


@admin_bp.get("/setup")
@require_role(Role.ADMIN)
def setup_page() -> str:
    return render_template(
        "lti/admin/setup.html",
        urls=setup.tool_urls(),
        canvas_json=setup.canvas_json(
            "ILMS", _("Information literacy modules, pre-tests and post-tests.")
        ),
        scopes=ALL_SCOPES,
        keys=keys.published_keys(),
        action_form=ActionForm(),
    )


@admin_bp.post("/keys/rotate")
@require_role(Role.ADMIN)
def rotate_key() -> BaseResponse:
    if ActionForm().validate_on_submit():
        key = lti_platforms.rotate_key(current_user)
        db.session.commit()
        flash(_("A new signing key %(kid)s is in use.", kid=key.kid), "success")
    return redirect(url_for("lti_admin.setup_page"))


@admin_bp.route("/platforms/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def new_platform() -> BaseResponse | str | tuple[str, int]:
    form = PlatformForm()
    if form.validate_on_submit():
        try:
            platform = lti_platforms.add_platform(
                form.details(), form.deployment_list(), current_user
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is registered.", name=platform.name), "success")
            return redirect(url_for("lti_admin.platform", platform_id=platform.id))
    page = render_template("lti/admin/platform_form.html", form=form, platform=None)
    return (page, 400) if form.is_submitted() else page


@admin_bp.route("/platforms/<int:platform_id>", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def platform(platform_id: int) -> BaseResponse | str | tuple[str, int]:
    record = _platform(platform_id)
    form = PlatformForm(obj=record)
    del form.deployment_ids  # deployments are added and removed one by one on this page
    if form.validate_on_submit():
        try:
            lti_platforms.update_platform(record, form.details(), current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("The platform has been saved."), "success")
            return redirect(url_for("lti_admin.platform", platform_id=record.id))
    page = render_template(
        "lti/admin/platform.html",
        form=form,
        platform=record,
        deployment_form=DeploymentForm(),
        action_form=ActionForm(),
    )
    return (page, 400) if form.is_submitted() else page


@admin_bp.post("/platforms/<int:platform_id>/deployments")
@require_role(Role.ADMIN)
def add_deployment(platform_id: int) -> BaseResponse | tuple[str, int]:
    record = _platform(platform_id)
    form = DeploymentForm()
    if form.validate_on_submit():
        try:
            lti_platforms.add_deployment(record, form.deployment_id.data, current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The deployment has been added."), "success")
    else:
        flash(_("Enter the deployment id the platform shows."), "error")
    return redirect(url_for("lti_admin.platform", platform_id=record.id))


@admin_bp.post("/platforms/<int:platform_id>/deployments/<int:deployment_id>/delete")
@require_role(Role.ADMIN)
def remove_deployment(platform_id: int, deployment_id: int) -> BaseResponse:
    deployment = db.get_or_404(LtiDeployment, deployment_id)
    if deployment.platform_id != platform_id:
        abort(404)
    if ActionForm().validate_on_submit():
        lti_platforms.remove_deployment(deployment, current_user)
        db.session.commit()
        flash(_("The deployment has been removed; its launches are refused."), "success")
    return redirect(url_for("lti_admin.platform", platform_id=platform_id))


@admin_bp.post("/platforms/<int:platform_id>/active")
@require_role(Role.ADMIN)
def platform_active(platform_id: int) -> BaseResponse:
    record = _platform(platform_id)
    if ActionForm().validate_on_submit():
        lti_platforms.set_platform_active(record, not record.active, current_user)
        db.session.commit()
        flash(
            _("Launches from this platform are accepted.")
            if record.active
            else _("Launches from this platform are refused."),
            "success",
        )
    return redirect(url_for("lti_admin.platform", platform_id=record.id))
