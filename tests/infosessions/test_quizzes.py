"""A session's pre-test and post-test: its cohort and assignment, who may take the tests and when,
the quiz engine's pages behind them, the reports, and what a change of module keeps."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.authoring import services as authoring
from ilms.authoring.models import Module
from ilms.cohorts.models import Assignment, Cohort, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.delivery import services as delivery
from ilms.delivery.models import Attempt, AttemptState, Phase, Quiz
from ilms.errors import DomainError
from ilms.extensions import db
from ilms.infosessions import quizzes, services
from ilms.infosessions.models import InfoSession, Registration
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.permissions import Role
from tests.conftest import csrf_token_from, login, unique
from tests.delivery.conftest import write_test_module
from tests.infosessions.conftest import get_session, mails_to, register, user
from tests.infosessions.test_concurrency import Visitor, in_parallel

POST_TEST_DAYS = 14


@pytest.fixture(scope="module")
def module_ids(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> list[int]:
    """Three published modules with a pre-test (form A) and a post-test (form B)."""
    root = tmp_path_factory.mktemp("session-modules")
    slugs = [f"session-test-{unique('m').replace('_', '-').lower()}" for _ in range(3)]
    for slug in slugs:
        write_test_module(root, slug)
    with app.app_context():
        _results, problems = authoring.import_folder(root)
        assert problems == [], problems
        db.session.commit()
        return [db.session.scalar(select(Module.id).where(Module.slug == slug)) for slug in slugs]


@pytest.fixture
def quiz_session(make_session, module_ids) -> Callable[..., int]:
    """A session with the first module's tests (any ``SessionData`` field may be given)."""

    def factory(**fields: Any) -> int:
        fields.setdefault("quiz_module_id", module_ids[0])
        return make_session(**fields)

    return factory


def ended(quiz_session) -> tuple[int, datetime]:
    """A session that ended an hour ago, and a moment before it when people registered."""
    starts_at = utcnow() - timedelta(hours=2)
    return quiz_session(starts_at=starts_at, minutes=60), starts_at - timedelta(days=1)


def data_like(session: InfoSession, **changes: Any) -> services.SessionData:
    values: dict[str, Any] = {
        "title": dict(session.title),
        "format": session.format,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "capacity": session.capacity,
        "language": session.language,
        "location": session.location,
        "presenters": list(session.presenters),
        "quiz_module_id": session.quiz_module_id,
    }
    values.update(changes)
    return services.SessionData(**values)


def assignment_of(session_id: int) -> Assignment:
    found = quizzes.current_assignment(get_session(session_id))
    assert found is not None
    return found


def quiz(assignment: Assignment, phase: Phase) -> Quiz:
    return delivery.quiz_of(assignment, phase)


def take(session_id: int, person: User, phase: Phase, now: datetime | None = None) -> Attempt:
    """Open the test from the session, then start and submit it in the quiz engine."""
    now = now or utcnow()
    assignment = quizzes.take_test(get_session(session_id), user(person.id), phase, now)
    attempt = delivery.start_attempt(quiz(assignment, phase), user(person.id), "en", now)
    delivery.submit_attempt(attempt)
    db.session.commit()
    return attempt


def members(cohort_id: int, role: MemberRole | None = None) -> list[CohortMember]:
    query = select(CohortMember).where(CohortMember.cohort_id == cohort_id)
    if role is not None:
        query = query.where(CohortMember.role == role)
    return list(db.session.scalars(query))


def attempt_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.user_id == user_id)
    )


# --- The cohort and assignment ------------------------------------------------------------------


def test_a_session_with_a_module_gets_a_cohort_and_an_assignment(
    ctx, quiz_session, librarian, module_ids
):
    session_id = quiz_session()
    session = get_session(session_id)
    cohort = db.session.get(Cohort, session.quiz_cohort_id)
    assert cohort.course_code == f"INFO-{session_id}"
    assert cohort.course_title == session.title["en"]
    assert "term" in cohort.term and cohort.language == "en"
    assert cohort.join_enabled is False
    assert [(m.user_id, m.role) for m in members(cohort.id)] == [
        (librarian.id, MemberRole.LIBRARIAN)
    ]
    assignment = assignment_of(session_id)
    assert assignment.module_id == module_ids[0]
    assert assignment.pre_required is False and assignment.post_after_lessons is False
    assert assignment.opens_at <= utcnow()
    assert assignment.closes_at == session.ends_at + timedelta(days=POST_TEST_DAYS)
    pre, post = quiz(assignment, Phase.PRE), quiz(assignment, Phase.POST)
    assert (pre.opens_at, pre.closes_at) == (None, session.starts_at)
    assert (post.opens_at, post.closes_at) == (session.ends_at, None)


def test_a_session_without_a_module_has_no_cohort(ctx, make_session):
    session = get_session(make_session())
    assert session.quiz_cohort_id is None and quizzes.current_assignment(session) is None


def test_each_date_of_a_series_has_its_own_tests(ctx, librarian, module_ids):
    from tests.infosessions.conftest import session_data

    presenter = user(librarian.id)
    data = session_data(presenter, quiz_module_id=module_ids[0])
    dates = services.create_sessions(data, presenter, repeat_weeks=2)
    db.session.commit()
    cohorts = {d.quiz_cohort_id for d in dates}
    assert len(cohorts) == 3 and None not in cohorts
    for date in dates:
        pre = quiz(quizzes.current_assignment(date), Phase.PRE)
        assert pre.closes_at == date.starts_at


def test_moving_the_session_moves_the_tests(ctx, quiz_session):
    session_id = quiz_session()
    session = get_session(session_id)
    later = session.starts_at + timedelta(days=7)
    services.update_session(
        session, data_like(session, starts_at=later, ends_at=later + timedelta(hours=1))
    )
    db.session.commit()
    assignment = assignment_of(session_id)
    assert quiz(assignment, Phase.PRE).closes_at == later
    assert quiz(assignment, Phase.POST).opens_at == later + timedelta(hours=1)
    assert assignment.closes_at == later + timedelta(hours=1, days=POST_TEST_DAYS)


def test_an_unpublished_module_is_refused_on_the_module_field(ctx, librarian, module_ids):
    from tests.infosessions.conftest import session_data

    module = db.session.get(Module, module_ids[2])
    module.published = False
    db.session.flush()
    presenter = user(librarian.id)
    with pytest.raises(DomainError) as refused:
        services.create_sessions(session_data(presenter, quiz_module_id=module.id), presenter)
    assert refused.value.field == "quiz_module"
    assert "not published" in refused.value.message


# --- Taking the tests ----------------------------------------------------------------------------


def test_a_participant_takes_the_pre_test_before_and_the_post_test_after(ctx, quiz_session, person):
    session_id = quiz_session()
    student = person()
    register(session_id, student)
    pre = take(session_id, student, Phase.PRE)
    session = get_session(session_id)
    post = take(session_id, student, Phase.POST, now=session.ends_at + timedelta(hours=1))
    assert pre.state is AttemptState.SUBMITTED and pre.score is not None
    assert post.state is AttemptState.SUBMITTED and post.phase is Phase.POST
    assert pre.form != post.form  # the engine's parallel forms: A before, B after
    assignment = assignment_of(session_id)
    assert [m.user_id for m in members(assignment.cohort_id, MemberRole.STUDENT)] == [student.id]


def test_an_attended_participant_takes_the_post_test(ctx, quiz_session, person):
    session_id, before = ended(quiz_session)
    student = person()
    registration = register(session_id, student, now=before)
    services.record_attendance(
        get_session(session_id), {registration.id: Status.ATTENDED}, now=utcnow()
    )
    db.session.commit()
    assert take(session_id, student, Phase.POST).state is AttemptState.SUBMITTED


@pytest.mark.parametrize(
    ("phase", "moment", "message"),
    [
        (Phase.PRE, lambda s: s.starts_at + timedelta(minutes=1), "The pre-test closed on"),
        (Phase.POST, lambda s: s.starts_at + timedelta(minutes=1), "The post-test opens on"),
        (Phase.POST, lambda s: s.ends_at - timedelta(seconds=1), "The post-test opens on"),
        (
            Phase.POST,
            lambda s: s.ends_at + timedelta(days=POST_TEST_DAYS, minutes=1),
            "closed on",
        ),
    ],
)
def test_a_test_out_of_its_time_is_refused(ctx, quiz_session, person, phase, moment, message):
    session_id = quiz_session()
    student = person()
    register(session_id, student)
    session = get_session(session_id)
    with pytest.raises(DomainError, match=message):
        quizzes.take_test(session, user(student.id), phase, moment(session))
    assert members(session.quiz_cohort_id, MemberRole.STUDENT) == []


def test_the_engine_keeps_the_times_however_the_test_is_reached(ctx, quiz_session, person):
    """A student of the cohort who goes to the quiz engine directly meets the same times."""
    session_id = quiz_session()
    student = person()
    register(session_id, student)
    session = get_session(session_id)
    assignment = quizzes.take_test(session, user(student.id), Phase.PRE)
    started = delivery.start_attempt(quiz(assignment, Phase.PRE), user(student.id), "en")
    db.session.commit()
    during = session.starts_at + timedelta(minutes=5)
    with pytest.raises(DomainError, match="The pre-test closed on"):
        delivery.check_quiz_window(quiz(assignment, Phase.PRE), during)
    with pytest.raises(DomainError, match="The post-test opens on"):
        delivery.start_attempt(quiz(assignment, Phase.POST), user(student.id), "en", during)
    # The pre-test begun before the start ends at the start, with the answers saved by then.
    assert delivery.deadline(started) == session.starts_at
    assert delivery.close_overdue(during) >= 1
    db.session.refresh(started)
    assert started.state is AttemptState.CLOSED and started.submitted_at == session.starts_at


def test_people_without_a_place_cannot_take_the_tests(ctx, quiz_session, person):
    session_id = quiz_session(capacity=1)
    holder, waiting, stranger, leaving = person(), person(), person(), person()
    register(session_id, holder)
    register(session_id, waiting)
    session = get_session(session_id)
    cases = {
        stranger.id: "for people registered for this session",
        waiting.id: "You are on the waitlist",
    }
    for user_id, message in cases.items():
        with pytest.raises(DomainError, match=message):
            quizzes.take_test(session, user(user_id), Phase.PRE)
    # Someone who gave up their place is no longer registered.
    services.cancel_registration(register(session_id, leaving))  # waitlisted, then cancelled
    db.session.commit()
    with pytest.raises(DomainError, match="for people registered for this session"):
        quizzes.take_test(get_session(session_id), user(leaving.id), Phase.PRE)
    assert members(session.quiz_cohort_id, MemberRole.STUDENT) == []


def test_a_no_show_cannot_take_the_post_test(ctx, quiz_session, person):
    session_id, before = ended(quiz_session)
    student = person()
    register(session_id, student, now=before)
    services.close_roster(get_session(session_id), utcnow())
    db.session.commit()
    with pytest.raises(DomainError, match="did not come"):
        quizzes.take_test(get_session(session_id), user(student.id), Phase.POST)


def test_a_presenter_cannot_take_the_tests_as_a_student(ctx, quiz_session, librarian):
    session_id = quiz_session()
    register(session_id, librarian)
    with pytest.raises(DomainError, match="on the staff"):
        quizzes.take_test(get_session(session_id), user(librarian.id), Phase.PRE)
    cohort_id = get_session(session_id).quiz_cohort_id
    roles = {m.user_id: m.role for m in members(cohort_id)}
    assert roles[librarian.id] is MemberRole.LIBRARIAN


def test_a_cancelled_session_has_no_tests_to_take(ctx, quiz_session, person):
    session_id = quiz_session()
    student = person()
    register(session_id, student)
    services.cancel_session(get_session(session_id))
    db.session.commit()
    with pytest.raises(DomainError, match="cancelled"):
        quizzes.take_test(get_session(session_id), user(student.id), Phase.PRE)


def test_cancelling_takes_out_tests_no_one_began(ctx, quiz_session, person):
    session_id = quiz_session()
    register(session_id, person())
    services.cancel_session(get_session(session_id))
    db.session.commit()
    cohort_id = get_session(session_id).quiz_cohort_id
    assert (
        db.session.scalars(select(Assignment).where(Assignment.cohort_id == cohort_id)).all() == []
    )


def test_cancelling_closes_begun_tests_and_submits_open_attempts(ctx, quiz_session, person):
    session_id = quiz_session()
    done, busy = person(), person()
    for student in (done, busy):
        register(session_id, student)
    finished = take(session_id, done, Phase.PRE)
    assignment = quizzes.take_test(get_session(session_id), user(busy.id), Phase.PRE)
    open_attempt = delivery.start_attempt(quiz(assignment, Phase.PRE), user(busy.id), "en")
    db.session.commit()
    cancelled_at = utcnow()
    services.cancel_session(get_session(session_id), cancelled_at)
    db.session.commit()
    kept = assignment_of(session_id)  # the answers stay, the tests are closed
    assert kept.closes_at == max(cancelled_at, kept.opens_at + timedelta(seconds=1))
    assert delivery.close_overdue(kept.closes_at + timedelta(minutes=5)) >= 1
    db.session.commit()
    closed = db.session.get(Attempt, open_attempt.id)
    assert closed.state is AttemptState.CLOSED and closed.submitted_at == kept.closes_at
    assert db.session.get(Attempt, finished.id).state is AttemptState.SUBMITTED


def test_asking_twice_makes_one_membership(ctx, quiz_session, person):
    session_id = quiz_session()
    student = person()
    register(session_id, student)
    session = get_session(session_id)
    for _ in range(2):
        quizzes.take_test(session, user(student.id), Phase.PRE)
    db.session.commit()
    assert len(members(session.quiz_cohort_id, MemberRole.STUDENT)) == 1


# --- Changing the module -------------------------------------------------------------------------


def test_changing_the_module_keeps_the_attempts(ctx, quiz_session, person, module_ids):
    session_id = quiz_session()
    student = person()
    register(session_id, student)
    first = take(session_id, student, Phase.PRE)
    old = assignment_of(session_id)
    session = get_session(session_id)
    services.update_session(session, data_like(session, quiz_module_id=module_ids[1]))
    db.session.commit()
    new = assignment_of(session_id)
    assert new.module_id == module_ids[1] and new.cohort_id == old.cohort_id
    assert db.session.get(Attempt, first.id).state is AttemptState.SUBMITTED
    kept = quizzes.session_assignments(get_session(session_id))
    assert [a.id for a in kept] == [old.id, new.id]
    # Nobody began the new module's tests: removing the module takes its assignment out ...
    session = get_session(session_id)
    services.update_session(session, data_like(session, quiz_module_id=None))
    db.session.commit()
    assert quizzes.current_assignment(get_session(session_id)) is None
    assert [a.id for a in quizzes.session_assignments(get_session(session_id))] == [old.id]
    # ... and choosing the first module again finds its assignment and the student's attempt.
    session = get_session(session_id)
    services.update_session(session, data_like(session, quiz_module_id=module_ids[0]))
    db.session.commit()
    assert assignment_of(session_id).id == old.id
    assert attempt_count(student.id) == 1


def test_changing_the_presenters_changes_the_librarians(ctx, quiz_session, librarian, person):
    session_id = quiz_session()
    other = person(Role.LIBRARIAN)
    session = get_session(session_id)
    services.update_session(session, data_like(session, presenters=[user(other.id)]))
    db.session.commit()
    cohort_id = get_session(session_id).quiz_cohort_id
    assert [m.user_id for m in members(cohort_id, MemberRole.LIBRARIAN)] == [other.id]


# --- The pages -----------------------------------------------------------------------------------


def _student_with_place(app, make_user, session_id: int, now: datetime | None = None) -> User:
    student = make_user(Role.STUDENT)
    with app.test_request_context():
        register(session_id, student, now=now)
    return student


def test_the_pre_test_through_the_session_page_and_the_quiz_pages(
    app, client, quiz_session, make_user
):
    session_id = quiz_session()
    student = _student_with_place(app, make_user, session_id)
    login(client, student)
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Take the pre-test" in page and f"/sessions/{session_id}/tests/pre" in page
    token = csrf_token_from(client, f"/sessions/{session_id}")
    with app.app_context():
        assignment_id = assignment_of(session_id).id
    response = client.post(f"/sessions/{session_id}/tests/pre", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/learn/{assignment_id}/pre")
    assert "Start the pre-test" in client.get(f"/learn/{assignment_id}/pre").get_data(as_text=True)
    client.post(f"/learn/{assignment_id}/pre/start", data={"csrf_token": token})
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Continue the pre-test" in page and "In progress" in page
    with app.app_context():
        attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == student.id))
    response = client.post(
        f"/learn/{assignment_id}/attempts/{attempt.id}/submit", data={"csrf_token": token}
    )
    assert response.status_code == 302
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Submitted, score 0%" in page
    assert f"/learn/{assignment_id}/attempts/{attempt.id}" in page
    assert "Take the pre-test" not in page  # one attempt, used


def test_a_double_press_makes_one_membership_and_one_attempt(app, client, quiz_session, make_user):
    session_id = quiz_session()
    student = _student_with_place(app, make_user, session_id)
    login(client, student)
    token = csrf_token_from(client, f"/sessions/{session_id}")
    with app.app_context():
        assignment = assignment_of(session_id)
        assignment_id, cohort_id = assignment.id, assignment.cohort_id
    for _ in range(2):
        response = client.post(f"/sessions/{session_id}/tests/pre", data={"csrf_token": token})
        assert response.status_code == 302
        client.post(f"/learn/{assignment_id}/pre/start", data={"csrf_token": token})
    with app.app_context():
        assert len(members(cohort_id, MemberRole.STUDENT)) == 1
        assert attempt_count(student.id) == 1
    assert client.post(f"/sessions/{session_id}/tests/pre").status_code == 400  # no CSRF token


def test_the_page_refuses_a_test_out_of_its_time(app, client, quiz_session, make_user):
    upcoming = quiz_session()
    past, before = ended(quiz_session)
    student = make_user(Role.STUDENT)
    with app.test_request_context():
        register(upcoming, student)
        register(past, student, now=before)
    login(client, student)
    token = csrf_token_from(client, f"/sessions/{upcoming}")
    response = client.post(
        f"/sessions/{upcoming}/tests/post", data={"csrf_token": token}, follow_redirects=True
    )
    assert "The post-test opens on" in response.get_data(as_text=True)
    response = client.post(
        f"/sessions/{past}/tests/pre", data={"csrf_token": token}, follow_redirects=True
    )
    assert "The pre-test closed on" in response.get_data(as_text=True)
    page = client.get(f"/sessions/{past}").get_data(as_text=True)
    assert "Take the post-test" in page and "Take the pre-test" not in page
    with app.app_context():
        assignment_id = assignment_of(past).id
        assert attempt_count(student.id) == 0
    response = client.post(f"/sessions/{past}/tests/post", data={"csrf_token": token})
    assert response.headers["Location"].endswith(f"/learn/{assignment_id}/post")
    # The quiz engine's own page refuses the pre-test of a session that has begun.
    response = client.post(
        f"/learn/{assignment_id}/pre/start", data={"csrf_token": token}, follow_redirects=True
    )
    assert "The pre-test closed on" in response.get_data(as_text=True)
    with app.app_context():
        assert attempt_count(student.id) == 0


def test_the_page_tells_who_cannot_take_the_tests(app, client, quiz_session, make_user, login_as):
    """Signed out, waiting, or not registered: the page says why there is no test to take."""
    session_id = quiz_session(capacity=1)
    _student_with_place(app, make_user, session_id)
    anonymous = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Log in to take them" in anonymous and "tests/pre" not in anonymous
    waiting = login_as(Role.STUDENT)
    with app.test_request_context():
        register(session_id, waiting)
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "You are on the waitlist: the pre-test" in page and "tests/pre" not in page
    token = csrf_token_from(client, f"/sessions/{session_id}")
    response = client.post(
        f"/sessions/{session_id}/tests/pre", data={"csrf_token": token}, follow_redirects=True
    )
    assert "You are on the waitlist" in response.get_data(as_text=True)
    stranger = app.test_client()
    login(stranger, make_user(Role.STUDENT))
    page = stranger.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "for people registered for this session" in page


def test_a_guest_is_asked_for_an_account_and_then_takes_the_test(
    app, client, quiz_session, make_user
):
    session_id = quiz_session()
    email = f"{unique('guest')}@example.org"
    with app.test_request_context():
        registration = register(session_id, services.Guest(email, "Gita Guest", "en"))
        link = f"/sessions/registration/{services.guest_token(registration)}"
        registration_id = registration.id
    page = client.get(link).get_data(as_text=True)
    assert f"Log in with the account under {email}" in page
    # Someone else's account does not get the guest's place.
    other = app.test_client()
    login(other, make_user(Role.STUDENT))
    token = csrf_token_from(other, link)
    response = other.post(f"{link}/tests/pre", data={"csrf_token": token}, follow_redirects=True)
    assert f"Log in with the account under {email}" in response.get_data(as_text=True)
    guest = make_user(Role.STUDENT, email=email)
    login(client, guest)
    page = client.get(link).get_data(as_text=True)
    assert "Take the pre-test" in page
    token = csrf_token_from(client, link)
    response = client.post(f"{link}/tests/pre", data={"csrf_token": token})
    assert response.status_code == 302 and "/learn/" in response.headers["Location"]
    with app.app_context():
        moved = db.session.get(Registration, registration_id)
        assert moved.user_id == guest.id and moved.guest_email is None
        assert moved.status is Status.REGISTERED
        cohort_id = get_session(session_id).quiz_cohort_id
        assert [m.user_id for m in members(cohort_id, MemberRole.STUDENT)] == [guest.id]
    assert "Take the pre-test" in client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "from the session" in client.get(link).get_data(as_text=True)


def test_presenters_reach_the_report_and_other_librarians_do_not(
    app, client, quiz_session, librarian, make_user
):
    session_id = quiz_session()
    with app.app_context():
        assignment = assignment_of(session_id)
        cohort_id = assignment.cohort_id
        report = f"/reports/assignments/{assignment.id}"
        cohort_report = f"/reports/cohorts/{cohort_id}"
    login(client, librarian)
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert report in page
    assert client.get(report).status_code == 200
    assert client.get(cohort_report).status_code == 200
    assert client.get(f"/cohorts/{cohort_id}").status_code == 200
    unrelated = app.test_client()
    login(unrelated, make_user(Role.LIBRARIAN))
    page = unrelated.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "For librarians" in page and report not in page
    assert unrelated.get(report).status_code == 404
    assert unrelated.get(cohort_report).status_code == 404
    assert unrelated.get(f"/cohorts/{cohort_id}").status_code == 404
    admin = app.test_client()
    login(admin, make_user(Role.ADMIN))
    assert admin.get(report).status_code == 200


def test_choosing_the_module_in_the_session_form(app, client, login_as, module_ids):
    librarian = login_as(Role.LIBRARIAN)
    form = {
        "csrf_token": csrf_token_from(client, "/sessions/new"),
        "language": "en",
        "title_en": unique("Searching well "),
        "format": "online",
        "online_url": "https://meet.example.edu/s",
        "starts_at": "2031-05-07T15:00",
        "duration_minutes": "60",
        "capacity": "12",
        "cancel_cutoff_hours": "2",
        "audience": "all",
        "presenters": [str(librarian.id)],
        "quiz_module": str(module_ids[0]),
        "repeat_weeks": "0",
    }
    response = client.post("/sessions/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    session_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert assignment_of(session_id).module_id == module_ids[0]
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Reports of the pre-test and post-test" in page


def test_the_thank_you_mail_mentions_the_post_test(app, quiz_session, make_user, outbox):
    session_id, before = ended(quiz_session)
    student = make_user(Role.STUDENT)
    with app.test_request_context():
        registration = register(session_id, student, now=before)
        services.record_attendance(
            get_session(session_id), {registration.id: Status.ATTENDED}, close=True
        )
        db.session.commit()
    (mail,) = [m for m in mails_to(outbox, student.email) if "Thank you" in m["Subject"]]
    body = mail.get_content()
    assert "post-test" in body and f"/sessions/{session_id}" in body


def test_presses_at_the_same_moment_make_one_membership(app, live_server, make_user, quiz_session):
    """Five presses at once, through a threaded server: the cohort's primary key decides."""
    session_id = quiz_session()
    student = make_user(Role.STUDENT)
    with app.test_request_context():
        register(session_id, student)
        assignment = assignment_of(session_id)
        assignment_id, cohort_id = assignment.id, assignment.cohort_id
    visitor = Visitor(live_server, student.email)

    def press() -> tuple[int, str]:
        request = urllib.request.Request(
            f"{live_server}/sessions/{session_id}/tests/pre",
            method="POST",
            data=b"",
            headers={"X-CSRFToken": visitor.token},
        )
        with visitor.opener.open(request, timeout=60) as response:
            return response.status, response.url

    results = in_parallel([press] * 5)
    assert results == [(200, f"{live_server}/learn/{assignment_id}/pre")] * 5
    with app.app_context():
        assert len(members(cohort_id, MemberRole.STUDENT)) == 1
