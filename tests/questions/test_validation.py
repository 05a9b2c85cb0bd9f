"""Validation: a problem, with its path inside the question, for each way a question can be broken."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from ilms.questions.types import ValidationProblem, get_type, validate_question
from tests.questions import conftest as samples
from tests.questions.conftest import LANGUAGES

Question = dict[str, Any]


def problems(question: object, languages: list[str] = LANGUAGES) -> dict[str, str]:
    found = validate_question(question, languages)
    assert all(isinstance(problem, ValidationProblem) for problem in found)
    messages: dict[str, str] = {}
    for problem in found:
        messages[problem.path] = " | ".join(
            filter(None, [messages.get(problem.path), problem.message])
        )
    return messages


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_samples_are_valid(sample: str) -> None:
    assert problems(samples.SAMPLES[sample]()) == {}


def test_english_is_required_even_when_not_declared() -> None:
    question = samples.single_choice()
    del question["text"]["en"]
    assert "text.en" in problems(question, ["ru", "kk"])


def test_a_question_in_fewer_languages_is_valid_for_a_module_that_has_fewer() -> None:
    question = samples.true_false()
    for text in (question["text"], *question["feedback"].values()):
        del text["kk"]
    assert problems(question, ["en", "ru"]) == {}
    assert set(problems(question)) == {"text.kk", "feedback.correct.kk", "feedback.incorrect.kk"}


def broken(make: Callable[[], Question], change: Callable[[Question], object]) -> Question:
    question = make()
    change(question)
    return question


CASES: list[tuple[str, Question, str, str]] = [
    # Fields every type shares.
    ("question id", broken(samples.true_false, lambda q: q.update(id="Bad Id")), "id", "a-z"),
    ("points", broken(samples.true_false, lambda q: q.update(points=0)), "points", "greater"),
    ("points type", broken(samples.true_false, lambda q: q.update(points="1")), "points", "number"),
    ("tags", broken(samples.true_false, lambda q: q.update(tags="search")), "tags", "list"),
    (
        "unknown field",
        broken(samples.true_false, lambda q: q.update(feedbak={})),
        "feedbak",
        "spelling",
    ),
    ("no text", broken(samples.true_false, lambda q: q.pop("text")), "text", "missing"),
    (
        "text not a table",
        broken(samples.true_false, lambda q: q.update(text="Hi")),
        "text",
        "table",
    ),
    (
        "empty text",
        broken(samples.true_false, lambda q: q["text"].update(ru=" ")),
        "text.ru",
        "Russian text is empty",
    ),
    (
        "text not a string",
        broken(samples.true_false, lambda q: q["text"].update(ru=1)),
        "text.ru",
        "string",
    ),
    (
        "undeclared language",
        broken(samples.true_false, lambda q: q["text"].update(kz="x")),
        "text.kz",
        "'kz' is not one of the module's languages",
    ),
    (
        "feedback shape",
        broken(samples.single_choice, lambda q: q.update(feedback="Good")),
        "feedback",
        "'correct' and 'incorrect'",
    ),
    (
        "feedback key",
        broken(samples.single_choice, lambda q: q["feedback"].update(partial={})),
        "feedback.partial",
        "spelling",
    ),
    (
        "feedback language",
        broken(samples.single_choice, lambda q: q["feedback"]["incorrect"].pop("kk")),
        "feedback.incorrect.kk",
        "Feedback when incorrect: the Kazakh text is missing",
    ),
    # single_choice and multiple_response
    (
        "two correct",
        broken(samples.single_choice, lambda q: q["options"][1].update(correct=True)),
        "options",
        "Exactly one option must be correct; 2",
    ),
    (
        "none correct",
        broken(samples.single_choice, lambda q: q["options"][0].update(correct=False)),
        "options",
        "Exactly one option must be correct; 0",
    ),
    (
        "option feedback",
        broken(samples.single_choice, lambda q: q["options"][2]["feedback"].pop("ru")),
        "options[2].feedback.ru",
        "Feedback of option 'c': the Russian text is missing",
    ),
    (
        "no option feedback",
        broken(samples.single_choice, lambda q: q["options"][1].pop("feedback")),
        "options[1].feedback",
        "Feedback of option 'b' is missing",
    ),
    (
        "option text",
        broken(samples.single_choice, lambda q: q["options"][0]["text"].update(kk="")),
        "options[0].text.kk",
        "Option 'a': the Kazakh text is empty",
    ),
    (
        "correct flag",
        broken(samples.single_choice, lambda q: q["options"][1].update(correct="no")),
        "options[1].correct",
        "true or false",
    ),
    (
        "duplicate option",
        broken(samples.single_choice, lambda q: q["options"][2].update(id="a")),
        "options[2].id",
        "used twice",
    ),
    (
        "option id",
        broken(samples.single_choice, lambda q: q["options"][2].update(id="C")),
        "options[2].id",
        "a-z",
    ),
    (
        "option field",
        broken(samples.single_choice, lambda q: q["options"][0].update(points=1)),
        "options[0].points",
        "spelling",
    ),
    (
        "one option",
        broken(samples.single_choice, lambda q: q.update(options=q["options"][:1])),
        "options",
        "at least two options",
    ),
    (
        "options shape",
        broken(samples.single_choice, lambda q: q.update(options={"a": 1})),
        "options",
        "list of tables",
    ),
    (
        "option entry",
        broken(samples.single_choice, lambda q: q["options"].append("d")),
        "options[3]",
        "table",
    ),
    (
        "no correct response",
        broken(
            samples.multiple_response, lambda q: [o.update(correct=False) for o in q["options"]]
        ),
        "options",
        "At least one option",
    ),
    # true_false
    (
        "answer",
        broken(samples.true_false, lambda q: q.update(answer="yes")),
        "answer",
        "true or false",
    ),
    (
        "feedback required",
        broken(samples.true_false, lambda q: q.pop("feedback")),
        "feedback",
        "'correct' and 'incorrect'",
    ),
    (
        "half the feedback",
        broken(samples.true_false, lambda q: q["feedback"].pop("correct")),
        "feedback.correct",
        "Feedback when correct is missing",
    ),
    # short_answer
    (
        "no key",
        broken(samples.short_answer, lambda q: [q.pop("accepted"), q.pop("pattern")]),
        "accepted",
        "'accepted' answers, a 'pattern'",
    ),
    (
        "accepted language",
        broken(samples.short_answer, lambda q: q["accepted"].pop("kk")),
        "accepted.kk",
        "Kazakh",
    ),
    (
        "accepted shape",
        broken(samples.short_answer, lambda q: q.update(accepted=["Boolean"])),
        "accepted",
        "answer lists by language",
    ),
    (
        "accepted list",
        broken(samples.short_answer, lambda q: q["accepted"].update(ru="Булевы")),
        "accepted.ru",
        "at least one Russian answer",
    ),
    (
        "empty accepted",
        broken(samples.short_answer, lambda q: q["accepted"]["en"].append("  ")),
        "accepted.en[2]",
        "empty",
    ),
    (
        "long accepted",
        broken(samples.short_answer, lambda q: q["accepted"]["en"].append("x" * 201)),
        "accepted.en[2]",
        "200",
    ),
    (
        "bad pattern",
        broken(samples.short_answer, lambda q: q.update(pattern="boolean (")),
        "pattern",
        "not a valid regular expression",
    ),
    (
        "nested pattern",
        broken(samples.short_answer, lambda q: q.update(pattern=r"(\w+\s?)+$")),
        "pattern",
        "very slow",
    ),
    (
        "nested bounded",
        broken(samples.short_answer, lambda q: q.update(pattern=r"(?:a|(b+)){2,}")),
        "pattern",
        "very slow",
    ),
    (
        "long pattern",
        broken(samples.short_answer, lambda q: q.update(pattern="a" * 501)),
        "pattern",
        "too long",
    ),
    (
        "pattern type",
        broken(samples.short_answer, lambda q: q.update(pattern=["a"])),
        "pattern",
        "string",
    ),
    # numeric
    (
        "answer and range",
        broken(samples.numeric, lambda q: q.update(min=1, max=2)),
        "answer",
        "either",
    ),
    (
        "neither",
        broken(samples.numeric_range, lambda q: [q.pop("min"), q.pop("max")]),
        "answer",
        "either",
    ),
    ("answer type", broken(samples.numeric, lambda q: q.update(answer="0.3")), "answer", "number"),
    (
        "answer nan",
        broken(samples.numeric, lambda q: q.update(answer=math.nan)),
        "answer",
        "number",
    ),
    (
        "tolerance",
        broken(samples.numeric, lambda q: q.update(tolerance=-0.1)),
        "tolerance",
        "negative",
    ),
    ("tolerance alone", broken(samples.numeric, lambda q: q.pop("answer")), "answer", "number"),
    ("range order", broken(samples.numeric_range, lambda q: q.update(min=30)), "max", "smaller"),
    ("half a range", broken(samples.numeric_range, lambda q: q.pop("max")), "max", "number"),
    (
        "unit",
        broken(samples.numeric, lambda q: q["unit"].pop("ru")),
        "unit.ru",
        "Unit: the Russian text is missing",
    ),
    # matching
    (
        "one pair",
        broken(samples.matching, lambda q: q.update(pairs=q["pairs"][:1])),
        "pairs",
        "at least two pairs",
    ),
    (
        "pair side",
        broken(samples.matching, lambda q: q["pairs"][1]["right"].pop("ru")),
        "pairs[1].right.ru",
        "Right side of pair 'p2'",
    ),
    (
        "left side",
        broken(samples.matching, lambda q: q["pairs"][0].pop("left")),
        "pairs[0].left",
        "Left side of pair 'p1' is missing",
    ),
    (
        "distractor id",
        broken(samples.matching, lambda q: q["distractors"][0].update(id="p1")),
        "distractors[0].id",
        "used twice",
    ),
    (
        "distractor text",
        broken(samples.matching, lambda q: q["distractors"][0]["right"].pop("kk")),
        "distractors[0].right.kk",
        "Distractor 'd1'",
    ),
    (
        "distractor field",
        broken(samples.matching, lambda q: q["distractors"][0].update(left={"en": "x"})),
        "distractors[0].left",
        "spelling",
    ),
    (
        "distractors shape",
        broken(samples.matching, lambda q: q.update(distractors="Blog")),
        "distractors",
        "list of tables",
    ),
    # ordering
    (
        "item id",
        broken(samples.ordering, lambda q: q["items"][0].update(id="Step 1")),
        "items[0].id",
        "a-z",
    ),
    (
        "item text",
        broken(samples.ordering, lambda q: q["items"][3]["text"].pop("kk")),
        "items[3].text.kk",
        "Item 'step-4'",
    ),
    (
        "one item",
        broken(samples.ordering, lambda q: q.update(items=q["items"][:1])),
        "items",
        "at least two items",
    ),
    # cloze
    (
        "missing blank",
        broken(samples.cloze, lambda q: q["text"].update(ru="Используйте [[1]].")),
        "text.ru",
        "[[2]] exactly once",
    ),
    (
        "unknown blank",
        broken(samples.cloze, lambda q: q["text"].update(en=q["text"]["en"] + " [[3]]")),
        "text.en",
        "[[3]] that 'blanks' does not define",
    ),
    (
        "no blanks",
        broken(samples.cloze, lambda q: q.update(blanks=[])),
        "blanks",
        "at least one blank",
    ),
    (
        "both kinds",
        broken(samples.cloze, lambda q: q["blanks"][0].update(options=[])),
        "blanks[0]",
        "not both",
    ),
    (
        "neither kind",
        broken(samples.cloze, lambda q: q["blanks"][0].pop("accepted")),
        "blanks[0]",
        "not both",
    ),
    (
        "blank accepted",
        broken(samples.cloze, lambda q: q["blanks"][0]["accepted"].pop("kk")),
        "blanks[0].accepted.kk",
        "Accepted answers of blank '1'",
    ),
    (
        "drop-down key",
        broken(samples.cloze, lambda q: q["blanks"][1]["options"][0].update(correct=False)),
        "blanks[1].options",
        "Exactly one option",
    ),
    (
        "drop-down text",
        broken(samples.cloze, lambda q: q["blanks"][1]["options"][1]["text"].pop("ru")),
        "blanks[1].options[1].text.ru",
        "Option 'not' of blank '2'",
    ),
    (
        "drop-down size",
        broken(
            samples.cloze, lambda q: q["blanks"][1].update(options=q["blanks"][1]["options"][:1])
        ),
        "blanks[1].options",
        "at least two options",
    ),
    # open_response
    (
        "rubric sum",
        broken(samples.open_response, lambda q: q.update(points=4)),
        "points",
        "sum of the rubric's points (5)",
    ),
    (
        "criterion points",
        broken(samples.open_response, lambda q: q["rubric"][0].update(points=0)),
        "rubric[0].points",
        "greater than 0",
    ),
    (
        "criterion text",
        broken(samples.open_response, lambda q: q["rubric"][1]["text"].pop("kk")),
        "rubric[1].text.kk",
        "Rubric criterion 'evidence'",
    ),
    (
        "no rubric",
        broken(samples.open_response, lambda q: q.pop("rubric")),
        "rubric",
        "list of tables",
    ),
    (
        "empty rubric",
        broken(samples.open_response, lambda q: q.update(rubric=[])),
        "rubric",
        "at least one rubric criterion",
    ),
]


@pytest.mark.parametrize(
    ("question", "path", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_problem_is_reported_at_its_path(question: Question, path: str, message: str) -> None:
    found = problems(question)
    assert path in found, found
    assert message in found[path]


def test_matching_rubric_points_are_accepted() -> None:
    assert problems(samples.open_response() | {"points": 5.0}) == {}


@pytest.mark.parametrize(
    "pattern", [r"(a|a)+", r"(.|a)+x", r"(a|a?)+x", r"(?:x|)+y", r"(a+a)+", r"(\d{1,3}\.)+"]
)
def test_patterns_that_can_backtrack_for_ever_are_refused(pattern: str) -> None:
    assert "very slow" in problems(samples.short_answer() | {"pattern": pattern})["pattern"]


def test_patterns_that_repeat_safely_are_accepted() -> None:
    safe = [r"(\d{3}-){2}\d{4}", r"boolean\s+(and|or)+", r"(?:colou?r)+", r"a+b+c*", r"(a|b)+"]
    safe += [r"(ab|ac)+", r"(?:and|or|not)(?:\s(?:and|or|not))*", r"(\w|a)+", r"(a|.)"]
    for pattern in safe:
        assert problems(samples.short_answer() | {"pattern": pattern}) == {}, pattern


def test_not_a_table_or_unknown_type() -> None:
    assert problems(["single_choice"]) == {"": "A question must be a table."}
    assert (
        "Unknown question type 'essay'"
        in problems(samples.open_response() | {"type": "essay"})["type"]
    )
    assert "type" in problems(samples.true_false() | {"type": None})


def test_a_type_refuses_a_question_of_another_type() -> None:
    found = get_type("single_choice").validate(samples.true_false(), LANGUAGES)
    assert ValidationProblem("type", "The type must be 'single_choice'.") in found


def test_broken_questions_never_raise() -> None:
    """Validation reports what it finds in any shape of data, and never fails on it."""
    shapes: list[object] = [None, 1, "x", [], {}, [{}], [1], {"en": 1}, {"x": []}]
    for make in samples.SAMPLES.values():
        question = make()
        for key in question:
            for shape in shapes:
                problems(question | {key: shape})


def test_problem_reads_as_path_and_message() -> None:
    problem = ValidationProblem("options[2].feedback.ru", "Feedback of option 'c' is missing.")
    assert str(problem) == "options[2].feedback.ru: Feedback of option 'c' is missing."


def test_messages_name_languages_in_the_interface_language() -> None:
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "ru")
    question = samples.single_choice()
    del question["options"][2]["feedback"]["kk"]
    with app.test_request_context():
        found = problems(question)
    assert "казахский" in found["options[2].feedback.kk"]
