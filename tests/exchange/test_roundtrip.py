"""Exporting a bank and importing the export gives the same items with the same grading, in
every export format; what a format cannot hold is reported by the export."""

from __future__ import annotations

import copy
import zipfile
from io import BytesIO
from typing import Any

import pytest

from ilms.exchange import gift, moodlexml, qti_write
from ilms.exchange.items import Written, finish
from ilms.markdown import render_inline
from ilms.questions.types import get_type
from tests.exchange.conftest import by_key, grade, read

pytestmark = pytest.mark.usefixtures("app_ctx")

Question = dict[str, Any]


def en(text: str) -> dict[str, str]:
    return {"en": text}


def option(option_id: str, text: str, correct: bool, feedback: str) -> dict[str, Any]:
    return {"id": option_id, "text": en(text), "correct": correct, "feedback": en(feedback)}


def both(text: str) -> dict[str, Any]:
    return {"correct": en(text), "incorrect": en(text)}


#: Questions every format holds entirely (GIFT too): one general feedback, 1 point.
PORTABLE: list[Question] = [
    {
        "id": "bool-1",
        "type": "single_choice",
        "text": en("Which search finds articles with **both** words: 1 < 2 & a \\* b?"),
        "options": [
            option("a", "climate AND migration", True, "AND needs both words."),
            option("b", "climate OR migration", False, "OR finds either: {broader} #1."),
            option("c", "climate NOT migration", False, "NOT = leaves ~out~ words: here."),
        ],
        "feedback": both("AND narrows a search."),
        "tags": ["Searching/Boolean", "week 2"],
    },
    {
        "id": "mr-1",
        "type": "multiple_response",
        "text": en("Which are *usually* peer reviewed?"),
        "options": [
            option("a", "Journal articles", True, "Reviewed by experts."),
            option("b", "Conference papers", True, "Most proceedings are reviewed."),
            option("c", "Blog posts", False, "Nobody reviews them."),
            option("d", "Press releases", False, "They advertise."),
            option("e", "Newspaper editorials", False, "They are opinion."),
        ],
    },
    {
        "id": "tf-1",
        "type": "true_false",
        "text": en("A textbook is a primary source."),
        "answer": False,
        "feedback": {
            "correct": en("Right: it summarises research."),
            "incorrect": en("Textbooks are secondary sources."),
        },
    },
    {
        "id": "sa-1",
        "type": "short_answer",
        "text": en("Which operator narrows a search?"),
        "accepted": {"en": ["AND", "and operator", "2*3"]},
        "feedback": {"correct": en("Yes."), "incorrect": en("It is AND.")},
    },
    {
        "id": "sa-2",
        "type": "short_answer",
        "text": en("Type a truncated search term for *librarian*."),
        "accepted": {"en": ["librar?"]},
        "pattern": "(librar.*|.*brarian\\.)",
    },
    {
        "id": "num-1",
        "type": "numeric",
        "text": en("In which year was the web proposed?"),
        "answer": 1989,
        "tolerance": 1,
        "feedback": {"correct": en("Yes, 1989."), "incorrect": en("It was 1989.")},
    },
    {
        "id": "num-2",
        "type": "numeric",
        "text": en("How many databases does the library subscribe to?"),
        "answer": 0.3,
    },
    {
        "id": "match-1",
        "type": "matching",
        "text": en("Match each source with its kind."),
        "pairs": [
            {"id": "a", "left": en("*Nature*"), "right": en("Journal")},
            {"id": "b", "left": en("The Guardian"), "right": en("Newspaper")},
            {"id": "c", "left": en("Britannica"), "right": en("Encyclopedia: A-Z")},
        ],
        "distractors": [{"id": "d", "right": en("Blog")}],
    },
    {
        "id": "essay-1",
        "type": "open_response",
        "text": en("Describe your search plan."),
        "rubric": [{"id": "a", "text": en("The answer as a whole"), "points": 1}],
    },
]

#: Questions Moodle XML and QTI hold entirely, GIFT not.
RICH: list[Question] = [
    {
        "id": "mr-2",
        "type": "multiple_response",
        "points": 2,
        "text": en("Which are scholarly?"),
        "options": [
            option("a", "A journal article", True, "Yes."),
            option("b", "A monograph", True, "Yes."),
            option("c", "A blog post", False, "No."),
        ],
        "feedback": {"correct": en("All found."), "incorrect": en("Look for peer review.")},
    },
    {
        "id": "num-3",
        "type": "numeric",
        "text": en("How far is the branch library?"),
        "answer": 2.5,
        "tolerance": 0.1,
        "unit": en("km"),
    },
    {
        "id": "order-1",
        "type": "ordering",
        "points": 2,
        "text": en("Put the steps in order."),
        "items": [
            {"id": "a", "text": en("Define the topic")},
            {"id": "b", "text": en("Choose keywords")},
            {"id": "c", "text": en("Search a database")},
            {"id": "d", "text": en("Evaluate the results")},
        ],
        "feedback": {"correct": en("Well ordered."), "incorrect": en("Start with the topic.")},
    },
    {
        "id": "cloze-1",
        "type": "cloze",
        "text": en("A citation names the [[1]] and the [[2]] (see *APA* ~ {style})."),
        "blanks": [
            {"id": "1", "accepted": {"en": ["author", "authors", "a*b"]}},
            {
                "id": "2",
                "options": [
                    {"id": "a", "text": en("year of publication"), "correct": True},
                    {"id": "b", "text": en("page count <all>"), "correct": False},
                    {"id": "c", "text": en("price ~ {tilde}"), "correct": False},
                ],
            },
        ],
    },
    {
        "id": "essay-2",
        "type": "open_response",
        "text": en("Compare two sources."),
        "rubric": [
            {"id": "a", "text": en("Names both sources"), "points": 1},
            {"id": "b", "text": en("Compares their authority"), "points": 2.5},
        ],
    },
]

ANSWERS: dict[str, list[object]] = {
    "bool-1": ["a", "b", None],
    "mr-1": [["a"], ["a", "b"], ["a", "c"], ["a", "b", "c", "d", "e"], ["c"]],
    "mr-2": [["a"], ["a", "b"], ["a", "b", "c"]],
    "tf-1": [True, False],
    "sa-1": ["and", "AND OPERATOR", "2*3", "2x3", "or"],
    "sa-2": ["librarian", "Library", "the librarian.", "librar?", "book"],
    "num-1": ["1988", "1990", "1991", "1987,5"],
    "num-2": ["0.3", "0,3", "0.31"],
    "num-3": ["2.6", "2,4", "2.61"],
    "match-1": [{"a": "a", "b": "b", "c": "c"}, {"a": "a", "b": "d"}, {"a": "b", "b": "a"}],
    "order-1": [["a", "b", "c", "d"], ["a", "b", "d", "c"], ["d", "c", "b", "a"]],
    "cloze-1": [{"1": "Author", "2": "a"}, {"1": "a*b", "2": "b"}, {"1": "x", "2": "c"}],
    "essay-1": ["My plan"],
    "essay-2": ["An essay"],
}


def valid(questions: list[Question]) -> list[Question]:
    for question in questions:
        assert get_type(question["type"]).validate(question, ["en"]) == [], question["id"]
    return copy.deepcopy(questions)


def reimport(written: Written, fmt: str) -> dict[str, Question]:
    result = read(written.data, f"export.{fmt}", fmt)
    assert result.skipped == []
    return by_key(result)


def assert_same_grading(original: list[Question], again: dict[str, Question]) -> None:
    for question in original:
        for answer in ANSWERS[question["id"]]:
            before, after = grade(question, answer), grade(again[question["id"]], answer)
            assert (before.points, before.max_points, before.feedback_key) == (
                after.points,
                after.max_points,
                after.feedback_key,
            ), (question["id"], answer)


def rendered(value: Any) -> Any:
    """Texts as they are shown: QTI carries XHTML, not the Markdown it was written in."""
    if isinstance(value, dict):
        return {key: rendered(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rendered(item) for item in value]
    if isinstance(value, str):
        return " ".join(str(render_inline(value)).split())
    return value


def test_gift_round_trip_is_exact():
    questions = valid(PORTABLE)
    written = gift.write(questions)
    assert (written.exported, written.notes, written.skipped) == (len(questions), [], [])
    again = reimport(written, "gift")
    assert again == {question["id"]: question for question in questions}
    assert_same_grading(questions, again)


def test_moodle_xml_round_trip_is_exact():
    questions = valid(PORTABLE + RICH)
    written = moodlexml.write(questions)
    assert (written.exported, written.notes, written.skipped) == (len(questions), [], [])
    again = reimport(written, "moodlexml")
    assert again == {question["id"]: question for question in questions}
    assert_same_grading(questions, again)


def test_qti_round_trip_gives_the_same_items_as_shown():
    questions = valid(PORTABLE + RICH)
    written = qti_write.write(questions, "round-trip")
    assert (written.exported, written.notes, written.skipped) == (len(questions), [], [])
    again = reimport(written, "qti")
    assert rendered(again) == rendered({question["id"]: question for question in questions})
    assert_same_grading(questions, again)


def test_qti_round_trip_keeps_the_markdown_of_plain_texts():
    questions = valid(PORTABLE + RICH)
    again = reimport(qti_write.write(questions), "qti")
    assert again == {question["id"]: question for question in questions}


def test_exports_are_stable():
    questions = valid(PORTABLE + RICH)
    assert moodlexml.write(questions).data == moodlexml.write(questions).data
    assert qti_write.write(questions).data == qti_write.write(questions).data


def test_qti_package_has_a_manifest_and_one_item_per_question():
    questions = valid(PORTABLE + RICH)
    archive = zipfile.ZipFile(BytesIO(qti_write.write(questions, "my-bank").data))
    names = archive.namelist()
    assert names[0] == "imsmanifest.xml"
    assert sorted(names[1:]) == sorted(f"items/{q['id']}.xml" for q in questions)
    manifest = archive.read("imsmanifest.xml").decode()
    assert 'type="imsqti_item_xmlv2p1"' in manifest
    assert '<imsmd:string language="en">week 2</imsmd:string>' in manifest
    item = archive.read("items/cloze-1.xml").decode()
    assert 'xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"' in item
    assert "<inlineChoiceInteraction" in item and "<textEntryInteraction" in item


def test_ranges_in_moodle_xml_become_an_answer_with_tolerance_grading_the_same():
    question = valid(
        [{"id": "pages", "type": "numeric", "text": en("A page?"), "min": 0.1, "max": 0.3}]
    )[0]
    written = moodlexml.write([question])
    assert any("range" in note for note in written.notes)
    again = reimport(written, "moodlexml")["pages"]
    assert (again["answer"], again["tolerance"]) == (0.2, 0.1)
    for answer in ("0.1", "0.3", "0.2", "0.0999", "0.3001"):
        assert grade(again, answer).points == grade(question, answer).points, answer
    assert reimport(gift.write([question]), "gift")["pages"] == question
    assert reimport(qti_write.write([question]), "qti")["pages"] == question


def test_gift_reports_what_it_cannot_hold():
    questions = valid(RICH)
    written = gift.write(questions)
    assert written.exported == 3
    assert written.skipped == [
        "question 'order-1': GIFT has no ordering questions",
        "question 'cloze-1': GIFT has no fill-in-the-blanks questions with several blanks",
    ]
    notes = "\n".join(written.notes)
    assert "mr-2': GIFT has no points" in notes
    assert "mr-2': GIFT holds one general feedback" in notes
    assert "num-3': GIFT has no units" in notes
    assert "essay-2': GIFT cannot hold a rubric" in notes
    again = reimport(written, "gift")
    assert set(again) == {"mr-2", "num-3", "essay-2"}
    # What GIFT holds still grades the same, as a fraction of the question's points.
    mr = again["mr-2"]
    assert grade(mr, ["a"]).fraction == grade(questions[0], ["a"]).fraction


def test_patterns_other_than_wildcards_cannot_be_written_for_moodle():
    question = valid(
        [
            {
                "id": "colour",
                "type": "short_answer",
                "text": en("Spell it."),
                "accepted": {"en": ["colour"]},
                "pattern": "colou?r",
            }
        ]
    )[0]
    for writer, fmt in ((gift.write, "gift"), (moodlexml.write, "moodlexml")):
        written = writer([question])
        assert "pattern cannot be written" in written.notes[0]
        assert "pattern" not in reimport(written, fmt)["colour"]
    del question["accepted"]
    assert "its pattern cannot be written" in gift.write([question]).skipped[0]
    assert reimport(qti_write.write([question]), "qti")["colour"] == question


def test_options_with_own_ids_are_renumbered_by_gift_and_moodle_xml_but_kept_by_qti():
    question = valid(
        [
            {
                "id": "ids",
                "type": "ordering",
                "text": en("Order them."),
                "items": [{"id": "social", "text": en("Post")}, {"id": "news", "text": en("News")}],
            }
        ]
    )[0]
    assert [
        i["id"] for i in reimport(moodlexml.write([question]), "moodlexml")["ids"]["items"]
    ] == [
        "a",
        "b",
    ]
    assert reimport(qti_write.write([question]), "qti")["ids"] == question


def test_ids_that_are_not_xml_names_survive_qti():
    question = valid(
        [
            {
                "id": "1-intro",
                "type": "single_choice",
                "text": en("First?"),
                "options": [option("1", "One", True, "Yes."), option("2", "Two", False, "No.")],
            }
        ]
    )[0]
    assert reimport(qti_write.write([question]), "qti")["1-intro"] == question


def test_finish_keeps_what_its_type_accepts():
    from ilms.exchange.items import Draft

    good = Draft(
        1,
        "Good",
        "good",
        {"type": "true_false", "text": en("T"), "answer": True, "feedback": both("x")},
    )
    bad = Draft(2, "Bad", "bad", {"type": "single_choice", "text": en("T"), "options": []})
    result = finish([good, bad])
    assert [item.key for item in result.imported] == ["good"]
    assert result.skipped[0].reason.startswith("it does not make a valid question: options: ")
