"""Reports kept up to date: snapshots marked stale as attempts finish, recomputed by one job each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ilms.cohorts.models import Assignment
from ilms.db import utcnow
from ilms.extensions import db
from ilms.reports import jobs, snapshots, views
from ilms.reports.models import ReportSnapshot
from tests.conftest import CSRF_RE, csrf_token_from
from tests.reports.test_cohort_report import build_cohort


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """Jobs the report pages queue, kept instead of run (as when a worker is busy)."""
    calls: list[tuple] = []
    monkeypatch.setattr(views, "enqueue", lambda fn, *args: calls.append((fn, *args)))
    return calls


def snapshot_of(app, assignment_id: int) -> ReportSnapshot | None:
    with app.app_context():
        snapshot = db.session.scalar(
            select(ReportSnapshot).where(ReportSnapshot.assignment_id == assignment_id)
        )
        if snapshot is not None:
            db.session.expunge(snapshot)
        return snapshot


def test_finishing_an_attempt_marks_the_snapshot_stale(app, synth, new_attempt, client_as):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    assert client.get(f"/reports/assignments/{cohort.assignment_id}").status_code == 200
    first = snapshot_of(app, cohort.assignment_id)
    assert first.document is not None and first.computed_revision == first.revision == 0
    new_attempt(cohort.assignment_id)
    stale = snapshot_of(app, cohort.assignment_id)
    assert stale.revision == 1 and stale.computed_revision == 0
    with app.app_context():
        assert snapshots.is_stale(db.session.get(ReportSnapshot, stale.id))


def test_no_snapshot_no_work(app, make_user, make_assignment, enrol):
    """Before anyone opens a report, finishing attempts costs one UPDATE of nothing."""
    assignment = build_cohort(app, make_user, make_assignment, enrol)
    assert snapshot_of(app, assignment.id) is None


def test_a_stale_dashboard_shows_the_last_figures_and_queues_one_recompute(
    app, synth, new_attempt, client_as, queued
):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    client.get(f"/reports/assignments/{cohort.assignment_id}")
    assert queued == []  # small and new: computed in the request
    new_attempt(cohort.assignment_id)
    page = client.get(f"/reports/assignments/{cohort.assignment_id}").get_data(as_text=True)
    assert "Newer attempts are being added to the figures." in page
    assert "Figures as of" in page
    client.get(f"/reports/assignments/{cohort.assignment_id}")
    client.get(f"/reports/cohorts/{cohort.cohort_id}")
    assert [call[0] for call in queued] == [jobs.recompute_report]  # debounced: one per snapshot
    status = client.get(f"/reports/assignments/{cohort.assignment_id}/status.json").get_json()
    assert status["updating"] is True and status["ready"] is False
    with app.app_context():
        jobs.recompute_report(queued[0][1])
    fresh = snapshot_of(app, cohort.assignment_id)
    assert fresh.queued_at is None and fresh.computed_revision == fresh.revision == 1
    assert fresh.document["participation"]["enrolled"] == 13
    status = client.get(f"/reports/assignments/{cohort.assignment_id}/status.json").get_json()
    assert status["ready"] is True


def test_the_periodic_job_recomputes_what_attempts_overtook(app, synth, new_attempt, client_as):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    client.get(f"/reports/assignments/{cohort.assignment_id}")
    new_attempt(cohort.assignment_id)
    with app.app_context():
        assert jobs.refresh_reports() >= 1  # claims and runs (jobs run at once in tests)
        assert jobs.refresh_reports() == 0 or snapshot_of(app, cohort.assignment_id).revision == 1
    fresh = snapshot_of(app, cohort.assignment_id)
    assert fresh.computed_revision == 1 and fresh.queued_at is None


def test_claims_are_taken_once_and_expire(app, synth):
    cohort = synth(students=6, items=3)
    with app.app_context():
        assignment = db.session.get(Assignment, cohort.assignment_id)
        snapshot = snapshots.assignment_snapshot(assignment)
        now = utcnow()
        assert snapshots.claim(snapshot, now) is True
        assert snapshots.claim(snapshot, now) is False
        assert snapshots.claim(snapshot, now + snapshots.STUCK_AFTER + timedelta(seconds=1))
        db.session.rollback()


def test_a_large_first_report_is_prepared_in_the_background(
    app, synth, client_as, queued, monkeypatch
):
    monkeypatch.setitem(app.config, "REPORT_SYNC_MAX_STUDENTS", 5)
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    page = client.get(f"/reports/assignments/{cohort.assignment_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "The report is being prepared" in text and "data-report-status" in text
    assert "<meta http-equiv" not in text  # the status is polled by a script, not a refresh
    assert client.get(f"/reports/assignments/{cohort.assignment_id}.json").status_code == 503
    assert [call[0] for call in queued] == [jobs.recompute_report]
    with app.app_context():
        jobs.recompute_report(queued[0][1])
    assert client.get(f"/reports/assignments/{cohort.assignment_id}/status.json").get_json()[
        "ready"
    ]
    assert "Summary" in client.get(f"/reports/assignments/{cohort.assignment_id}").get_data(
        as_text=True
    )


def test_a_failed_recompute_keeps_the_last_figures(app, synth, new_attempt, client_as, monkeypatch):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    client.get(f"/reports/assignments/{cohort.assignment_id}")
    before = snapshot_of(app, cohort.assignment_id).document

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(snapshots, "compute", broken)
    new_attempt(cohort.assignment_id)
    page = client.get(f"/reports/assignments/{cohort.assignment_id}").get_data(as_text=True)
    failed = snapshot_of(app, cohort.assignment_id)
    assert failed.error == "RuntimeError" and failed.queued_at is None
    assert failed.document == before
    assert "The last update of these figures failed" in page


def test_a_first_report_that_fails_says_so_and_can_be_tried_again(
    app, synth, client_as, queued, monkeypatch
):
    monkeypatch.setitem(app.config, "REPORT_SYNC_MAX_STUDENTS", 5)
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    url = f"/reports/assignments/{cohort.assignment_id}"
    client.get(url)
    compute = snapshots.compute

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(snapshots, "compute", broken)
    with app.app_context():
        jobs.recompute_report(queued[0][1])
    failed = snapshot_of(app, cohort.assignment_id)
    assert failed.document is None and failed.error == "RuntimeError" and failed.queued_at is None
    status = client.get(f"{url}/status.json").get_json()
    assert status["failed"] is True and status["ready"] is False
    assert status["message"] == "The report could not be prepared."
    page = client.get(url).get_data(as_text=True)
    assert "The report could not be prepared" in page and "Try again" in page
    assert "data-report-status" not in page and "report-status.js" not in page  # no more waiting
    overview = client.get(f"/reports/cohorts/{cohort.cohort_id}").get_data(as_text=True)
    assert "The report could not be prepared." in overview
    assert len(queued) == 1  # opening the pages does not queue the failing computation again

    token = CSRF_RE.search(page).group(1)
    assert client.post(f"{url}/retry").status_code == 400  # no token
    response = client.post(f"{url}/retry", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    assert [call[0] for call in queued] == [jobs.recompute_report] * 2
    client.post(f"{url}/retry", data={"csrf_token": token})  # a second click: already queued
    assert len(queued) == 2
    waiting = client.get(url).get_data(as_text=True)
    assert "The report is being prepared" in waiting and "data-report-status" in waiting
    monkeypatch.setattr(snapshots, "compute", compute)
    with app.app_context():
        jobs.recompute_report(queued[1][1])
    assert client.get(f"{url}/status.json").get_json()["ready"] is True
    assert "Summary" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/retry", data={"csrf_token": token})  # nothing failed: nothing to do
    assert len(queued) == 2


def test_only_the_cohort_s_staff_may_try_a_report_again(app, synth, client_as, queued):
    cohort = synth(students=6, items=3)
    url = f"/reports/assignments/{cohort.assignment_id}/retry"
    stranger, _ = client_as("faculty")
    assert (
        stranger.post(url, data={"csrf_token": csrf_token_from(stranger, "/account")}).status_code
        == 404
    )
    student, _ = client_as("student")
    assert (
        student.post(url, data={"csrf_token": csrf_token_from(student, "/account")}).status_code
        == 403
    )
    owner, _ = client_as("faculty", cohort_id=cohort.cohort_id)
    token = csrf_token_from(owner, "/account")
    assert owner.post(url, data={"csrf_token": token}).status_code == 404  # never opened
    assert queued == []


def test_a_recompute_whose_job_died_counts_as_failed(app, synth, client_as, queued, monkeypatch):
    """A claim that expires unreleased (the worker was killed) is a failure, not a long wait."""
    monkeypatch.setitem(app.config, "REPORT_SYNC_MAX_STUDENTS", 5)
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    url = f"/reports/assignments/{cohort.assignment_id}"
    client.get(url)
    with app.app_context():
        snapshot = db.session.get(ReportSnapshot, queued[0][1])
        assert not snapshots.has_failed(snapshot, utcnow())
        snapshot.queued_at = utcnow() - snapshots.STUCK_AFTER - timedelta(seconds=1)
        db.session.commit()
    assert client.get(f"{url}/status.json").get_json()["failed"] is True
    page = client.get(url).get_data(as_text=True)
    assert "Try again" in page
    client.post(f"{url}/retry", data={"csrf_token": CSRF_RE.search(page).group(1)})
    assert len(queued) == 2


def test_a_module_report_that_fails_can_be_tried_again(app, synth, client_as, queued, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_SYNC_MAX_STUDENTS", 5)
    cohort = synth(students=12, items=4)
    client, _librarian = client_as("librarian", cohort_id=cohort.cohort_id)
    url = f"/reports/modules/{cohort.module_slug}"
    client.get(url)
    monkeypatch.setattr(snapshots, "compute", lambda *_args, **_kwargs: 1 / 0)
    with app.app_context():
        jobs.recompute_report(queued[0][1])
    page = client.get(url).get_data(as_text=True)
    assert "The report could not be prepared" in page and len(queued) == 1
    token = CSRF_RE.search(page).group(1)
    response = client.post(f"{url}/retry?term=", data={"csrf_token": token})
    assert (
        response.status_code == 302
        and f"/reports/modules/{cohort.module_slug}" in (response.headers["Location"])
    )
    assert len(queued) == 2
    faculty, _ = client_as("faculty", cohort_id=cohort.cohort_id)
    token = csrf_token_from(faculty, "/account")
    assert faculty.post(f"{url}/retry", data={"csrf_token": token}).status_code == 403


def test_old_reports_are_refreshed_when_viewed(app, synth, client_as, queued, monkeypatch):
    """Grading or roster changes do not finish attempts: age makes a viewed report recompute."""
    cohort = synth(students=8, items=3)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    client.get(f"/reports/assignments/{cohort.assignment_id}")
    assert queued == []
    monkeypatch.setitem(app.config, "REPORT_REFRESH_MINUTES", -1)
    client.get(f"/reports/assignments/{cohort.assignment_id}")
    assert [call[0] for call in queued] == [jobs.recompute_report]


def test_a_module_snapshot_follows_its_assignments(
    app, make_user, make_assignment, enrol, new_attempt
):
    one = build_cohort(app, make_user, make_assignment, enrol)
    two = build_cohort(app, make_user, make_assignment, enrol)
    with app.app_context():
        assignments = [db.session.get(Assignment, a.id) for a in (one, two)]
        pooled = snapshots.module_snapshot(assignments[0].module, "Fall 2026", assignments)
        snapshots.recompute(pooled)
        db.session.commit()
        assert pooled.document["participation"]["enrolled"] == 12
        assert pooled.document["paired"]["n"] == 12
        assert [c["id"] for c in pooled.document["cohorts"]] != []
        assert len(pooled.document["cohorts"]) == 2
        assert not snapshots.is_stale(pooled)
        pooled_id = pooled.id
    new_attempt(one.id)
    with app.app_context():
        assert snapshots.is_stale(db.session.get(ReportSnapshot, pooled_id))
