"""Administrators register platforms and deployments (pages and command) and see what to enter
in Canvas and Moodle."""

from __future__ import annotations

import json
import re
from html import unescape

from sqlalchemy import select

from ilms.extensions import db
from ilms.lti.models import LtiDeployment, LtiKey, LtiPlatform
from tests.conftest import unique

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def token(client, path):
    return CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)


def platform_by_issuer(app, issuer):
    with app.app_context():
        row = db.session.scalar(select(LtiPlatform).where(LtiPlatform.issuer == issuer))
        if row is not None:
            _ = row.deployment_ids
            db.session.expunge_all()
        return row


def registration(issuer, **changes):
    data = {
        "name": "University Moodle",
        "issuer": issuer,
        "client_id": "client-9",
        "auth_login_url": f"{issuer}/mod/lti/auth.php",
        "token_url": f"{issuer}/mod/lti/token.php",
        "jwks_url": f"{issuer}/mod/lti/certs.php",
        "token_audience": "",
        "frame_origins": "",
        "deployment_ids": "3\n4\n",
    }
    data.update(changes)
    return data


def test_only_admins_manage_platforms(client, login_as):
    login_as("faculty")
    assert client.get("/admin/lti/").status_code == 403
    assert client.get("/admin/lti/setup").status_code == 403


def test_admin_registers_edits_and_disables_a_platform(app, client, login_as):
    login_as("admin")
    issuer = f"https://moodle-{unique('m')}.example.edu"
    response = client.post(
        "/admin/lti/platforms/new",
        data={**registration(issuer), "csrf_token": token(client, "/admin/lti/platforms/new")},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    platform = platform_by_issuer(app, issuer)
    assert platform.deployment_ids == ["3", "4"]
    assert platform.frame_origins == issuer
    page = client.get("/admin/lti/").get_data(as_text=True)
    assert "University Moodle" in page

    edit = f"/admin/lti/platforms/{platform.id}"
    changed = registration(
        issuer, name="Moodle", frame_origins="https://moodle.example.edu\nhttps://*.example.edu"
    )
    del changed["deployment_ids"]
    response = client.post(edit, data={**changed, "csrf_token": token(client, edit)})
    assert response.status_code == 302
    platform = platform_by_issuer(app, issuer)
    assert platform.name == "Moodle"
    assert platform.frame_origins == "https://moodle.example.edu https://*.example.edu"

    csrf = token(client, edit)
    client.post(f"{edit}/deployments", data={"deployment_id": "5", "csrf_token": csrf})
    with app.app_context():
        deployment = db.session.scalar(
            select(LtiDeployment).where(
                LtiDeployment.platform_id == platform.id, LtiDeployment.deployment_id == "3"
            )
        )
    client.post(f"{edit}/deployments/{deployment.id}/delete", data={"csrf_token": csrf})
    assert platform_by_issuer(app, issuer).deployment_ids == ["4", "5"]
    client.post(f"{edit}/active", data={"csrf_token": csrf})
    assert platform_by_issuer(app, issuer).active is False


def test_registration_errors_say_what_to_fix(app, client, login_as):
    login_as("admin")
    issuer = f"https://moodle-{unique('m')}.example.edu"
    csrf = token(client, "/admin/lti/platforms/new")
    bad = registration(issuer, jwks_url="ftp://x", frame_origins="https://a.edu; script-src *")
    response = client.post("/admin/lti/platforms/new", data={**bad, "csrf_token": csrf})
    assert response.status_code == 400
    client.post("/admin/lti/platforms/new", data={**registration(issuer), "csrf_token": csrf})
    again = client.post(
        "/admin/lti/platforms/new", data={**registration(issuer), "csrf_token": csrf}
    )
    assert again.status_code == 400
    assert "already registered" in again.get_data(as_text=True)
    page = client.post(
        "/admin/lti/platforms/new",
        data={**registration(issuer + "x", frame_origins="'self'"), "csrf_token": csrf},
    )
    assert "is not a web origin" in unescape(page.get_data(as_text=True))


def test_the_setup_page_shows_what_to_paste(app, client, login_as):
    login_as("admin")
    page = client.get("/admin/lti/setup").get_data(as_text=True)
    for url in ("/lti/login", "/lti/launch", "/lti/jwks"):
        assert f'value="http://localhost{url}"' in page
    assert "lti-copy.js" in page and "<script>" not in page
    config = json.loads(
        unescape(page.split('id="canvas-json"', 1)[1].split(">", 1)[1].split("</textarea>")[0])
    )
    assert config["oidc_initiation_url"] == "http://localhost/lti/login"
    assert config["public_jwk_url"] == "http://localhost/lti/jwks"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in config["scopes"]
    placements = config["extensions"][0]["settings"]["placements"]
    assert {p["message_type"] for p in placements} == {"LtiDeepLinkingRequest"}
    assert "Moodle" in page and "Canvas" in page


def test_admin_rotates_the_key(app, client, login_as):
    login_as("admin")
    with app.app_context():
        before = db.session.scalar(select(LtiKey.kid).where(LtiKey.retired_at.is_(None)))
    client.post("/admin/lti/keys/rotate", data={"csrf_token": token(client, "/admin/lti/setup")})
    with app.app_context():
        after = db.session.scalar(select(LtiKey.kid).where(LtiKey.retired_at.is_(None)))
    assert after != before


def test_cli_adds_a_platform_and_rotates_the_key(app):
    runner = app.test_cli_runner()
    issuer = f"https://canvas-{unique('c')}.example.edu"
    result = runner.invoke(
        args=[
            "ilms",
            "lti",
            "add-platform",
            "--issuer",
            issuer,
            "--client-id",
            "10000000000001",
            "--deployment-id",
            "d1",
            "--deployment-id",
            "d2",
            "--auth-login-url",
            f"{issuer}/api/lti/authorize_redirect",
            "--token-url",
            f"{issuer}/login/oauth2/token",
            "--jwks-url",
            f"{issuer}/api/lti/security/jwks",
            "--frame-origin",
            "https://university.instructure.com",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "registered platform" in result.output
    platform = platform_by_issuer(app, issuer)
    assert platform.deployment_ids == ["d1", "d2"]
    assert platform.frame_origins == "https://university.instructure.com"

    again = runner.invoke(
        args=[
            "ilms",
            "lti",
            "add-platform",
            "--issuer",
            issuer,
            "--client-id",
            "10000000000001",
            "--auth-login-url",
            f"{issuer}/a",
            "--token-url",
            f"{issuer}/t",
            "--jwks-url",
            f"{issuer}/j",
        ]
    )
    assert again.exit_code != 0
    assert "already registered" in again.output

    rotated = runner.invoke(args=["ilms", "lti", "rotate-key"])
    assert rotated.exit_code == 0 and "new signing key ilms-" in rotated.output
