"""The account commands: create-user and seed-demo."""

from __future__ import annotations

from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.extensions import db
from tests.conftest import login, unique


def test_create_user_with_password(app):
    email = f"{unique('cli')}@example.edu"
    result = app.test_cli_runner().invoke(
        args=[
            "ilms",
            "create-user",
            "--email",
            email,
            "--name",
            "Cli Person",
            "--role",
            "librarian",
            "--role",
            "faculty",
            "--password",
            "a long cli password",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created user" in result.output
    assert login(app.test_client(), email, "a long cli password").status_code == 302


def test_create_user_refuses_duplicates_and_weak_passwords(app, make_user):
    existing = make_user("student")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "ilms",
            "create-user",
            "--email",
            existing.email,
            "--name",
            "X",
            "--role",
            "student",
            "--password",
            "long enough 123",
        ]
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    result = runner.invoke(
        args=[
            "ilms",
            "create-user",
            "--email",
            f"{unique('w')}@example.edu",
            "--name",
            "X",
            "--role",
            "student",
            "--password",
            "short",
        ]
    )
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output


def test_create_user_without_password_emails_a_link(app, outbox):
    email = f"{unique('link')}@example.edu"
    result = app.test_cli_runner().invoke(
        args=["ilms", "create-user", "--email", email, "--name", "Link Person", "--role", "student"]
    )
    assert result.exit_code == 0, result.output
    assert outbox[-1]["To"] == email
    assert "/password/reset/" in outbox[-1].get_content()


def test_seed_demo_is_idempotent_and_its_logins_work(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["ilms", "seed-demo"])
    second = runner.invoke(args=["ilms", "seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "student@example.edu" in second.output
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.email.in_(
                    [
                        "student@example.edu",
                        "librarian@example.edu",
                        "faculty@example.edu",
                        "admin@example.edu",
                    ]
                )
            )
        )
    assert count == 4
    for email, home in [
        ("student@example.edu", "/student"),
        ("librarian@example.edu", "/librarian"),
        ("faculty@example.edu", "/faculty"),
        ("admin@example.edu", "/admin/"),
    ]:
        browser = app.test_client()
        assert login(browser, email, "ilms-demo").status_code == 302
        assert browser.get("/").headers["Location"].endswith(home)
