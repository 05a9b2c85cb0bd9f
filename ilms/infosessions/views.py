"""Pages of info sessions: the public catalogue and session pages, registration (also for guests),
check-in, feedback and certificates; for librarians scheduling, the roster, the import and the
figures; for faculty, requests for a session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ilms.accounts.services import normalise_email
from ilms.authoring.package import frame_name
from ilms.cohorts.services import staff_cohorts
from ilms.db import utcnow
from ilms.delivery.models import Phase
from ilms.errors import DomainError, attach_error
from ilms.extensions import db
from ilms.infosessions import documents, figures, ics, importer, queries, quizzes, services
from ilms.infosessions.forms import (
    ActionForm,
    AnnualReportForm,
    CheckInForm,
    FeedbackForm,
    GuestForm,
    ImportConfirmForm,
    ImportForm,
    RequestAnswerForm,
    RequestForm,
    RosterForm,
    SessionCreateForm,
    SessionForm,
    format_choices,
    language_choices,
)
from ilms.infosessions.jobs import render_annual_report
from ilms.infosessions.models import (
    AnnualReport,
    InfoSession,
    InstructionRequest,
    Registration,
    RegistrationStatus,
    ReportStatus,
    RequestStatus,
    audience_label,
)
from ilms.infosessions.timing import (
    academic_year_of,
    describe_when,
    period,
    term_keys,
    term_label,
    year_label,
)
from ilms.jobs import enqueue
from ilms.permissions import Role, require_role

bp = Blueprint("infosessions", __name__, url_prefix="/sessions")

PHASE = "<any(pre, post):phase>"

PAGE_SIZE = 20
STAFF = (Role.LIBRARIAN, Role.ADMIN)


def lang() -> str:
    return str(get_locale())


def now() -> datetime:
    return utcnow()


def is_staff() -> bool:
    return current_user.is_authenticated and current_user.has_any_role(*STAFF)


@bp.app_template_filter("session_when")
def session_when(session: InfoSession) -> str:
    return describe_when(session.starts_at, session.ends_at, get_timezone(), lang())


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "audience_label": audience_label,
        "frame_name": frame_name,
        "format_choices": format_choices,
        "language_choices": language_choices,
        "is_staff": is_staff,
        "term_label": term_label,
        "year_label": year_label,
    }


def session_or_404(session_id: int) -> InfoSession:
    return db.get_or_404(InfoSession, session_id)


def own_registration_or_404(registration_id: int) -> Registration:
    """A registration of the person logged in; librarians may act on anyone's."""
    registration = db.get_or_404(Registration, registration_id)
    if registration.user_id != current_user.id and not is_staff():
        abort(404)
    return registration


def done(message: str, target: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(target)


def failed(error: DomainError, target: str) -> Response:
    db.session.rollback()
    flash(error.message, "error")
    return redirect(target)


# --- The catalogue and a session's page -------------------------------------------------------


def date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("")
def catalogue() -> str:
    filters = queries.CatalogueFilters(
        topic=request.args.get("topic", "").strip(),
        language=request.args.get("language", ""),
        format=request.args.get("format", ""),
        date_from=date_arg("from"),
        date_to=date_arg("to"),
    )
    sessions = queries.catalogue_sessions(filters, now())
    page = queries.paginate(sessions, request.args.get("page", 1, type=int), PAGE_SIZE)
    counts = queries.place_counts([s.id for s in page.items])
    topics = queries.topics_in(queries.upcoming_listed(now()))
    filter_args = {
        key: value for key, value in request.args.items() if key != "page" and value.strip()
    }
    return render_template(
        "infosessions/catalogue.html",
        page=page,
        counts=counts,
        filters=filters,
        filter_args=filter_args,
        topics=topics,
        lang=lang(),
    )


def _my_registration(session: InfoSession) -> Registration | None:
    if not current_user.is_authenticated:
        return None
    return services.find_registration(session.id, current_user)


@bp.get("/<int:session_id>")
def session(session_id: int) -> str:
    info = session_or_404(session_id)
    registration = _my_registration(info)
    moment = now()
    person = current_user if current_user.is_authenticated else None
    tests = quizzes.tests_for(info, person, lang(), moment)
    context: dict[str, Any] = {
        "info": info,
        "registration": registration,
        "counts": queries.place_counts([info.id])[info.id],
        "problem": services.registration_problem(info, moment),
        "check_in_open": services.check_in_open(info, moment),
        "can_cancel": registration is not None and _may_cancel(info, registration, moment),
        "series": info.series.sessions if info.series else [],
        "is_over": info.ends_at <= moment,
        "tests": tests,
        "action_form": ActionForm(),
        "guest_form": GuestForm(),
        "lang": lang(),
    }
    if is_staff():
        answers = queries.feedback_of(info)
        ratings = [r.feedback.rating for r in answers if r.feedback is not None]
        context["feedback"] = answers
        context["feedback_mean"] = (
            format_decimal(sum(ratings) / len(ratings), "#,##0.#") if ratings else ""
        )
        context["test_reports"] = [
            {"assignment": a, "title": quizzes.module_title(a, lang())}
            for a in quizzes.report_assignments(info, current_user)
        ]
    return render_template("infosessions/session.html", **context)


def _may_cancel(info: InfoSession, registration: Registration, moment: datetime) -> bool:
    if registration.status is RegistrationStatus.WAITLISTED:
        return moment < info.starts_at
    return registration.status is RegistrationStatus.REGISTERED and moment < info.cancel_until


def _calendar(sessions: list[InfoSession], name: str, *, with_link: bool) -> Response:
    host = urlsplit(request.host_url).hostname or "ilms"
    entries = [queries.calendar_entry(s, lang(), with_link=with_link, host=host) for s in sessions]
    body = ics.calendar(entries, name, now())
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "no-store"})


@bp.get("/<int:session_id>.ics")
def session_ics(session_id: int) -> Response:
    info = session_or_404(session_id)
    registration = _my_registration(info)
    with_link = registration is not None and registration.has_place
    response = _calendar([info], info.title_in(lang()), with_link=with_link)
    response.headers["Content-Disposition"] = f'attachment; filename="session-{info.id}.ics"'
    return response


@bp.get("/feed.ics")
def feed() -> Response:
    sessions = queries.upcoming_listed(now())
    name = _("%(library)s: information sessions", library=current_app.config["LIBRARY_NAME"])
    return _calendar(sessions, name, with_link=False)


# --- Registering, cancelling ------------------------------------------------------------------


@bp.post("/<int:session_id>/register")
@login_required
def register(session_id: int) -> Response:
    info = session_or_404(session_id)
    target = url_for(".session", session_id=info.id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        registration = services.register(info, current_user)
    except DomainError as error:
        return failed(error, target)
    if registration.status is RegistrationStatus.WAITLISTED:
        return done(_("The session is full: you are on the waitlist."), target)
    return done(_("You are registered. A confirmation is on its way to your email."), target)


@bp.post("/<int:session_id>/register-series")
@login_required
def register_series(session_id: int) -> Response:
    info = session_or_404(session_id)
    target = url_for(".session", session_id=info.id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        made = services.register_series(info, current_user)
    except DomainError as error:
        return failed(error, target)
    return done(
        ngettext(
            "You are registered for %(num)d date.",
            "You are registered for %(num)d dates.",
            len(made),
        ),
        target,
    )


@bp.post("/registrations/<int:registration_id>/cancel")
@login_required
def cancel(registration_id: int) -> Response:
    registration = own_registration_or_404(registration_id)
    target = url_for(".session", session_id=registration.session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    by_staff = is_staff() and registration.user_id != current_user.id
    try:
        services.cancel_registration(registration, by_staff=by_staff)
    except DomainError as error:
        return failed(error, target)
    return done(_("The registration is cancelled."), target)


@bp.get("/mine")
@login_required
def mine() -> str:
    return render_template(
        "infosessions/mine.html",
        registrations=queries.registrations_of(current_user),
        action_form=ActionForm(),
        now=now(),
        lang=lang(),
    )


# --- The session's pre-test and post-test -----------------------------------------------------


def _to_test(assignment_id: int, phase: str) -> Response:
    db.session.commit()
    return redirect(url_for("learn.quiz", assignment_id=assignment_id, phase=phase))


@bp.post(f"/<int:session_id>/tests/{PHASE}")
@login_required
def take_test(session_id: int, phase: str) -> Response:
    """Join the session's cohort as a student and go to the test (before or after the session)."""
    info = session_or_404(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        assignment = quizzes.take_test(info, current_user, Phase(phase))
    except DomainError as error:
        return failed(error, url_for(".session", session_id=info.id))
    return _to_test(assignment.id, phase)


@bp.post(f"/registration/<token>/tests/{PHASE}")
@login_required
def guest_take_test(token: str, phase: str) -> Response:
    """A guest who has logged in takes the tests: their registration moves to their account."""
    registration = _guest_registration(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        assignment = quizzes.take_test_with_link(registration, current_user, Phase(phase))
    except DomainError as error:
        return failed(error, url_for(".guest_registration", token=token))
    return _to_test(assignment.id, phase)


# --- Guests -----------------------------------------------------------------------------------


@bp.post("/<int:session_id>/guest")
def guest(session_id: int) -> Response | tuple[str, int]:
    info = session_or_404(session_id)
    if current_user.is_authenticated:
        return redirect(url_for(".session", session_id=info.id))
    form = GuestForm()
    if form.validate_on_submit():
        try:
            services.request_guest_place(info, form.email.data, form.name.data, lang())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for(".guest_sent", session_id=info.id))
    return render_template(
        "infosessions/guest_form.html", info=info, guest_form=form, lang=lang()
    ), 400


@bp.get("/<int:session_id>/guest/sent")
def guest_sent(session_id: int) -> str:
    return render_template(
        "infosessions/guest_sent.html", info=session_or_404(session_id), lang=lang()
    )


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_guest(token: str) -> Response | str | tuple[str, int]:
    try:
        confirmation = services.find_guest_confirmation(token)
    except DomainError as error:
        return render_template("infosessions/link_invalid.html", message=error.message), 410
    form = ActionForm()
    if form.validate_on_submit():
        try:
            registration = services.confirm_guest(token)
        except DomainError as error:
            db.session.rollback()
            return render_template("infosessions/link_invalid.html", message=error.message), 409
        db.session.commit()
        if registration.is_guest:
            return redirect(
                url_for(".guest_registration", token=services.guest_token(registration))
            )
        flash(_("Your place is confirmed."), "success")
        return redirect(url_for(".session", session_id=registration.session_id))
    return render_template(
        "infosessions/confirm_guest.html", confirmation=confirmation, form=form, lang=lang()
    )


def _guest_registration(token: str) -> Registration:
    return services.find_guest_registration(token)


@bp.get("/registration/<token>")
def guest_registration(token: str) -> str:
    registration = _guest_registration(token)
    info = registration.session
    moment = now()
    tests = quizzes.tests_for(info, None, lang(), moment)
    return render_template(
        "infosessions/guest_registration.html",
        registration=registration,
        info=info,
        token=token,
        can_cancel=_may_cancel(info, registration, moment),
        check_in_open=services.check_in_open(info, moment),
        tests=tests,
        tests_problem=tests
        and quizzes.test_problem(info, tests.assignment, registration, tests.phase, moment),
        may_claim=current_user.is_authenticated
        and normalise_email(current_user.email) == registration.guest_email,
        action_form=ActionForm(),
        check_in_form=CheckInForm(),
        feedback_form=_feedback_form(registration),
        lang=lang(),
    )


@bp.post("/registration/<token>/cancel")
def guest_cancel(token: str) -> Response:
    registration = _guest_registration(token)
    target = url_for(".guest_registration", token=token)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        services.cancel_registration(registration)
    except DomainError as error:
        return failed(error, target)
    return done(_("The registration is cancelled."), target)


@bp.post("/registration/<token>/check-in")
def guest_check_in(token: str) -> Response:
    registration = _guest_registration(token)
    target = url_for(".guest_registration", token=token)
    form = CheckInForm()
    if not form.validate_on_submit():
        flash(_("Enter the code shown in the room."), "error")
        return redirect(target)
    try:
        services.check_in(registration.session, form.code.data, registration)
    except DomainError as error:
        return failed(error, target)
    return done(_("You are checked in. Welcome!"), target)


@bp.post("/registration/<token>/feedback")
def guest_feedback(token: str) -> Response:
    registration = _guest_registration(token)
    target = url_for(".guest_registration", token=token)
    form = FeedbackForm()
    if not form.validate_on_submit():
        flash(_("Choose a rating."), "error")
        return redirect(target)
    try:
        services.give_feedback(
            registration, int(form.rating.data), form.useful.data or "", form.comments.data or ""
        )
    except DomainError as error:
        return failed(error, target)
    return done(_("Thank you for your feedback."), target)


@bp.get("/registration/<token>/certificate.pdf")
def guest_certificate(token: str) -> Response:
    return _certificate(_guest_registration(token))


@bp.get("/registration/<token>/session.ics")
def guest_ics(token: str) -> Response:
    registration = _guest_registration(token)
    info = registration.session
    return _calendar([info], info.title_in(lang()), with_link=registration.has_place)


# --- Check-in, feedback, certificates for people with an account -------------------------------


@bp.route("/<int:session_id>/check-in", methods=["GET", "POST"])
@login_required
def check_in(session_id: int) -> Response | str | tuple[str, int]:
    info = session_or_404(session_id)
    form = CheckInForm()
    if form.validate_on_submit():
        try:
            services.check_in(info, form.code.data, current_user)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return done(_("You are checked in. Welcome!"), url_for(".session", session_id=info.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "infosessions/check_in.html",
        info=info,
        form=form,
        open=services.check_in_open(info, now()),
        lang=lang(),
    ), status


def _feedback_form(registration: Registration) -> FeedbackForm:
    form = FeedbackForm()
    if request.method == "GET" and registration.feedback is not None:
        form.rating.data = str(registration.feedback.rating)
        form.useful.data = registration.feedback.useful
        form.comments.data = registration.feedback.comments
    return form


@bp.route("/<int:session_id>/feedback", methods=["GET", "POST"])
@login_required
def feedback(session_id: int) -> Response | str | tuple[str, int]:
    info = session_or_404(session_id)
    registration = services.find_registration(info.id, current_user)
    if registration is None or registration.status is not RegistrationStatus.ATTENDED:
        abort(404)
    form = _feedback_form(registration)
    if form.validate_on_submit():
        try:
            services.give_feedback(
                registration,
                int(form.rating.data),
                form.useful.data or "",
                form.comments.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return done(_("Thank you for your feedback."), url_for(".session", session_id=info.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "infosessions/feedback.html", info=info, form=form, registration=registration, lang=lang()
    ), status


def _certificate(registration: Registration) -> Response:
    if registration.status is not RegistrationStatus.ATTENDED:
        abort(404)
    pdf = documents.certificate_pdf(registration, lang())
    filename = f"certificate-{registration.session_id}-{registration.id}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/registrations/<int:registration_id>/certificate.pdf")
@login_required
def certificate(registration_id: int) -> Response:
    return _certificate(own_registration_or_404(registration_id))


# --- Librarians: scheduling --------------------------------------------------------------------


@bp.get("/manage")
@require_role(*STAFF)
def manage() -> str:
    view = "past" if request.args.get("view") == "past" else "upcoming"
    sessions = queries.managed_sessions(view, now())
    page = queries.paginate(sessions, request.args.get("page", 1, type=int), PAGE_SIZE * 2)
    return render_template(
        "infosessions/manage.html",
        page=page,
        view=view,
        counts=queries.place_counts([s.id for s in page.items]),
        open_requests=queries.open_request_count(),
        lang=lang(),
    )


def _module_choices(current_id: int | None) -> list[tuple[str, str]]:
    modules = queries.quiz_module_choices(current_user, current_id)
    return [
        (str(m.id), f"{m.current_version.text(m.current_version.title, lang())} ({m.slug})")
        for m in modules
        if m.current_version is not None
    ]


def _prepared(form: SessionForm, info: InfoSession | None = None) -> SessionForm:
    current = info.quiz_module_id if info is not None else None
    form.set_choices(queries.presenter_choices(), _module_choices(current))
    return form


def _request_for_new() -> InstructionRequest | None:
    request_id = request.values.get("request", type=int) or request.form.get("request_id", type=int)
    if request_id is None:
        return None
    found = db.get_or_404(InstructionRequest, request_id)
    if found.status not in (RequestStatus.REQUESTED, RequestStatus.ACCEPTED):
        abort(409)
    return found


@bp.route("/new", methods=["GET", "POST"])
@require_role(*STAFF)
def new() -> Response | str | tuple[str, int]:
    form = _prepared(SessionCreateForm())
    linked = _request_for_new()
    if request.method == "GET":
        form.cancel_cutoff_hours.data = current_app.config["INFO_SESSION_CANCEL_CUTOFF_HOURS"]
        form.presenters.data = [current_user.id]
        if linked is not None:
            form.fill_from_request(linked)
            form.request_id.data = str(linked.id)
    if form.validate_on_submit():
        presenters = queries.users_by_ids(form.presenters.data or [])
        cohort = linked.cohort_id if linked else None
        try:
            created = services.create_sessions(
                form.session_data(presenters, cohort),
                current_user,
                repeat_weeks=form.repeat_weeks.data,
                request=linked,
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            message = ngettext(
                "The session has been created.", "%(num)d dates have been created.", len(created)
            )
            return done(message, url_for(".session", session_id=created[0].id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "infosessions/edit.html", form=form, info=None, linked=linked, lang=lang()
    ), status


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@require_role(*STAFF)
def edit(session_id: int) -> Response | str | tuple[str, int]:
    info = session_or_404(session_id)
    form = _prepared(SessionForm(), info)
    if request.method == "GET":
        form.fill_from(info)
    if form.validate_on_submit():
        presenters = queries.users_by_ids(form.presenters.data or [])
        try:
            services.update_session(
                info, form.session_data(presenters, info.cohort_id), actor=current_user
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return done(_("The session has been saved."), url_for(".session", session_id=info.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "infosessions/edit.html", form=form, info=info, linked=None, lang=lang()
    ), status


@bp.post("/<int:session_id>/cancel-session")
@require_role(*STAFF)
def cancel_session(session_id: int) -> Response:
    info = session_or_404(session_id)
    target = url_for(".session", session_id=info.id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        count = services.cancel_session(info)
    except DomainError as error:
        return failed(error, target)
    return done(
        ngettext(
            "The session is cancelled; %(num)d person has been told.",
            "The session is cancelled; %(num)d people have been told.",
            count,
        ),
        target,
    )


# --- Librarians: attendance --------------------------------------------------------------------


@bp.route("/<int:session_id>/roster", methods=["GET", "POST"])
@require_role(*STAFF)
def roster(session_id: int) -> Response | str | tuple[str, int]:
    info = session_or_404(session_id)
    people = services.roster(info)
    form = RosterForm.for_roster(people)
    if form.validate_on_submit():
        marks = {
            registration_id: RegistrationStatus(value)
            for registration_id, value in form.marks().items()
            if value in ("attended", "no_show")
        }
        try:
            services.record_attendance(info, marks, close=bool(form.close.data))
        except DomainError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            message = (
                _("Attendance saved and the roster closed.")
                if form.close.data
                else _("Attendance saved.")
            )
            return done(message, url_for(".roster", session_id=info.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "infosessions/roster.html",
        info=info,
        people=people,
        waiting=services.waitlist(info),
        form=form,
        check_in_open=services.check_in_open(info, now()),
        lang=lang(),
    ), status


@bp.get("/<int:session_id>/code")
@require_role(*STAFF)
def code(session_id: int) -> str:
    info = session_or_404(session_id)
    return render_template("infosessions/code.html", info=info, lang=lang())


# --- Librarians: importing a schedule --------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@require_role(*STAFF)
def import_schedule() -> str | tuple[str, int]:
    form = ImportForm()
    schedule = None
    confirm = ImportConfirmForm()
    if form.validate_on_submit():
        raw = form.file.data.read()
        schedule = importer.read_schedule(raw)
        confirm.content.data = importer.decode(raw)[0]
    status = 400 if request.method == "POST" and (schedule is None or not schedule.ok) else 200
    return render_template(
        "infosessions/import.html", form=form, schedule=schedule, confirm=confirm, lang=lang()
    ), status


@bp.post("/import/confirm")
@require_role(*STAFF)
def import_confirm() -> Response | tuple[str, int]:
    confirm = ImportConfirmForm()
    if not confirm.validate_on_submit():
        abort(400)
    schedule = importer.read_schedule((confirm.content.data or "").encode("utf-8"))
    try:
        created = importer.import_schedule(schedule, current_user)
    except DomainError as error:
        db.session.rollback()
        return render_template(
            "infosessions/import.html",
            form=ImportForm(formdata=None),
            schedule=schedule,
            confirm=confirm,
            problem=error.message,
            lang=lang(),
        ), 400
    return done(
        ngettext(
            "%(num)d session has been imported.",
            "%(num)d sessions have been imported.",
            len(created),
        ),
        url_for(".manage"),
    )


# --- Librarians: figures ---------------------------------------------------------------------


def _chosen_period() -> tuple[int, str | None]:
    year = request.args.get("year", type=int) or academic_year_of(now())
    term = request.args.get("term") or None
    if term not in (None, *term_keys()):
        abort(404)
    if not 2000 <= year <= 2100:
        abort(404)
    return year, term


@bp.get("/figures")
@require_role(*STAFF)
def figures_page() -> str:
    year, term = _chosen_period()
    context = documents.figures_context(period(year, term), now(), lang())
    report_form = AnnualReportForm(year=str(year), term=term or "")
    return render_template(
        "infosessions/figures.html",
        figures=context,
        year=year,
        term=term,
        years=range(academic_year_of(now()) + 1, academic_year_of(now()) - 10, -1),
        terms=term_keys(),
        report_form=report_form,
        reports=queries.recent_reports(current_user),
        lang=lang(),
    )


@bp.get("/figures.csv")
@require_role(*STAFF)
def figures_csv() -> Response:
    year, term = _chosen_period()
    report = figures.figures_for(period(year, term), now(), lang())
    filename = f"info-sessions-{year}{'-' + term if term else ''}.csv"
    return Response(
        figures.to_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/figures/annual-report")
@require_role(*STAFF)
def annual_report() -> Response:
    form = AnnualReportForm()
    if not form.validate_on_submit() or not (form.year.data or "").isdigit():
        abort(400)
    term = form.term.data or None
    if term not in (None, *term_keys()):
        abort(400)
    report = services.request_annual_report(int(form.year.data), term, current_user, lang())
    db.session.commit()
    # Queued after the commit: the job reads the row in its own database session.
    enqueue(render_annual_report, report.id)
    return redirect(url_for(".annual_report_status", report_id=report.id))


def _report_or_404(report_id: int) -> AnnualReport:
    report = db.get_or_404(AnnualReport, report_id)
    if report.requested_by_id != current_user.id and not current_user.is_admin:
        abort(404)
    return report


@bp.get("/figures/annual-reports/<int:report_id>")
@require_role(*STAFF)
def annual_report_status(report_id: int) -> str:
    report = _report_or_404(report_id)
    return render_template(
        "infosessions/annual_report.html",
        report=report,
        period=period(report.year, report.term),
        done=report.status is ReportStatus.DONE,
        lang=lang(),
    )


@bp.get("/figures/annual-reports/<int:report_id>.pdf")
@require_role(*STAFF)
def annual_report_pdf(report_id: int) -> Response:
    report = _report_or_404(report_id)
    if report.status is not ReportStatus.DONE or report.pdf is None:
        abort(404)
    filename = f"info-sessions-annual-report-{report.year}.pdf"
    return Response(
        report.pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- Faculty: instruction requests ------------------------------------------------------------


@bp.get("/requests")
@require_role(Role.FACULTY, *STAFF)
def requests() -> str:
    return render_template(
        "infosessions/requests.html",
        requests=queries.requests_for(current_user),
        staff=is_staff(),
        lang=lang(),
    )


@bp.route("/requests/new", methods=["GET", "POST"])
@require_role(Role.FACULTY, Role.ADMIN)
def request_new() -> Response | str | tuple[str, int]:
    form = RequestForm()
    form.set_cohorts([(c.id, c.label) for c in staff_cohorts(current_user)])
    if request.method == "GET":
        form.language.data = lang()
    if form.validate_on_submit():
        try:
            made = services.create_request(current_user, form.request_data())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return done(
                _("Your request has been sent to the library."),
                url_for(".request_detail", request_id=made.id),
            )
    status = 400 if request.method == "POST" else 200
    return render_template("infosessions/request_new.html", form=form), status


def _request_or_404(request_id: int) -> InstructionRequest:
    found = db.get_or_404(InstructionRequest, request_id)
    if found.requested_by_id != current_user.id and not is_staff():
        abort(404)
    return found


@bp.get("/requests/<int:request_id>")
@require_role(Role.FACULTY, *STAFF)
def request_detail(request_id: int) -> str:
    found = _request_or_404(request_id)
    return render_template(
        "infosessions/request.html",
        item=found,
        staff=is_staff(),
        form=RequestAnswerForm(),
        lang=lang(),
    )


@bp.post("/requests/<int:request_id>/answer")
@require_role(*STAFF)
def request_answer(request_id: int) -> Response:
    found = _request_or_404(request_id)
    target = url_for(".request_detail", request_id=found.id)
    form = RequestAnswerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if form.decline.data:
            services.decline_request(found, current_user, form.message.data or "")
        else:
            services.accept_request(found, current_user, form.message.data or "")
    except DomainError as error:
        return failed(error, target)
    return done(_("Your answer has been sent to the instructor."), target)
