"""Reading response and key files the way spreadsheets write them, and writing safe CSV."""

from __future__ import annotations

import csv
import io
import math

import pytest

from ilms.reports.stats import build_report
from ilms.reports.tabular import (
    Key,
    TabularError,
    decode,
    load_phase,
    read_key,
    safe_cell,
    write_item_statistics,
    write_student_scores,
)

ROWS = [
    ["ФИО", "Q1", "Q2", "Q3"],
    ["Абаев Асан", "A", "b)", "Верно"],
    ["Ким Ольга", "B", "B", "неверно"],
    ["Lee, Ann", "a", "", "верно"],
]
KEY = ["A", "B", "верно"]


def write(path, rows, delimiter=",", encoding="utf-8", newline="\n"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_every_spreadsheet_flavour_reads_the_same(tmp_path, encoding, delimiter, newline):
    path = write(tmp_path / "pre.csv", ROWS, delimiter, encoding, newline)
    loaded = load_phase(path, "pre", key=Key(tuple(KEY)))
    m = loaded.matrix
    assert m.students == ("Абаев Асан", "Ким Ольга", "Lee, Ann")
    assert m.items == ("Q1", "Q2", "Q3")
    assert m.scores.tolist() == [[1, 1, 1], [0, 1, 0], [1, 0, 1]]
    assert loaded.source["encoding"] == ("utf-8-sig" if encoding == "utf-8-sig" else encoding)
    assert loaded.has_ids and loaded.source["id_column"] == "ФИО"
    assert any("1 blank answer(s) counted as wrong (Q2: 1)" in w for w in loaded.warnings)


def test_decode_prefers_bom_then_utf8_then_cp1251():
    assert decode("é".encode("utf-8-sig")) == ("é", "utf-8-sig")
    assert decode("Жанна".encode()) == ("Жанна", "utf-8")
    assert decode("Жанна".encode("cp1251")) == ("Жанна", "cp1251")
    with pytest.raises(TabularError, match="neither UTF-8 nor CP1251"):
        decode(b"\x98\xff")


def test_a_decimal_comma_does_not_fool_the_delimiter_sniffer(tmp_path):
    rows = [["id", "Q1 / 2", "Q2 /1,00", "Q3"], ["s1", "1,5", "1", "2"], ["s2", "0,5", "0", "1"]]
    loaded = load_phase(write(tmp_path / "p.csv", rows, ";"), "pre")
    m = loaded.matrix
    assert loaded.source["delimiter"] == "semicolon"
    assert m.items == ("Q1", "Q2", "Q3")
    # Maxima from the "/ max" headers; Q3 states none, so its highest mark (2) is taken.
    assert m.max_points.tolist() == [2.0, 1.0, 2.0]
    assert m.scores.tolist() == [[1.5, 1.0, 2.0], [0.5, 0.0, 1.0]]


def test_points_cells_blank_ungraded_and_unexpected(tmp_path):
    rows = [
        ["Email address", "Q1 /1.00", "Essay /4.00"],
        ["a@x.edu", "1,00", "Requires grading"],
        ["b@x.edu", "-", "3"],
        ["c@x.edu", "n/a", "5"],
        ["d@x.edu", "0.5", "-1"],
    ]
    loaded = load_phase(write(tmp_path / "grades.csv", rows), "pre")
    m = loaded.matrix
    assert m.items == ("Q1", "Essay")
    assert m.scores[0, 0] == 1.0 and math.isnan(m.scores[0, 1])
    assert m.scores[1:].tolist() == [[0.0, 3.0], [0.0, 0.0], [0.5, 0.0]]
    text = "\n".join(loaded.warnings)
    assert "1 blank answer(s) counted as wrong (Q1 /1.00: 1)" in text
    assert "1 answer(s) not graded yet, left out (Essay /4.00: 1)" in text
    assert "3 unexpected answer(s) counted as wrong" in text
    assert "Q1 /1.00 line 4: 'n/a'" in text and "Essay /4.00 line 4: '5'" in text


def test_in_points_mode_a_key_gives_maximum_points(tmp_path):
    rows = [["id", "Q1", "Q2"], ["s1", "3", "1"], ["s2", "1", "0"]]
    key = read_key(write(tmp_path / "max.csv", [["Q2", "Q1"], ["2", "4"]]))
    m = load_phase(write(tmp_path / "p.csv", rows), "pre", key=key, mode="points").matrix
    assert m.max_points.tolist() == [4.0, 2.0]
    assert m.percent.tolist() == pytest.approx([4 / 6 * 100, 1 / 6 * 100])


def test_choices_lettered_keys_reject_other_shapes(tmp_path):
    rows = [
        ["student_id", "Q1", "Q2"],
        ["1", "(a)", "#N/A"],
        ["2", "AB", "c"],
        ["3", "b.", "C "],
        ["4", "A", "True"],
    ]
    loaded = load_phase(write(tmp_path / "p.csv", rows), "pre", key=Key(("A", "c")))
    m = loaded.matrix
    assert m.scores.tolist() == [[1, 0], [0, 1], [0, 1], [1, 0]]
    assert m.choices is not None
    assert m.choices.options == (("A", "B"), ("C",))
    assert m.choices.keys == (frozenset({"A"}), frozenset({"C"}))
    # "AB", "#N/A" and "True" are no option of a lettered item: wrong, noted, and no choice.
    assert m.choices.chosen[:, 0].tolist() == [
        [True, False],
        [False, False],
        [False, True],
        [True, False],
    ]
    assert "3 unexpected answer(s)" in "\n".join(loaded.warnings)


def test_free_text_options_become_distractors(tmp_path):
    rows = [
        ["id", "Which operator narrows?"],
        ["s1", "AND"],
        ["s2", "or"],
        ["s3", "And "],
        ["s4", "NOT"],
    ]
    m = load_phase(write(tmp_path / "p.csv", rows), "pre", key=Key(("and",))).matrix
    assert m.scores[:, 0].tolist() == [1, 0, 1, 0]
    assert m.choices.options == (("and", "not", "or"),)


@pytest.mark.parametrize(
    "key_rows",
    [
        [["A", "B", "верно"]],  # a row
        [["A"], ["B"], ["верно"]],  # a column
        [["key"], ["A"], ["B"], ["верно"]],  # a column under a header cell
        [["Q3", "Q1", "Q2"], ["верно", "A", "B"]],  # a row under item names, in any order
        [["Q2", "B"], ["q1", "A"], ["Q3", "верно"]],  # two columns: item, value
        [["A", "B", "верно", "", ""]],  # a row with the empty cells spreadsheets leave
    ],
)
def test_key_files_as_row_or_column(tmp_path, key_rows):
    key = read_key(write(tmp_path / "key.csv", key_rows))
    assert key.for_items(["Q1", "Q2", "Q3"]) == ("A", "B", "верно")


def test_a_key_that_does_not_fit_says_so(tmp_path):
    key = read_key(write(tmp_path / "key.csv", [["A", "B"]]))
    with pytest.raises(TabularError, match="2 values but the responses have 3 items"):
        key.for_items(["Q1", "Q2", "Q3"])
    named = read_key(write(tmp_path / "named.csv", [["Q1", "Q9"], ["A", "B"]]))
    with pytest.raises(TabularError, match="no value for Q2"):
        named.for_items(["Q1", "Q2"])
    with pytest.raises(TabularError, match="one value per item"):
        read_key(write(tmp_path / "bad.csv", [["a", "b", "c"], ["d"], ["e", "f", "g"]]))


def test_metadata_columns_are_not_items(tmp_path):
    rows = [
        ["Timestamp", "Email Address", "Score", "Surname", "Grade/10.00", "Q1", "Q2", "Notes"],
        ["2024-09-01", "a@x.edu", "2 / 2", "Li", "10", "A", "B", "late"],
        ["2024-09-01", "b@x.edu", "1 / 2", "Wu", "5", "A", "C", ""],
    ]
    path = write(tmp_path / "forms.csv", rows)
    loaded = load_phase(path, "pre", key=Key(("A", "B")), ignore=["notes"])
    assert loaded.matrix.items == ("Q1", "Q2")
    assert loaded.source["id_column"] == "Email Address"
    assert (
        "columns not treated as items: Timestamp, Score, Surname, Grade/10.00, Notes"
        in "\n".join(loaded.warnings)
    )


def test_identifier_column_by_option_and_without_one(tmp_path):
    rows = [["Login", "Matric", "Q1"], ["u1", "m1", "1"], ["u2", "m2", "0"]]
    path = write(tmp_path / "p.csv", rows)
    assert load_phase(path, "pre", id_column="matric").matrix.students == ("m1", "m2")
    with pytest.raises(TabularError, match="no column 'Number'"):
        load_phase(path, "pre", id_column="Number")
    bare = load_phase(write(tmp_path / "bare.csv", [["Q1", "Q2"], ["1", "0"], ["0", "0"]]), "post")
    assert bare.matrix.students == ("post-line-2", "post-line-3")
    assert not bare.has_ids and "no student identifier column" in bare.warnings[0]


def test_rows_without_answers_and_duplicate_students(tmp_path):
    rows = [["id", "Q1", "Q2"], ["s1", "1", "1"], ["s2", "", "-"], ["s3", "0", "1"]]
    loaded = load_phase(write(tmp_path / "p.csv", rows), "pre")
    assert loaded.matrix.students == ("s1", "s3")
    assert "line(s) 3 have no answers" in loaded.warnings[0]
    duplicate = write(tmp_path / "d.csv", [["id", "Q1"], ["s1", "1"], ["s1", "0"]])
    with pytest.raises(TabularError, match="more than one line"):
        load_phase(duplicate, "pre")


def test_quoted_cells_with_line_breaks_and_blank_lines(tmp_path):
    text = 'id,Q1,Q2\r\n\r\n"s1","A","B"\r\n"s 2","the ""best""\r\nanswer",B\r\n'
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode())
    loaded = load_phase(path, "pre", key=Key(("A", "B")))
    assert loaded.matrix.students == ("s1", "s 2")
    assert loaded.matrix.scores.tolist() == [[1, 1], [0, 1]]


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_like_text_is_defused(prefix):
    assert safe_cell(prefix + "cmd|' /C calc'!A0") == "'" + prefix + "cmd|' /C calc'!A0"


def test_numbers_and_plain_text_are_left_alone():
    assert safe_cell(-0.25) == -0.25 and safe_cell(3) == 3
    assert safe_cell("Q1") == "Q1" and safe_cell(None) == ""


def test_written_tables_defuse_formulas(tmp_path):
    rows = [
        ["student", '=HYPERLINK("http://x")', "+Q2", "Q3"],
        ["@SUM(1+1)", "A", "B", "C"],
        ["-2+3", "A", "C", "C"],
        ["plain", "B", "B", "D"],
    ]
    loaded = load_phase(write(tmp_path / "p.csv", rows), "pre", key=Key(("A", "B", "C")))
    report = build_report(loaded.matrix, None, include_students=True)
    items, students = io.StringIO(), io.StringIO()
    write_item_statistics(report, items)
    write_student_scores(report, students)
    item_rows = list(csv.reader(io.StringIO(items.getvalue())))
    assert item_rows[0][:3] == ["phase", "question", "n"]
    assert [row[1] for row in item_rows[1:]] == ['\'=HYPERLINK("http://x")', "'+Q2", "Q3"]
    assert item_rows[1][2] == "3" and item_rows[1][4] == "0.6667"
    student_rows = list(csv.reader(io.StringIO(students.getvalue())))
    assert sorted(row[0] for row in student_rows[1:]) == ["'-2+3", "'@SUM(1+1)", "plain"]


def test_student_scores_need_unsuppressed_rows():
    report = build_report(None, None)
    with pytest.raises(TabularError, match="no per-student scores"):
        write_student_scores(report, io.StringIO())
    report["students"] = {"n": 3, "rows": None}
    with pytest.raises(TabularError, match="suppressed"):
        write_student_scores(report, io.StringIO())
