"""Choosing the interface language and time zone for a request."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

#: Each language named in itself, for the switcher.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}


def select_locale() -> str:
    """The user's saved preference, then the switcher's choice, then ``Accept-Language``."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    if (
        has_request_context()
        and current_user
        and current_user.is_authenticated
        and current_user.timezone
    ):
        return current_user.timezone
    return current_app.config["LIBRARY_TIMEZONE"]
