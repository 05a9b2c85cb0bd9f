"""Which feedback a student sees, in their language or else English, and the correct answers shown."""

from __future__ import annotations

from typing import Any

import pytest

from ilms.questions.types import get_type
from tests.questions import conftest as samples


def feedback(question: dict[str, Any], answer: object, lang: str) -> list[str]:
    qtype = get_type(question["type"])
    normalised = qtype.normalise_answer(question, answer)
    return qtype.feedback(question, normalised, qtype.grade(question, normalised), lang)


def test_single_choice_shows_the_general_then_the_chosen_options_feedback() -> None:
    question = samples.single_choice()
    assert feedback(question, "a", "en") == ["Well done.", "AND requires both."]
    assert feedback(question, "b", "ru") == ["Не совсем.", "OR находит любое."]
    assert feedback(question, "c", "kk") == ["Толық емес.", "NOT алып тастайды."]


def test_missing_language_falls_back_to_english() -> None:
    question = samples.single_choice()
    del question["options"][1]["feedback"]["kk"]
    del question["feedback"]["incorrect"]["kk"]
    assert feedback(question, "b", "kk") == ["Not quite.", "OR finds either."]
    assert feedback(question, "a", "de") == ["Well done.", "AND requires both."]


def test_multiple_response_partial_credit_uses_the_incorrect_feedback() -> None:
    question = samples.multiple_response()
    assert feedback(question, ["e", "a"], "en") == ["Look again.", "About a.", "About e."]
    assert feedback(question, ["a", "b"], "ru") == ["Все найдены.", "О a.", "О b."]


def test_no_answer_shows_the_incorrect_feedback() -> None:
    assert feedback(samples.true_false(), None, "ru") == ["Ссылка и есть признание."]
    assert feedback(samples.single_choice(), None, "en") == ["Not quite."]


def test_questions_without_feedback_give_none() -> None:
    assert feedback(samples.short_answer(), "Boolean", "en") == []
    assert feedback(samples.matching(), {"p1": "p1"}, "en") == []


def test_pending_essay_has_no_feedback_until_graded() -> None:
    question = samples.open_response() | {
        "feedback": {"correct": {"en": "Excellent."}, "incorrect": {"en": "See the rubric."}}
    }
    assert feedback(question, "An essay.", "en") == []
    qtype = get_type("open_response")
    graded = qtype.grade_with_rubric(question, {"claim": 1, "evidence": 3})  # type: ignore[attr-defined]
    assert qtype.feedback(question, "An essay.", graded, "en") == ["See the rubric."]


@pytest.mark.parametrize(
    ("sample", "lang", "expected"),
    [
        ("single_choice", "en", "climate AND migration"),
        ("single_choice", "ru", "климат AND миграция"),
        ("multiple_response", "kk", "Дереккөз a; Дереккөз b"),
        ("true_false", "en", "True"),
        ("short_answer", "ru", "Булевы операторы"),
        ("short_answer", "de", "Boolean operators"),
        ("numeric", "en", "0.3 ± 0.1 km"),
        ("numeric", "ru", "0,3 ± 0,1 км"),
        ("numeric_range", "kk", "from 10 to 20"),
        ("matching", "en", "Nature → Journal; The Guardian → Newspaper; Britannica → Encyclopedia"),
        ("ordering", "ru", "1. Спросить; 2. Искать; 3. Оценить; 4. Цитировать"),
        ("cloze", "en", "1. AND; 2. OR"),
        ("cloze", "ru", "1. OR; 2. И"),  # in the order the blanks appear in the Russian text
        ("open_response", "en", ""),
    ],
)
def test_correct_answer_text(sample: str, lang: str, expected: str) -> None:
    question = samples.SAMPLES[sample]()
    assert get_type(question["type"]).correct_answer_text(question, lang) == expected


def test_correct_answer_text_of_a_large_number_groups_digits_for_the_language() -> None:
    question = samples.numeric() | {"answer": 1234.5, "tolerance": 0}
    del question["unit"]
    qtype = get_type("numeric")
    assert qtype.correct_answer_text(question, "en") == "1,234.5"
    assert qtype.correct_answer_text(question, "ru") == "1\u00a0234,5"


def test_correct_answer_text_inside_a_request_uses_the_item_language() -> None:
    from flask import Flask
    from flask_babel import Babel, get_locale

    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "en")
    with app.test_request_context():
        assert get_type("true_false").correct_answer_text(samples.true_false(), "ru") == "True"
        assert get_type("numeric").correct_answer_text(samples.numeric(), "kk") == "0,3 ± 0,1 км"
        assert str(get_locale()) == "en"  # restored afterwards
