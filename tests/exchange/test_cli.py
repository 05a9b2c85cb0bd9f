"""``flask ilms import-questions`` and ``flask ilms export-questions``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import unique
from tests.exchange.conftest import FIXTURES, PNG, zip_folder


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["ilms", *args])


def test_import_lists_every_item_and_ends_with_the_summary(app):
    slug = unique("cli-")
    result = run(app, "import-questions", str(FIXTURES / "moodle.gift"), "--bank", slug)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "imported 15, skipped 2"
    assert "new       bool-and (question 1 'Boolean AND')" in lines
    assert "skipped   question 16 'Unclosed': line 72: '{' has no closing '}'" in lines
    assert any(line.startswith("          note: ") for line in lines)
    again = run(app, "import-questions", str(FIXTURES / "moodle.gift"), "--bank", slug)
    assert "unchanged bool-and (question 1 'Boolean AND')" in again.output


def test_import_of_a_canvas_package_with_format(app, tmp_path: Path):
    package = tmp_path / "canvas-quiz-export.zip"
    package.write_bytes(zip_folder("canvas", {"web_resources/Uploaded Media/campus-map.png": PNG}))
    result = run(
        app, "import-questions", str(package), "--bank", unique("canvas-"), "--format", "qti"
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "imported 11, skipped 4"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b"", (), "Error: The file is empty."),
        (b"<?xml version='1.0'?><quiz><question>", (), "is not well-formed XML"),
        (b"::A::One?{T}", ("--format", "moodlexml"), "looks like GIFT, not Moodle XML"),
        (b"::A::One?{T}", ("--bank", "Not A Slug"), "a-z, 0-9 and single hyphens"),
    ],
)
def test_import_errors(app, tmp_path: Path, content: bytes, args: tuple[str, ...], message: str):
    path = tmp_path / "questions.txt"
    path.write_bytes(content)
    bank = () if "--bank" in args else ("--bank", unique("bad-"))
    result = run(app, "import-questions", str(path), *bank, *args)
    assert result.exit_code == 1
    assert message in result.output


def test_import_refuses_files_over_the_limit(app, tmp_path: Path, monkeypatch):
    monkeypatch.setitem(app.config, "EXCHANGE_MAX_UPLOAD_BYTES", 100)
    result = run(app, "import-questions", str(FIXTURES / "moodle.xml"), "--bank", unique("big-"))
    assert result.exit_code == 1
    assert "files of at most 1 KB can be imported" in result.output


def test_import_of_a_missing_file(app):
    result = run(app, "import-questions", "/no/such/file.gift", "--bank", "x")
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.parametrize(
    ("fmt", "name"), [("gift", "gift.txt"), ("moodlexml", "xml"), ("qti", "zip")]
)
def test_export_writes_a_file_that_imports_again(app, tmp_path: Path, fmt: str, name: str):
    source, copy = unique("src-"), unique("copy-")
    assert (
        run(app, "import-questions", str(FIXTURES / "moodle.gift"), "--bank", source).exit_code == 0
    )
    result = run(app, "export-questions", "--bank", source, "--format", fmt, "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    target = tmp_path / f"{source}.{name}"
    assert f"wrote {target}" in result.output
    assert result.output.splitlines()[-1] == "exported 15, skipped 0"
    again = run(app, "import-questions", str(target), "--bank", copy)
    assert again.output.splitlines()[-1] == "imported 15, skipped 0"


def test_export_to_a_file_name_and_its_notes(app, tmp_path: Path):
    slug = unique("notes-")
    run(app, "import-questions", str(FIXTURES / "moodle.xml"), "--bank", slug)
    out = tmp_path / "bank.gift"
    result = run(app, "export-questions", "--bank", slug, "--format", "gift", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("// [id:bool-and]")
    assert "skipped: question 'research-steps': GIFT has no ordering questions" in result.output
    assert "note: question 'scholarly-sources': GIFT has no points" in result.output
    assert result.output.splitlines()[-1] == "exported 8, skipped 3"


def test_export_of_an_unknown_bank(app, tmp_path: Path):
    result = run(
        app,
        "export-questions",
        "--bank",
        "no-such-bank",
        "--format",
        "gift",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 1
    assert "There is no question bank 'no-such-bank'" in result.output


def test_export_needs_a_known_format(app, tmp_path: Path):
    result = run(app, "export-questions", "--bank", "x", "--format", "csv", "--out", str(tmp_path))
    assert result.exit_code == 2
