"""The shared PDF renderer: no file:// or network fetches, DejaVu fonts, PDF/UA tagging."""

from __future__ import annotations

import io

import pytest
from jinja2 import ChoiceLoader, DictLoader
from pypdf import PdfReader

from ilms.pdf import BASE_URL, LocalFetcher, RefusedURL, fetcher, render_pdf

PROBE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>Probe</title>
<link rel="stylesheet" href="{{ url_for('static', filename='css/pdf.css') }}">
<link rel="stylesheet" href="http://example.invalid/remote.css">
</head><body><h1>{{ text }}</h1>
<img src="file:///etc/passwd" alt="">
<img src="https://example.invalid/tracker.png" alt="">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
</body></html>"""


@pytest.fixture
def probe_template(app, monkeypatch):
    loader = ChoiceLoader([DictLoader({"probe_pdf.html": PROBE}), app.jinja_env.loader])
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    return "probe_pdf.html"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.invalid/x.css",
        "https://example.invalid/x.png",
        f"{BASE_URL}static/../../../../etc/passwd",
        "file:///usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    ],
)
def test_the_fetcher_refuses_files_and_the_network(app, url):
    with app.app_context(), pytest.raises(RefusedURL):
        fetcher().fetch(url)


def test_the_fetcher_serves_static_files_data_and_the_fonts(app):
    with app.app_context():
        serve = fetcher()
        css = serve.fetch(f"{BASE_URL}static/css/pdf.css")
        assert b"@page" in css.read()
        assert serve.fetch("data:text/plain,hello").read() == b"hello"
        font = serve.fetch("file:///usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        assert len(font.read()) > 100_000


def test_a_rendered_pdf_is_tagged_has_the_text_and_fetched_nothing_else(
    app, probe_template, monkeypatch
):
    refused: list[str] = []
    fetch = LocalFetcher.fetch

    def watched(self, url, headers=None):
        try:
            return fetch(self, url, headers)
        except RefusedURL:
            refused.append(url)
            raise

    monkeypatch.setattr(LocalFetcher, "fetch", watched)
    text = "Қатысу туралы сертификат: әғқңөұүһі"
    with app.app_context():
        pdf = render_pdf(probe_template, {"text": text, "lang": "kk"}, locale="kk")
    assert sorted(refused) == [
        "file:///etc/passwd",
        "http://example.invalid/remote.css",
        "https://example.invalid/tracker.png",
    ]
    reader = PdfReader(io.BytesIO(pdf))
    assert text in reader.pages[0].extract_text()
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "kk" and root["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in root
    assert reader.metadata.title == "Probe"
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert fonts and all("ILMS-Sans" in name for name in fonts), fonts  # the embedded DejaVu Sans
