"""Domain errors and the HTTP error pages (HTML for people, JSON for the API)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ilms.extensions import db


class DomainError(Exception):
    """A rule of the domain was broken; the message is translated and says what to do."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def attach_error(form: FlaskForm, error: DomainError) -> None:
    """Show a service's refusal on the form: under the field it names, else above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Please try again.")),
        401: (_("Please log in"), _("You need to log in to see this page.")),
        403: (_("Access denied"), _("Your account does not have permission to see this page.")),
        404: (_("Page not found"), _("We could not find the page you asked for.")),
        405: (_("Not allowed"), _("This action is not allowed here.")),
        409: (_("Conflict"), _("This was changed elsewhere in the meantime. Please reload.")),
        413: (_("File too large"), _("The file you sent is larger than the allowed size.")),
        429: (
            _("Too many attempts"),
            _("Too many attempts. Please wait a few minutes and try again."),
        ),
        500: (
            _("Something went wrong"),
            _("An unexpected error occurred. Nothing you saved was lost; please try again."),
        ),
    }


def error_response(code: int, message: str | None = None) -> tuple[Response | str, int]:
    title, default = _messages().get(code, (_("Error"), _("An error occurred.")))
    text = message or default
    if wants_json():
        return jsonify(error={"code": code, "title": title, "message": text}), code
    return render_template("errors/error.html", code=code, title=title, message=text), code


def register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Response | str, int]:
        return error_response(
            400,
            _(
                "Your form expired or was sent from another page. Please reload the page and try again."
            ),
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[Response | str, int]:
        db.session.rollback()
        return error_response(error.status_code, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int] | HTTPException:
        if error.code is None or error.code < 400:
            return error
        return error_response(error.code)

    @app.errorhandler(Exception)
    def server_error(error: Exception) -> tuple[Response | str, int]:
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500)
