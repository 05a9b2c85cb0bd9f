"""LTI 1.3 launches: the OIDC log-in, accepting a launch, provisioning, landing.

A launch is accepted in three steps, each refusing with a message an LMS administrator can act
on: the ``state`` (issued by ILMS, unused, unexpired, bound to this browser), the id_token
(``validation``), then what it asks for (a course, a role ILMS knows, a module that exists).
Nothing is written for a refused launch except the audit record of the refusal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ilms.accounts import services as accounts
from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Assignment, Cohort, MemberRole
from ilms.db import utcnow
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.lti import claims as c
from ilms.lti.models import (
    LinkTarget,
    LtiContext,
    LtiLaunch,
    LtiLaunchState,
    LtiNonce,
    LtiPlatform,
    LtiResourceLink,
    LtiUser,
)
from ilms.lti.validation import LaunchRefused, ValidLaunch, check_deployment, validate_id_token
from ilms.permissions import Role

STAFF = (MemberRole.OWNER, MemberRole.INSTRUCTOR, MemberRole.LIBRARIAN)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=int(current_app.config[name]))


# --- OIDC third-party initiated log-in ------------------------------------------------------


def find_platform(issuer: str | None, client_id: str | None) -> LtiPlatform:
    if not issuer:
        raise LaunchRefused(_("The log-in request does not name its issuer (iss)."))
    candidates = list(
        db.session.scalars(
            select(LtiPlatform).where(LtiPlatform.issuer == issuer, LtiPlatform.active.is_(True))
        )
    )
    if not candidates:
        raise LaunchRefused(
            _(
                "No platform with the issuer %(iss)s is registered in ILMS. "
                "An administrator adds it under LMS platforms.",
                iss=issuer,
            )
        )
    if client_id:
        candidates = [p for p in candidates if p.client_id == client_id]
        if not candidates:
            raise LaunchRefused(
                _(
                    "The client id %(client_id)s is not registered for %(iss)s in ILMS. "
                    "Check the client id under LMS platforms.",
                    client_id=client_id,
                    iss=issuer,
                )
            )
    if len(candidates) > 1:
        raise LaunchRefused(
            _(
                "Several registrations share the issuer %(iss)s: the log-in must name client_id.",
                iss=issuer,
            )
        )
    return candidates[0]


def start_login(params: Mapping[str, str], browser_token: str) -> str:
    """Record a new log-in (state, nonce, browser) and return the platform's authorisation URL."""
    platform = find_platform(params.get("iss"), params.get("client_id"))
    for name in ("login_hint", "target_link_uri"):
        if not params.get(name):
            raise LaunchRefused(_("The log-in request has no %(name)s parameter.", name=name))
    deployment_id = params.get("lti_deployment_id")
    if deployment_id:
        check_deployment(deployment_id, platform)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    kept = ("iss", "client_id", "login_hint", "lti_message_hint", "target_link_uri")
    db.session.add(
        LtiLaunchState(
            state_hash=digest(state),
            platform=platform,
            nonce=nonce,
            browser_hash=digest(browser_token),
            target_link_uri=params["target_link_uri"][:2048],
            login_params={k: params[k] for k in kept if params.get(k)}
            | ({"lti_deployment_id": deployment_id} if deployment_id else {}),
            expires_at=utcnow() + _seconds("LTI_STATE_SECONDS"),
        )
    )
    return authorisation_url(platform, params, state, nonce)


def authorisation_url(
    platform: LtiPlatform, params: Mapping[str, str], state: str, nonce: str
) -> str:
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": url_for("lti.launch", _external=True),
        "login_hint": params["login_hint"],
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return f"{platform.auth_login_url}{separator}{urlencode(query)}"


# --- Launch ---------------------------------------------------------------------------------


class BrowserMismatch(LaunchRefused):
    """The launch arrived without this browser's log-in cookie (blocked, or another browser)."""

    def __init__(self, message: str, login_params: dict[str, str]) -> None:
        super().__init__(message)
        self.login_params = login_params


def consume_state(state: str | None) -> LtiLaunchState:
    """The log-in this launch answers, marked used; unknown, used or expired ones are refused."""
    if not state:
        raise LaunchRefused(_("The launch has no state. Launch again from the course."))
    row = db.session.scalar(
        select(LtiLaunchState).where(LtiLaunchState.state_hash == digest(state))
    )
    claimed = (
        row is not None
        and db.session.execute(
            update(LtiLaunchState)
            .where(
                LtiLaunchState.id == row.id,
                LtiLaunchState.used_at.is_(None),
                LtiLaunchState.expires_at > utcnow(),
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
    )
    if row is None or not claimed:
        raise LaunchRefused(
            _(
                "The launch's state is unknown, expired or already used: it does not answer a "
                "log-in ILMS started. Launch again from the course."
            )
        )
    return row


def check_browser(row: LtiLaunchState, browser_token: str | None) -> None:
    if browser_token and hmac.compare_digest(digest(browser_token), row.browser_hash):
        return
    raise BrowserMismatch(
        _(
            "This launch was started in another browser, or your browser blocked the cookie "
            "ILMS sets inside the course page."
        ),
        row.login_params,
    )


@dataclass(frozen=True)
class AcceptedLaunch:
    launch: LtiLaunch
    resume_token: str  #: opens the launch in a new window if the session cookie is blocked


def accept_launch(
    state: str | None, id_token: str | None, browser_token: str | None, address: str | None
) -> AcceptedLaunch:
    """Check a launch completely, then provision the course, the person and the link."""
    row = consume_state(state)
    check_browser(row, browser_token)
    if not id_token:
        raise LaunchRefused(_("The launch has no id_token."))
    launch = validate_id_token(id_token, row.platform, row.nonce)
    target = launch.claims.get(c.TARGET_LINK_URI)
    if isinstance(target, str) and target != row.target_link_uri:
        raise LaunchRefused(
            _("The launch's target_link_uri is not the one of the log-in. Launch again.")
        )
    return provision(launch, address)


def record_refusal(state: str | None, message: str, address: str | None) -> None:
    """Use up the state of a refused launch and keep the reason for administrators."""
    if state:
        db.session.execute(
            update(LtiLaunchState)
            .where(LtiLaunchState.state_hash == digest(state), LtiLaunchState.used_at.is_(None))
            .values(used_at=utcnow())
        )
    accounts.audit("lti.launch_refused", ip=address, reason=message)


def provision(launch: ValidLaunch, address: str | None) -> AcceptedLaunch:
    role = c.member_role(launch.claims.get(c.ROLES) or [])
    if role is None:
        raise LaunchRefused(
            _(
                "ILMS does not know your role in this course. It accepts Learner, Instructor, "
                "Teaching Assistant and Administrator roles."
            )
        )
    if launch.message_type == c.DEEP_LINKING_REQUEST and role == MemberRole.STUDENT:
        raise LaunchRefused(_("Only instructors place ILMS modules in a course."))
    user = find_or_create_user(launch.platform, identity_from(launch.claims), role)
    if not user.active:
        raise LaunchRefused(
            _("Your ILMS account is deactivated. Ask the library to turn it back on.")
        )
    language = c.interface_language(
        launch.claim(c.LAUNCH_PRESENTATION).get("locale"), current_app.config["LANGUAGES"]
    )
    if language:
        user.locale = language
    context = link_context(launch, user, role)
    apply_membership(context.cohort, user, role)
    if launch.message_type == c.DEEP_LINKING_REQUEST:
        return _record_launch(launch, user, context, None, "/lti/deep-linking", address)
    link = link_resource(launch, context)
    landing = (
        f"/learn/{link.assignment_id}"
        if role == MemberRole.STUDENT
        else f"/cohorts/{context.cohort_id}"
    )
    return _record_launch(launch, user, context, link, landing, address)


def _record_launch(
    launch: ValidLaunch,
    user: User,
    context: LtiContext,
    link: LtiResourceLink | None,
    landing: str,
    address: str | None,
) -> AcceptedLaunch:
    now, resume = utcnow(), secrets.token_urlsafe(32)
    settings = launch.claim(c.DEEP_LINKING_SETTINGS)
    row = LtiLaunch(
        ref=secrets.token_urlsafe(32),
        platform=launch.platform,
        deployment_id=launch.deployment_id,
        user=user,
        message_type=launch.message_type,
        context=context,
        resource_link=link,
        landing_path=landing,
        deep_linking={
            "return_url": settings.get("deep_link_return_url"),
            "data": settings.get("data"),
        }
        if settings
        else {},
        expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"],
        resume_token_hash=digest(resume),
        resume_expires_at=now + _seconds("LTI_RESUME_SECONDS"),
    )
    db.session.add(row)
    db.session.flush()
    accounts.audit(
        "lti.launch",
        actor=user,
        target=user,
        ip=address,
        platform=launch.platform.name,
        message_type=launch.message_type,
    )
    return AcceptedLaunch(launch=row, resume_token=resume)


# --- People ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who an LMS says a person is (from a launch or from its course roster)."""

    sub: str
    email: str | None
    name: str


def identity_from(data: Mapping[str, Any]) -> Identity:
    sub = str(data.get("sub") or data.get("user_id") or "")
    email = data.get("email")
    email = email.strip() if isinstance(email, str) and "@" in email else None
    given = " ".join(
        str(data[k]).strip() for k in ("given_name", "family_name") if isinstance(data.get(k), str)
    ).strip()
    name = data.get("name") if isinstance(data.get("name"), str) else ""
    return Identity(sub=sub, email=email, name=(name or given or email or _("LMS user"))[:200])


def find_or_create_user(platform: LtiPlatform, identity: Identity, role: MemberRole) -> User:
    """The account linked to issuer + subject; else the one with the same email (never an
    administrator's); else a new one that can only log in through the LMS."""
    link = db.session.scalar(
        select(LtiUser).where(LtiUser.issuer == platform.issuer, LtiUser.sub == identity.sub)
    )
    if link is not None:
        return link.user
    user = accounts.find_user_by_email(identity.email) if identity.email else None
    if user is not None and user.is_admin:
        raise LaunchRefused(
            _(
                "An administrator's ILMS account uses the address %(email)s; for safety it is "
                "not linked to an LMS account automatically. Log in to ILMS directly.",
                email=identity.email,
            )
        )
    try:
        with db.session.begin_nested():
            if user is None:
                user = _new_user(platform, identity, role)
            db.session.add(LtiUser(issuer=platform.issuer, sub=identity.sub, user=user))
    except IntegrityError:
        # The same person launched twice at once: the other request linked them.
        link = db.session.scalar(
            select(LtiUser).where(LtiUser.issuer == platform.issuer, LtiUser.sub == identity.sub)
        )
        if link is None:
            raise
        return link.user
    return user


def _new_user(platform: LtiPlatform, identity: Identity, role: MemberRole) -> User:
    # Without an email from the LMS the account gets an address that can never receive mail.
    email = identity.email or f"lti-{digest(platform.issuer + ' ' + identity.sub)[:24]}@lti.invalid"
    account_role = Role.STUDENT if role == MemberRole.STUDENT else Role.FACULTY
    return accounts.create_user(email, identity.name, [account_role])


def apply_membership(cohort: Cohort, user: User, role: MemberRole) -> str:
    """Give ``user`` the cohort role the LMS says (an embedded librarian stays one).

    Returns ``added``, ``updated`` or ``unchanged``.
    """
    member = cohorts.membership(cohort, user)
    before = member.role if member is not None else None
    if before == MemberRole.LIBRARIAN:
        return "unchanged"
    if role in STAFF and not user.has_any_role(Role.FACULTY, Role.LIBRARIAN, Role.ADMIN):
        accounts.set_roles(user, user.roles | {Role.FACULTY}, actor=user)
    if role == MemberRole.STUDENT and not user.has_role(Role.STUDENT):
        accounts.set_roles(user, user.roles | {Role.STUDENT}, actor=user)
    if before == role:
        return "unchanged"
    cohorts.add_member(cohort, user, role)
    return "added" if before is None else "updated"


# --- Courses and links ----------------------------------------------------------------------


def link_context(launch: ValidLaunch, user: User, role: MemberRole) -> LtiContext:
    """The cohort of the launch's course, created at the first launch by its staff."""
    claim = launch.claim(c.CONTEXT)
    context_id = claim.get("id")
    if not isinstance(context_id, str) or not context_id:
        raise LaunchRefused(_("ILMS works inside a course: launch it from a course page."))
    context = _find_context(launch.platform, context_id)
    if context is None:
        if role == MemberRole.STUDENT:
            raise LaunchRefused(
                _(
                    "This course is not connected to ILMS yet. It will be once an instructor "
                    "opens ILMS from the course."
                )
            )
        context = _new_context(launch, claim, user)
    _remember_services(context, launch)
    return context


def _find_context(platform: LtiPlatform, context_id: str) -> LtiContext | None:
    return db.session.scalar(
        select(LtiContext).where(
            LtiContext.platform_id == platform.id, LtiContext.context_id == context_id
        )
    )


def _new_context(launch: ValidLaunch, claim: dict[str, Any], user: User) -> LtiContext:
    label = str(claim.get("label") or "").strip()
    title = str(claim.get("title") or "").strip()
    term = str(launch.claim(c.CUSTOM).get("ilms_term") or "").strip()
    language = c.interface_language(
        launch.claim(c.LAUNCH_PRESENTATION).get("locale"), current_app.config["LANGUAGES"]
    )
    try:
        with db.session.begin_nested():
            cohort = cohorts.create_cohort(
                user,
                course_code=(label or title or "LMS")[:40],
                course_title=(title or label or _("LMS course"))[:200],
                term=term[:40] if term and not term.startswith("$") else "LMS",
                language=language or current_app.config["BABEL_DEFAULT_LOCALE"],
            )
            context = LtiContext(
                platform=launch.platform,
                context_id=str(claim["id"]),
                cohort=cohort,
                title=(title or label)[:200],
            )
            db.session.add(context)
    except IntegrityError:
        existing = _find_context(launch.platform, str(claim["id"]))
        if existing is None:
            raise
        return existing
    return context


def _remember_services(context: LtiContext, launch: ValidLaunch) -> None:
    url = launch.claim(c.NRPS).get("context_memberships_url")
    if isinstance(url, str) and url:
        context.memberships_url = url


def link_resource(launch: ValidLaunch, context: LtiContext) -> LtiResourceLink:
    """The link's assignment, made from the module it names at its first launch."""
    link_id = str(launch.claim(c.RESOURCE_LINK)["id"])
    link = _find_link(launch.platform, link_id)
    if link is None:
        link = _new_link(launch, context, link_id)
    _remember_grades_service(link, launch)
    return link


def _find_link(platform: LtiPlatform, link_id: str) -> LtiResourceLink | None:
    return db.session.scalar(
        select(LtiResourceLink).where(
            LtiResourceLink.platform_id == platform.id,
            LtiResourceLink.resource_link_id == link_id,
        )
    )


def _new_link(launch: ValidLaunch, context: LtiContext, link_id: str) -> LtiResourceLink:
    custom = launch.claim(c.CUSTOM)
    slug = custom.get(c.CUSTOM_MODULE)
    if not isinstance(slug, str) or not slug:
        raise LaunchRefused(
            _(
                "This link does not say which ILMS module to open. Place ILMS in the course "
                "with the LMS's content selection (Deep Linking), which names the module."
            )
        )
    try:
        target = LinkTarget(str(custom.get(c.CUSTOM_TARGET) or LinkTarget.MODULE))
    except ValueError:
        target = LinkTarget.MODULE
    assignment = assignment_for(context.cohort, slug)
    try:
        with db.session.begin_nested():
            link = LtiResourceLink(
                platform=launch.platform,
                resource_link_id=link_id,
                context=context,
                assignment=assignment,
                target=target,
                title=str(launch.claim(c.RESOURCE_LINK).get("title") or "")[:200],
            )
            db.session.add(link)
    except IntegrityError:
        existing = _find_link(launch.platform, link_id)
        if existing is None:
            raise
        return existing
    return link


def assignment_for(cohort: Cohort, slug: str) -> Assignment:
    """The cohort's assignment of module ``slug``, embedded with default settings if new."""
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    if module is None or not module.published:
        raise LaunchRefused(
            _(
                "The module %(slug)s placed in this course is not published in ILMS. "
                "Ask the library to publish it.",
                slug=slug,
            )
        )
    existing = _assignment_of(cohort, module)
    if existing is not None:
        return existing
    now = utcnow()
    try:
        with db.session.begin_nested():
            return cohorts.assign_module(
                cohort,
                module,
                opens_at=now - timedelta(minutes=1),
                closes_at=now + timedelta(days=int(current_app.config["LTI_ASSIGNMENT_DAYS"])),
            )
    except (IntegrityError, DomainError):
        existing = _assignment_of(cohort, module)
        if existing is None:
            raise
        return existing


def _assignment_of(cohort: Cohort, module: Module) -> Assignment | None:
    return db.session.scalar(
        select(Assignment).where(
            Assignment.cohort_id == cohort.id, Assignment.module_id == module.id
        )
    )


def _remember_grades_service(link: LtiResourceLink, launch: ValidLaunch) -> None:
    endpoint = launch.claim(c.AGS_ENDPOINT)
    if isinstance(endpoint.get("lineitem"), str):
        link.lineitem_url = endpoint["lineitem"]
    if isinstance(endpoint.get("lineitems"), str):
        link.lineitems_url = endpoint["lineitems"]
    if isinstance(endpoint.get("scope"), list):
        link.ags_scopes = [s for s in endpoint["scope"] if isinstance(s, str)]


# --- After the launch -----------------------------------------------------------------------


def launch_by_ref(ref: str | None) -> LtiLaunch | None:
    if not ref:
        return None
    launch = db.session.scalar(select(LtiLaunch).where(LtiLaunch.ref == ref))
    return launch if launch is not None and launch.expires_at > utcnow() else None


def launch_by_resume_token(token: str | None) -> LtiLaunch:
    launch = (
        db.session.scalar(select(LtiLaunch).where(LtiLaunch.resume_token_hash == digest(token)))
        if token
        else None
    )
    if launch is None or launch.resumed_at is not None or launch.resume_expires_at <= utcnow():
        raise NotFound(
            _("This link has expired or was already used. Open ILMS again from your course.")
        )
    return launch


def resume_launch(token: str | None) -> LtiLaunch:
    """Use the one-time token that opens a launch in a new window (when cookies are blocked)."""
    launch = launch_by_resume_token(token)
    claimed = db.session.execute(
        update(LtiLaunch)
        .where(LtiLaunch.id == launch.id, LtiLaunch.resumed_at.is_(None))
        .values(resumed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise NotFound(
            _("This link has expired or was already used. Open ILMS again from your course.")
        )
    return launch


def restart_url(login_params: Mapping[str, str]) -> str | None:
    """The log-in URL that starts the same launch again (in a new window)."""
    if not login_params.get("iss"):
        return None
    return url_for("lti.login", **dict(login_params))


def purge_expired(now: datetime | None = None) -> int:
    """Forget log-ins, nonces and launches that can no longer be used."""
    now = now or utcnow()
    removed = 0
    for model in (LtiLaunchState, LtiNonce, LtiLaunch):
        removed += db.session.execute(delete(model).where(model.expires_at < now)).rowcount
    return removed
