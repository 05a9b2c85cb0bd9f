"""Importing a term's schedule: separators, encodings, row-level errors, all or nothing."""

from __future__ import annotations

import codecs
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ilms.extensions import db
from ilms.infosessions import importer
from ilms.infosessions.models import InfoSession, SessionFormat
from ilms.permissions import Role
from tests.conftest import csrf_token_from

HEADER = "title,start,duration_minutes,capacity,format,location,language,presenter_email"


def rows(email: str, *titles: str) -> str:
    lines = [HEADER]
    for day, title in enumerate(titles, 10):
        lines.append(f"{title},2031-02-{day}T14:00,90,25,in_person,Room 204,ru,{email}")
    return "\n".join(lines) + "\n"


def session_count() -> int:
    return db.session.scalar(select(func.count()).select_from(InfoSession))


def test_a_comma_file_in_utf8(ctx, person):
    librarian = person(Role.LIBRARIAN)
    schedule = importer.read_schedule(rows(librarian.email, "Поиск в Scopus", "ГАЖ").encode())
    assert schedule.ok and schedule.delimiter == "," and schedule.encoding == "utf-8"
    created = importer.import_schedule(schedule, None)
    db.session.commit()
    first = created[0]
    assert first.title == {"ru": "Поиск в Scopus"}
    assert first.starts_at == datetime(2031, 2, 10, 14, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    assert (first.ends_at - first.starts_at).total_seconds() == 90 * 60
    assert first.capacity == 25 and first.format is SessionFormat.IN_PERSON
    assert [p.id for p in first.presenters] == [librarian.id]


@pytest.mark.parametrize(
    ("encode", "encoding"),
    [
        (lambda text: codecs.BOM_UTF8 + text.encode(), "utf-8-sig"),
        (lambda text: text.encode("cp1251"), "cp1251"),
    ],
)
def test_semicolons_bom_and_windows_cyrillic(ctx, person, encode, encoding):
    librarian = person(Role.LIBRARIAN)
    text = (
        rows(librarian.email, "Цитирование; ссылки")
        .replace(",", ";")
        .replace("Цитирование; ссылки", '"Цитирование; ссылки"')
    )
    schedule = importer.read_schedule(encode(text))
    assert schedule.encoding == encoding and schedule.delimiter == ";"
    assert schedule.ok, schedule.errors
    assert schedule.rows[0].data.title == {"ru": "Цитирование; ссылки"}


def test_optional_columns(ctx, person):
    librarian = person(Role.LIBRARIAN)
    text = (
        HEADER + ",topics,audience,online_url,description\n"
        f'Online,2031-03-01T10:00+05:00,60,100,online,,en,{librarian.email},GIS | maps,graduate,https://meet.example.edu/x,"Two\nlines"\n'
    )
    schedule = importer.read_schedule(text.encode())
    assert schedule.ok, schedule.errors
    data = schedule.rows[0].data
    assert data.topics == ["GIS", "maps"] and data.audience == "graduate"
    assert data.online_url == "https://meet.example.edu/x"
    assert data.description == {"en": "Two\nlines"}
    assert data.starts_at.isoformat() == "2031-03-01T05:00:00+00:00"


def test_every_row_error_is_reported_and_nothing_is_imported(ctx, person):
    librarian = person(Role.LIBRARIAN)
    student = person(Role.STUDENT)
    text = "\n".join(
        [
            HEADER,
            f"Good,2031-02-10T14:00,90,25,in_person,Room 1,en,{librarian.email}",
            f"Bad date,10.02.2031 14:00,90,25,in_person,Room 1,en,{librarian.email}",
            f"Bad numbers,2031-02-10T14:00,ninety,-,in_person,Room 1,en,{librarian.email}",
            f"Bad format,2031-02-10T14:00,90,25,webinar,Room 1,en,{librarian.email}",
            f"Not a librarian,2031-02-10T14:00,90,25,in_person,Room 1,en,{student.email}",
            "Nobody,2031-02-10T14:00,90,25,in_person,Room 1,en,nobody@example.edu",
            f"No room,2031-02-10T14:00,90,25,in_person,,en,{librarian.email}",
            f"Bad language,2031-02-10T14:00,90,25,in_person,Room 1,de,{librarian.email}",
            f"Good,2031-02-10T14:00,90,25,in_person,Room 1,en,{librarian.email}",
        ]
    )
    before = session_count()
    schedule = importer.read_schedule(text.encode())
    assert not schedule.ok
    lines = sorted({error.line for error in schedule.errors})
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10]
    messages = " ".join(str(e) for e in schedule.errors)
    assert "line 3: start must be a date and time" in messages
    assert "duration_minutes must be a whole number" in messages
    assert "capacity must be a whole number" in messages
    assert "format must be in_person, online or hybrid" in messages
    assert f"{student.email} is not a librarian" in messages
    assert "the same session is on line 2" in messages
    with pytest.raises(importer.DomainError):
        importer.import_schedule(schedule, None)
    assert session_count() == before


def test_missing_columns_and_empty_files(ctx):
    schedule = importer.read_schedule(b"title,start\nX,2031-01-01T10:00\n")
    assert [e.line for e in schedule.errors] == [1]
    assert "duration_minutes" in schedule.errors[0].message
    assert not importer.read_schedule((HEADER + "\n\n").encode()).ok


def test_command_prints_the_new_ids(app, tmp_path, make_user):
    librarian = make_user(Role.LIBRARIAN)
    path = tmp_path / "autumn.csv"
    path.write_text(rows(librarian.email, "One", "Two"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["ilms", "import-sessions", str(path)])
    assert result.exit_code == 0, result.output
    ids = [int(line) for line in result.output.split()]
    with app.app_context():
        titles = [db.session.get(InfoSession, i).title["ru"] for i in ids]
    assert titles == ["One", "Two"]


def test_command_refuses_a_bad_file(app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER + "\nX,tomorrow,90,25,in_person,R,en,nobody@example.edu\n", encoding="utf-8"
    )
    with app.app_context():
        before = session_count()
    result = app.test_cli_runner().invoke(args=["ilms", "import-sessions", str(path)])
    assert result.exit_code != 0
    assert "line 2" in result.output and "nothing was imported" in result.output
    with app.app_context():
        assert session_count() == before


def test_upload_preview_then_confirm(app, client, login_as):
    librarian = login_as(Role.LIBRARIAN)
    token = csrf_token_from(client, "/sessions/import")
    content = rows(librarian.email, "Uploaded one", "Uploaded two").encode("cp1251")
    response = client.post(
        "/sessions/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), "term.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Uploaded one" in page and "2 sessions read from the file" in page
    with app.app_context():
        before = session_count()
    assert 'name="content"' in page
    import html
    import re

    hidden = html.unescape(
        re.search(r'name="content" type="hidden" value="([^"]*)"', page).group(1)
    )
    response = client.post(
        "/sessions/import/confirm", data={"csrf_token": token, "content": hidden}
    )
    assert response.status_code == 302
    with app.app_context():
        assert session_count() == before + 2


def test_upload_with_errors_offers_no_import(client, login_as):
    login_as(Role.LIBRARIAN)
    token = csrf_token_from(client, "/sessions/import")
    response = client.post(
        "/sessions/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"title\nX\n"), "term.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "columns missing" in page and "/sessions/import/confirm" not in page


def test_import_is_for_librarians(client, login_as):
    login_as(Role.FACULTY)
    assert client.get("/sessions/import").status_code == 403
