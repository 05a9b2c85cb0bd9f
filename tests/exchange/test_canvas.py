"""Reading QTI 1.2 as Canvas exports it: a quiz export with a question bank, every question type
Canvas writes, its feedback conventions, files and the types left out."""

from __future__ import annotations

import pytest

from tests.exchange.conftest import PNG, by_key, fixture, grade, notes_of, read, reasons, zip_folder

pytestmark = pytest.mark.usefixtures("app_ctx")

QUIZ = "canvas/gd2b5c1e0f3a84e6b9c7d1e2f3a4b5c6d/gd2b5c1e0f3a84e6b9c7d1e2f3a4b5c6d.xml"


@pytest.fixture
def canvas():
    return read(zip_folder("canvas", {"web_resources/Uploaded Media/campus-map.png": PNG}))


def test_summary_and_skipped(canvas):
    assert canvas.summary == "imported 11, skipped 4"
    assert reasons(canvas) == {
        "Read the rules": "text-only items have no answer; they are not questions",
        "Doubling time": "calculated questions are not supported",
        "Campus map": "it shows the image 'Uploaded Media/campus-map.png'; questions cannot "
        "show images",
        "Floor plan": "image 'Uploaded Media/floor-plan.png' is missing from the package",
    }


def test_multiple_choice_with_canvas_feedback(canvas):
    question = by_key(canvas)["g1111aaaa2222bbbb3333cccc4444dddd"]
    assert question["text"]["en"] == (
        "Which search finds articles that mention **both** climate and migration?"
    )
    assert question["options"][1]["feedback"] == {"en": "OR finds either word."}
    assert question["feedback"] == {
        "correct": {"en": "Well done.\\\nAND narrows, OR broadens."},
        "incorrect": {"en": "Not quite.\\\nAND narrows, OR broadens."},
    }
    assert question["tags"] == ["Library skills check"]
    assert grade(question, "a").correct


def test_multiple_answers_takes_the_set_without_negations(canvas):
    question = by_key(canvas)["peer-review"]
    assert [o["correct"] for o in question["options"]] == [True, False, True]
    assert question["points"] == 2
    assert grade(question, ["a"]).points == 1
    assert grade(question, ["a", "b", "c"]).points == 0
    assert any("partial credit" in note for note in notes_of(canvas, "peer-review"))


def test_true_false(canvas):
    question = by_key(canvas)["g3333aaaa2222bbbb3333cccc4444dddd"]
    assert question["answer"] is True
    assert question["feedback"]["incorrect"] == {"en": "An encyclopedia summarises other sources."}


def test_short_answer_takes_every_accepted_text(canvas):
    question = by_key(canvas)["g4444aaaa2222bbbb3333cccc4444dddd"]
    assert question["accepted"] == {"en": ["AND", "and operator"]}


def test_numerical_exact_with_margin_and_range(canvas):
    exact = by_key(canvas)["web-proposal"]
    assert (exact["answer"], exact["tolerance"]) == (1989, 1)
    assert grade(exact, "1990").correct and not grade(exact, "1991").correct
    pages = by_key(canvas)["page-range"]
    assert (pages["min"], pages["max"]) == (10, 20)


def test_matching_with_distractor(canvas):
    question = by_key(canvas)["source-kinds"]
    assert [(p["left"]["en"], p["right"]["en"]) for p in question["pairs"]] == [
        ("Nature", "Journal"),
        ("The Guardian", "Newspaper"),
    ]
    assert question["distractors"] == [{"id": "c", "right": {"en": "Blog"}}]
    assert grade(question, {"a": "a", "b": "c"}).points == 1


def test_essay_keeps_its_points_in_a_rubric(canvas):
    question = by_key(canvas)["reflection"]
    assert question["rubric"][0]["points"] == 5


def test_fill_in_multiple_blanks_accepts_every_answer(canvas):
    question = by_key(canvas)["citation-parts"]
    assert question["text"]["en"] == "A citation names the [[1]] and the [[2]]."
    assert question["blanks"] == [
        {"id": "1", "accepted": {"en": ["author", "authors"]}},
        {"id": "2", "accepted": {"en": ["year"]}},
    ]
    assert grade(question, {"1": "Authors", "2": "month"}).points == 1


def test_multiple_dropdowns(canvas):
    question = by_key(canvas)["operators"]
    assert [[o["correct"] for o in blank["options"]] for blank in question["blanks"]] == [
        [True, False],
        [False, True],
    ]
    assert grade(question, {"1": "a", "2": "b"}).correct


def test_question_bank_items_are_tagged_with_the_bank(canvas):
    assert by_key(canvas)["currency"]["tags"] == ["Evaluating sources"]


def test_loose_quiz_file():
    result = read(fixture(QUIZ), "quiz.xml")
    # The quiz alone: the question bank is a file of its own in the package.
    assert result.summary == "imported 10, skipped 4"
    assert (
        reasons(result)["Campus map"]
        == "image 'Uploaded Media/campus-map.png' is missing from the file"
    )


def test_other_tools_without_question_type_are_read_by_structure():
    data = b"""<?xml version="1.0"?>
<questestinterop><item ident="q1" title="Operators">
  <presentation><material><mattext>Which narrows?</mattext></material>
    <response_lid ident="r" rcardinality="Single"><render_choice>
      <response_label ident="A"><material><mattext>AND</mattext></material></response_label>
      <response_label ident="B"><material><mattext>OR</mattext></material></response_label>
    </render_choice></response_lid></presentation>
  <resprocessing><respcondition><conditionvar><varequal respident="r">A</varequal></conditionvar>
    <setvar action="Set">1</setvar></respcondition></resprocessing>
</item></questestinterop>"""
    question = by_key(read(data))["operators"]
    assert question["type"] == "single_choice"
    assert [o["correct"] for o in question["options"]] == [True, False]


def test_blank_missing_from_the_text_is_skipped():
    data = fixture(QUIZ).replace(b"the [who] and", b"the and")
    assert reasons(read(data))["Citation parts"] == "the blank [who] is not in the text"


def test_unknown_canvas_type_is_named():
    data = (
        fixture(QUIZ)
        .replace(b"essay_question", b"file_upload_question")
        .replace(b"true_false_question", b"hot_spot_question")
    )
    found = reasons(read(data))
    assert found["Reflection"] == "it is answered by uploading a file, which ILMS does not take"
    assert "'hot_spot_question' questions are not supported" in found.values()
