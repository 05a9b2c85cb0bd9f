"""ILMS: an information-literacy course and assessment platform for academic libraries."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error pages, commands."""
    app = Flask(__name__, instance_relative_config=False)
    load_config(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errors(app)
    register_request_hooks(app)
    register_cli(app)
    return app


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    from ilms.config import Defaults, overrides_for
    from ilms.security import check_deploy, development_secret_key

    app.config.from_object(Defaults)
    app.config.from_prefixed_env("ILMS")
    app.config.update(overrides or {})
    app.config.update(overrides_for(app.config))
    app.config["DEBUG"] = app.debug = bool(app.config["DEBUG"])
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SECRET_KEY"] and app.config["ENV"] != "production":
        app.config["SECRET_KEY"] = development_secret_key(app.instance_path)
    url = (
        app.config["DATABASE_URL"] or f"sqlite:///{os.path.join(app.instance_path, 'ilms.sqlite3')}"
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": not url.startswith("sqlite")}
    )
    check_deploy(app.config)
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["PROXY_FIX_X_FOR"]), x_proto=1)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    from pathlib import Path

    import ilms.delivery.jobs  # the periodic jobs, known to the job worker
    import ilms.infosessions.jobs  # the reminders, a periodic job
    import ilms.models  # noqa: F401  (every table known to migrations and queries)
    from ilms.db import configure_sqlite
    from ilms.extensions import babel, csrf, db, login_manager, migrate
    from ilms.i18n import select_locale, select_timezone
    from ilms.jobs import init_jobs, start_embedded_worker
    from ilms.reports import jobs as report_jobs  # noqa: F401  (a periodic job: the refresh)
    from ilms.security import init_throttle

    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    migrate.init_app(app, db, directory=str(migrations), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    init_throttle(app)
    init_jobs(app)
    if app.config["QUEUE_EMBEDDED"] and not app.config["TESTING"]:
        # Started by the first request, so that CLI commands do not run a worker.
        app.before_request(lambda: start_embedded_worker(app))


def register_blueprints(app: Flask) -> None:
    from ilms.accounts.views import admin_bp, auth_bp
    from ilms.authoring.views import api_bp as modules_api_bp
    from ilms.authoring.views import author_bp
    from ilms.cohorts.views import bp as cohorts_bp
    from ilms.delivery.api import bp as delivery_api_bp
    from ilms.delivery.views import bp as learn_bp
    from ilms.exchange.views import bp as exchange_bp
    from ilms.home.views import bp as home_bp
    from ilms.infosessions.api import api_bp as infosessions_api_bp
    from ilms.infosessions.views import bp as infosessions_bp
    from ilms.lti.views import admin_bp as lti_admin_bp
    from ilms.lti.views import bp as lti_bp
    from ilms.reports.views import bp as reports_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(modules_api_bp)
    app.register_blueprint(author_bp)
    app.register_blueprint(cohorts_bp)
    app.register_blueprint(infosessions_bp)
    app.register_blueprint(infosessions_api_bp)
    app.register_blueprint(delivery_api_bp)
    app.register_blueprint(learn_bp)
    app.register_blueprint(exchange_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(lti_bp)
    app.register_blueprint(lti_admin_bp)


def register_errors(app: Flask) -> None:
    from ilms.errors import register_errors as register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from flask_babel import get_locale
    from flask_wtf.csrf import generate_csrf

    from ilms.db import set_write_intent
    from ilms.i18n import LANGUAGE_NAMES
    from ilms.security import set_security_headers

    @app.before_request
    def _transaction_kind() -> None:
        set_write_intent(request.method not in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def _reset_transaction_kind(_exc: BaseException | None) -> None:
        set_write_intent(True)

    app.after_request(set_security_headers)

    from ilms.markdown import render_inline, render_markdown

    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(render_inline, "markdown_inline")

    @app.context_processor
    def _layout_context() -> dict[str, Any]:
        return {
            "csrf_token": generate_csrf,
            "current_locale": str(get_locale()),
            "language_names": LANGUAGE_NAMES,
            "library_name": app.config["LIBRARY_NAME"],
        }


def register_cli(app: Flask) -> None:
    from ilms.cli import ilms_cli

    app.cli.add_command(ilms_cli)
