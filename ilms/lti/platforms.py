"""Registering LMS platforms and their deployments (administrators, the command line)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from ilms.accounts import services as accounts
from ilms.accounts.models import User
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.lti import jwks, keys
from ilms.lti.models import LtiDeployment, LtiKey, LtiPlatform

#: An origin a platform may frame ILMS from: scheme, host (a leading ``*.`` allowed), port.
ORIGIN_RE = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


@dataclass(frozen=True)
class PlatformDetails:
    """What an administrator registers about a platform."""

    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    token_url: str
    jwks_url: str
    token_audience: str = ""
    frame_origins: str = ""

    def cleaned(self) -> PlatformDetails:
        values = {k: str(getattr(self, k) or "").strip() for k in self.__dataclass_fields__}
        for name in ("issuer", "client_id", "auth_login_url", "token_url", "jwks_url"):
            if not values[name]:
                raise DomainError(_("This field is required."), field=name)
        for name in ("issuer", "auth_login_url", "token_url", "jwks_url", "token_audience"):
            if values[name]:
                check_url(values[name], name)
        values["name"] = values["name"] or urlsplit(values["issuer"]).netloc or values["issuer"]
        values["frame_origins"] = clean_origins(values["frame_origins"]) or origin_of(
            values["issuer"]
        )
        return PlatformDetails(**values)


def check_url(url: str, field_name: str) -> None:
    parts = urlsplit(url)
    schemes = ("https",) if current_app.config["ENV"] == "production" else ("https", "http")
    if parts.scheme not in schemes or not parts.netloc:
        raise DomainError(
            _("Enter a full https:// address, as the platform's documentation gives it."),
            field=field_name,
        )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def clean_origins(text: str) -> str:
    """Space- or line-separated origins, each checked (they go into a CSP header)."""
    origins = []
    for value in text.replace(",", " ").split():
        value = value.rstrip("/")
        if not ORIGIN_RE.match(value):
            raise DomainError(
                _(
                    "%(value)s is not a web origin; enter addresses like https://lms.example.edu.",
                    value=value,
                ),
                field="frame_origins",
            )
        if value not in origins:
            origins.append(value)
    return " ".join(origins)


def add_platform(
    details: PlatformDetails, deployment_ids: list[str], actor: User | None
) -> LtiPlatform:
    details = details.cleaned()
    _check_unique(details.issuer, details.client_id, None)
    platform = LtiPlatform(**details.__dict__)
    db.session.add(platform)
    db.session.flush()
    for deployment_id in deployment_ids:
        add_deployment(platform, deployment_id, actor)
    keys.signing_key()
    accounts.audit(
        "lti.platform_added",
        actor=actor,
        platform=platform.name,
        issuer=platform.issuer,
        client_id=platform.client_id,
    )
    return platform


def update_platform(platform: LtiPlatform, details: PlatformDetails, actor: User) -> None:
    details = details.cleaned()
    _check_unique(details.issuer, details.client_id, platform.id)
    jwks.forget(platform.jwks_url)
    for name, value in details.__dict__.items():
        setattr(platform, name, value)
    accounts.audit("lti.platform_changed", actor=actor, platform=platform.name)


def set_platform_active(platform: LtiPlatform, active: bool, actor: User) -> None:
    platform.active = active
    accounts.audit(
        "lti.platform_enabled" if active else "lti.platform_disabled",
        actor=actor,
        platform=platform.name,
    )


def _check_unique(issuer: str, client_id: str, platform_id: int | None) -> None:
    existing = db.session.scalar(
        select(LtiPlatform.id).where(
            LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id
        )
    )
    if existing is not None and existing != platform_id:
        raise DomainError(
            _("A platform with this issuer and client id is already registered."),
            field="client_id",
        )


def add_deployment(platform: LtiPlatform, deployment_id: str, actor: User | None) -> LtiDeployment:
    deployment_id = deployment_id.strip()
    if not deployment_id or len(deployment_id) > 255:
        raise DomainError(
            _("Enter the deployment id the platform shows (at most 255 characters)."),
            field="deployment_id",
        )
    if deployment_id in platform.deployment_ids:
        raise DomainError(
            _("This deployment id is already registered for the platform."),
            field="deployment_id",
        )
    deployment = LtiDeployment(platform=platform, deployment_id=deployment_id)
    db.session.add(deployment)
    db.session.flush()
    accounts.audit(
        "lti.deployment_added", actor=actor, platform=platform.name, deployment=deployment_id
    )
    return deployment


def remove_deployment(deployment: LtiDeployment, actor: User) -> None:
    accounts.audit(
        "lti.deployment_removed",
        actor=actor,
        platform=deployment.platform.name,
        deployment=deployment.deployment_id,
    )
    db.session.delete(deployment)


def rotate_key(actor: User | None) -> LtiKey:
    """A new signing key for the tool; the previous ones stay published for a while."""
    key, forgotten = keys.rotate_key()
    accounts.audit("lti.key_rotated", actor=actor, kid=key.kid, forgotten=forgotten)
    return key


def platforms() -> list[LtiPlatform]:
    return list(db.session.scalars(select(LtiPlatform).order_by(LtiPlatform.name)))


def frame_origins() -> str:
    """The origins of every active platform, for ``frame-ancestors`` on LTI pages."""
    origins: list[str] = []
    for text in db.session.scalars(
        select(LtiPlatform.frame_origins).where(LtiPlatform.active.is_(True))
    ):
        origins.extend(o for o in text.split() if ORIGIN_RE.match(o) and o not in origins)
    return " ".join(origins)
