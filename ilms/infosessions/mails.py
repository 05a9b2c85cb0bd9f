"""The mails of info sessions, each in its recipient's language and time zone, sent by the queue."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale

from ilms.accounts.models import User
from ilms.infosessions import quizzes
from ilms.infosessions.models import (
    GuestConfirmation,
    InfoSession,
    InstructionRequest,
    Registration,
)
from ilms.infosessions.timing import describe_when, zone_named
from ilms.mail import render_mail, send_mail


def url_context() -> AbstractContextManager[Any]:
    """A request context for ``url_for(_external=True)`` in a job or a command."""
    if has_request_context():
        return nullcontext()
    return current_app.test_request_context(base_url=current_app.config["BASE_URL"])


def _locale(locale: str | None) -> str:
    return locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def guest_link(registration: Registration) -> str:
    from ilms.infosessions.services import guest_token

    return url_for(
        "infosessions.guest_registration", token=guest_token(registration), _external=True
    )


def manage_link(registration: Registration) -> str:
    if registration.is_guest:
        return guest_link(registration)
    return url_for("infosessions.mine", _external=True)


def session_facts(
    session: InfoSession, locale: str, zone: ZoneInfo, *, with_link: bool
) -> dict[str, Any]:
    """What a mail says about a session; the online link only for people with a place."""
    return {
        "title": session.title_in(locale),
        "when": describe_when(session.starts_at, session.ends_at, zone, locale),
        "format": session.format.label,
        "location": session.location,
        "online_url": session.online_url if with_link else None,
        "url": url_for("infosessions.session", session_id=session.id, _external=True),
        "cancel_until": format_datetime(session.cancel_until, "medium", tzinfo=zone, locale=locale),
    }


def _zone_of(registration: Registration) -> ZoneInfo:
    return zone_named(registration.user.timezone if registration.user is not None else None)


def _send_to(template: str, registration: Registration, **extra: Any) -> None:
    locale = _locale(registration.mail_locale)
    zone = _zone_of(registration)
    with url_context(), force_locale(locale):
        context = {
            "name": registration.name,
            "registration": registration,
            "session": session_facts(
                registration.session, locale, zone, with_link=registration.has_place
            ),
            "manage_url": manage_link(registration),
            **extra,
        }
        mail = render_mail(template, locale, registration.email, **context)
    send_mail(mail)


def send_registration(registration: Registration) -> None:
    _send_to("session_registered", registration)


def send_promotion(registration: Registration) -> None:
    _send_to("session_promoted", registration)


def send_reminder(registration: Registration) -> None:
    _send_to("session_reminder", registration)


def send_session_cancelled(registration: Registration) -> None:
    _send_to("session_cancelled", registration)


def send_thank_you(registration: Registration) -> None:
    with url_context():
        if registration.is_guest:
            feedback_url = guest_link(registration)
        else:
            feedback_url = url_for(
                "infosessions.feedback", session_id=registration.session_id, _external=True
            )
        post_test = _post_test(registration)
    _send_to("session_thank_you", registration, feedback_url=feedback_url, post_test=post_test)


def _post_test(registration: Registration) -> dict[str, str] | None:
    """Until when the session's post-test is open, and where to find it (None: no post-test)."""
    session = registration.session
    if quizzes.current_assignment(session) is None:
        return None
    until = format_datetime(
        quizzes.post_test_closes(session),
        "medium",
        tzinfo=_zone_of(registration),
        locale=_locale(registration.mail_locale),
    )
    url = (
        guest_link(registration)
        if registration.is_guest
        else url_for("infosessions.session", session_id=session.id, _external=True)
    )
    return {"until": until, "url": url}


def send_series_registration(user: User, registrations: list[Registration]) -> None:
    locale = _locale(user.locale)
    zone = zone_named(user.timezone)
    with url_context(), force_locale(locale):
        dates = [
            {
                "status": registration.status.label,
                **session_facts(
                    registration.session, locale, zone, with_link=registration.has_place
                ),
            }
            for registration in registrations
        ]
        mail = render_mail(
            "session_series",
            locale,
            user.email,
            name=user.name,
            dates=dates,
            manage_url=url_for("infosessions.mine", _external=True),
        )
    send_mail(mail)


def send_guest_confirmation(confirmation: GuestConfirmation, token: str, hours: int) -> None:
    locale = _locale(confirmation.locale)
    with url_context(), force_locale(locale):
        mail = render_mail(
            "session_guest_confirm",
            locale,
            confirmation.email,
            name=confirmation.name,
            session=session_facts(confirmation.session, locale, zone_named(None), with_link=False),
            link=url_for("infosessions.confirm_guest", token=token, _external=True),
            hours=hours,
        )
    send_mail(mail)


def send_request_update(request: InstructionRequest) -> None:
    faculty = request.requested_by
    if faculty is None:
        return
    locale = _locale(faculty.locale)
    zone = zone_named(faculty.timezone)
    with url_context(), force_locale(locale):
        session = (
            session_facts(request.session, locale, zone, with_link=True)
            if request.session is not None
            else None
        )
        mail = render_mail(
            "session_request",
            locale,
            faculty.email,
            name=faculty.name,
            request=request,
            status=request.status.label,
            librarian=request.librarian.name if request.librarian else "",
            session=session,
            url=url_for("infosessions.request_detail", request_id=request.id, _external=True),
        )
    send_mail(mail)
