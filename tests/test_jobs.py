"""The background queue: the embedded worker delivers jobs outside the request, per app."""

from __future__ import annotations

import time

from ilms import create_app
from ilms.jobs import start_embedded_worker
from ilms.mail import Mail, send_mail


def test_embedded_worker_runs_queued_jobs(tmp_path, app):
    background = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "k" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
            "QUEUE_IMMEDIATE": False,
            "MAIL_BACKEND": "memory",
        }
    )
    with background.app_context():
        send_mail(Mail(to="reader@example.edu", subject="Queued", body="Sent by the worker."))
        outbox = background.extensions.setdefault("ilms_outbox", [])
        assert outbox == []  # nothing is sent inside the caller
    start_embedded_worker(background)
    start_embedded_worker(background)  # idempotent
    deadline = time.monotonic() + 20
    while not outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    background.extensions["ilms_consumer"].stop(graceful=True)
    assert [m["Subject"] for m in outbox] == ["Queued"]
    # The session's app keeps its own queue, which runs jobs immediately.
    assert app.extensions["ilms_queue"].immediate
