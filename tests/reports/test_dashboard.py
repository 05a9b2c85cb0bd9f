"""The report pages: what faculty and librarians see, who may see it, and suppression in the HTML."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from ilms.accounts.models import User
from ilms.cohorts.models import Cohort, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import services as infosessions
from ilms.infosessions.models import Registration
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.reports.presentation import Numbers
from tests.infosessions.conftest import session_data
from tests.reports.test_cohort_report import build_cohort

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(?!\s*</script>)", re.IGNORECASE)


def pages(cohort) -> list[str]:
    """Every report URL of the synthetic cohort's assignment."""
    a = cohort.assignment_id
    return [
        f"/reports/cohorts/{cohort.cohort_id}",
        f"/reports/assignments/{a}",
        f"/reports/assignments/{a}.json",
        f"/reports/assignments/{a}/items.csv",
        f"/reports/assignments/{a}/students.csv?appendix=names",
        f"/reports/assignments/{a}.pdf",
        f"/reports/assignments/{a}/status.json",
    ]


def test_the_dashboard_summarises_then_shows_charts_and_tables(app, synth, client_as):
    cohort = synth(students=40, items=10, seed=3)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    response = client.get(f"/reports/assignments/{cohort.assignment_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    summary = page.index('id="summary-heading"')
    assert summary < page.index("<svg")  # the plain-language summary comes first
    assert "Students&#39; scores rose" in page
    assert "40 of 40 enrolled students took both" in page or "of 40 enrolled students" in page
    for chart in ("chart-distribution", "chart-items", "chart-outcomes", "chart-frames"):
        assert f'id="{chart}-figure"' in page
    assert page.count('role="img"') >= 4
    assert page.count("<title id=") == page.count("<desc id=") == page.count('role="img"')
    assert '<th scope="col"' in page and '<th scope="row"' in page
    assert page.count("<caption") >= 8
    assert Numbers("en").percent(cohort.pre_mean) in page  # the pre-test mean, in the scores table
    assert "How the figures are computed" in page  # the methods


def test_pages_have_no_inline_script_or_style(app, synth, client_as):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    for url in pages(cohort)[:2]:
        page = client.get(url).get_data(as_text=True)
        assert not INLINE_SCRIPT.search(page), url
        assert " style=" not in page and "<style" not in page, url
        assert " class=" not in "".join(re.findall(r"<svg.*?</svg>", page, re.S))


@pytest.mark.parametrize("role", [MemberRole.OWNER, MemberRole.INSTRUCTOR])
def test_faculty_of_the_cohort_see_every_page(app, synth, client_as, role):
    cohort = synth(students=12, items=4)
    client, _user = client_as("faculty", cohort_id=cohort.cohort_id, role=role)
    for url in pages(cohort):
        assert client.get(url).status_code == 200, url


def test_an_embedded_librarian_and_an_admin_see_the_reports(app, synth, client_as):
    cohort = synth(students=12, items=4)
    librarian, _ = client_as("librarian", cohort_id=cohort.cohort_id, role=MemberRole.LIBRARIAN)
    admin, _ = client_as("admin")
    for client in (librarian, admin):
        for url in pages(cohort):
            assert client.get(url).status_code == 200, url


def test_faculty_of_another_cohort_get_404_everywhere(app, synth, client_as):
    cohort, other = synth(students=12, items=4), synth(students=6, items=3, seed=2)
    client, _stranger = client_as("faculty", cohort_id=other.cohort_id)
    for url in pages(cohort):
        assert client.get(url).status_code == 404, url
    response = client.post(
        f"/reports/assignments/{cohort.assignment_id}/pdf", data={"appendix": "none"}
    )
    assert response.status_code in (400, 404)  # no CSRF token for a page they cannot see
    assert client.get("/reports/assignments/999999").status_code == 404
    assert client.get("/reports/cohorts/999999").status_code == 404


def test_students_are_refused_and_strangers_sent_to_log_in(app, synth, client_as):
    cohort = synth(students=6, items=3)
    student, _ = client_as("student")
    for url in pages(cohort):
        assert student.get(url).status_code == 403, url
    assert student.get("/reports/").status_code == 403
    anonymous = app.test_client()
    response = anonymous.get(f"/reports/assignments/{cohort.assignment_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_small_cohorts_are_suppressed_in_the_page(app, synth, client_as):
    cohort = synth(students=3, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    page = client.get(f"/reports/assignments/{cohort.assignment_id}").get_data(as_text=True)
    assert "withheld" in page
    assert "Fewer than 5 students have taken both tests" in page
    assert Numbers("en").percent(cohort.pre_mean) not in page
    assert "Each student's scores can be added once every test rests on at least 5" in page
    assert "students.csv" not in page


def test_min_n_comes_from_the_configuration(app, synth, client_as, monkeypatch):
    cohort = synth(students=3, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    monkeypatch.setitem(app.config, "REPORT_MIN_N", 2)
    page = client.get(f"/reports/assignments/{cohort.assignment_id}").get_data(as_text=True)
    assert Numbers("en").percent(cohort.pre_mean) in page


def test_a_cohort_without_attempts(app, make_assignment, client_as):
    assignment = make_assignment()
    client, _owner = client_as("faculty", cohort_id=assignment.cohort_id)
    page = client.get(f"/reports/assignments/{assignment.id}").get_data(as_text=True)
    assert "No student has completed a test yet" in page
    overview = client.get(f"/reports/cohorts/{assignment.cohort_id}").get_data(as_text=True)
    assert "No student has completed a test yet" in overview


def test_the_cohort_page_lists_each_module_s_summary(app, synth, client_as):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    page = client.get(f"/reports/cohorts/{cohort.cohort_id}").get_data(as_text=True)
    assert "Synthetic module" in page
    assert f"/reports/assignments/{cohort.assignment_id}" in page
    index = client.get("/reports/").get_data(as_text=True)
    assert f"/reports/cohorts/{cohort.cohort_id}" in index
    assert "Modules across cohorts" not in index  # faculty have no cross-cohort reports


def module_slug(app, cohort_id: int) -> str:
    with app.app_context():
        return db.session.get(Cohort, cohort_id).assignments[0].module.slug


def test_the_module_report_pools_the_librarian_s_cohorts(
    app, make_user, make_assignment, enrol, client_as, add_staff
):
    one = build_cohort(app, make_user, make_assignment, enrol)
    two = build_cohort(app, make_user, make_assignment, enrol)
    build_cohort(app, make_user, make_assignment, enrol)  # not the librarian's: left out
    client, librarian = client_as("librarian", cohort_id=one.cohort_id, role=MemberRole.LIBRARIAN)
    add_staff(two.cohort_id, librarian, MemberRole.LIBRARIAN)
    slug = module_slug(app, one.cohort_id)
    page = client.get(f"/reports/modules/{slug}").get_data(as_text=True)
    assert "2 cohorts" in page
    assert "12 of 12 enrolled students took both" in page
    by_term = client.get(f"/reports/modules/{slug}?term=Fall+2026").get_data(as_text=True)
    assert "12 of 12 enrolled students took both" in by_term
    assert client.get(f"/reports/modules/{slug}?term=Never").status_code == 404
    assert client.get("/reports/modules/no-such-module").status_code == 404
    assert client.get(f"/reports/modules/{slug}/status.json").get_json()["ready"] is True
    assert f"/reports/modules/{slug}" in client.get("/reports/").get_data(as_text=True)
    faculty, _ = client_as("faculty", cohort_id=one.cohort_id)
    assert faculty.get(f"/reports/modules/{slug}").status_code == 403


def test_a_librarian_without_cohorts_of_the_module(app, make_assignment, client_as):
    assignment = make_assignment()
    client, _ = client_as("librarian")
    page = client.get(f"/reports/modules/{module_slug(app, assignment.cohort_id)}")
    assert page.status_code == 200
    assert "None of the cohorts you can see has this module" in page.get_data(as_text=True)


def test_attendance_of_a_linked_info_session_splits_the_students(app, synth, client_as, make_user):
    """Attendance recorded on the roster of a session held for the cohort (no stand-in)."""
    cohort = synth(students=20, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    url = f"/reports/assignments/{cohort.assignment_id}"
    assert "attendance" not in client.get(f"{url}.json").get_json()["subgroups"]
    presenter = make_user("librarian")
    with app.test_request_context():
        students = sorted(
            db.session.scalars(
                db.select(CohortMember.user_id).where(
                    CohortMember.cohort_id == cohort.cohort_id,
                    CohortMember.role == MemberRole.STUDENT,
                )
            )
        )
        librarian = db.session.get(User, presenter.id)
        starts_at = utcnow() - timedelta(hours=2)
        [session] = infosessions.create_sessions(
            session_data(librarian, starts_at=starts_at, capacity=30, cohort_id=cohort.cohort_id),
            librarian,
        )
        registrations = [
            Registration(session_id=session.id, user_id=s, status=Status.REGISTERED, place=n)
            for n, s in enumerate(students, 1)
        ]
        db.session.add_all(registrations)
        db.session.flush()
        marks = {
            r.id: Status.ATTENDED if n < 10 else Status.NO_SHOW for n, r in enumerate(registrations)
        }
        infosessions.record_attendance(session, marks)
        db.session.commit()
    report = client.get(f"{url}.json").get_json()  # the snapshot was marked out of date
    groups = {cell["group"]: cell["n"] for cell in report["subgroups"]["attendance"]["pre"]}
    assert groups == {"attended": 10, "not_attended": 10}
    assert "Scores by attendance of the info session" in client.get(url).get_data(as_text=True)


def test_no_attendance_breakdown_without_attendees(app, synth, client_as):
    cohort = synth(students=8, items=3)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    report = client.get(f"/reports/assignments/{cohort.assignment_id}.json").get_json()
    assert "attendance" not in report["subgroups"]
