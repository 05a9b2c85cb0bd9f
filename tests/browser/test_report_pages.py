"""The report pages in Chromium: axe-core in en, ru and kk on the cohort's reports, an assignment's
dashboard (also suppressed, for a small cohort) and a module's report across cohorts.

Nothing here reads translated wording: only structure, status codes and accessibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page

from ilms.accounts import services as account_services
from ilms.accounts.models import User
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Cohort, MemberRole
from ilms.extensions import db
from ilms.permissions import Role
from ilms.reports.synth import SynthCohort, synth_cohort
from tests.browser.conftest import LANGUAGES, assert_accessible, log_in
from tests.conftest import unique


@dataclass(frozen=True)
class World:
    large: SynthCohort
    small: SynthCohort
    librarian: User


@pytest.fixture(scope="module")
def world(app: Flask, password_hash: str) -> World:
    with app.app_context():
        large = synth_cohort(40, 8, seed=21)
        small = synth_cohort(3, 4, seed=22)
        librarian = account_services.create_user(
            f"{unique('librarian')}@example.edu",
            "Lena Reports",
            [Role.LIBRARIAN],
            password_hash=password_hash,
        )
        for cohort in (large, small):
            cohorts.add_member(
                db.session.get(Cohort, cohort.cohort_id), librarian, MemberRole.LIBRARIAN
            )
        db.session.commit()
        db.session.refresh(librarian)
        _ = librarian.roles
        db.session.expunge(librarian)
        return World(large, small, librarian)


def paths(world: World) -> dict[str, str]:
    return {
        "index": "/reports/",
        "cohort": f"/reports/cohorts/{world.large.cohort_id}",
        "dashboard": f"/reports/assignments/{world.large.assignment_id}",
        "suppressed": f"/reports/assignments/{world.small.assignment_id}",
        "module": f"/reports/modules/{world.large.module_slug}",
    }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ["index", "cohort", "dashboard", "suppressed", "module"])
def test_report_pages_are_accessible(page: Page, world: World, language: str, name: str) -> None:
    log_in(page, world.librarian)
    path = paths(world)[name]
    response = page.goto(path)
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )
    assert urlsplit(page.url).path == urlsplit(path).path
    assert page.locator("html").get_attribute("lang") == language
    if name in ("dashboard", "module"):
        assert page.locator("svg[role=img]").count() >= 4
        assert page.locator("table caption").count() >= 8
    assert_accessible(page)


def test_charts_fit_a_phone_screen(page: Page, world: World) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, world.librarian)
    page.goto(paths(world)["dashboard"])
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1  # wide tables scroll inside their own region, charts shrink
