"""The administration of users: only admins, and every change is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ilms.accounts.models import AuditEvent, User
from ilms.extensions import db
from tests.conftest import csrf_token_from, login, unique

ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/users/new", "/admin/audit"]


@pytest.mark.parametrize("role", ["student", "librarian", "faculty"])
def test_every_non_admin_role_gets_403(client, login_as, make_user, role):
    login_as(role)
    other = make_user("student")
    for path in [*ADMIN_PAGES, f"/admin/users/{other.id}"]:
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(client, "/account")
    assert (
        client.post(
            f"/admin/users/{other.id}/roles", data={"roles": ["admin"], "csrf_token": token}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/admin/users/{other.id}/active", data={"csrf_token": token}).status_code
        == 403
    )


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")


def test_admin_pages_render(client, login_as, make_user):
    login_as("admin")
    other = make_user("faculty")
    for path in [*ADMIN_PAGES, f"/admin/users/{other.id}"]:
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/users/999999").status_code == 404


def test_admin_creates_an_account_with_an_emailed_link(client, login_as, outbox, app):
    admin = login_as("admin")
    email = f"{unique('new')}@example.edu"
    token = csrf_token_from(client, "/admin/users/new")
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Nurlan Newcomer",
            "email": email,
            "roles": ["faculty", "librarian"],
            "locale": "kk",
            "password": "",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert {r.value for r in user.roles} == {"faculty", "librarian"}
        assert user.password_hash is None
        created = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.event == "user.created", AuditEvent.target_user_id == user.id
            )
        )
        assert created.actor_id == admin.id
    assert outbox[-1]["To"] == email


def test_duplicate_email_is_refused_whatever_the_case(client, login_as, make_user):
    login_as("admin")
    existing = make_user("student")
    token = csrf_token_from(client, "/admin/users/new")
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Copy",
            "email": existing.email.upper(),
            "roles": ["student"],
            "password": "long enough passphrase",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)


def test_role_change_is_audited_and_takes_effect(client, login_as, make_user, app):
    login_as("admin")
    person = make_user("student")
    token = csrf_token_from(client, f"/admin/users/{person.id}")
    response = client.post(
        f"/admin/users/{person.id}/roles",
        data={"roles": ["student", "librarian"], "csrf_token": token},
    )
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.event == "user.roles_changed", AuditEvent.target_user_id == person.id
            )
        )
        assert event.details == {"before": ["student"], "after": ["librarian", "student"]}
    browser = app.test_client()
    login(browser, person)
    assert browser.get("/librarian").status_code == 200


def test_deactivation_logs_the_person_out(client, login_as, make_user, app):
    login_as("admin")
    person = make_user("student")
    browser = app.test_client()
    login(browser, person)
    token = csrf_token_from(client, f"/admin/users/{person.id}")
    client.post(f"/admin/users/{person.id}/active", data={"csrf_token": token})
    assert browser.get("/student").status_code == 302
    assert login(app.test_client(), person).status_code == 401


def test_the_last_admin_cannot_be_removed(app_ctx, make_user):
    from ilms.accounts import services
    from ilms.errors import DomainError
    from ilms.permissions import Role

    # Deactivate every other admin created so far in this database, then try to remove the last.
    admin = make_user("admin")
    others = db.session.scalars(select(User).where(User.id != admin.id)).all()
    for other in others:
        if other.is_admin:
            other.active = False
    me = db.session.get(User, admin.id)
    with pytest.raises(DomainError, match="at least one active administrator"):
        services.set_roles(me, [Role.STUDENT], actor=me)
    with pytest.raises(DomainError, match="at least one active administrator"):
        services.set_active(me, False, actor=me)
    db.session.rollback()


def test_user_list_filters_by_name_and_role(client, login_as, make_user):
    login_as("admin")
    marker = unique("Zhanna")
    make_user("librarian", name=f"{marker} Librarian")
    make_user("student", name=f"{marker} Student")
    page = client.get(f"/admin/users?q={marker}&role=librarian").get_data(as_text=True)
    assert f"{marker} Librarian" in page
    assert f"{marker} Student" not in page
