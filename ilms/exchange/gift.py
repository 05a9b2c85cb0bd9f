"""Moodle's GIFT text format: reading it as Moodle's own importer does, and writing banks in it.

A question is a block of lines ended by a blank line: ``// comments`` (with Moodle's ``[id:...]``
and ``[tag:...]``), an optional ``::title::``, an optional ``[html]``/``[moodle]``/``[plain]``/
``[markdown]`` format, the text and one answer block ``{...}``. ``$CATEGORY:`` blocks set the
category of the questions that follow. ``\\`` escapes ``\\ ~ = # { } :`` and ``\\n`` is a line end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from ilms.exchange import build as b
from ilms.exchange.items import (
    MAX_PARTS,
    Draft,
    Entry,
    ItemError,
    Question,
    Skipped,
    Written,
    check_count,
    export_note,
    limited,
)
from ilms.exchange.text import Collector, strip_private

#: Placeholders for escaped characters while the block is taken apart (Moodle's escapedchar_pre).
_ESCAPED = {
    "\\": "\ue010",
    ":": "\ue011",
    "#": "\ue012",
    "=": "\ue013",
    "{": "\ue014",
    "}": "\ue015",
    "~": "\ue016",
    "n": "\ue017",
}
_RESTORED = str.maketrans(
    {placeholder: ("\n" if char == "n" else char) for char, placeholder in _ESCAPED.items()}
)
_WEIGHT_RE = re.compile(r"%(-*[0-9]{1,2}\.?[0-9]*)%")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_FORMATS = {"moodle": "moodle", "html": "html", "plain": "plain", "markdown": "markdown"}
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}
BLANK_LINE = "_____"


# --- Reading ----------------------------------------------------------------------------------


def read(text: str) -> list[Entry]:
    """Every question of a GIFT file, read or skipped with the reason."""
    entries: list[Entry] = []
    category = ""
    blocks = _blocks(strip_private(text))
    check_count(len(blocks))
    for line, lines in blocks:
        comments = [row.strip() for row in lines if row.strip().startswith("//")]
        body = "\n".join(row for row in lines if not row.strip().startswith("//")).strip()
        if body.startswith("$CATEGORY:"):
            first, _sep, body = body.partition("\n")
            category = _restore(_protect(first[len("$CATEGORY:") :])).strip()
            body = body.strip()
        if body:
            entries.append(_entry(len(entries) + 1, line, body, comments, category))
    return entries


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """The blocks of lines between blank lines, with the number of each block's first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
    for number, row in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if row.strip():
            if not current:
                start = number
            current.append(row)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _protect(text: str) -> str:
    """Escaped characters as placeholders, so that only unescaped ones are markup."""
    return re.sub(r"\\(.)", lambda m: _ESCAPED.get(m[1], m[0]), text, flags=re.S)


def _restore(text: str) -> str:
    return text.translate(_RESTORED)


@dataclass
class _Block:
    number: int
    title: str
    text: str  #: the question text, protected, with its format prefix
    answer: str  #: the answer block's content, protected
    general: str  #: the general feedback (after ####), protected
    fmt: str = "moodle"
    texts: Collector = field(default_factory=Collector)


def _entry(number: int, line: int, body: str, comments: list[str], category: str) -> Entry:
    idnumber, tags = _comment_tags("\n".join(comments))
    title = ""
    try:
        block = _split(number, _protect(body))
        title = block.title
        question = _question(block)
    except ItemError as bad:
        title = title or _title_of(body)
        return Skipped(number, title, _("line %(line)d: %(reason)s", line=line, reason=bad.reason))
    if problem := block.texts.problem():
        return Skipped(number, title, problem)
    b.with_tags(question, [category_tag(category), *tags])
    hint = idnumber or title or _key_text(question)
    return Draft(number, title, hint, question, block.texts.notes)


def _title_of(body: str) -> str:
    match = re.match(r"::(.*?)::", body, re.S)
    return match[1].strip() if match else ""


def _key_text(question: Question) -> str:
    return " ".join(b.english(question["text"]).split()[:8])


def _comment_tags(comments: str) -> tuple[str, list[str]]:
    """Moodle's ``[id:...]`` and ``[tag:...]`` in the comments before a question."""
    found = re.search(r"\[id:((?:\\\]|[^\]\[\x00-\x1f])+)\]", comments)
    tags = re.findall(r"\[tag:((?:\\\]|[^\]\[<>`\x00-\x1f])*)\]", comments)
    idnumber = found[1].replace("\\]", "]").strip() if found else ""
    return idnumber, [tag.replace("\\]", "]").strip() for tag in tags]


def category_tag(path: str) -> str:
    """A Moodle category path as a tag: ``$course$/top/Searching/Boolean`` → ``Searching/Boolean``."""
    parts = [part.replace("\0", "/") for part in path.replace("//", "\0").split("/")]
    parts = [part.strip() for part in parts if part.strip()]
    while parts and re.fullmatch(r"\$[a-z0-9]*\$", parts[0]):
        parts.pop(0)
    if parts and parts[0] == "top":
        parts.pop(0)
    return "/".join(parts)


def _split(number: int, text: str) -> _Block:
    title = ""
    if text.startswith("::"):
        end = text.find("::", 2)
        if end < 0:
            raise ItemError(_("the title that starts with '::' has no closing '::'"))
        title = _restore(text[2:end]).strip()
        text = text[end + 2 :].strip()
    start, finish = text.find("{"), text.find("}")
    if start < 0 and finish < 0:
        raise ItemError(_("it has no answer block {...}; descriptions are not questions"))
    if finish < 0:
        raise ItemError(_("'{' has no closing '}'"))
    if start < 0 or finish < start:
        raise ItemError(_("'}' comes before any '{'"))
    if "{" in text[start + 1 : finish] or "{" in text[finish + 1 :]:
        raise ItemError(_("it has more than one answer block {...}; GIFT allows one per question"))
    after = text[finish + 1 :].strip()
    question_text = text[:start] + (f"{BLANK_LINE}{text[finish + 1 :]}" if after else "")
    answer, general = text[start + 1 : finish].strip(), ""
    if (separator := answer.rfind("####")) >= 0:
        answer, general = answer[:separator], answer[separator + 4 :]
    block = _Block(number, title, question_text.strip(), answer.strip(), general.strip())
    block.fmt, block.text = _format(block.text, "moodle")
    return block


def _format(text: str, default: str) -> tuple[str, str]:
    """The ``[format]`` a text starts with, and the text without it."""
    match = re.match(r"\[([a-z]*)\]", text)
    if match and match[1] in _FORMATS:
        return _FORMATS[match[1]], text[match.end() :]
    return default, text


def _markdown(block: _Block, text: str) -> str:
    fmt, text = _format(text.strip(), block.fmt)
    return block.texts.markdown(_restore(text).strip(), fmt)


def _question(block: _Block) -> Question:
    text = _markdown(block, block.text)
    general = _markdown(block, block.general) if block.general else ""
    answer = block.answer
    if answer == "":
        return _essay(text, general, block)
    if answer.startswith("#"):
        return _numeric(block, text, general)
    if "~" in answer:
        return _choice(block, text, general)
    if "=" in answer and "->" in answer:
        return _matching(block, text, general)
    if answer.split("#", 1)[0].strip() in _TRUE_FALSE:
        return _true_false(block, text, general)
    return _short_answer(block, text, general)


def _essay(text: str, general: str, block: _Block) -> Question:
    question = b.essay(text, 1, None, block.texts.notes)
    return b.with_feedback(question, b.question_feedback("", "", general))


def _weight(answer: str) -> tuple[float | None, str]:
    """The ``%50%`` weight an answer starts with (as a percentage) and the rest of it."""
    match = _WEIGHT_RE.match(answer)
    if not match:
        return None, answer
    digits = match[1].lstrip("-")
    value = float(digits) if digits.strip(".") else 0.0
    return (-value if match[1].startswith("-") else value), answer[match.end() :]


def _parts(answer: str, separator: str) -> list[str]:
    parts = [part.strip() for part in answer.split(separator, MAX_PARTS + 1)]
    return limited(parts[1:] if parts and not parts[0] else parts)


def _comment(block: _Block, answer: str) -> tuple[str, str]:
    text, _sep, feedback = answer.partition("#")
    return text, (_markdown(block, feedback) if feedback.strip() else "")


def _choice(block: _Block, text: str, general: str) -> Question:
    single = "=" in block.answer
    options, weights = [], []
    for index, answer in enumerate(_parts(block.answer.replace("=", "~="), "~")):
        if answer.startswith("="):
            weight, answer = 100.0, answer[1:]
        else:
            found, answer = _weight(answer)
            weight = found or 0.0
        option_text, feedback = _comment(block, answer)
        correct = weight >= 100 if single else weight > 0
        options.append(b.option(index, _markdown(block, option_text), correct, feedback))
        weights.append(weight)
    question = b.choice(text, options, weights, single, block.texts.notes)
    return b.with_feedback(question, b.question_feedback("", "", general))


def _true_false(block: _Block, text: str, general: str) -> Question:
    answer, wrong, right = [*block.answer.split("#", 2), "", ""][:3]
    wrong_text = b.join_texts(_markdown(block, wrong), general)
    right_text = b.join_texts(_markdown(block, right), general)
    return b.true_false(
        text, _TRUE_FALSE[answer.strip()], right_text, wrong_text, block.texts.notes
    )


def _short_answer(block: _Block, text: str, general: str) -> Question:
    accepted, wildcards, right, wrong = [], [], [], ""
    for answer in _parts(block.answer, "="):
        weight, answer = _weight(answer)
        weight = 100.0 if weight is None else weight
        value, feedback = _comment(block, answer)
        value = _restore(value).strip()
        if weight >= 100:
            if b.is_wildcard(value):
                wildcards.append(value)
            else:
                accepted.append(value.replace("\\*", "*"))
            right.append(feedback)
        elif value == "*" and weight == 0:
            wrong = feedback
        else:
            block.texts.notes.append(b.left_out(value, weight))
    question = b.short_answer(text, accepted, wildcards)
    correct = b.one_feedback(right, block.texts.notes)
    return b.with_feedback(question, b.question_feedback(correct, wrong, general))


def _numeric(block: _Block, text: str, general: str) -> Question:
    body, tilde, wrong_part = block.answer[1:].partition("~")
    wrong = _comment(block, wrong_part)[1] if tilde else ""
    full, right = [], []
    for answer in _parts(body, "="):
        weight, answer = _weight(answer)
        weight = 100.0 if weight is None else weight
        value, feedback = _comment(block, answer)
        value = _restore(value).strip()
        if weight >= 100:
            full.append(_numeric_key(value))
            right.append(feedback)
        else:
            block.texts.notes.append(b.left_out(value, weight))
    question = b.numeric(text, full)
    correct = b.one_feedback(right, block.texts.notes)
    return b.with_feedback(question, b.question_feedback(correct, wrong, general))


def _numeric_key(value: str) -> dict[str, float | int]:
    if value.find("..") > 0:
        low, high = value.split("..", 1)
        return {"min": _number(low), "max": _number(high)}
    if value.find(":") > 0:
        answer, tolerance = value.split(":", 1)
        key = {"answer": _number(answer)}
        if margin := abs(_number(tolerance)):
            key["tolerance"] = margin
        return key
    return {"answer": _number(value)}


def _number(text: str) -> float | int:
    if not _NUMBER_RE.fullmatch(text.strip()):
        raise ItemError(_("'%(value)s' is not a number", value=text.strip()[:60]))
    return b.number(float(text))


def _matching(block: _Block, text: str, general: str) -> Question:
    answers = _parts(block.answer, "=")
    if len(answers) < 2:
        raise ItemError(_("a matching question needs at least two pairs"))
    pairs, extra = [], []
    for answer in answers:
        if "->" not in answer:
            raise ItemError(_("the answer '%(answer)s' has no '->'", answer=_restore(answer)[:60]))
        left, right = answer.split("->", 1)
        right_text = block.texts.plain(_restore(right).strip(), "plain")
        if left.strip():
            pairs.append((_markdown(block, left), right_text))
        else:
            extra.append(right_text)
    question = b.matching(text, pairs, extra)
    return b.with_feedback(question, b.question_feedback("", "", general))


# --- Writing ----------------------------------------------------------------------------------


def write(questions: list[Question]) -> Written:
    """The questions as a GIFT file, with what GIFT cannot hold."""
    blocks, notes, skipped = [], [], []
    for question in questions:
        writer = _Writer(question)
        try:
            blocks.append(writer.block())
        except ItemError as bad:
            skipped.append(export_note(question, bad.reason))
            continue
        notes += [export_note(question, note) for note in writer.notes]
    text = "\n".join(blocks)
    return Written(text.encode("utf-8"), len(blocks), notes, skipped)


def escape(text: str) -> str:
    """Moodle's escaping of GIFT's special characters; line ends become ``\\n``."""
    for char in "\\~=#{}:":
        text = text.replace(char, "\\" + char)
    return text.replace("\r", "").replace("\n", "\\n")


def literal_answer(text: str) -> str:
    """An accepted answer as Moodle writes it: ``*`` is its wildcard, ``\\*`` a real asterisk."""
    return text.replace("*", "\\*")


class _Writer:
    """Writes one question; ``notes`` collects what GIFT cannot hold."""

    def __init__(self, question: Question) -> None:
        self.question = question
        self.feedback = question.get("feedback") or {}
        self.notes: list[str] = []

    def block(self) -> str:
        question = self.question
        writers = {
            "single_choice": self.single_choice,
            "multiple_response": self.multiple_response,
            "true_false": self.true_false,
            "short_answer": self.short_answer,
            "numeric": self.numeric,
            "matching": self.matching,
            "open_response": self.open_response,
        }
        if question["type"] == "ordering":
            raise ItemError(_("GIFT has no ordering questions"))
        if question["type"] == "cloze":
            raise ItemError(_("GIFT has no fill-in-the-blanks questions with several blanks"))
        if question["type"] != "open_response" and question.get("points", 1) != 1:
            self.notes.append(_("GIFT has no points; Moodle gives the question 1 point."))
        answers = writers[question["type"]]()
        text = escape(b.english(question["text"]))
        return f"{self.comment()}\n::{escape(question['id'])}::[markdown]{text} {{{answers}}}\n"

    def comment(self) -> str:
        """Moodle's ``// [id:...] [tag:...]`` line; tags Moodle cannot read are left out."""
        tags = self.question.get("tags", [])
        written = [tag for tag in tags if not re.search(r"[\[<>`\x00-\x1f]", tag)]
        if len(written) < len(tags):
            self.notes.append(
                _("Tags with [, <, > or ` cannot be written in GIFT; they were left out.")
            )
        escaped = (tag.replace("]", "\\]") for tag in written)
        return f"// [id:{self.question['id']}]" + "".join(f" [tag:{tag}]" for tag in escaped)

    def text(self, text: str) -> str:
        """Markdown in the question's format; a leading '[' would read as a format name."""
        return ("[markdown]" if text.startswith("[") else "") + escape(text)

    def localised(self, key: str) -> str:
        return b.english(self.feedback.get(key))

    def general(self) -> str:
        """The question's feedback as GIFT's general feedback, when it is the same both ways."""
        correct, wrong = self.localised("correct"), self.localised("incorrect")
        if correct and correct == wrong:
            return f"\t####{self.text(correct)}\n"
        if correct or wrong:
            self.notes.append(
                _(
                    "GIFT holds one general feedback; the different feedback for correct and "
                    "incorrect answers was left out."
                )
            )
        return ""

    def options(self, prefixes: list[str]) -> str:
        lines = []
        for prefix, option in zip(prefixes, self.question["options"], strict=True):
            text = self.text(b.english(option["text"]))
            if prefix == "~" and text.startswith("%"):
                prefix = "~%0%"
            lines.append(f"\t{prefix}{text}#{self.text(b.english(option['feedback']))}\n")
        return "\n" + "".join(lines) + self.general()

    def single_choice(self) -> str:
        return self.options(
            ["=" if option["correct"] else "~" for option in self.question["options"]]
        )

    def multiple_response(self) -> str:
        weights = b.ilms_weights(self.question["options"])
        return self.options([f"~%{b.percent(weight)}%" for weight in weights])

    def true_false(self) -> str:
        answer = "TRUE" if self.question["answer"] else "FALSE"
        wrong, right = self.localised("incorrect"), self.localised("correct")
        return f"{answer}#{self.text(wrong)}#{self.text(right)}"

    def short_answer(self) -> str:
        question = self.question
        answers = [literal_answer(answer) for answer in question.get("accepted", {}).get("en", [])]
        if "pattern" in question:
            wildcards = b.pattern_wildcards(question["pattern"])
            if wildcards is None and not answers:
                raise ItemError(_("its pattern cannot be written in GIFT, and it has no answers"))
            if wildcards is None:
                self.notes.append(_("Its pattern cannot be written in GIFT and was left out."))
            answers += wildcards or []
        right = self.text(self.localised("correct"))
        lines = [f"\t=%100%{escape(answer)}#{right}\n" for answer in answers]
        if wrong := self.localised("incorrect"):
            lines.append(f"\t=%0%*#{self.text(wrong)}\n")
        return "\n" + "".join(lines)

    def numeric(self) -> str:
        question = self.question
        if "min" in question:
            value = f"{question['min']!r}..{question['max']!r}"
        elif question.get("tolerance"):
            value = f"{question['answer']!r}:{question['tolerance']!r}"
        else:
            value = repr(question["answer"])
        if "unit" in question:
            self.notes.append(_("GIFT has no units; the unit was left out."))
        lines = f"\t=%100%{value}#{self.text(self.localised('correct'))}\n"
        if wrong := self.localised("incorrect"):
            lines += f"\t~#{self.text(wrong)}\n"
        return "#\n" + lines

    def matching(self) -> str:
        lines = []
        for pair in self.question["pairs"]:
            left = b.english(pair["left"])
            if "->" in left:
                raise ItemError(_("a left-hand text contains '->', which GIFT cannot escape"))
            lines.append(f"\t={self.text(left)} -> {escape(b.english(pair['right']))}\n")
        for distractor in self.question.get("distractors", []):
            lines.append(f"\t= -> {escape(b.english(distractor['right']))}\n")
        return "\n" + "".join(lines) + self.general()

    def open_response(self) -> str:
        rubric = self.question["rubric"]
        if len(rubric) != 1 or b.english(rubric[0]["text"]) != b.RUBRIC_TEXT:
            self.notes.append(_("GIFT cannot hold a rubric; its criteria were left out."))
        if sum(criterion["points"] for criterion in rubric) != 1:
            self.notes.append(_("GIFT has no points; Moodle gives the question 1 point."))
        general = self.general()
        return f"\n{general}" if general else ""
