"""Log-in, log-out, sessions, CSRF, throttling and local redirects, through the web client."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import select

from ilms.accounts.models import AuditEvent
from ilms.extensions import db
from tests.conftest import PASSWORD, csrf_token_from, login, unique


def test_each_role_lands_on_its_home_page(client, make_user):
    for role, home in [
        ("student", "/student"),
        ("librarian", "/librarian"),
        ("faculty", "/faculty"),
        ("admin", "/admin/"),
    ]:
        fresh = client.application.test_client()
        user = make_user(role)
        response = login(fresh, user)
        assert response.status_code == 302
        response = fresh.get("/", follow_redirects=False)
        assert response.headers["Location"].endswith(home)
        page = fresh.get(home)
        assert page.status_code == 200
        assert user.name in page.get_data(as_text=True)


def test_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user("student")
    response = login(client, user, "not the password")
    assert response.status_code == 401
    assert "The email address or password is not correct." in response.get_data(as_text=True)
    assert client.get("/student").status_code == 302  # still anonymous


def test_email_is_case_insensitive(client, make_user):
    user = make_user("student", email=f"{unique('Mixed')}@Example.EDU")
    assert user.email == user.email.lower()
    assert login(client, user.email.upper()).status_code == 302


def test_deactivated_account_cannot_log_in(client, make_user, app):
    user = make_user("student")
    with app.app_context():
        from ilms.accounts.models import User

        db.session.get(User, user.id).active = False
        db.session.commit()
    assert login(client, user).status_code == 401


def test_csrf_token_is_required_for_forms(client, make_user):
    user = make_user("student")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400


def test_csrf_header_is_required_for_json(client, login_as):
    login_as("student")
    response = client.post("/logout", json={})
    assert response.status_code == 400
    assert response.is_json is False or "error" in response.get_json()
    token = csrf_token_from(client, "/account")
    response = client.post("/logout", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_logout_invalidates_the_session_on_the_server(app, make_user):
    user = make_user("student")
    browser = app.test_client()
    assert login(browser, user).status_code == 302
    stolen = browser.get_cookie("ilms_session").value
    token = csrf_token_from(browser, "/account")
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302

    replay = app.test_client()
    replay.set_cookie("ilms_session", stolen)
    response = replay.get("/student")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_session_cookie_changes_at_log_in(app, make_user):
    user = make_user("student")
    browser = app.test_client()
    browser.get("/login")
    before = browser.get_cookie("ilms_session").value
    login(browser, user)
    after = browser.get_cookie("ilms_session").value
    assert before != after
    cookie = browser.get_cookie("ilms_session")
    assert cookie.http_only


def test_password_change_logs_out_other_devices(app, make_user):
    user = make_user("student")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    token = csrf_token_from(laptop, "/account")
    response = laptop.post(
        "/account",
        data={
            "csrf_token": token,
            "password-current_password": PASSWORD,
            "password-password": "a brand new passphrase",
            "password-confirm": "a brand new passphrase",
            "password-submit": "1",
        },
    )
    assert response.status_code == 302
    assert laptop.get("/student").status_code == 200
    assert phone.get("/student").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_redirect_after_log_in_is_local_only(client, make_user, target):
    user = make_user("student")
    token = csrf_token_from(client, "/login?next=" + urllib.parse.quote(target))
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/student"


def test_redirect_after_log_in_follows_local_next(client, make_user):
    user = make_user("student")
    token = csrf_token_from(client)
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": "/account"},
    )
    assert response.headers["Location"] == "/account"


def test_login_events_are_audited(client, make_user, app):
    user = make_user("student")
    login(client, user, "wrong password!")
    login(client, user)
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent.event)
            .where(AuditEvent.target_user_id == user.id)
            .order_by(AuditEvent.id)
        ).all()
    assert events[-2:] == ["login.failed", "login.succeeded"]


def _post_login(base: str, email: str, password: str) -> int:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    from tests.conftest import CSRF_RE

    token = CSRF_RE.search(page).group(1)
    data = urllib.parse.urlencode(
        {"email": email, "password": password, "csrf_token": token}
    ).encode()
    request = urllib.request.Request(f"{base}/login", data=data)
    try:
        with opener.open(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_parallel_wrong_passwords_are_all_counted(live_server, make_user, app):
    """20 simultaneous wrong passwords: exactly the allowed number are checked, the rest get 429."""
    user = make_user("student")
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    results: list[int] = []
    barrier = threading.Barrier(20)

    def attempt() -> None:
        barrier.wait()
        results.append(_post_login(live_server, user.email, "wrong password"))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(401) == limit
    assert results.count(429) == 20 - limit
    # Even the right password is refused now, until the window passes.
    assert _post_login(live_server, user.email, PASSWORD) == 429


def test_throttled_page_is_translated(client, make_user, app):
    user = make_user("student")
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    for _ in range(limit):
        login(client, user, "wrong password", REMOTE_ADDR="10.9.9.9")
    client.set_cookie("ilms_session", "", expires=0)
    token = csrf_token_from(client)
    response = client.post(
        "/login",
        data={"email": user.email, "password": "x", "csrf_token": token},
        headers={"Accept-Language": "ru"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 429
    assert "Слишком много попыток входа" in response.get_data(as_text=True)


def test_address_limit_applies_across_accounts(client, make_user, app):
    address = "10.77.0.1"
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split()[0])
    statuses = [
        login(client, f"{unique('nobody')}@example.edu", "wrong", REMOTE_ADDR=address).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [401] * limit
    assert statuses[-1] == 429


def test_successful_logins_from_one_address_are_not_limited(app, make_user):
    """A computer lab behind one address: many students log in without being throttled."""
    limit = int(app.config["LOGIN_LIMIT_PER_ADDRESS"].split()[0])
    for _ in range(limit + 2):
        browser = app.test_client()
        assert login(browser, make_user("student"), REMOTE_ADDR="10.88.0.1").status_code == 302


def test_profile_saves_language_and_time_zone(client, login_as, app):
    user = login_as("student")
    token = csrf_token_from(client, "/account")
    response = client.post(
        "/account",
        data={
            "csrf_token": token,
            "profile-name": "Dana Renamed",
            "profile-locale": "kk",
            "profile-timezone": "Asia/Aqtobe",
            "profile-submit": "1",
        },
    )
    assert response.status_code == 302
    page = client.get("/account", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="kk"' in page  # the saved preference wins over the browser
    with app.app_context():
        from ilms.accounts.models import User

        saved = db.session.get(User, user.id)
        assert (saved.name, saved.locale, saved.timezone) == ("Dana Renamed", "kk", "Asia/Aqtobe")


def test_profile_refuses_an_unknown_time_zone(client, login_as):
    login_as("student")
    token = csrf_token_from(client, "/account")
    response = client.post(
        "/account",
        data={
            "csrf_token": token,
            "profile-name": "X",
            "profile-locale": "",
            "profile-timezone": "Mars/Olympus",
            "profile-submit": "1",
        },
    )
    assert response.status_code == 200
    assert 'class="error-summary"' in response.get_data(as_text=True)
