"""The question editor: a form for each question type and set of languages, the conversions
between a form's data and a bank question (the table of bank.toml), and the add, remove and
move buttons of its lists (options, pairs, items, blanks, rubric criteria), which work without
JavaScript by sending the form back with the list changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import Field

from ilms.authoring.forms import clean, localised_form, number, shown_number, texts

Data = dict[str, Any]
Languages = tuple[str, ...]


class QuestionForm(FlaskForm):
    base = HiddenField()
    key = StringField(
        _l("Question id"),
        description=_l("a-z, 0-9, - and _. Leave empty for a name made from the outcome."),
    )
    outcome = SelectField(_l("Outcome"), choices=[], validate_choice=False)
    points = StringField(_l("Points"), description=_l("Leave empty for 1 point."))
    tags = StringField(_l("Tags"), description=_l("Separate tags with commas."))
    submit = SubmitField(_l("Save question"))


# --- Sub-forms -------------------------------------------------------------------------------


def _sub(name: str, fields: dict[str, Field]) -> type[Form]:
    return type(name, (Form,), fields)


def _entries(form: type[Form], label: Any) -> FieldList:
    return FieldList(FormField(form), label=label, min_entries=0)


def _feedback(languages: Languages) -> FormField:
    form = _sub(
        "FeedbackForm",
        {
            "correct": FormField(localised_form(languages, True), label=_l("When correct")),
            "incorrect": FormField(
                localised_form(languages, True), label=_l("When incorrect or partly correct")
            ),
        },
    )
    return FormField(form, label=_l("Feedback"))


def _choice_fields(languages: Languages) -> dict[str, Field]:
    option = _sub(
        "OptionForm",
        {
            "id": HiddenField(),
            "text": FormField(localised_form(languages), label=_l("Option text")),
            "correct": BooleanField(_l("This option is correct")),
            "feedback": FormField(
                localised_form(languages, True), label=_l("Feedback on this option")
            ),
        },
    )
    return {"options": _entries(option, _l("Options"))}


def _true_false_fields(languages: Languages) -> dict[str, Field]:
    answer = RadioField(
        _l("The statement is"),
        choices=[SelectChoice("true", _l("True")), SelectChoice("false", _l("False"))],
        validate_choice=False,
    )
    return {"answer": answer}


def _short_answer_fields(languages: Languages) -> dict[str, Field]:
    return {
        "accepted": FormField(
            localised_form(languages, True), label=_l("Accepted answers, one a line")
        ),
        "pattern": StringField(
            _l("Pattern"),
            description=_l(
                "Optional: a regular expression the whole answer must match (case is ignored)."
            ),
        ),
    }


def _numeric_fields(languages: Languages) -> dict[str, Field]:
    return {
        "mode": RadioField(
            _l("The right answer is"),
            choices=[
                SelectChoice("answer", _l("a number, with an optional tolerance")),
                SelectChoice("range", _l("any number in a range")),
            ],
            default="answer",
            validate_choice=False,
        ),
        "answer": StringField(_l("Answer")),
        "tolerance": StringField(
            _l("Tolerance"), description=_l("Leave empty for an exact answer.")
        ),
        "min": StringField(_l("Smallest right answer")),
        "max": StringField(_l("Largest right answer")),
        "unit": FormField(localised_form(languages), label=_l("Unit (optional)")),
    }


def _matching_fields(languages: Languages) -> dict[str, Field]:
    pair = _sub(
        "PairForm",
        {
            "id": HiddenField(),
            "left": FormField(localised_form(languages), label=_l("Item")),
            "right": FormField(localised_form(languages), label=_l("Its match")),
        },
    )
    distractor = _sub(
        "DistractorForm",
        {
            "id": HiddenField(),
            "right": FormField(localised_form(languages), label=_l("Extra choice")),
        },
    )
    return {
        "pairs": _entries(pair, _l("Pairs")),
        "distractors": _entries(distractor, _l("Extra choices that match nothing")),
    }


def _ordering_fields(languages: Languages) -> dict[str, Field]:
    item = _sub(
        "ItemForm",
        {"id": HiddenField(), "text": FormField(localised_form(languages), label=_l("Item text"))},
    )
    return {"items": _entries(item, _l("Items, in the right order"))}


def _cloze_fields(languages: Languages) -> dict[str, Field]:
    option = _sub(
        "BlankOptionForm",
        {
            "id": HiddenField(),
            "text": FormField(localised_form(languages), label=_l("Choice")),
            "correct": BooleanField(_l("This choice is correct")),
        },
    )
    blank = _sub(
        "BlankForm",
        {
            "id": StringField(
                _l("Blank number"), description=_l("Write [[1]] in the text where blank 1 goes.")
            ),
            "kind": RadioField(
                _l("The student"),
                choices=[
                    SelectChoice("typed", _l("types the answer")),
                    SelectChoice("choice", _l("chooses from a list")),
                ],
                default="typed",
                validate_choice=False,
            ),
            "accepted": FormField(
                localised_form(languages, True), label=_l("Accepted answers, one a line")
            ),
            "options": _entries(option, _l("Choices")),
        },
    )
    return {"blanks": _entries(blank, _l("Blanks"))}


def _open_response_fields(languages: Languages) -> dict[str, Field]:
    criterion = _sub(
        "CriterionForm",
        {
            "id": HiddenField(),
            "text": FormField(localised_form(languages, True), label=_l("Criterion")),
            "points": StringField(_l("Points")),
        },
    )
    return {"rubric": _entries(criterion, _l("Rubric"))}


_FIELDS: dict[str, Callable[[Languages], dict[str, Field]]] = {
    "single_choice": _choice_fields,
    "multiple_response": _choice_fields,
    "true_false": _true_false_fields,
    "short_answer": _short_answer_fields,
    "numeric": _numeric_fields,
    "matching": _matching_fields,
    "ordering": _ordering_fields,
    "cloze": _cloze_fields,
    "open_response": _open_response_fields,
}


@cache
def question_form(type_name: str, languages: Languages) -> type[QuestionForm]:
    """The editor form of ``type_name`` questions in a module of ``languages``."""
    fields: dict[str, Field] = {
        "text": FormField(localised_form(languages, True), label=_l("Question text")),
        "feedback": _feedback(languages),
        **_FIELDS[type_name](languages),
    }
    return type(f"QuestionForm_{type_name}", (QuestionForm,), fields)


# --- Form data → question --------------------------------------------------------------------


class _Ids:
    """Ids for new entries of a question's lists, unique within the question."""

    def __init__(self, entries: Iterable[Data]) -> None:
        self.used = {clean(entry.get("id")) for entry in entries} - {""}

    def of(self, entry: Data, prefix: str) -> str:
        given = clean(entry.get("id"))
        if given:
            return given
        number = 1
        while f"{prefix}{number}" in self.used:
            number += 1
        self.used.add(f"{prefix}{number}")
        return f"{prefix}{number}"


def _letters(ids: _Ids, entry: Data) -> str:
    """Option ids as people expect them: a, b, c ..."""
    if not clean(entry.get("id")):
        for letter in "abcdefghijklmnopqrstuvwxyz":
            if letter not in ids.used:
                ids.used.add(letter)
                return letter
    return ids.of(entry, "o")


def _optional_texts(data: Data, languages: Languages) -> dict[str, str] | None:
    value = texts(data, languages)
    return value if any(value.values()) else None


def _answer_lists(data: Data, languages: Languages) -> dict[str, list[str]]:
    return {
        code: [line.strip() for line in (data.get(code) or "").splitlines() if line.strip()]
        for code in languages
    }


def _choice(data: Data, languages: Languages) -> Data:
    ids = _Ids(data["options"])
    options = [
        {
            "id": _letters(ids, option),
            "text": texts(option["text"], languages),
            "correct": bool(option["correct"]),
            "feedback": texts(option["feedback"], languages),
        }
        for option in data["options"]
    ]
    return {"options": options}


def _true_false(data: Data, languages: Languages) -> Data:
    choice = data.get("answer")
    return {"answer": choice == "true"} if choice in ("true", "false") else {}


def _short_answer(data: Data, languages: Languages) -> Data:
    question: Data = {}
    accepted = _answer_lists(data["accepted"], languages)
    if any(accepted.values()):
        question["accepted"] = accepted
    if clean(data.get("pattern")):
        question["pattern"] = clean(data["pattern"])
    return question


def _numeric(data: Data, languages: Languages) -> Data:
    keys = ("min", "max") if data.get("mode") == "range" else ("answer", "tolerance")
    question: Data = {key: number(data[key]) for key in keys if clean(data.get(key))}
    if data.get("mode") != "range" and "answer" not in question:
        question["answer"] = ""  # the reader says that the answer is missing
    unit = _optional_texts(data["unit"], languages)
    if unit:
        question["unit"] = unit
    return question


def _matching(data: Data, languages: Languages) -> Data:
    ids = _Ids([*data["pairs"], *data["distractors"]])
    question: Data = {
        "pairs": [
            {
                "id": ids.of(pair, "p"),
                "left": texts(pair["left"], languages),
                "right": texts(pair["right"], languages),
            }
            for pair in data["pairs"]
        ]
    }
    if data["distractors"]:
        question["distractors"] = [
            {"id": ids.of(extra, "d"), "right": texts(extra["right"], languages)}
            for extra in data["distractors"]
        ]
    return question


def _ordering(data: Data, languages: Languages) -> Data:
    ids = _Ids(data["items"])
    return {
        "items": [
            {"id": ids.of(item, "i"), "text": texts(item["text"], languages)}
            for item in data["items"]
        ]
    }


def _cloze(data: Data, languages: Languages) -> Data:
    ids = _Ids(data["blanks"])
    return {"blanks": [_blank(blank, ids.of(blank, ""), languages) for blank in data["blanks"]]}


def _blank(blank: Data, blank_id: str, languages: Languages) -> Data:
    if blank.get("kind") != "choice":
        return {"id": blank_id, "accepted": _answer_lists(blank["accepted"], languages)}
    ids = _Ids(blank["options"])
    options = [
        {
            "id": _letters(ids, option),
            "text": texts(option["text"], languages),
            "correct": bool(option["correct"]),
        }
        for option in blank["options"]
    ]
    return {"id": blank_id, "options": options}


def _open_response(data: Data, languages: Languages) -> Data:
    ids = _Ids(data["rubric"])
    return {
        "rubric": [
            {
                "id": ids.of(criterion, "c"),
                "text": texts(criterion["text"], languages),
                "points": number(criterion["points"]),
            }
            for criterion in data["rubric"]
        ]
    }


_TO_QUESTION: dict[str, Callable[[Data, Languages], Data]] = {
    "single_choice": _choice,
    "multiple_response": _choice,
    "true_false": _true_false,
    "short_answer": _short_answer,
    "numeric": _numeric,
    "matching": _matching,
    "ordering": _ordering,
    "cloze": _cloze,
    "open_response": _open_response,
}


def question_from_data(type_name: str, data: Data, languages: Languages) -> Data:
    """The bank question a filled-in editor form describes (checked later by the module reader)."""
    question: Data = {
        "id": clean(data.get("key")),
        "type": type_name,
        "outcome": clean(data.get("outcome")),
        "text": texts(data["text"], languages),
    }
    if clean(data.get("points")):
        question["points"] = number(data["points"])
    tags = [tag.strip() for tag in (data.get("tags") or "").split(",") if tag.strip()]
    if tags:
        question["tags"] = tags
    feedback = _general_feedback(data["feedback"], languages, required=type_name == "true_false")
    if feedback:
        question["feedback"] = feedback
    question.update(_TO_QUESTION[type_name](data, languages))
    return question


def _general_feedback(data: Data, languages: Languages, *, required: bool) -> Data:
    if required:
        return {key: texts(data[key], languages) for key in ("correct", "incorrect")}
    found = {key: _optional_texts(data[key], languages) for key in ("correct", "incorrect")}
    return {key: value for key, value in found.items() if value}


# --- Question → form data --------------------------------------------------------------------


def data_from_question(question: Data) -> Data:
    """The editor form's data for a bank question."""
    feedback = question.get("feedback") or {}
    data: Data = {
        "key": question["id"],
        "outcome": question.get("outcome", ""),
        "points": shown_number(question.get("points")),
        "tags": ", ".join(question.get("tags", [])),
        "text": dict(question.get("text", {})),
        "feedback": {key: dict(feedback.get(key, {})) for key in ("correct", "incorrect")},
    }
    data.update(_TO_DATA[question["type"]](question))
    return data


def _lines(value: dict[str, list[str]] | None) -> dict[str, str]:
    return {code: "\n".join(answers) for code, answers in (value or {}).items()}


def _choice_data(question: Data) -> Data:
    return {"options": [dict(option) for option in question.get("options", [])]}


def _true_false_data(question: Data) -> Data:
    answer = question.get("answer")
    return {"answer": "" if answer is None else "true" if answer else "false"}


def _short_answer_data(question: Data) -> Data:
    return {"accepted": _lines(question.get("accepted")), "pattern": question.get("pattern", "")}


def _numeric_data(question: Data) -> Data:
    keys = ("answer", "tolerance", "min", "max")
    data: Data = {key: shown_number(question.get(key)) for key in keys}
    data["mode"] = "range" if "min" in question or "max" in question else "answer"
    data["unit"] = dict(question.get("unit", {}))
    return data


def _matching_data(question: Data) -> Data:
    return {
        "pairs": [dict(pair) for pair in question.get("pairs", [])],
        "distractors": [dict(extra) for extra in question.get("distractors", [])],
    }


def _ordering_data(question: Data) -> Data:
    return {"items": [dict(item) for item in question.get("items", [])]}


def _cloze_data(question: Data) -> Data:
    blanks = [
        {
            "id": blank["id"],
            "kind": "choice" if "options" in blank else "typed",
            "accepted": _lines(blank.get("accepted")),
            "options": [dict(option) for option in blank.get("options", [])],
        }
        for blank in question.get("blanks", [])
    ]
    return {"blanks": blanks}


def _open_response_data(question: Data) -> Data:
    rubric = [
        {**criterion, "points": shown_number(criterion.get("points"))}
        for criterion in question.get("rubric", [])
    ]
    return {"rubric": rubric}


_TO_DATA: dict[str, Callable[[Data], Data]] = {
    "single_choice": _choice_data,
    "multiple_response": _choice_data,
    "true_false": _true_false_data,
    "short_answer": _short_answer_data,
    "numeric": _numeric_data,
    "matching": _matching_data,
    "ordering": _ordering_data,
    "cloze": _cloze_data,
    "open_response": _open_response_data,
}

#: What a new question of each type starts with: the least its type needs.
_STARTERS: dict[str, Data] = {
    "single_choice": {"options": [{}, {}]},
    "multiple_response": {"options": [{}, {}]},
    "true_false": {},
    "short_answer": {},
    "numeric": {"mode": "answer"},
    "matching": {"pairs": [{}, {}], "distractors": []},
    "ordering": {"items": [{}, {}]},
    "cloze": {"blanks": [{"id": "1", "kind": "typed"}]},
    "open_response": {"rubric": [{}]},
}


def new_question_data(type_name: str) -> Data:
    return copy.deepcopy(_STARTERS[type_name])


# --- The list buttons ------------------------------------------------------------------------

VERBS = ("add", "remove", "up", "down")


@dataclass(frozen=True)
class ListAction:
    """A press of a list button: ``add:options``, ``remove:options-2``, ``up:blanks-0-options-1``."""

    verb: str
    path: tuple[str | int, ...]  #: to the list (``add``) or to the entry

    @classmethod
    def parse(cls, value: str) -> ListAction | None:
        verb, _sep, target = value.partition(":")
        if verb not in VERBS or not target:
            return None
        path = tuple(int(part) if part.isdigit() else part for part in target.split("-"))
        wants_entry = verb != "add"
        if wants_entry != isinstance(path[-1], int):
            return None
        return cls(verb, path)

    def apply(self, data: Data) -> tuple[str | int, ...] | None:
        """Change ``data`` in place; the path of the entry to focus next, or None if invalid."""
        entries = _list_at(data, self.path if self.verb == "add" else self.path[:-1])
        if entries is None:
            return None
        if self.verb == "add":
            entries.append({})
            return (*self.path, len(entries) - 1)
        index = int(self.path[-1])
        if index >= len(entries):
            return None
        if self.verb == "remove":
            del entries[index]
            return self.path[:-1]
        target = index - 1 if self.verb == "up" else index + 1
        if not 0 <= target < len(entries):
            return None
        entries[index], entries[target] = entries[target], entries[index]
        return (*self.path[:-1], target)


def _list_at(data: Any, path: tuple[str | int, ...]) -> list[Any] | None:
    for part in path:
        named = isinstance(part, str) and isinstance(data, dict) and part in data
        listed = isinstance(part, int) and isinstance(data, list) and part < len(data)
        if not (named or listed):
            return None
        data = data[part]
    return data if isinstance(data, list) else None
