"""Writing packages back: canonical TOML, byte-identical round trips, and content hashes."""

from __future__ import annotations

import math
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ilms.authoring.package import (
    ModulePackage,
    dumps_toml,
    read_package,
    render_package,
    write_package,
)

from .fixture import edit, write_module


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_module(tmp_path / "source")


def messy(folder: Path) -> None:
    """Lay the same module out differently: comments, key order, CRLF, BOM, unpadded numbers."""
    edit(folder, "module.toml", "version = 1\n", "")
    edit(folder, "module.toml", "[title]", "version = 1   # raised by hand\n\n[title]")
    edit(
        folder,
        "module.toml",
        'items = ["kw-1", "kw-2", "bool-1", "bool-2"]',
        'items = [\n  "kw-1", "kw-2",\n  "bool-1", "bool-2",\n]',
    )
    edit(
        folder,
        "bank.toml",
        'id = "kw-2"\ntype = "true_false"',
        'type = "true_false"  # a comment\nid = "kw-2"',
    )
    lessons = folder / "lessons"
    english = lessons / "02-boolean.en.md"
    english.write_bytes(
        b"\xef\xbb\xbf" + english.read_bytes().replace(b"\n", b"\r\n") + b"\r\n\r\n"
    )
    for code in ("en", "ru"):
        (lessons / f"02-boolean.{code}.md").rename(lessons / f"2-boolean.{code}.md")


def test_export_then_export_again_gives_identical_files(folder: Path, tmp_path: Path) -> None:
    write_package(read_package(folder), tmp_path / "one")
    write_package(read_package(tmp_path / "one"), tmp_path / "two")
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_a_messy_module_exports_canonically_and_stably(folder: Path, tmp_path: Path) -> None:
    write_package(read_package(folder), tmp_path / "clean")
    messy(folder)
    write_package(read_package(folder), tmp_path / "messy")
    write_package(read_package(tmp_path / "messy"), tmp_path / "again")
    assert snapshot(tmp_path / "messy") == snapshot(tmp_path / "clean")
    assert snapshot(tmp_path / "again") == snapshot(tmp_path / "messy")


def test_reading_an_export_gives_the_same_package(folder: Path, tmp_path: Path) -> None:
    package = read_package(folder)
    write_package(package, tmp_path / "out")
    assert read_package(tmp_path / "out") == package


def test_the_export_layout(folder: Path, tmp_path: Path) -> None:
    write_package(read_package(folder), tmp_path / "out")
    assert sorted(snapshot(tmp_path / "out")) == [
        "bank.toml",
        "lessons/01-keywords.en.md",
        "lessons/01-keywords.ru.md",
        "lessons/02-boolean.en.md",
        "lessons/02-boolean.ru.md",
        "lessons/images/results.png",
        "module.toml",
    ]
    lesson = (tmp_path / "out" / "lessons" / "02-boolean.en.md").read_text("utf-8")
    assert lesson == "# Boolean operators\n\nCombine keywords with AND, OR and NOT.\n"


def test_the_export_looks_like_the_documentation(folder: Path) -> None:
    module = render_package(read_package(folder))["module.toml"].decode()
    assert module.startswith('slug = "searching-basics"\nversion = 1\nlanguages = ["en", "ru"]\n')
    assert '\n[title]\nen = "Searching basics"\nru = "Основы поиска"\n' in module
    assert (
        '\n[[outcomes]]\nid = "keywords"\nframe = "searching-as-strategic-exploration"\n' in module
    )
    assert '\n[forms.B]\nper_outcome = 1\nexclude_form = "A"\n' in module
    assert module.endswith('\n[tests]\npre = "A"\npost = "B"\n')
    bank = render_package(read_package(folder))["bank.toml"].decode()
    assert '\n[[questions.options]]\nid = "a"\ncorrect = true\ntext = { en = "displacement"' in bank


def test_writing_removes_lesson_files_that_are_no_longer_lessons(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write_package(read_package(folder), out)
    (out / "lessons" / "03-old.en.md").write_text("# Old\n\nGone.\n", "utf-8")
    (out / "README.md").write_text("notes", "utf-8")
    write_package(read_package(folder), out)
    assert not (out / "lessons" / "03-old.en.md").exists()
    assert (out / "README.md").read_text("utf-8") == "notes"


# --- content hashes ---------------------------------------------------------------------------


def test_the_same_content_gives_the_same_hash(folder: Path) -> None:
    before = read_package(folder)
    messy(folder)
    after = read_package(folder)
    assert after.content_hash == before.content_hash
    assert after.question_hashes == before.question_hashes
    assert len(before.content_hash) == 64


def test_a_changed_lesson_gives_a_new_hash(folder: Path) -> None:
    before = read_package(folder).content_hash
    edit(folder, "lessons/02-boolean.ru.md", "Сочетайте", "Соединяйте")
    assert read_package(folder).content_hash != before


def test_a_changed_image_gives_a_new_hash(folder: Path) -> None:
    before = read_package(folder).content_hash
    (folder / "lessons" / "images" / "results.png").write_bytes(b"\x89PNG another picture")
    assert read_package(folder).content_hash != before


def test_a_changed_question_changes_only_its_own_hash(folder: Path) -> None:
    before = read_package(folder)
    edit(folder, "bank.toml", '"OR widens it."', '"No: OR widens it."')
    after = read_package(folder)
    assert after.content_hash != before.content_hash
    changed = {
        key
        for key in before.question_hashes
        if before.question_hashes[key] != after.question_hashes[key]
    }
    assert changed == {"bool-3"}


def test_the_hash_covers_metadata(folder: Path) -> None:
    package = read_package(folder)
    assert replace(package, estimated_minutes=31).content_hash != package.content_hash


# --- the TOML writer --------------------------------------------------------------------------


def loads_back(document: dict[str, Any]) -> dict[str, Any]:
    return tomllib.loads(dumps_toml(document))


@pytest.mark.parametrize(
    "text",
    [
        'say "hi"',
        "back\\slash and \\n literally",
        "tab\there, bell\x07, delete\x7f",
        "Қазақша мәтін — «кавычки» and emoji 📚",
        "two\nlines",
        'ends with a quote"',
        'three """ quotes and """"" five',
        '\nstarts with a line break\nand "ends" with quotes""',
        "windows\r\nline end",
        "",
    ],
)
def test_strings_round_trip(text: str) -> None:
    assert loads_back({"key": text, "inline": {"en": text}, "list": [text]}) == {
        "key": text,
        "inline": {"en": text},
        "list": [text],
    }


def test_unicode_is_written_as_is() -> None:
    assert dumps_toml({"ru": "Основы поиска"}) == 'ru = "Основы поиска"\n'


def test_a_multiline_string_is_written_across_lines() -> None:
    assert dumps_toml({"text": "one\ntwo"}) == 'text = """\none\ntwo"""\n'


def test_a_long_list_is_written_one_item_a_line() -> None:
    items = [f"question-{number}" for number in range(12)]
    written = dumps_toml({"items": items})
    assert written.startswith('items = [\n    "question-0",\n')
    assert tomllib.loads(written) == {"items": items}


def test_numbers_and_booleans() -> None:
    document = {"a": 1, "b": -2.5, "c": 1e-05, "d": True, "e": 0.1, "f": math.inf}
    assert loads_back(document) == document


def test_keys_that_need_quotes() -> None:
    document = {"with space": 1, "dotted.key": {"ünï": 2}, "": 3}
    assert loads_back(document) == document


def test_nested_tables_and_arrays_of_tables() -> None:
    document = {
        "questions": [
            {
                "id": "c-1",
                "blanks": [{"id": "1", "options": [{"id": "a", "correct": True}]}],
                "feedback": {"correct": {"en": "Yes"}},
            },
            {"id": "c-2", "pairs": [{"id": "p", "left": {"en": "L"}}]},
        ],
        "forms": {"A": {"items": ["c-1"]}, "B": {}},
    }
    written = dumps_toml(document)
    assert "[[questions.blanks.options]]" in written
    assert "\n[forms.B]\n" in written
    assert tomllib.loads(written) == document


def test_dates_cannot_be_written() -> None:
    import datetime

    with pytest.raises(TypeError):
        dumps_toml({"when": datetime.date(2024, 5, 1)})


_scalars = (
    st.text()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
)
_documents = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), _documents, max_size=5))
def test_any_document_round_trips_and_writes_the_same_twice(document: dict[str, Any]) -> None:
    written = dumps_toml(document)
    assert tomllib.loads(written) == document
    assert dumps_toml(tomllib.loads(written)) == written


def test_a_package_renders_without_a_database(folder: Path) -> None:
    files = render_package(read_package(folder))
    assert isinstance(read_package(folder), ModulePackage)
    assert files["lessons/images/results.png"].startswith(b"\x89PNG")
