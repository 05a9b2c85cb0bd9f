"""The figures on a known data set (the academic year 2001-2002), with exact expected numbers."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from ilms.extensions import db
from ilms.infosessions import figures, services
from ilms.infosessions.models import RegistrationStatus as Status
from ilms.infosessions.models import SessionFormat
from ilms.infosessions.timing import period
from ilms.permissions import Role
from tests.conftest import csrf_token_from
from tests.infosessions.conftest import get_session, register, session_data

ALMATY = ZoneInfo("Asia/Almaty")
YEAR = 2001
INJECTION = "=cmd|' /C calc'!A0"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ALMATY)


def make(presenters, title: str, starts_at: datetime, minutes: int, **fields) -> int:
    data = session_data(None, title={"en": title}, starts_at=starts_at, minutes=minutes, **fields)
    data.presenters = presenters
    return services.create_sessions(data, presenters[0])[0].id


def fill(session_id: int, people, statuses, ratings=(), close=False) -> None:
    """Register ``people`` the day before, then mark each with its status (None: unmarked)."""
    session = get_session(session_id)
    before = session.starts_at - timedelta(days=1)
    made = [register(session_id, p, now=before) for p in people]
    marks = {
        r.id: s
        for r, s in zip(made, statuses, strict=False)
        if s in (Status.ATTENDED, Status.NO_SHOW)
    }
    for registration, status in zip(made, statuses, strict=False):
        if status is Status.CANCELLED:
            services.cancel_registration(registration, now=before)
    services.record_attendance(get_session(session_id), marks, close=close, now=session.ends_at)
    attended = [r for r, s in zip(made, statuses, strict=False) if s is Status.ATTENDED]
    for registration, rating in zip(attended, ratings, strict=False):
        services.give_feedback(registration, rating, "", "")
    db.session.commit()


@pytest.fixture(scope="module")
def known_year(app):
    """Four sessions held in 2001-2002 (one just after midnight on 1 September, library time),
    one the evening before the year, and one cancelled."""
    from ilms.accounts import services as accounts
    from tests.conftest import unique

    def new(role: Role, name: str | None = None):
        return accounts.create_user(
            f"{unique('fig')}@example.edu",
            name or unique("Figures person "),
            [role],
            password="a long test password",
        )

    with app.test_request_context():
        aigul, berik = new(Role.LIBRARIAN, "Aigul Figures"), new(Role.LIBRARIAN, "Berik Figures")
        students = [new(Role.STUDENT) for _ in range(8)]
        db.session.commit()
        s0 = make([aigul], "@Intro", local(2001, 9, 1, 0, 30), 30, topics=[])
        s1 = make(
            [aigul],
            "GIS basics",
            local(2001, 10, 2, 14),
            90,
            capacity=4,
            topics=["GIS", "maps"],
            audience="undergraduate",
        )
        s2 = make(
            [aigul, berik],
            "GIS online",
            local(2001, 11, 6, 10),
            60,
            topics=["GIS"],
            format=SessionFormat.ONLINE,
            location="",
            online_url="https://meet.example.edu/g",
            audience="graduate",
        )
        s3 = make(
            [berik],
            "Citing",
            local(2002, 2, 12, 14),
            120,
            topics=["citation", INJECTION],
            format=SessionFormat.HYBRID,
            online_url="https://meet.example.edu/c",
            audience="all",
        )
        outside = make([aigul], "Too early", local(2001, 8, 31, 23, 30), 30)
        cancelled = make([aigul], "Cancelled", local(2001, 12, 4, 14), 60)
        db.session.commit()
        fill(s0, students[:1], [Status.ATTENDED], ratings=[2])
        fill(
            s1,
            students[:6],
            [
                Status.ATTENDED,
                Status.ATTENDED,
                Status.ATTENDED,
                Status.NO_SHOW,
                None,
                Status.CANCELLED,
            ],
            ratings=[5, 4],
        )
        fill(s2, students[:3], [Status.ATTENDED, Status.ATTENDED, None], ratings=[3])
        fill(s3, students[:5], [Status.ATTENDED, None, None, None, None], close=True)
        fill(outside, students[:2], [Status.ATTENDED, Status.ATTENDED], ratings=[1, 1])
        session = get_session(cancelled)
        session.cancelled_at = session.starts_at - timedelta(days=2)
        db.session.commit()
        return {"s0": s0, "s1": s1, "s2": s2, "s3": s3}


def report(app, term=None):
    with app.test_request_context():
        return figures.figures_for(period(YEAR, term), services.utcnow(), "en")


def counts(f: figures.Figures) -> tuple:
    return (
        f.sessions,
        f.minutes,
        f.registrations,
        f.attended,
        f.no_shows,
        f.waitlisted,
        f.cancellations,
        f.feedback,
        f.rating_sum,
    )


def test_the_year_in_total(app, known_year):
    totals = report(app).totals
    assert counts(totals) == (4, 300, 13, 7, 5, 1, 1, 4, 14)
    assert totals.hours == 5
    assert totals.attendance_rate == pytest.approx(7 / 13)
    assert totals.no_show_rate == pytest.approx(5 / 13)
    assert totals.mean_rating == 3.5


def test_terms(app, known_year):
    assert counts(report(app, "autumn").totals) == (3, 180, 8, 6, 1, 1, 1, 4, 14)
    assert counts(report(app, "spring").totals) == (1, 120, 5, 1, 4, 0, 0, 0, 0)
    assert report(app, "spring").totals.mean_rating is None
    assert counts(report(app, "summer").totals) == (0, 0, 0, 0, 0, 0, 0, 0, 0)


def test_breakdowns(app, known_year):
    breakdowns = {name: dict(groups) for name, groups in report(app).breakdowns.items()}
    topic = breakdowns["topic"]
    assert list(topic) == [INJECTION, "citation", "GIS", "maps"]
    assert counts(topic["GIS"]) == (2, 150, 7, 5, 1, 1, 1, 3, 12)
    assert topic["GIS"].mean_rating == 4
    assert counts(topic["maps"]) == (1, 90, 4, 3, 1, 1, 1, 2, 9)
    assert counts(topic["citation"]) == counts(topic[INJECTION]) == (1, 120, 5, 1, 4, 0, 0, 0, 0)
    presenter = breakdowns["presenter"]
    assert counts(presenter["Aigul Figures"]) == (3, 180, 8, 6, 1, 1, 1, 4, 14)
    assert counts(presenter["Berik Figures"]) == (2, 180, 8, 3, 4, 0, 0, 1, 3)
    assert {k: v.sessions for k, v in breakdowns["format"].items()} == {
        "hybrid": 1,
        "in_person": 2,
        "online": 1,
    }
    audience = breakdowns["audience"]
    assert counts(audience["undergraduate"]) == (1, 90, 4, 3, 1, 1, 1, 2, 9)
    assert counts(audience["all"]) == (2, 150, 6, 2, 4, 0, 0, 1, 2)
    assert counts(audience["graduate"]) == (1, 60, 3, 2, 0, 0, 0, 1, 3)


def test_csv_export_is_exact_and_safe(app, client, known_year, login_as):
    login_as(Role.LIBRARIAN)
    response = client.get(f"/sessions/figures.csv?year={YEAR}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(figures.CSV_COLUMNS)
    assert rows[1] == [
        "total",
        "2001–2002",
        "",
        "4",
        "5.0",
        "13",
        "7",
        "5",
        "1",
        "1",
        "0.5385",
        "0.3846",
        "4",
        "3.5",
    ]
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    assert by_key[("topic", "GIS")][3:] == [
        "2",
        "2.5",
        "7",
        "5",
        "1",
        "1",
        "1",
        "0.7143",
        "0.1429",
        "3",
        "4.0",
    ]
    assert ("topic", "'" + INJECTION) in by_key
    assert ("session", "'@Intro") in by_key and by_key[("session", "'@Intro")][2] == "2001-09-01"
    assert all(
        not cell.startswith(figures.FORMULA_PREFIXES)
        for row in rows
        for cell in row
        if not cell[:1].isdigit()
    )


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+7", "'+7"),
        ("-2", "'-2"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("ok", "ok"),
        (3, 3),
        (None, ""),
    ],
)
def test_safe_cell(value, safe):
    assert figures.safe_cell(value) == safe


def test_dashboard_shows_the_numbers(client, known_year, login_as):
    login_as(Role.LIBRARIAN)
    page = client.get(f"/sessions/figures?year={YEAR}").get_data(as_text=True)
    assert "53.8%" in page and "38.5%" in page and "3.5" in page
    assert "Aigul Figures" in page and "Undergraduate students" in page
    autumn = client.get(f"/sessions/figures?year={YEAR}&term=autumn").get_data(as_text=True)
    assert "Autumn term 2001–2002" in autumn
    assert client.get(f"/sessions/figures?year={YEAR}&term=winter").status_code == 404


def test_annual_report_is_made_in_the_background(app, client, known_year, login_as, make_user):
    login_as(Role.LIBRARIAN)
    token = csrf_token_from(client, f"/sessions/figures?year={YEAR}")
    response = client.post(
        "/sessions/figures/annual-report", data={"csrf_token": token, "year": str(YEAR), "term": ""}
    )
    assert response.status_code == 302
    status_page = response.headers["Location"]
    page = client.get(status_page).get_data(as_text=True)
    assert "The report is ready" in page
    pdf = client.get(f"{status_page}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "annual report 2001–2002" in text and "53.8%" in text and "Aigul Figures" in text
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root and root["/Lang"] == "en"
    # Someone else's report does not exist for another librarian.
    other = app.test_client()
    from tests.conftest import login

    login(other, make_user(Role.LIBRARIAN))
    assert other.get(status_page).status_code == 404


def test_figures_are_for_librarians_only(client, login_as):
    login_as(Role.FACULTY)
    assert client.get("/sessions/figures").status_code == 403
    assert client.get("/sessions/figures.csv").status_code == 403


def test_periods_follow_the_library_time_zone(app):
    with app.app_context():
        year = period(YEAR)
        assert year.start == local(2001, 9, 1, 0, 0) and year.end == local(2002, 9, 1, 0, 0)
        spring = period(YEAR, "spring")
        assert spring.start == local(2002, 1, 1) and spring.end == local(2002, 6, 1)
        summer = period(YEAR, "summer")
        assert summer.end == year.end
        with pytest.raises(ValueError):
            period(YEAR, "winter")
