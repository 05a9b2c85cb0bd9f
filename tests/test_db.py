"""How write requests use SQLite's write lock: what they only read is read before it is taken."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, csrf_token_from


def test_a_write_request_reads_the_log_in_before_taking_the_write_lock(
    app, client, login_as, statements
):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    login_as("student")
    token = csrf_token_from(client, "/account")
    statements.clear()
    response = client.post(
        "/account",
        data={"csrf_token": token, "profile-name": "Renamed", "profile-submit": "Save profile"},
    )
    assert response.status_code == 302
    begins = [i for i, s in enumerate(statements) if s.startswith("BEGIN")]
    # The log-in's SELECT in a deferred transaction, ended; then the write transaction.
    assert statements[begins[0]] == "BEGIN"
    assert statements[begins[0] + 1] == "SELECT"
    assert "BEGIN IMMEDIATE" in statements[begins[0] + 1 :]
    assert statements.count("BEGIN IMMEDIATE") == 1


def test_logging_in_checks_the_password_before_taking_the_write_lock(
    app, client, make_user, statements
):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    user = make_user("student")
    token = csrf_token_from(client, "/login")
    statements.clear()
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/student"
    # The account and its roles are read in a deferred transaction; the write lock is then
    # taken once, for the writes alone: the home page is found without reading the account again.
    locked = statements.index("BEGIN IMMEDIATE")
    assert statements[:locked] == ["BEGIN", "SELECT", "SELECT"]
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert "SELECT" not in statements[locked:]
    assert {"UPDATE", "INSERT"} <= set(statements[locked:])


def test_a_get_request_never_takes_the_write_lock(app, client, login_as, statements):
    login_as("student")
    statements.clear()
    assert client.get("/student").status_code == 200
    assert "BEGIN IMMEDIATE" not in statements
