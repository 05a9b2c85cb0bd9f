"""The deployment guard, the development secret key, security headers and log-in throttling."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app
from limits import parse
from limits.storage import Storage, storage_from_string

#: Keys that appear in documentation and examples; never acceptable in production.
KNOWN_WEAK_KEYS = {"dev", "secret", "changeme", "change-me", "development", "ilms", "test"}
MIN_SECRET_KEY_LENGTH = 32
#: Password hashing profiles fit for real accounts (``CHEAPEST`` is for tests).
PRODUCTION_ARGON2_PROFILES = ("OWASP", "RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY")


class InsecureConfiguration(RuntimeError):
    """Raised at start-up when a production configuration is unsafe."""


def check_deploy(config: dict) -> None:
    """Refuse to start in production with settings that would expose users (cf. ``check --deploy``)."""
    if config.get("ENV") != "production":
        return
    problems: list[str] = []
    key = config.get("SECRET_KEY") or ""
    if len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in KNOWN_WEAK_KEYS or len(set(key)) < 10:
        problems.append(
            "ILMS_SECRET_KEY must be set to a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters (for example: python -c "
            "'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if config.get("DEBUG"):
        problems.append("ILMS_DEBUG must be off in production")
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("ILMS_SESSION_COOKIE_SECURE must be true in production (HTTPS only)")
    if not config.get("SESSION_COOKIE_HTTPONLY"):
        problems.append("ILMS_SESSION_COOKIE_HTTPONLY must be true in production")
    if config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict", "None"):
        problems.append("ILMS_SESSION_COOKIE_SAMESITE must be Lax, Strict or None in production")
    if not config.get("WTF_CSRF_ENABLED", True):
        problems.append("ILMS_WTF_CSRF_ENABLED must not be turned off in production")
    if config.get("ARGON2_PROFILE", "OWASP") not in PRODUCTION_ARGON2_PROFILES:
        problems.append(
            "ILMS_ARGON2_PROFILE must be one of " + ", ".join(PRODUCTION_ARGON2_PROFILES)
        )
    if problems:
        raise InsecureConfiguration(
            "ILMS refuses to start with ILMS_ENV=production:\n  - " + "\n  - ".join(problems)
        )


def development_secret_key(instance_path: str) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


# --- Headers --------------------------------------------------------------------------------


def content_security_policy(frame_ancestors: str, form_action: str = "'self'") -> str:
    ancestors = frame_ancestors.strip() or "'none'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action {form_action}",
            f"frame-ancestors {ancestors}",
        ]
    )


def current_frame_ancestors() -> str:
    """The origins allowed to frame this response: those a registered provider chooses for it
    (LTI pages: the registered LMS platforms), else ``FRAME_ANCESTORS``."""
    provider = current_app.extensions.get("ilms_frame_ancestors")
    chosen = provider() if provider is not None else None
    return current_app.config["FRAME_ANCESTORS"] if chosen is None else chosen


def set_security_headers(response: Response) -> Response:
    frame_ancestors = current_frame_ancestors()
    response.headers.setdefault("Content-Security-Policy", content_security_policy(frame_ancestors))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not frame_ancestors.strip():
        response.headers["X-Frame-Options"] = "DENY"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


# --- Throttling -----------------------------------------------------------------------------


@dataclass
class LoginThrottle:
    """Counts log-in attempts per account and per address in a shared store.

    Each attempt is counted before the password is checked, with one atomic increment, so that
    parallel requests cannot all slip under the limit. A successful log-in clears the account's
    count and gives back its place in the address's count, so a computer lab behind one address
    is only limited by its wrong passwords.
    """

    storage: Storage
    per_account: str
    per_address: str

    def _window(self, spec: str, kind: str, value: str) -> tuple[str, int, int]:
        item = parse(spec)
        return f"ilms:login:{kind}:{value}", item.get_expiry(), item.amount

    def attempt(self, email: str, address: str) -> bool:
        """Count one attempt; False when the account or the address is over its limit."""
        allowed = True
        for kind, value, spec in (
            ("account", email.lower(), self.per_account),
            ("address", address, self.per_address),
        ):
            key, expiry, amount = self._window(spec, kind, value)
            if self.storage.incr(key, expiry) > amount:
                allowed = False
        return allowed

    def succeeded(self, email: str, address: str) -> None:
        key, _, _ = self._window(self.per_account, "account", email.lower())
        self.storage.clear(key)
        key, expiry, _ = self._window(self.per_address, "address", address)
        if self.storage.get(key) > 0:
            self.storage.incr(key, expiry, amount=-1)


def init_throttle(app: Flask) -> None:
    app.extensions["ilms_login_throttle"] = LoginThrottle(
        storage=storage_from_string(app.config["RATELIMIT_STORAGE_URI"]),
        per_account=app.config["LOGIN_LIMIT_PER_ACCOUNT"],
        per_address=app.config["LOGIN_LIMIT_PER_ADDRESS"],
    )


def login_throttle() -> LoginThrottle:
    return current_app.extensions["ilms_login_throttle"]
