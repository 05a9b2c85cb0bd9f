"""The pages: who may see what, scheduling through the forms, requests, mail language, certificates."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import services
from ilms.infosessions.models import InfoSession, InstructionRequest, Registration, RequestStatus
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.permissions import Role
from tests.conftest import csrf_token_from, login, unique
from tests.infosessions.conftest import register

STAFF_PAGES = [
    "/sessions/manage",
    "/sessions/new",
    "/sessions/{id}/edit",
    "/sessions/{id}/roster",
    "/sessions/{id}/code",
    "/sessions/import",
    "/sessions/figures",
]


def test_the_catalogue_and_session_pages_are_public(client, make_session):
    topic = unique("topic-")
    session_id = make_session(topics=[topic])
    assert client.get("/sessions").status_code == 200
    catalogue = client.get(f"/sessions?topic={topic}")
    assert f"/sessions/{session_id}" in catalogue.get_data(as_text=True)
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Send me a confirmation link" in page and "Room 101" in page
    assert (
        client.get("/sessions?topic=gis&language=en&format=in_person&from=2000-01-01").status_code
        == 200
    )
    assert client.get("/sessions/999999").status_code == 404


def test_catalogue_filters(client, make_session):
    topic = unique("GIS-")
    gis = make_session(topics=[topic], language="kk", title={"kk": "ГАЖ"})
    other = make_session(topics=[topic])
    page = client.get(f"/sessions?topic={topic.lower()}&language=kk").get_data(as_text=True)
    assert f'/sessions/{gis}"' in page and f'/sessions/{other}"' not in page


@pytest.mark.parametrize("path", STAFF_PAGES)
@pytest.mark.parametrize("role", [Role.STUDENT, Role.FACULTY])
def test_staff_pages_refuse_other_roles(client, make_session, login_as, path, role):
    session_id = make_session()
    login_as(role)
    assert client.get(path.format(id=session_id)).status_code == 403


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_ask_anonymous_visitors_to_log_in(client, make_session, path):
    response = client.get(path.format(id=make_session()))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", STAFF_PAGES)
@pytest.mark.parametrize("role", [Role.LIBRARIAN, Role.ADMIN])
def test_staff_pages_open_for_librarians_and_admins(client, make_session, login_as, path, role):
    login_as(role)
    assert client.get(path.format(id=make_session())).status_code == 200


def test_cancelling_someone_elses_registration_is_not_found(
    app, client, make_session, make_user, login_as
):
    session_id = make_session()
    owner = make_user(Role.STUDENT)
    with app.test_request_context():
        registration_id = register(session_id, owner).id
    login_as(Role.STUDENT)
    token = csrf_token_from(client, f"/sessions/{session_id}")
    response = client.post(
        f"/sessions/registrations/{registration_id}/cancel", data={"csrf_token": token}
    )
    assert response.status_code == 404
    assert (
        client.get(f"/sessions/registrations/{registration_id}/certificate.pdf").status_code == 404
    )


def test_registering_and_cancelling_through_the_page(app, client, make_session, login_as, outbox):
    session_id = make_session()
    student = login_as(Role.STUDENT)
    token = csrf_token_from(client, f"/sessions/{session_id}")
    response = client.post(f"/sessions/{session_id}/register", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "Give up my place" in page
    assert "My sessions" in client.get("/sessions/mine").get_data(as_text=True)
    with app.app_context():
        registration = db.session.scalar(
            select(Registration).where(Registration.user_id == student.id)
        )
    client.post(f"/sessions/registrations/{registration.id}/cancel", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Registration, registration.id).status is Status.CANCELLED
    assert client.post(f"/sessions/{session_id}/register").status_code == 400  # no CSRF token


def test_creating_a_session_through_the_form(app, client, login_as):
    librarian = login_as(Role.LIBRARIAN)
    token = csrf_token_from(client, "/sessions/new")
    form = {
        "csrf_token": token,
        "language": "kk",
        "title_kk": "Дереккөздерді бағалау",
        "title_en": "Evaluating sources",
        "format": "in_person",
        "location": "Room 5",
        "starts_at": "2031-04-07T15:00",
        "duration_minutes": "75",
        "capacity": "12",
        "cancel_cutoff_hours": "4",
        "audience": "undergraduate",
        "topics": "evaluating sources, news",
        "frames": ["authority-is-constructed-and-contextual"],
        "presenters": [str(librarian.id)],
        "quiz_module": "",
        "listed": "y",
        "repeat_weeks": "2",
    }
    response = client.post("/sessions/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    session_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        session = db.session.get(InfoSession, session_id)
        assert session.starts_at == datetime(2031, 4, 7, 15, tzinfo=ZoneInfo("Asia/Almaty"))
        assert session.starts_at.utcoffset() == timedelta(0)
        assert session.title == {"kk": "Дереккөздерді бағалау", "en": "Evaluating sources"}
        assert session.topics == ["evaluating sources", "news"]
        assert len(session.series.sessions) == 3
        assert [p.id for p in session.presenters] == [librarian.id]
    edit = f"/sessions/{session_id}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert 'value="2031-04-07T15:00"' in page
    form.pop("repeat_weeks")
    form.update(capacity="0", csrf_token=csrf_token_from(client, edit))
    response = client.post(edit, data=form)
    assert response.status_code == 400 and "error-summary" in response.get_data(as_text=True)


def test_form_errors_name_the_field(client, login_as):
    login_as(Role.LIBRARIAN)
    token = csrf_token_from(client, "/sessions/new")
    response = client.post(
        "/sessions/new",
        data={
            "csrf_token": token,
            "language": "ru",
            "title_en": "Only English",
            "format": "online",
            "starts_at": "2031-04-07T15:00",
            "duration_minutes": "60",
            "capacity": "10",
            "cancel_cutoff_hours": "2",
            "audience": "all",
            "repeat_weeks": "0",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'href="#title_ru"' in page


def test_instruction_request_flow(app, client, make_user, outbox):
    faculty = make_user(Role.FACULTY)
    login(client, faculty)
    token = csrf_token_from(client, "/sessions/requests/new")
    response = client.post(
        "/sessions/requests/new",
        data={
            "csrf_token": token,
            "cohort": "",
            "course": "HIST 201, section 3",
            "topics": "Finding primary sources",
            "preferred_dates": "Tuesdays 10:00",
            "students": "28",
            "language": "ru",
            "format": "in_person",
            "notes": "",
        },
    )
    assert response.status_code == 302
    request_path = response.headers["Location"]
    request_id = int(request_path.rsplit("/", 1)[1])
    # Another instructor cannot see it; a librarian can and schedules it.
    other = app.test_client()
    login(other, make_user(Role.FACULTY))
    assert other.get(request_path).status_code == 404
    assert "HIST 201" not in other.get("/sessions/requests").get_data(as_text=True)
    librarian_user = make_user(Role.LIBRARIAN)
    librarian = app.test_client()
    login(librarian, librarian_user)
    assert "HIST 201" in librarian.get("/sessions/requests").get_data(as_text=True)
    staff_token = csrf_token_from(librarian, request_path)
    librarian.post(
        f"{request_path}/answer",
        data={"csrf_token": staff_token, "message": "Happy to", "accept": "Accept"},
    )
    assert "Accepted" in outbox[-1]["Subject"] and outbox[-1]["To"] == faculty.email
    new_page = librarian.get(f"/sessions/new?request={request_id}").get_data(as_text=True)
    assert f'name="request_id" type="hidden" value="{request_id}"' in new_page
    assert 'value="28"' in new_page
    response = librarian.post(
        "/sessions/new",
        data={
            "csrf_token": staff_token,
            "request_id": str(request_id),
            "language": "ru",
            "title_ru": "Первоисточники",
            "format": "in_person",
            "location": "Room 3",
            "starts_at": "2031-05-06T10:00",
            "duration_minutes": "80",
            "capacity": "28",
            "cancel_cutoff_hours": "2",
            "audience": "undergraduate",
            "presenters": [str(librarian_user.id)],
            "repeat_weeks": "0",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        found = db.session.get(InstructionRequest, request_id)
        assert found.status is RequestStatus.SCHEDULED and found.session_id is not None
        assert found.session.listed is False
    assert "Scheduled" in outbox[-1]["Subject"]
    assert "Первоисточники" in outbox[-1].get_content()
    # Answered requests cannot be answered again.
    response = librarian.post(
        f"{request_path}/answer",
        data={"csrf_token": staff_token, "message": "No", "decline": "Decline"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(InstructionRequest, request_id).status is RequestStatus.SCHEDULED


def test_declining_needs_a_message(app, client, make_user, ctx_free_request):
    librarian = make_user(Role.LIBRARIAN)
    login(client, librarian)
    path = f"/sessions/requests/{ctx_free_request}"
    token = csrf_token_from(client, path)
    client.post(f"{path}/answer", data={"csrf_token": token, "message": "", "decline": "Decline"})
    with app.app_context():
        assert (
            db.session.get(InstructionRequest, ctx_free_request).status is RequestStatus.REQUESTED
        )
    client.post(
        f"{path}/answer",
        data={"csrf_token": token, "message": "Fully booked", "decline": "Decline"},
    )
    with app.app_context():
        assert db.session.get(InstructionRequest, ctx_free_request).status is RequestStatus.DECLINED


@pytest.fixture
def ctx_free_request(app, make_user) -> int:
    faculty = make_user(Role.FACULTY)
    with app.test_request_context():
        made = services.create_request(
            db.session.get(services.User, faculty.id),
            services.RequestData(
                course="BIO 101",
                topics="Databases",
                preferred_dates="Any Monday",
                language="en",
                format=services.SessionFormat.ONLINE,
            ),
        )
        request_id = made.id
        db.session.commit()
    return request_id


def test_students_cannot_request_sessions(client, login_as):
    login_as(Role.STUDENT)
    assert client.get("/sessions/requests/new").status_code == 403
    assert client.get("/sessions/requests").status_code == 403


def test_mail_is_in_the_recipients_language_and_zone(app, make_session, make_user, outbox):
    session_id = make_session(starts_at=datetime(2031, 1, 6, 9, tzinfo=ZoneInfo("UTC")))
    russian = make_user(Role.STUDENT, locale="ru")
    with app.test_request_context():
        register(session_id, russian)
    body = outbox[-1].get_content()
    # Monday 6 January 2031, 09:00 UTC is 14:00 in Almaty (UTC+5).
    assert "понедельник, 6 января 2031" in body and "14:00" in body


def test_certificate_of_attendance(app, client, make_session, login_as):
    session_id = make_session(
        starts_at=utcnow() + timedelta(minutes=5), title={"en": "Қазақ әліпбиі"}
    )
    student = login_as(Role.STUDENT, name="Әсел Нұрланқызы")
    with app.test_request_context():
        registration = register(session_id, student)
        registration_id = registration.id
        code = registration.session.check_in_code
        assert services.check_in(registration.session, code, registration).status is Status.ATTENDED
        db.session.commit()
    response = client.get(f"/sessions/registrations/{registration_id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(response.data)).pages[0].extract_text().split())
    assert "Әсел Нұрланқызы" in text and "Қазақ әліпбиі" in text


def test_no_certificate_without_attendance(app, client, make_session, login_as):
    session_id = make_session()
    student = login_as(Role.STUDENT)
    with app.test_request_context():
        registration_id = register(session_id, student).id
    assert (
        client.get(f"/sessions/registrations/{registration_id}/certificate.pdf").status_code == 404
    )
    assert client.get(f"/sessions/{session_id}/feedback").status_code == 404


def test_feedback_page(app, client, make_session, login_as):
    session_id = make_session(starts_at=utcnow() - timedelta(minutes=10))
    student = login_as(Role.STUDENT)
    with app.test_request_context():
        session = db.session.get(InfoSession, session_id)
        services.check_in(session, session.check_in_code, db.session.get(services.User, student.id))
        db.session.commit()
    path = f"/sessions/{session_id}/feedback"
    token = csrf_token_from(client, path)
    assert client.post(path, data={"csrf_token": token, "rating": "9"}).status_code == 400
    assert (
        client.post(path, data={"csrf_token": token, "rating": "5", "useful": "All"}).status_code
        == 302
    )
    assert client.post(path, data={"csrf_token": token, "rating": "4"}).status_code == 302
    with app.app_context():
        registration = db.session.scalar(
            select(Registration).where(Registration.user_id == student.id)
        )
        assert registration.feedback.rating == 4


def test_librarians_see_the_feedback_on_the_session_page(app, client, make_session, make_user):
    session_id = make_session(starts_at=utcnow() - timedelta(minutes=10))
    people = [make_user(Role.STUDENT) for _ in range(2)]
    with app.test_request_context():
        session = db.session.get(InfoSession, session_id)
        for rating, someone in zip((5, 4), people, strict=True):
            person = db.session.get(services.User, someone.id)
            registration = services.check_in(session, session.check_in_code, person)
            services.give_feedback(registration, rating, "Useful bits", "")
        db.session.commit()
    login(client, make_user(Role.LIBRARIAN))
    page = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "2 answers" in page and "mean rating 4.5 of 5" in page and "Useful bits" in page
