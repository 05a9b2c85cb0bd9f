"""Roster import: what spreadsheets export is read, every row is previewed with what will happen
or what is wrong, nothing changes before the confirmation, and importing is all or nothing,
idempotent, and invites each new person once."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.cohorts import roster, services, uploads
from ilms.cohorts.models import Cohort, CohortMember, MemberRole
from ilms.cohorts.roster import parse_roster
from ilms.errors import DomainError
from ilms.extensions import db
from tests.cohorts.conftest import World, load_cohort, token_for
from tests.conftest import unique

# --- Reading files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        (b"email,name\r\nann@example.edu,Ann Lee\r\n", "utf-8", ","),
        (b"email;name\nann@example.edu;Ann Lee\n", "utf-8", ";"),
        (b"email\tname\nann@example.edu\tAnn Lee\n", "utf-8", "\t"),
        (b"\xef\xbb\xbfemail,name\r\nann@example.edu,Ann Lee\r\n", "utf-8-sig", ","),
        (b"sep=;\r\nemail;name\r\nann@example.edu;Ann Lee\r\n", "utf-8", ";"),
        (
            b"\xff\xfee\x00m\x00a\x00i\x00l\x00\n\x00a\x00@\x00b\x00.\x00e\x00d\x00u\x00",
            "utf-16",
            ",",
        ),
        (b"email,name\rann@example.edu,Ann Lee\r", "utf-8", ","),
    ],
    ids=["comma", "semicolon", "tab", "utf8-bom", "excel-sep-line", "utf16-bom", "old-mac-cr"],
)
def test_reads_what_spreadsheets_export(app_ctx, data, encoding, delimiter):
    parsed = parse_roster(data)
    assert (parsed.encoding, parsed.delimiter) == (encoding, delimiter)
    assert parsed.rows[0].errors == ()
    assert "@" in parsed.rows[0].email


def test_reads_cp1251_with_cyrillic_headers_and_names(app_ctx):
    data = "ФИО;Почта\r\nИванов Иван Иванович;Ivan.Ivanov@Example.EDU\r\nӘлия Сейтқали;aliya@example.edu\r\n"
    # Kazakh letters are not in CP1251; Excel in a Russian locale writes Russian names only.
    data = data.replace("Әлия Сейтқали", "Алия Сейткали").encode("cp1251")
    parsed = parse_roster(data)
    assert (parsed.encoding, parsed.delimiter) == ("cp1251", ";")
    assert parsed.columns == {"name": "ФИО", "email": "Почта"}
    assert [(r.email, r.name) for r in parsed.rows] == [
        ("ivan.ivanov@example.edu", "Иванов Иван Иванович"),
        ("aliya@example.edu", "Алия Сейткали"),
    ]


def test_reads_utf8_kazakh_names_with_first_and_last_name_columns(app_ctx):
    data = "Тегі,Аты,Электрондық пошта,Тобы\nСейтқали,Әлия,aliya@example.edu,ИС-21\n".encode()
    parsed = parse_roster(data)
    assert parsed.rows[0].name == "Әлия Сейтқали"
    assert parsed.ignored == ("Тобы",)


@pytest.mark.parametrize(
    "header",
    [
        "Email,Name",
        "E-mail,Full name",
        "email address,student name",
        "Почта,Имя",
        "Электронная почта,ФИО",
        "Ф.И.О.,E-Mail",
        "first_name,last_name,email",
        "Фамилия,Имя,Отчество,Email",
        "Аты-жөні,Пошта",
    ],
)
def test_understands_common_headers(app_ctx, header):
    columns = header.split(",")
    values = {"email": "x@example.edu"}
    cells = [values.get(roster._COLUMNS.get(roster.header_key(c), ""), "Part") for c in columns]
    parsed = parse_roster(f"{header}\n{','.join(cells)}\n".encode())
    assert parsed.rows[0].email == "x@example.edu"
    assert parsed.rows[0].name
    assert parsed.rows[0].errors == ()


def test_row_errors_name_the_row_column_and_problem(app_ctx):
    data = (
        "Name,E-mail\n"
        "Ann Lee,ann@example.edu\n"
        "\n"
        "Bob,\n"
        "Cid,not-an-address\n"
        "Ann again,ANN@example.edu\n"
        f"{'X' * 201},long@example.edu\n"
    ).encode()
    rows = {row.number: row for row in parse_roster(data).rows}
    assert rows[2].errors == ()
    assert 3 not in rows  # a blank line is skipped but still counted, as a spreadsheet does
    assert [(e.column, e.message) for e in rows[4].errors] == [
        ("E-mail", "The email address is missing.")
    ]
    assert rows[5].errors[0].column == "E-mail"
    assert "not an email address" in rows[5].errors[0].message
    assert rows[6].errors[0].message == "This email address is also on row 2."
    assert rows[7].errors[0].column == "Name"
    assert "longer than 200" in rows[7].errors[0].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"  \r\n\r\n", "The file is empty"),
        (b"email,name\r\n", "no students under it"),
        (b"name,phone\nAnn,123\n", "no email column"),
        (b"email,E-mail\na@b.edu,a@b.edu\n", "hold the same thing"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file"),
        (b"email\n\x00\x01\x02binary", "not a CSV text file"),
        (b"PK\x03\x04\x14\x00\x06\x00", "spreadsheet workbook"),
        (b"email\nann@example.edu\x07\n", "not a CSV text file"),
    ],
    ids=["empty", "blank", "header-only", "no-email", "two-emails", "png", "nul", "xlsx", "bell"],
)
def test_file_problems_are_explained(app_ctx, data, message):
    with pytest.raises(DomainError, match=message):
        parse_roster(data)


def test_size_and_row_limits(app_ctx, monkeypatch):
    big = b"email\n" + b"a@example.edu\n" * (roster.MAX_ROSTER_BYTES // 14 + 1)
    with pytest.raises(DomainError, match="larger than 1024 KB"):
        parse_roster(big)
    monkeypatch.setattr(roster, "MAX_ROSTER_ROWS", 3)
    rows = "".join(f"s{i}@example.edu\n" for i in range(4))
    with pytest.raises(DomainError, match="more than 3 students"):
        parse_roster(f"email\n{rows}".encode())


# --- Writing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+7 701 000", "'+7 701 000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ann", "Ann"),
        (42.5, 42.5),
        (None, ""),
    ],
)
def test_safe_cell(value, written):
    assert roster.safe_cell(value) == written


# --- The pages ------------------------------------------------------------------------------


def upload(client: FlaskClient, cohort_id: int, data: bytes, name: str = "roster.csv"):
    return client.post(
        f"/cohorts/{cohort_id}/roster/import",
        data={"csrf_token": token_for(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client: FlaskClient, preview_path: str):
    return client.post(preview_path, data={"csrf_token": token_for(client)})


def counts(app: Flask, cohort_id: int, emails: list[str]) -> tuple[int, int]:
    """(accounts with these emails, students of the cohort)."""
    with app.app_context():
        accounts = db.session.scalar(
            select(func.count()).select_from(User).where(func.lower(User.email).in_(emails))
        )
        students = db.session.scalar(
            select(func.count())
            .select_from(CohortMember)
            .where(CohortMember.cohort_id == cohort_id, CohortMember.role == MemberRole.STUDENT)
        )
        return accounts, students


@pytest.fixture
def newcomers() -> list[str]:
    return [f"{unique('new')}@example.edu", f"{unique('new')}@example.edu"]


def roster_file(world: World, newcomers: list[str], existing: User) -> bytes:
    return (
        "\ufeffФИО;Почта;Группа\r\n"
        f"Алия Сейтқали;{newcomers[0]}\r\n"
        f";{newcomers[1].upper()}\r\n"
        f"Existing Person;{existing.email.upper()};ИС-21\r\n"
        f"Sara Student;{world.student.email}\r\n"
    ).encode()


def test_upload_preview_confirm(app, world, client_for, make_user, newcomers, outbox):
    existing = make_user("student", name="Existing Person")
    client = client_for(world.owner)
    data = roster_file(world, newcomers, existing)
    before = counts(app, world.cohort_id, newcomers)

    response = upload(client, world.cohort_id, data)
    assert response.status_code == 302
    preview_path = response.headers["Location"]
    page = client.get(preview_path).get_data(as_text=True)
    assert "New account: will be created and invited" in page
    assert "Existing account: will be enrolled" in page
    assert "Already in the cohort: no change" in page
    assert "Группа" in page  # the column left out is named
    assert 'action="' + preview_path in page
    assert counts(app, world.cohort_id, newcomers) == before == (0, 1)
    assert outbox == []

    response = confirm(client, preview_path)
    assert response.status_code == 302
    assert "3 students enrolled. 2 invitations sent." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert counts(app, world.cohort_id, newcomers) == (2, 4)
    with app.app_context():
        created = {
            u.email: u for u in db.session.scalars(select(User).where(User.email.in_(newcomers)))
        }
        assert created[newcomers[0]].name == "Алия Сейтқали"
        assert created[newcomers[1]].name == newcomers[1].split("@")[0]  # no name given
        assert all(u.password_hash is None and u.has_role("student") for u in created.values())
    assert sorted(m["To"] for m in outbox) == sorted(newcomers)


def test_invitation_is_in_the_cohorts_language_and_its_link_works(
    app, world, client_for, newcomers, outbox
):
    with app.app_context():
        db.session.get(Cohort, world.cohort_id).language = "ru"
        db.session.commit()
    client = client_for(world.owner)
    preview = upload(client, world.cohort_id, f"email\n{newcomers[0]}\n".encode())
    confirm(client, preview.headers["Location"])
    [mail] = outbox
    body = mail.get_content()
    assert "Здравствуйте" in body
    assert "Olga Owner" in body and "IL101" in body
    link = re.search(r"http://localhost(/password/reset/[\w-]+)", body)
    assert link
    stranger = app.test_client()
    assert stranger.get(link.group(1)).status_code == 200


def test_importing_the_same_file_twice_adds_nobody_and_invites_nobody(
    app, world, client_for, make_user, newcomers, outbox
):
    existing = make_user("student", name="Existing Person")
    client = client_for(world.owner)
    data = roster_file(world, newcomers, existing)
    confirm(client, upload(client, world.cohort_id, data).headers["Location"])
    after_first = counts(app, world.cohort_id, newcomers)
    outbox.clear()

    preview_path = upload(client, world.cohort_id, data).headers["Location"]
    page = client.get(preview_path).get_data(as_text=True)
    assert "New account" not in page.split("<tbody>")[1]
    assert "Existing account" not in page.split("<tbody>")[1]
    response = confirm(client, preview_path)
    assert response.status_code == 302
    assert "0 students enrolled. 0 invitations sent." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert counts(app, world.cohort_id, newcomers) == after_first
    assert outbox == []


def test_a_failure_half_way_imports_nothing(app, world, client_for, newcomers, outbox, monkeypatch):
    client = client_for(world.owner)
    data = f"email\n{newcomers[0]}\n{newcomers[1]}\n".encode()
    preview_path = upload(client, world.cohort_id, data).headers["Location"]
    real_create = services.accounts.create_user
    calls = []

    def create_then_fail(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise DomainError("An account with this email address already exists.")
        return real_create(*args, **kwargs)

    monkeypatch.setattr(services.accounts, "create_user", create_then_fail)
    response = confirm(client, preview_path)
    assert response.status_code == 409
    assert len(calls) == 2
    assert counts(app, world.cohort_id, newcomers) == (0, 1)
    assert outbox == []
    monkeypatch.setattr(services.accounts, "create_user", real_create)
    assert client.get(preview_path).status_code == 200  # the file can be imported once fixed
    assert confirm(client, preview_path).status_code == 302
    assert counts(app, world.cohort_id, newcomers) == (2, 3)


def test_errors_block_the_import(app, world, client_for, newcomers, outbox):
    client = client_for(world.owner)
    data = f"email,name\n{newcomers[0]},Fine\nbroken,Broken\n".encode()
    preview_path = upload(client, world.cohort_id, data).headers["Location"]
    page = client.get(preview_path).get_data(as_text=True)
    assert "1 row needs correcting" in page
    assert "Row 3, column “email”:" in page
    assert 'href="#row-3"' in page and 'id="row-3"' in page
    assert "Import these students" not in page
    response = confirm(client, preview_path)
    assert response.status_code == 409
    assert "Nothing was imported" in response.get_data(as_text=True)
    assert counts(app, world.cohort_id, newcomers) == (0, 1)
    assert outbox == []


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "photo.png", "not a CSV text file"),
        (b"PK\x03\x04\x14\x00", "class.xlsx", "spreadsheet workbook"),
        (b"email\n" + b"a@example.edu\n" * 80_000, "huge.csv", "larger than 1024 KB"),
        (b"name\nAnn\n", "names.csv", "no email column"),
    ],
    ids=["empty", "binary", "workbook", "oversize", "no-email"],
)
def test_upload_problems_are_shown_on_the_form(world, client_for, data, name, message):
    client = client_for(world.owner)
    response = upload(client, world.cohort_id, data, name)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="error-summary"' in page and 'href="#file"' in page


def test_sending_no_file_asks_for_one(world, client_for):
    client = client_for(world.owner)
    response = client.post(
        f"/cohorts/{world.cohort_id}/roster/import",
        data={"csrf_token": token_for(client)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Choose a CSV file to upload." in response.get_data(as_text=True)


def test_a_pending_upload_belongs_to_its_uploader_and_cohort(app, world, client_for, newcomers):
    owner = client_for(world.owner)
    preview_path = upload(owner, world.cohort_id, f"email\n{newcomers[0]}\n".encode()).headers[
        "Location"
    ]
    token = preview_path.rsplit("/", 1)[1]
    librarian = client_for(world.librarian)
    assert librarian.get(preview_path).status_code == 404
    assert confirm(librarian, preview_path).status_code == 404
    admin = client_for(world.admin)
    other_path = f"/cohorts/{world.other_cohort_id}/roster/import/{token}"
    assert admin.get(other_path).status_code == 404
    assert owner.get(preview_path).status_code == 200


def test_a_confirmed_upload_cannot_be_imported_again(app, world, client_for, newcomers):
    client = client_for(world.owner)
    preview_path = upload(client, world.cohort_id, f"email\n{newcomers[0]}\n".encode()).headers[
        "Location"
    ]
    assert confirm(client, preview_path).status_code == 302
    again = confirm(client, preview_path)
    assert again.status_code == 404
    assert "already been imported" in again.get_data(as_text=True)
    assert client.get(preview_path).status_code == 404


@pytest.mark.parametrize("token", ["A" * 32, "..%2F..%2Fsecret_key", "short"])
def test_unknown_tokens_are_not_found(world, client_for, token):
    response = client_for(world.owner).get(f"/cohorts/{world.cohort_id}/roster/import/{token}")
    assert response.status_code == 404


def test_pending_uploads_expire(app, world, client_for, newcomers, monkeypatch):
    client = client_for(world.owner)
    preview_path = upload(client, world.cohort_id, f"email\n{newcomers[0]}\n".encode()).headers[
        "Location"
    ]
    monkeypatch.setattr(uploads, "_age", lambda path: uploads.PENDING_MAX_AGE.total_seconds() + 1)
    assert client.get(preview_path).status_code == 404


def test_import_page_explains_the_format(world, client_for):
    page = client_for(world.owner).get(f"/cohorts/{world.cohort_id}/roster/import")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in text
    assert "CP1251" in text and "semicolons" in text


def test_the_cohort_is_unchanged_by_a_preview(app, world, client_for, newcomers):
    client = client_for(world.owner)
    before = load_cohort(app, world.cohort_id)
    preview_path = upload(client, world.cohort_id, f"email\n{newcomers[0]}\n".encode()).headers[
        "Location"
    ]
    client.get(preview_path)
    after = load_cohort(app, world.cohort_id)
    assert [m.user_id for m in after.members] == [m.user_id for m in before.members]
