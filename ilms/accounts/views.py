"""Log-in, log-out, sign-up, passwords and profile; and the administration of users."""

from __future__ import annotations

from urllib.parse import urlsplit

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
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, or_, select

from ilms.accounts import services
from ilms.accounts.forms import (
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    ResetPasswordForm,
    ResetRequestForm,
    SignupForm,
    UserActiveForm,
    UserCreateForm,
    UserRolesForm,
)
from ilms.accounts.models import AuditEvent, User
from ilms.db import read_before_writing
from ilms.errors import DomainError, attach_error
from ilms.extensions import db, login_manager
from ilms.home.views import home_url_for
from ilms.permissions import Role, require_role

auth_bp = Blueprint("auth", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")

SESSION_TOKEN_KEY = "login_token"  # noqa: S105  (a session key name, not a secret)
PAGE_SIZE = 50


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    with read_before_writing(db.session()):
        return services.load_login_session(session.get(SESSION_TOKEN_KEY), user_id)


@login_manager.unauthorized_handler
def unauthorized() -> Response | tuple[Response, int]:
    if request.path.startswith("/api/"):
        return jsonify(error={"code": 401, "message": _("Please log in.")}), 401
    flash(_("Please log in to see this page."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def is_local_url(target: str | None) -> bool:
    if not target:
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    )


def client_address() -> str:
    return request.remote_addr or "unknown"


def log_in(user: User) -> None:
    """Start a fresh session for ``user``: nothing from the anonymous session is carried over."""
    locale = session.get("locale")
    session.clear()
    token = services.start_login_session(user, client_address(), request.user_agent.string)
    session[SESSION_TOKEN_KEY] = token
    session.permanent = True
    if locale and not user.locale:
        user.locale = locale
    login_user(user)


# --- Log-in and log-out ---------------------------------------------------------------------


@auth_bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client_address())
        except services.TooManyAttempts as error:
            db.session.commit()  # keep the audit record
            form.form_errors.append(error.message)
            status = 429
        except services.InvalidCredentials as error:
            db.session.commit()
            form.form_errors.append(error.message)
            status = 401
        else:
            log_in(user)
            # Straight to the person's home page, not through "/": one round trip fewer for a
            # class logging in at once, some of it on slow connections. Found before the commit,
            # which would otherwise have the account read again for it.
            target = form.next.data if is_local_url(form.next.data) else home_url_for(user)
            db.session.commit()
            return redirect(target)
    elif request.method == "POST":
        status = 400
    return render_template(
        "accounts/login.html", form=form, signup=current_app.config["SIGNUP_ENABLED"]
    ), status


@auth_bp.post("/logout")
def logout() -> Response:
    user = current_user if current_user.is_authenticated else None
    services.end_login_session(session.get(SESSION_TOKEN_KEY), user)
    db.session.commit()
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have logged out."), "success")
    return redirect(url_for("auth.login"))


@auth_bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | str:
    if not current_app.config["SIGNUP_ENABLED"]:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.email.data,
                form.name.data,
                [Role.STUDENT],
                form.password.data,
                locale=session.get("locale"),
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            log_in(user)
            db.session.commit()
            flash(_("Welcome! Your account has been created."), "success")
            return redirect(url_for("home.index"))
    return render_template("accounts/signup.html", form=form)


# --- Passwords ------------------------------------------------------------------------------


@auth_bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Response | str:
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, client_address())
        db.session.commit()
        flash(
            _(
                "If an account exists for %(email)s, we have sent it a link to set a new password.",
                email=form.email.data,
            ),
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_template("accounts/forgot_password.html", form=form)


@auth_bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    try:
        services.find_reset_token(token)
    except DomainError as error:
        return render_template("accounts/reset_invalid.html", message=error.message), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Your password has been changed. Please log in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("accounts/reset_password.html", form=form)


@auth_bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> Response | str:
    profile = ProfileForm(prefix="profile", obj=current_user)
    password = PasswordChangeForm(prefix="password")
    if profile.submit.data and profile.validate_on_submit():
        services.update_profile(
            current_user, profile.name.data, profile.locale.data, profile.timezone.data
        )
        session.pop("locale", None)
        db.session.commit()
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("auth.account"))
    if password.submit.data and password.validate_on_submit():
        try:
            services.change_password(
                current_user,
                password.current_password.data,
                password.password.data,
                session.get(SESSION_TOKEN_KEY),
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(password, error)
        else:
            db.session.commit()
            flash(
                _("Your password has been changed. Other devices have been logged out."), "success"
            )
            return redirect(url_for("auth.account"))
    if request.method == "GET":
        profile.locale.data = current_user.locale or ""
        profile.timezone.data = current_user.timezone or ""
    return render_template("accounts/account.html", profile=profile, password=password)


@auth_bp.post("/language")
def set_language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.lang.data
        if current_user.is_authenticated:
            current_user.locale = form.lang.data
            db.session.commit()
    target = form.next.data
    return redirect(target if is_local_url(target) else url_for("home.index"))


# --- Administration of users ----------------------------------------------------------------


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@admin_bp.get("/users")
@require_role(Role.ADMIN)
def users() -> str:
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(User).order_by(func.lower(User.name), User.id)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(func.lower(User.name).like(like), func.lower(User.email).like(like))
        )
    if role in {r.value for r in Role}:
        query = query.where(User.role_rows.any(role=Role(role)))
    pagination = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
    return render_template(
        "admin/users.html", pagination=pagination, q=q, role=role, roles=list(Role)
    )


@admin_bp.route("/users/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def create_user() -> Response | str:
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.email.data,
                form.name.data,
                [Role(r) for r in form.roles.data],
                form.password.data or None,
                locale=form.locale.data or None,
                actor=current_user,
            )
            if not form.password.data:
                services.request_password_reset(user.email, client_address())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            flash(_("The account for %(name)s has been created.", name=user.name), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


@admin_bp.get("/users/<int:user_id>")
@require_role(Role.ADMIN)
def user(user_id: int) -> str:
    person = _user_or_404(user_id)
    roles = UserRolesForm(roles=[r.value for r in person.roles])
    active = UserActiveForm(active=person.active)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_user_id == person.id)
        .order_by(AuditEvent.at.desc())
        .limit(20)
    ).all()
    return render_template(
        "admin/user.html", person=person, roles_form=roles, active_form=active, events=events
    )


@admin_bp.post("/users/<int:user_id>/roles")
@require_role(Role.ADMIN)
def user_roles(user_id: int) -> Response | str | tuple[str, int]:
    person = _user_or_404(user_id)
    form = UserRolesForm()
    if form.validate_on_submit():
        try:
            services.set_roles(person, [Role(r) for r in form.roles.data], current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Roles saved."), "success")
        return redirect(url_for("admin.user", user_id=person.id))
    active = UserActiveForm(active=person.active)
    return render_template(
        "admin/user.html", person=person, roles_form=form, active_form=active, events=[]
    ), 400


@admin_bp.post("/users/<int:user_id>/active")
@require_role(Role.ADMIN)
def user_active(user_id: int) -> Response:
    person = _user_or_404(user_id)
    form = UserActiveForm()
    if form.validate_on_submit():
        try:
            services.set_active(person, bool(form.active.data), current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(
                _("Account activated.")
                if person.active
                else _("Account deactivated; the person has been logged out."),
                "success",
            )
    return redirect(url_for("admin.user", user_id=person.id))


@admin_bp.get("/audit")
@require_role(Role.ADMIN)
def audit_log() -> str:
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    pagination = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
    return render_template("admin/audit.html", pagination=pagination)
