"""Read-only views of modules for listings and the JSON API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ilms.accounts.models import User
from ilms.authoring.models import Module, ModuleVersion, ModuleVersionQuestion
from ilms.cohorts.models import Assignment, Cohort
from ilms.delivery.models import Response
from ilms.extensions import db
from ilms.permissions import Role


def visible_modules(user: User) -> list[Module]:
    """Modules ``user`` may see: staff see all, students only published ones."""
    query = (
        select(Module)
        .where(Module.current_version_id.is_not(None))
        .options(selectinload(Module.current_version))
        .order_by(Module.slug)
    )
    if not user.has_any_role(Role.LIBRARIAN, Role.ADMIN, Role.FACULTY):
        query = query.where(Module.published.is_(True))
    return list(db.session.scalars(query))


def question_counts(version_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(ModuleVersionQuestion.module_version_id, func.count())
        .where(ModuleVersionQuestion.module_version_id.in_(version_ids))
        .group_by(ModuleVersionQuestion.module_version_id)
    )
    return {key: value for key, value in rows}


def module_summary(module: Module, counts: dict[int, int]) -> dict[str, Any]:
    version: ModuleVersion = module.current_version  # type: ignore[assignment]
    return {
        "slug": module.slug,
        "version": version.number,
        "published": module.published,
        "title": version.title,
        "summary": version.summary,
        "languages": version.languages,
        "audience": version.audience,
        "estimated_minutes": version.estimated_minutes,
        "outcomes": [
            {"id": o["id"], "frame": o["frame"], "text": o["text"]} for o in version.outcomes
        ],
        "frames": sorted({o["frame"] for o in version.outcomes}),
        "question_count": counts.get(version.id, 0),
        "tests": version.tests,
    }


def modules_listing(user: User) -> list[dict[str, Any]]:
    modules = visible_modules(user)
    counts = question_counts([m.current_version_id for m in modules if m.current_version_id])
    return [module_summary(module, counts) for module in modules]


def cohorts_using(module_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Module id → the cohorts it is embedded in, with the module version each one uses."""
    rows = db.session.execute(
        select(Assignment.module_id, Cohort, ModuleVersion.number, Assignment)
        .join(Cohort, Cohort.id == Assignment.cohort_id)
        .join(ModuleVersion, ModuleVersion.id == Assignment.module_version_id)
        .where(Assignment.module_id.in_(module_ids))
        .order_by(Cohort.term, Cohort.course_code, Cohort.section)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for module_id, cohort, number, assignment in rows:
        found.setdefault(module_id, []).append(
            {
                "label": cohort.label,
                "version": number,
                "opens_at": assignment.opens_at,
                "closes_at": assignment.closes_at,
            }
        )
    return found


def authoring_listing(user: User) -> list[dict[str, Any]]:
    """Every module, with what the authoring list shows: status, counts and cohorts."""
    modules = visible_modules(user)
    counts = question_counts([m.current_version_id for m in modules if m.current_version_id])
    cohorts = cohorts_using([m.id for m in modules])
    return [
        {**module_summary(module, counts), "cohorts": cohorts.get(module.id, [])}
        for module in modules
    ]


def answered_versions(question_version_ids: list[int]) -> set[int]:
    """The question versions that some attempt has a response to."""
    if not question_version_ids:
        return set()
    return set(
        db.session.scalars(
            select(Response.question_version_id)
            .where(Response.question_version_id.in_(question_version_ids))
            .distinct()
        )
    )
