"""Markdown to safe HTML for lessons and question texts (CommonMark + tables, sanitised by nh3)."""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
    "sup",
    "sub",
    "del",
    "abbr",
    "dl",
    "dt",
    "dd",
    "kbd",
}
INLINE_TAGS = {"strong", "em", "code", "a", "sup", "sub", "del", "abbr", "kbd", "br"}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "abbr": {"title"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML is not passed through: authors write Markdown, and nh3 removes anything else.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        "table"
    )


def _clean(html: str, tags: set[str]) -> str:
    return nh3.clean(
        html,
        tags=tags,
        attributes={k: v for k, v in ALLOWED_ATTRIBUTES.items() if k in tags},
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def render_markdown(text: str | None, shift_headings: int = 0) -> Markup:
    """Block Markdown (a lesson) as sanitised HTML; ``shift_headings`` demotes ``#`` levels."""
    html = _parser().render(text or "")
    if shift_headings:
        for level in range(6, 0, -1):
            new = min(level + shift_headings, 6)
            html = html.replace(f"<h{level}>", f"<h{new}>").replace(f"</h{level}>", f"</h{new}>")
    return Markup(_clean(html, ALLOWED_TAGS))  # noqa: S704  (sanitised by nh3 just above)


def render_inline(text: str | None) -> Markup:
    """One paragraph of Markdown (a question or an option) without the surrounding <p>."""
    html = _parser().renderInline(text or "")
    return Markup(_clean(html, INLINE_TAGS))  # noqa: S704  (sanitised by nh3 just above)
