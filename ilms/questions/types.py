"""The registry of question types: validation, answers, grading, feedback and rendering data for
each type of bank question (the plain dict parsed from ``bank.toml``, see docs/module-format.md)."""

from __future__ import annotations

import hashlib
import math
import re
import re._parser
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, ClassVar, Protocol

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

#: The longest essay (open response) a student may send.
TEXT_LIMIT = 20_000
#: Short answers and typed blanks are matched against author patterns; a short limit keeps even a
#: badly written pattern fast (Python's ``re`` has no time-out).
SHORT_TEXT_LIMIT = 200
#: The longest ``pattern`` an author may write.
PATTERN_LIMIT = 500
#: Ids of questions and of their parts (options, pairs, items, blanks, rubric criteria).
ID_RE = re.compile(r"[a-z0-9_-]+")
#: A blank in a cloze text: ``[[1]]``.
BLANK_RE = re.compile(r"\[\[([^\[\]]*)\]\]")
#: A number once a decimal comma is turned into a point.
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: Digits grouped in threes by spaces (``1 234 567,5``): the only place a number may have spaces.
_GROUPED_RE = re.compile(r"([+-]?[0-9]{1,3}(?:\s[0-9]{3})+)([.,][0-9]*)?")

COMMON_FIELDS = frozenset({"id", "type", "outcome", "points", "text", "feedback", "tags"})

#: An answer once normalised: what is stored and what :meth:`QuestionType.grade` compares.
Answer = str | bool | float | list[str] | dict[str, str] | None
#: A bank question: the plain dict parsed from ``bank.toml``.
Question = dict[str, Any]
#: The order in which a delivery shows a question's options (a permutation of
#: :meth:`QuestionType.option_ids`), or None for the type's own order.
Order = list[str] | None


class InvalidAnswer(ValueError):
    """An answer that does not fit its question; the message is translated and shown to the student."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidGrade(ValueError):
    """Rubric points a person entered that do not fit the rubric; the message is translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownQuestionType(LookupError):
    """A type name that is not in :data:`REGISTRY`; the message lists the known types."""

    def __init__(self, name: object) -> None:
        message = _(
            "Unknown question type '%(type)s'. Known types: %(types)s.",
            type=name,
            types=", ".join(REGISTRY),
        )
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ValidationProblem:
    """What is wrong with a question: ``path`` inside the question (``options[2].feedback.ru``,
    indexes from 0) and a translated message saying what to fix."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class Score:
    """The result of grading one answer.

    ``feedback_key`` is ``correct``, ``partial``, ``incorrect``, ``unanswered`` or ``pending`` (an
    open response waiting for a person). ``option_feedback`` lists the options whose own feedback
    applies; ``parts`` says, for each graded part (option, pair, item, blank, rubric criterion),
    whether it was right.
    """

    points: float | None
    max_points: float
    correct: bool | None
    feedback_key: str
    option_feedback: tuple[str, ...] = ()
    parts: tuple[tuple[str, bool], ...] = ()

    @property
    def fraction(self) -> float | None:
        if self.points is None:
            return None
        return self.points / self.max_points if self.max_points else 0.0

    @property
    def is_pending(self) -> bool:
        return self.points is None


class FormData(Protocol):
    """What a posted form offers (werkzeug's ``MultiDict``)."""

    def getlist(self, key: str) -> list[str]: ...


# --- Small helpers ---------------------------------------------------------------------------


def fold(text: str) -> str:
    """How typed answers compare: Unicode NFC, case folded, white space collapsed and trimmed."""
    return unicodedata.normalize("NFC", collapse(text).casefold())


def collapse(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def localised(value: object, lang: str) -> str:
    """The text in ``lang``, else in English (every item has English), else empty."""
    if not isinstance(value, Mapping):
        return ""
    text = value.get(lang) or value.get("en")
    return text if isinstance(text, str) else ""


def parse_number(text: str) -> float:
    """Read a number as people write it: ``1234.5``, ``1234,5``, ``1 234,5`` (spaces only between
    groups of three digits), and a minus sign (U+2212) or a hyphen. Raises InvalidAnswer."""
    number = text.strip().replace("\u2212", "-")
    if _GROUPED_RE.fullmatch(number):
        number = "".join(number.split())
    number = number.replace(",", ".", 1) if "." not in number else number
    if not _NUMBER_RE.fullmatch(number):
        raise InvalidAnswer(
            _("Write a number with digits, using a comma or a point for decimals: 1234,5.")
        )
    return _finite(float(number))


def _finite(value: float | int) -> float:
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidAnswer(_("The number is too large or not a number."))
    return number


def _decimal(value: float | int) -> Decimal:
    # The shortest repr of a float is the number as written, so 0.3 ± 0.1 includes 0.4 exactly.
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def is_number(value: object) -> bool:
    """A finite int or float, and not a bool (which Python counts as an int)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _format_number(value: float | int, lang: str, *, grouping: bool = True) -> str:
    try:
        return format_decimal(
            _decimal(value), locale=lang, decimal_quantization=False, group_separator=grouping
        )
    except (ValueError, UnknownLocaleError):
        return str(value)


def _language_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name(get_locale() or "en") or code
    except (ValueError, TypeError, UnknownLocaleError):
        return code


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _ref(table: Mapping[str, Any], index: int) -> str:
    """A part's id for messages, or its position when the id is missing."""
    value = table.get("id")
    return value if isinstance(value, str) and value else f"#{index + 1}"


def _stable_order(seed: str, ids: list[str]) -> list[str]:
    """A fixed order that does not follow the authored one, where that order would give the key
    away (matching choices, ordering items, drop-down blanks) and no shuffled order was given."""
    order = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}\x00{i}".encode()).digest())
    if order == ids and len(ids) > 1:
        order = order[1:] + order[:1]
    return order


def _shown_order(ids: list[str], shuffled: Order, default: list[str]) -> list[str]:
    if shuffled is None:
        return default
    if len(shuffled) != len(ids) or set(shuffled) != set(ids):
        raise ValueError("shuffled_order must be a permutation of option_ids(question)")
    return list(shuffled)


def _by_position(order: Sequence[str], value: str) -> str:
    """Map a form value (a 1-based position in the order shown) back to the authored id."""
    if value.isascii() and value.isdigit() and 1 <= int(value) <= len(order):
        return order[int(value) - 1]
    raise InvalidAnswer(_("The answer names an option this question does not have."))


def _scrambled_order(question: Question, ids: list[str], shuffled: Order) -> list[str]:
    """The order shown where the authored one would give the key away: ``shuffled`` if given,
    else a fixed order of the question's own."""
    return _shown_order(ids, shuffled, _stable_order(question["id"], ids))


def _input_name(question: Question, part: object = None) -> str:
    """The name of the form input for the whole answer, or for one part of it."""
    name = f"answer-{question['id']}"
    return name if part is None else f"{name}.{part}"


def _first(form: FormData, name: str) -> str:
    values = form.getlist(name)
    return values[0] if values else ""


def _text_answer(raw: object, limit: int) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidAnswer(_("Send the answer as text."))
    if len(raw) > limit:
        raise InvalidAnswer(_("The answer is too long: at most %(max)d characters.", max=limit))
    return raw


def _graded(fraction: Fraction, max_points: float, **details: Any) -> Score:
    fraction = min(max(fraction, Fraction(0)), Fraction(1))
    key = "correct" if fraction == 1 else "incorrect" if fraction == 0 else "partial"
    points = float(fraction * Fraction(max_points))
    return Score(points, max_points, fraction == 1, key, **details)


def _share_right(parts: tuple[tuple[str, bool], ...], max_points: float) -> Score:
    """Credit for the share of the parts (pairs, items, blanks) that are right."""
    right = sum(ok for _part, ok in parts)
    return _graded(Fraction(right, len(parts)), max_points, parts=parts)


def _unanswered(max_points: float) -> Score:
    return Score(0.0, max_points, False, "unanswered")


def _tables(value: object) -> list[dict[str, Any]]:
    """The tables of a list field of a validated question (empty when absent)."""
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _correct_ids(options: Iterable[Mapping[str, Any]]) -> set[str]:
    return {option["id"] for option in options if option.get("correct") is True}


# --- Validation ------------------------------------------------------------------------------


class Checker:
    """Collects the problems of one question; paths are relative to the question."""

    def __init__(self, languages: Sequence[str]) -> None:
        self.languages = ["en", *(code for code in languages if code != "en")]
        self.problems: list[ValidationProblem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(ValidationProblem(path, message))

    def fields(self, table: Mapping[str, Any], path: str, allowed: Iterable[str]) -> None:
        known = set(allowed)
        for key in table:
            if key not in known:
                self.add(
                    _join(path, str(key)),
                    _("Unknown field '%(field)s'; check its spelling.", field=key),
                )

    def text(self, value: object, path: str, subject: str) -> None:
        """A localised text that must exist in every language of the module."""
        if value is None:
            self.add(path, _("%(subject)s is missing.", subject=subject))
            return
        if not isinstance(value, dict) or not value:
            self.add(
                path,
                _(
                    '%(subject)s must be a table of texts by language, such as { en = "..." }.',
                    subject=subject,
                ),
            )
            return
        for code, where, text in self._in_languages(value, path, subject):
            language = _language_name(code)
            if not isinstance(text, str):
                self.add(
                    where,
                    _(
                        "%(subject)s: the %(language)s text must be a string.",
                        subject=subject,
                        language=language,
                    ),
                )
            elif not text.strip():
                self.add(
                    where,
                    _(
                        "%(subject)s: the %(language)s text is empty.",
                        subject=subject,
                        language=language,
                    ),
                )
        self._missing_languages(value, path, subject)

    def answer_lists(self, value: object, path: str, subject: str) -> None:
        """A localised list of accepted answers (``{ en = ["Boolean"] }``)."""
        if not isinstance(value, dict) or not value:
            self.add(
                path,
                _(
                    '%(subject)s must be a table of answer lists by language, such as { en = ["..."] }.',
                    subject=subject,
                ),
            )
            return
        for code, where, answers in self._in_languages(value, path, subject):
            if not isinstance(answers, list) or not answers:
                self.add(
                    where,
                    _(
                        "%(subject)s: give a list of at least one %(language)s answer.",
                        subject=subject,
                        language=_language_name(code),
                    ),
                )
            else:
                for index, answer in enumerate(answers):
                    if not isinstance(answer, str) or not fold(answer):
                        self.add(
                            f"{where}[{index}]",
                            _("%(subject)s: an accepted answer is empty.", subject=subject),
                        )
                    elif len(answer) > SHORT_TEXT_LIMIT:
                        self.add(
                            f"{where}[{index}]",
                            _(
                                "%(subject)s: an accepted answer is longer than %(max)d characters, which students cannot type.",
                                subject=subject,
                                max=SHORT_TEXT_LIMIT,
                            ),
                        )
        self._missing_languages(value, path, subject)

    def _in_languages(
        self, value: Mapping[str, Any], path: str, subject: str
    ) -> Iterator[tuple[str, str, Any]]:
        """The entries of a table by language as ``(code, path, entry)``, skipping (with a problem)
        the languages the module does not have. Lazy, so problems keep the table's order."""
        for code, entry in value.items():
            where = _join(path, code)
            if code in self.languages:
                yield code, where, entry
            else:
                self.add(
                    where,
                    _(
                        "%(subject)s: '%(code)s' is not one of the module's languages.",
                        subject=subject,
                        code=code,
                    ),
                )

    def _missing_languages(self, value: Mapping[str, Any], path: str, subject: str) -> None:
        for code in self.languages:
            if code not in value:
                self.add(
                    _join(path, code),
                    _(
                        "%(subject)s: the %(language)s text is missing.",
                        subject=subject,
                        language=_language_name(code),
                    ),
                )

    def tables(
        self, table: Mapping[str, Any], key: str, path: str, *, minimum: int, too_few: str
    ) -> list[tuple[str, dict[str, Any]]]:
        """The entries of a list of tables, as ``(path, entry)``; problems for what is not one."""
        value = table.get(key)
        where = _join(path, key)
        if value is None and minimum == 0:
            return []
        if not isinstance(value, list):
            self.add(where, _("'%(field)s' must be a list of tables.", field=key))
            return []
        entries = []
        for index, entry in enumerate(value):
            if isinstance(entry, dict):
                entries.append((f"{where}[{index}]", entry))
            else:
                self.add(f"{where}[{index}]", _("This entry must be a table."))
        if len(value) < minimum:
            self.add(where, too_few)
        return entries

    def ids(self, entries: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Every entry has a well-formed id, and no two share one."""
        seen: set[str] = set()
        for path, entry in entries:
            value = entry.get("id")
            if not isinstance(value, str) or not ID_RE.fullmatch(value):
                self.add(_join(path, "id"), _("Give an id made of a-z, 0-9, '-' and '_'."))
            elif value in seen:
                self.add(_join(path, "id"), _("The id '%(id)s' is used twice.", id=value))
            else:
                seen.add(value)

    def boolean(self, table: Mapping[str, Any], key: str, path: str) -> None:
        if not isinstance(table.get(key), bool):
            self.add(_join(path, key), _("'%(field)s' must be true or false.", field=key))

    def number(
        self, table: Mapping[str, Any], key: str, path: str, *, positive: bool = False
    ) -> bool:
        value = table.get(key)
        if not is_number(value):
            self.add(_join(path, key), _("'%(field)s' must be a number.", field=key))
            return False
        if positive and value <= 0:
            self.add(_join(path, key), _("'%(field)s' must be greater than 0.", field=key))
            return False
        return True

    def common(self, question: object, qtype: QuestionType) -> bool:
        """The fields every type shares; False when the question is not even a table."""
        if not isinstance(question, dict):
            self.add("", _("A question must be a table."))
            return False
        self.fields(question, "", COMMON_FIELDS | qtype.fields)
        value = question.get("id")
        if not isinstance(value, str) or not ID_RE.fullmatch(value):
            self.add("id", _("Give an id made of a-z, 0-9, '-' and '_'."))
        if question.get("type") != qtype.name:
            self.add("type", _("The type must be '%(type)s'.", type=qtype.name))
        if "points" in question:
            self.number(question, "points", "", positive=True)
        self.text(question.get("text"), "text", _("Question text"))
        self.feedback(question, required=False)
        tags = question.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags):
            self.add("tags", _("Tags must be a list of texts."))
        return True

    def feedback(self, question: Mapping[str, Any], *, required: bool) -> None:
        value = question.get("feedback")
        if value is None and not required:
            return
        if not isinstance(value, dict):
            self.add(
                "feedback",
                _("Feedback must be a table with 'correct' and 'incorrect' texts."),
            )
            return
        self.fields(value, "feedback", ("correct", "incorrect"))
        subjects = {
            "correct": _("Feedback when correct"),
            "incorrect": _("Feedback when incorrect"),
        }
        for key, subject in subjects.items():
            if required or key in value:
                self.text(value.get(key), f"feedback.{key}", subject)


# --- The registry's base class ---------------------------------------------------------------

#: Which of the question's two feedback texts goes with each kind of score (none while pending).
_GENERAL_FEEDBACK = {
    "correct": "correct",
    "partial": "incorrect",
    "incorrect": "incorrect",
    "unanswered": "incorrect",
}


class QuestionType(ABC):
    """One kind of question. Instances hold no state; the question dict is passed to every call.

    Grading is pure and ignores the language the student worked in, so an item's statistics pool
    its answers across languages. Methods other than ``validate`` expect a valid question.

    Input names in forms (``answer_from_form`` reads what ``questions/_render.html`` writes):
    ``answer-<question id>`` for the whole answer, ``answer-<question id>.<part>`` for one part.
    Option, pair and item values are 1-based positions in the order shown, never the authored ids,
    so that the page source does not give the key away.
    """

    name: ClassVar[str]
    label: ClassVar[LazyString]
    #: False when a person grades the answer (open response).
    auto_graded: ClassVar[bool] = True
    #: The fields of this type beyond :data:`COMMON_FIELDS`.
    fields: ClassVar[frozenset[str]] = frozenset()

    def validate(self, question: Question, languages: list[str]) -> list[ValidationProblem]:
        """Everything wrong inside the question (whether its outcome exists is the loader's job)."""
        checker = Checker(languages)
        if checker.common(question, self):
            self.check(question, checker)
        return checker.problems

    @abstractmethod
    def check(self, question: Question, checker: Checker) -> None:
        """Add the problems of this type's own fields."""

    @abstractmethod
    def normalise_answer(self, question: Question, raw: object) -> Answer:
        """The answer in its stored form, or None when there is no answer; raises InvalidAnswer."""

    @abstractmethod
    def grade_answer(self, question: Question, answer: Answer) -> Score:
        """Grade a normalised answer that is not None."""

    @abstractmethod
    def correct_answer_text(self, question: Question, lang: str) -> str:
        """The key as plain text (inline Markdown from the authored texts); empty when there is none."""

    @abstractmethod
    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        """Plain data for ``questions/_render.html``, showing ``answer`` (normalised) if given.

        It never contains the key. ``shuffled_order`` is a permutation of ``option_ids``.
        """

    @abstractmethod
    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        """The raw answer a form rendered by ``render_context`` posted (for ``normalise_answer``)."""

    def grade(self, question: Question, answer: object) -> Score:
        """Grade an answer (raw or normalised); raises InvalidAnswer for a malformed one."""
        normalised = self.normalise_answer(question, answer)
        if normalised is None:
            return _unanswered(self.max_points(question))
        return self.grade_answer(question, normalised)

    def max_points(self, question: Question) -> float:
        return float(question.get("points", 1))

    def option_ids(self, question: Question) -> list[str]:
        """The ids a delivery may shuffle and a report may count answers by; empty if none."""
        return []

    def feedback(self, question: Question, answer: Answer, score: Score, lang: str) -> list[str]:
        """The feedback texts (inline Markdown) for a graded answer, in ``lang`` or else English:
        the question's ``correct`` or ``incorrect`` feedback (``incorrect`` also for partial credit
        and no answer), then the feedback of each chosen option."""
        key = _GENERAL_FEEDBACK.get(score.feedback_key)
        general = question.get("feedback") or {}
        texts = [localised(general.get(key), lang)] if key else []
        options = {option["id"]: option for option in _tables(question.get("options"))}
        texts += [localised(options[i].get("feedback"), lang) for i in score.option_feedback]
        return [text for text in texts if text]

    def base_context(self, question: Question, lang: str) -> dict[str, Any]:
        text = question["text"]
        shown = lang if isinstance(text.get(lang), str) and text[lang] else "en"
        return {
            "id": question["id"],
            "type": self.name,
            "lang": shown,
            "text": localised(text, shown),
            "name": _input_name(question),
            "input_id": _input_name(question),
            "max_points": self.max_points(question),
        }


# --- Choice types ----------------------------------------------------------------------------


class _Choice(QuestionType):
    fields = frozenset({"options"})
    input_type: ClassVar[str]

    def check(self, question: Question, checker: Checker) -> None:
        options = checker.tables(
            question, "options", "", minimum=2, too_few=_("Give at least two options.")
        )
        checker.ids(options)
        for index, (path, option) in enumerate(options):
            ref = _ref(option, index)
            checker.fields(option, path, ("id", "text", "correct", "feedback"))
            checker.text(option.get("text"), f"{path}.text", _("Option '%(id)s'", id=ref))
            checker.text(
                option.get("feedback"), f"{path}.feedback", _("Feedback of option '%(id)s'", id=ref)
            )
            checker.boolean(option, "correct", path)
        if options:
            self.check_key(sum(option.get("correct") is True for _path, option in options), checker)

    @abstractmethod
    def check_key(self, correct: int, checker: Checker) -> None:
        """Add a problem when ``correct`` options are not what this type needs."""

    def option_ids(self, question: Question) -> list[str]:
        return [option["id"] for option in question["options"]]

    def correct_answer_text(self, question: Question, lang: str) -> str:
        return "; ".join(
            localised(option["text"], lang) for option in question["options"] if option["correct"]
        )

    def chosen(self, answer: Answer) -> set[str]:
        return {answer} if isinstance(answer, str) else set(answer or ())

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = self.base_context(question, lang)
        ids = self.option_ids(question)
        options = {option["id"]: option for option in question["options"]}
        chosen = self.chosen(answer)
        context["input_type"] = self.input_type
        context["options"] = [
            {
                "value": str(position),
                "input_id": f"{context['input_id']}--{position}",
                "text": localised(options[option_id]["text"], context["lang"]),
                "checked": option_id in chosen,
            }
            for position, option_id in enumerate(_shown_order(ids, shuffled_order, ids), 1)
        ]
        return context

    def chosen_from_form(
        self, question: Question, form: FormData, shuffled_order: Order
    ) -> list[str]:
        ids = self.option_ids(question)
        order = _shown_order(ids, shuffled_order, ids)
        values = form.getlist(_input_name(question))
        return [_by_position(order, value) for value in values if value]


class SingleChoice(_Choice):
    """One option is right. Answer: the chosen option id."""

    name = "single_choice"
    label = _l("Single choice")
    input_type = "radio"

    def check_key(self, correct: int, checker: Checker) -> None:
        if correct != 1:
            checker.add(
                "options",
                _(
                    "Exactly one option must be correct; %(count)d are marked correct.",
                    count=correct,
                ),
            )

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise InvalidAnswer(_("Choose one of the options."))
        if raw not in self.option_ids(question):
            raise InvalidAnswer(_("The answer names an option this question does not have."))
        return raw

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        right = answer in _correct_ids(question["options"])
        return _graded(
            Fraction(int(right)),
            self.max_points(question),
            option_feedback=(str(answer),),
            parts=((str(answer), right),),
        )

    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        chosen = self.chosen_from_form(question, form, shuffled_order)
        return chosen[0] if chosen else None


class MultipleResponse(_Choice):
    """One or more options are right. Answer: the list of chosen option ids.

    Partial credit (module format): each correct option chosen earns 1/C, each incorrect option
    chosen costs 1/W (C and W: the numbers of correct and incorrect options); the sum is clamped
    to [0, 1] and multiplied by the question's points. Choosing every option scores 0 unless every
    option is correct.
    """

    name = "multiple_response"
    label = _l("Multiple response")
    input_type = "checkbox"

    def check_key(self, correct: int, checker: Checker) -> None:
        if correct < 1:
            checker.add("options", _("At least one option must be correct."))

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        if raw is None:
            return None
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise InvalidAnswer(_("Send the list of the options you choose."))
        ids = self.option_ids(question)
        if not set(raw) <= set(ids):
            raise InvalidAnswer(_("The answer names an option this question does not have."))
        return [option_id for option_id in ids if option_id in raw] or None

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        chosen = self.chosen(answer)
        correct = _correct_ids(question["options"])
        wrong = set(self.option_ids(question)) - correct
        fraction = Fraction(len(chosen & correct), len(correct))
        if wrong:
            fraction -= Fraction(len(chosen & wrong), len(wrong))
        return _graded(
            fraction,
            self.max_points(question),
            option_feedback=tuple(i for i in self.option_ids(question) if i in chosen),
            parts=tuple((i, (i in chosen) == (i in correct)) for i in self.option_ids(question)),
        )

    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        return self.chosen_from_form(question, form, shuffled_order)


class TrueFalse(QuestionType):
    """A statement is true or false. Answer: ``true`` or ``false``."""

    name = "true_false"
    label = _l("True or false")
    fields = frozenset({"answer"})

    def check(self, question: Question, checker: Checker) -> None:
        checker.boolean(question, "answer", "")
        checker.feedback(question, required=True)

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        if raw is None:
            return None
        if not isinstance(raw, bool):
            raise InvalidAnswer(_("Send true or false."))
        return raw

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        return _graded(Fraction(int(answer is question["answer"])), self.max_points(question))

    def correct_answer_text(self, question: Question, lang: str) -> str:
        with force_locale(lang):
            return _("True") if question["answer"] else _("False")

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = self.base_context(question, lang)
        context["options"] = [
            {
                "value": value,
                "input_id": f"{context['input_id']}--{value}",
                "checked": answer is flag,
            }
            for value, flag in (("true", True), ("false", False))
        ]
        return context

    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        value = _first(form, _input_name(question))
        if value in ("", "true", "false"):
            return {"": None, "true": True, "false": False}[value]
        raise InvalidAnswer(_("Send true or false."))


# --- Typed answers ---------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _slow_pattern(pattern: str) -> bool:
    """Whether a pattern has a shape that can make a backtracking matcher take exponential time.

    Two shapes are refused: a repetition inside another where either is unbounded, such as
    ``(a+)+`` or ``(a+b)*`` (even ``(\\s+or)*``, which could only match one way: telling those
    apart reliably is beyond a check like this, and ``(\\sor)*`` says the same); and, inside an
    unbounded repetition, alternatives of which one can match nothing or any character, such as
    ``(a|a?)+`` or ``(.|a)+``. Python's parser has already merged one-character alternatives and
    common prefixes, so ``(a|b)+`` and ``(ab|ac)+`` pass. Short answers are limited in length too.
    """
    parser = re._parser
    repeats = {parser.MAX_REPEAT, parser.MIN_REPEAT, parser.POSSESSIVE_REPEAT}

    def subpatterns(value: object) -> Iterable[re._parser.SubPattern]:
        if isinstance(value, parser.SubPattern):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                yield from subpatterns(item)

    def ambiguous(branches: list[re._parser.SubPattern]) -> bool:
        return any(branch.getwidth()[0] == 0 or branch[0][0] == parser.ANY for branch in branches)

    def walk(tree: re._parser.SubPattern, outer_max: int, unbounded: bool) -> bool:
        for op, av in tree:
            if op in repeats:
                _low, high, body = av
                this_unbounded = high == parser.MAXREPEAT
                if high > 1 and outer_max > 1 and (this_unbounded or unbounded):
                    return True
                if walk(body, max(outer_max, high), unbounded or this_unbounded):
                    return True
                continue
            if op == parser.BRANCH and unbounded and ambiguous(av[1]):
                return True
            if any(walk(sub, outer_max, unbounded) for sub in subpatterns(av)):
                return True
        return False

    return walk(parser.parse(pattern, re.IGNORECASE), 0, False)


def check_pattern(pattern: object, checker: Checker, path: str) -> None:
    if not isinstance(pattern, str) or not pattern:
        checker.add(path, _("The pattern must be a regular expression in a string."))
    elif len(pattern) > PATTERN_LIMIT:
        checker.add(
            path, _("The pattern is too long: at most %(max)d characters.", max=PATTERN_LIMIT)
        )
    else:
        try:
            _compiled(pattern)
        except re.error as error:
            checker.add(
                path,
                _("The pattern is not a valid regular expression: %(error)s.", error=str(error)),
            )
            return
        if _slow_pattern(pattern):
            checker.add(
                path,
                _(
                    "Checking answers against this pattern can be very slow: it repeats a part "
                    "that itself repeats, such as (a+)+, or repeats alternatives that can match "
                    "the same text, such as (a|a?)+. Rewrite that part."
                ),
            )


def accepts(accepted: Mapping[str, list[str]], answer: str) -> bool:
    """Whether a typed answer is in the accepted answers of *any* language of the item: a student
    working in Russian who types the English term is right too, and an item's statistics stay
    the same whatever language it was answered in."""
    folded = fold(answer)
    return any(folded == fold(text) for texts in accepted.values() for text in texts)


class _Typed(QuestionType):
    """A type whose whole answer is typed into one input."""

    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        return _first(form, _input_name(question))


class _TypedText(_Typed):
    """A type whose answer is a text of at most ``maxlength`` characters."""

    maxlength: ClassVar[int]

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = self.base_context(question, lang)
        context.update(value=answer or "", maxlength=self.maxlength)
        return context


class ShortAnswer(_TypedText):
    """A typed answer compared with the accepted answers (in any of the item's languages) after
    :func:`fold`, or matched in full by ``pattern`` (case-insensitive). Answer: text."""

    name = "short_answer"
    label = _l("Short answer")
    fields = frozenset({"accepted", "pattern"})
    maxlength = SHORT_TEXT_LIMIT

    def check(self, question: Question, checker: Checker) -> None:
        if "accepted" not in question and "pattern" not in question:
            checker.add("accepted", _("Give 'accepted' answers, a 'pattern', or both."))
        if "accepted" in question:
            checker.answer_lists(question["accepted"], "accepted", _("Accepted answers"))
        if "pattern" in question:
            check_pattern(question["pattern"], checker, "pattern")

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        text = _text_answer(raw, self.maxlength)
        if text is None:
            return None
        return collapse(text) or None

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        text = str(answer)
        pattern = question.get("pattern")
        right = accepts(question.get("accepted", {}), text) or bool(
            pattern and _compiled(pattern).fullmatch(text)
        )
        return _graded(Fraction(int(right)), self.max_points(question))

    def correct_answer_text(self, question: Question, lang: str) -> str:
        accepted = question.get("accepted", {})
        texts = accepted.get(lang) or accepted.get("en") or [""]
        return texts[0]


class Numeric(_Typed):
    """A number within ``tolerance`` of ``answer``, or between ``min`` and ``max`` (both inclusive).
    Answer: a number, or text such as ``1 234,5``."""

    name = "numeric"
    label = _l("Numeric")
    fields = frozenset({"answer", "tolerance", "min", "max", "unit"})

    def check(self, question: Question, checker: Checker) -> None:
        by_answer = "answer" in question or "tolerance" in question
        if by_answer == ("min" in question or "max" in question):
            checker.add(
                "answer",
                _("Give either 'answer' (and an optional 'tolerance') or 'min' and 'max'."),
            )
        elif by_answer:
            checker.number(question, "answer", "")
            tolerance_ok = "tolerance" in question and checker.number(question, "tolerance", "")
            if tolerance_ok and question["tolerance"] < 0:
                checker.add("tolerance", _("The tolerance must not be negative."))
        else:
            low_ok = checker.number(question, "min", "")
            if checker.number(question, "max", "") and low_ok and question["min"] > question["max"]:
                checker.add("max", _("'max' must not be smaller than 'min'."))
        if "unit" in question:
            checker.text(question["unit"], "unit", _("Unit"))

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, str):
            if len(raw) > 100:
                raise InvalidAnswer(
                    _("The answer is too long: at most %(max)d characters.", max=100)
                )
            return parse_number(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise InvalidAnswer(_("Send a number."))
        return _finite(raw)

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        value = _decimal(float(answer))  # type: ignore[arg-type]
        if "answer" in question:
            difference = abs(value - _decimal(question["answer"]))
            right = difference <= _decimal(question.get("tolerance", 0))
        else:
            right = _decimal(question["min"]) <= value <= _decimal(question["max"])
        return _graded(Fraction(int(right)), self.max_points(question))

    def correct_answer_text(self, question: Question, lang: str) -> str:
        with force_locale(lang):
            return self.key_text(question, lang)

    def key_text(self, question: Question, lang: str) -> str:
        if "answer" in question:
            text = _format_number(question["answer"], lang)
            if question.get("tolerance"):
                text = _(
                    "%(answer)s ± %(tolerance)s",
                    answer=text,
                    tolerance=_format_number(question["tolerance"], lang),
                )
        else:
            text = _(
                "from %(min)s to %(max)s",
                min=_format_number(question["min"], lang),
                max=_format_number(question["max"], lang),
            )
        unit = localised(question.get("unit"), lang)
        return f"{text} {unit}" if unit else text

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = self.base_context(question, lang)
        # No grouping: the value goes back into the input, and "1,234.5" would not read back.
        value = "" if answer is None else _format_number(float(answer), lang, grouping=False)  # type: ignore[arg-type]
        context["value"] = value
        context["unit"] = localised(question.get("unit"), context["lang"])
        return context


# --- Structured answers ----------------------------------------------------------------------


class Matching(QuestionType):
    """Match each left-hand text to a right-hand one; ``distractors`` are extra right-hand choices.
    Answer: ``{left pair id: chosen pair or distractor id}``. Score: the share of pairs right."""

    name = "matching"
    label = _l("Matching")
    fields = frozenset({"pairs", "distractors"})

    def check(self, question: Question, checker: Checker) -> None:
        pairs = checker.tables(
            question, "pairs", "", minimum=2, too_few=_("Give at least two pairs.")
        )
        distractors = checker.tables(question, "distractors", "", minimum=0, too_few="")
        checker.ids(pairs + distractors)
        for index, (path, pair) in enumerate(pairs):
            ref = _ref(pair, index)
            checker.fields(pair, path, ("id", "left", "right"))
            checker.text(pair.get("left"), f"{path}.left", _("Left side of pair '%(id)s'", id=ref))
            checker.text(
                pair.get("right"), f"{path}.right", _("Right side of pair '%(id)s'", id=ref)
            )
        for index, (path, distractor) in enumerate(distractors):
            checker.fields(distractor, path, ("id", "right"))
            checker.text(
                distractor.get("right"),
                f"{path}.right",
                _("Distractor '%(id)s'", id=_ref(distractor, index)),
            )

    def pair_ids(self, question: Question) -> list[str]:
        return [pair["id"] for pair in question["pairs"]]

    def option_ids(self, question: Question) -> list[str]:
        """The right-hand choices: every pair's right side, then the distractors."""
        return self.pair_ids(question) + [d["id"] for d in question.get("distractors", [])]

    def choice_order(self, question: Question, shuffled_order: Order) -> list[str]:
        return _scrambled_order(question, self.option_ids(question), shuffled_order)

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise InvalidAnswer(_("Send a mapping from each item to its match."))
        pairs, choices = self.pair_ids(question), set(self.option_ids(question))
        if not set(raw) <= set(pairs):
            raise InvalidAnswer(_("The answer names an item this question does not have."))
        for value in raw.values():
            if value not in (None, "") and (not isinstance(value, str) or value not in choices):
                raise InvalidAnswer(_("The answer names a match this question does not have."))
        return {pair: raw[pair] for pair in pairs if raw.get(pair)} or None

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        chosen = answer if isinstance(answer, dict) else {}
        parts = tuple((pair, chosen.get(pair) == pair) for pair in self.pair_ids(question))
        return _share_right(parts, self.max_points(question))

    def correct_answer_text(self, question: Question, lang: str) -> str:
        return "; ".join(
            f"{localised(pair['left'], lang)} → {localised(pair['right'], lang)}"
            for pair in question["pairs"]
        )

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = self.base_context(question, lang)
        shown = context["lang"]
        rights = {p["id"]: p["right"] for p in question["pairs"]}
        rights |= {d["id"]: d["right"] for d in question.get("distractors", [])}
        order = self.choice_order(question, shuffled_order)
        position = {choice: str(n) for n, choice in enumerate(order, 1)}
        chosen = answer if isinstance(answer, dict) else {}
        context["choices"] = [
            {"value": position[choice], "text": localised(rights[choice], shown)}
            for choice in order
        ]
        context["pairs"] = [
            {
                "name": f"{context['name']}.{n}",
                "input_id": f"{context['input_id']}.{n}",
                "left": localised(pair["left"], shown),
                "selected": position.get(chosen.get(pair["id"], ""), ""),
            }
            for n, pair in enumerate(question["pairs"], 1)
        ]
        return context

    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        order = self.choice_order(question, shuffled_order)
        answer = {}
        for n, pair in enumerate(self.pair_ids(question), 1):
            value = _first(form, _input_name(question, n))
            if value:
                answer[pair] = _by_position(order, value)
        return answer


class Ordering(QuestionType):
    """Put ``items`` (listed in the correct order) in order. Answer: the item ids in the student's
    order. Score: the share of items in their correct position."""

    name = "ordering"
    label = _l("Ordering")
    fields = frozenset({"items"})

    def check(self, question: Question, checker: Checker) -> None:
        items = checker.tables(
            question, "items", "", minimum=2, too_few=_("Give at least two items.")
        )
        checker.ids(items)
        for index, (path, item) in enumerate(items):
            checker.fields(item, path, ("id", "text"))
            checker.text(item.get("text"), f"{path}.text", _("Item '%(id)s'", id=_ref(item, index)))

    def option_ids(self, question: Question) -> list[str]:
        return [item["id"] for item in question["items"]]

    def item_order(self, question: Question, shuffled_order: Order) -> list[str]:
        return _scrambled_order(question, self.option_ids(question), shuffled_order)

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        if raw is None or raw == []:
            return None
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise InvalidAnswer(_("Send the list of the items in your order."))
        if sorted(raw) != sorted(self.option_ids(question)):
            raise InvalidAnswer(_("Put every item in the list exactly once."))
        return list(raw)

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        given = list(answer or [])
        parts = tuple(
            (item, given[index] == item) for index, item in enumerate(self.option_ids(question))
        )
        return _share_right(parts, self.max_points(question))

    def correct_answer_text(self, question: Question, lang: str) -> str:
        return "; ".join(
            f"{n}. {localised(item['text'], lang)}" for n, item in enumerate(question["items"], 1)
        )

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = self.base_context(question, lang)
        texts = {item["id"]: item["text"] for item in question["items"]}
        given = list(answer) if isinstance(answer, list) else []
        context["positions"] = [str(n) for n in range(1, len(texts) + 1)]
        context["items"] = [
            {
                "name": f"{context['name']}.{n}",
                "input_id": f"{context['input_id']}.{n}",
                "text": localised(texts[item], context["lang"]),
                "selected": str(given.index(item) + 1) if item in given else "",
            }
            for n, item in enumerate(self.item_order(question, shuffled_order), 1)
        ]
        return context

    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        order = self.item_order(question, shuffled_order)
        count = len(order)
        values = [_first(form, _input_name(question, n)) for n in range(1, count + 1)]
        if not any(values):
            return None
        if not all(v.isascii() and v.isdigit() and 1 <= int(v) <= count for v in values):
            raise InvalidAnswer(_("Give every item a position from 1 to %(count)d.", count=count))
        positions = [int(value) for value in values]
        if len(set(positions)) != count:
            raise InvalidAnswer(_("Give each item a different position."))
        return [item for _position, item in sorted(zip(positions, order, strict=True))]


class Cloze(QuestionType):
    """Fill in the blanks ``[[1]]``, ``[[2]]`` ... of the text, typed (compared like short answers)
    or chosen from a drop-down. Answer: ``{blank id: text or option id}``. Score: the share right."""

    name = "cloze"
    label = _l("Fill in the blanks")
    fields = frozenset({"blanks"})

    def check(self, question: Question, checker: Checker) -> None:
        blanks = checker.tables(
            question, "blanks", "", minimum=1, too_few=_("Give at least one blank.")
        )
        checker.ids(blanks)
        for index, (path, blank) in enumerate(blanks):
            self.check_blank(blank, path, _ref(blank, index), checker)
        self.check_placeholders(question, [blank.get("id") for _path, blank in blanks], checker)

    def check_blank(self, blank: dict[str, Any], path: str, ref: str, checker: Checker) -> None:
        checker.fields(blank, path, ("id", "accepted", "options"))
        if ("accepted" in blank) == ("options" in blank):
            checker.add(path, _("A blank needs either 'accepted' answers or 'options', not both."))
        elif "accepted" in blank:
            subject = _("Accepted answers of blank '%(id)s'", id=ref)
            checker.answer_lists(blank["accepted"], f"{path}.accepted", subject)
        else:
            options = checker.tables(
                blank, "options", path, minimum=2, too_few=_("Give at least two options.")
            )
            checker.ids(options)
            for number, (option_path, option) in enumerate(options):
                checker.fields(option, option_path, ("id", "text", "correct"))
                subject = _(
                    "Option '%(option)s' of blank '%(blank)s'",
                    option=_ref(option, number),
                    blank=ref,
                )
                checker.text(option.get("text"), f"{option_path}.text", subject)
                checker.boolean(option, "correct", option_path)
            correct = sum(option.get("correct") is True for _p, option in options)
            if options and correct != 1:
                checker.add(
                    f"{path}.options",
                    _(
                        "Exactly one option must be correct; %(count)d are marked correct.",
                        count=correct,
                    ),
                )

    def check_placeholders(self, question: Question, ids: list[object], checker: Checker) -> None:
        text = question.get("text")
        if not isinstance(text, dict):
            return
        for code, value in text.items():
            if not isinstance(value, str):
                continue
            found = BLANK_RE.findall(value)
            language = _language_name(code)
            for blank_id in ids:
                if isinstance(blank_id, str) and found.count(blank_id) != 1:
                    checker.add(
                        f"text.{code}",
                        _(
                            "The %(language)s text must contain [[%(id)s]] exactly once.",
                            language=language,
                            id=blank_id,
                        ),
                    )
            for unknown in sorted(set(found) - {i for i in ids if isinstance(i, str)}):
                checker.add(
                    f"text.{code}",
                    _(
                        "The %(language)s text has a blank [[%(id)s]] that 'blanks' does not define.",
                        language=language,
                        id=unknown,
                    ),
                )

    def blanks(self, question: Question) -> dict[str, dict[str, Any]]:
        return {blank["id"]: blank for blank in question["blanks"]}

    def option_order(self, question: Question, blank: dict[str, Any]) -> list[str]:
        ids = [option["id"] for option in blank["options"]]
        return _stable_order(f"{question['id']}.{blank['id']}", ids)

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise InvalidAnswer(_("Send a mapping from each blank to its answer."))
        blanks = self.blanks(question)
        if not set(raw) <= set(blanks):
            raise InvalidAnswer(_("The answer names a blank this question does not have."))
        answer = {}
        for blank_id, blank in blanks.items():
            value = _text_answer(raw.get(blank_id), SHORT_TEXT_LIMIT)
            if value is None or not collapse(value):
                continue
            if "options" in blank and value not in {o["id"] for o in blank["options"]}:
                raise InvalidAnswer(_("The answer names an option this question does not have."))
            answer[blank_id] = value if "options" in blank else collapse(value)
        return answer or None

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        given = answer if isinstance(answer, dict) else {}
        parts = tuple(
            (blank_id, blank_id in given and self.blank_right(blank, given[blank_id]))
            for blank_id, blank in self.blanks(question).items()
        )
        return _share_right(parts, self.max_points(question))

    def blank_right(self, blank: dict[str, Any], value: str) -> bool:
        if "options" in blank:
            return value in _correct_ids(blank["options"])
        return accepts(blank["accepted"], value)

    def blank_key(self, blank: dict[str, Any], lang: str) -> str:
        if "options" in blank:
            return next(localised(o["text"], lang) for o in blank["options"] if o["correct"])
        return (blank["accepted"].get(lang) or blank["accepted"]["en"])[0]

    def correct_answer_text(self, question: Question, lang: str) -> str:
        blanks = self.blanks(question)
        found = BLANK_RE.findall(localised(question["text"], lang))
        return "; ".join(
            f"{n}. {self.blank_key(blanks[blank_id], lang)}"
            for n, blank_id in enumerate((i for i in found if i in blanks), 1)
        )

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = self.base_context(question, lang)
        given = answer if isinstance(answer, dict) else {}
        # Split into text, blank id, text, blank id, ..., text; blanks are numbered in the order
        # they appear in this language, which may differ from the order of their ids.
        pieces = BLANK_RE.split(context["text"])
        count = len(pieces) // 2
        context["segments"] = [
            {"kind": "text", "text": piece}
            if index % 2 == 0
            else self.blank_segment(question, piece, index // 2 + 1, count, context, given)
            for index, piece in enumerate(pieces)
            if piece
        ]
        context["blank_count"] = count
        return context

    def blank_segment(
        self,
        question: Question,
        blank_id: str,
        number: int,
        count: int,
        context: dict[str, Any],
        given: Mapping[str, str],
    ) -> dict[str, Any]:
        blank = self.blanks(question)[blank_id]
        segment = {
            "kind": "blank",
            "number": number,
            "count": count,
            "name": f"{context['name']}.{blank_id}",
            "input_id": f"{context['input_id']}.{blank_id}",
            "value": given.get(blank_id, ""),
            "maxlength": SHORT_TEXT_LIMIT,
            "options": None,
        }
        if "options" in blank:
            texts = {option["id"]: option["text"] for option in blank["options"]}
            order = self.option_order(question, blank)
            segment["options"] = [
                {"value": str(n), "text": localised(texts[option], context["lang"])}
                for n, option in enumerate(order, 1)
            ]
            chosen = given.get(blank_id)
            segment["value"] = str(order.index(chosen) + 1) if chosen in order else ""
        return segment

    def answer_from_form(
        self, question: Question, form: FormData, shuffled_order: Order = None
    ) -> object:
        answer = {}
        for blank_id, blank in self.blanks(question).items():
            value = _first(form, _input_name(question, blank_id))
            if value and "options" in blank:
                value = _by_position(self.option_order(question, blank), value)
            answer[blank_id] = value
        return answer


def _rubric_total(criteria: Iterable[Mapping[str, Any]]) -> Decimal:
    # Summed as decimals so that 0.1 + 0.2 points make a maximum of exactly 0.3.
    return sum((_decimal(criterion["points"]) for criterion in criteria), Decimal(0))


class OpenResponse(_TypedText):
    """An essay graded by a person against ``rubric`` criteria; until then its score is pending
    and it stays out of the statistics. An empty essay scores 0 at once. Answer: text."""

    name = "open_response"
    label = _l("Open response")
    auto_graded = False
    fields = frozenset({"rubric"})
    maxlength = TEXT_LIMIT

    def check(self, question: Question, checker: Checker) -> None:
        rubric = checker.tables(
            question, "rubric", "", minimum=1, too_few=_("Give at least one rubric criterion.")
        )
        checker.ids(rubric)
        valid = True
        for index, (path, criterion) in enumerate(rubric):
            checker.fields(criterion, path, ("id", "text", "points"))
            subject = _("Rubric criterion '%(id)s'", id=_ref(criterion, index))
            checker.text(criterion.get("text"), f"{path}.text", subject)
            valid &= checker.number(criterion, "points", path, positive=True)
        if valid and rubric and is_number(question.get("points")):
            total = _rubric_total(criterion for _path, criterion in rubric)
            if _decimal(question["points"]) != total:
                checker.add(
                    "points",
                    _(
                        "The points must equal the sum of the rubric's points (%(total)s), or be left out.",
                        total=total,
                    ),
                )

    def max_points(self, question: Question) -> float:
        return float(_rubric_total(question["rubric"]))

    def normalise_answer(self, question: Question, raw: object) -> Answer:
        text = _text_answer(raw, self.maxlength)
        if text is None:
            return None
        text = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()
        return text or None

    def grade_answer(self, question: Question, answer: Answer) -> Score:
        return Score(None, self.max_points(question), None, "pending")

    def grade_with_rubric(self, question: Question, criteria_points: Mapping[str, object]) -> Score:
        """The score a person gives: points for every rubric criterion, each within its maximum."""
        if not isinstance(criteria_points, Mapping):
            raise InvalidGrade(_("Give points for every criterion of the rubric."))
        rubric = {criterion["id"]: criterion for criterion in question["rubric"]}
        for criterion_id in criteria_points:
            if criterion_id not in rubric:
                raise InvalidGrade(
                    _("'%(id)s' is not a criterion of this rubric.", id=criterion_id)
                )
        parts, total = [], Decimal(0)
        for criterion_id, criterion in rubric.items():
            if criterion_id not in criteria_points:
                raise InvalidGrade(_("Give points for every criterion of the rubric."))
            given = criteria_points[criterion_id]
            maximum = _decimal(criterion["points"])
            if not is_number(given) or not 0 <= _decimal(given) <= maximum:  # type: ignore[arg-type]
                raise InvalidGrade(
                    _(
                        "The points for '%(id)s' must be a number from 0 to %(max)s.",
                        id=criterion_id,
                        max=maximum,
                    )
                )
            total += _decimal(given)  # type: ignore[arg-type]
            parts.append((criterion_id, _decimal(given) == maximum))  # type: ignore[arg-type]
        fraction = Fraction(total) / Fraction(_rubric_total(question["rubric"]))
        key = "correct" if fraction == 1 else "incorrect" if fraction == 0 else "partial"
        return Score(
            float(total), self.max_points(question), fraction == 1, key, parts=tuple(parts)
        )

    def correct_answer_text(self, question: Question, lang: str) -> str:
        return ""

    def render_context(
        self, question: Question, lang: str, shuffled_order: Order = None, *, answer: Answer = None
    ) -> dict[str, Any]:
        context = super().render_context(question, lang, shuffled_order, answer=answer)
        context["rubric"] = [
            {
                "text": localised(criterion["text"], context["lang"]),
                "points": _format_number(criterion["points"], context["lang"]),
            }
            for criterion in question["rubric"]
        ]
        return context


# --- The registry ----------------------------------------------------------------------------

#: Every question type by name; adding a type is one class above and one line here.
REGISTRY: dict[str, QuestionType] = {
    qtype.name: qtype
    for qtype in (
        SingleChoice(),
        MultipleResponse(),
        TrueFalse(),
        ShortAnswer(),
        Numeric(),
        Matching(),
        Ordering(),
        Cloze(),
        OpenResponse(),
    )
}


def get_type(name: object) -> QuestionType:
    """The type called ``name``; raises UnknownQuestionType with the list of known types."""
    if isinstance(name, str) and name in REGISTRY:
        return REGISTRY[name]
    raise UnknownQuestionType(name)


def validate_question(question: object, languages: list[str]) -> list[ValidationProblem]:
    """Validate a question of any type, reporting an unknown or missing type as a problem."""
    if not isinstance(question, dict):
        return [ValidationProblem("", _("A question must be a table."))]
    try:
        qtype = get_type(question.get("type"))
    except UnknownQuestionType as error:
        return [ValidationProblem("type", error.message)]
    return qtype.validate(question, languages)
