"""Module pages for librarians, and the modules API."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_login import current_user, login_required

from ilms.authoring import queries

api_bp = Blueprint("modules_api", __name__, url_prefix="/api/v1")


@api_bp.get("/modules")
@login_required
def list_modules() -> Response:
    return jsonify(modules=queries.modules_listing(current_user))
