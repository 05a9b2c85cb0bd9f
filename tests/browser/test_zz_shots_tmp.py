import pytest
from tests.browser.conftest import log_in
from ilms.permissions import Role

@pytest.mark.parametrize("language", ["en", "kk"])
def test_shots(page, make_user, language):
    page.goto("/login")
    page.screenshot(path=f"/tmp/ilms-login-{language}.png")
    log_in(page, make_user(Role.ADMIN, name="Admin Person"))
    page.goto("/admin/users")
    page.screenshot(path=f"/tmp/ilms-users-{language}.png")
    page.goto("/admin/users/new")
    page.screenshot(path=f"/tmp/ilms-new-{language}.png", full_page=True)
