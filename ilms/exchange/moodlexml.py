"""Moodle XML (``<quiz><question type="...">``): reading it as Moodle writes it, and writing banks
in it so that Moodle and ILMS read them back with the same grading.

Category entries (``type="category"``) set the category of the questions after them; categories
and ``<tags>`` become tags. Texts carry their ``format`` (html, moodle_auto_format, plain_text,
markdown); an export writes Markdown, which Moodle reads too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ilms.exchange import build as b
from ilms.exchange.gift import category_tag, literal_answer
from ilms.exchange.items import (
    Draft,
    Entry,
    ExchangeError,
    ItemError,
    Question,
    Skipped,
    Written,
    check_count,
    export_note,
    limited,
)
from ilms.exchange.safety import parse_xml
from ilms.exchange.text import Collector, blank, strip_private, with_blanks

FORMATS = {
    "html": "html",
    "moodle_auto_format": "moodle",
    "plain_text": "plain",
    "markdown": "markdown",
}
#: Why Moodle's other question types are left out.
UNSUPPORTED = {
    "calculated": _l("calculated questions are not supported"),
    "calculatedsimple": _l("calculated questions are not supported"),
    "calculatedmulti": _l("calculated questions are not supported"),
    "description": _l("descriptions have no answer; they are not questions"),
    "random": _l(
        "random questions are drawn from a category when a quiz is built; import the "
        "category's questions instead"
    ),
    "randomsamatch": _l("random short-answer matching questions are drawn when a quiz is built"),
    "ddimageortext": _l("drag-and-drop onto an image is not supported"),
    "ddmarker": _l("drag-and-drop markers on an image are not supported"),
}
#: Moodle's gapselect questions have at most this many groups of choices.
GAPSELECT_GROUPS = 20
#: Moodle's cloze (embedded answers) codes: ``{1:SHORTANSWER:=Paris~=paris}``.
CLOZE_RE = re.compile(r"\{([0-9]*):([A-Z_]+):((?:[^}\\]|\\.)*)\}", re.S)
_CLOZE_KINDS = {
    "SHORTANSWER": "typed", "SA": "typed", "MW": "typed",
    "SHORTANSWER_C": "typed-case", "SAC": "typed-case", "MWC": "typed-case",
    "MULTICHOICE": "select", "MC": "select", "MULTICHOICE_S": "select", "MCS": "select",
    "MULTICHOICE_V": "choice", "MCV": "choice", "MULTICHOICE_H": "choice", "MCH": "choice",
    "MULTICHOICE_VS": "choice", "MCVS": "choice", "MULTICHOICE_HS": "choice", "MCHS": "choice",
    "NUMERICAL": "numeric", "NM": "numeric",
    "MULTIRESPONSE": "several", "MR": "several", "MULTIRESPONSE_H": "several", "MRH": "several",
    "MULTIRESPONSE_S": "several", "MRS": "several", "MULTIRESPONSE_HS": "several",
    "MRHS": "several",
}  # fmt: skip


# --- Reading ----------------------------------------------------------------------------------


def read(data: bytes, name: str) -> list[Entry]:
    root = parse_xml(data, name)
    if root.tag != "quiz":
        raise ExchangeError(
            _(
                "%(name)s is not Moodle XML: its root element is <%(root)s>, not <quiz>.",
                name=name,
                root=root.tag,
            )
        )
    entries: list[Entry] = []
    category = ""
    questions = root.findall("question")
    check_count(sum(element.get("type") != "category" for element in questions))
    for element in questions:
        if element.get("type") == "category":
            category = category_tag(child_text(element, "category"))
            continue
        entries.append(_entry(len(entries) + 1, element, category))
        element.clear()
    return entries


def child_text(element: Element, path: str) -> str:
    """The ``<text>`` of the child at ``path``, or the child's own text."""
    child = element.find(path)
    if child is None:
        return ""
    inner = child.find("text")
    return (inner.text if inner is not None else child.text) or ""


def child_format(element: Element, path: str, default: str = "html") -> str:
    child = element.find(path)
    value = child.get("format", "") if child is not None else ""
    return FORMATS.get(value, default)


def _files(element: Element) -> set[str]:
    """The files a question carries itself (``<file name=... path=...>``, base64)."""
    names = set()
    for file in element.iter("file"):
        name = file.get("name", "")
        names |= {name, f"{file.get('path', '/').strip('/')}/{name}".strip("/")}
    return names


def _entry(number: int, element: Element, category: str) -> Entry:
    kind = element.get("type", "")
    title = " ".join(child_text(element, "name").split())
    files = _files(element)
    reader = _Reader(element, Collector(files.__contains__))
    try:
        question = reader.question(kind)
    except ItemError as error:
        return Skipped(number, title, error.reason)
    if problem := reader.texts.problem():
        return Skipped(number, title, problem)
    tags = [category, *(tag.findtext("text") or "" for tag in element.findall("tags/tag"))]
    b.with_tags(question, tags)
    hint = (element.findtext("idnumber") or "").strip() or title
    return Draft(number, title, hint, question, reader.texts.notes)


def _fraction(element: Element) -> float:
    try:
        return float(element.get("fraction", "0"))
    except ValueError as error:
        raise ItemError(_("an answer's fraction is not a number")) from error


class _Reader:
    """Reads one ``<question>``; ``texts`` collects its texts' notes and media."""

    def __init__(self, element: Element, texts: Collector) -> None:
        self.element = element
        self.texts = texts
        self.notes = texts.notes

    def question(self, kind: str) -> Question:
        readers: dict[str, Callable[[], Question]] = {
            "multichoice": self.multichoice,
            "truefalse": self.truefalse,
            "shortanswer": self.shortanswer,
            "numerical": self.numerical,
            "matching": self.matching,
            "essay": self.essay,
            "cloze": self.cloze,
            "multianswer": self.cloze,
            "ordering": self.ordering,
            "gapselect": self.gapselect,
            "ddwtos": self.gapselect,
        }
        if kind in UNSUPPORTED:
            raise ItemError(str(UNSUPPORTED[kind]))
        if kind not in readers:
            raise ItemError(_("'%(type)s' questions are not supported", type=kind))
        question = readers[kind]()
        grade = self.element.findtext("defaultgrade")
        return b.with_points(question, b.float_or(grade, 1.0))

    def answers(self, tag: str) -> list[Element]:
        return limited(self.element.findall(tag))

    def markdown(self, path: str, element: Element | None = None) -> str:
        element = self.element if element is None else element
        return self.texts.markdown(child_text(element, path), child_format(element, path))

    def text(self) -> str:
        return self.markdown("questiontext")

    def general(self) -> str:
        return self.markdown("generalfeedback")

    def combined(self, partial_possible: bool) -> dict[str, Any] | None:
        correct, incorrect = self.markdown("correctfeedback"), self.markdown("incorrectfeedback")
        partial = self.markdown("partiallycorrectfeedback")
        if partial_possible and partial and partial != incorrect:
            self.notes.append(
                _(
                    "The feedback for partly correct answers was left out: ILMS shows the "
                    "feedback for incorrect answers then."
                )
            )
        return b.question_feedback(correct, incorrect, self.general())

    def multichoice(self) -> Question:
        single = (self.element.findtext("single") or "true").strip().lower() in ("true", "1")
        options, weights = [], []
        for index, answer in enumerate(self.answers("answer")):
            weight = _fraction(answer)
            text = self.texts.markdown(
                child_text(answer, "."), FORMATS.get(answer.get("format", ""), "html")
            )
            correct = weight >= 100 if single else weight > 0
            options.append(b.option(index, text, correct, self.markdown("feedback", answer)))
            weights.append(weight)
        question = b.choice(self.text(), options, weights, single, self.notes)
        return b.with_feedback(question, self.combined(partial_possible=not single))

    def truefalse(self) -> Question:
        answers = {
            (answer.findtext("text") or "").strip().lower(): answer
            for answer in self.answers("answer")
        }
        if set(answers) != {"true", "false"}:
            raise ItemError(_("a true/false question needs the answers 'true' and 'false'"))
        right = "true" if _fraction(answers["true"]) >= 100 else "false"
        wrong = "false" if right == "true" else "true"
        general = self.general()
        return b.true_false(
            self.text(),
            right == "true",
            b.join_texts(self.markdown("feedback", answers[right]), general),
            b.join_texts(self.markdown("feedback", answers[wrong]), general),
            self.notes,
        )

    def shortanswer(self) -> Question:
        if (self.element.findtext("usecase") or "0").strip() == "1":
            self.notes.append(_("Answers were case-sensitive; ILMS ignores case."))
        accepted, wildcards, right, wrong = [], [], [], ""
        for answer in self.answers("answer"):
            weight, value = _fraction(answer), (answer.findtext("text") or "").strip()
            feedback = self.markdown("feedback", answer)
            if weight >= 100 and b.is_wildcard(value):
                wildcards.append(value)
                right.append(feedback)
            elif weight >= 100:
                accepted.append(value.replace("\\*", "*"))
                right.append(feedback)
            elif value == "*" and weight == 0:
                wrong = feedback
            else:
                self.notes.append(b.left_out(value, weight))
        question = b.short_answer(self.text(), accepted, wildcards)
        correct = b.one_feedback(right, self.notes)
        return b.with_feedback(question, b.question_feedback(correct, wrong, self.general()))

    def numerical(self) -> Question:
        full, right, wrong = [], [], ""
        for answer in self.answers("answer"):
            weight, value = _fraction(answer), (answer.findtext("text") or "").strip()
            feedback = self.markdown("feedback", answer)
            if value == "*":
                wrong = feedback if weight == 0 else wrong
                continue
            if weight < 100:
                self.notes.append(b.left_out(value, weight))
                continue
            full.append(_numeric_key(value, answer.findtext("tolerance")))
            right.append(feedback)
        question = b.numeric(self.text(), full)
        self.unit(question)
        correct = b.one_feedback(right, self.notes)
        return b.with_feedback(question, b.question_feedback(correct, wrong, self.general()))

    def unit(self, question: Question) -> None:
        units = self.element.findall("units/unit")
        base = [unit for unit in units if b.float_or(unit.findtext("multiplier"), 1.0) == 1.0]
        if base and (name := (base[0].findtext("unit_name") or "").strip()):
            question["unit"] = b.en(name)
        if len(units) > len(base[:1]):
            self.notes.append(_("Only the unit with multiplier 1 was kept."))
        if units and (self.element.findtext("unitgradingtype") or "0").strip() != "0":
            self.notes.append(_("The unit was graded in the source; ILMS only shows it."))

    def matching(self) -> Question:
        pairs, extra = [], []
        for subquestion in self.answers("subquestion"):
            left = self.texts.markdown(
                child_text(subquestion, "."), FORMATS.get(subquestion.get("format", ""), "html")
            )
            right = self.texts.plain(subquestion.findtext("answer/text") or "", "plain")
            if left:
                pairs.append((left, right))
            else:
                extra.append(right)
        if len(pairs) < 2:
            raise ItemError(_("a matching question needs at least two pairs"))
        question = b.matching(self.text(), pairs, extra)
        return b.with_feedback(question, self.combined(partial_possible=True))

    def essay(self) -> Question:
        if (self.element.findtext("responseformat") or "editor").strip() == "noinline":
            raise ItemError(_("it is answered by uploading files, which ILMS does not take"))
        if int(b.float_or(self.element.findtext("attachments"))) != 0:
            self.notes.append(_("Students can attach files in the source; ILMS takes text only."))
        points = b.float_or(self.element.findtext("defaultgrade"), 1.0)
        question = b.essay(self.text(), points, self.rubric(points), self.notes)
        return b.with_feedback(question, b.question_feedback("", "", self.general()))

    def rubric(self, points: float) -> list[tuple[str, float]] | None:
        """The criteria in the information for graders: ``text (2 points)`` lines, or the
        whole text as one criterion."""
        info = self.markdown("graderinfo")
        if not info:
            return None
        lines = [line for line in re.split(r"\\\n|\n+", info) if line.strip()]
        criteria = b.read_rubric(lines)
        if criteria and abs(sum(value for _text, value in criteria) - points) < 1e-9:
            return criteria
        return [(info, points)]

    def ordering(self) -> Question:
        answers = sorted(self.answers("answer"), key=_fraction)
        items = [
            self.texts.markdown(
                child_text(answer, "."), FORMATS.get(answer.get("format", ""), "html")
            )
            for answer in answers
        ]
        grading = (self.element.findtext("gradingtype") or "ABSOLUTE_POSITION").strip().upper()
        if grading not in ("ABSOLUTE_POSITION", "0"):
            self.notes.append(
                _(
                    "Its grading (%(kind)s) differs from ILMS, which gives the share of items in "
                    "their right place.",
                    kind=grading,
                )
            )
        select = (self.element.findtext("selecttype") or "ALL").strip().upper()
        if select not in ("ALL", "0") and int(b.float_or(self.element.findtext("selectcount"))) > 0:
            self.notes.append(_("The source showed a random subset of items; ILMS shows all."))
        question = b.ordering(self.text(), items)
        return b.with_feedback(question, self.combined(partial_possible=True))

    def cloze(self) -> Question:
        raw = strip_private(child_text(self.element, "questiontext"))
        blanks: list[dict[str, Any]] = []
        weights: list[str] = []

        def replace(match: re.Match[str]) -> str:
            limited([*blanks, match])
            blanks.append(self.cloze_blank(str(len(blanks) + 1), match[2], match[3]))
            weights.append(match[1] or "1")
            return blank(len(blanks))

        text = CLOZE_RE.sub(replace, raw)
        if len(set(weights)) > 1:
            self.notes.append(
                _("Its blanks had different weights; in ILMS each blank counts the same.")
            )
        fmt = child_format(self.element, "questiontext")
        markdown = with_blanks(self.texts.markdown(text, fmt, blanks=True))
        question = b.cloze(markdown, blanks)
        return b.with_feedback(question, b.question_feedback("", "", self.general()))

    def cloze_blank(self, blank_id: str, code: str, content: str) -> dict[str, Any]:
        kind = _CLOZE_KINDS.get(code)
        if kind in (None, "numeric", "several"):
            raise ItemError(
                _(
                    "its blank {%(code)s} cannot be imported: ILMS blanks are typed answers or "
                    "drop-down lists",
                    code=code,
                )
            )
        answers = [_cloze_answer(part) for part in limited(re.split(r"(?<!\\)~", content))]
        if kind == "choice":
            self.notes.append(_("Its choices shown as buttons are shown as a drop-down list."))
        if any(0 < weight < 100 for weight, _text in answers):
            self.notes.append(_("Answers worth part of a blank's marks were left out."))
        if kind == "typed-case":
            self.notes.append(_("Answers were case-sensitive; ILMS ignores case."))
        if kind.startswith("typed"):
            accepted = [self.texts.plain(text, "html") for weight, text in answers if weight >= 100]
            if any(b.is_wildcard(text) for text in accepted):
                raise ItemError(
                    _("a blank accepts answers with the * wildcard, which ILMS blanks do not")
                )
            if not accepted:
                raise ItemError(_("a blank has no fully correct answer"))
            return b.typed_blank(blank_id, [text.replace("\\*", "*") for text in accepted])
        options = [self.texts.plain(text, "html") for _weight, text in answers]
        right = [index for index, (weight, _text) in enumerate(answers) if weight >= 100]
        if len(right) != 1:
            raise ItemError(_("a drop-down blank needs exactly one fully correct answer"))
        return b.select_blank(blank_id, options, right[0])

    def gapselect(self) -> Question:
        choices = [
            (
                self.texts.plain(choice.findtext("text") or "", "html"),
                (choice.findtext("group") or "1").strip(),
            )
            for choice in self.answers("selectoption") + self.answers("dragbox")
        ]
        raw = strip_private(child_text(self.element, "questiontext"))
        blanks: list[dict[str, Any]] = []

        def replace(match: re.Match[str]) -> str:
            index = int(match[1]) - 1
            if not 0 <= index < len(choices):
                raise ItemError(_("the gap [[%(number)s]] names no choice", number=match[1]))
            limited([*blanks, match])
            group = [text for text, group in choices if group == choices[index][1]]
            correct = group.index(choices[index][0])
            blanks.append(b.select_blank(str(len(blanks) + 1), group, correct))
            return blank(len(blanks))

        text = re.sub(r"\[\[([0-9]+)\]\]", replace, raw)
        if self.element.get("type") == "ddwtos":
            self.notes.append(_("Its drag-and-drop choices are shown as drop-down lists."))
        fmt = child_format(self.element, "questiontext")
        markdown = with_blanks(self.texts.markdown(text, fmt, blanks=True))
        question = b.cloze(markdown, blanks)
        return b.with_feedback(question, self.combined(partial_possible=True))


def _numeric_key(value: str, tolerance: str | None) -> dict[str, float | int]:
    try:
        answer = float(value)
        margin = abs(float(tolerance)) if tolerance and tolerance.strip() else 0.0
    except ValueError as error:
        raise ItemError(_("'%(value)s' is not a number", value=value[:60])) from error
    key = {"answer": b.number(answer)}
    if margin:
        key["tolerance"] = b.number(margin)
    return key


def _cloze_answer(part: str) -> tuple[float, str]:
    """The weight (percent) and text of one answer of a cloze code, feedback left out."""
    part = part.strip()
    weight = 0.0
    if part.startswith("="):
        weight, part = 100.0, part[1:]
    elif match := re.match(r"%(-?[0-9]+(?:\.[0-9]*)?)%", part):
        weight, part = float(match[1]), part[match.end() :]
    text = re.split(r"(?<!\\)#", part, maxsplit=1)[0]
    return weight, re.sub(r"\\([~}#\\/\"])", r"\1", text).strip()


# --- Writing ----------------------------------------------------------------------------------


def write(questions: list[Question]) -> Written:
    """The questions as Moodle XML, with what it cannot hold."""
    quiz = Element("quiz")
    notes, skipped, count = [], [], 0
    for question in questions:
        writer = _Writer(question)
        try:
            element = writer.element()
        except ItemError as error:
            skipped.append(export_note(question, error.reason))
            continue
        quiz.append(element)
        count += 1
        notes += [export_note(question, note) for note in writer.notes]
    indent(quiz, space="  ")
    data = tostring(quiz, encoding="utf-8", xml_declaration=True)
    return Written(data + b"\n", count, notes, skipped)


def _text(parent: Element, tag: str, value: str, fmt: str | None = "markdown") -> Element:
    element = SubElement(parent, tag, {"format": fmt} if fmt else {})
    SubElement(element, "text").text = value
    return element


def _value(parent: Element, tag: str, value: str) -> Element:
    element = SubElement(parent, tag)
    element.text = value
    return element


def _decimal(value: float | int) -> Decimal:
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


class _Writer:
    """Writes one question as a ``<question>``; ``notes`` collects what Moodle cannot hold."""

    def __init__(self, question: Question) -> None:
        self.question = question
        self.feedback = question.get("feedback") or {}
        self.notes: list[str] = []

    def element(self) -> Element:
        question = self.question
        kind, write_type, text = self.kind()
        element = Element("question", {"type": kind})
        _text(element, "name", question["id"], None)
        _text(element, "questiontext", text)
        _text(element, "generalfeedback", self.general(kind))
        _value(element, "defaultgrade", b.percent(self.points()))
        _value(element, "penalty", "0")
        _value(element, "hidden", "0")
        _value(element, "idnumber", question["id"])
        write_type(element)
        if tags := question.get("tags"):
            holder = SubElement(element, "tags")
            for tag in tags:
                _text(holder, "tag", tag, None)
        return element

    def kind(self) -> tuple[str, Callable[[Element], None], str]:
        """Moodle's type for the question, the writer of its own fields, and its text."""
        text = b.english(self.question["text"])
        kinds: dict[str, tuple[str, Callable[[Element], None]]] = {
            "single_choice": ("multichoice", self.multichoice),
            "multiple_response": ("multichoice", self.multichoice),
            "true_false": ("truefalse", self.truefalse),
            "short_answer": ("shortanswer", self.shortanswer),
            "numeric": ("numerical", self.numerical),
            "matching": ("matching", self.matching),
            "ordering": ("ordering", self.ordering),
            "open_response": ("essay", self.essay),
        }
        if self.question["type"] != "cloze":
            kind, write_type = kinds[self.question["type"]]
            return kind, write_type, text
        blanks = self.question["blanks"]
        if all("options" in blank for blank in blanks) and len(blanks) <= GAPSELECT_GROUPS:
            return "gapselect", self.gapselect, self.gapselect_text(text)
        return "cloze", lambda _element: None, self.cloze_text(text)

    def general(self, kind: str) -> str:
        """Moodle's general feedback: ILMS's feedback, for the types that have nothing else."""
        if kind not in ("essay", "cloze"):
            return ""
        correct, wrong = self.localised("correct"), self.localised("incorrect")
        if correct == wrong:
            return correct
        self.notes.append(
            _(
                "Moodle's %(kind)s questions have one general feedback; the different feedback "
                "for correct and incorrect answers was left out.",
                kind=kind,
            )
        )
        return ""

    def points(self) -> float:
        if self.question["type"] == "open_response":
            return float(sum(_decimal(c["points"]) for c in self.question["rubric"]))
        return float(self.question.get("points", 1))

    def localised(self, key: str) -> str:
        return b.english(self.feedback.get(key))

    def combined(self, element: Element) -> None:
        _text(element, "correctfeedback", self.localised("correct"))
        _text(element, "partiallycorrectfeedback", self.localised("incorrect"))
        _text(element, "incorrectfeedback", self.localised("incorrect"))

    def multichoice(self, element: Element) -> None:
        options = self.question["options"]
        single = self.question["type"] == "single_choice"
        if single:
            weights = [100.0 if option["correct"] else 0.0 for option in options]
        else:
            weights = b.ilms_weights(options)
        _value(element, "single", "true" if single else "false")
        _value(element, "shuffleanswers", "true")
        _value(element, "answernumbering", "abc")
        self.combined(element)
        for option, weight in zip(options, weights, strict=True):
            answer = _text(element, "answer", b.english(option["text"]))
            answer.set("fraction", b.percent(weight))
            _text(answer, "feedback", b.english(option["feedback"]))

    def truefalse(self, element: Element) -> None:
        right = self.question["answer"]
        for value in (True, False):
            answer = _text(element, "answer", str(value).lower(), "moodle_auto_format")
            answer.set("fraction", "100" if value is right else "0")
            key = "correct" if value is right else "incorrect"
            _text(answer, "feedback", self.localised(key))

    def shortanswer(self, element: Element) -> None:
        question = self.question
        answers = [literal_answer(text) for text in question.get("accepted", {}).get("en", [])]
        if "pattern" in question:
            wildcards = b.pattern_wildcards(question["pattern"])
            if wildcards is None and not answers:
                raise ItemError(
                    _("its pattern cannot be written for Moodle, and it has no answers")
                )
            if wildcards is None:
                self.notes.append(_("Its pattern cannot be written for Moodle and was left out."))
            answers += wildcards or []
        _value(element, "usecase", "0")
        for text in answers:
            self.answer(element, text, "100", self.localised("correct"))
        if wrong := self.localised("incorrect"):
            self.answer(element, "*", "0", wrong)

    def answer(self, element: Element, text: str, fraction: str, feedback: str) -> Element:
        answer = _text(element, "answer", text, "moodle_auto_format")
        answer.set("fraction", fraction)
        _text(answer, "feedback", feedback)
        return answer

    def numerical(self, element: Element) -> None:
        question = self.question
        if "min" in question:
            low, high = _decimal(question["min"]), _decimal(question["max"])
            value, tolerance = (low + high) / 2, (high - low) / 2
            self.notes.append(_("Its range was written as an answer with a tolerance."))
        else:
            value, tolerance = _decimal(question["answer"]), _decimal(question.get("tolerance", 0))
        answer = self.answer(element, f"{value.normalize():f}", "100", self.localised("correct"))
        _value(answer, "tolerance", f"{tolerance.normalize():f}")
        if wrong := self.localised("incorrect"):
            _value(self.answer(element, "*", "0", wrong), "tolerance", "0")
        if unit := b.english(question.get("unit")):
            unit_element = SubElement(SubElement(element, "units"), "unit")
            _value(unit_element, "multiplier", "1")
            _value(unit_element, "unit_name", unit)
        _value(element, "unitgradingtype", "0")
        _value(element, "showunits", "3")
        _value(element, "unitsleft", "0")

    def matching(self, element: Element) -> None:
        _value(element, "shuffleanswers", "true")
        self.combined(element)
        for pair in self.question["pairs"]:
            subquestion = _text(element, "subquestion", b.english(pair["left"]))
            _text(subquestion, "answer", b.english(pair["right"]), None)
        for distractor in self.question.get("distractors", []):
            subquestion = _text(element, "subquestion", "")
            _text(subquestion, "answer", b.english(distractor["right"]), None)

    def ordering(self, element: Element) -> None:
        for tag, value in (
            ("layouttype", "VERTICAL"),
            ("selecttype", "ALL"),
            ("selectcount", "0"),
            ("gradingtype", "ABSOLUTE_POSITION"),
            ("showgrading", "SHOW"),
            ("numberingstyle", "none"),
        ):
            _value(element, tag, value)
        self.combined(element)
        for position, item in enumerate(self.question["items"], 1):
            answer = _text(element, "answer", b.english(item["text"]))
            answer.set("fraction", str(position))

    def gapselect(self, element: Element) -> None:
        _value(element, "shuffleanswers", "1")
        self.combined(element)
        for group, gap in enumerate(self.question["blanks"], 1):
            for option in gap["options"]:
                choice = SubElement(element, "selectoption")
                _value(choice, "text", b.english(option["text"]))
                _value(choice, "group", str(group))

    def gapselect_text(self, text: str) -> str:
        """``[[blank id]]`` as gapselect's ``[[n]]``: the n-th choice is the blank's answer."""
        position, places = 0, {}
        for gap in self.question["blanks"]:
            correct = next(i for i, o in enumerate(gap["options"]) if o["correct"])
            places[gap["id"]] = position + correct + 1
            position += len(gap["options"])
        return re.sub(r"\[\[([^\[\]]*)\]\]", lambda m: f"[[{places[m[1]]}]]", text)

    def cloze_text(self, text: str) -> str:
        blanks = {blank["id"]: blank for blank in self.question["blanks"]}

        def code(match: re.Match[str]) -> str:
            blank_ = blanks[match[1]]
            if "options" in blank_:
                answers = [
                    ("=" if option["correct"] else "") + _cloze_escape(b.english(option["text"]))
                    for option in blank_["options"]
                ]
                return "{1:MULTICHOICE:" + "~".join(answers) + "}"
            accepted = [literal_answer(a) for a in blank_["accepted"].get("en", [])]
            return "{1:SHORTANSWER:" + "~".join("=" + _cloze_escape(a) for a in accepted) + "}"

        return re.sub(r"\[\[([^\[\]]*)\]\]", code, text)

    def essay(self, element: Element) -> None:
        for tag, value in (
            ("responseformat", "editor"),
            ("responserequired", "1"),
            ("responsefieldlines", "15"),
            ("attachments", "0"),
            ("attachmentsrequired", "0"),
        ):
            _value(element, tag, value)
        _text(element, "graderinfo", "\n\n".join(b.rubric_lines(self.question["rubric"])))
        _text(element, "responsetemplate", "")


def _cloze_escape(text: str) -> str:
    """An answer inside a cloze code: its special characters escaped, HTML characters too."""
    text = re.sub(r"([\\~}#/\"])", r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
