"""Checking an id_token: every rule of LTI 1.3 security, including those libraries skip.

Only RS256 is accepted, with the platform's key found by ``kid`` in its JWKS; ``exp``, ``iat``,
``iss``, ``aud``, ``sub`` and ``nonce`` are required; ``aud`` must name our client id, and ``azp``
must too when there are several audiences; the nonce must be the one sent with this browser's
log-in and is accepted once only; the deployment must be registered. Every refusal says what an
LMS administrator can check.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ilms.errors import DomainError
from ilms.extensions import db
from ilms.lti import claims as c
from ilms.lti import jwks, outbound
from ilms.lti.models import LtiDeployment, LtiNonce, LtiPlatform

REQUIRED = ["exp", "iat", "iss", "aud", "sub", "nonce"]


class LaunchRefused(DomainError):
    """A launch that ILMS does not accept; no one is logged in."""

    status_code = 400


@dataclass(frozen=True)
class ValidLaunch:
    platform: LtiPlatform
    claims: dict[str, Any]

    @property
    def message_type(self) -> str:
        return str(self.claims[c.MESSAGE_TYPE])

    @property
    def deployment_id(self) -> str:
        return str(self.claims[c.DEPLOYMENT_ID])

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])

    def claim(self, name: str) -> dict[str, Any]:
        value = self.claims.get(name)
        return value if isinstance(value, dict) else {}


def leeway() -> int:
    return int(current_app.config["LTI_CLOCK_LEEWAY_SECONDS"])


def read_header(token: str) -> str:
    """The ``kid`` of an RS256 token; any other algorithm is refused before anything else."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise LaunchRefused(_("The id_token is not a valid JSON Web Token.")) from error
    algorithm = header.get("alg")
    if algorithm != "RS256":
        raise LaunchRefused(
            _(
                "The id_token is signed with %(alg)s; ILMS accepts RS256 only. "
                "Check the platform's LTI signing settings.",
                alg=str(algorithm),
            )
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LaunchRefused(_("The id_token's header names no key (kid); ILMS needs it."))
    return kid


def unverified_claims(token: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise LaunchRefused(_("The id_token is not a valid JSON Web Token.")) from error


def check_issuer_and_audience(payload: dict[str, Any], platform: LtiPlatform) -> None:
    issuer = payload.get("iss")
    if issuer != platform.issuer:
        known = db.session.scalar(select(LtiPlatform.id).where(LtiPlatform.issuer == issuer))
        if known is None:
            raise LaunchRefused(
                _(
                    "No platform with the issuer %(iss)s is registered in ILMS. "
                    "An administrator adds it under LMS platforms.",
                    iss=str(issuer),
                )
            )
        raise LaunchRefused(
            _(
                "The id_token comes from %(iss)s, but the log-in was started by %(expected)s.",
                iss=str(issuer),
                expected=platform.issuer,
            )
        )
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or platform.client_id not in audiences:
        raise LaunchRefused(
            _(
                "The id_token is meant for %(aud)s, not for the client id %(client_id)s "
                "registered in ILMS for this platform. Check the client id.",
                aud=str(audience),
                client_id=platform.client_id,
            )
        )
    azp = payload.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != platform.client_id:
        raise LaunchRefused(
            _(
                "The id_token has several audiences, so its authorised party (azp) must be "
                "the client id %(client_id)s, and it is not.",
                client_id=platform.client_id,
            )
        )


def verify_signature(token: str, kid: str, platform: LtiPlatform) -> dict[str, Any]:
    try:
        jwk = jwks.find_jwk(platform.jwks_url, kid)
    except outbound.ServiceError as error:
        raise LaunchRefused(
            _("ILMS could not read the platform's keys: %(reason)s", reason=error.message)
        ) from error
    if jwk is None:
        raise LaunchRefused(
            _(
                "The id_token is signed with the key %(kid)s, which the platform's JWKS URL "
                "%(url)s does not publish (ILMS fetched it again to check). "
                "Check the JWKS URL registered for this platform.",
                kid=kid,
                url=platform.jwks_url,
            )
        )
    key = jwks.rsa_public_key(jwk)
    if key is None:
        raise LaunchRefused(
            _("The platform's key %(kid)s is not an RSA signing key for RS256.", kid=kid)
        )
    return _decode(token, key, platform)


def _decode(token: str, key: Any, platform: LtiPlatform) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=leeway(),
            options={"require": REQUIRED, "verify_signature": True},
        )
    except jwt.MissingRequiredClaimError as error:
        raise LaunchRefused(
            _("The id_token has no %(claim)s claim, which ILMS requires.", claim=error.claim)
        ) from error
    except jwt.ExpiredSignatureError as error:
        raise LaunchRefused(
            _("The id_token has expired. Check the platform's clock, then launch again.")
        ) from error
    except jwt.ImmatureSignatureError as error:
        raise LaunchRefused(
            _("The id_token is dated in the future. Check the platform's clock.")
        ) from error
    except jwt.InvalidSignatureError as error:
        raise LaunchRefused(
            _("The id_token's signature does not match the platform's key.")
        ) from error
    except jwt.InvalidTokenError as error:
        raise LaunchRefused(
            _("The id_token is not valid: %(reason)s", reason=str(error))
        ) from error


def check_times(payload: dict[str, Any]) -> None:
    """``exp`` and ``iat`` are numbers, and ``iat`` is recent (PyJWT checks the rest)."""
    issued, expires = payload.get("iat"), payload.get("exp")
    if not isinstance(issued, int | float) or not isinstance(expires, int | float):
        raise LaunchRefused(_("The id_token's exp and iat must be times in seconds."))
    max_age = int(current_app.config["LTI_ID_TOKEN_MAX_AGE_SECONDS"])
    if time.time() - issued > max_age + leeway():
        raise LaunchRefused(
            _("The id_token was issued too long ago. Launch again from the course.")
        )


def check_message(payload: dict[str, Any], platform: LtiPlatform, nonce: str) -> None:
    if not hmac.compare_digest(str(payload.get("nonce")), nonce):
        raise LaunchRefused(
            _("The id_token's nonce is not the one ILMS sent with this log-in. Launch again.")
        )
    if payload.get(c.VERSION) != c.LTI_VERSION:
        raise LaunchRefused(_("ILMS accepts LTI 1.3.0 launches only."))
    message_type = payload.get(c.MESSAGE_TYPE)
    if message_type not in (c.RESOURCE_LINK_REQUEST, c.DEEP_LINKING_REQUEST):
        raise LaunchRefused(_("ILMS does not handle %(type)s messages.", type=str(message_type)))
    if not isinstance(payload.get(c.ROLES), list):
        raise LaunchRefused(_("The launch has no roles claim."))
    check_deployment(payload.get(c.DEPLOYMENT_ID), platform)
    if message_type == c.RESOURCE_LINK_REQUEST and not isinstance(
        (payload.get(c.RESOURCE_LINK) or {}).get("id"), str
    ):
        raise LaunchRefused(_("The launch names no resource link."))
    if message_type == c.DEEP_LINKING_REQUEST:
        check_deep_linking_settings(payload)


def check_deployment(deployment_id: object, platform: LtiPlatform) -> None:
    if not isinstance(deployment_id, str) or not deployment_id:
        raise LaunchRefused(_("The launch names no deployment id."))
    registered = db.session.scalar(
        select(LtiDeployment.id).where(
            LtiDeployment.platform_id == platform.id,
            LtiDeployment.deployment_id == deployment_id,
        )
    )
    if registered is None:
        raise LaunchRefused(
            _(
                "The deployment %(deployment)s of %(platform)s is not registered in ILMS. "
                "An administrator adds it to the platform under LMS platforms.",
                deployment=deployment_id,
                platform=platform.name,
            )
        )


def check_deep_linking_settings(payload: dict[str, Any]) -> None:
    settings = payload.get(c.DEEP_LINKING_SETTINGS)
    if not isinstance(settings, dict) or not isinstance(settings.get("deep_link_return_url"), str):
        raise LaunchRefused(_("The content selection request has no return URL."))
    accepted = settings.get("accept_types") or []
    if "ltiResourceLink" not in accepted:
        raise LaunchRefused(
            _("The platform does not accept links (ltiResourceLink) at this place.")
        )


def record_nonce(platform: LtiPlatform, payload: dict[str, Any]) -> None:
    """Remember the nonce until the token expires: a replayed id_token is refused."""
    expires = datetime.fromtimestamp(float(payload["exp"]), UTC) + timedelta(seconds=leeway())
    try:
        with db.session.begin_nested():
            db.session.add(
                LtiNonce(platform_id=platform.id, nonce=str(payload["nonce"]), expires_at=expires)
            )
    except IntegrityError as error:
        raise LaunchRefused(
            _("This id_token has already been used. Launch again from the course.")
        ) from error


def validate_id_token(token: str, platform: LtiPlatform, nonce: str) -> ValidLaunch:
    """All checks, cheapest first; the signature before anything is remembered."""
    kid = read_header(token)
    check_issuer_and_audience(unverified_claims(token), platform)
    payload = verify_signature(token, kid, platform)
    check_times(payload)
    check_message(payload, platform, nonce)
    record_nonce(platform, payload)
    return ValidLaunch(platform=platform, claims=payload)
