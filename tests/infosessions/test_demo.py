"""`seed-demo` makes a term of past and upcoming sessions, once."""

from __future__ import annotations

from sqlalchemy import func, select

from ilms.accounts.services import find_user_by_email
from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions.models import InfoSession, Registration, RegistrationStatus, SessionFeedback


def test_demo_term_is_made_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["ilms", "seed-demo"])
    second = runner.invoke(args=["ilms", "seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "Demo info sessions:" in first.output
    assert "already there" in second.output
    with app.app_context():
        librarian = find_user_by_email("librarian@example.edu")
        sessions = db.session.scalars(
            select(InfoSession).where(InfoSession.created_by_id == librarian.id)
        ).all()
        now = utcnow()
        assert sum(s.ends_at <= now for s in sessions) >= 10
        assert sum(s.starts_at > now for s in sessions) >= 10
        ids = [s.id for s in sessions]
        attended = db.session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(
                Registration.session_id.in_(ids), Registration.status == RegistrationStatus.ATTENDED
            )
        )
        answers = db.session.scalar(
            select(func.count())
            .select_from(SessionFeedback)
            .join(Registration)
            .where(Registration.session_id.in_(ids))
        )
        assert attended > 50 and answers > 20
        waiting = db.session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(
                Registration.session_id.in_(ids),
                Registration.status == RegistrationStatus.WAITLISTED,
            )
        )
        assert waiting > 0
