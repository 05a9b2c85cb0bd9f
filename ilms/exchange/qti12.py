"""QTI 1.2 as Canvas writes it: ``<questestinterop>`` holding quizzes (``<assessment>``) and
question banks (``<objectbank>``), each ``<item>`` typed by its ``question_type`` metadata.

Canvas's conventions are followed: answers are ``response_label`` idents, the scoring condition
sets ``SCORE``, feedback is ``itemfeedback`` named ``correct_fb``, ``general_incorrect_fb``,
``general_fb`` or ``<answer>_fb``, and blanks are ``[name]`` in the text. Files of other tools
without ``question_type`` are read by their structure (or Common Cartridge's ``cc_profile``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ilms.exchange import build as b
from ilms.exchange.items import (
    Draft,
    Entry,
    ItemError,
    Question,
    Skipped,
    check_count,
    limited,
)
from ilms.exchange.text import Collector, blank, strip_private, with_blanks

UNSUPPORTED = {
    "text_only_question": _l("text-only items have no answer; they are not questions"),
    "calculated_question": _l("calculated questions are not supported"),
    "file_upload_question": _l("it is answered by uploading a file, which ILMS does not take"),
}
#: Common Cartridge's profiles, as in the copy of a quiz in a Canvas course export.
CC_PROFILES = {
    "cc.multiple_choice.v0p1": "multiple_choice_question",
    "cc.multiple_response.v0p1": "multiple_answers_question",
    "cc.true_false.v0p1": "true_false_question",
    "cc.fib.v0p1": "short_answer_question",
    "cc.essay.v0p1": "essay_question",
}
_GENERIC_TITLES = {"", "question"}


def read(
    root: Element, texts: Callable[[], Collector], tags: list[str], before: int
) -> list[Entry]:
    """Every item of a QTI 1.2 document, numbered after ``before`` earlier items."""
    entries: list[Entry] = []
    for item, group in _items(root):
        check_count(before + len(entries) + 1)
        number = before + len(entries) + 1
        entries.append(_entry(number, item, texts(), [*tags, group]))
    return entries


def _items(root: Element) -> Iterator[tuple[Element, str]]:
    """The items with the title of their quiz or bank (a tag)."""
    for child in root:
        if child.tag == "item":
            yield child, ""
            continue
        if child.tag == "objectbank":
            group = metadata(child.find("qtimetadata")).get("bank_title", "")
        else:
            group = child.get("title", "")
        for item in child.iter("item"):
            yield item, group


def metadata(element: Element | None) -> dict[str, str]:
    if element is None:
        return {}
    return {
        (field.findtext("fieldlabel") or "").strip(): (field.findtext("fieldentry") or "").strip()
        for field in element.findall("qtimetadatafield")
    }


def _entry(number: int, element: Element, texts: Collector, tags: list[str]) -> Entry:
    title = " ".join((element.get("title") or "").split())
    meta = metadata(element.find("itemmetadata/qtimetadata"))
    kind = (
        meta.get("question_type") or CC_PROFILES.get(meta.get("cc_profile", "")) or _infer(element)
    )
    try:
        question = _Item(element, texts).question(kind)
    except ItemError as error:
        return Skipped(number, title, error.reason)
    if problem := texts.problem():
        return Skipped(number, title, problem)
    points = b.float_or(meta.get("points_possible"), 1.0)
    b.with_points(question, points)
    b.with_tags(question, tags)
    hint = title if title.lower() not in _GENERIC_TITLES else element.get("ident", "")
    return Draft(number, title, hint, question, texts.notes)


def _infer(element: Element) -> str:
    """The Canvas question type an item of another tool corresponds to, by its structure."""
    presentation = element.find("presentation")
    if presentation is None:
        return "text_only_question"
    lids = list(presentation.iter("response_lid"))
    if len(lids) == 1:
        multiple = lids[0].get("rcardinality", "Single").lower() == "multiple"
        return "multiple_answers_question" if multiple else "multiple_choice_question"
    if list(presentation.iter("response_num")):
        return "numerical_question"
    if list(presentation.iter("response_str")):
        scored = any(c.find(".//varequal") is not None for c in element.iter("respcondition"))
        return "short_answer_question" if scored else "essay_question"
    return "unknown"


def _equals(condition: Element, negated: bool = False) -> Iterator[tuple[str, str, bool]]:
    """The ``varequal`` tests of a condition: (response id, value, whether under ``<not>``)."""
    for child in condition:
        if child.tag == "varequal":
            yield child.get("respident", ""), (child.text or "").strip(), negated
        else:
            yield from _equals(child, negated != (child.tag == "not"))


class _Item:
    """Reads one ``<item>``; ``texts`` collects its texts' notes and media."""

    def __init__(self, element: Element, texts: Collector) -> None:
        self.element = element
        self.texts = texts
        self.notes = texts.notes
        self.presentation = element.find("presentation")
        self.kind = ""
        self.feedback = {
            feedback.get("ident", ""): self.material(feedback)
            for feedback in element.findall("itemfeedback")
        }

    def question(self, kind: str) -> Question:
        readers: dict[str, Callable[[], Question]] = {
            "multiple_choice_question": self.multiple_choice,
            "true_false_question": self.true_false,
            "multiple_answers_question": self.multiple_answers,
            "short_answer_question": self.short_answer,
            "numerical_question": self.numerical,
            "matching_question": self.matching,
            "essay_question": self.essay,
            "fill_in_multiple_blanks_question": self.blanks,
            "multiple_dropdowns_question": self.blanks,
        }
        if kind in UNSUPPORTED:
            raise ItemError(str(UNSUPPORTED[kind]))
        if kind not in readers or self.presentation is None:
            raise ItemError(_("'%(type)s' questions are not supported", type=kind))
        self.kind = kind
        return readers[kind]()

    # -- texts

    def material(self, element: Element | None, *, plain: bool = False) -> str:
        """The text of the first ``material`` in ``element`` (HTML or plain)."""
        found = None if element is None else element.find(".//material")
        if found is None:
            return ""
        return self.convert(self.material_html(found), plain=plain)

    def material_html(self, material: Element) -> str:
        parts = []
        for child in material:
            if child.tag == "mattext":
                text = strip_private(child.text or "")
                html = child.get("texttype", "text/plain") == "text/html"
                parts.append(text if html else _escape_html(text))
            elif child.tag == "matimage":
                parts.append(f'<img src="{_escape_html(child.get("uri", ""))}">')
        return "".join(parts)

    def convert(self, html: str, *, plain: bool = False, blanks: bool = False) -> str:
        if plain:
            return self.texts.plain(html, "html")
        return self.texts.markdown(html, "html", blanks=blanks)

    def text(self) -> str:
        material = self.presentation.find("material") if self.presentation is not None else None
        return self.convert(self.material_html(material)) if material is not None else ""

    def labels(self, lid: Element, *, plain: bool = False) -> dict[str, str]:
        return {
            label.get("ident", ""): self.material(label, plain=plain)
            for label in limited(list(lid.iter("response_label")))
        }

    def lids(self) -> list[Element]:
        if self.presentation is None:
            return []
        return limited(list(self.presentation.iter("response_lid")))

    def scoring(self) -> list[Element]:
        """The conditions that give marks (``setvar`` of SCORE above 0)."""
        return [
            condition
            for condition in self.element.iter("respcondition")
            if any(
                b.float_or(setvar.text) > 0 and setvar.get("varname", "SCORE") == "SCORE"
                for setvar in condition.findall("setvar")
            )
        ]

    def right_values(self, respident: str | None = None) -> list[str]:
        return [
            value
            for condition in self.scoring()
            for response, value, negated in _equals(condition)
            if not negated and (respident is None or response == respident)
        ]

    def general(self) -> str:
        return self.feedback.get("general_fb", "")

    def question_feedback(self) -> dict[str, Any] | None:
        return b.question_feedback(
            self.feedback.get("correct_fb", ""),
            self.feedback.get("general_incorrect_fb", ""),
            self.general(),
        )

    # -- types

    def choices(self, single: bool) -> Question:
        lids = self.lids()
        if len(lids) != 1:
            raise ItemError(_("a choice question needs one list of answers"))
        labels = self.labels(lids[0])
        right = set(self.right_values())
        options = [
            b.option(index, text, ident in right, self.feedback.get(f"{ident}_fb", ""))
            for index, (ident, text) in enumerate(labels.items())
        ]
        weights = (
            [100.0 if o["correct"] else 0.0 for o in options]
            if single
            else (b.ilms_weights(options))
        )
        question = b.choice(self.text(), options, weights, single, self.notes)
        return b.with_feedback(question, self.question_feedback())

    def multiple_choice(self) -> Question:
        return self.choices(single=True)

    def multiple_answers(self) -> Question:
        self.notes.append(
            _(
                "ILMS scores it with partial credit: each correct option chosen earns 1/C and "
                "each incorrect one takes away 1/W."
            )
        )
        return self.choices(single=False)

    def true_false(self) -> Question:
        lids = self.lids()
        labels = self.labels(lids[0], plain=True) if len(lids) == 1 else {}
        if sorted(text.lower() for text in labels.values()) != ["false", "true"]:
            raise ItemError(_("a true/false question needs the answers True and False"))
        right = [ident for ident in labels if ident in self.right_values()]
        if len(right) != 1:
            raise ItemError(_("a true/false question needs one correct answer"))
        wrong = next(ident for ident in labels if ident != right[0])
        feedback, general = self.feedback, self.general()
        right_text = b.join_texts(
            feedback.get("correct_fb", ""), feedback.get(f"{right[0]}_fb", ""), general
        )
        wrong_text = b.join_texts(
            feedback.get("general_incorrect_fb", ""), feedback.get(f"{wrong}_fb", ""), general
        )
        answer = labels[right[0]].lower() == "true"
        return b.true_false(self.text(), answer, right_text, wrong_text, self.notes)

    def short_answer(self) -> Question:
        accepted = [self.texts.plain(value, "plain") for value in self.right_values()]
        if not accepted:
            raise ItemError(_("it has no correct answer"))
        question = b.short_answer(self.text(), accepted, [])
        return b.with_feedback(question, self.question_feedback())

    def numerical(self) -> Question:
        keys = [key for condition in self.scoring() if (key := _numeric_key(condition))]
        question = b.numeric(self.text(), keys)
        return b.with_feedback(question, self.question_feedback())

    def matching(self) -> Question:
        pairs, labels = [], {}
        for lid in self.lids():
            labels |= self.labels(lid, plain=True)
            right = self.right_values(lid.get("ident", ""))
            if len(right) != 1:
                raise ItemError(_("each item on the left needs exactly one match"))
            pairs.append((self.material(lid), right[0]))
        if any(ident not in labels for _left, ident in pairs):
            raise ItemError(_("a match names an answer the item does not have"))
        used = {ident for _left, ident in pairs}
        extra = [text for ident, text in labels.items() if ident not in used]
        question = b.matching(self.text(), [(left, labels[i]) for left, i in pairs], extra)
        return b.with_feedback(question, self.question_feedback())

    def essay(self) -> Question:
        meta = metadata(self.element.find("itemmetadata/qtimetadata"))
        points = b.float_or(meta.get("points_possible"), 1.0) or 1.0
        question = b.essay(self.text(), points, None, self.notes)
        return b.with_feedback(question, b.question_feedback("", "", self.general()))

    def blanks(self) -> Question:
        """Canvas's fill-in-multiple-blanks and multiple-dropdowns: ``[name]`` in the text."""
        dropdowns = self.kind == "multiple_dropdowns_question"
        material = self.presentation.find("material")
        html = self.material_html(material) if material is not None else ""
        found: list[tuple[int, str, Element]] = []
        for lid in self.lids():
            name = (lid.findtext("material/mattext") or "").strip()
            position = html.find(f"[{name}]")
            if not name or position < 0:
                raise ItemError(_("the blank [%(name)s] is not in the text", name=name))
            found.append((position, name, lid))
        found.sort(key=lambda entry: entry[0])
        table = []
        for number, (_position, name, lid) in enumerate(found, 1):
            html = html.replace(f"[{name}]", blank(number), 1)
            table.append(self.blank(str(number), lid, dropdowns))
        text = with_blanks(self.convert(html, blanks=True))
        return b.with_feedback(b.cloze(text, table), self.question_feedback())

    def blank(self, blank_id: str, lid: Element, dropdown: bool) -> dict[str, Any]:
        labels = self.labels(lid, plain=True)
        if not dropdown:
            # Canvas takes every answer of a blank as correct.
            return b.typed_blank(blank_id, [text for text in labels.values() if text])
        right = [
            i for i, ident in enumerate(labels) if ident in self.right_values(lid.get("ident"))
        ]
        if len(right) != 1:
            raise ItemError(_("a drop-down blank needs exactly one correct choice"))
        return b.select_blank(blank_id, list(labels.values()), right[0])


def _escape_html(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _numeric_key(condition: Element) -> dict[str, float | int] | None:
    """Canvas's numeric answers: exact (``varequal``), exact with a margin (``varequal`` or
    between ``vargte``/``vargt`` and ``varlte``), or a range (``vargte`` and ``varlte``)."""
    equal = condition.find(".//varequal")
    low = condition.find(".//vargte")
    low = low if low is not None else condition.find(".//vargt")
    high = condition.find(".//varlte")
    try:
        if equal is not None and low is not None and high is not None:
            margin = (Decimal(high.text or "") - Decimal(low.text or "")) / 2
            key = {"answer": b.number(float(equal.text or ""))}
            if margin:
                key["tolerance"] = b.number(float(margin))
            return key
        if equal is not None:
            return {"answer": b.number(float(equal.text or ""))}
        if low is not None and high is not None:
            return {"min": b.number(float(low.text or "")), "max": b.number(float(high.text or ""))}
    except (ValueError, InvalidOperation) as error:
        raise ItemError(_("a numeric answer is not a number")) from error
    return None
