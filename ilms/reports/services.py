"""Reports of an assignment (a module in a cohort) or of a module across cohorts, built from the
database; which assignments a person's reports may pool."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts.models import Assignment, Cohort, CohortMember, MemberRole
from ilms.cohorts.services import STAFF_ROLES
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.reports.loader import CohortData, load_assignments
from ilms.reports.privacy import pseudonymise, suppress
from ilms.reports.stats import build_report


@dataclass(frozen=True)
class Computed:
    """A report before suppression, the display labels of its items and its per-student rows."""

    report: dict[str, Any]
    labels: dict[str, str]
    students: list[dict[str, Any]]


def compute(assignments: Sequence[Assignment], *, term: str | None = None) -> Computed:
    """The report of ``assignments`` (one, or several of one module pooled), not yet suppressed."""
    data = load_assignments(assignments)
    report = _build(data, include_students=True, names=None)
    students = report.pop("students")["rows"]
    report.update(describe_scope(assignments, term))
    return Computed(report=report, labels=data.labels, students=students)


def _build(data: CohortData, *, include_students: bool, names: dict[str, str] | None) -> dict:
    return build_report(
        data.pre,
        data.post,
        enrolled=data.enrolled,
        started=data.started,
        outcomes=data.outcomes,
        attendance=data.attendance,
        include_students=include_students,
        names=names,
    )


def describe_scope(assignments: Sequence[Assignment], term: str | None) -> dict[str, Any]:
    """The ``cohort`` (one assignment) or ``cohorts`` (pooled) and ``module`` keys of a document."""
    newest = max(assignments, key=lambda a: a.module_version.number)
    scope: dict[str, Any] = {
        "module": {
            "slug": newest.module.slug,
            "title": newest.module_version.title,
            "version": newest.module_version.number,
            "outcomes": newest.module_version.outcomes,
        }
    }
    cohorts = [
        {"id": a.cohort_id, "label": a.cohort.label, "term": a.cohort.term} for a in assignments
    ]
    if len(assignments) == 1:
        scope["cohort"] = cohorts[0]
    else:
        scope["cohorts"] = sorted(cohorts, key=lambda c: c["label"])
        scope["term"] = term
    return scope


def assignment_report(
    assignment: Assignment,
    *,
    min_n: int | None = None,
    include_students: bool = False,
    deidentify: bool = False,
) -> dict[str, Any]:
    """The report document of ``assignment``, with small figures suppressed (docs/report-schema.md)."""
    data = load_assignments([assignment])
    report = _build(
        data, include_students=include_students, names=None if deidentify else data.names
    )
    report.update(describe_scope([assignment], None))
    if deidentify:
        report = pseudonymise(report, current_app.config["SECRET_KEY"])
    threshold = current_app.config["REPORT_MIN_N"] if min_n is None else min_n
    return with_labels(suppress(report, threshold), data.labels)


def with_labels(report: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """Give each item its question's id in the bank (``label``), after suppression."""
    for item in report["items"]:
        item["label"] = labels.get(item["question"], item["question"])
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
    return list(
        db.session.scalars(
            select(Assignment).where(Assignment.cohort_id == cohort_id).order_by(Assignment.id)
        )
    )


def enrolled_count(assignments: Sequence[Assignment]) -> int:
    """The students behind a report of ``assignments`` (each cohort's roster, counted once each)."""
    cohorts = [a.cohort_id for a in assignments]
    per_cohort = dict(
        db.session.execute(
            select(CohortMember.cohort_id, func.count())
            .where(
                CohortMember.cohort_id.in_(set(cohorts)), CohortMember.role == MemberRole.STUDENT
            )
            .group_by(CohortMember.cohort_id)
        ).all()
    )
    return sum(per_cohort.get(c, 0) for c in cohorts)


# --- A module across cohorts ----------------------------------------------------------------


def module_by_slug(slug: str) -> Module:
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    if module is None:
        raise NotFound(_("There is no such module."))
    return module


def _visible(viewer: User) -> Any:
    """The assignments of the cohorts ``viewer`` may see (admins: all; others: their own)."""
    query = select(Assignment).join(Cohort, Assignment.cohort_id == Cohort.id)
    if not viewer.is_admin:
        query = query.join(CohortMember, CohortMember.cohort_id == Cohort.id).where(
            CohortMember.user_id == viewer.id, CohortMember.role.in_(STAFF_ROLES)
        )
    return query


def module_assignments(viewer: User, module: Module, term: str | None) -> list[Assignment]:
    """The assignments of ``module`` in the cohorts ``viewer`` may see, in ``term`` (None: all)."""
    query = _visible(viewer).where(Assignment.module_id == module.id)
    if term:
        query = query.where(Cohort.term == term)
    query = query.options(
        selectinload(Assignment.cohort),
        selectinload(Assignment.module),
        selectinload(Assignment.module_version),
    )
    return list(db.session.scalars(query.order_by(Assignment.id)).unique())


def module_terms(viewer: User, module: Module) -> list[str]:
    """The terms of the cohorts in which ``viewer`` may see ``module``, newest first."""
    query = _visible(viewer).where(Assignment.module_id == module.id)
    terms = db.session.scalars(query.with_only_columns(Cohort.term).distinct())
    return sorted(set(terms), reverse=True)


def reported_modules(viewer: User) -> list[Module]:
    """The modules assigned in the cohorts ``viewer`` may see."""
    ids = _visible(viewer).with_only_columns(Assignment.module_id).distinct()
    return list(db.session.scalars(select(Module).where(Module.id.in_(ids)).order_by(Module.slug)))
