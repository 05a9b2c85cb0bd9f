"""`seed-demo` makes a term of past and upcoming sessions, once."""

from __future__ import annotations

from sqlalchemy import func, select

from ilms.accounts.services import find_user_by_email
from ilms.authoring import services as authoring
from ilms.cli import BUNDLED_MODULES
from ilms.db import utcnow
from ilms.delivery.models import Phase
from ilms.extensions import db
from ilms.infosessions import quizzes
from ilms.infosessions.models import InfoSession, Registration, RegistrationStatus, SessionFeedback


def test_demo_term_is_made_once(app):
    with app.app_context():
        authoring.import_folder(BUNDLED_MODULES)  # as `make demo` does before seeding
        db.session.commit()
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
        # The demo student's next session has tests: the pre-test is open to them now.
        [with_tests] = [s for s in sessions if s.quiz_cohort_id is not None]
        assert with_tests.starts_at > now
        student = find_user_by_email("student@example.edu")
        assignment = quizzes.take_test(with_tests, student, Phase.PRE)
        assert assignment.module.slug == "evaluating-sources"
        db.session.rollback()
