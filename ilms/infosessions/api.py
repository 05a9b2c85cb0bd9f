"""The info sessions JSON API (documented in docs/api.md): the session cookie authenticates,
and a write needs the ``X-CSRFToken`` header. Errors are JSON (see ``ilms.errors``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ilms.db import utcnow
from ilms.extensions import db
from ilms.infosessions import queries, services
from ilms.infosessions.models import InfoSession, Registration
from ilms.infosessions.views import date_arg, is_staff

api_bp = Blueprint("infosessions_api", __name__, url_prefix="/api/v1")


def _lang() -> str:
    return str(get_locale())


@api_bp.get("/csrf-token")
def csrf_token() -> Response:
    """The token to send as ``X-CSRFToken`` with this session cookie."""
    return jsonify(csrf_token=generate_csrf())


@api_bp.get("/sessions")
def sessions() -> Response:
    """Upcoming sessions of the catalogue, with the catalogue's filters."""
    filters = queries.CatalogueFilters(
        topic=request.args.get("topic", "").strip(),
        language=request.args.get("language", ""),
        format=request.args.get("format", ""),
        date_from=date_arg("from"),
        date_to=date_arg("to"),
    )
    now = utcnow()
    found = queries.catalogue_sessions(filters, now)
    counts = queries.place_counts([s.id for s in found])
    return jsonify(sessions=[queries.api_session(s, counts[s.id], now) for s in found])


@api_bp.post("/sessions/<int:session_id>/registrations")
@login_required
def create_registration(session_id: int) -> tuple[Response, int]:
    info = db.get_or_404(InfoSession, session_id)
    registration = services.register(info, current_user)
    db.session.commit()
    return jsonify(id=registration.id, status=registration.status.value), 201


@api_bp.delete("/registrations/<int:registration_id>")
@login_required
def delete_registration(registration_id: int) -> Response:
    registration = db.get_or_404(Registration, registration_id)
    own = registration.user_id == current_user.id
    if not own and not is_staff():
        abort(404)
    services.cancel_registration(registration, by_staff=not own)
    db.session.commit()
    return jsonify(id=registration.id, status=registration.status.value)


@api_bp.get("/me/registrations")
@login_required
def my_registrations() -> Response:
    return jsonify(
        registrations=[
            queries.api_registration(r, _lang()) for r in queries.registrations_of(current_user)
        ]
    )
