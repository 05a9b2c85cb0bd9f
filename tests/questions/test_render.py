"""Rendering each type through questions/_render.html: every input labelled, no key in the page,
and the posted form read back into the answer."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from jinja2 import Environment
from werkzeug.datastructures import MultiDict

from ilms.questions.types import REGISTRY, InvalidAnswer, get_type
from tests.questions import conftest as samples
from tests.questions.conftest import TEMPLATES


class Page(HTMLParser):
    """The form controls of a page, their labels and the legend of their fieldset."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.controls: list[dict[str, Any]] = []
        self.labels: dict[str, str] = {}
        self.ids: list[str] = []
        self.styled = False
        self.scripts = False
        self._fieldsets: list[dict[str, str]] = []
        self._label: str | None = None
        self._legend = False
        self._select: dict[str, Any] | None = None
        self._option: dict[str, Any] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.styled |= "style" in attributes or tag == "style"
        self.scripts |= tag == "script" or any(name.startswith("on") for name in attributes)
        if "id" in attributes:
            self.ids.append(str(attributes["id"]))
        if tag == "fieldset":
            self._fieldsets.append({"legend": ""})
        elif tag == "legend":
            self._legend = True
        elif tag == "label":
            self._label = str(attributes.get("for"))
            self.labels.setdefault(self._label, "")
        elif tag in ("input", "select", "textarea"):
            control = {"tag": tag, **attributes, "fieldset": self._fieldsets[-1:], "options": []}
            self.controls.append(control)
            if tag == "select":
                self._select = control
        elif tag == "option" and self._select is not None:
            self._option = {**attributes, "text": ""}
            self._select["options"].append(self._option)

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset":
            self._fieldsets.pop()
        elif tag == "legend":
            self._legend = False
        elif tag == "label":
            self._label = None
        elif tag == "select":
            self._select = None
        elif tag == "option":
            self._option = None

    def handle_data(self, data: str) -> None:
        if self._legend:
            self._fieldsets[-1]["legend"] += data
        if self._label is not None:
            self.labels[self._label] += data
        if self._option is not None:
            self._option["text"] += data


def render(env: Environment, context: dict[str, Any]) -> str:
    template = env.from_string(
        '{% from "questions/_render.html" import question %}{{ question(q) }}'
    )
    return template.render(q=context)


def page_for(env: Environment, sample: str, lang: str = "en", **kwargs: Any) -> Page:
    question = samples.SAMPLES[sample]()
    context = get_type(question["type"]).render_context(question, lang, **kwargs)
    return Page(render(env, context))


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_every_control_has_a_label_and_choices_a_legend(
    jinja_env: Environment, sample: str, lang: str
) -> None:
    question = samples.SAMPLES[sample]()
    page = page_for(jinja_env, sample, lang)
    assert page.controls
    for control in page.controls:
        assert control["name"].startswith(f"answer-{question['id']}")
        assert page.labels.get(control["id"], "").strip(), control
        if control.get("type") in ("radio", "checkbox"):
            assert control["fieldset"] and control["fieldset"][0]["legend"].strip()
    assert len(page.ids) == len(set(page.ids))
    assert not page.styled and not page.scripts


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_question_text_goes_through_markdown(jinja_env: Environment, sample: str) -> None:
    question = samples.SAMPLES[sample]()
    html = render(jinja_env, get_type(question["type"]).render_context(question, "ru"))
    assert 'class="md"' in html
    assert 'lang="ru"' in html
    assert "**" not in html or sample == "single_choice"  # the stand-in filter only escapes


def test_choice_questions_use_radios_and_checkboxes(jinja_env: Environment) -> None:
    single = page_for(jinja_env, "single_choice")
    assert {c["type"] for c in single.controls} == {"radio"}
    assert single.controls[0]["fieldset"][0]["legend"].startswith("Which search")
    multiple = page_for(jinja_env, "multiple_response")
    assert {c["type"] for c in multiple.controls} == {"checkbox"}
    assert "Choose all that apply" in multiple.controls[0]["fieldset"][0]["legend"]
    true_false = page_for(jinja_env, "true_false")
    assert [true_false.labels[c["id"]] for c in true_false.controls] == ["True", "False"]


def test_text_inputs_are_labelled_by_the_question(jinja_env: Environment) -> None:
    numeric = page_for(jinja_env, "numeric", "ru")
    (control,) = numeric.controls
    assert numeric.labels[control["id"]] == "Сколько?"
    assert control["inputmode"] == "decimal"
    assert control["aria-describedby"] == f"{control['id']}-unit"
    (essay,) = page_for(jinja_env, "open_response").controls
    assert (essay["tag"], essay["maxlength"]) == ("textarea", "20000")


def test_matching_has_one_labelled_select_per_left_item(jinja_env: Environment) -> None:
    page = page_for(jinja_env, "matching")
    assert [page.labels[c["id"]] for c in page.controls] == ["Nature", "The Guardian", "Britannica"]
    for control in page.controls:
        assert control["tag"] == "select"
        texts = sorted(option["text"] for option in control["options"][1:])
        assert texts == ["Blog", "Encyclopedia", "Journal", "Newspaper"]


def test_ordering_has_a_numbered_select_per_item(jinja_env: Environment) -> None:
    page = page_for(jinja_env, "ordering", shuffled_order=["step-3", "step-1", "step-4", "step-2"])
    assert [page.labels[c["id"]] for c in page.controls] == ["Evaluate", "Ask", "Cite", "Search"]
    for control in page.controls:
        assert [o["value"] for o in control["options"]] == ["", "1", "2", "3", "4"]


def test_cloze_blanks_are_named_in_reading_order(jinja_env: Environment) -> None:
    page = page_for(jinja_env, "cloze", "ru")  # the Russian text has blank 2 before blank 1
    names = {c["id"]: page.labels[c["id"]] for c in page.controls}
    assert names == {"answer-cloze-1.2": "Blank 1 of 2", "answer-cloze-1.1": "Blank 2 of 2"}
    drop_down = next(c for c in page.controls if c["tag"] == "select")
    assert sorted(o["text"] for o in drop_down["options"][1:]) == ["AND", "NOT", "OR"]


def test_the_page_does_not_reveal_authored_ids(jinja_env: Environment) -> None:
    for sample in ("single_choice", "multiple_response", "matching", "ordering", "cloze"):
        page = page_for(jinja_env, sample)
        values = [c.get("value") for c in page.controls if c.get("type") in ("radio", "checkbox")]
        values += [o["value"] for c in page.controls for o in c["options"]]
        assert all(value == "" or value.isdigit() for value in values), (sample, values)
        assert not any("step-" in c["name"] or "p1" in c["name"] for c in page.controls)


def test_default_orders_do_not_follow_the_key() -> None:
    matching, ordering = samples.matching(), samples.ordering()
    choices = get_type("matching").render_context(matching, "en")["choices"]
    assert [c["text"] for c in choices] != ["Journal", "Newspaper", "Encyclopedia", "Blog"]
    items = get_type("ordering").render_context(ordering, "en")["items"]
    assert [i["text"] for i in items] != ["Ask", "Search", "Evaluate", "Cite"]
    two = ordering | {"items": ordering["items"][:2]}
    assert [i["text"] for i in get_type("ordering").render_context(two, "en")["items"]] == [
        "Search",
        "Ask",
    ]


def test_a_shuffled_order_must_be_a_permutation_of_the_option_ids() -> None:
    question = samples.single_choice()
    qtype = get_type("single_choice")
    assert qtype.option_ids(question) == ["a", "b", "c"]
    shown = qtype.render_context(question, "en", ["c", "a", "b"])["options"]
    assert [o["text"] for o in shown] == [
        "climate NOT migration",
        "climate AND migration",
        "climate OR migration",
    ]
    for wrong in (["a", "b"], ["a", "b", "z"], ["a", "a", "b"]):
        with pytest.raises(ValueError, match="permutation"):
            qtype.render_context(question, "en", wrong)


def test_english_is_shown_when_the_language_is_missing(jinja_env: Environment) -> None:
    question = samples.short_answer()
    context = get_type("short_answer").render_context(question, "de")
    assert (context["lang"], context["text"]) == ("en", "What are AND, OR and NOT called?")
    assert 'lang="en"' in render(jinja_env, context)


def post(sample: str, fields: dict[str, str | list[str]], order: list[str] | None = None) -> Any:
    """Read a posted form back as the student's answer, and grade it."""
    question = samples.SAMPLES[sample]()
    qtype = get_type(question["type"])
    form = MultiDict(
        [
            (k, v)
            for k, values in fields.items()
            for v in ([values] if isinstance(values, str) else values)
        ]
    )
    raw = qtype.answer_from_form(question, form, order)
    return raw, qtype.grade(question, raw)


def value_for(choices: list[dict[str, Any]], text: str) -> str:
    return next(choice["value"] for choice in choices if choice["text"] == text)


def test_posted_choice_forms() -> None:
    order = ["c", "a", "b"]
    assert post("single_choice", {"answer-bool-1": "2"}, order)[0] == "a"
    assert post("single_choice", {}, order)[1].feedback_key == "unanswered"
    raw, score = post("multiple_response", {"answer-mr-1": ["5", "4"]}, ["e", "d", "c", "b", "a"])
    assert (raw, score.correct) == (["a", "b"], True)
    assert post("true_false", {"answer-tf-1": "true"})[0] is True
    assert post("true_false", {"answer-tf-1": ""})[0] is None
    for tampered in ("0", "4", "a", "-1", "²"):
        with pytest.raises(InvalidAnswer):
            post("single_choice", {"answer-bool-1": tampered}, order)
    with pytest.raises(InvalidAnswer):
        post("true_false", {"answer-tf-1": "maybe"})


def test_posted_text_forms() -> None:
    assert post("short_answer", {"answer-sa-1": " boolean  OPERATORS"})[1].correct is True
    assert post("numeric", {"answer-num-1": "0,4"})[1].correct is True
    assert post("open_response", {"answer-essay-1": "An essay."})[1].is_pending


def test_posted_matching_form() -> None:
    question = samples.matching()
    choices = get_type("matching").render_context(question, "en")["choices"]
    fields = {
        "answer-match-1.1": value_for(choices, "Journal"),
        "answer-match-1.2": value_for(choices, "Blog"),
        "answer-match-1.3": "",
    }
    raw, score = post("matching", fields)
    assert raw == {"p1": "p1", "p2": "d1"}
    assert score.fraction == pytest.approx(1 / 3)


def test_posted_ordering_form() -> None:
    order = ["step-3", "step-1", "step-4", "step-2"]  # shown: Evaluate, Ask, Cite, Search
    fields = {
        "answer-ord-1.1": "3",
        "answer-ord-1.2": "1",
        "answer-ord-1.3": "4",
        "answer-ord-1.4": "2",
    }
    raw, score = post("ordering", fields, order)
    assert (raw, score.correct) == (["step-1", "step-2", "step-3", "step-4"], True)
    assert post("ordering", {}, order)[0] is None
    with pytest.raises(InvalidAnswer, match="different position"):
        post("ordering", fields | {"answer-ord-1.4": "1"}, order)
    with pytest.raises(InvalidAnswer, match="from 1 to 4"):
        post("ordering", fields | {"answer-ord-1.4": ""}, order)
    with pytest.raises(InvalidAnswer, match="from 1 to 4"):
        post("ordering", fields | {"answer-ord-1.4": "5"}, order)


def test_posted_cloze_form() -> None:
    question = samples.cloze()
    segments = get_type("cloze").render_context(question, "en")["segments"]
    drop_down = next(s for s in segments if s["kind"] == "blank" and s["options"])
    fields = {
        "answer-cloze-1.1": " and ",
        "answer-cloze-1.2": value_for(drop_down["options"], "OR"),
    }
    raw, score = post("cloze", fields)
    assert raw == {"1": " and ", "2": "or"}
    assert score.correct is True
    assert post("cloze", {})[1].feedback_key == "unanswered"


def test_saved_answers_are_shown_again(jinja_env: Environment) -> None:
    def shown(sample: str, answer: Any, **kwargs: Any) -> str:
        question = samples.SAMPLES[sample]()
        qtype = get_type(question["type"])
        return render(jinja_env, qtype.render_context(question, "en", answer=answer, **kwargs))

    assert re.search(r'value="2" checked', shown("single_choice", "b"))
    assert len(re.findall(r" checked", shown("multiple_response", ["a", "c"]))) == 2
    assert re.search(r'value="false" checked', shown("true_false", False))
    assert 'value="Boolean"' in shown("short_answer", "Boolean")
    assert 'value="1234.5"' in shown("numeric", 1234.5)
    assert ">An essay.</textarea>" in shown("open_response", "An essay.")
    ordering = shown(
        "ordering",
        ["step-2", "step-1", "step-3", "step-4"],
        shuffled_order=["step-1", "step-2", "step-3", "step-4"],
    )
    assert len(re.findall(r'value="(\d)" selected', ordering)) == 4
    assert re.findall(r'value="(\d)" selected', ordering)[:2] == ["2", "1"]
    assert len(re.findall(r" selected", shown("matching", {"p1": "d1"}))) == 1
    cloze = shown("cloze", {"1": "AND", "2": "or"})
    assert 'value="AND"' in cloze and len(re.findall(r" selected", cloze)) == 1


def test_render_context_is_plain_data_without_the_key() -> None:
    allowed = (str, int, float, bool, type(None))

    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return isinstance(value, allowed)

    for make in samples.SAMPLES.values():
        question = make()
        context = get_type(question["type"]).render_context(question, "en")
        assert plain(context)
        text = repr(context)
        assert "correct" not in text and "accepted" not in text and "Boolean operators" not in text


def test_template_strings_are_literal_msgids() -> None:
    source = (TEMPLATES / "questions" / "_render.html").read_text()
    calls = re.findall(r"_\(\s*(.)", source)
    assert calls and all(first == '"' for first in calls)
    assert len(REGISTRY) == 9  # every type has a branch in question()
    assert all(f'"{name}"' in source for name in REGISTRY)
