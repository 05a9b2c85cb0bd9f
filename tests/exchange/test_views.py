"""The import page: who may use it, upload → preview → confirm or cancel, the upload kept on the
server between the steps, CSRF, and every way an upload is refused."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from ilms.authoring.models import Module, QuestionBank
from ilms.exchange import pending, views
from ilms.extensions import db
from ilms.permissions import Role
from tests.conftest import csrf_token_from, login, unique
from tests.exchange.conftest import fixture

PAGE = "/questions/import/"


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr(views, "_uploads", lambda: tmp_path)
    return tmp_path


@pytest.fixture
def librarian(login_as):
    return login_as(Role.LIBRARIAN)


def upload(client, data: bytes, name: str = "moodle.gift", **fields: str):
    form = {
        "csrf_token": csrf_token_from(client, PAGE),
        "bank": fields.pop("bank", unique("web-")),
        "title": fields.pop("title", ""),
        "format": fields.pop("format", ""),
        "file": (io.BytesIO(data), name),
    }
    return client.post(PAGE, data=form, content_type="multipart/form-data")


def token_of(response) -> str:
    match = re.search(r"/questions/import/([A-Za-z0-9_-]{32})$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match[1]


def bank(app, slug: str) -> QuestionBank | None:
    with app.app_context():
        found = db.session.scalar(select(QuestionBank).where(QuestionBank.slug == slug))
        if found is not None:
            _ = [question.key for question in found.questions]
        return found


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.STUDENT, Role.FACULTY])
def test_students_and_faculty_may_not_import(client, login_as, role):
    login_as(role)
    assert client.get(PAGE).status_code == 403


@pytest.mark.parametrize("role", [Role.LIBRARIAN, Role.ADMIN])
def test_librarians_and_admins_see_the_form(client, login_as, role):
    login_as(role)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert 'name="bank"' in page and 'type="file"' in page


def test_librarian_home_links_to_the_import_page(client, librarian):
    assert PAGE in client.get("/librarian").get_data(as_text=True)


def test_upload_preview_confirm(app, client, librarian, uploads):
    slug = unique("web-")
    response = upload(client, fixture("moodle.gift"), bank=slug, title="From Moodle")
    assert response.status_code == 302
    token = token_of(response)
    assert [path.name for path in uploads.iterdir()] == [f"{token}.json"]
    assert len(client.get_cookie("ilms_session").value) < 1000

    preview = client.get(f"{PAGE}{token}").get_data(as_text=True)
    assert "To import: 15. Skipped: 2." in preview
    assert "line 72: &#39;{&#39; has no closing &#39;}&#39;" in preview
    assert 'name="answer-bool-and"' in preview and "<div inert>" in preview
    assert "climate AND migration" in preview
    assert bank(app, slug) is None

    confirmed = client.post(f"{PAGE}{token}", data={"csrf_token": csrf_token_from(client, PAGE)})
    assert confirmed.status_code == 302
    saved = bank(app, slug)
    assert saved.title == "From Moodle" and len(saved.questions) == 15
    assert list(uploads.iterdir()) == []
    flashed = client.get(PAGE).get_data(as_text=True)
    assert "15 questions added, 0 updated, 0 unchanged; 2 items skipped" in flashed


def test_confirm_needs_the_csrf_token(client, librarian, uploads):
    token = token_of(upload(client, fixture("moodle.gift")))
    assert client.post(f"{PAGE}{token}").status_code == 400
    assert client.post(f"{PAGE}{token}/cancel").status_code == 400


def test_upload_needs_the_csrf_token(client, librarian, uploads):
    response = client.post(
        PAGE,
        data={"bank": "x", "file": (io.BytesIO(b"::A::B{T}"), "a.gift")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert list(uploads.iterdir()) == []


def test_cancel_removes_the_upload_and_saves_nothing(app, client, librarian, uploads):
    slug = unique("cancel-")
    token = token_of(upload(client, fixture("moodle.gift"), bank=slug))
    csrf = csrf_token_from(client, PAGE)
    assert client.post(f"{PAGE}{token}/cancel", data={"csrf_token": csrf}).status_code == 302
    assert list(uploads.iterdir()) == []
    assert bank(app, slug) is None
    assert client.get(f"{PAGE}{token}").status_code == 404


def test_someone_elses_upload_is_not_found(app, client, librarian, make_user, uploads):
    token = token_of(upload(client, fixture("moodle.gift")))
    other = app.test_client()
    assert login(other, make_user(Role.LIBRARIAN)).status_code == 302
    assert other.get(f"{PAGE}{token}").status_code == 404
    csrf = csrf_token_from(other, PAGE)
    assert other.post(f"{PAGE}{token}", data={"csrf_token": csrf}).status_code == 404
    assert client.get(f"{PAGE}{token}").status_code == 200


def test_expired_upload_is_not_found(client, librarian, uploads):
    token = token_of(upload(client, fixture("moodle.gift")))
    meta = uploads / f"{token}.json"
    data = json.loads(meta.read_text())
    data["upload"]["saved_at"] -= pending.KEEP_FOR + 1
    meta.write_text(json.dumps(data))
    response = client.get(f"{PAGE}{token}")
    assert response.status_code == 404
    assert "expired" in response.get_data(as_text=True)


def test_malformed_tokens_are_not_found(client, librarian, uploads):
    assert client.get(f"{PAGE}..%2F..%2Fsecret_key").status_code == 404
    assert client.get(f"{PAGE}{'a' * 32}").status_code == 404


@pytest.mark.parametrize(
    ("data", "fields", "message"),
    [
        (b"", {}, "The file is empty."),
        (b"<?xml version='1.0'?><quiz><question", {}, "is not well-formed XML"),
        (b"::A::One?{T}", {"format": "qti"}, "looks like GIFT, not IMS QTI"),
        (
            b"<!DOCTYPE quiz [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><quiz>&x;</quiz>",
            {},
            "declares a document type or entities",
        ),
        (b"PK\x03\x04broken", {}, "not a readable zip archive"),
    ],
)
def test_files_that_cannot_be_imported_are_refused_on_the_form(
    client, librarian, uploads, data, fields, message
):
    response = upload(client, data, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert list(uploads.iterdir()) == []


def test_bank_name_is_checked(client, librarian, uploads):
    response = upload(client, fixture("moodle.gift"), bank="Not a slug")
    assert response.status_code == 400
    assert "Use a-z, 0-9 and single hyphens" in response.get_data(as_text=True)


def test_a_modules_bank_is_refused_on_the_form(app, client, librarian, uploads):
    slug = unique("modbank-")
    with app.app_context():
        module = Module(slug=slug)
        module.bank = QuestionBank(slug=slug, title="Module bank")
        db.session.add(module)
        db.session.commit()
    response = upload(client, fixture("moodle.gift"), bank=slug)
    assert response.status_code == 400
    assert "belongs to a module" in response.get_data(as_text=True)


def test_a_file_over_the_import_limit_is_refused_with_the_limit(
    app, client, librarian, uploads, monkeypatch
):
    monkeypatch.setitem(app.config, "EXCHANGE_MAX_UPLOAD_BYTES", 1024)
    response = upload(client, fixture("moodle.gift"))
    assert response.status_code == 400
    assert "files of at most 1 KB can be imported" in response.get_data(as_text=True)
    assert list(uploads.iterdir()) == []


def test_a_request_over_the_size_limit_is_refused_before_it_is_read(
    app, client, librarian, uploads, monkeypatch
):
    csrf = csrf_token_from(client, PAGE)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    response = client.post(
        PAGE,
        data={"csrf_token": csrf, "bank": "big", "file": (io.BytesIO(b"x" * 200_000), "big.gift")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "larger than the allowed size" in response.get_data(as_text=True)
    assert list(uploads.iterdir()) == []


def test_existing_banks_are_offered(app, client, librarian, uploads):
    slug = unique("offered-")
    with app.app_context():
        db.session.add(QuestionBank(slug=slug, title="Offered bank"))
        db.session.commit()
    page = client.get(PAGE).get_data(as_text=True)
    assert f'<option value="{slug}">Offered bank</option>' in page


def test_preview_of_an_existing_bank_shows_what_changes(app, client, librarian, uploads):
    slug = unique("versions-")
    token = token_of(upload(client, fixture("moodle.gift"), bank=slug))
    client.post(f"{PAGE}{token}", data={"csrf_token": csrf_token_from(client, PAGE)})
    changed = fixture("moodle.gift").replace(b"{#1989:1}", b"{#1989:2}")
    preview = client.get(f"{PAGE}{token_of(upload(client, changed, bank=slug))}")
    page = preview.get_data(as_text=True)
    assert "a new version" in page and "unchanged" in page


def test_old_uploads_are_removed_when_a_new_one_is_kept(client, librarian, uploads):
    old = uploads / f"{'a' * 32}.json"
    old.write_text("{}")
    os.utime(old, (1, 1))
    token_of(upload(client, fixture("moodle.gift")))
    assert not old.exists()
    assert len(list(uploads.iterdir())) == 1
