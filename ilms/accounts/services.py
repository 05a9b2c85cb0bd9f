"""Account operations: creating users, logging in and out, passwords, roles, the audit log."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import argon2.profiles
from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import joinedload

from ilms.accounts.models import AuditEvent, LoginSession, PasswordResetToken, User, UserRole
from ilms.db import read_before_writing, utcnow
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.mail import render_mail, send_mail
from ilms.permissions import Role
from ilms.security import login_throttle


class TooManyAttempts(DomainError):
    status_code = 429


class InvalidCredentials(DomainError):
    status_code = 401


# --- Passwords ------------------------------------------------------------------------------


#: OWASP's recommended minimum for argon2id (Password Storage Cheat Sheet): 19 MiB, 2 passes,
#: 1 lane. About a sixth of the CPU time of RFC 9106's low-memory profile, which matters when a
#: class of 300 logs in within the same minute.
OWASP = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=32,
    time_cost=2,
    memory_cost=19 * 1024,
    parallelism=1,
)


def argon2_profile(name: str) -> Parameters:
    """``OWASP`` or the name of a profile of ``argon2.profiles`` (``RFC_9106_LOW_MEMORY``, ...)."""
    if name == "OWASP":
        return OWASP
    profile = getattr(argon2.profiles, name, None)
    if not isinstance(profile, Parameters):
        raise ValueError(f"ARGON2_PROFILE {name!r} is not a known argon2 profile")
    return profile


def _hasher() -> tuple[PasswordHasher, str]:
    """argon2id with the configured profile, and a hash to verify against for unknown emails
    (so that the time taken does not reveal which accounts exist)."""
    cached = current_app.extensions.get("ilms_password_hasher")
    if cached is None:
        hasher = PasswordHasher.from_parameters(
            argon2_profile(current_app.config["ARGON2_PROFILE"])
        )
        cached = (hasher, hasher.hash(secrets.token_urlsafe(16)))
        current_app.extensions["ilms_password_hasher"] = cached
    return cached


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def verify_password(user: User | None, password: str) -> bool:
    hasher, dummy = _hasher()
    stored = user.password_hash if user and user.password_hash else dummy
    try:
        ok = hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if ok and user and hasher.check_needs_rehash(stored):
        user.password_hash = hash_password(password)
    return ok and user is not None and user.password_hash is not None


def check_password_strength(password: str, user_email: str | None = None) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise DomainError(
            _("Choose a password of at least %(n)d characters.", n=minimum), field="password"
        )
    if user_email and password.lower() == user_email.lower():
        raise DomainError(_("Your password must not be your email address."), field="password")


# --- Users ----------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(
    email: str,
    name: str,
    roles: Iterable[Role],
    password: str | None = None,
    *,
    locale: str | None = None,
    actor: User | None = None,
    password_hash: str | None = None,
) -> User:
    """Create an account; ``password`` None leaves it unusable until a reset link is used."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise DomainError(_("An account with this email address already exists."), field="email")
    roles = set(roles)
    if not roles:
        raise DomainError(_("Choose at least one role."), field="roles")
    if password is not None:
        check_password_strength(password, email)
        password_hash = hash_password(password)
    user = User(email=email, name=name.strip(), password_hash=password_hash, locale=locale)
    user.role_rows = [UserRole(role=role) for role in sorted(roles)]
    db.session.add(user)
    db.session.flush()
    audit("user.created", actor=actor, target=user, roles=sorted(r.value for r in roles))
    return user


def set_roles(user: User, roles: Iterable[Role], actor: User) -> None:
    roles = set(roles)
    if not roles:
        raise DomainError(_("Choose at least one role."), field="roles")
    if user.is_admin and Role.ADMIN not in roles:
        _ensure_another_admin(user)
    before = sorted(r.value for r in user.roles)
    user.role_rows = [row for row in user.role_rows if row.role in roles] + [
        UserRole(role=role) for role in sorted(roles - user.roles)
    ]
    db.session.flush()
    audit(
        "user.roles_changed",
        actor=actor,
        target=user,
        before=before,
        after=sorted(r.value for r in roles),
    )


def set_active(user: User, active: bool, actor: User) -> None:
    if not active and user.is_admin:
        _ensure_another_admin(user)
    user.active = active
    if not active:
        revoke_sessions(user)
    audit("user.activated" if active else "user.deactivated", actor=actor, target=user)


def _ensure_another_admin(user: User) -> None:
    others = db.session.scalar(
        select(func.count())
        .select_from(UserRole)
        .join(User)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise DomainError(_("ILMS needs at least one active administrator; appoint another first."))


def update_profile(user: User, name: str, locale: str | None, timezone: str | None) -> None:
    user.name = name.strip()
    user.locale = locale or None
    user.timezone = timezone or None


# --- Log-in sessions ------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(email: str, password: str, address: str) -> User:
    """Check credentials, counting the attempt against the account and the address."""
    email = normalise_email(email)
    throttle = login_throttle()
    if not throttle.attempt(email, address):
        audit("login.throttled", ip=address, email=email)
        raise TooManyAttempts(
            _("Too many log-in attempts. Please wait 15 minutes, or reset your password.")
        )
    # Read before any write: on SQLite the write lock is then not held through the password
    # check (tens of milliseconds of CPU) that every log-in of a class arriving at once makes.
    with read_before_writing(db.session()):
        user = find_user_by_email(email)
        if user is not None:
            user.roles  # noqa: B018  (loaded now, for the redirect to the person's home page)
    if not verify_password(user, password) or user is None or not user.active:
        audit("login.failed", target=user, ip=address, email=email)
        raise InvalidCredentials(_("The email address or password is not correct."))
    throttle.succeeded(email, address)
    return user


def start_login_session(user: User, address: str | None, user_agent: str | None) -> str:
    """Record a new log-in and return the token for the session cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            id=_digest(token),
            user=user,
            expires_at=utcnow() + current_app.config["PERMANENT_SESSION_LIFETIME"],
            ip_address=address,
            user_agent=(user_agent or "")[:300],
        )
    )
    user.last_login_at = utcnow()
    audit("login.succeeded", actor=user, target=user, ip=address)
    return token


def load_login_session(token: str | None, user_id: str) -> User | None:
    if not token:
        return None
    login = db.session.execute(_login_query(), {"digest": _digest(token)}).unique().scalar()
    if login is None or str(login.user_id) != user_id or login.expires_at <= utcnow():
        return None
    return login.user if login.user.active else None


@functools.cache
def _login_query() -> Select[tuple[LoginSession]]:
    """One query for the log-in, its user and their roles, asked by every request of a page:
    built once, so that SQLAlchemy need not work out its cache key each time."""
    return (
        select(LoginSession)
        .where(LoginSession.id == bindparam("digest"))
        .options(joinedload(LoginSession.user, innerjoin=True).joinedload(User.role_rows))
    )


def end_login_session(token: str | None, user: User | None) -> None:
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.id == _digest(token)))
    if user is not None:
        audit("logout", actor=user, target=user)


def revoke_sessions(user: User, keep_token: str | None = None) -> None:
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_token:
        query = query.where(LoginSession.id != _digest(keep_token))
    db.session.execute(query)


def change_password(user: User, current: str, new: str, keep_token: str | None) -> None:
    if not verify_password(user, current):
        raise DomainError(_("Your current password is not correct."), field="current_password")
    check_password_strength(new, user.email)
    user.password_hash = hash_password(new)
    revoke_sessions(user, keep_token=keep_token)
    audit("password.changed", actor=user, target=user)


# --- Password reset -------------------------------------------------------------------------


def request_password_reset(email: str, address: str | None) -> None:
    """Email a single-use link if the account exists; say nothing either way."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        audit("password.reset_requested_unknown", ip=address, email=normalise_email(email))
        return
    link = password_link(user, current_app.config["PASSWORD_RESET_MAX_AGE"])
    audit("password.reset_requested", target=user, ip=address)
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE"] / timedelta(minutes=1))
    send_mail(
        render_mail(
            "password_reset", user.locale, user.email, user=user, link=link, minutes=minutes
        )
    )


def password_link(user: User, max_age: timedelta) -> str:
    """A single-use link at which ``user`` sets a password: for resets and for invitations."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordResetToken(token_hash=_digest(token), user=user, expires_at=utcnow() + max_age)
    )
    return url_for("auth.reset_password", token=token, _external=True)


def find_reset_token(token: str) -> PasswordResetToken:
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == _digest(token))
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise DomainError(
            _(
                "This password reset link has expired or has already been used. Please ask for a new one."
            )
        )
    return row


def reset_password(token: str, new_password: str) -> User:
    row = find_reset_token(token)
    user = row.user
    check_password_strength(new_password, user.email)
    user.password_hash = hash_password(new_password)
    row.used_at = utcnow()
    # Any other outstanding links for this account stop working too.
    db.session.execute(
        delete(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.id != row.id
        )
    )
    revoke_sessions(user)
    audit("password.reset", actor=user, target=user)
    return user


# --- Audit ----------------------------------------------------------------------------------


def audit(
    event: str,
    *,
    actor: User | None = None,
    target: User | None = None,
    ip: str | None = None,
    **details: Any,
) -> None:
    db.session.add(
        AuditEvent(event=event, actor=actor, target=target, ip_address=ip, details=details)
    )
