"""The report pages in Chromium: axe-core in en, ru and kk on the cohort's reports, an assignment's
dashboard (also suppressed, for a small cohort), a module's report across cohorts, and the pages
of a report and a PDF whose background job failed.

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
from ilms.cohorts.models import Assignment, Cohort, MemberRole
from ilms.extensions import db
from ilms.permissions import Role
from ilms.reports import snapshots
from ilms.reports.models import Appendix, PdfStatus, ReportPdf
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


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_failed_report_and_pdf_offer_to_try_again(
    page: Page, app: Flask, world: World, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REPORT_SYNC_MAX_STUDENTS", 0)  # first reports: by a job
    with app.app_context():
        failing = synth_cohort(6, 3, seed=23)
        cohorts.add_member(
            db.session.get(Cohort, failing.cohort_id),
            db.session.get(User, world.librarian.id),
            MemberRole.LIBRARIAN,
        )
        snapshot = snapshots.assignment_snapshot(db.session.get(Assignment, failing.assignment_id))
        snapshot.error = "RuntimeError"  # as the job records it
        db.session.commit()
    log_in(page, world.librarian)
    page.goto(f"/reports/assignments/{failing.assignment_id}")
    assert page.locator("[role=alert]").count() == 1
    assert page.locator("[data-report-status]").count() == 0  # nothing left to wait for
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("form[action$='/retry'] button").click()
    assert page.locator("svg[role=img]").count() >= 2  # computed again (jobs run at once here)

    with app.app_context():
        computed = snapshots.find_assignment_snapshot(
            db.session.get(Assignment, failing.assignment_id)
        )
        failed = ReportPdf(
            snapshot_id=computed.id,
            locale=language,
            appendix=Appendix.NONE,
            status=PdfStatus.FAILED,
            snapshot_time=computed.computed_at,
            error="RuntimeError",
        )
        db.session.add(failed)
        db.session.commit()
        pdf_id = failed.id
    page.goto(f"/reports/pdfs/{pdf_id}")
    assert page.locator("[role=alert]").count() == 1
    assert page.locator("form[action$='/pdf'] input[name=appendix]").get_attribute("value") == (
        "none"
    )
    assert_accessible(page)
