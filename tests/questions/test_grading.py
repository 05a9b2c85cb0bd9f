"""Grading every question type, partial credit, and the answers each type refuses."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

import pytest

from ilms.questions.types import (
    REGISTRY,
    SHORT_TEXT_LIMIT,
    TEXT_LIMIT,
    InvalidAnswer,
    InvalidGrade,
    OpenResponse,
    Score,
    fold,
    get_type,
    parse_number,
)
from tests.questions import conftest as samples


def grade(question: dict[str, Any], answer: object) -> Score:
    return get_type(question["type"]).grade(question, answer)


# --- Every type --------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_no_answer_scores_zero_as_unanswered(sample: str) -> None:
    question = samples.SAMPLES[sample]()
    score = grade(question, None)
    assert score == Score(0.0, get_type(question["type"]).max_points(question), False, "unanswered")
    assert score.fraction == 0


#: For each type, raw answers of the wrong JSON type (or shape), all refused.
MALFORMED: dict[str, list[object]] = {
    "single_choice": [1, 1.5, True, ["a"], {"a": True}, "z"],
    "multiple_response": ["a", 1, True, {"a": True}, [1], ["a", None], ["z"]],
    "true_false": ["true", 1, 0, 1.0, [], {}, "yes"],
    "short_answer": [1, 2.5, True, ["Boolean"], {"en": "Boolean"}],
    "numeric": [True, False, [], {}, "abc", "1,234.5", "1.2.3", "nan", "inf", "٣"],
    "numeric_range": [math.nan, math.inf, -math.inf, 10**400, "1e999", "--1"],
    "matching": ["p1", ["p1"], 1, True, {"p9": "p1"}, {"p1": "zz"}, {"p1": 1}, {"p1": ["p1"]}],
    "ordering": ["step-1", 1, {}, [1, 2], ["step-1", "step-1", "step-2", "step-3"], ["step-1"]],
    "cloze": ["AND", ["AND"], 1, {"9": "AND"}, {"1": 1}, {"2": "maybe"}, {"1": ["AND"]}],
    "open_response": [1, True, ["essay"], {"text": "essay"}],
}


@pytest.mark.parametrize(
    ("sample", "raw"), [(sample, raw) for sample, raws in MALFORMED.items() for raw in raws]
)
def test_malformed_answers_are_refused_with_a_message(sample: str, raw: object) -> None:
    question = samples.SAMPLES[sample]()
    with pytest.raises(InvalidAnswer) as caught:
        grade(question, raw)
    assert isinstance(caught.value, ValueError)
    assert caught.value.message and str(caught.value) == caught.value.message


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_grading_is_deterministic_and_normalising_is_idempotent(sample: str) -> None:
    question = samples.SAMPLES[sample]()
    qtype = get_type(question["type"])
    answers = {
        "single_choice": "b",
        "multiple_response": ["c", "a"],
        "true_false": False,
        "short_answer": "  boolean  ",
        "numeric": "0,35",
        "numeric_range": 12,
        "matching": {"p1": "p1", "p2": "d1"},
        "ordering": ["step-2", "step-1", "step-3", "step-4"],
        "cloze": {"1": "and", "2": "not"},
        "open_response": "An essay.",
    }
    normalised = qtype.normalise_answer(question, answers[sample])
    assert qtype.normalise_answer(question, normalised) == normalised
    assert qtype.grade(question, answers[sample]) == qtype.grade(question, normalised)


def test_registry_names_every_type_once() -> None:
    assert sorted(REGISTRY) == sorted(
        [
            "single_choice",
            "multiple_response",
            "true_false",
            "short_answer",
            "numeric",
            "matching",
            "ordering",
            "cloze",
            "open_response",
        ]
    )
    assert all(qtype.name == name for name, qtype in REGISTRY.items())
    assert [name for name, qtype in REGISTRY.items() if not qtype.auto_graded] == ["open_response"]
    assert str(REGISTRY["cloze"].label) == "Fill in the blanks"


def test_unknown_type_raises_a_clear_error() -> None:
    with pytest.raises(LookupError, match=r"Unknown question type 'essay'.*single_choice"):
        get_type("essay")


# --- Choice types ------------------------------------------------------------------------------


def test_single_choice() -> None:
    question = samples.single_choice()
    right = grade(question, "a")
    assert (right.points, right.max_points, right.correct, right.feedback_key) == (
        1.0,
        1.0,
        True,
        "correct",
    )
    assert right.option_feedback == ("a",)
    wrong = grade(question, "c")
    assert (wrong.points, wrong.correct, wrong.feedback_key) == (0.0, False, "incorrect")
    assert wrong.option_feedback == ("c",)
    assert grade(question, "").feedback_key == "unanswered"


def test_single_choice_scales_to_points() -> None:
    question = samples.single_choice() | {"points": 2.5}
    assert grade(question, "a").points == 2.5
    assert grade(question, "a").fraction == 1.0


@pytest.mark.parametrize(
    ("chosen", "fraction"),
    [
        (["a", "b"], 1),
        (["a"], 1 / 2),
        (["a", "c"], 1 / 2 - 1 / 3),
        (["a", "b", "c"], 1 - 1 / 3),
        (["a", "c", "d"], 0),  # 1/2 - 2/3 clamps to 0
        (["c"], 0),
        (["a", "b", "c", "d", "e"], 0),  # choosing everything scores 0
    ],
)
def test_multiple_response_partial_credit(chosen: list[str], fraction: float) -> None:
    question = samples.multiple_response() | {"points": 3}
    score = grade(question, chosen)
    assert score.points == pytest.approx(3 * fraction)
    assert score.fraction == pytest.approx(fraction)
    assert score.correct is (fraction == 1)
    expected_key = "correct" if fraction == 1 else "incorrect" if fraction == 0 else "partial"
    assert score.feedback_key == expected_key


def test_multiple_response_feedback_ids_follow_the_question_order_without_duplicates() -> None:
    score = grade(samples.multiple_response(), ["d", "a", "d"])
    assert score.option_feedback == ("a", "d")
    assert dict(score.parts) == {"a": True, "b": False, "c": True, "d": False, "e": True}


def test_multiple_response_with_every_option_correct_and_no_choice() -> None:
    question = samples.multiple_response()
    for option in question["options"]:
        option["correct"] = True
    assert grade(question, ["a", "b", "c", "d", "e"]).points == 1.0
    assert grade(question, []).feedback_key == "unanswered"


def test_multiple_response_sums_exactly() -> None:
    question = samples.multiple_response()
    question["options"] += [
        {"id": f"x{n}", "correct": True, "text": {"en": "x"}, "feedback": {"en": "x"}}
        for n in range(5)
    ]
    chosen = [o["id"] for o in question["options"] if o["correct"]]
    assert grade(question, chosen).points == 1.0  # seven sevenths, with no rounding error
    assert grade(question, chosen).correct is True


def test_true_false() -> None:
    question = samples.true_false()
    assert grade(question, True).correct is True
    assert grade(question, False).points == 0.0
    question["answer"] = False
    assert grade(question, False).feedback_key == "correct"


# --- Typed answers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "Boolean operators",
        "  boolean   OPERATORS ",
        "BOOLEAN\toperators\n",
        "boolean\u00a0operators",  # a no-break space
        "булевы операторы",  # accepted in Russian, answered by a student in any language
        "БУЛЕВЫ   ОПЕРАТОРЫ",
        "буль операторлары",  # Kazakh
        "ЛОГИКАЛЫҚ ОПЕРАТОРЛАР",  # Kazakh letters Ы, Қ fold too
        unicodedata.normalize("NFD", "ключевой оператор"),  # й as и + combining breve
        "Boolean search",  # the pattern, full match, any case
        "boolean   LOGIC",
    ],
)
def test_short_answer_accepts(answer: str) -> None:
    score = grade(samples.short_answer(), answer)
    assert (score.points, score.max_points, score.correct) == (2.0, 2.0, True)


@pytest.mark.parametrize(
    "answer", ["Boolean operator", "operators", "boolean searching", "a boolean search"]
)
def test_short_answer_refuses(answer: str) -> None:
    assert grade(samples.short_answer(), answer).points == 0.0


def test_short_answer_blank_text_is_no_answer_and_long_text_is_refused() -> None:
    question = samples.short_answer()
    assert grade(question, " \n\t ").feedback_key == "unanswered"
    assert grade(question, "x" * SHORT_TEXT_LIMIT).points == 0.0
    with pytest.raises(InvalidAnswer, match="at most 200 characters"):
        grade(question, "x" * (SHORT_TEXT_LIMIT + 1))


def test_short_answer_with_a_pattern_only() -> None:
    question = samples.short_answer()
    del question["accepted"]
    assert grade(question, "boolean search").correct is True
    assert grade(question, "Boolean operators").correct is False


@pytest.mark.parametrize(
    "text", ["12 34", "1 2", "- 5", "1,234.5", "1.234,5", "1,2,3", "1..2", "0x10", "1_000", "", "."]
)
def test_parse_number_refuses(text: str) -> None:
    with pytest.raises(InvalidAnswer, match="decimals"):
        parse_number(text)


def test_fold() -> None:
    assert fold("  Қазақ   ТІЛІ ") == "қазақ тілі"
    assert fold("Straße") == fold("STRASSE")
    assert fold(unicodedata.normalize("NFD", "Ёлка")) == unicodedata.normalize("NFC", "ёлка")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.5", 1234.5),
        ("1234,5", 1234.5),
        ("1 234,5", 1234.5),
        ("1\u00a0234,5", 1234.5),  # no-break space, as Russian and Kazakh group digits
        ("1\u202f234.5", 1234.5),  # narrow no-break space
        ("\u22120,5", -0.5),  # a minus sign
        ("+2", 2.0),
        (",5", 0.5),
        ("1e3", 1000.0),
        (" 1 234 567 ", 1234567.0),
    ],
)
def test_parse_number(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    ("answer", "right"),
    [
        (0.3, True),
        (0.4, True),  # the tolerance boundary is inclusive, without float error
        (0.2, True),
        ("0,4", True),
        ("0.2", True),
        (0.41, False),
        (0.19, False),
        (0.4000001, False),
        (-0.3, False),
    ],
)
def test_numeric_with_tolerance(answer: object, right: bool) -> None:
    assert grade(samples.numeric(), answer).correct is right


@pytest.mark.parametrize(
    ("answer", "right"),
    [(10, True), (20, True), ("15,5", True), (9.999, False), (20.0001, False), ("1 000", False)],
)
def test_numeric_range_is_inclusive(answer: object, right: bool) -> None:
    assert grade(samples.numeric_range(), answer).correct is right


def test_numeric_without_tolerance_needs_the_exact_value() -> None:
    question = samples.numeric() | {"tolerance": 0}
    assert grade(question, "0,3").correct is True
    assert grade(question, 0.30001).correct is False
    del question["tolerance"]
    assert grade(question, 0.3).correct is True


def test_numeric_empty_text_is_no_answer() -> None:
    assert grade(samples.numeric(), "  ").feedback_key == "unanswered"
    with pytest.raises(InvalidAnswer):
        grade(samples.numeric(), "1" * 101)


# --- Structured answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "fraction"),
    [
        ({"p1": "p1", "p2": "p2", "p3": "p3"}, 1),
        ({"p1": "p1", "p2": "p2", "p3": "d1"}, 2 / 3),
        ({"p1": "p2", "p2": "p1", "p3": "p3"}, 1 / 3),
        ({"p1": "p1"}, 1 / 3),  # unmatched pairs count as wrong
        ({"p1": "p1", "p2": "p1", "p3": None}, 1 / 3),  # one choice used twice
        ({"p1": "d1", "p2": "d1", "p3": "d1"}, 0),
    ],
)
def test_matching_scores_the_share_of_pairs(answer: dict[str, Any], fraction: float) -> None:
    score = grade(samples.matching(), answer)
    assert score.fraction == pytest.approx(fraction)
    assert dict(score.parts)["p1"] is (answer.get("p1") == "p1")


def test_matching_with_nothing_chosen_is_no_answer() -> None:
    assert grade(samples.matching(), {}).feedback_key == "unanswered"
    assert grade(samples.matching(), {"p1": "", "p2": None}).feedback_key == "unanswered"


@pytest.mark.parametrize(
    ("answer", "fraction"),
    [
        (["step-1", "step-2", "step-3", "step-4"], 1),
        (["step-2", "step-1", "step-3", "step-4"], 1 / 2),
        (["step-4", "step-3", "step-2", "step-1"], 0),
        (["step-4", "step-1", "step-2", "step-3"], 0),  # shifted by one: no item in place
        (["step-1", "step-3", "step-2", "step-4"], 1 / 2),
    ],
)
def test_ordering_scores_the_share_of_items_in_place(answer: list[str], fraction: float) -> None:
    assert grade(samples.ordering(), answer).fraction == pytest.approx(fraction)


def test_ordering_empty_list_is_no_answer() -> None:
    assert grade(samples.ordering(), []).feedback_key == "unanswered"


@pytest.mark.parametrize(
    ("answer", "fraction"),
    [
        ({"1": "AND", "2": "or"}, 1),
        ({"1": "  and ", "2": "or"}, 1),
        ({"1": "и", "2": "or"}, 1),  # accepted in Russian
        ({"1": "жәНе", "2": "or"}, 1),  # accepted in Kazakh, mixed case
        ({"1": "AND", "2": "and"}, 1 / 2),
        ({"1": "OR"}, 0),
        ({"2": "or"}, 1 / 2),
        ({"1": "AND", "2": ""}, 1 / 2),
    ],
)
def test_cloze_scores_the_share_of_blanks(answer: dict[str, str], fraction: float) -> None:
    assert grade(samples.cloze(), answer).fraction == pytest.approx(fraction)


def test_cloze_blank_answers_are_no_answer() -> None:
    assert grade(samples.cloze(), {}).feedback_key == "unanswered"
    assert grade(samples.cloze(), {"1": "  ", "2": None}).feedback_key == "unanswered"
    with pytest.raises(InvalidAnswer):
        grade(samples.cloze(), {"1": "x" * (SHORT_TEXT_LIMIT + 1)})


# --- Open response -----------------------------------------------------------------------------


def rubric_type() -> OpenResponse:
    qtype = get_type("open_response")
    assert isinstance(qtype, OpenResponse)
    return qtype


def test_open_response_waits_for_a_person() -> None:
    question = samples.open_response()
    score = grade(question, "Scholars reply to each other in print.")
    assert score.is_pending
    assert (score.points, score.max_points, score.correct, score.fraction) == (
        None,
        5.0,
        None,
        None,
    )
    assert score.feedback_key == "pending"
    assert grade(question, "   ").feedback_key == "unanswered"


def test_open_response_length_limit() -> None:
    question = samples.open_response()
    assert grade(question, "x" * TEXT_LIMIT).is_pending
    with pytest.raises(InvalidAnswer, match="20000"):
        grade(question, "x" * (TEXT_LIMIT + 1))
    qtype = rubric_type()
    assert qtype.normalise_answer(question, " A\r\nB ") == "A\nB"


def test_grade_with_rubric() -> None:
    question = samples.open_response()
    score = rubric_type().grade_with_rubric(question, {"claim": 2, "evidence": 1.5})
    assert (score.points, score.max_points, score.correct, score.feedback_key) == (
        3.5,
        5.0,
        False,
        "partial",
    )
    assert score.parts == (("claim", True), ("evidence", False))
    full = rubric_type().grade_with_rubric(question, {"claim": 2, "evidence": 3})
    assert (full.correct, full.feedback_key) == (True, "correct")
    assert rubric_type().grade_with_rubric(question, {"claim": 0, "evidence": 0}).points == 0.0


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ({"claim": 3, "evidence": 1}, "from 0 to 2"),
        ({"claim": -1, "evidence": 1}, "from 0 to 2"),
        ({"claim": math.nan, "evidence": 1}, "from 0 to 2"),
        ({"claim": True, "evidence": 1}, "from 0 to 2"),
        ({"claim": "2", "evidence": 1}, "from 0 to 2"),
        ({"claim": 2}, "every criterion"),
        ({"claim": 2, "evidence": 1, "style": 1}, "'style' is not a criterion"),
        ([2, 1], "every criterion"),
    ],
)
def test_grade_with_rubric_refuses_points_outside_the_rubric(points: Any, message: str) -> None:
    with pytest.raises(InvalidGrade, match=message):
        rubric_type().grade_with_rubric(samples.open_response(), points)


def test_rubric_maximum_is_the_exact_sum() -> None:
    question = samples.open_response()
    question["rubric"][0]["points"] = 0.1
    question["rubric"][1]["points"] = 0.2
    qtype = rubric_type()
    assert qtype.max_points(question) == 0.3
    assert qtype.grade_with_rubric(question, {"claim": 0.1, "evidence": 0.2}).correct is True
