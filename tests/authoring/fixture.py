"""A small valid module written into a temporary folder, and helpers to break it one way at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilms.authoring.package import PackageError, Problem, read_package

MODULE_TOML = """\
# A small module for the tests: two outcomes, two lessons, English and Russian.
slug = "searching-basics"
version = 1
languages = ["en", "ru"]
audience = "undergraduate"
estimated_minutes = 30

[title]
en = "Searching basics"
ru = "Основы поиска"

[summary]
en = "Keywords and Boolean operators."
ru = "Ключевые слова и логические операторы."

[[outcomes]]
id = "keywords"
frame = "searching-as-strategic-exploration"
text = { en = "Choose keywords for a topic.", ru = "Подбирать ключевые слова к теме." }

[[outcomes]]
id = "boolean"
frame = "research-as-inquiry"
text = { en = "Combine keywords with AND and OR.", ru = "Сочетать ключевые слова с AND и OR." }

[forms.A]
items = ["kw-1", "kw-2", "bool-1", "bool-2"]

[forms.B]
per_outcome = 1
exclude_form = "A"

[tests]
pre = "A"
post = "B"
"""

BANK_TOML = '''\
[[questions]]
id = "kw-1"
type = "single_choice"
outcome = "keywords"
text = { en = "Which is a keyword for *climate migration*?", ru = "Какое слово — ключевое для *климатической миграции*?" }

[[questions.options]]
id = "a"
correct = true
text = { en = "displacement", ru = "перемещение" }
feedback = { en = "Right: a synonym widens the search.", ru = "Верно: синоним расширяет поиск." }

[[questions.options]]
id = "b"
correct = false
text = { en = "the", ru = "и" }
feedback = { en = "Stop words are ignored by databases.", ru = "Базы данных пропускают стоп-слова." }

[[questions]]
id = "kw-2"
type = "true_false"
outcome = "keywords"
answer = true
text = { en = "Synonyms find more results.", ru = "Синонимы находят больше результатов." }
feedback = { correct = { en = "Yes.", ru = "Да." }, incorrect = { en = "They do: OR them together.", ru = "Находят: соедините их через OR." } }

[[questions]]
id = "kw-3"
type = "short_answer"
outcome = "keywords"
points = 2
tags = ["keywords", "typed"]
text = { en = """Name a \\"stop word\\".
Any one will do.""", ru = "Назовите «стоп-слово»." }
accepted = { en = ["the", "a"], ru = ["и", "в"] }

[[questions]]
id = "bool-1"
type = "single_choice"
outcome = "boolean"
text = { en = "Which search finds **both** words?", ru = "Какой запрос найдёт **оба** слова?" }

[[questions.options]]
id = "a"
correct = true
text = { en = "climate AND migration", ru = "climate AND migration" }
feedback = { en = "AND requires both words.", ru = "AND требует оба слова." }

[[questions.options]]
id = "b"
correct = false
text = { en = "climate OR migration", ru = "climate OR migration" }
feedback = { en = "OR finds either word.", ru = "OR находит любое из слов." }

[[questions]]
id = "bool-2"
type = "multiple_response"
outcome = "boolean"
text = { en = "Which operators narrow a search?", ru = "Какие операторы сужают поиск?" }

[[questions.options]]
id = "a"
correct = true
text = { en = "AND", ru = "AND" }
feedback = { en = "AND narrows.", ru = "AND сужает." }

[[questions.options]]
id = "b"
correct = true
text = { en = "NOT", ru = "NOT" }
feedback = { en = "NOT narrows.", ru = "NOT сужает." }

[[questions.options]]
id = "c"
correct = false
text = { en = "OR", ru = "OR" }
feedback = { en = "OR widens.", ru = "OR расширяет." }

[[questions]]
id = "bool-3"
type = "true_false"
outcome = "boolean"
answer = false
text = { en = "OR narrows a search.", ru = "OR сужает поиск." }
feedback = { correct = { en = "Right.", ru = "Верно." }, incorrect = { en = "OR widens it.", ru = "OR расширяет его." } }
'''

LESSONS = {
    "01-keywords.en.md": "# Keywords\n\nTurn a question into keywords.\n\n"
    "![A results page with 2,340 hits](images/results.png)\n",
    "01-keywords.ru.md": "# Ключевые слова\n\nПревратите вопрос в ключевые слова.\n\n"
    "![Страница результатов: 2 340 записей](images/results.png)\n",
    "02-boolean.en.md": "# Boolean operators\n\nCombine keywords with AND, OR and NOT.\n",
    "02-boolean.ru.md": "# Логические операторы\n\nСочетайте слова с AND, OR и NOT.\n",
}
PNG = b"\x89PNG\r\n\x1a\n fixture image"


def write_module(root: Path, slug: str = "searching-basics") -> Path:
    folder = root / slug
    (folder / "lessons" / "images").mkdir(parents=True)
    (folder / "module.toml").write_text(MODULE_TOML.replace("searching-basics", slug), "utf-8")
    (folder / "bank.toml").write_text(BANK_TOML, "utf-8")
    for name, text in LESSONS.items():
        (folder / "lessons" / name).write_text(text, "utf-8")
    (folder / "lessons" / "images" / "results.png").write_bytes(PNG)
    return folder


def edit(folder: Path, name: str, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` in a file of the module, failing if it is not there."""
    path = folder / name
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, count), "utf-8")


def line_of(folder: Path, name: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``needle``."""
    found = [
        number
        for number, line in enumerate((folder / name).read_text("utf-8").split("\n"), 1)
        if needle in line
    ]
    return found[occurrence - 1]


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(PackageError) as info:
        read_package(folder)
    return info.value.problems


def only_problem(folder: Path) -> Problem:
    problems = problems_of(folder)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]
