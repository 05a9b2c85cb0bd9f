"""Reminders the day before: each sent once, even when the job runs twice or twice at once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import services
from ilms.infosessions.jobs import session_pass
from ilms.infosessions.models import SessionMail
from ilms.permissions import Role
from tests.infosessions.conftest import get_session, mails_to, register


def reminders_in(outbox, email: str) -> list:
    return [m for m in mails_to(outbox, email) if m["Subject"].startswith("Reminder")]


def test_each_reminder_is_sent_once(ctx, make_session, person, outbox):
    soon = make_session(starts_at=utcnow() + timedelta(hours=20), capacity=1)
    later = make_session(starts_at=utcnow() + timedelta(hours=30))
    placed, waiting, cancelled = person(), person(), person()
    register(soon, placed)
    register(soon, waiting)
    register(later, placed)
    gone = register(later, cancelled)
    services.cancel_registration(gone)
    db.session.commit()
    outbox.clear()
    services.send_due_reminders()
    db.session.commit()
    assert services.send_due_reminders() == 0
    db.session.commit()
    assert len(reminders_in(outbox, placed.email)) == 1
    reminder = reminders_in(outbox, placed.email)[0]
    assert get_session(soon).title["en"] in reminder["Subject"]
    assert "Room 101" in reminder.get_content()
    # A day later the second session is due; the first is not reminded again.
    services.send_due_reminders(now=utcnow() + timedelta(hours=10))
    db.session.commit()
    assert len(reminders_in(outbox, placed.email)) == 2
    assert reminders_in(outbox, waiting.email) == reminders_in(outbox, cancelled.email) == []


def test_no_reminder_for_a_cancelled_session(ctx, make_session, person, outbox):
    session_id = make_session(starts_at=utcnow() + timedelta(hours=5))
    student = person()
    register(session_id, student)
    services.cancel_session(get_session(session_id))
    db.session.commit()
    services.send_due_reminders()
    db.session.commit()
    assert reminders_in(outbox, student.email) == []


def test_the_command_run_twice_sends_once(app, make_session, make_user, outbox):
    session_id = make_session(starts_at=utcnow() + timedelta(hours=2))
    student = make_user(Role.STUDENT)
    with app.test_request_context():
        register(session_id, student)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["ilms", "send-reminders"])
    second = runner.invoke(args=["ilms", "send-reminders"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "reminders sent:" in first.output
    assert "reminders sent: 0" in second.output
    assert len(reminders_in(outbox, student.email)) == 1


def test_parallel_runs_of_the_job_send_once(app, make_session, make_user, outbox):
    sessions = [make_session(starts_at=utcnow() + timedelta(hours=3)) for _ in range(3)]
    students = [make_user(Role.STUDENT) for _ in range(4)]
    with app.test_request_context():
        for session_id in sessions:
            for student in students:
                register(session_id, student)
    outbox.clear()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            with app.app_context():  # as the worker runs it: its own context and transaction
                session_pass()
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for student in students:
        assert len(reminders_in(outbox, student.email)) == 3
    with app.app_context():
        rows = db.session.scalar(
            select(func.count())
            .select_from(SessionMail)
            .join(services.Registration)
            .where(services.Registration.session_id.in_(sessions), SessionMail.kind == "reminder")
        )
    assert rows == 12


def test_the_reminder_job_runs_every_quarter_hour(app):
    queue = app.extensions["ilms_queue"]
    name = "ilms.infosessions.jobs.session_pass"
    assert name in {task.name for task in queue.read_periodic(datetime(2026, 1, 5, 9, 15))}
    assert name not in {task.name for task in queue.read_periodic(datetime(2026, 1, 5, 9, 7))}
