"""Texts between formats: HTML of other tools sanitised and written as inline Markdown, what a
question cannot show reported, and ILMS Markdown written as XHTML for QTI."""

from __future__ import annotations

from xml.etree.ElementTree import Element, tostring

import pytest

from ilms.exchange.text import Collector, append_markdown, convert, escape, plain
from ilms.markdown import render_inline

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        (
            "<p>Both <strong>climate</strong> and <b>migration</b></p>",
            "Both **climate** and **migration**",
        ),
        ("<em>Nature</em> and <i>Science</i>", "*Nature* and *Science*"),
        ("<strong> spaced </strong>out", "**spaced** out"),
        ("<p>One</p><p>Two</p>", "One\\\nTwo"),
        ("Line<br>break<br/><br>twice", "Line\\\nbreak\\\ntwice"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\\\n- two"),
        ("Use <code>a*b</code> or <code>x`y</code>", "Use `a*b` or ``x`y``"),
        (
            "<a href='https://example.edu/a b(c)'>guide</a>",
            "[guide](https://example.edu/a%20b%28c%29)",
        ),
        ("<a href='mailto:help@example.edu'>help</a>", "[help](mailto:help@example.edu)"),
        ("a &lt; b &amp;&amp; c &gt; d &nbsp;e", "a < b && c > d e"),
        ("2*3 = [six] _or_ snake_case", "2\\*3 = \\[six\\] \\_or\\_ snake_case"),
        ("&amp;amp; stays text", "\\&amp; stays text"),
        ("<span style='color:red'>red</span> <font size=3>old</font>", "red old"),
        (
            "<p dir='ltr'>A library catalogue _____ the items.</p>",
            "A library catalogue _____ the items.",
        ),
    ],
)
def test_html_becomes_inline_markdown(html, markdown):
    assert convert(html, "html").text == markdown


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>Safe",
        "<style>p{}</style>Safe",
        "<p onclick='steal()' onmouseover='x()'>Safe</p>",
        "<a href='javascript:alert(1)'>Safe</a>",
        "<a href='data:text/html,<script>alert(1)</script>'>Safe</a>",
        "<iframe src='https://evil.example'></iframe>Safe",
        "<form action='/x'><input name='a'></form>Safe",
        "<!-- a comment -->Safe",
    ],
)
def test_unsafe_html_is_removed(html):
    text = convert(html, "html").text
    assert text == "Safe"
    assert "script" not in str(render_inline(text))


def test_what_a_question_cannot_show_is_reported():
    converted = convert(
        "<p><img src='@@PLUGINFILE@@/map.png'><video src='v.mp4'></video><math><mi>x</mi></math></p>"
    )
    assert converted.media == ["@@PLUGINFILE@@/map.png"]
    assert converted.embeds == ["math", "video"]
    assert convert("![map](images/map.png)", "markdown").media == ["images/map.png"]


def test_collector_reasons():
    texts = Collector(lambda name: name == "here.png", package=True)
    texts.markdown("<img src='$IMS-CC-FILEBASE$/Uploaded%20Media/gone.png'>")
    assert texts.problem() == "image 'Uploaded Media/gone.png' is missing from the package"
    present = Collector(lambda name: name == "here.png")
    present.markdown("<img src='here.png?v=2'>")
    assert present.problem() == "it shows the image 'here.png'; questions cannot show images"
    web = Collector()
    web.markdown("<img src='https://example.edu/x.png'>")
    assert web.problem() == (
        "it shows an image (https://example.edu/x.png); questions cannot show images"
    )
    sound = Collector()
    sound.markdown("<audio src='a.mp3'></audio>")
    assert sound.problem() == "it contains <audio>, which questions cannot show"


def test_moodle_format_turns_line_ends_into_breaks_and_plain_is_escaped():
    assert convert("One\ntwo  words", "moodle").text == "One\\\ntwo words"
    assert convert("<b>One</b>\ntwo", "moodle").text == "**One**\\\ntwo"
    assert convert("<b>not bold</b> *x*", "plain").text == "\\<b>not bold\\</b> \\*x\\*"
    assert convert("**kept** as written  ", "markdown").text == "**kept** as written"


def test_tables_and_other_languages_are_kept_as_text_with_a_note():
    table = convert("<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>")
    assert table.text == "A | B\\\n1 | 2"
    assert table.notes == ["A table in the text was written as lines of text."]
    russian = convert(
        "<span class='multilang' lang='ru'>Привет</span><span class='multilang' lang='kk'>Сәлем</span>"
    )
    assert russian.text == "Сәлем"
    assert "ru" in russian.notes[0]


def test_private_use_characters_are_removed():
    assert convert("a\ue000b\uf8ffc").text == "abc"


def test_plain_text_for_choices_shown_in_drop_downs():
    assert plain("<p>Journal &amp; <em>magazine</em></p>").text == "Journal & magazine"
    assert plain("**bold** a_b", "markdown").text == "bold a_b"
    assert plain("a<b", "plain").text == "a<b"


def test_escape_keeps_what_renders_as_written():
    for text in ("a * b", "[x](y)", "`code`", "_x_", "<b>", "&amp;", "\\", "a_b_c", "___ blank"):
        html = str(render_inline(escape(text)))
        assert html.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">") == text


def test_markdown_as_xhtml():
    paragraph = Element("p")
    append_markdown(
        paragraph, "Both **AND** and *OR*: a < b & [guide](https://example.edu)\\\nnext"
    )
    xml = tostring(paragraph, encoding="unicode")
    assert xml == (
        "<p>Both <strong>AND</strong> and <em>OR</em>: a &lt; b &amp; "
        '<a href="https://example.edu">guide</a><br />\nnext</p>'
    )
    assert (
        convert(xml).text == "Both **AND** and *OR*: a < b & [guide](https://example.edu)\\\nnext"
    )
