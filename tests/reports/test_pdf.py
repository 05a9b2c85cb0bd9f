"""The faculty PDF: its text in three languages, tagging, the appendix, background rendering, CLI."""

from __future__ import annotations

import gc
import io
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from jinja2 import ChoiceLoader, DictLoader
from pypdf import PdfReader
from sqlalchemy import select
from weasyprint import HTML
from werkzeug.test import TestResponse

from ilms.accounts.models import User
from ilms.cohorts.models import CohortMember, MemberRole
from ilms.db import utcnow
from ilms.extensions import db
from ilms.pdf import collector_paused, render_pdf
from ilms.reports import documents, jobs, views
from ilms.reports.models import PdfStatus, ReportPdf
from ilms.reports.presentation import Numbers
from tests.conftest import CSRF_RE


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def student_names(app, cohort_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(User.name)
                .join(CohortMember, CohortMember.user_id == User.id)
                .where(CohortMember.cohort_id == cohort_id, CohortMember.role == MemberRole.STUDENT)
            )
        )


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_the_pdf_shows_the_cohort_s_numbers_in_each_language(app, synth, client_as, language):
    cohort = synth(students=30, items=8, seed=7)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id, locale=language)
    response = client.get(f"/reports/assignments/{cohort.assignment_id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    numbers = Numbers(language)
    assert numbers.percent(cohort.pre_mean) in text  # the pre-test mean, as the reader writes it
    assert numbers.percent(cohort.post_mean) in text
    assert f"SYN-{cohort.module_slug.split('-', 2)[2]}" in text  # the cohort's label on the cover
    assert "30" in text
    if language == "kk":
        assert any(letter in text for letter in "ӘәҒғҚқҢңӨөҰұҮүІі")  # Kazakh letters survive
    if language == "ru":
        assert any("а" <= letter <= "я" for letter in text)


def test_the_pdf_is_tagged_for_screen_readers(app, synth, client_as):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id, locale="kk")
    reader = PdfReader(
        io.BytesIO(client.get(f"/reports/assignments/{cohort.assignment_id}.pdf").data)
    )
    catalog = reader.trailer["/Root"]
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in catalog
    assert catalog["/Lang"] == "kk"
    assert reader.metadata.title.startswith("Assessment report") or reader.metadata.title


def test_the_appendix_lists_students_by_name_or_pseudonym(app, synth, client_as):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    names = student_names(app, cohort.cohort_id)
    with_names = pdf_text(
        client.get(f"/reports/assignments/{cohort.assignment_id}.pdf?appendix=names").data
    )
    assert "Appendix: each student" in with_names
    assert all(name in with_names for name in names[:3])
    pseudonymous = pdf_text(
        client.get(f"/reports/assignments/{cohort.assignment_id}.pdf?appendix=pseudonyms").data
    )
    assert "S-" in pseudonymous and not any(name in pseudonymous for name in names)
    plain = pdf_text(client.get(f"/reports/assignments/{cohort.assignment_id}.pdf").data)
    assert "Appendix: each student" not in plain
    assert (
        client.get(f"/reports/assignments/{cohort.assignment_id}.pdf?appendix=all").status_code
        == 400
    )


def test_no_appendix_when_figures_rest_on_too_few(app, synth, client_as):
    cohort = synth(students=3, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    response = client.get(f"/reports/assignments/{cohort.assignment_id}.pdf?appendix=names")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "Appendix: each student" not in text
    assert "withheld" in text
    assert not any(name in text for name in student_names(app, cohort.cohort_id))


def test_large_reports_render_in_the_background(app, synth, client_as, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_PDF_DIRECT_MAX_STUDENTS", 5)
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id, locale="ru")
    url = f"/reports/assignments/{cohort.assignment_id}"
    response = client.get(f"{url}.pdf")
    assert response.status_code == 302 and response.headers["Location"].endswith("#downloads")
    page = client.get(url).get_data(as_text=True)
    assert 'method="post"' in page and "/pdf" in page
    token = CSRF_RE.search(page).group(1)
    assert client.post(f"{url}/pdf", data={"appendix": "none"}).status_code == 400  # no token
    response = client.post(f"{url}/pdf", data={"appendix": "pseudonyms", "csrf_token": token})
    assert response.status_code == 302
    status_url = response.headers["Location"]
    status = client.get(status_url).get_data(as_text=True)
    assert "The PDF is ready." in status or "PDF" in status
    pdf_id = int(status_url.rstrip("/").rsplit("/", 1)[1])
    with app.app_context():
        pdf = db.session.get(ReportPdf, pdf_id)
        assert pdf.status == PdfStatus.DONE and pdf.locale == "ru"
    download = client.get(f"/reports/pdfs/{pdf_id}.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert client.get(f"/reports/pdfs/{pdf_id}/status.json").get_json()["ready"] is True
    again = client.post(f"{url}/pdf", data={"appendix": "pseudonyms", "csrf_token": token})
    assert again.headers["Location"] == status_url  # the finished PDF is reused
    response = client.get(f"{url}.pdf?appendix=pseudonyms")
    assert response.status_code == 200 and response.data == download.data
    stranger, _ = client_as("faculty")
    for other in (status_url, f"/reports/pdfs/{pdf_id}.pdf", f"/reports/pdfs/{pdf_id}/status.json"):
        assert stranger.get(other).status_code == 404


@dataclass
class PdfRequests:
    """A faculty member on the report page of a cohort too large for a PDF made at once."""

    client: FlaskClient
    url: str
    token: str

    def ask(self, appendix: str) -> TestResponse:
        return self.client.post(
            f"{self.url}/pdf", data={"appendix": appendix, "csrf_token": self.token}
        )


@pytest.fixture
def pdf_requests(app, synth, client_as, monkeypatch) -> PdfRequests:
    monkeypatch.setitem(app.config, "REPORT_PDF_DIRECT_MAX_STUDENTS", 5)
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    url = f"/reports/assignments/{cohort.assignment_id}"
    token = CSRF_RE.search(client.get(url).get_data(as_text=True)).group(1)
    return PdfRequests(client, url, token)


def test_a_pdf_waiting_for_its_job_shows_its_progress(app, pdf_requests, monkeypatch):
    queued: list[tuple] = []
    monkeypatch.setattr(views, "enqueue", lambda fn, *args: queued.append((fn, *args)))
    client = pdf_requests.client
    status_url = pdf_requests.ask("none").headers["Location"]
    assert [call[0] for call in queued] == [jobs.render_report_pdf]
    waiting = client.get(status_url).get_data(as_text=True)
    assert "being prepared" in waiting and "<progress" in waiting and "report-status.js" in waiting
    pdf_id = queued[0][1]
    assert client.get(f"/reports/pdfs/{pdf_id}.pdf").status_code == 404
    assert client.get(f"/reports/pdfs/{pdf_id}/status.json").get_json()["ready"] is False
    with app.app_context():
        jobs.render_report_pdf(pdf_id)
        jobs.render_report_pdf(pdf_id)  # a second run of the same job does nothing
    assert "The PDF is ready." in client.get(status_url).get_data(as_text=True)


def test_a_failed_pdf_says_so_and_can_be_tried_again(app, pdf_requests, monkeypatch):
    client = pdf_requests.client
    snapshot_pdf = documents.snapshot_pdf

    def broken(*_args, **_kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(documents, "snapshot_pdf", broken)
    status_url = pdf_requests.ask("pseudonyms").headers["Location"]
    failed_id = int(status_url.rsplit("/", 1)[1])
    page = client.get(status_url).get_data(as_text=True)
    assert "could not be made" in page and "Try again" in page
    assert "report-status.js" not in page  # nothing left to wait for
    assert 'name="appendix" value="pseudonyms"' in page  # tried again as it was asked for
    status = client.get(f"{status_url}/status.json").get_json()
    assert status["failed"] is True and status["ready"] is False
    assert status["message"] == "The PDF could not be made."
    with app.app_context():
        failed = db.session.get(ReportPdf, failed_id)
        assert failed.status == PdfStatus.FAILED and failed.error == "RuntimeError"

    monkeypatch.setattr(documents, "snapshot_pdf", snapshot_pdf)
    retried = pdf_requests.ask("pseudonyms")
    assert retried.headers["Location"] != status_url  # a new PDF, not the failed one again
    assert "The PDF is ready." in client.get(retried.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ReportPdf, failed_id) is None  # the failed one is cleared away


def test_a_pdf_whose_job_died_counts_as_failed(app, pdf_requests, monkeypatch):
    """A PDF left queued or rendering (the worker was killed) is shown as failed after a while."""
    queued: list[tuple] = []
    monkeypatch.setattr(views, "enqueue", lambda fn, *args: queued.append((fn, *args)))
    client = pdf_requests.client
    status_url = pdf_requests.ask("none").headers["Location"]
    assert "being prepared" in client.get(status_url).get_data(as_text=True)
    again = pdf_requests.ask("none")
    assert again.headers["Location"] == status_url and len(queued) == 1  # still waiting for it
    with app.app_context():
        pdf = db.session.get(ReportPdf, queued[0][1])
        pdf.status = PdfStatus.RENDERING
        pdf.created_at = utcnow() - documents.STUCK_AFTER - timedelta(seconds=1)
        db.session.commit()
    assert "could not be made" in client.get(status_url).get_data(as_text=True)
    assert client.get(f"{status_url}/status.json").get_json()["failed"] is True
    retried = pdf_requests.ask("none")
    assert retried.headers["Location"] != status_url and len(queued) == 2


def test_the_report_command_writes_a_pdf(app, synth, tmp_path):
    cohort = synth(students=12, items=4)
    out = tmp_path / "report.pdf"
    result = app.test_cli_runner().invoke(
        args=[
            "ilms",
            "report",
            "--cohort",
            str(cohort.cohort_id),
            "--format",
            "pdf",
            "--out",
            str(out),
            "--locale",
            "kk",
        ]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert Numbers("kk").percent(cohort.pre_mean) in text


def test_the_analyze_command_writes_a_pdf(app, tmp_path):
    rows = ["id,q1,q2,q3"] + [f"s{i},{i % 2},{(i // 2) % 2},1" for i in range(12)]
    post = ["id,q1,q2,q3"] + [f"s{i},1,{i % 2},1" for i in range(12)]
    (tmp_path / "pre.csv").write_text("\n".join(rows), encoding="utf-8")
    (tmp_path / "post.csv").write_text("\n".join(post), encoding="utf-8")
    out = tmp_path / "report.pdf"
    result = app.test_cli_runner().invoke(
        args=[
            "ilms",
            "analyze",
            str(tmp_path / "pre.csv"),
            "--post",
            str(tmp_path / "post.csv"),
            "--format",
            "pdf",
            "--out",
            str(out),
            "--locale",
            "ru",
        ]
    )
    assert result.exit_code == 0, result.output
    text = pdf_text(out.read_bytes())
    assert "pre.csv" in text
    assert Numbers("ru").percent(100 * (6 + 6 + 12) / 36) in text  # the pre-test mean


TINY = (
    '<!doctype html><html lang="en"><head><title>Tiny</title></head><body><p>Hi</p></body></html>'
)


@pytest.fixture
def collector_on():
    """The cycle collector on before the test and again after it, whatever the test did."""
    gc.enable()
    yield
    gc.enable()


def test_rendering_pauses_the_cycle_collector_and_switches_it_back_on(
    app, monkeypatch, collector_on
):
    monkeypatch.setattr(
        app.jinja_env, "loader", ChoiceLoader([DictLoader({"tiny.html": TINY}), app.jinja_loader])
    )
    seen: list[bool] = []
    write_pdf = HTML.write_pdf

    def spy(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return write_pdf(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", spy)
    with app.app_context():
        assert render_pdf("tiny.html", {}, locale="en").startswith(b"%PDF")
    assert seen == [False] and gc.isenabled()

    def broken(self, *args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(HTML, "write_pdf", broken)
    with app.app_context(), pytest.raises(RuntimeError):
        render_pdf("tiny.html", {}, locale="en")
    assert gc.isenabled()


def test_overlapping_renders_share_one_pause(collector_on):
    first, second = ExitStack(), ExitStack()
    first.enter_context(collector_paused())
    second.enter_context(collector_paused())
    first.close()  # the first render ends while the second still runs
    assert not gc.isenabled()
    second.close()
    assert gc.isenabled()


def test_a_collector_switched_off_elsewhere_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
