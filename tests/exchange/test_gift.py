"""Reading Moodle GIFT: every question type, weights, feedback, escapes, categories, and the
questions that cannot be read, each with its reason."""

from __future__ import annotations

import pytest

from ilms.exchange import gift
from ilms.exchange.items import ExchangeError
from tests.exchange.conftest import by_key, fixture, grade, notes_of, read, reasons

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def moodle():
    return read(fixture("moodle.gift"), "moodle.gift")


def test_summary_counts_every_item(moodle):
    assert moodle.summary == "imported 15, skipped 2"


def test_single_choice_with_title_html_feedback_category_id_and_tags(moodle):
    question = by_key(moodle)["bool-and"]
    assert question == {
        "id": "bool-and",
        "type": "single_choice",
        "text": {"en": "Which search finds articles that mention **both** climate and migration?"},
        "options": [
            {
                "id": "a",
                "text": {"en": "climate AND migration"},
                "correct": True,
                "feedback": {"en": "Right: AND requires both words."},
            },
            {
                "id": "b",
                "text": {"en": "climate OR migration"},
                "correct": False,
                "feedback": {"en": "OR finds either word, so you get more results."},
            },
            {
                "id": "c",
                "text": {"en": "climate NOT migration"},
                "correct": False,
                "feedback": {"en": "NOT leaves out every record that mentions migration."},
            },
        ],
        "tags": ["Default for ILMS 101/Searching", "boolean", "week 2"],
    }
    assert grade(question, "a").points == 1
    assert grade(question, "b").points == 0


def test_partial_weights_make_multiple_response_with_partial_credit(moodle):
    question = by_key(moodle)["peer-review"]
    assert question["type"] == "multiple_response"
    assert [o["correct"] for o in question["options"]] == [True, True, False, False]
    assert grade(question, ["a"]).points == 0.5
    assert grade(question, ["a", "b"]).points == 1
    assert grade(question, ["a", "c"]).points == 0
    # Moodle took 100% for each wrong answer; ILMS takes 1/W, and the import says so.
    assert grade(question, ["a", "b", "c"]).points == 0.5
    assert any("differ from ILMS scoring" in note for note in notes_of(moodle, "peer-review"))


def test_true_false_reads_wrong_then_right_feedback(moodle):
    question = by_key(moodle)["wikipedia-citation"]
    assert question["answer"] is True
    assert question["feedback"] == {
        "correct": {"en": "Right, most articles have a References section."},
        "incorrect": {"en": "Look at the References section."},
    }
    assert grade(question, True).correct and not grade(question, False).correct
    false = by_key(moodle)["primary-source"]
    assert false["answer"] is False
    assert grade(false, False).points == 1
    assert notes_of(moodle, "primary-source")


def test_short_answer_accepts_every_answer_ignoring_case(moodle):
    question = by_key(moodle)["operator"]
    assert question["accepted"] == {"en": ["AND", "and operator"]}
    assert question["feedback"] == {"correct": {"en": "Yes, AND narrows."}}
    assert grade(question, "  And ").correct
    assert not grade(question, "OR").correct


def test_numeric_with_tolerance_and_range(moodle):
    year = by_key(moodle)["founded"]
    assert (year["answer"], year["tolerance"]) == (1989, 1)
    assert grade(year, "1990").correct and not grade(year, "1991").correct
    pages = by_key(moodle)["page-range"]
    assert (pages["min"], pages["max"]) == (10, 20)
    assert pages["feedback"]["correct"] == pages["feedback"]["incorrect"]
    assert grade(pages, 20).correct and not grade(pages, 21).correct


def test_numeric_with_several_answers_keeps_the_full_one_and_wrong_feedback(moodle):
    question = by_key(moodle)["born"]
    assert question["answer"] == 1851 and "tolerance" not in question
    assert question["feedback"] == {
        "correct": {"en": "Correct!"},
        "incorrect": {"en": "Dewey was born in 1851."},
    }
    assert any("1851:2" in note for note in notes_of(moodle, "born"))


def test_matching_with_a_distractor_grades_the_share_of_pairs(moodle):
    question = by_key(moodle)["match-the-sources"]
    assert [(p["left"]["en"], p["right"]["en"]) for p in question["pairs"]] == [
        ("Nature", "Journal"),
        ("The Guardian", "Newspaper"),
        ("Britannica", "Encyclopedia"),
    ]
    assert question["distractors"] == [{"id": "d", "right": {"en": "Blog"}}]
    score = grade(question, {"a": "a", "b": "d", "c": "c"})
    assert score.points == pytest.approx(2 / 3)
    assert score.feedback_key == "partial"


def test_essay_gets_a_one_criterion_rubric(moodle):
    question = by_key(moodle)["reflection"]
    assert question["type"] == "open_response"
    assert question["rubric"] == [{"id": "a", "text": {"en": "The answer as a whole"}, "points": 1}]
    assert grade(question, "My plan").is_pending


def test_escapes_are_honoured(moodle):
    question = by_key(moodle)["escapes-braces"]
    assert question["text"]["en"] == "Which pair encloses GIFT answers: { and }?"
    assert question["options"][0]["text"]["en"] == "braces{}"
    assert question["options"][0]["feedback"]["en"] == "Right: = and ~ need escapes too."
    assert moodle.imported[[i.key for i in moodle.imported].index("escapes-braces")].title == (
        "Escapes: braces"
    )


def test_missing_word_puts_a_blank_line_in_the_text(moodle):
    question = by_key(moodle)["missing-word"]
    assert question["text"]["en"] == "A library catalogue _____ the items a library holds."
    assert question["type"] == "single_choice"


def test_partial_weight_on_a_single_choice_scores_nothing_and_says_so(moodle):
    question = by_key(moodle)["half-credit"]
    assert grade(question, "b").points == 0
    assert any("(50%)" in note for note in notes_of(moodle, "half-credit"))


def test_wildcard_answer_becomes_a_pattern_and_catch_all_feedback(moodle):
    question = by_key(moodle)["search-term"]
    assert question["pattern"] == "librar.*"
    assert question["feedback"]["incorrect"] == {"en": "Use the asterisk."}
    assert grade(question, "librarian").correct and grade(question, "LIBRARY").correct
    assert not grade(question, "book").correct


def test_question_without_title_takes_its_key_from_the_text_and_later_category(moodle):
    question = by_key(moodle)["who-decides-whether-a-journal-article-is-accepted"]
    assert question["tags"] == ["Default for ILMS 101/Evaluating"]


def test_description_and_broken_question_are_skipped_with_line_numbers(moodle):
    assert reasons(moodle) == {
        "Instructions": "line 69: it has no answer block {...}; descriptions are not questions",
        "Unclosed": "line 72: '{' has no closing '}'",
    }
    assert str(moodle.skipped[0]).startswith("question 15 'Instructions': ")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("::T::Which? {=a =b ~c}", "2 answers are fully correct; a single-choice question has one"),
        ("::T::Which? {~a ~b}", "no answer earns marks"),
        ("::T::Which? {=a}", None),
        ("::T::Year? {#abc}", "line 1: 'abc' is not a number"),
        ("::T::Year? {#=1:0 =2:0}", "fully correct answers"),
        ("::T::Match {=a -> x =b}", "has no '->'"),
        ("::T::Match {=a -> x =b -> x}", "several items match 'x'"),
        ("::T::Which } and {=a ~b}", "'}' comes before any '{'"),
        ("::T::Two {=a ~b} blocks {=c ~d}", "more than one answer block"),
        ("::T no closing title {=a ~b}", "has no closing '::'"),
    ],
)
def test_malformed_questions_are_skipped_with_the_reason(text, reason):
    result = read(text.encode(), "broken.gift")
    if reason is None:
        # A single "=" answer is a short answer in GIFT, not a broken choice.
        assert by_key(result)["t"]["type"] == "short_answer"
        return
    assert result.imported == []
    assert reason in result.skipped[0].reason
    assert result.skipped[0].number == 1


def test_html_is_sanitised_and_links_kept_only_when_safe():
    text = (
        "[html]<p onclick='steal()'>Read <a href='javascript:alert(1)'>this</a> and "
        "<a href='https://example.edu/guide'>the guide</a>.<script>alert(1)</script></p>"
        "{=yes ~no}"
    )
    question = read(text.encode()).imported[0].question
    assert question["text"]["en"] == "Read this and [the guide](https://example.edu/guide)."


def test_plain_and_markdown_formats():
    plain = read(b"[plain]Is 2*3 < 7? {T}").imported[0].question
    assert plain["text"]["en"] == "Is 2\\*3 < 7?"
    markdown = read(b"[markdown]Is **this** right? {T}").imported[0].question
    assert markdown["text"]["en"] == "Is **this** right?"


def test_crlf_and_byte_order_mark_are_read():
    result = read(b"\xef\xbb\xbf::A::One?{T}\r\n\r\n::B::Two?{F}\r\n")
    assert [item.key for item in result.imported] == ["a", "b"]


def test_same_titles_get_unique_keys():
    result = read(b"::Same::One?{T}\n\n::Same::Two?{F}\n\n::Same::Three?{T}")
    assert [item.key for item in result.imported] == ["same", "same-2", "same-3"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"// only a comment\n\n$CATEGORY: $course$/top\n", "holds no questions"),
        (b"\xff\xfe::A::One?{T}", "is not UTF-8 text"),
    ],
)
def test_files_that_cannot_be_read(data, message):
    with pytest.raises(Exception, match=message):
        read(data, "quiz.gift")


def test_category_paths_become_tags():
    assert gift.category_tag("$course$/top/Searching/Boolean") == "Searching/Boolean"
    assert gift.category_tag("$system$/top") == ""
    assert gift.category_tag("$cat1$/top/A//B/C") == "A/B/C"


def test_escape_writes_what_the_reader_reads():
    text = "a\\b ~=#{}: c\nd"
    assert gift.escape(text) == "a\\\\b \\~\\=\\#\\{\\}\\: c\\nd"
    result = read(f"::T::[markdown]{gift.escape(text)} {{T}}".encode())
    assert result.imported[0].question["text"]["en"] == text


def test_wrong_format_flag_is_refused():
    with pytest.raises(ExchangeError, match="looks like GIFT, not Moodle XML"):
        read(fixture("moodle.gift"), "moodle.gift", "moodlexml")
