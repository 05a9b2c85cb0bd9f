"""Roster files waiting between their preview and their import, kept in the instance folder.

Each pending file is named by its cohort, the person who uploaded it and a random token, so that
only that person can preview or import it in that cohort. Files older than ``PENDING_MAX_AGE`` are
removed whenever a new one is saved. With several app servers, the instance folder must be shared.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from ilms.errors import NotFound

PENDING_MAX_AGE = timedelta(hours=2)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
FOLDER = "roster-uploads"


def _folder() -> Path:
    folder = Path(current_app.instance_path) / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _path(cohort_id: int, user_id: int, token: str, suffix: str = ".csv") -> Path:
    if not TOKEN.match(token):
        raise expired()
    return _folder() / f"{int(cohort_id)}-{int(user_id)}-{token}{suffix}"


def expired() -> NotFound:
    return NotFound(
        _("This upload has expired or has already been imported. Please upload the file again.")
    )


def save_pending(cohort_id: int, user_id: int, data: bytes) -> str:
    """Keep ``data`` for a later import; returns the token that names it."""
    remove_expired()
    token = secrets.token_urlsafe(24)
    path = _path(cohort_id, user_id, token)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return token


def load_pending(cohort_id: int, user_id: int, token: str) -> bytes:
    path = _path(cohort_id, user_id, token)
    try:
        if _age(path) > PENDING_MAX_AGE.total_seconds():
            path.unlink(missing_ok=True)
            raise expired()
        return path.read_bytes()
    except FileNotFoundError as error:
        raise expired() from error


def claim_pending(cohort_id: int, user_id: int, token: str) -> Path:
    """Take the pending file for importing; a second claim of the same file fails (404).

    The rename is atomic, so of two confirmations sent at once (a double click) only one imports.
    """
    path = _path(cohort_id, user_id, token)
    claimed = _path(cohort_id, user_id, token, ".claimed")
    try:
        path.rename(claimed)
    except FileNotFoundError as error:
        raise expired() from error
    return claimed


def release_claim(claimed: Path) -> None:
    """Put a claimed file back, when its import failed, so that it can be tried again."""
    claimed.rename(claimed.with_suffix(".csv"))


def discard(claimed: Path) -> None:
    claimed.unlink(missing_ok=True)


def _age(path: Path) -> float:
    return time.time() - path.stat().st_mtime


def remove_expired() -> None:
    limit = PENDING_MAX_AGE.total_seconds()
    for path in _folder().iterdir():
        try:
            if _age(path) > limit:
                path.unlink()
        except FileNotFoundError:
            continue  # removed by another process meanwhile
