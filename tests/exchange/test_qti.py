"""Reading IMS QTI 2.1 and 3.0 items, loose or in packages, with the standard response processing
templates; and the interactions and items that cannot be imported."""

from __future__ import annotations

import io
import zipfile

import pytest

from ilms.exchange.items import ExchangeError
from tests.exchange.conftest import PNG, by_key, fixture, grade, notes_of, read, reasons, zip_folder

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def qti21():
    return read(zip_folder("qti21", {"items/images/campus.png": PNG}), "items.zip")


@pytest.fixture
def qti30():
    return read(zip_folder("qti30"), "qti3.zip")


def test_qti21_package_summary_and_skipped(qti21):
    assert qti21.summary == "imported 10, skipped 2"
    assert reasons(qti21) == {
        "Find the library": "hotspotInteraction interactions are not supported",
        "Логический оператор": "its text is in 'ru' (xml:lang), and ILMS questions need "
        "English text",
    }


def test_choice_with_prompt_match_correct_and_manifest_keywords(qti21):
    question = by_key(qti21)["boolean-and"]
    assert question["type"] == "single_choice"
    assert question["text"]["en"] == (
        "Which search finds articles that mention **both** climate and migration?"
    )
    assert [o["id"] for o in question["options"]] == ["a", "b", "c"]
    assert question["tags"] == ["boolean", "searching"]
    assert grade(question, "a").correct and not grade(question, "c").correct


def test_multiple_choice_map_response_inline_and_modal_feedback(qti21):
    question = by_key(qti21)["scholarly-sources"]
    assert [o["id"] for o in question["options"]] == [
        "journal",
        "monograph",
        "blog",
        "press-release",
    ]
    assert question["options"][2]["feedback"] == {"en": "Nobody reviews it."}
    assert question["feedback"] == {
        "correct": {"en": "All scholarly sources found."},
        "incorrect": {"en": "Look for peer review."},
    }
    assert question["points"] == 2
    # The mapping (+1, +1, -1, -1 out of 2) is ILMS's own rule: no note.
    assert notes_of(qti21, "scholarly-sources") == ()
    assert grade(question, ["journal", "blog"]).points == 0
    assert grade(question, ["journal"]).points == 1
    assert grade(question, ["journal", "monograph"]).points == 2


def test_standalone_text_entry_is_a_short_answer(qti21):
    question = by_key(qti21)["narrowing-operator"]
    assert question == {
        "id": "narrowing-operator",
        "type": "short_answer",
        "text": {"en": "Which Boolean operator narrows a search?"},
        "accepted": {"en": ["AND", "and operator"]},
    }


def test_text_entry_in_a_sentence_is_a_blank_with_notes_on_partial_and_case(qti21):
    question = by_key(qti21)["richard-iii-take-3"]
    assert question["type"] == "cloze"
    assert "sun of [[1]];" in question["text"]["en"]
    assert question["blanks"] == [{"id": "1", "accepted": {"en": ["York"]}}]
    notes = notes_of(qti21, "richard-iii-take-3")
    assert any("'york'" in note for note in notes)
    assert any("case-sensitive" in note for note in notes)
    assert grade(question, {"1": "york"}).correct


def test_integer_text_entry_is_numeric(qti21):
    question = by_key(qti21)["web-proposal"]
    assert question["type"] == "numeric" and question["answer"] == 1989
    assert grade(question, "1989").correct and not grade(question, "1990").correct
    assert notes_of(qti21, "web-proposal") == ()


def test_order_interaction_in_correct_order_with_a_note_on_partial_credit(qti21):
    question = by_key(qti21)["research-steps"]
    assert [item["id"] for item in question["items"]] == ["topic", "keywords", "search", "evaluate"]
    assert grade(question, ["topic", "keywords", "evaluate", "search"]).points == 0.5
    assert any("partial credit" in note for note in notes_of(qti21, "research-steps"))


def test_match_interaction_with_distractor(qti21):
    question = by_key(qti21)["source-kinds"]
    assert [(p["id"], p["right"]["en"]) for p in question["pairs"]] == [
        ("nature", "Journal"),
        ("guardian", "Newspaper"),
        ("britannica", "Encyclopedia"),
    ]
    assert question["pairs"][0]["left"] == {"en": "*Nature*"}
    assert question["distractors"] == [{"id": "blog", "right": {"en": "Blog"}}]
    assert question["points"] == 3
    assert grade(question, {"nature": "nature", "guardian": "blog"}).points == 1


def test_associate_interaction_becomes_matching(qti21):
    question = by_key(qti21)["opposites"]
    assert [(p["left"]["en"], p["right"]["en"]) for p in question["pairs"]] == [
        ("narrow a search", "broaden a search"),
        ("primary source", "secondary source"),
    ]
    assert question["distractors"][0]["right"] == {"en": "opinion piece"}


def test_extended_text_with_scorer_rubric(qti21):
    question = by_key(qti21)["search-plan"]
    assert question["type"] == "open_response"
    assert [(c["text"]["en"], c["points"]) for c in question["rubric"]] == [
        ("Names at least two databases", 2),
        ("Uses Boolean operators", 2),
    ]
    assert question["text"]["en"] == "Describe how you would search for sources on your topic."


def test_inline_choice_is_a_drop_down_blank(qti21):
    question = by_key(qti21)["capital"]
    options = question["blanks"][0]["options"]
    assert [(o["text"]["en"], o["correct"]) for o in options] == [
        ("Gloucester", False),
        ("Lancaster", False),
        ("York", True),
    ]
    assert grade(question, {"1": "c"}).correct


def test_qti30_package(qti30):
    assert qti30.summary == "imported 5, skipped 0"
    currency = by_key(qti30)["currency"]
    assert currency["text"]["en"] == "Which question checks a source's *currency*?"
    assert currency["tags"] == ["evaluating"]
    assert currency["feedback"]["incorrect"] == {"en": "Currency is about when."}
    assert grade(currency, "published").correct
    truncation = by_key(qti30)["truncation"]
    assert (
        truncation["text"]["en"] == "Most databases truncate a search term with the [[1]] symbol."
    )
    assert grade(truncation, {"1": "*"}).correct
    cycle = by_key(qti30)["publication-cycle"]
    assert [item["id"] for item in cycle["items"]] == ["social", "news", "article"]
    frames = by_key(qti30)["frames"]
    assert frames["points"] == 2 and frames["distractors"][0]["id"] == "value"
    reflection = by_key(qti30)["reflection"]
    assert reflection["rubric"] == [
        {"id": "a", "text": {"en": "Compares two sources on authority"}, "points": 3}
    ]


def test_loose_item_file():
    result = read((fixture("qti21/items/choice.xml")), "choice.xml")
    assert result.summary == "imported 1, skipped 0"
    assert by_key(result)["boolean-and"]["type"] == "single_choice"


def test_loose_qti30_item_file():
    result = read(fixture("qti30/items/order.xml"), "order.xml", "qti")
    assert by_key(result)["publication-cycle"]["type"] == "ordering"


def test_package_without_manifest_reads_its_xml_files():
    data = zip_folder("qti30/items")
    assert read(data).summary == "imported 5, skipped 0"


def test_image_in_an_item_is_named_whether_present_or_missing():
    item = fixture("qti21/items/choice.xml").replace(
        b"</prompt>", b'<img src="images/map.png" alt="A map"/></prompt>'
    )

    def package(with_image: bool) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("items/choice.xml", item)
            if with_image:
                archive.writestr("items/images/map.png", PNG)
        return buffer.getvalue()

    assert read(package(False)).skipped[0].reason == (
        "image 'images/map.png' is missing from the package"
    )
    assert read(package(True)).skipped[0].reason == (
        "it shows the image 'images/map.png'; questions cannot show images"
    )


def test_manifest_alone_is_refused():
    with pytest.raises(ExchangeError, match="is a package manifest"):
        read(fixture("qti21/imsmanifest.xml"), "imsmanifest.xml")


def test_test_file_alone_holds_no_items():
    with pytest.raises(ExchangeError, match="not a QTI item"):
        read(fixture("qti21/test.xml"), "test.xml")


def test_item_declaring_no_response_is_skipped():
    item = fixture("qti21/items/choice.xml").replace(
        b'identifier="RESPONSE" cardinality', b'identifier="OTHER" cardinality'
    )
    assert "does not declare" in read(item).skipped[0].reason


def test_two_interactions_are_skipped():
    item = fixture("qti21/items/choice.xml").replace(
        b"</itemBody>",
        b'<extendedTextInteraction responseIdentifier="RESPONSE"/></itemBody>',
    )
    assert "interactions" in read(item).skipped[0].reason


def test_archive_without_items():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    with pytest.raises(ExchangeError, match="holds no QTI items"):
        read(buffer.getvalue(), "empty.zip")
