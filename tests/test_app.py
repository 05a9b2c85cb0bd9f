"""The application as a whole: the start-up guard, database settings, headers and health checks."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ilms import create_app
from ilms.extensions import db
from ilms.security import InsecureConfiguration

STRONG_KEY = "k3Y-9f8a7s6d5f4g3h2j1kLmNoPqRsTuVwXyZ0123456789"


def production(**overrides):
    config = {
        "ENV": "production",
        "SECRET_KEY": STRONG_KEY,
        "SESSION_COOKIE_SECURE": True,
        "DATABASE_URL": "sqlite://",
        "QUEUE_IMMEDIATE": True,
    }
    config.update(overrides)
    return config


def test_production_starts_with_safe_settings():
    app = create_app(production())
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"SECRET_KEY": None}, "ILMS_SECRET_KEY"),
        ({"SECRET_KEY": "changeme"}, "ILMS_SECRET_KEY"),
        ({"SECRET_KEY": "a" * 64}, "ILMS_SECRET_KEY"),
        ({"DEBUG": True}, "ILMS_DEBUG"),
        ({"SESSION_COOKIE_SECURE": False}, "ILMS_SESSION_COOKIE_SECURE"),
        ({"SESSION_COOKIE_HTTPONLY": False}, "ILMS_SESSION_COOKIE_HTTPONLY"),
        ({"SESSION_COOKIE_SAMESITE": None}, "ILMS_SESSION_COOKIE_SAMESITE"),
        ({"WTF_CSRF_ENABLED": False}, "ILMS_WTF_CSRF_ENABLED"),
        ({"ARGON2_PROFILE": "CHEAPEST"}, "ILMS_ARGON2_PROFILE"),
        ({"ARGON2_PROFILE": "owasp"}, "ILMS_ARGON2_PROFILE"),
    ],
)
def test_production_refuses_unsafe_settings(overrides, setting):
    with pytest.raises(InsecureConfiguration, match=setting):
        create_app(production(**overrides))


def test_production_reads_the_environment(monkeypatch):
    monkeypatch.setenv("ILMS_ENV", "production")
    monkeypatch.setenv("ILMS_SECRET_KEY", "short")
    monkeypatch.setenv("ILMS_SESSION_COOKIE_SECURE", "true")
    with pytest.raises(InsecureConfiguration, match="ILMS_SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite://", "QUEUE_IMMEDIATE": True})


def test_development_keeps_a_generated_key(tmp_path, monkeypatch):
    from ilms.security import development_secret_key

    first = development_secret_key(str(tmp_path))
    assert len(first) >= 32
    assert development_secret_key(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_sqlite_runs_in_wal_with_foreign_keys(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite settings apply to SQLite only")
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_sqlite_write_transactions_take_the_lock_up_front(app):
    """Two writers that both read first never fail: the second waits for the first."""
    import threading

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite settings apply to SQLite only")
        engine = db.engine
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (n INTEGER)"))
        errors: list[Exception] = []
        barrier = threading.Barrier(8)

        def writer() -> None:
            try:
                barrier.wait()
                with engine.begin() as connection:
                    count = connection.execute(text("SELECT count(*) FROM lock_probe")).scalar()
                    connection.execute(text("INSERT INTO lock_probe VALUES (:n)"), {"n": count})
            except Exception as error:  # collected for the assertion below
                errors.append(error)

        threads = [threading.Thread(target=writer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with engine.begin() as connection:
            values = connection.execute(text("SELECT n FROM lock_probe ORDER BY n")).scalars().all()
            connection.execute(text("DROP TABLE lock_probe"))
        # Each writer saw every earlier commit: the reads were serialised with the writes.
        assert values[-8:] == list(range(values[-8], values[-8] + 8))


def test_security_headers_on_every_response(client):
    for path in ("/", "/login", "/healthz", "/no-such-page"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_frame_ancestors_can_allow_configured_lms_origins(app, client):
    app.config["FRAME_ANCESTORS"] = "https://canvas.example.edu"
    try:
        response = client.get("/login")
    finally:
        app.config["FRAME_ANCESTORS"] = ""
    assert (
        "frame-ancestors https://canvas.example.edu" in response.headers["Content-Security-Policy"]
    )
    assert "X-Frame-Options" not in response.headers


def test_healthz_answers_without_the_database(client, app, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("healthz touched the database")

    with app.app_context():
        monkeypatch.setattr(db.engine, "connect", refuse)
        monkeypatch.setattr(db.session, "execute", refuse)
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "ok"}


def test_readyz_reports_a_database_behind_the_code(tmp_path):
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,
            "SECRET_KEY": STRONG_KEY,
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "flask db upgrade" in response.get_json()["checks"]["migrations"]


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_models_match_the_migrations(app):
    """A model change without a migration fails here (what `flask db check` reports)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == 404


def test_html_lang_follows_accept_language(client):
    page = client.get("/login", headers={"Accept-Language": "kk,ru;q=0.8"}).get_data(as_text=True)
    assert '<html lang="kk"' in page
    page = client.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="en"' in page
