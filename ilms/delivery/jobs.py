"""Background jobs of delivery: closing attempts whose time ran out."""

from __future__ import annotations

from ilms.delivery import services
from ilms.extensions import db
from ilms.jobs import job


@job(retries=0, schedule={"minute": "*"})
def close_overdue_attempts() -> int:
    """Every minute: submit attempts whose time ran out with the answers saved before it.

    Safe to run in several workers at once: each attempt is finished by exactly one of them.
    """
    closed = services.close_overdue()
    db.session.commit()
    return closed
