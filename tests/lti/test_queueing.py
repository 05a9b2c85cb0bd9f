"""Jobs asked for by a transaction run after its outermost commit, never after a rollback."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ilms.extensions import db
from ilms.lti.queueing import enqueue_after_commit


def test_queued_jobs_wait_for_the_outermost_commit(app, monkeypatch):
    sent: list[tuple] = []
    monkeypatch.setattr("ilms.jobs.enqueue", lambda fn, *args: sent.append(args))
    with app.app_context():
        db.session.execute(select(1))
        enqueue_after_commit(print, "first")
        with db.session.begin_nested():
            pass
        with pytest.raises(ValueError), db.session.begin_nested():
            raise ValueError
        assert sent == []
        db.session.commit()
        assert sent == [("first",)]
        db.session.execute(select(1))
        enqueue_after_commit(print, "second")
        db.session.rollback()
        db.session.commit()
        assert sent == [("first",)]
