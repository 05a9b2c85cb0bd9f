"""Calls from ILMS to a platform: HTTP with a timeout, and OAuth 2 access tokens for its services.

Access tokens are obtained with the client-credentials grant and a client assertion signed by the
tool's key (LTI Advantage security), and reused until shortly before they expire.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import current_app
from flask_babel import gettext as _

from ilms.lti import keys
from ilms.lti.models import LtiPlatform

#: Replies larger than this are not read (a platform's JSON is far smaller).
MAX_REPLY_BYTES = 5 * 1024 * 1024
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ServiceError(Exception):
    """A platform could not be reached or refused a call; the message says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as error:
            raise ServiceError(
                _("The platform answered with something that is not JSON.")
            ) from error

    def detail(self) -> str:
        return self.body[:300].decode("utf-8", "replace")


def timeout() -> float:
    return float(current_app.config["LTI_HTTP_TIMEOUT_SECONDS"])


def call(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """One HTTP request to a platform, never longer than ``LTI_HTTP_TIMEOUT_SECONDS``."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ServiceError(
            _("ILMS calls platforms only at https:// addresses (got %(url)s).", url=url)
        )
    request = urllib.request.Request(  # noqa: S310  (only http and https, checked above)
        url, data=body, method=method, headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout()) as response:  # noqa: S310
            return Reply(response.status, response.headers, response.read(MAX_REPLY_BYTES))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read(MAX_REPLY_BYTES))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ServiceError(
            _("ILMS could not reach %(url)s: %(reason)s", url=url, reason=str(reason))
        ) from error


# --- Access tokens --------------------------------------------------------------------------

_tokens: dict[tuple[int, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def client_assertion(platform: LtiPlatform) -> str:
    now = int(time.time())
    return keys.sign(
        {
            "iss": platform.client_id,
            "sub": platform.client_id,
            "aud": platform.token_audience or platform.token_url,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        }
    )


def access_token(platform: LtiPlatform, scopes: Iterable[str]) -> str:
    """A bearer token for ``scopes`` from the platform's token URL (cached until near expiry)."""
    scope = " ".join(sorted(set(scopes)))
    cache_key = (platform.id, scope)
    with _tokens_lock:
        cached = _tokens.get(cache_key)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(platform),
        "scope": scope,
    }
    reply = call(
        "POST",
        platform.token_url,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        body=urlencode(form).encode(),
    )
    if not reply.ok:
        raise ServiceError(
            _(
                "The platform's token URL refused ILMS (HTTP %(status)d): %(detail)s. Check the "
                "client id and that the platform has the tool's JWKS URL.",
                status=reply.status,
                detail=reply.detail(),
            )
        )
    document = reply.json()
    token = document.get("access_token") if isinstance(document, dict) else None
    if not isinstance(token, str) or not token:
        raise ServiceError(_("The platform's token URL answered without an access token."))
    lifetime = float(document.get("expires_in") or 3600)
    with _tokens_lock:
        _tokens[cache_key] = (token, time.monotonic() + max(lifetime - 30, 0))
    return token


def forget_token(platform: LtiPlatform, scopes: Iterable[str]) -> None:
    """Drop a cached token the platform no longer accepts."""
    with _tokens_lock:
        _tokens.pop((platform.id, " ".join(sorted(set(scopes)))), None)
