"""Cookies and framing inside an LMS page.

An LTI session lives in a third-party iframe, so its session cookie must be ``SameSite=None;
Secure`` and partitioned (CHIPS), or the browser would not send it back. Only LTI sessions get
these attributes, per response; every other session keeps the configured ``SameSite=Lax``.
The browser-binding cookie ties a log-in's ``state`` to the browser that started it.
"""

from __future__ import annotations

import contextvars
import secrets
from typing import Any

from flask import Flask, Request, Response, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy.exc import SQLAlchemyError

#: Session key holding the reference of the LTI launch (the launch itself stays server-side).
LTI_SESSION_KEY = "lti_launch"
BROWSER_COOKIE = "ilms_lti_browser"
BROWSER_COOKIE_PATH = "/lti/"

_lti_cookie: contextvars.ContextVar[bool] = contextvars.ContextVar("lti_cookie", default=False)


class LtiSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions whose cookie attributes suit an LMS iframe for LTI sessions."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        loaded = super().open_session(app, request)
        if loaded is not None:
            loaded.lti_cookie = bool(loaded.get(LTI_SESSION_KEY))  # type: ignore[attr-defined]
        return loaded

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        # An LTI session being logged out must be deleted with the attributes it was set with.
        lti = bool(session.get(LTI_SESSION_KEY)) or getattr(session, "lti_cookie", False)
        token = _lti_cookie.set(lti)
        try:
            super().save_session(app, session, response)
        finally:
            _lti_cookie.reset(token)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if _lti_cookie.get() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if _lti_cookie.get() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if _lti_cookie.get() else super().get_cookie_partitioned(app)


def is_lti_request() -> bool:
    """An LTI page: one of the LTI endpoints, or any page of a session started by a launch."""
    return request.blueprint == "lti" or bool(session.get(LTI_SESSION_KEY))


def lti_frame_ancestors() -> str | None:
    """The registered platforms' origins for LTI pages; None elsewhere (the default applies)."""
    if not is_lti_request():
        return None
    from ilms.lti.platforms import frame_origins

    try:
        return frame_origins()
    except SQLAlchemyError:
        return ""  # no framing rather than an error page about framing


def init_app(app: Flask) -> None:
    app.session_interface = LtiSessionInterface()
    app.extensions["ilms_frame_ancestors"] = lti_frame_ancestors


# --- Browser binding ------------------------------------------------------------------------


def browser_token() -> str | None:
    return request.cookies.get(BROWSER_COOKIE)


def ensure_browser_token() -> str:
    """The browser's binding token, reused across log-ins so parallel launches do not clash."""
    token = browser_token()
    return token if token and 20 <= len(token) <= 100 else secrets.token_urlsafe(32)


def set_browser_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        BROWSER_COOKIE,
        token,
        max_age=int(current_app.config["LTI_STATE_SECONDS"]),
        path=BROWSER_COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="None",
        partitioned=True,
    )
