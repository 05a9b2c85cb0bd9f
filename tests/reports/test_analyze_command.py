"""The ``analyze`` command through click's runner: files in, JSON or CSV out, no database."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from ilms.reports.commands import analyze_command
from ilms.reports.privacy import pseudonym

SALT = "a-research-salt-of-some-length"
KEY = ["A", "C", "B", "D", "A", "B"]


def answers(rng: np.random.Generator, skill: np.ndarray) -> list[list[str]]:
    """Chosen options: a student answers right with a chance that rises with skill."""
    rows = []
    for s in skill:
        row = [k if rng.random() < s else rng.choice(["A", "B", "C", "D"]) for k in KEY]
        rows.append(row)
    return rows


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(5)
    skill = rng.uniform(0.2, 0.8, 40)
    items = [f"Q{i}" for i in range(1, 7)]
    pre = [["ID студента", *items]]
    pre += [[f"{1000 + i}", *row] for i, row in enumerate(answers(rng, skill))]
    post = [["Student ID", *items]]
    post += [[f"{1000 + i}", *row] for i, row in enumerate(answers(rng, skill + 0.2))]
    del post[38:]  # three students did not take the post-test
    pre[3][2] = ""  # a blank answer
    paths = {}
    for name, rows, delimiter, encoding in [
        ("pre.csv", pre, ";", "cp1251"),
        ("post.csv", post, ",", "utf-8-sig"),
        ("key.csv", [KEY], "\t", "utf-8"),
    ]:
        with (tmp_path / name).open("w", encoding=encoding, newline="") as stream:
            csv.writer(stream, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        paths[name.removesuffix(".csv")] = str(tmp_path / name)
    return paths


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(analyze_command, list(args), env=env or {})


def test_json_report_from_files(files, tmp_path):
    out = tmp_path / "report.json"
    result = run(files["pre"], "--post", files["post"], "--key", files["key"], "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "pre: 40 students, 6 items; post: 37 students, 6 items; matched: 37" in result.output
    assert "1 blank answer(s) counted as wrong (Q2: 1)" in result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in ("participation", "pre", "post", "paired", "items", "outcomes"):
        assert key in report
    assert report["min_n"] == 5 and report["deidentified"] is False
    assert report["pre"]["n"] == 40 and report["pre"]["mean"] is not None
    assert report["source"]["pre"] == {
        "file": "pre.csv",
        "encoding": "cp1251",
        "delimiter": "semicolon",
        "mode": "choices",
        "id_column": "ID студента",
    }
    # Three pre-only students: the matched means would reveal theirs, so they are hidden.
    paired = report["paired"]
    assert (paired["n"], paired["mean_diff"], paired["suppressed_reason"]) == (
        37,
        None,
        "complement",
    )
    assert paired["t"] is not None and paired["p_wilcoxon"] is not None
    item = report["items"][0]
    assert item["phase"] == "pre" and item["question"] == "Q1"
    assert [o["option"] for o in item["options"]] == ["A", "B", "C", "D"]
    assert [o["key"] for o in item["options"]] == [True, False, False, False]


def test_min_n_one_shows_every_figure(files, tmp_path):
    out = tmp_path / "report.json"
    args = [files["pre"], "--post", files["post"], "--key", files["key"], "--out", str(out)]
    assert run(*args, "--min-n", "1").exit_code == 0
    paired = json.loads(out.read_text())["paired"]
    assert paired["suppressed"] is False and paired["mean_diff"] > 0
    assert paired["ci95"][0] < paired["mean_diff"] < paired["ci95"][1]


def test_csv_item_statistics(files, tmp_path):
    out = tmp_path / "items.csv"
    result = run(files["pre"], "--key", files["key"], "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # spreadsheets then read it as UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [row["question"] for row in rows] == [f"Q{i}" for i in range(1, 7)]
    assert all(0 <= float(row["facility"]) <= 1 for row in rows)
    assert rows[0]["options"].startswith("A*=")


def test_per_student_scores_for_research_export(files, tmp_path):
    out, students = tmp_path / "r.json", tmp_path / "students.csv"
    args = [files["pre"], "--post", files["post"], "--key", files["key"], "--out", str(out)]
    refused = run(*args, "--students", str(students))
    assert refused.exit_code == 2 and "--min-n 1" in refused.output
    no_salt = run(*args, "--min-n", "1", "--deidentify")
    assert no_salt.exit_code == 2 and "needs a secret" in no_salt.output
    env = {"ILMS_PSEUDONYM_SALT": SALT}
    done = run(*args, "--min-n", "1", "--deidentify", "--students", str(students), env=env)
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(students.read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 40
    assert {row["student"] for row in rows} == {pseudonym(str(1000 + i), SALT) for i in range(40)}
    assert sum(1 for row in rows if row["post"] == "") == 3
    assert json.loads(out.read_text())["deidentified"] is True


def test_pdf_output(files, tmp_path):
    result = run(files["pre"], "--format", "pdf", "--out", str(tmp_path / "r.pdf"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_file_problems_are_reported_plainly(files, tmp_path):
    short_key = tmp_path / "short.csv"
    short_key.write_text("A,B\n")
    result = run(files["pre"], "--key", str(short_key), "--out", str(tmp_path / "r.json"))
    assert result.exit_code == 1
    assert "Error: the key has 2 values but the responses have 6 items" in result.output
    missing = run(str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r.json"))
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_files_without_identifiers_are_analysed_but_not_matched(tmp_path):
    rows = "Q1,Q2\n1,0\n1,1\n0,1\n1,1\n0,0\n1,0\n"
    (tmp_path / "a.csv").write_text(rows)
    (tmp_path / "b.csv").write_text(rows)
    out = tmp_path / "r.json"
    result = run(str(tmp_path / "a.csv"), "--post", str(tmp_path / "b.csv"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "cannot be matched without a student identifier column" in result.output
    report = json.loads(out.read_text())
    assert (report["pre"]["n"], report["post"]["n"], report["paired"]["n"]) == (6, 6, 0)
    assert (
        report["source"]["pre"]["mode"] == "points" and report["pre"]["mean"] == 58.33
    )  # (50+100+50+100+0+50) / 6
