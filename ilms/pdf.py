"""PDFs (certificates, reports) rendered from Jinja templates with WeasyPrint, tagged as PDF/UA-1.

The URL fetcher is the security boundary: a template may only pull in ``data:`` URLs, the app's own
static files (``url_for('static', ...)``) and the DejaVu Sans font files, which have every Kazakh
and Russian letter. ``file://`` URLs and the network are refused, whatever the template says.
"""

from __future__ import annotations

import gc
import logging
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

log = logging.getLogger(__name__)

#: The origin relative URLs in a PDF template resolve against; it exists only for the fetcher.
BASE_URL = "https://ilms.invalid/"
FONT_FAMILY = "ILMS Sans"
#: (weight, style) -> the DejaVu Sans file
FONT_FILES = {
    ("normal", "normal"): "DejaVuSans.ttf",
    ("bold", "normal"): "DejaVuSans-Bold.ttf",
    ("normal", "italic"): "DejaVuSans-Oblique.ttf",
    ("bold", "italic"): "DejaVuSans-BoldOblique.ttf",
}
PDF_VARIANT = "pdf/ua-1"


class RefusedURL(ValueError):
    """A template asked for a resource outside what PDFs may use."""


class LocalFetcher(URLFetcher):
    """Serves ``data:`` URLs, the static folder and the allowed font files; refuses the rest."""

    def __init__(self, static_folder: Path, static_url_path: str, fonts: set[Path]) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False)
        self.static_folder = static_folder
        self.static_prefix = BASE_URL.rstrip("/") + static_url_path.rstrip("/") + "/"
        self.fonts = fonts

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith(self.static_prefix):
            relative = unquote(urlsplit(url).path)[len(urlsplit(self.static_prefix).path) :]
            found = safe_join(str(self.static_folder), relative)
            if found and Path(found).is_file():
                return _file_response(url, Path(found))
        elif url.startswith("file:"):
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if path in self.fonts:
                return _file_response(url, path)
        log.warning("PDF rendering refused to fetch %s", url[:200])
        raise RefusedURL(f"refused to fetch {url[:200]}")


def _file_response(url: str, path: Path) -> URLFetcherResponse:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})


def _font_paths() -> dict[tuple[str, str], Path]:
    folder = Path(current_app.config["PDF_FONT_DIR"])
    paths = {key: (folder / name).resolve() for key, name in FONT_FILES.items()}
    return {key: path for key, path in paths.items() if path.is_file()}


def _font_css(fonts: dict[tuple[str, str], Path]) -> str:
    rules = [
        f'@font-face {{ font-family: "{FONT_FAMILY}"; font-weight: {weight}; '
        f'font-style: {style}; src: url("{path.as_uri()}"); }}'
        for (weight, style), path in fonts.items()
    ]
    rules.append(f'html {{ font-family: "{FONT_FAMILY}", "DejaVu Sans", sans-serif; }}')
    return "\n".join(rules)


def fetcher() -> LocalFetcher:
    app = current_app
    return LocalFetcher(
        Path(app.static_folder or ""),
        app.static_url_path or "/static",
        set(_font_paths().values()),
    )


def _template_context() -> AbstractContextManager[Any]:
    """A request context for ``url_for`` when rendering outside a request (in a job)."""
    if has_request_context():
        return nullcontext()
    return current_app.test_request_context(base_url=current_app.config["BASE_URL"])


class _CollectorPause:
    """Keeps Python's cycle collector off while at least one PDF renders in the process.

    A render allocates hundreds of thousands of objects (boxes, styles, text layouts); the count
    alone sets off full collections, each of which walks every object of the process (the app, a
    job's loaded reports) to find little: most of the render's objects are freed by reference
    counting, and the ones in cycles (about 70,000 for the faculty PDF) are collected once, when
    the collector is back on. In the benchmark's process this saves the faculty PDF about 15% of
    its time, with the same peak memory (docs/performance.md). Renders in several threads share
    one pause; the collector is switched back on when the last one ends, if it was on before.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._renders = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._renders == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._renders += 1
        try:
            yield
        finally:
            with self._lock:
                self._renders -= 1
                if self._renders == 0 and self._resume:
                    gc.enable()


collector_paused = _CollectorPause()


def render_pdf(template_name: str, context: dict[str, Any], *, locale: str) -> bytes:
    """Render the Jinja template ``template_name`` with ``context`` in ``locale`` as a PDF.

    The template should set ``<html lang>`` and a ``<title>``: PDF/UA takes both from it.
    """
    with _template_context(), force_locale(locale):
        html = render_template(template_name, **context)
    url_fetcher = fetcher()
    with collector_paused():
        font_config = FontConfiguration()
        fonts = CSS(
            string=_font_css(_font_paths()),
            font_config=font_config,
            url_fetcher=url_fetcher,
            base_url=BASE_URL,
        )
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=url_fetcher)
        return document.write_pdf(
            stylesheets=[fonts], font_config=font_config, pdf_variant=PDF_VARIANT
        )
