"""Deep Linking: the modules staff can place in a course, and the signed response that places one."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ilms.authoring.models import Module
from ilms.errors import DomainError, NotFound
from ilms.extensions import db
from ilms.lti import claims as c
from ilms.lti import keys
from ilms.lti.models import LinkTarget, LtiLaunch
from ilms.lti.platforms import ORIGIN_RE, origin_of

#: How long the platform has to receive the response.
RESPONSE_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class ModuleChoice:
    id: int
    slug: str
    title: str
    summary: str


def module_choices(language: str) -> list[ModuleChoice]:
    """Published modules with content, titled in ``language``, alphabetically."""
    modules = db.session.scalars(
        select(Module).where(Module.published.is_(True), Module.current_version_id.is_not(None))
    )
    choices = [
        ModuleChoice(
            id=m.id,
            slug=m.slug,
            title=m.current_version.text(m.current_version.title, language),
            summary=m.current_version.text(m.current_version.summary, language),
        )
        for m in modules
        if m.current_version is not None
    ]
    return sorted(choices, key=lambda choice: choice.title.lower())


def target_label(target: LinkTarget) -> str:
    return {
        LinkTarget.MODULE: _("The whole module"),
        LinkTarget.PRE: _("Only its pre-test"),
        LinkTarget.POST: _("Only its post-test"),
    }[target]


def deep_linking_launch(launch: LtiLaunch | None) -> LtiLaunch:
    """The session's launch, if it is a content selection request."""
    if launch is None or launch.message_type != c.DEEP_LINKING_REQUEST:
        raise NotFound(
            _("There is no content selection in progress. Open it again from the LMS course.")
        )
    return launch


def content_item(module: Module, target: LinkTarget, language: str) -> dict[str, Any]:
    version = module.current_version
    assert version is not None
    title = version.text(version.title, language)
    if target != LinkTarget.MODULE:
        title = f"{title}: {_('pre-test') if target == LinkTarget.PRE else _('post-test')}"
    item: dict[str, Any] = {
        "type": "ltiResourceLink",
        "title": title,
        "text": version.text(version.summary, language),
        "url": url_for("lti.launch", _external=True),
        "custom": {c.CUSTOM_MODULE: module.slug, c.CUSTOM_TARGET: target.value},
    }
    if target != LinkTarget.PRE:
        # The gradebook column for the post-test score.
        item["lineItem"] = {
            "scoreMaximum": 100,
            "label": title,
            "resourceId": f"{module.slug}:{target.value}",
            "tag": c.LINE_ITEM_TAG,
        }
    return item


def response_jwt(launch: LtiLaunch, items: list[dict[str, Any]]) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": launch.platform.client_id,
        "aud": launch.platform.issuer,
        "iat": now,
        "exp": now + RESPONSE_LIFETIME_SECONDS,
        "nonce": secrets.token_urlsafe(16),
        c.MESSAGE_TYPE: c.DEEP_LINKING_RESPONSE,
        c.VERSION: c.LTI_VERSION,
        c.DEPLOYMENT_ID: launch.deployment_id,
        c.DL_CONTENT_ITEMS: items,
    }
    data = launch.deep_linking.get("data")
    if data is not None:
        payload[c.DL_DATA] = data
    return keys.sign(payload)


@dataclass(frozen=True)
class DeepLinkingResponse:
    return_url: str
    jwt: str

    @property
    def return_origin(self) -> str:
        return origin_of(self.return_url)


def place_module(
    launch: LtiLaunch, module_id: int, target: LinkTarget, language: str
) -> DeepLinkingResponse:
    """The signed response that places ``module`` (or one of its tests) in the course."""
    module = db.session.get(Module, module_id)
    if module is None or not module.published or module.current_version is None:
        raise DomainError(_("Choose a published module."), field="module")
    return_url = str(launch.deep_linking.get("return_url") or "")
    if not ORIGIN_RE.match(origin_of(return_url)):
        raise DomainError(_("The LMS gave no valid address to return to."))
    jwt = response_jwt(launch, [content_item(module, target, language)])
    return DeepLinkingResponse(return_url=return_url, jwt=jwt)
