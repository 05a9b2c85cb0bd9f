"""Reports of an assignment (a module in a cohort), built from the database and suppressed."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ilms.cohorts.models import Assignment, Cohort
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.reports.loader import load_assignment
from ilms.reports.privacy import pseudonymise, suppress
from ilms.reports.stats import build_report


def assignment_report(
    assignment: Assignment,
    *,
    min_n: int | None = None,
    include_students: bool = False,
    deidentify: bool = False,
) -> dict[str, Any]:
    """The report document of ``assignment``, with small figures suppressed (docs/report-schema.md)."""
    data = load_assignment(assignment)
    report = build_report(
        data.pre,
        data.post,
        enrolled=data.enrolled,
        started=data.started,
        outcomes=data.outcomes,
        include_students=include_students,
        names=None if deidentify else data.names,
    )
    report["cohort"] = {
        "id": assignment.cohort_id,
        "label": assignment.cohort.label,
        "term": assignment.cohort.term,
    }
    report["module"] = {
        "slug": assignment.module.slug,
        "title": assignment.module_version.title,
        "version": assignment.module_version.number,
        "outcomes": assignment.module_version.outcomes,
    }
    if deidentify:
        report = pseudonymise(report, current_app.config["SECRET_KEY"])
    threshold = current_app.config["REPORT_MIN_N"] if min_n is None else min_n
    report = suppress(report, threshold)
    for item in report["items"]:
        item["label"] = data.labels.get(item["question"], item["question"])
    return report


def cohort_assignment(cohort_id: int, module_slug: str | None) -> Assignment:
    """The cohort's assignment of ``module_slug`` (or its only one)."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound(_("There is no such cohort."))
    assignments = cohort.assignments
    if module_slug:
        assignments = [a for a in assignments if a.module.slug == module_slug]
    if len(assignments) == 1:
        return assignments[0]
    if not assignments:
        raise DomainError(_("This cohort has no such module."))
    slugs = ", ".join(sorted(a.module.slug for a in assignments))
    raise DomainError(_("This cohort has several modules; choose one of: %(slugs)s.", slugs=slugs))


def assignments_of(cohort_id: int) -> list[Assignment]:
    return list(db.session.scalars(select(Assignment).where(Assignment.cohort_id == cohort_id)))
