"""The completion certificate of a module, as a PDF in the student's language."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from ilms.accounts.models import User
from ilms.cohorts.models import Assignment
from ilms.delivery import services
from ilms.delivery.models import Attempt, Phase
from ilms.delivery.progress import content_language
from ilms.errors import NotFound
from ilms.pdf import render_pdf


def completion(assignment: Assignment, user: User) -> Attempt:
    """The post-test attempt that completes the module; NotFound while it is not complete."""
    services.student_membership(assignment, user)
    post = services.quiz_of(assignment, Phase.POST)
    counted = services.counted_attempt(
        services.submitted_attempts(post.id, user.id), assignment.counting
    )
    if counted is None or counted.submitted_at is None:
        raise NotFound(_("The certificate is ready once you have completed the module."))
    return counted


def certificate_context(assignment: Assignment, user: User, locale: str) -> dict[str, Any]:
    """Plain data for the certificate, with dates in ``locale`` and the user's time zone."""
    completed = completion(assignment, user)
    version = assignment.module_version
    lang = content_language(version, locale)
    return {
        "lang": locale,
        "module_lang": lang,
        "name": user.name,
        "module": version.text(version.title, lang),
        "cohort": assignment.cohort.label,
        "date": format_date(completed.submitted_at, "long"),
        "library": current_app.config["LIBRARY_NAME"],
        "reference": f"ILMS-{assignment.id}-{user.id}",
    }


def certificate_pdf(assignment: Assignment, user: User, locale: str) -> bytes:
    with force_locale(locale):
        context = certificate_context(assignment, user, locale)
    return render_pdf("learn/certificate_pdf.html", context, locale=locale)
