"""Building ILMS question dicts from what the readers found, the same way for every format.

The rules where another tool scores differently from ILMS live here once: partial marks on
single-choice answers, per-option weights of multiple-response questions, matching questions
whose items share a match, and Moodle's ``*`` wildcard answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _

from ilms.exchange.items import ItemError, Question

#: Option feedback written when the source has none: ILMS asks for feedback on every option.
CORRECT_FEEDBACK = "Correct."
INCORRECT_FEEDBACK = "Not correct."
#: The criterion of the rubric made for an essay that comes without one.
RUBRIC_TEXT = "The answer as a whole"


def part_id(index: int) -> str:
    """The id of the n-th option, pair or item (from 0): a, b ... z, then p27, p28 ..."""
    return chr(ord("a") + index) if index < 26 else f"p{index + 1}"


def source_ids(values: list[str]) -> list[str]:
    """The source's own ids of parts when all are valid and distinct ILMS ids, else a, b, c ..."""
    valid = all(re.fullmatch(r"[a-z0-9_-]+", value) for value in values)
    if valid and len(set(values)) == len(values):
        return list(values)
    return [part_id(index) for index in range(len(values))]


def en(text: str) -> dict[str, str]:
    return {"en": text}


def english(value: object) -> str:
    """The English text of a localised text (every ILMS question has English)."""
    return value.get("en", "") if isinstance(value, dict) else ""


def number(value: float) -> float | int:
    """A whole number as an int (``2`` rather than ``2.0``), as an author would write it."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def float_or(text: str | None, default: float = 0.0) -> float:
    """A number a file writes as text, or ``default`` when it is missing or not a number."""
    try:
        return float(text) if text is not None and text.strip() else default
    except ValueError:
        return default


def percent(value: float) -> str:
    """A weight as the percentage other tools write: ``50``, ``33.33333``, ``-100``."""
    return f"{value:.5f}".rstrip("0").rstrip(".")


def join_texts(*texts: str) -> str:
    """Texts shown together, one per line (a Markdown hard line break between them)."""
    return "\\\n".join(text for text in texts if text)


def question_feedback(correct: str, incorrect: str, general: str = "") -> dict[str, Any] | None:
    """The question's feedback; a general feedback (shown whatever the answer) joins both."""
    table = {
        key: en(text)
        for key, text in (
            ("correct", join_texts(correct, general)),
            ("incorrect", join_texts(incorrect, general)),
        )
        if text
    }
    return table or None


def with_feedback(question: Question, feedback: dict[str, Any] | None) -> Question:
    if feedback:
        question["feedback"] = feedback
    return question


def with_points(question: Question, points: float | None) -> Question:
    if points is not None and points > 0 and points != 1 and question["type"] != "open_response":
        question["points"] = number(points)
    return question


def with_tags(question: Question, tags: Iterable[str]) -> Question:
    unique = list(dict.fromkeys(tag.strip() for tag in tags if tag and tag.strip()))
    if unique:
        question["tags"] = unique
    return question


# --- Choices ------------------------------------------------------------------------------------


def option(index: int, text: str, correct: bool, feedback: str = "") -> dict[str, Any]:
    table: dict[str, Any] = {"id": part_id(index), "text": en(text), "correct": correct}
    if feedback:
        table["feedback"] = en(feedback)
    return table


def choice(
    text: str, options: list[dict[str, Any]], weights: list[float], single: bool, notes: list[str]
) -> Question:
    """A single-choice or multiple-response question from options and their weights (percent).

    Single choice: the option worth 100% is correct; other weights score 0 in ILMS. Multiple
    response: options worth more than 0 are correct, and ILMS's own partial credit applies.
    """
    right = sum(option["correct"] for option in options)
    if len(options) < 2:
        raise ItemError(_("a choice question needs at least two answers"))
    if single and right != 1:
        raise ItemError(
            _("%(count)d answers are fully correct; a single-choice question has one", count=right)
        )
    if not right:
        raise ItemError(_("no answer earns marks"))
    if single and (partial := [w for w in weights if w not in (0, 100)]):
        notes.append(
            _(
                "Answers worth part of the marks (%(weights)s) score nothing in ILMS, where only "
                "the correct answer earns marks.",
                weights=", ".join(f"{percent(w)}%" for w in partial),
            )
        )
    if not single and not scoring_matches(weights):
        notes.append(scoring_note(weights))
    fill_option_feedback(options, notes)
    kind = "single_choice" if single else "multiple_response"
    return {"type": kind, "text": en(text), "options": options}


def scoring_matches(weights: list[float]) -> bool:
    """Whether percentages per option score as ILMS does: +100/C for each correct option chosen,
    -100/W for each incorrect one (C and W: the numbers of correct and incorrect options)."""
    right = [w for w in weights if w > 0]
    wrong = [w for w in weights if w <= 0]
    return all(abs(w - 100 / len(right)) < 0.01 for w in right) and all(
        abs(w + 100 / len(wrong)) < 0.01 for w in wrong
    )


def scoring_note(weights: list[float]) -> str:
    return _(
        "The answers' weights (%(weights)s) differ from ILMS scoring, which applies: each "
        "correct option chosen earns 1/C of the marks and each incorrect one takes away 1/W.",
        weights=", ".join(f"{percent(w)}%" for w in weights),
    )


def ilms_weights(options: list[dict[str, Any]]) -> list[float]:
    """The weights (percent) that score options as ILMS's multiple response does."""
    right = sum(option["correct"] for option in options)
    wrong = len(options) - right
    return [100 / right if option["correct"] else -100 / wrong for option in options]


def fill_option_feedback(options: list[dict[str, Any]], notes: list[str]) -> None:
    """Give options without feedback a plain one, and say so: ILMS asks for feedback on every
    option, explaining why it is right or wrong."""
    missing = [option for option in options if not option.get("feedback")]
    for option in missing:
        option["feedback"] = en(CORRECT_FEEDBACK if option["correct"] else INCORRECT_FEEDBACK)
    if missing:
        notes.append(
            _(
                "%(count)d options had no feedback and were given '%(correct)s' or "
                "'%(incorrect)s'; write feedback that explains why.",
                count=len(missing),
                correct=CORRECT_FEEDBACK,
                incorrect=INCORRECT_FEEDBACK,
            )
        )


def true_false(text: str, answer: bool, right: str, wrong: str, notes: list[str]) -> Question:
    """A true/false question; ILMS asks for feedback both when right and when wrong."""
    if not right or not wrong:
        notes.append(
            _(
                "Feedback for a right or a wrong answer was missing and was set to "
                "'%(correct)s' or '%(incorrect)s'.",
                correct=CORRECT_FEEDBACK,
                incorrect=INCORRECT_FEEDBACK,
            )
        )
    return {
        "type": "true_false",
        "text": en(text),
        "answer": answer,
        "feedback": {
            "correct": en(right or CORRECT_FEEDBACK),
            "incorrect": en(wrong or INCORRECT_FEEDBACK),
        },
    }


# --- Typed answers ------------------------------------------------------------------------------


def short_answer(text: str, accepted: list[str], wildcards: list[str]) -> Question:
    question: Question = {"type": "short_answer", "text": en(text)}
    exact = list(dict.fromkeys(answer.strip() for answer in accepted if answer.strip()))
    if exact:
        question["accepted"] = {"en": exact}
    if wildcards:
        question["pattern"] = wildcard_pattern(wildcards)
    return question


def is_wildcard(answer: str) -> bool:
    """Whether a Moodle answer uses its ``*`` wildcard (``\\*`` is a real asterisk)."""
    return re.search(r"(?<!\\)\*", answer) is not None


def wildcard_pattern(answers: list[str]) -> str:
    """Moodle's ``*`` wildcard answers as one regular expression matching the whole answer."""
    alternatives = [
        ".*".join(re.escape(part.replace("\\*", "*")) for part in re.split(r"(?<!\\)\*", answer))
        for answer in answers
    ]
    # A plain group: QTI writes patterns as XML Schema expressions, which have no (?:...).
    return alternatives[0] if len(alternatives) == 1 else f"({'|'.join(alternatives)})"


def pattern_wildcards(pattern: str) -> list[str] | None:
    """The wildcard answers :func:`wildcard_pattern` made ``pattern`` from, or None."""
    body = pattern[1:-1] if pattern.startswith("(") and pattern.endswith(")") else pattern
    answers = []
    for alternative in body.split("|"):
        if ".*" not in alternative or not re.fullmatch(
            r"(?:\\.|\.\*|[^\\.|*+?()\[\]{}^$])+", alternative, re.S
        ):
            return None
        tokens = re.findall(r"\\(.)|(\.\*)|(.)", alternative, re.S)
        answers.append(
            "".join(
                "*" if wildcard else ("\\*" if escaped == "*" else escaped or char)
                for escaped, wildcard, char in tokens
            )
        )
    return answers if wildcard_pattern(answers) == pattern else None


def one_feedback(texts: list[str], notes: list[str]) -> str:
    """The feedback of several accepted answers, which ILMS shows as one."""
    given = list(dict.fromkeys(text for text in texts if text))
    if len(given) > 1:
        notes.append(_("The accepted answers had different feedback; the first one is kept."))
    return given[0] if given else ""


def left_out(answer: str, weight: float) -> str:
    return _(
        "The answer '%(answer)s' (worth %(weight)s%%) was left out: ILMS gives full marks or none.",
        answer=answer[:60],
        weight=percent(weight),
    )


def numeric(text: str, full: list[dict[str, float | int]]) -> Question:
    if not full:
        raise ItemError(_("no answer of the numeric question earns full marks"))
    if len(full) > 1:
        raise ItemError(
            _(
                "the numeric question has %(count)d fully correct answers; ILMS accepts one "
                "number or one range",
                count=len(full),
            )
        )
    return {"type": "numeric", "text": en(text), **full[0]}


# --- Structured answers -------------------------------------------------------------------------


def matching(text: str, pairs: list[tuple[str, str]], extra: list[str]) -> Question:
    """A matching question; two items with the same match cannot be told apart by ILMS."""
    rights = [right for _left, right in pairs]
    twice = sorted({right for right in rights if rights.count(right) > 1})
    if twice:
        raise ItemError(
            _(
                "several items match '%(answer)s'; in ILMS each match belongs to one item",
                answer=twice[0],
            )
        )
    question: Question = {
        "type": "matching",
        "text": en(text),
        "pairs": [
            {"id": part_id(index), "left": en(left), "right": en(right)}
            for index, (left, right) in enumerate(pairs)
        ],
    }
    distractors = [right for right in dict.fromkeys(extra) if right and right not in rights]
    if distractors:
        question["distractors"] = [
            {"id": part_id(len(pairs) + index), "right": en(right)}
            for index, right in enumerate(distractors)
        ]
    return question


def ordering(text: str, items: list[str]) -> Question:
    return {
        "type": "ordering",
        "text": en(text),
        "items": [{"id": part_id(index), "text": en(item)} for index, item in enumerate(items)],
    }


def typed_blank(blank_id: str, accepted: list[str]) -> dict[str, Any]:
    return {"id": blank_id, "accepted": {"en": list(dict.fromkeys(accepted))}}


def select_blank(blank_id: str, options: list[str], correct: int) -> dict[str, Any]:
    return {
        "id": blank_id,
        "options": [
            {"id": part_id(index), "text": en(option), "correct": index == correct}
            for index, option in enumerate(options)
        ],
    }


def cloze(text: str, blanks: list[dict[str, Any]]) -> Question:
    if not blanks:
        raise ItemError(_("the text has no blanks"))
    return {"type": "cloze", "text": en(text), "blanks": blanks}


def essay(
    text: str, points: float, criteria: list[tuple[str, float]] | None, notes: list[str]
) -> Question:
    """An open response; without criteria from the source its rubric has one criterion."""
    if not criteria:
        notes.append(
            _(
                "It was given a rubric with one criterion, '%(criterion)s', worth all its points "
                "(%(points)s).",
                criterion=RUBRIC_TEXT,
                points=percent(points),
            )
        )
    rubric = criteria or [(RUBRIC_TEXT, points)]
    return {
        "type": "open_response",
        "text": en(text),
        "rubric": [
            {"id": part_id(index), "text": en(criterion), "points": number(value)}
            for index, (criterion, value) in enumerate(rubric)
        ],
    }


def rubric_lines(rubric: list[dict[str, Any]]) -> list[str]:
    """A rubric as lines a grader reads and :func:`read_rubric` reads back."""
    return [
        f"{english(criterion['text'])} ({percent(criterion['points'])} points)"
        for criterion in rubric
    ]


def read_rubric(lines: list[str]) -> list[tuple[str, float]] | None:
    """Criteria written as ``text (2 points)``, one per line; None unless every line is one."""
    criteria = []
    for line in lines:
        match = re.fullmatch(r"(.+?)\s*\(([0-9]+(?:\.[0-9]+)?) points?\)", line.strip())
        if not match or float(match[2]) <= 0:
            return None
        criteria.append((match[1], float(match[2])))
    return criteria or None
