"""Names and Role Provisioning Services: a cohort's roster brought up to date from its LMS course.

Members are added and their roles updated as the LMS says; nobody is removed. People who are in
the cohort but no longer active in the LMS course are listed in the report for faculty to decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ilms.accounts import services as accounts
from ilms.accounts.models import User
from ilms.cohorts.models import Cohort, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.lti import claims as c
from ilms.lti import outbound, services
from ilms.lti.models import LtiContext, LtiPlatform, LtiUser
from ilms.lti.queueing import enqueue_after_commit
from ilms.lti.validation import LaunchRefused

MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
#: A course roster longer than this many pages is cut short (and the report says so).
MAX_PAGES = 200
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class RosterTarget:
    context_id: int
    platform_id: int
    url: str


def context_for(cohort: Cohort) -> LtiContext:
    context = db.session.scalar(select(LtiContext).where(LtiContext.cohort_id == cohort.id))
    if context is None:
        raise NotFound(_("This cohort is not connected to an LMS course."))
    return context


def request_sync(cohort: Cohort, actor: User) -> LtiContext:
    """Queue a roster sync of the cohort's LMS course."""
    context = context_for(cohort)
    if not context.memberships_url:
        raise DomainError(
            _(
                "The LMS has not offered this course's roster to ILMS. Turn on Names and Role "
                "Provisioning Services for the tool in the LMS, then open ILMS from the course."
            )
        )
    context.roster_report = {"status": "queued", "requested_by": actor.name}
    accounts.audit("lti.roster_sync_requested", actor=actor, cohort=cohort.id)
    from ilms.lti.jobs import sync_roster

    enqueue_after_commit(sync_roster, context.id)
    return context


def sync_target(context_id: int) -> RosterTarget | None:
    context = db.session.get(LtiContext, context_id)
    if context is None or not context.memberships_url:
        return None
    return RosterTarget(context.id, context.platform_id, context.memberships_url)


def fetch_members(target: RosterTarget) -> tuple[list[dict[str, Any]], bool]:
    """Every member the LMS lists, following its pages; and whether the list was complete."""
    platform = db.session.get(LtiPlatform, target.platform_id)
    if platform is None or not platform.active:
        raise outbound.ServiceError(_("The LMS platform of this course is no longer active."))
    token = outbound.access_token(platform, [c.SCOPE_MEMBERSHIP])
    members: list[dict[str, Any]] = []
    url: str | None = target.url
    for _page in range(MAX_PAGES):
        if url is None:
            return members, True
        reply = outbound.call(
            "GET", url, headers={"Authorization": f"Bearer {token}", "Accept": MEMBERSHIP_TYPE}
        )
        if not reply.ok:
            raise outbound.ServiceError(
                _(
                    "The LMS refused the course roster (HTTP %(status)d): %(detail)s",
                    status=reply.status,
                    detail=reply.detail(),
                )
            )
        document = reply.json()
        page = document.get("members") if isinstance(document, dict) else None
        members.extend(m for m in page or [] if isinstance(m, dict))
        url = next_page(reply.headers.get("Link"))
    return members, url is None


def next_page(link_header: str | None) -> str | None:
    match = NEXT_LINK.search(link_header or "")
    return match.group(1) if match else None


def apply(context_id: int, members: list[dict[str, Any]], complete: bool) -> dict[str, Any]:
    """Add and update the members the LMS lists as active; report those it no longer lists."""
    context = db.session.get(LtiContext, context_id)
    assert context is not None
    counts = {"added": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    present: set[str] = set()
    for member in members:
        outcome = _apply_member(context, member)
        counts[outcome] += 1
        if outcome != "skipped":
            present.add(str(member.get("user_id")))
    report: dict[str, Any] = {
        "status": "done",
        **counts,
        "complete": complete,
        "missing": _missing(context, present) if complete else [],
    }
    context.roster_report = report
    context.roster_synced_at = utcnow()
    accounts.audit("lti.roster_synced", cohort=context.cohort_id, **counts)
    return report


def _apply_member(context: LtiContext, member: dict[str, Any]) -> str:
    role = c.member_role(member.get("roles") or [])
    identity = services.identity_from(member)
    if member.get("status", "Active") != "Active" or role is None or not identity.sub:
        return "skipped"
    try:
        user = services.find_or_create_user(context.platform, identity, role)
    except LaunchRefused:
        return "skipped"  # an administrator's address: never linked automatically
    return services.apply_membership(context.cohort, user, role)


def _missing(context: LtiContext, present: set[str]) -> list[dict[str, str]]:
    """Cohort members (embedded librarians aside) whom the LMS no longer lists as active."""
    members = list(
        db.session.scalars(
            select(CohortMember).where(
                CohortMember.cohort_id == context.cohort_id,
                CohortMember.role != MemberRole.LIBRARIAN,
            )
        )
    )
    subs: dict[int, set[str]] = {}
    for link in db.session.scalars(
        select(LtiUser).where(
            LtiUser.issuer == context.platform.issuer,
            LtiUser.user_id.in_([m.user_id for m in members]),
        )
    ):
        subs.setdefault(link.user_id, set()).add(link.sub)
    return [
        {"name": m.user.name, "email": m.user.email, "role": m.role.value}
        for m in members
        if not subs.get(m.user_id, set()) & present
    ]


def record_failure(context_id: int, message: str) -> None:
    context = db.session.get(LtiContext, context_id)
    if context is not None:
        context.roster_report = {"status": "failed", "error": message[:2000]}
        context.roster_synced_at = utcnow()
