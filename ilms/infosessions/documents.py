"""The figures as one plain context, rendered as the dashboard and as the annual report PDF;
and certificates of attendance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ilms.authoring.package import frame_name, language_name
from ilms.errors import DomainError
from ilms.infosessions.figures import Figures, SessionFact, figures_for, summarise
from ilms.infosessions.models import (
    AnnualReport,
    Registration,
    RegistrationStatus,
    SessionFormat,
    audience_label,
)
from ilms.infosessions.timing import Period, library_zone, period, zone_named
from ilms.pdf import render_pdf

BREAKDOWN_TITLES = {
    "topic": _l("By topic"),
    "presenter": _l("By presenter"),
    "format": _l("By format"),
    "audience": _l("By audience"),
    "language": _l("By language of instruction"),
}
BREAKDOWN_COLUMNS = {
    "topic": _l("Topic"),
    "presenter": _l("Presenter"),
    "format": _l("Format"),
    "audience": _l("Audience"),
    "language": _l("Language"),
}
NOTHING = "–"


def _percent(value: float | None, locale: str) -> str:
    return NOTHING if value is None else format_percent(value, "#,##0.0%", locale=locale)


def _decimal(value: float | None, locale: str) -> str:
    return NOTHING if value is None else format_decimal(value, "#,##0.##", locale=locale)


def figures_row(label: str, figures: Figures, locale: str) -> dict[str, Any]:
    return {
        "label": label,
        "sessions": figures.sessions,
        "hours": _decimal(figures.hours, locale),
        "registrations": figures.registrations,
        "attended": figures.attended,
        "no_shows": figures.no_shows,
        "waitlisted": figures.waitlisted,
        "cancellations": figures.cancellations,
        "attendance_rate": _percent(figures.attendance_rate, locale),
        "no_show_rate": _percent(figures.no_show_rate, locale),
        "feedback": figures.feedback,
        "mean_rating": _decimal(figures.mean_rating, locale),
    }


def group_label(breakdown: str, key: str) -> str:
    if breakdown == "format":
        return SessionFormat(key).label
    if breakdown == "audience":
        return audience_label(key)
    if breakdown == "language":
        return language_name(key)
    return key


def _session_row(fact: SessionFact, locale: str) -> dict[str, Any]:
    day = format_date(fact.starts_at.astimezone(library_zone()).date(), "medium", locale=locale)
    return {"date": day, **figures_row(fact.title, summarise([fact]), locale)}


def figures_context(chosen: Period, now: datetime, locale: str) -> dict[str, Any]:
    """Everything the dashboard and the annual report show, as plain values in ``locale``."""
    report = figures_for(chosen, now, locale)
    return {
        "period": chosen.label,
        "library": current_app.config["LIBRARY_NAME"],
        "generated": format_datetime(now, "medium", tzinfo=library_zone(), locale=locale),
        "totals": figures_row(chosen.label, report.totals, locale),
        "breakdowns": [
            {
                "name": name,
                "title": str(BREAKDOWN_TITLES[name]),
                "column": str(BREAKDOWN_COLUMNS[name]),
                "rows": [
                    figures_row(group_label(name, key), figures, locale) for key, figures in groups
                ],
            }
            for name, groups in report.breakdowns.items()
        ],
        "sessions": [_session_row(fact, locale) for fact in report.sessions],
    }


def annual_report_pdf(report: AnnualReport, now: datetime) -> bytes:
    with force_locale(report.locale):
        context = figures_context(period(report.year, report.term), now, report.locale)
    return render_pdf(
        "infosessions/annual_report_pdf.html",
        {"figures": context, "lang": report.locale},
        locale=report.locale,
    )


def certificate_context(registration: Registration, locale: str) -> dict[str, Any]:
    session = registration.session
    zone = zone_named(registration.user.timezone if registration.user else None)
    minutes = round(session.duration.total_seconds() / 60)
    return {
        "lang": locale,
        "name": registration.name,
        "title": session.title_in(locale),
        "date": format_date(session.starts_at.astimezone(zone).date(), "long", locale=locale),
        "minutes": minutes,
        "presenters": [person.name for person in session.presenters],
        "topics": session.topics,
        "frames": [frame_name(frame) for frame in session.frames],
        "library": current_app.config["LIBRARY_NAME"],
        "reference": f"ILMS-{session.id}-{registration.id}",
    }


def certificate_pdf(registration: Registration, locale: str) -> bytes:
    """A one-page certificate of attendance; small enough to render in the request."""
    if registration.status is not RegistrationStatus.ATTENDED:
        raise DomainError(_("Certificates are for people who attended the session."))
    with force_locale(locale):
        context = certificate_context(registration, locale)
    return render_pdf("infosessions/certificate_pdf.html", context, locale=locale)
