"""The landing page, each role's home page, and /healthz and /readyz."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, render_template, url_for
from flask_login import current_user

from ilms.delivery.views import student_dashboard
from ilms.extensions import csrf
from ilms.home import services
from ilms.permissions import HOME_PRIORITY, Role, require_role

bp = Blueprint("home", __name__)

HOME_ENDPOINTS = {
    Role.ADMIN: "home.admin",
    Role.LIBRARIAN: "home.librarian",
    Role.FACULTY: "home.faculty",
    Role.STUDENT: "home.student",
}


def home_url_for(user) -> str:  # type: ignore[no-untyped-def]
    for role in HOME_PRIORITY:
        if user.has_role(role):
            return url_for(HOME_ENDPOINTS[role])
    return url_for("auth.account")


@bp.get("/")
def index() -> Response | str:
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    return render_template("home/landing.html")


@bp.get("/student")
@require_role(Role.STUDENT)
def student() -> str:
    return render_template("home/student.html", **student_dashboard())


@bp.get("/librarian")
@require_role(Role.LIBRARIAN, Role.ADMIN)
def librarian() -> str:
    return render_template("home/librarian.html")


@bp.get("/faculty")
@require_role(Role.FACULTY, Role.ADMIN)
def faculty() -> str:
    return render_template("home/faculty.html")


@bp.get("/admin/")
@require_role(Role.ADMIN)
def admin() -> str:
    return render_template("home/admin.html", **services.admin_overview())


@bp.get("/healthz")
@csrf.exempt
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    ready, checks = services.readiness()
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
