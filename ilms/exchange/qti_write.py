"""Writing a bank as an IMS QTI 2.1 content package: ``imsmanifest.xml`` and one item a question.

Each item scores as ILMS does, with response processing any QTI 2.1 player can run (mapped
responses for partial credit, a sum over positions for ordering, over blanks for fill-in-the-
blanks). Question and option feedback is written as modal and inline feedback. Tags are the LOM
keywords of the item's resource in the manifest.
"""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from io import BytesIO
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from ilms import __version__
from ilms.exchange import build as b
from ilms.exchange.items import Question, Written, export_note
from ilms.exchange.qti import BLANK_PREFIX, ID_PREFIX, TOOL_NAME
from ilms.exchange.text import append_markdown

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: A fixed time for the archive's entries, so that the same bank gives the same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def write(questions: list[Question], slug: str = "bank") -> Written:
    """The questions as a QTI 2.1 package (a zip archive)."""
    notes: list[str] = []
    files: dict[str, bytes] = {}
    resources = []
    for question in questions:
        writer = _ItemWriter(question)
        path = f"items/{question['id']}.xml"
        files[path] = _xml(writer.item())
        resources.append((question, path))
        notes += [export_note(question, note) for note in writer.notes]
    files = {"imsmanifest.xml": _xml(_manifest(slug, resources)), **files}
    return Written(_zip(files), len(questions), notes, [])


def _xml(root: Element) -> bytes:
    indent(root, space="  ")
    return tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _manifest(slug: str, resources: list[tuple[Question, str]]) -> Element:
    manifest = Element(
        "manifest",
        {
            "xmlns": CP_NS,
            "xmlns:imsmd": LOM_NS,
            "xmlns:xsi": XSI_NS,
            "identifier": f"MANIFEST-{slug}",
            "xsi:schemaLocation": f"{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd",
        },
    )
    metadata = SubElement(manifest, "metadata")
    SubElement(metadata, "schema").text = "QTIv2.1 Package"
    SubElement(metadata, "schemaversion").text = "1.0.0"
    SubElement(manifest, "organizations")
    holder = SubElement(manifest, "resources")
    for question, path in resources:
        resource = SubElement(
            holder,
            "resource",
            {"identifier": f"RES-{question['id']}", "type": "imsqti_item_xmlv2p1", "href": path},
        )
        if tags := question.get("tags"):
            general = SubElement(
                SubElement(SubElement(resource, "metadata"), "imsmd:lom"), "imsmd:general"
            )
            for tag in tags:
                keyword = SubElement(general, "imsmd:keyword")
                SubElement(keyword, "imsmd:string", {"language": "en"}).text = tag
        SubElement(resource, "file", {"href": path})
    return manifest


def qti_id(identifier: str) -> str:
    """An ILMS id as a QTI identifier (an XML name, which cannot start with a digit or '-')."""
    return identifier if re.match(r"[A-Za-z_]", identifier) else ID_PREFIX + identifier


def _number(value: float | int) -> str:
    decimal = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    return f"{decimal.normalize():f}"


def _value(parent: Element, tag: str, text: str, **attributes: str) -> Element:
    element = SubElement(parent, tag, attributes)
    element.text = text
    return element


def _variable(parent: Element, identifier: str) -> Element:
    return SubElement(parent, "variable", {"identifier": identifier})


def _set(parent: Element, identifier: str) -> Element:
    return SubElement(parent, "setOutcomeValue", {"identifier": identifier})


def _base(parent: Element, base_type: str, value: str) -> Element:
    return _value(parent, "baseValue", value, baseType=base_type)


def _if(parent: Element) -> tuple[Element, Element]:
    """A ``responseCondition`` with its ``responseIf``: (the if, where its condition goes)."""
    condition = SubElement(parent, "responseCondition")
    branch = SubElement(condition, "responseIf")
    return condition, branch


class _ItemWriter:
    """Writes one question as an assessmentItem; ``notes`` collects what QTI cannot hold."""

    def __init__(self, question: Question) -> None:
        self.question = question
        self.kind = question["type"]
        self.points = b.number(_points(question))
        self.notes: list[str] = []

    def item(self) -> Element:
        question = self.question
        self.root = Element(
            "assessmentItem",
            {
                "xmlns": QTI_NS,
                "xmlns:xsi": XSI_NS,
                "xsi:schemaLocation": f"{QTI_NS} {QTI_XSD}",
                "identifier": qti_id(question["id"]),
                "title": question["id"],
                "adaptive": "false",
                "timeDependent": "false",
                "xml:lang": "en",
                "toolName": TOOL_NAME,
                "toolVersion": __version__,
            },
        )
        self.declarations()
        self.outcomes()
        self.body = SubElement(self.root, "itemBody")
        getattr(self, f"body_{self.kind}")()
        if self.kind != "open_response":
            self.processing = SubElement(self.root, "responseProcessing")
            getattr(self, f"score_{self.kind}")()
            self.feedback_rules()
        self.modal_feedback()
        return self.root

    # -- declarations

    def declarations(self) -> None:
        declare = getattr(self, f"declare_{self.kind}", None)
        if declare is not None:
            declare()

    def declaration(self, identifier: str, cardinality: str, base_type: str) -> Element:
        return SubElement(
            self.root,
            "responseDeclaration",
            {"identifier": identifier, "cardinality": cardinality, "baseType": base_type},
        )

    def correct(self, declaration: Element, values: list[str]) -> None:
        holder = SubElement(declaration, "correctResponse")
        for value in values:
            _value(holder, "value", value)

    def mapping(
        self, declaration: Element, entries: list[tuple[str, float]], **bounds: str
    ) -> None:
        mapping = SubElement(declaration, "mapping", {"defaultValue": "0", **bounds})
        for key, value in entries:
            SubElement(
                mapping,
                "mapEntry",
                {"mapKey": key, "mappedValue": _number(value), "caseSensitive": "false"},
            )

    def outcomes(self) -> None:
        score = SubElement(
            self.root,
            "outcomeDeclaration",
            {
                "identifier": "SCORE",
                "cardinality": "single",
                "baseType": "float",
                "normalMaximum": _number(self.points),
            },
        )
        _value(SubElement(score, "defaultValue"), "value", "0")
        maximum = SubElement(
            self.root,
            "outcomeDeclaration",
            {"identifier": "MAXSCORE", "cardinality": "single", "baseType": "float"},
        )
        _value(SubElement(maximum, "defaultValue"), "value", _number(self.points))
        SubElement(
            self.root,
            "outcomeDeclaration",
            {"identifier": "FEEDBACK", "cardinality": "multiple", "baseType": "identifier"},
        )

    def declare_single_choice(self) -> None:
        declaration = self.declaration("RESPONSE", "single", "identifier")
        right = [qti_id(o["id"]) for o in self.question["options"] if o["correct"]]
        self.correct(declaration, right)

    def declare_multiple_response(self) -> None:
        declaration = self.declaration("RESPONSE", "multiple", "identifier")
        options = self.question["options"]
        self.correct(declaration, [qti_id(o["id"]) for o in options if o["correct"]])
        weights = b.ilms_weights(options)
        entries = [
            (qti_id(o["id"]), self.points * w / 100) for o, w in zip(options, weights, strict=True)
        ]
        self.mapping(declaration, entries, lowerBound="0", upperBound=_number(self.points))

    def declare_true_false(self) -> None:
        declaration = self.declaration("RESPONSE", "single", "identifier")
        self.correct(declaration, ["true" if self.question["answer"] else "false"])

    def declare_short_answer(self) -> None:
        declaration = self.declaration("RESPONSE", "single", "string")
        accepted = self.question.get("accepted", {}).get("en", [])
        if accepted:
            self.correct(declaration, accepted[:1])
            self.mapping(declaration, [(answer, self.points) for answer in accepted])

    def declare_numeric(self) -> None:
        declaration = self.declaration("RESPONSE", "single", "float")
        question = self.question
        if "answer" in question:
            self.correct(declaration, [_number(question["answer"])])
        else:
            low, high = Decimal(repr(question["min"])), Decimal(repr(question["max"]))
            self.correct(declaration, [f"{((low + high) / 2).normalize():f}"])

    def declare_matching(self) -> None:
        declaration = self.declaration("RESPONSE", "multiple", "directedPair")
        pairs = [f"{qti_id(p['id'])} {self.right_id(p['id'])}" for p in self.question["pairs"]]
        self.correct(declaration, pairs)
        share = self.points / len(pairs)
        self.mapping(declaration, [(pair, share) for pair in pairs], lowerBound="0")

    def right_id(self, pair_id: str) -> str:
        return f"R-{pair_id}"

    def declare_ordering(self) -> None:
        declaration = self.declaration("RESPONSE", "ordered", "identifier")
        self.correct(declaration, [qti_id(item["id"]) for item in self.question["items"]])

    def declare_cloze(self) -> None:
        for blank in self.question["blanks"]:
            identifier = BLANK_PREFIX + blank["id"]
            if "options" in blank:
                declaration = self.declaration(identifier, "single", "identifier")
                right = [qti_id(o["id"]) for o in blank["options"] if o["correct"]]
                self.correct(declaration, right)
            else:
                declaration = self.declaration(identifier, "single", "string")
                accepted = blank["accepted"].get("en", [])
                self.correct(declaration, accepted[:1])
                self.mapping(declaration, [(answer, 1) for answer in accepted])

    def declare_open_response(self) -> None:
        self.declaration("RESPONSE", "single", "string")

    # -- bodies

    def paragraph(self, markdown: str) -> Element:
        paragraph = SubElement(self.body, "p")
        append_markdown(paragraph, markdown)
        return paragraph

    def text(self) -> str:
        return b.english(self.question["text"])

    def choices(self, max_choices: str, options: list[tuple[str, str, str]]) -> None:
        self.paragraph(self.text())
        interaction = SubElement(
            self.body,
            "choiceInteraction",
            {"responseIdentifier": "RESPONSE", "shuffle": "true", "maxChoices": max_choices},
        )
        for identifier, text, feedback in options:
            choice = SubElement(interaction, "simpleChoice", {"identifier": identifier})
            append_markdown(choice, text)
            if feedback:
                inline = SubElement(
                    choice,
                    "feedbackInline",
                    {"outcomeIdentifier": "FEEDBACK", "identifier": identifier, "showHide": "show"},
                )
                append_markdown(inline, feedback)

    def body_single_choice(self) -> None:
        options = [
            (qti_id(o["id"]), b.english(o["text"]), b.english(o["feedback"]))
            for o in self.question["options"]
        ]
        self.choices("1", options)

    def body_multiple_response(self) -> None:
        options = [
            (qti_id(o["id"]), b.english(o["text"]), b.english(o["feedback"]))
            for o in self.question["options"]
        ]
        self.choices("0", options)

    def body_true_false(self) -> None:
        self.choices("1", [("true", "True", ""), ("false", "False", "")])

    def body_short_answer(self) -> None:
        self.paragraph(self.text())
        holder = SubElement(self.body, "p")
        SubElement(
            holder,
            "textEntryInteraction",
            {"responseIdentifier": "RESPONSE", "expectedLength": "40"},
        )

    def body_numeric(self) -> None:
        self.paragraph(self.text())
        holder = SubElement(self.body, "p")
        entry = SubElement(
            holder,
            "textEntryInteraction",
            {"responseIdentifier": "RESPONSE", "expectedLength": "15"},
        )
        if unit := b.english(self.question.get("unit")):
            entry.tail = " "
            _value(holder, "span", unit, **{"class": "unit"})

    def body_matching(self) -> None:
        self.paragraph(self.text())
        pairs = self.question["pairs"]
        interaction = SubElement(
            self.body,
            "matchInteraction",
            {
                "responseIdentifier": "RESPONSE",
                "shuffle": "true",
                "maxAssociations": str(len(pairs)),
            },
        )
        lefts, rights = (
            SubElement(interaction, "simpleMatchSet"),
            SubElement(interaction, "simpleMatchSet"),
        )
        for pair in pairs:
            left = SubElement(
                lefts, "simpleAssociableChoice", {"identifier": qti_id(pair["id"]), "matchMax": "1"}
            )
            append_markdown(left, b.english(pair["left"]))
            right = SubElement(
                rights,
                "simpleAssociableChoice",
                {"identifier": self.right_id(pair["id"]), "matchMax": "1"},
            )
            right.text = b.english(pair["right"])
        for distractor in self.question.get("distractors", []):
            right = SubElement(
                rights,
                "simpleAssociableChoice",
                {"identifier": qti_id(distractor["id"]), "matchMax": "1"},
            )
            right.text = b.english(distractor["right"])

    def body_ordering(self) -> None:
        self.paragraph(self.text())
        interaction = SubElement(
            self.body, "orderInteraction", {"responseIdentifier": "RESPONSE", "shuffle": "true"}
        )
        for item in self.question["items"]:
            choice = SubElement(interaction, "simpleChoice", {"identifier": qti_id(item["id"])})
            append_markdown(choice, b.english(item["text"]))

    def body_cloze(self) -> None:
        blanks = {blank["id"]: blank for blank in self.question["blanks"]}
        paragraph = SubElement(self.body, "p")
        pieces = re.split(r"\[\[([^\[\]]*)\]\]", self.text())
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                _append_text(paragraph, piece)
            else:
                self.blank_interaction(paragraph, blanks[piece])

    def blank_interaction(self, paragraph: Element, blank: dict[str, Any]) -> None:
        identifier = BLANK_PREFIX + blank["id"]
        if "options" not in blank:
            SubElement(
                paragraph,
                "textEntryInteraction",
                {"responseIdentifier": identifier, "expectedLength": "20"},
            )
            return
        interaction = SubElement(
            paragraph,
            "inlineChoiceInteraction",
            {"responseIdentifier": identifier, "shuffle": "true"},
        )
        for option in blank["options"]:
            choice = SubElement(interaction, "inlineChoice", {"identifier": qti_id(option["id"])})
            choice.text = b.english(option["text"])

    def body_open_response(self) -> None:
        self.paragraph(self.text())
        SubElement(
            self.body,
            "extendedTextInteraction",
            {"responseIdentifier": "RESPONSE", "expectedLines": "10"},
        )
        rubric = SubElement(self.body, "rubricBlock", {"view": "scorer"})
        for line in b.rubric_lines(self.question["rubric"]):
            paragraph = SubElement(rubric, "p")
            append_markdown(paragraph, line)

    # -- scoring

    def full_marks_if(self, test: Element) -> None:
        """SCORE = MAXSCORE when ``test`` (already built) holds; ``test`` is moved into place."""
        _condition, branch = _if(self.processing)
        branch.append(test)
        _variable(_set(branch, "SCORE"), "MAXSCORE")

    def match_correct(self) -> None:
        test = Element("match")
        _variable(test, "RESPONSE")
        SubElement(test, "correct", {"identifier": "RESPONSE"})
        self.full_marks_if(test)

    def map_response(self) -> None:
        SubElement(_set(self.processing, "SCORE"), "mapResponse", {"identifier": "RESPONSE"})

    def score_single_choice(self) -> None:
        self.match_correct()

    score_true_false = score_single_choice

    def score_multiple_response(self) -> None:
        self.map_response()

    def score_matching(self) -> None:
        self.map_response()

    def score_short_answer(self) -> None:
        if self.question.get("accepted"):
            self.map_response()
        if pattern := self.question.get("pattern"):
            test = Element("patternMatch", {"pattern": pattern})
            _variable(test, "RESPONSE")
            self.full_marks_if(test)

    def score_numeric(self) -> None:
        question = self.question
        if "answer" in question:
            tolerance = _number(question.get("tolerance", 0))
            test = Element(
                "equal", {"toleranceMode": "absolute", "tolerance": f"{tolerance} {tolerance}"}
            )
            _variable(test, "RESPONSE")
            _base(test, "float", _number(question["answer"]))
        else:
            test = Element("and")
            for operator, key in (("gte", "min"), ("lte", "max")):
                comparison = SubElement(test, operator)
                _variable(comparison, "RESPONSE")
                _base(comparison, "float", _number(question[key]))
        self.full_marks_if(test)

    def add_share(self, test: Element, share: float) -> None:
        """SCORE += ``share`` when ``test`` holds."""
        _condition, branch = _if(self.processing)
        branch.append(test)
        total = SubElement(_set(branch, "SCORE"), "sum")
        _variable(total, "SCORE")
        _base(total, "float", _number(share))

    def score_ordering(self) -> None:
        items = self.question["items"]
        for position, item in enumerate(items, 1):
            test = Element("match")
            _variable(SubElement(test, "index", {"n": str(position)}), "RESPONSE")
            _base(test, "identifier", qti_id(item["id"]))
            self.add_share(test, self.points / len(items))

    def score_cloze(self) -> None:
        blanks = self.question["blanks"]
        for blank in blanks:
            identifier = BLANK_PREFIX + blank["id"]
            if "options" in blank:
                test = Element("match")
                _variable(test, identifier)
                SubElement(test, "correct", {"identifier": identifier})
            else:
                test = Element("gt")
                SubElement(test, "mapResponse", {"identifier": identifier})
                _base(test, "float", "0")
            self.add_share(test, self.points / len(blanks))

    # -- feedback

    def feedback_rules(self) -> None:
        """FEEDBACK: the chosen options (for their inline feedback), and ``correct`` or
        ``incorrect`` for the modal feedback."""
        condition, branch = _if(self.processing)
        test = SubElement(branch, "gte")
        _variable(test, "SCORE")
        _variable(test, "MAXSCORE")
        for key, holder in (
            ("correct", branch),
            ("incorrect", SubElement(condition, "responseElse")),
        ):
            chosen = SubElement(_set(holder, "FEEDBACK"), "multiple")
            if self.kind in ("single_choice", "multiple_response"):
                _variable(chosen, "RESPONSE")
            _base(chosen, "identifier", key)

    def modal_feedback(self) -> None:
        feedback = self.question.get("feedback") or {}
        for key in ("correct", "incorrect"):
            if text := b.english(feedback.get(key)):
                modal = SubElement(
                    self.root,
                    "modalFeedback",
                    {"outcomeIdentifier": "FEEDBACK", "identifier": key, "showHide": "show"},
                )
                append_markdown(SubElement(modal, "p"), text)


def _points(question: Question) -> float:
    if question["type"] == "open_response":
        return float(sum(Decimal(repr(c["points"])) for c in question["rubric"]))
    return float(question.get("points", 1))


def _append_text(parent: Element, markdown: str) -> None:
    """Append Markdown after the children already in ``parent`` (between blanks)."""
    holder = Element("span")
    append_markdown(holder, markdown)
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + (holder.text or "")
    else:
        parent.text = (parent.text or "") + (holder.text or "")
    parent.extend(list(holder))
