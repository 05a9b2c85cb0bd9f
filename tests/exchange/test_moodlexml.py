"""Reading Moodle XML as Moodle writes it: every supported type, categories and tags, feedback,
HTML sanitising, and the types and items left out with their reasons."""

from __future__ import annotations

import pytest

from ilms.exchange.items import ExchangeError
from tests.exchange.conftest import by_key, fixture, grade, notes_of, read, reasons

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def moodle():
    return read(fixture("moodle.xml"), "moodle.xml")


def test_summary_and_skipped_reasons(moodle):
    assert moodle.summary == "imported 11, skipped 5"
    assert reasons(moodle) == {
        "Cell biology": "calculated questions are not supported",
        "Instructions": "descriptions have no answer; they are not questions",
        "Map reading": "it shows the image 'map.png'; questions cannot show images",
        "Logo": "image 'logo.png' is missing from the file",
        "Random (Evaluating)": "random questions are drawn from a category when a quiz is "
        "built; import the category's questions instead",
    }
    assert (
        str(moodle.skipped[0])
        == "question 11 'Cell biology': calculated questions are not supported"
    )


def test_single_choice_is_sanitised_with_combined_feedback_and_tags(moodle):
    question = by_key(moodle)["bool-and"]
    assert question["text"]["en"] == (
        "Which search finds articles that mention **both** climate and migration?"
    )
    assert question["options"][2]["feedback"]["en"] == "NOT excludes migration."
    assert question["feedback"] == {
        "correct": {"en": "Your answer is correct."},
        "incorrect": {"en": "Your answer is incorrect."},
    }
    assert question["tags"] == ["Default for ILMS 101/Searching", "boolean"]
    assert "script" not in str(question) and "javascript" not in str(question)
    assert grade(question, "a").correct


def test_multiple_response_with_ilms_weights_points_and_general_feedback(moodle):
    question = by_key(moodle)["scholarly-sources"]
    assert question["type"] == "multiple_response"
    assert question["points"] == 2
    assert question["feedback"]["correct"]["en"] == (
        "Your answer is correct.\\\nScholarly sources are written by researchers for researchers."
    )
    assert grade(question, ["a", "b"]).points == 2
    assert grade(question, ["a"]).points == 1
    assert grade(question, ["a", "c"]).points == 0
    assert grade(question, ["a", "b", "c"]).points == 1
    notes = notes_of(moodle, "scholarly-sources")
    assert not any("weights" in note for note in notes)
    assert any("partly correct" in note for note in notes)


def test_true_false_takes_each_answers_feedback(moodle):
    question = by_key(moodle)["abstracts"]
    assert question["answer"] is True
    assert question["feedback"]["correct"]["en"] == "Yes, it is a short summary."
    assert grade(question, False).feedback_key == "incorrect"


def test_short_answer_escaped_asterisk_and_catch_all(moodle):
    question = by_key(moodle)["truncation-symbol"]
    assert question["accepted"] == {"en": ["*", "asterisk"]}
    assert "pattern" not in question
    assert question["feedback"]["incorrect"]["en"] == "It is the asterisk."
    assert grade(question, "*").correct and not grade(question, "?").correct


def test_numeric_with_unit(moodle):
    question = by_key(moodle)["distance"]
    assert (question["answer"], question["tolerance"], question["unit"]) == (
        2.5,
        0.1,
        {"en": "km"},
    )
    assert grade(question, "2,6").correct and not grade(question, "2.7").correct


def test_matching_with_distractor_and_points(moodle):
    question = by_key(moodle)["source-kinds"]
    assert question["pairs"][0] == {
        "id": "a",
        "left": {"en": "*Nature*"},
        "right": {"en": "Journal"},
    }
    assert question["distractors"] == [{"id": "d", "right": {"en": "Blog"}}]
    assert grade(question, {"a": "a", "b": "b", "c": "d"}).points == 2


def test_essay_rubric_from_grader_information(moodle):
    question = by_key(moodle)["search-plan"]
    assert question["rubric"] == [
        {"id": "a", "text": {"en": "Names at least two databases"}, "points": 2},
        {"id": "b", "text": {"en": "Uses Boolean operators"}, "points": 2},
    ]
    assert "points" not in question


def test_cloze_typed_and_drop_down_blanks(moodle):
    question = by_key(moodle)["citation-parts"]
    assert question["text"]["en"] == "A citation names the [[1]] and the [[2]]."
    assert question["blanks"][0] == {"id": "1", "accepted": {"en": ["author", "authors"]}}
    assert [o["correct"] for o in question["blanks"][1]["options"]] == [True, False, False]
    assert grade(question, {"1": "Authors", "2": "b"}).points == 0.5
    assert grade(question, {"1": "author", "2": "a"}).correct


def test_ordering_in_fraction_order(moodle):
    question = by_key(moodle)["research-steps"]
    assert [item["text"]["en"] for item in question["items"]] == [
        "Define the topic",
        "Choose keywords",
        "Search a database",
        "Evaluate the results",
    ]
    assert grade(question, ["a", "b", "d", "c"]).points == 0.5


def test_gapselect_becomes_drop_down_blanks_of_its_group(moodle):
    question = by_key(moodle)["operators"]
    assert question["text"]["en"] == "Use [[1]] to narrow a search and [[2]] to broaden it."
    first, second = question["blanks"]
    assert [o["text"]["en"] for o in first["options"]] == ["AND", "OR", "NOT"]
    assert [o["correct"] for o in first["options"]] == [True, False, False]
    assert [o["correct"] for o in second["options"]] == [False, True, False]


def test_multilang_keeps_english_and_says_so(moodle):
    question = by_key(moodle)["currency"]
    assert question["text"]["en"] == "Currency means how recent a source is."
    assert question["tags"] == ["Default for ILMS 101/Evaluating"]
    assert any("ru" in note for note in notes_of(moodle, "currency"))


def quiz(*questions: str) -> bytes:
    return ("<?xml version='1.0'?><quiz>" + "".join(questions) + "</quiz>").encode()


def test_cloze_with_numeric_blank_is_skipped():
    data = quiz(
        "<question type='cloze'><name><text>Sum</text></name><questiontext format='html'>"
        "<text>2 + 2 = {1:NUMERICAL:=4:0}</text></questiontext></question>"
    )
    assert "ILMS blanks are typed answers or drop-down lists" in read(data).skipped[0].reason


def test_choice_with_two_full_answers_is_skipped():
    data = quiz(
        "<question type='multichoice'><name><text>Two</text></name>"
        "<questiontext><text>Which?</text></questiontext><single>true</single>"
        "<answer fraction='100'><text>a</text></answer><answer fraction='100'><text>b</text>"
        "</answer></question>"
    )
    assert read(data).skipped[0].reason == (
        "2 answers are fully correct; a single-choice question has one"
    )


def test_unknown_type_is_named():
    data = quiz("<question type='ddmatch'><name><text>Drag</text></name></question>")
    assert read(data).skipped[0].reason == "'ddmatch' questions are not supported"


def test_essay_answered_by_files_only_is_skipped():
    data = quiz(
        "<question type='essay'><name><text>Upload</text></name><questiontext><text>Upload"
        "</text></questiontext><responseformat>noinline</responseformat></question>"
    )
    assert "uploading files" in read(data).skipped[0].reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<?xml version='1.0'?><quiz><question type='truefalse'>", "not well-formed XML"),
        (b"<?xml version='1.0'?><quiz></quiz>", "holds no questions"),
        (b"<?xml version='1.0'?><quizzes/>", "root element <quizzes>, which is neither"),
    ],
)
def test_broken_files(data, message):
    with pytest.raises(Exception, match=message):
        read(data, "moodle.xml")


def test_wrong_format_flag_is_refused():
    with pytest.raises(ExchangeError, match="looks like Moodle XML, not GIFT"):
        read(fixture("moodle.xml"), "moodle.xml", "gift")
    with pytest.raises(ExchangeError, match="looks like Moodle XML, not IMS QTI"):
        read(fixture("moodle.xml"), "moodle.xml", "qti")
