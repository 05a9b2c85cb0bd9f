"""Importing module packages into the database: versions, idempotence, export, and the API."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ilms.authoring import services
from ilms.authoring.models import Module, ModuleVersion, QuestionVersion
from ilms.extensions import db
from tests.conftest import unique

MODULE_TOML = """\
slug = "{slug}"
version = 1
languages = ["en", "ru"]
audience = "undergraduate"
estimated_minutes = 20

[title]
en = "Keywords"
ru = "Ключевые слова"

[summary]
en = "Choosing words to search with."
ru = "Как подобрать слова для поиска."

[[outcomes]]
id = "kw"
frame = "searching-as-strategic-exploration"
text = {{ en = "Choose keywords.", ru = "Подбирать ключевые слова." }}

[forms.A]
items = ["q1", "q2"]

[tests]
pre = "A"
post = "A"
"""

QUESTION = """\
[[questions]]
id = "{id}"
type = "single_choice"
outcome = "kw"
text = {{ en = "{text}", ru = "Вопрос {id}" }}

[[questions.options]]
id = "a"
correct = true
text = {{ en = "Right", ru = "Верно" }}
feedback = {{ en = "Yes.", ru = "Да." }}

[[questions.options]]
id = "b"
correct = false
text = {{ en = "Wrong", ru = "Неверно" }}
feedback = {{ en = "No.", ru = "Нет." }}
"""

LESSON = {
    "en": "# Keywords\n\nStart from your question.\n",
    "ru": "# Ключевые слова\n\nНачните с вопроса.\n",
}


def write_module(root: Path, slug: str, q1_text: str = "Pick one") -> Path:
    folder = root / slug
    (folder / "lessons").mkdir(parents=True, exist_ok=True)
    (folder / "module.toml").write_text(MODULE_TOML.format(slug=slug), encoding="utf-8")
    (folder / "bank.toml").write_text(
        QUESTION.format(id="q1", text=q1_text) + "\n" + QUESTION.format(id="q2", text="Another"),
        encoding="utf-8",
    )
    for lang, text in LESSON.items():
        (folder / "lessons" / f"01-keywords.{lang}.md").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def slug() -> str:
    return unique("kw").replace("_", "-").lower()


def test_import_is_idempotent_and_versions_changes(app_ctx, tmp_path, slug):
    write_module(tmp_path, slug)
    results, problems = services.import_folder(tmp_path)
    assert problems == []
    assert [(r.slug, r.status, r.version, r.questions_changed) for r in results] == [
        (slug, "created", 1, 2)
    ]
    results, _ = services.import_folder(tmp_path)
    assert results[0].status == "unchanged"

    write_module(tmp_path, slug, q1_text="Pick the best one")
    results, _ = services.import_folder(tmp_path)
    assert (results[0].status, results[0].version, results[0].questions_changed) == (
        "updated",
        2,
        1,
    )

    module = db.session.scalar(select(Module).where(Module.slug == slug))
    first, second = module.versions
    # The unchanged question is shared; the changed one has a second version, the first kept.
    q1_old, q2_old = first.question_versions
    q1_new, q2_new = second.question_versions
    assert q2_old.id == q2_new.id
    assert (q1_old.number, q1_new.number) == (1, 2)
    assert q1_old.data["text"]["en"] == "Pick one"
    assert module.current_version_id == second.id
    db.session.commit()


def test_invalid_module_changes_nothing(app_ctx, tmp_path, slug):
    folder = write_module(tmp_path, slug)
    (folder / "bank.toml").write_text(
        (folder / "bank.toml").read_text(encoding="utf-8").replace('ru = "Нет." ', ""),
        encoding="utf-8",
    )
    (folder / "bank.toml").write_text(
        (folder / "bank.toml")
        .read_text(encoding="utf-8")
        .replace('feedback = { en = "No.", ru = "Нет." }', 'feedback = { en = "No." }', 1),
        encoding="utf-8",
    )
    results, problems = services.import_folder(tmp_path)
    assert results == []
    assert problems and "bank.toml" in problems[0].file and problems[0].line
    assert (
        db.session.scalar(select(func.count()).select_from(Module).where(Module.slug == slug)) == 0
    )


def test_export_then_import_then_export_is_identical(app_ctx, tmp_path, slug):
    write_module(tmp_path / "src", slug)
    services.import_folder(tmp_path / "src")
    first = services.export_module(slug, tmp_path / "out1")
    results, problems = services.import_folder(first)
    assert problems == [] and results[0].status == "unchanged"
    second = services.export_module(slug, tmp_path / "out2")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    db.session.commit()


def test_cli_imports_and_exports(app, tmp_path, slug):
    write_module(tmp_path / "src", slug)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ilms", "import-modules", str(tmp_path / "src")])
    assert result.exit_code == 0, result.output
    assert f"created   {slug}" in result.output
    result = runner.invoke(args=["ilms", "export-module", slug, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / slug / "module.toml").exists()
    result = runner.invoke(args=["ilms", "export-module", "no-such-module", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "There is no module no-such-module" in result.output


def test_cli_reports_problems_with_file_and_line(app, tmp_path, slug):
    folder = write_module(tmp_path, slug)
    text = (folder / "module.toml").read_text(encoding="utf-8")
    (folder / "module.toml").write_text(
        text.replace("searching-as-strategic-exploration", "searching"), encoding="utf-8"
    )
    result = app.test_cli_runner().invoke(args=["ilms", "import-modules", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path.name}/{slug}/module.toml:" in result.output


def test_modules_api_lists_published_modules_for_students(app, client, login_as, tmp_path, slug):
    with app.app_context():
        write_module(tmp_path / "pub", slug)
        services.import_folder(tmp_path / "pub")
        draft = slug + "-draft"
        write_module(tmp_path / "draft", draft)
        services.import_folder(tmp_path / "draft", publish=False)
        db.session.commit()
    assert client.get("/api/v1/modules").status_code == 401
    login_as("student")
    listed = {m["slug"]: m for m in client.get("/api/v1/modules").get_json()["modules"]}
    assert slug in listed and draft not in listed
    entry = listed[slug]
    assert entry["title"] == {"en": "Keywords", "ru": "Ключевые слова"}
    assert entry["languages"] == ["en", "ru"]
    assert entry["outcomes"][0]["frame"] == "searching-as-strategic-exploration"
    assert entry["question_count"] == 2


def test_librarians_see_drafts(app, make_user, tmp_path, slug):
    from tests.conftest import login

    with app.app_context():
        write_module(tmp_path, slug)
        services.import_folder(tmp_path, publish=False)
        db.session.commit()
    browser = app.test_client()
    login(browser, make_user("librarian"))
    listed = {m["slug"]: m for m in browser.get("/api/v1/modules").get_json()["modules"]}
    assert listed[slug]["published"] is False


def test_bundled_modules_import_cleanly(app_ctx):
    from ilms.cli import BUNDLED_MODULES

    results, problems = services.import_folder(BUNDLED_MODULES)
    assert [str(p) for p in problems] == []
    assert len(results) >= 6
    again, _ = services.import_folder(BUNDLED_MODULES)
    assert {r.status for r in again} == {"unchanged"}
    versions = db.session.scalar(select(func.count()).select_from(QuestionVersion))
    assert versions >= 120
    assert db.session.scalar(select(func.count()).select_from(ModuleVersion)) >= 6
    db.session.commit()


def test_export_of_a_bundled_module_reimports_unchanged(app_ctx, tmp_path):
    from ilms.cli import BUNDLED_MODULES

    services.import_folder(BUNDLED_MODULES)
    folder = services.export_module("searching-strategically", tmp_path)
    shutil.copytree(folder, tmp_path / "copy" / "searching-strategically")
    results, problems = services.import_folder(tmp_path / "copy")
    assert problems == [] and results[0].status == "unchanged"
    db.session.commit()
