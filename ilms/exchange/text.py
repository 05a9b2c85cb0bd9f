"""Texts between formats: the HTML, plain text or Markdown of other tools into the inline Markdown
of ILMS questions, and ILMS Markdown into XHTML for QTI.

HTML is first sanitised by nh3 (scripts, styles, event handlers and unsafe links go), then written
as Markdown. What a question cannot show (images, audio, video, embedded pages, formulas) is
reported, never silently dropped: the reader decides whether the item can be imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote
from xml.etree.ElementTree import Element, SubElement

import nh3
from flask_babel import gettext as _

from ilms.markdown import render_inline

#: Where a blank of a fill-in-the-blanks text goes: the reader puts ``BLANK_OPEN n BLANK_CLOSE``
#: into the source text, and it comes out of the conversion untouched, to become ``[[n]]``.
BLANK_OPEN, BLANK_CLOSE = "\ue000", "\ue001"
_BLANK_RE = re.compile(f"{BLANK_OPEN}([0-9]+){BLANK_CLOSE}")
#: A line break inside a converted text, until it is written as a Markdown hard break.
_BREAK = "\ue002"
#: Private-use characters never belong in a question; readers use them as markers.
_PRIVATE_RE = re.compile("[\ue000-\uf8ff]")
#: Elements whose content a question cannot show at all.
EMBEDS = {"video", "audio", "iframe", "object", "embed", "math", "svg", "canvas", "applet"}
_KEPT_TAGS = {
    "p", "div", "span", "br", "strong", "b", "em", "i", "u", "code", "kbd", "samp", "tt", "a",
    "sup", "sub", "s", "del", "ul", "ol", "li", "pre", "blockquote", "h1", "h2", "h3", "h4",
    "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "dl", "dt", "dd",
    "hr", "center", "font", "small", "big", "abbr", "cite", "q", "mark", "section", "article",
}  # fmt: skip
_BLOCKS = {
    "p", "div", "ul", "ol", "li", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table",
    "tr", "caption", "dl", "dt", "dd", "hr", "center", "section", "article",
}  # fmt: skip
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*", "cite": "*"}
_CODE_TAGS = {"code", "kbd", "samp", "tt"}
#: Elements removed together with their content when HTML is sanitised.
_DROPPED = {"script", "style", "title", "textarea", "select", "noscript"}
_VOID = {"br", "hr", "img", "source", "embed", "wbr", "input", "col", "area", "param", "track"}
#: Deeper nesting than this is read as plain text: it keeps the conversion's recursion bounded.
MAX_DEPTH = 64
URL_SCHEMES = {"http", "https", "mailto"}


@dataclass
class Converted:
    """A text as inline Markdown, with what it showed that a question cannot."""

    text: str
    media: list[str] = field(default_factory=list)  #: image and sound sources, as written
    embeds: list[str] = field(default_factory=list)  #: video, iframe, math ... element names
    notes: list[str] = field(default_factory=list)


def convert(raw: str | None, fmt: str = "html", *, blanks: bool = False) -> Converted:
    """Inline Markdown from a text in ``html``, ``moodle`` (HTML where a line end is a break),
    ``plain`` or ``markdown``. With ``blanks``, the caller has put :func:`blank` markers into a
    text it first cleaned with :func:`strip_private`, and they are kept."""
    text = raw or ""
    text = text.replace(_BREAK, "") if blanks else strip_private(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if fmt == "plain":
        return Converted(_finish(escape_plain(text)))
    if fmt == "markdown":
        return _from_markdown(text)
    if "<" not in text and "&" not in text:
        # No markup at all (most answers): the text as it reads, a line end in Moodle's format
        # being a line break.
        lines = text.split("\n") if fmt == "moodle" else [text]
        return Converted(_finish(_BREAK.join(escape(" ".join(line.split())) for line in lines)))
    if fmt == "moodle":
        text = text.replace("\n", "<br>")
    return from_html(text)


def plain(raw: str | None, fmt: str = "html") -> Converted:
    """Plain text (no markup) from a text in any of the formats of :func:`convert`: for the
    answers a question shows as plain text (matching choices, drop-down options, units)."""
    text = strip_private(raw or "").replace("\r\n", "\n").replace("\r", "\n")
    scan = _Scan()
    scan.feed(text)
    scan.close()
    if fmt == "plain":
        value = text
    else:
        html = str(render_inline(text)) if fmt == "markdown" else text
        html = re.sub(r"<(?:br|/p|/div|/li|/td|/th)\b[^>]*>", " ", html, flags=re.I)
        value = unescape(nh3.clean(html, tags=set(), clean_content_tags=_DROPPED))
    return Converted(" ".join(value.split()), media=scan.media, embeds=sorted(scan.embeds))


def from_html(html: str) -> Converted:
    scan = _Scan()
    scan.feed(html)
    scan.close()
    clean = nh3.clean(
        html,
        tags=_KEPT_TAGS,
        clean_content_tags=_DROPPED,
        attributes={"a": {"href"}, "span": {"lang", "class"}, "ol": {"start"}},
        url_schemes=URL_SCHEMES,
        link_rel=None,
    )
    tree = _Tree()
    tree.feed(clean)
    tree.close()
    result = Converted("", media=scan.media, embeds=sorted(scan.embeds))
    keep = _multilang_choice(tree.root)
    writer = _Writer(keep)
    result.text = _finish(writer.node(tree.root))
    if writer.dropped_languages:
        result.notes.append(
            _(
                "The text also had a version in %(languages)s (multilang), which was left out.",
                languages=", ".join(sorted(writer.dropped_languages)),
            )
        )
    if scan.tables:
        result.notes.append(_("A table in the text was written as lines of text."))
    return result


def strip_private(text: str) -> str:
    """The text without the private-use characters the conversion uses as markers."""
    return _PRIVATE_RE.sub("", text)


_MARKUP_RE = re.compile(r"[`*\[\]]")
_UNDERSCORE_RE = re.compile(r"_+")
_TAG_START_RE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY_RE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_SPACES_RE = re.compile(r"\s+")


def escape(text: str) -> str:
    """Escape what inline Markdown would read as markup, and nothing else."""
    text = text.replace("\\", "\\\\")
    text = _MARKUP_RE.sub(lambda match: "\\" + match[0], text)
    if "_" in text:
        text = _UNDERSCORE_RE.sub(_underscores, text)
    text = _TAG_START_RE.sub("\\\\<", text)
    return _ENTITY_RE.sub("\\\\&", text)


def _underscores(match: re.Match[str]) -> str:
    """A run of underscores escaped where it could start or end emphasis: not inside a word,
    and not a line of three or more between spaces (a blank to fill in)."""
    text, (start, end) = match.string, match.span()
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() and after.isalnum():
        return match[0]
    if end - start >= 3 and before.isspace() and after.isspace():
        return match[0]
    return "\\_" * (end - start)


def escape_plain(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return _BREAK.join(escape(line) for line in lines)


def blank(number: int) -> str:
    """The marker a reader puts where blank ``number`` goes (see :data:`BLANK_OPEN`)."""
    return f"{BLANK_OPEN}{number}{BLANK_CLOSE}"


def with_blanks(text: str) -> str:
    """Turn blank markers into the ``[[n]]`` of a fill-in-the-blanks text."""
    return _BLANK_RE.sub(r"[[\1]]", text)


def _from_markdown(text: str) -> Converted:
    media = re.findall(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)", text)
    scan = _Scan()
    scan.feed(text)
    scan.close()
    return Converted(text.strip(), media=media + scan.media, embeds=sorted(scan.embeds))


def _finish(text: str) -> str:
    text = re.sub(f" *{_BREAK}[ {_BREAK}]*", _BREAK, text)
    text = re.sub(" {2,}", " ", text).strip(f" {_BREAK}")
    return text.replace(_BREAK, "\\\n")


# --- Reading HTML --------------------------------------------------------------------------------


class _Scan(HTMLParser):
    """Finds what a question cannot show, in the HTML as written (before sanitising)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.media: list[str] = []
        self.embeds: set[str] = set()
        self.tables = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("img", "input") and (tag == "img" or values.get("type") == "image"):
            self.media.append(values.get("src") or "")
        elif tag == "source" and values.get("src"):
            self.media.append(values["src"] or "")
        elif tag in EMBEDS:
            self.embeds.add(tag)
        elif tag == "table":
            self.tables = True

    handle_startendtag = handle_starttag


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[Any] = field(default_factory=list)  #: _Node or str


class _Tree(HTMLParser):
    """The sanitised HTML as a small tree; nesting deeper than MAX_DEPTH keeps only the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("", {})
        self.stack = [self.root]
        self.ignored = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(self.stack) > MAX_DEPTH:
            self.ignored += tag not in _VOID
            return
        node = _Node(tag, {key: value or "" for key, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(self.stack) <= MAX_DEPTH:
            self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if self.ignored:
            self.ignored -= 1
            return
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _multilang_choice(root: _Node) -> str | None:
    """The language to keep from Moodle's multilang spans: English, else the first one."""
    found: list[str] = []
    pending = [root]
    while pending:
        node = pending.pop()
        if _multilang(node):
            found.append(node.attrs["lang"].lower())
        pending.extend(child for child in node.children if isinstance(child, _Node))
    if not found:
        return None
    english = [lang for lang in found if lang.split("-")[0] == "en"]
    return english[0] if english else sorted(found)[0]


def _multilang(node: _Node) -> bool:
    return "multilang" in node.attrs.get("class", "").split() and bool(node.attrs.get("lang"))


class _Writer:
    """Writes the sanitised tree as inline Markdown; block boundaries become line breaks."""

    def __init__(self, keep_language: str | None) -> None:
        self.keep = keep_language
        self.dropped_languages: set[str] = set()

    def node(self, node: _Node) -> str:
        if _multilang(node) and node.attrs["lang"].lower() != self.keep:
            self.dropped_languages.add(node.attrs["lang"].lower())
            return ""
        if node.tag == "br":
            return _BREAK
        if node.tag in _CODE_TAGS:
            return _code(_plain_text(node))
        if node.tag == "tr":
            cells = (self.node(cell) for cell in node.children if isinstance(cell, _Node))
            return f"{_BREAK}{' | '.join(cell.strip() for cell in cells)}{_BREAK}"
        return _markup(node, self.children(node))

    def children(self, node: _Node) -> str:
        parts = []
        for child in node.children:
            if isinstance(child, str):
                parts.append(escape(_SPACES_RE.sub(" ", child)))
            else:
                parts.append(self.node(child))
        return "".join(parts)


def _markup(node: _Node, inner: str) -> str:
    """The Markdown around an element's converted content."""
    if node.tag in _EMPHASIS:
        return _wrap(inner, _EMPHASIS[node.tag])
    if node.tag == "a":
        return _link(inner, node.attrs.get("href", ""))
    if node.tag == "li":
        return f"{_BREAK}- {inner}{_BREAK}"
    if node.tag in _BLOCKS:
        return f"{_BREAK}{inner}{_BREAK}"
    return inner


def _plain_text(node: _Node) -> str:
    return "".join(
        _SPACES_RE.sub(" ", child) if isinstance(child, str) else _plain_text(child)
        for child in node.children
    )


def _wrap(inner: str, mark: str) -> str:
    core = inner.strip(f" {_BREAK}")
    if not core:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip(f" {_BREAK}"))]
    trail = inner[len(inner.rstrip(f" {_BREAK}")) :]
    return f"{lead}{mark}{core}{mark}{trail}"


def _code(text: str) -> str:
    if not text.strip():
        return text
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _link(inner: str, href: str) -> str:
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    if scheme not in URL_SCHEMES:
        return inner
    target = quote(href, safe="/:?#[]@!$&'*+,;=%~-._")
    label = inner.strip(f" {_BREAK}") or escape(href)
    return f"[{label}]({target})"


# --- Writing XHTML (QTI) -------------------------------------------------------------------------


def append_markdown(parent: Element, markdown: str) -> None:
    """Append the inline Markdown of an ILMS text to ``parent`` as XHTML elements and text."""
    builder = _ElementBuilder(parent)
    builder.feed(str(render_inline(markdown)))
    builder.close()


class _ElementBuilder(HTMLParser):
    """Sanitised HTML (from render_inline) into ElementTree elements, keeping only ``href``."""

    def __init__(self, parent: Element) -> None:
        super().__init__(convert_charrefs=True)
        self.stack = [parent]
        self.last: Element | None = None  #: the element whose tail takes the next text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        element = SubElement(self.stack[-1], tag, {"href": href} if tag == "a" and href else {})
        self.last = None
        if tag in _VOID:
            self.last = element
        else:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        if len(self.stack) > 1 and self.stack[-1].tag == tag:
            self.last = self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.last is not None:
            self.last.tail = (self.last.tail or "") + data
        else:
            current = self.stack[-1]
            if len(current):
                current[-1].tail = (current[-1].tail or "") + data
            else:
                current.text = (current.text or "") + data


# --- Collecting the texts of one item ------------------------------------------------------------


def media_path(src: str) -> str:
    """The file a media source names inside its package, without tool prefixes and queries."""
    path = re.sub(r"^(@@PLUGINFILE@@|\$IMS[-_]CC[-_]FILEBASE\$)/", "", src.strip())
    return unquote(path.split("?", 1)[0].split("#", 1)[0]).lstrip("./")


class Collector:
    """Converts the texts of one item and remembers what they show that a question cannot.

    ``exists`` tells whether a media file is in the package (or the file) being read.
    """

    def __init__(
        self, exists: Callable[[str], bool] | None = None, *, package: bool = False
    ) -> None:
        self.exists = exists or (lambda _src: False)
        self.package = package
        self.media: list[str] = []
        self.embeds: set[str] = set()
        self.notes: list[str] = []

    def markdown(self, raw: str | None, fmt: str = "html", *, blanks: bool = False) -> str:
        return self._keep(convert(raw, fmt, blanks=blanks))

    def plain(self, raw: str | None, fmt: str = "html") -> str:
        return self._keep(plain(raw, fmt))

    def _keep(self, converted: Converted) -> str:
        self.media += converted.media
        self.embeds.update(converted.embeds)
        for note in converted.notes:
            if note not in self.notes:
                self.notes.append(note)
        return converted.text

    def problem(self) -> str | None:
        """Why the item cannot be imported because of what it shows, or None."""
        if self.embeds:
            return _(
                "it contains %(what)s, which questions cannot show",
                what=", ".join(f"<{tag}>" for tag in sorted(self.embeds)),
            )
        for src in self.media:
            if re.match(r"(?i)(https?:)?//", src) or src.startswith("data:"):
                return _("it shows an image (%(src)s); questions cannot show images", src=src[:80])
            name = media_path(src)
            if not name:
                return _("it shows an image without a source")
            if not self.exists(name):
                if self.package:
                    return _("image '%(name)s' is missing from the package", name=name)
                return _("image '%(name)s' is missing from the file", name=name)
            return _("it shows the image '%(name)s'; questions cannot show images", name=name)
        return None
