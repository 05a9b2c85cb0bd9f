"""Figures for the home pages and the readiness check."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select, text

from ilms.accounts.models import AuditEvent, User, UserRole
from ilms.extensions import db
from ilms.permissions import Role


def migration_heads() -> set[str]:
    cached = current_app.extensions.get("ilms_migration_heads")
    if cached is None:
        directory = current_app.extensions["migrate"].directory
        cached = set(ScriptDirectory(str(Path(directory))).get_heads())
        current_app.extensions["ilms_migration_heads"] = cached
    return cached


def readiness() -> tuple[bool, dict[str, str]]:
    """Whether the database answers and its schema is at the newest migration."""
    checks: dict[str, str] = {}
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # the database may be down in any number of ways
        return False, {"database": f"unavailable: {type(error).__name__}"}
    checks["database"] = "ok"
    heads = migration_heads()
    checks["migrations"] = (
        "ok"
        if current == heads
        else (
            f"database at {sorted(current) or 'none'}, code at {sorted(heads)}: run `flask db upgrade`"
        )
    )
    return checks["migrations"] == "ok", checks


def admin_overview() -> dict[str, object]:
    counts = dict(
        db.session.execute(
            select(UserRole.role, func.count())
            .join(User)
            .where(User.active.is_(True))
            .group_by(UserRole.role)
        ).all()
    )
    return {
        "role_counts": [(role, counts.get(role, 0)) for role in Role],
        "inactive": db.session.scalar(
            select(func.count()).select_from(User).where(User.active.is_(False))
        ),
        "recent_events": db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(10)
        ).all(),
    }
