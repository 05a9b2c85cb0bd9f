"""IMS QTI: items of QTI 2.1, 2.2 and 3.0 (loose or in a content package with imsmanifest.xml),
and packages or files of QTI 1.2 as Canvas writes them (read by :mod:`ilms.exchange.qti12`).

QTI 3.0 names (``qti-choice-interaction``, ``response-identifier``) are read as their QTI 2
equivalents (``choiceInteraction``, ``responseIdentifier``), so one reader serves both. Scoring is
understood from the standard response processing templates (match_correct, map_response) and, for
items ILMS wrote itself, from the rules it writes; other response processing is not interpreted,
and the item is marked so.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from flask_babel import gettext as _

from ilms.exchange import build as b
from ilms.exchange import qti12
from ilms.exchange.items import (
    Draft,
    Entry,
    ExchangeError,
    ItemError,
    Question,
    Skipped,
    check_count,
    limited,
)
from ilms.exchange.safety import Archive, parse_xml
from ilms.exchange.text import Collector, blank, strip_private, with_blanks

#: The toolName ILMS writes on its items: their scoring follows ILMS's own rules.
TOOL_NAME = "ILMS"
#: Identifiers that are not valid XML names get this prefix when written (ILMS ids may start
#: with a digit); ILMS ids are lower case, so the prefix cannot be part of one.
ID_PREFIX = "ID_"
BLANK_PREFIX = "BLANK_"
INTERACTIONS = {
    "choiceInteraction", "textEntryInteraction", "inlineChoiceInteraction", "orderInteraction",
    "matchInteraction", "associateInteraction", "extendedTextInteraction",
    "gapMatchInteraction", "hottextInteraction", "hotspotInteraction", "graphicOrderInteraction",
    "graphicAssociateInteraction", "graphicGapMatchInteraction", "selectPointInteraction",
    "positionObjectInteraction", "positionObjectStage", "sliderInteraction", "uploadInteraction",
    "drawingInteraction", "mediaInteraction", "customInteraction",
    "portableCustomInteraction", "endAttemptInteraction",
}  # fmt: skip
_INLINE = {"textEntryInteraction", "inlineChoiceInteraction"}
_KEPT_ATTRIBUTES = {"src", "alt", "href", "data", "title", "class", "lang"}


# --- Files and packages -------------------------------------------------------------------------


def read_xml(data: bytes, name: str) -> list[Entry]:
    """A loose QTI file: one QTI 2.x/3.0 item, or a QTI 1.2 file."""
    root = normalise(parse_xml(data, name))
    if root.tag == "questestinterop":
        return qti12.read(root, Collector, [], 0)
    if root.tag == "assessmentItem":
        return [read_item(root, 1, Collector(), [])]
    if root.tag == "manifest":
        raise ExchangeError(
            _("%(name)s is a package manifest; import the zip archive that holds it.", name=name)
        )
    raise ExchangeError(
        _(
            "%(name)s is not a QTI item or QTI 1.2 file (its root is <%(root)s>).",
            name=name,
            root=root.tag,
        )
    )


@dataclass
class _Resource:
    path: str
    kind: str
    tags: list[str] = field(default_factory=list)


def read_package(archive: Archive) -> list[Entry]:
    """Every item of a content package, in the order of its manifest (or of its files)."""
    manifest = archive.find("imsmanifest.xml")
    resources = _manifest(archive, manifest) if manifest else _loose_files(archive)
    if not resources:
        raise ExchangeError(_("The archive holds no QTI items."))
    check_count(len(resources))
    entries: list[Entry] = []
    for resource in resources:
        entries += _read_resource(archive, resource, len(entries))
        check_count(len(entries))
    return entries


def _manifest(archive: Archive, path: str) -> list[_Resource]:
    root = parse_xml(archive.read(path), path)
    base = posixpath.dirname(path)
    resources, seen = [], set()
    for resource in root.iter("resource"):
        kind = resource.get("type", "")
        hrefs = [resource.get("href", "")] + [f.get("href", "") for f in resource.findall("file")]
        for href in hrefs:
            target = _resolve(base, href)
            if target in seen or not _is_qti_file(kind, target) or not archive.find(target):
                continue
            seen.add(target)
            resources.append(_Resource(archive.find(target) or target, kind, _keywords(resource)))
    return _without_cc_copies(resources)


def _resolve(base: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(base, unquote(href))).lstrip("/") if href else ""


def _is_qti_file(kind: str, path: str) -> bool:
    """Whether a file of a manifest resource is QTI: an item resource lists its images too."""
    if not path.endswith((".xml", ".qti")) or path.endswith("assessment_meta.xml"):
        return False
    kind = kind.lower()
    if kind.startswith("imsqti_test") or kind.startswith("imsqti_section"):
        return False
    return kind.startswith(("imsqti", "ims_qti")) or path.endswith(".xml.qti")


def _without_cc_copies(resources: list[_Resource]) -> list[_Resource]:
    """A Canvas course export holds each quiz twice: a Common Cartridge copy
    (``<quiz>/assessment_qti.xml``) and Canvas's own, fuller one (``non_cc_assessments/<quiz>.xml.qti``)."""
    canvas = {posixpath.basename(r.path).removesuffix(".xml.qti") for r in resources}
    return [
        resource
        for resource in resources
        if not (
            resource.path.endswith("/assessment_qti.xml")
            and posixpath.basename(posixpath.dirname(resource.path)) in canvas
        )
    ]


def _keywords(resource: Element) -> list[str]:
    """The LOM keywords of a manifest resource: an item's tags."""
    return [
        " ".join((string.text or "").split())
        for keyword in resource.iter("keyword")
        for string in keyword.iter("string")
        if (string.text or "").strip()
    ]


def _loose_files(archive: Archive) -> list[_Resource]:
    names = sorted(name for name in archive.names if name.endswith((".xml", ".xml.qti", ".qti")))
    return [_Resource(name, "") for name in names]


def _read_resource(archive: Archive, resource: _Resource, before: int) -> list[Entry]:
    root = normalise(parse_xml(archive.read(resource.path), resource.path))
    folder = posixpath.dirname(resource.path)

    def exists(src: str) -> bool:
        candidates = (_resolve(folder, src), src, f"web_resources/{src}")
        return any(archive.find(candidate) for candidate in candidates)

    def texts() -> Collector:
        return Collector(exists, package=True)

    if root.tag == "questestinterop":
        return qti12.read(root, texts, resource.tags, before)
    if root.tag == "assessmentItem":
        return [read_item(root, before + 1, texts(), resource.tags)]
    return []


# --- QTI 3.0 names ------------------------------------------------------------------------------


def normalise(root: Element) -> Element:
    """QTI 3.0 names as QTI 2: ``qti-choice-interaction`` → ``choiceInteraction``."""
    for element in root.iter():
        if element.tag.startswith("qti-"):
            element.tag = _camel(element.tag[4:])
            for key in [key for key in element.attrib if "-" in key]:
                if not key.startswith(("data-", "aria-")):
                    element.attrib[_camel(key)] = element.attrib.pop(key)
    return root


def _camel(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


# --- One item -----------------------------------------------------------------------------------


@dataclass
class _Declaration:
    cardinality: str
    base_type: str
    correct: list[str]
    mapping: dict[str, float]
    default: float
    case_sensitive: bool


def _declarations(item: Element) -> dict[str, _Declaration]:
    found = {}
    for declaration in item.findall("responseDeclaration"):
        mapping = declaration.find("mapping")
        if mapping is None:
            mapping = declaration.find("areaMapping")
        entries = [] if mapping is None else mapping.findall("mapEntry")
        found[declaration.get("identifier", "")] = _Declaration(
            cardinality=declaration.get("cardinality", "single"),
            base_type=declaration.get("baseType", "identifier"),
            correct=[(v.text or "").strip() for v in declaration.findall("correctResponse/value")],
            mapping={e.get("mapKey", ""): b.float_or(e.get("mappedValue")) for e in entries},
            default=b.float_or(mapping.get("defaultValue")) if mapping is not None else 0.0,
            case_sensitive=any(e.get("caseSensitive") == "true" for e in entries),
        )
    return found


class _Item:
    """Reads one assessmentItem; ``texts`` collects its texts' notes and media."""

    def __init__(self, element: Element, texts: Collector) -> None:
        self.element = element
        self.texts = texts
        self.notes = texts.notes
        self.ilms = element.get("toolName") == TOOL_NAME
        self.declarations = _declarations(element)
        processing = element.find("responseProcessing")
        self.processing = processing
        template = "" if processing is None else processing.get("template", "")
        template = template or (
            "" if processing is None else processing.get("templateLocation", "")
        )
        self.template = re.sub(r"\.xml$", "", template.rstrip("/").rsplit("/", 1)[-1])
        self.body = element.find("itemBody")
        if self.body is None:
            raise ItemError(_("it has no itemBody"))
        self.feedback = self._feedback()

    def id(self, identifier: str) -> str:
        """A part's id as ILMS wrote it, undoing the prefix that made it an XML name."""
        if self.ilms and identifier.startswith(ID_PREFIX):
            return identifier[len(ID_PREFIX) :]
        return identifier

    # -- texts

    def html(self, element: Element, replace: Callable[[Element], str | None] | None = None) -> str:
        """The content of ``element`` as HTML; ``replace`` gives the text for QTI elements."""
        # Private-use characters are taken out first: blanks are marked with them.
        parts = [xml_escape(strip_private(element.text or ""))]
        for child in element:
            parts.append(self._child_html(child, replace))
            parts.append(xml_escape(strip_private(child.tail or "")))
        return "".join(parts)

    def _child_html(self, child: Element, replace: Callable[[Element], str | None] | None) -> str:
        if replace is not None and (value := replace(child)) is not None:
            return value
        if child.tag in INTERACTIONS or child.tag in (
            "feedbackInline",
            "feedbackBlock",
            "modalFeedback",
            "printedVariable",
            "templateBlock",
            "templateInline",
            "include",
        ):
            return ""
        if child.tag == "rubricBlock" and child.get("view", "candidate") != "candidate":
            return ""
        attributes = "".join(
            f" {key}={quoteattr(value)}"
            for key, value in child.attrib.items()
            if key in _KEPT_ATTRIBUTES
        )
        return f"<{child.tag}{attributes}>{self.html(child, replace)}</{child.tag}>"

    def markdown(self, element: Element | None) -> str:
        return "" if element is None else self.texts.markdown(self.html(element))

    def plain(self, element: Element | None) -> str:
        return "" if element is None else self.texts.plain(self.html(element))

    def stem(self, interaction: Element | None) -> str:
        """The question text: the item body without its interactions, then the prompt."""
        prompt = None if interaction is None else interaction.find("prompt")
        return b.join_texts(self.markdown(self.body), self.markdown(prompt))

    def _feedback(self) -> dict[str, str]:
        """Modal and block feedback by what it is for: ``correct``, ``incorrect``, ``general``,
        or the identifier of the choice it belongs to."""
        found: dict[str, str] = {}
        feedbacks = self.element.findall("modalFeedback") + list(self.body.iter("feedbackBlock"))
        for feedback in feedbacks:
            content = feedback.find("contentBody")
            text = self.markdown(content if content is not None else feedback)
            key = _feedback_key(feedback.get("identifier", ""))
            if text:
                found[key] = b.join_texts(found.get(key, ""), text)
        return found

    def question_feedback(self) -> dict[str, Any] | None:
        """The question's feedback; feedback for no known purpose and no choice is general."""
        choices = {choice.get("identifier") for choice in self.body.iter("simpleChoice")}
        other = [
            text
            for key, text in self.feedback.items()
            if key not in ("correct", "incorrect") and key not in choices
        ]
        return b.question_feedback(
            self.feedback.get("correct", ""),
            self.feedback.get("incorrect", ""),
            b.join_texts(*other),
        )

    # -- scoring

    def declaration(self, interaction: Element) -> _Declaration:
        identifier = interaction.get("responseIdentifier", "")
        if identifier not in self.declarations:
            raise ItemError(
                _("its interaction answers '%(id)s', which it does not declare", id=identifier)
            )
        return self.declarations[identifier]

    def max_score(self) -> float:
        for outcome in self.element.findall("outcomeDeclaration"):
            if outcome.get("identifier") == "SCORE" and outcome.get("normalMaximum"):
                return b.float_or(outcome.get("normalMaximum"), 1.0)
        for outcome in self.element.findall("outcomeDeclaration"):
            if outcome.get("identifier") == "MAXSCORE":
                return b.float_or(outcome.findtext("defaultValue/value"), 1.0)
        return 1.0

    def scoring_note(self, rule: str) -> None:
        """Say how ILMS scores an item whose own scoring ILMS does not follow."""
        if self.ilms:
            return
        if self.template == "match_correct" and rule not in ("single", "typed"):
            self.notes.append(
                _(
                    "The source gives marks only for a fully right answer; ILMS gives partial "
                    "credit: %(rule)s.",
                    rule=_rule(rule),
                )
            )
        elif self.processing is not None and self.template not in ("match_correct", "map_response"):
            self.notes.append(
                _(
                    "Its own response processing is not read; ILMS scores it by its rule: "
                    "%(rule)s.",
                    rule=_rule(rule),
                )
            )


def _rule(kind: str) -> str:
    rules = {
        "single": _("the right answer earns all the marks"),
        "multiple": _("each correct option chosen earns 1/C and each incorrect one takes 1/W"),
        "typed": _("an accepted answer earns all the marks"),
        "matching": _("the share of items matched rightly"),
        "ordering": _("the share of items in their right place"),
        "cloze": _("the share of blanks filled rightly"),
    }
    return rules[kind]


def _feedback_key(identifier: str) -> str:
    name = identifier.lower()
    if "incorrect" in name or "wrong" in name:
        return "incorrect"
    if "correct" in name or "right" in name:
        return "correct"
    if name in ("", "general", "feedback", "neutral", "solution"):
        return "general"
    return identifier


def read_item(element: Element, number: int, texts: Collector, tags: list[str]) -> Entry:
    """One assessmentItem (QTI 2.x, or 3.0 once :func:`normalise` d), read or skipped."""
    title = " ".join((element.get("title") or "").split())
    hint = title or element.get("identifier", "")
    lang = (element.get("lang") or "en").lower()
    if lang.split("-")[0] != "en":
        reason = _(
            "its text is in '%(lang)s' (xml:lang), and ILMS questions need English text", lang=lang
        )
        return Skipped(number, title, reason)
    try:
        item = _Item(element, texts)
        question = _question(item)
    except ItemError as error:
        return Skipped(number, title, error.reason)
    if problem := texts.problem():
        return Skipped(number, title, problem)
    b.with_tags(question, tags)
    b.with_feedback(question, question.pop("feedback", None) or item.question_feedback())
    return Draft(number, title, hint, question, list(texts.notes))


def _question(item: _Item) -> Question:
    interactions = limited([e for e in item.body.iter() if e.tag in INTERACTIONS])
    if not interactions:
        raise ItemError(_("it has no interaction; it is not a question"))
    kinds = {interaction.tag for interaction in interactions}
    unsupported = sorted(
        kinds
        - {
            "choiceInteraction",
            "orderInteraction",
            "matchInteraction",
            "associateInteraction",
            "extendedTextInteraction",
        }
        - _INLINE
    )
    if unsupported:
        raise ItemError(_("%(kind)s interactions are not supported", kind=unsupported[0]))
    if kinds <= _INLINE:
        if len(interactions) == 1 and not _in_text(item.body, interactions[0]):
            return _typed(item, interactions[0])
        return _cloze(item, interactions)
    if len(interactions) > 1:
        raise ItemError(
            _("it has %(count)d interactions; an ILMS question has one", count=len(interactions))
        )
    interaction = interactions[0]
    readers = {
        "choiceInteraction": _choice,
        "orderInteraction": _order,
        "matchInteraction": _match,
        "associateInteraction": _associate,
        "extendedTextInteraction": _extended,
    }
    question = readers[interaction.tag](item, interaction)
    return b.with_points(question, item.max_score())


def _in_text(body: Element, interaction: Element) -> bool:
    """Whether an inline interaction sits inside a sentence (a blank) or stands on its own."""
    for parent in body.iter():
        if interaction in list(parent):
            siblings = [child for child in parent if child is not interaction]
            text = (parent.text or "") + "".join(c.tail or "" for c in parent)
            unit = [s for s in siblings if s.get("class") == "unit"]
            return bool(text.strip()) or len(siblings) > len(unit)
    return False


def _choice(item: _Item, interaction: Element) -> Question:
    declaration = item.declaration(interaction)
    choices = limited(interaction.findall("simpleChoice"))
    raw_ids = [choice.get("identifier", "") for choice in choices]
    correct = set(declaration.correct) or {k for k, v in declaration.mapping.items() if v > 0}
    single = declaration.cardinality == "single"
    if single and _true_false_ids(choices):
        return _true_false(item, interaction, choices, correct)
    ids = b.source_ids([item.id(raw) for raw in raw_ids])
    options = []
    for index, (choice, raw) in enumerate(zip(choices, raw_ids, strict=True)):
        feedback = _choice_feedback(item, choice)
        options.append(b.option(index, item.markdown(choice), raw in correct, feedback))
        options[-1]["id"] = ids[index]
    weights = _choice_weights(item, declaration, raw_ids, options, single)
    return b.choice(item.stem(interaction), options, weights, single, item.notes)


def _choice_weights(
    item: _Item,
    declaration: _Declaration,
    raw_ids: list[str],
    options: list[dict[str, Any]],
    single: bool,
) -> list[float]:
    """The options' weights (percent) as the item scores them, where ILMS can read that."""
    if item.template == "map_response" and declaration.mapping and not item.ilms:
        top = item.max_score() or 1.0
        return [100 * declaration.mapping.get(raw, declaration.default) / top for raw in raw_ids]
    item.scoring_note("single" if single else "multiple")
    if single:
        return [100.0 if option["correct"] else 0.0 for option in options]
    return b.ilms_weights(options)


def _choice_feedback(item: _Item, choice: Element) -> str:
    inline = [item.markdown(feedback) for feedback in choice.iter("feedbackInline")]
    modal = item.feedback.get(choice.get("identifier", ""), "")
    return b.join_texts(*inline, modal)


def _true_false_ids(choices: list[Element]) -> bool:
    names = {(c.get("identifier") or "").lower() for c in choices}
    texts = {"".join(c.itertext()).strip().lower() for c in choices}
    return len(choices) == 2 and ({"true", "false"} in (names, texts))


def _true_false(
    item: _Item, interaction: Element, choices: list[Element], correct: set[str]
) -> Question:
    right = next((c for c in choices if c.get("identifier") in correct), None)
    if right is None:
        raise ItemError(_("no answer is marked correct"))
    value = "true" in (
        (right.get("identifier") or "").lower(),
        "".join(right.itertext()).strip().lower(),
    )
    wrong = next(c for c in choices if c is not right)
    feedback = item.feedback
    right_text = b.join_texts(feedback.get("correct", ""), _choice_feedback(item, right))
    wrong_text = b.join_texts(feedback.get("incorrect", ""), _choice_feedback(item, wrong))
    general = feedback.get("general", "")
    return b.true_false(
        item.stem(interaction),
        value,
        b.join_texts(right_text, general),
        b.join_texts(wrong_text, general),
        item.notes,
    )


def _typed(item: _Item, interaction: Element) -> Question:
    if interaction.tag == "inlineChoiceInteraction":
        return _cloze(item, [interaction])
    declaration = item.declaration(interaction)
    text = item.texts.markdown(item.html(item.body, _drop_unit))
    if declaration.base_type in ("float", "integer"):
        question = _numeric(item, declaration, text)
    else:
        question = _short_answer(item, declaration, text)
    return b.with_points(question, item.max_score())


def _drop_unit(element: Element) -> str | None:
    return "" if element.get("class") == "unit" else None


def _accepted(item: _Item, declaration: _Declaration) -> list[str]:
    top = max(declaration.mapping.values(), default=0.0)
    full = [key for key, value in declaration.mapping.items() if value >= top > 0]
    partial = [key for key, value in declaration.mapping.items() if 0 < value < top]
    for key in partial:
        item.notes.append(b.left_out(key, 100 * declaration.mapping[key] / top))
    if declaration.case_sensitive:
        item.notes.append(_("Answers were case-sensitive; ILMS ignores case."))
    return list(dict.fromkeys(declaration.correct + full))


def _short_answer(item: _Item, declaration: _Declaration, text: str) -> Question:
    patterns = (
        []
        if item.processing is None
        else [match.get("pattern", "") for match in item.processing.iter("patternMatch")]
    )
    question = b.short_answer(text, _accepted(item, declaration), [])
    if patterns and item.ilms and patterns[0]:
        question["pattern"] = patterns[0]
    if "accepted" not in question and "pattern" not in question:
        raise ItemError(_("it has no correct answer"))
    item.scoring_note("typed")
    return question


def _numeric(item: _Item, declaration: _Declaration, text: str) -> Question:
    key = _numeric_rule(item.processing)
    if key is None:
        values = declaration.correct or [k for k, v in declaration.mapping.items() if v > 0]
        if not values:
            raise ItemError(_("it has no correct answer"))
        try:
            key = {"answer": b.number(float(values[0]))}
        except ValueError as error:
            raise ItemError(_("'%(value)s' is not a number", value=values[0][:60])) from error
        item.scoring_note("typed")
    question: Question = {"type": "numeric", "text": b.en(text), **key}
    unit = next((e for e in item.body.iter() if e.get("class") == "unit"), None)
    if unit is not None and (name := " ".join("".join(unit.itertext()).split())):
        question["unit"] = b.en(name)
    return question


def _numeric_rule(processing: Element | None) -> dict[str, float | int] | None:
    """An answer with a tolerance (``equal`` with an absolute tolerance) or a range (``gte`` and
    ``lte``) in the response processing."""
    if processing is None:
        return None
    for equal in processing.iter("equal"):
        value = equal.findtext("baseValue")
        tolerance = (equal.get("tolerance") or "0").split()
        if value is not None and equal.get("toleranceMode", "exact") in ("absolute", "exact"):
            key = {"answer": b.number(b.float_or(value))}
            if b.float_or(tolerance[0]):
                key["tolerance"] = b.number(b.float_or(tolerance[0]))
            return key
    low, high = processing.find(".//gte/baseValue"), processing.find(".//lte/baseValue")
    if low is not None and high is not None:
        return {"min": b.number(b.float_or(low.text)), "max": b.number(b.float_or(high.text))}
    return None


def _cloze(item: _Item, interactions: list[Element]) -> Question:
    blanks: list[dict[str, Any]] = []
    positions = {id(interaction): index for index, interaction in enumerate(interactions)}
    ids = [interaction.get("responseIdentifier", "") for interaction in interactions]
    blank_ids = [
        identifier[len(BLANK_PREFIX) :]
        if item.ilms and identifier.startswith(BLANK_PREFIX)
        else str(index + 1)
        for index, identifier in enumerate(ids)
    ]
    if len(set(blank_ids)) != len(blank_ids):
        blank_ids = [str(index + 1) for index in range(len(ids))]

    def replace(element: Element) -> str | None:
        if id(element) not in positions:
            return None
        blanks.append(_blank(item, element, blank_ids[positions[id(element)]]))
        return blank(len(blanks))

    html = item.html(item.body, replace)
    markdown = _named_blanks(with_blanks(item.texts.markdown(html, blanks=True)), blank_ids)
    if len(blanks) > 1:
        item.scoring_note("cloze")
    return b.with_points(b.cloze(markdown, blanks), item.max_score())


def _named_blanks(text: str, blank_ids: list[str]) -> str:
    """``[[1]]``, ``[[2]]`` … (in order) renamed to the blanks' own ids."""
    return re.sub(r"\[\[([0-9]+)\]\]", lambda m: f"[[{blank_ids[int(m[1]) - 1]}]]", text)


def _blank(item: _Item, interaction: Element, blank_id: str) -> dict[str, Any]:
    declaration = item.declaration(interaction)
    if interaction.tag == "inlineChoiceInteraction":
        choices = limited(interaction.findall("inlineChoice"))
        texts = [item.plain(choice) for choice in choices]
        right = [i for i, c in enumerate(choices) if c.get("identifier") in declaration.correct]
        if len(right) != 1:
            raise ItemError(_("a drop-down blank needs exactly one correct choice"))
        table = b.select_blank(blank_id, texts, right[0])
        ids = b.source_ids([item.id(choice.get("identifier", "")) for choice in choices])
        for option, option_id in zip(table["options"], ids, strict=True):
            option["id"] = option_id
        return table
    if declaration.base_type in ("float", "integer"):
        raise ItemError(
            _("a blank takes a number; ILMS blanks are typed answers or drop-down lists")
        )
    accepted = _accepted(item, declaration)
    if not accepted:
        raise ItemError(_("a blank has no correct answer"))
    return b.typed_blank(blank_id, accepted)


def _order(item: _Item, interaction: Element) -> Question:
    declaration = item.declaration(interaction)
    choices = {c.get("identifier", ""): c for c in limited(interaction.findall("simpleChoice"))}
    if sorted(declaration.correct) != sorted(choices):
        raise ItemError(_("its correct order does not list every item once"))
    texts = [item.markdown(choices[identifier]) for identifier in declaration.correct]
    question = b.ordering(item.stem(interaction), texts)
    ids = b.source_ids([item.id(identifier) for identifier in declaration.correct])
    for entry, entry_id in zip(question["items"], ids, strict=True):
        entry["id"] = entry_id
    item.scoring_note("ordering")
    return question


def _pairs(declaration: _Declaration) -> list[tuple[str, str]]:
    values = declaration.correct or [k for k, v in declaration.mapping.items() if v > 0]
    pairs = []
    for value in values:
        parts = value.split()
        if len(parts) != 2:
            raise ItemError(_("'%(value)s' is not a pair of identifiers", value=value[:60]))
        pairs.append((parts[0], parts[1]))
    return pairs


def _match(item: _Item, interaction: Element) -> Question:
    sets = interaction.findall("simpleMatchSet")
    if len(sets) != 2:
        raise ItemError(_("a match interaction needs two sets of choices"))
    lefts = {c.get("identifier", ""): c for c in limited(sets[0].findall("simpleAssociableChoice"))}
    rights = {
        c.get("identifier", ""): c for c in limited(sets[1].findall("simpleAssociableChoice"))
    }
    pairs = _pairs(item.declaration(interaction))
    matched = dict(pairs)
    if len(matched) != len(pairs) or set(matched) != set(lefts):
        raise ItemError(_("each item on the left needs exactly one match"))
    return _matching(item, interaction, lefts, rights, [(left, matched[left]) for left in lefts])


def _associate(item: _Item, interaction: Element) -> Question:
    choices = {
        c.get("identifier", ""): c for c in limited(interaction.findall("simpleAssociableChoice"))
    }
    pairs = _pairs(item.declaration(interaction))
    used = [identifier for pair in pairs for identifier in pair]
    if len(used) != len(set(used)):
        raise ItemError(
            _("a choice belongs to several pairs; in ILMS each match belongs to one item")
        )
    item.notes.append(
        _("Its pairs are shown as matching: the first choice of each pair on the left.")
    )
    lefts = {left: choices[left] for left, _right in pairs}
    rights = {key: choice for key, choice in choices.items() if key not in lefts}
    return _matching(item, interaction, lefts, rights, pairs)


def _matching(
    item: _Item,
    interaction: Element,
    lefts: dict[str, Element],
    rights: dict[str, Element],
    pairs: list[tuple[str, str]],
) -> Question:
    if any(right not in rights for _left, right in pairs):
        raise ItemError(_("a pair names a choice the item does not have"))
    texts = [(item.markdown(lefts[left]), item.plain(rights[right])) for left, right in pairs]
    used = {right for _left, right in pairs}
    extra_ids = [key for key in rights if key not in used]
    question = b.matching(item.stem(interaction), texts, [item.plain(rights[k]) for k in extra_ids])
    pair_ids = b.source_ids([item.id(left) for left, _right in pairs])
    extra = b.source_ids([item.id(key) for key in extra_ids])
    if set(pair_ids) & set(extra) or len(extra) != len(question.get("distractors", [])):
        extra = [d["id"] for d in question.get("distractors", [])]
    for pair, pair_id in zip(question["pairs"], pair_ids, strict=True):
        pair["id"] = pair_id
    for distractor, distractor_id in zip(question.get("distractors", []), extra, strict=True):
        distractor["id"] = distractor_id
    item.scoring_note("matching")
    return question


def _extended(item: _Item, interaction: Element) -> Question:
    rubric = [
        line
        for block in item.body.iter("rubricBlock")
        if block.get("view", "candidate") != "candidate"
        for line in re.split(r"\\\n|\n+", item.markdown(block))
        if line.strip()
    ]
    points = item.max_score()
    criteria = b.read_rubric(rubric)
    if criteria and abs(sum(value for _text, value in criteria) - points) > 1e-9:
        criteria = None
    if not criteria and rubric:
        criteria = [(b.join_texts(*rubric), points)]
    return b.essay(item.stem(interaction), points, criteria, item.notes)
