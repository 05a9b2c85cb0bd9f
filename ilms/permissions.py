"""Roles and the checks views use to enforce who may see what."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])


class Role(enum.StrEnum):
    STUDENT = "student"
    LIBRARIAN = "librarian"
    FACULTY = "faculty"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.STUDENT: _l("Student"),
    Role.LIBRARIAN: _l("Librarian"),
    Role.FACULTY: _l("Faculty"),
    Role.ADMIN: _l("Administrator"),
}

#: Order in which a person with several roles is sent home (the broadest first).
HOME_PRIORITY = (Role.ADMIN, Role.LIBRARIAN, Role.FACULTY, Role.STUDENT)


def require_role(*roles: Role) -> Callable[[F], F]:
    """Allow a view only to logged-in users holding one of ``roles`` (401 redirect / 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from ilms.extensions import login_manager

                return login_manager.unauthorized()
            if not current_user.has_any_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
