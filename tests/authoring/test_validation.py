"""Each validation rule of the module format: the file, line and message of the problem it reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilms.authoring.package import FRAMES, PackageError, Problem, read_package

from .fixture import edit, line_of, only_problem, problems_of, write_module


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_module(tmp_path)


def test_the_fixture_module_is_valid(folder: Path) -> None:
    package = read_package(folder)
    assert package.slug == "searching-basics"
    assert package.languages == ("en", "ru")
    assert [outcome.id for outcome in package.outcomes] == ["keywords", "boolean"]
    assert [question["id"] for question in package.questions] == [
        "kw-1",
        "kw-2",
        "kw-3",
        "bool-1",
        "bool-2",
        "bool-3",
    ]
    assert package.tests == {"pre": "A", "post": "B"}
    assert package.forms["B"].is_rule


def test_a_problem_reads_as_file_line_message() -> None:
    problem = Problem("bank.toml", 42, 'question "kw-3": something to fix')
    assert str(problem) == 'bank.toml:42: question "kw-3": something to fix'
    assert str(Problem("lessons/01-a.ru.md", None, "missing")) == "lessons/01-a.ru.md: missing"
    assert problem.under("modules/foo").file == "modules/foo/bank.toml"


# --- files ------------------------------------------------------------------------------------


def test_toml_syntax_error_names_line_and_column(folder: Path) -> None:
    edit(folder, "bank.toml", 'outcome = "boolean"', 'outcome = "boolean', 1)
    problem = only_problem(folder)
    assert problem.file == "bank.toml"
    assert problem.line == line_of(folder, "bank.toml", 'outcome = "boolean')
    assert problem.message.startswith("TOML syntax error: ")
    assert "column" in problem.message


def test_syntax_error_in_one_file_does_not_hide_problems_in_another(folder: Path) -> None:
    edit(folder, "module.toml", "version = 1", "version = = 1")
    edit(folder, "lessons/02-boolean.ru.md", "# Логические операторы", "Логические операторы")
    files = {problem.file for problem in problems_of(folder)}
    assert files == {"module.toml", "lessons/02-boolean.ru.md"}


@pytest.mark.parametrize("name", ["module.toml", "bank.toml"])
def test_a_missing_file_is_named(folder: Path, name: str) -> None:
    (folder / name).unlink()
    problem = next(problem for problem in problems_of(folder) if problem.file == name)
    assert problem.line is None
    assert "missing" in problem.message


def test_a_file_that_is_not_utf8_is_reported_with_its_line(folder: Path) -> None:
    path = folder / "bank.toml"
    path.write_bytes(path.read_bytes().replace("Основы".encode(), b"") + b"\n# \xff\n")
    problem = only_problem(folder)
    assert problem.file == "bank.toml"
    assert problem.line == path.read_bytes().count(b"\n")
    assert "UTF-8" in problem.message


def test_dates_are_refused(folder: Path) -> None:
    edit(
        folder,
        "module.toml",
        "estimated_minutes = 30",
        "estimated_minutes = 30\nupdated = 2024-05-01",
    )
    messages = [problem.message for problem in problems_of(folder)]
    assert any("dates and times are not used" in message for message in messages)


# --- one edit, one problem --------------------------------------------------------------------

#: An edit of a file of the valid module, and the one problem it must then give: the line it
#: points at (the first line holding ``at``; a number as it is; None for the whole file) and its
#: whole message.
ONE_EDIT_ONE_PROBLEM = [
    # module.toml
    pytest.param(
        "module.toml",
        'audience = "undergraduate"\n',
        "",
        None,
        'required key "audience" is missing (add it)',
        id="a-required-key-is-missing",
    ),
    pytest.param(
        "module.toml",
        "version = 1",
        'version = "1"',
        "version =",
        "version must be a whole number, not text",
        id="a-key-of-the-wrong-type",
    ),
    pytest.param(
        "module.toml",
        'slug = "searching-basics"',
        'slug = "Searching basics"',
        "slug =",
        'slug "Searching basics" may only use a-z, 0-9 and single hyphens '
        '(for example "searching-strategically")',
        id="slug-pattern",
    ),
    pytest.param(
        "module.toml",
        "estimated_minutes = 30",
        "estimated_minutes = 0",
        "estimated_minutes =",
        "estimated_minutes must be 1 or more",
        id="estimated-minutes-must-be-positive",
    ),
    pytest.param(
        "module.toml",
        '"undergraduate"',
        '"freshmen"',
        "audience =",
        'audience "freshmen" is not one of: undergraduate, graduate, faculty, all',
        id="audience-must-be-known",
    ),
    pytest.param(
        "module.toml",
        'languages = ["en", "ru"]',
        'languages = ["en", "ru", "de"]',
        "languages =",
        '"de" is not a supported language (use: en, ru, kk)',
        id="languages-must-be-supported",
    ),
    pytest.param(
        "module.toml",
        'languages = ["en", "ru"]',
        'languages = ["en", "ru", "en"]',
        "languages =",
        'language "en" is listed twice',
        id="a-language-listed-twice",
    ),
    pytest.param(
        "module.toml",
        'ru = "Основы поиска"\n',
        "",
        "[title]",
        "the module has no Russian title (add title.ru)",
        id="a-missing-translation-names-the-language-and-what-to-add",
    ),
    pytest.param(
        "module.toml",
        ', ru = "Подбирать ключевые слова к теме."',
        "",
        'text = { en = "Choose keywords',
        'outcome "keywords" has no Russian text (add text.ru)',
        id="a-missing-translation-in-an-outcome",
    ),
    pytest.param(
        "module.toml",
        'ru = "Основы поиска"',
        'ru = "  "',
        'ru = "  "',
        "the module has an empty Russian title (write it in title.ru)",
        id="an-empty-translation",
    ),
    pytest.param(
        "module.toml",
        'ru = "Основы поиска"',
        'ru = "Основы поиска"\nkk = "Іздеу негіздері"',
        "kk =",
        'the module has title in "kk", a language the module does not declare '
        "(add kk to languages in module.toml, or remove title.kk)",
        id="a-translation-in-an-undeclared-language",
    ),
    pytest.param(
        "module.toml",
        "estimated_minutes = 30",
        "estimated_minutes = 30\nsumary = 1",
        "sumary",
        'unknown key "sumary" (did you mean "summary"?)',
        id="an-unknown-top-level-key-suggests-the-right-one",
    ),
    pytest.param(
        "module.toml",
        'id = "boolean"',
        'id = "boolean"\nlevel = 2',
        "level = 2",
        'outcome "boolean": unknown key "level" (allowed here: id, frame, text)',
        id="an-unknown-key-in-an-outcome",
    ),
    pytest.param(
        "module.toml",
        'post = "B"',
        'post = "B"\npots = "B"',
        "pots =",
        'tests: unknown key "pots" (did you mean "post"?)',
        id="an-unknown-key-in-tests",
    ),
    # forms and tests
    pytest.param(
        "module.toml",
        '"kw-2", "bool-1", "bool-2"]',
        '"kw-9", "bool-1", "bool-9"]',
        "items =",
        'form "A": these items are not questions in bank.toml: kw-9, bool-9 '
        "(add the questions, or correct the ids)",
        id="form-items-must-be-in-the-bank",
    ),
    pytest.param(
        "module.toml",
        '"bool-2"]',
        '"bool-2", "kw-1"]',
        "items =",
        'form "A": item "kw-1" is listed 2 times',
        id="a-form-item-listed-twice",
    ),
    pytest.param(
        "module.toml",
        "per_outcome = 1",
        "per_outcome = 2",
        "per_outcome",
        'form "B": outcome "keywords" has 1 question available but the rule asks for 2 '
        "(add questions for this outcome to bank.toml, or lower per_outcome)",
        id="a-rule-that-cannot-be-satisfied-names-the-outcome",
    ),
    pytest.param(
        "module.toml",
        'exclude_form = "A"',
        'exclude_form = "C"',
        "exclude_form",
        'form "B": exclude_form names form "C", which is not defined',
        id="exclude-form-must-name-a-form",
    ),
    pytest.param(
        "module.toml",
        'exclude_form = "A"',
        'exclude_form = "B"',
        "exclude_form",
        'form "B": a form cannot exclude itself (name another form in exclude_form)',
        id="a-form-cannot-exclude-itself",
    ),
    pytest.param(
        "module.toml",
        '"bool-2"]',
        '"bool-2"]\nexclude_form = "B"',
        'exclude_form = "B"',
        'form "A": exclude_form only applies to a rule (per_outcome); remove it',
        id="exclude-form-applies-only-to-rules",
    ),
    pytest.param(
        "module.toml",
        'post = "B"',
        'post = "C"',
        'post = "C"',
        'tests.post names form "C", which is not defined (add [forms.C] or name one of: A, B)',
        id="tests-must-name-existing-forms",
    ),
    pytest.param(
        "module.toml",
        'post = "B"\n',
        "",
        "[tests]",
        'tests: required key "post" is missing (add it)',
        id="tests-need-both-phases",
    ),
    # bank.toml
    pytest.param(
        "bank.toml",
        'outcome = "boolean"',
        'outcome = "booleans"',
        'outcome = "booleans"',
        'question "bool-1": outcome "booleans" is not an outcome of the module '
        "(use one of: boolean, keywords)",
        id="a-question-outcome-must-exist",
    ),
    pytest.param(
        "bank.toml",
        "[[questions]]",
        "question = 1\n\n[[questions]]",
        1,
        'unknown key "question" (did you mean "questions"?)',
        id="an-unknown-key-in-the-bank-file",
    ),
    pytest.param(
        "bank.toml",
        ', ru = "Синонимы находят больше результатов."',
        "",
        'text = { en = "Synonyms',
        'question "kw-2": Question text: the Russian text is missing.',
        id="a-missing-question-translation",
    ),
    pytest.param(
        "bank.toml",
        ', ru = "OR расширяет."',
        "",
        'feedback = { en = "OR widens." }',
        "question \"bool-2\": Feedback of option 'c': the Russian text is missing.",
        id="an-option-without-russian-feedback-points-at-its-feedback",
    ),
    # lessons
    pytest.param(
        "lessons/02-boolean.ru.md",
        "# Логические операторы",
        "## Логические операторы",
        1,
        "the first line must be the lesson title as a level-1 heading (# Title)",
        id="a-lesson-must-start-with-its-title",
    ),
    pytest.param(
        "lessons/01-keywords.ru.md",
        "![Страница результатов: 2 340 записей]",
        "![]",
        5,
        'image "images/results.png" has no alternative text '
        "(describe what it shows: ![...](images/results.png))",
        id="an-image-needs-alternative-text",
    ),
    pytest.param(
        "lessons/02-boolean.en.md",
        "NOT.\n",
        "NOT.\n\nSee ![A chart](https://example.org/a.png).\n",
        5,
        'image "https://example.org/a.png" must be a file in lessons/images, '
        "written images/NAME.png",
        id="an-image-must-be-in-the-images-folder",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "at", "message"), ONE_EDIT_ONE_PROBLEM)
def test_one_edit_gives_one_problem(
    folder: Path, name: str, old: str, new: str, at: str | int | None, message: str
) -> None:
    edit(folder, name, old, new)
    problem = only_problem(folder)
    line = line_of(folder, name, at) if isinstance(at, str) else at
    assert (problem.file, problem.line, problem.message) == (name, line, message)


# --- module.toml ------------------------------------------------------------------------------


def test_languages_must_include_english(folder: Path) -> None:
    edit(folder, "module.toml", 'languages = ["en", "ru"]', 'languages = ["ru"]')
    problems = problems_of(folder)
    assert problems[0].line == line_of(folder, "module.toml", "languages =")
    assert problems[0].message == "languages must include en (every module has an English version)"


@pytest.mark.parametrize(
    ("old", "new", "at", "start"),
    [
        pytest.param(
            'frame = "research-as-inquiry"\n',
            "",
            ("[[outcomes]]", 2),
            'outcome "boolean": the ACRL frame is missing (add frame = ',
            id="missing",
        ),
        pytest.param(
            '"research-as-inquiry"',
            '"research-as-enquiry"',
            ('frame = "research-as-enquiry"', 1),
            'outcome "boolean": "research-as-enquiry" is not an ACRL frame',
            id="invalid",
        ),
    ],
)
def test_a_missing_or_invalid_frame_lists_the_six_frames(
    folder: Path, old: str, new: str, at: tuple[str, int], start: str
) -> None:
    edit(folder, "module.toml", old, new)
    problem = only_problem(folder)
    assert problem.line == line_of(folder, "module.toml", *at)
    assert problem.message.startswith(start)
    assert all(frame in problem.message for frame in FRAMES)


def test_outcome_ids_are_unique(folder: Path) -> None:
    edit(folder, "module.toml", 'id = "boolean"', 'id = "keywords"')
    problems = problems_of(folder)
    first = line_of(folder, "module.toml", 'id = "keywords"')
    assert problems[0].line == line_of(folder, "module.toml", 'id = "keywords"', 2)
    assert problems[0].message == (
        f'outcome "keywords": the id "keywords" is already used on line {first} (ids must be unique)'
    )


def test_a_module_needs_outcomes(folder: Path) -> None:
    text = (folder / "module.toml").read_text("utf-8")
    start, end = text.index("[[outcomes]]"), text.index("[forms.A]")
    (folder / "module.toml").write_text("outcomes = []\n" + text[:start] + text[end:], "utf-8")
    messages = [problem.message for problem in problems_of(folder)]
    assert "the module has no outcomes (add [[outcomes]] tables)" in messages


# --- forms and tests --------------------------------------------------------------------------


def test_a_form_is_a_list_or_a_rule_not_both(folder: Path) -> None:
    edit(folder, "module.toml", "per_outcome = 1", 'per_outcome = 1\nitems = ["kw-3"]')
    problems = problems_of(folder)
    assert problems[0].line == line_of(folder, "module.toml", "[forms.B]")
    assert problems[0].message.startswith('form "B": give either items')


def test_forms_that_exclude_each_other_are_a_loop(folder: Path) -> None:
    edit(
        folder,
        "module.toml",
        'items = ["kw-1", "kw-2", "bool-1", "bool-2"]',
        'per_outcome = 1\nexclude_form = "B"',
    )
    problems = problems_of(folder)
    assert [problem.message for problem in problems] == [
        'form "A": exclude_form makes a loop: A → B → A',
        'form "B": exclude_form makes a loop: B → A → B',
    ]


# --- bank.toml --------------------------------------------------------------------------------


def test_question_ids_are_unique(folder: Path) -> None:
    edit(folder, "bank.toml", 'id = "bool-3"', 'id = "bool-1"')
    problem = only_problem(folder)
    assert problem.file == "bank.toml"
    assert problem.line == line_of(folder, "bank.toml", 'id = "bool-1"', 2)
    first = line_of(folder, "bank.toml", 'id = "bool-1"')
    assert problem.message == (
        f'question "bool-1": the id "bool-1" is already used on line {first} (ids must be unique)'
    )


def test_a_question_needs_an_outcome(folder: Path) -> None:
    edit(folder, "bank.toml", 'outcome = "boolean"\n', "")
    problem = only_problem(folder)
    assert problem.line == line_of(folder, "bank.toml", 'id = "bool-1"') - 1
    assert problem.message == 'question "bool-1": required key "outcome" is missing (add it)'


def test_an_unknown_question_type(folder: Path) -> None:
    edit(folder, "bank.toml", 'type = "true_false"', 'type = "yes_no"')
    problem = only_problem(folder)
    assert problem.line == line_of(folder, "bank.toml", 'type = "yes_no"')
    assert problem.message.startswith('question "kw-2": type "yes_no" is not a question type')
    assert "single_choice" in problem.message


def test_an_option_without_feedback_points_at_the_option(folder: Path) -> None:
    edit(folder, "bank.toml", 'feedback = { en = "OR widens.", ru = "OR расширяет." }\n', "")
    problem = only_problem(folder)
    assert problem.line == line_of(folder, "bank.toml", "[[questions.options]]", 7)
    assert problem.message.startswith('question "bool-2": ')
    assert "Feedback of option 'c'" in problem.message


def test_a_true_false_question_needs_feedback(folder: Path) -> None:
    text = (folder / "bank.toml").read_text("utf-8")
    start = text.index("feedback = { correct", text.index('id = "bool-3"'))
    (folder / "bank.toml").write_text(text[:start], "utf-8")
    problem = only_problem(folder)
    assert problem.line == line_of(folder, "bank.toml", 'id = "bool-3"')
    assert problem.message.startswith('question "bool-3": ')


def test_a_misspelt_key_in_a_question_is_reported(folder: Path) -> None:
    edit(folder, "bank.toml", 'feedback = { en = "AND narrows."', 'feedbak = { en = "AND narrows."')
    problems = problems_of(folder)
    typo = next(problem for problem in problems if "feedbak" in problem.message)
    assert typo.line == line_of(folder, "bank.toml", "feedbak =")
    assert typo.message.startswith('question "bool-2": ')


def test_an_empty_bank(folder: Path) -> None:
    (folder / "bank.toml").write_text("questions = []\n", "utf-8")
    messages = [problem.message for problem in problems_of(folder)]
    assert "the bank has no questions (add [[questions]] tables)" in messages


# --- lessons ----------------------------------------------------------------------------------


def test_a_lesson_missing_a_language_names_the_file_to_add(folder: Path) -> None:
    (folder / "lessons" / "02-boolean.ru.md").unlink()
    problem = only_problem(folder)
    assert (problem.file, problem.line) == ("lessons/02-boolean.ru.md", None)
    assert problem.message == (
        'lesson "boolean" has no Russian version (add lessons/02-boolean.ru.md)'
    )


def test_a_lesson_in_an_undeclared_language(folder: Path) -> None:
    (folder / "lessons" / "02-boolean.kk.md").write_text(
        "# Логикалық операторлар\n\nМәтін.\n", "utf-8"
    )
    problem = only_problem(folder)
    assert problem.file == "lessons/02-boolean.kk.md"
    assert problem.message.startswith("the module does not declare Kazakh (add kk to languages")


def test_a_lesson_in_an_unsupported_language(folder: Path) -> None:
    (folder / "lessons" / "02-boolean.de.md").write_text(
        "# Boolesche Operatoren\n\nText.\n", "utf-8"
    )
    problem = only_problem(folder)
    assert problem.file == "lessons/02-boolean.de.md"
    assert problem.message == '"de" is not a supported language (use: en, ru, kk)'


def test_a_badly_named_lesson_file(folder: Path) -> None:
    (folder / "lessons" / "boolean.en.md").write_text("# Boolean\n\nText.\n", "utf-8")
    problem = only_problem(folder)
    assert problem.file == "lessons/boolean.en.md"
    assert problem.message.startswith("not a lesson file name (name it NN-name.LANG.md")


def test_a_lesson_needs_text(folder: Path) -> None:
    (folder / "lessons" / "02-boolean.en.md").write_text("# Boolean operators\n\n", "utf-8")
    assert only_problem(folder).message == "the lesson has no text after its title"


def test_two_lessons_with_one_number(folder: Path) -> None:
    for code in ("en", "ru"):
        source = folder / "lessons" / f"02-boolean.{code}.md"
        source.rename(folder / "lessons" / f"01-boolean.{code}.md")
    problem = only_problem(folder)
    assert problem.message == (
        'lessons "boolean" and "keywords" have the same number 1 (give each lesson its own number)'
    )


def test_one_lesson_with_two_numbers(folder: Path) -> None:
    source = folder / "lessons" / "02-boolean.ru.md"
    source.rename(folder / "lessons" / "03-boolean.ru.md")
    problem = only_problem(folder)
    assert problem.file == "lessons/02-boolean.en.md"
    assert (
        problem.message
        == 'lesson "boolean" has files numbered 2, 3 (use one number for all its files)'
    )


def test_an_image_must_exist(folder: Path) -> None:
    (folder / "lessons" / "images" / "results.png").unlink()
    problems = problems_of(folder)
    assert [(problem.file, problem.line) for problem in problems] == [
        ("lessons/01-keywords.en.md", 5),
        ("lessons/01-keywords.ru.md", 5),
    ]
    assert problems[0].message == (
        'image "images/results.png" is not in lessons/images '
        "(add lessons/images/results.png or fix the path)"
    )


def test_an_image_in_a_code_block_is_not_an_image(folder: Path) -> None:
    edit(folder, "lessons/02-boolean.en.md", "NOT.\n", "NOT.\n\n    ![](images/missing.png)\n")
    read_package(folder)


def test_a_module_needs_lessons(folder: Path) -> None:
    for path in (folder / "lessons").glob("*.md"):
        path.unlink()
    problem = only_problem(folder)
    assert problem.file == "lessons"
    assert problem.message == "the module has no lessons (add lessons/01-NAME.en.md)"


def test_every_problem_is_collected_not_only_the_first(folder: Path) -> None:
    edit(folder, "module.toml", 'frame = "research-as-inquiry"', 'frame = "inquiry"')
    edit(folder, "bank.toml", 'outcome = "boolean"', 'outcome = "nothing"')
    (folder / "lessons" / "02-boolean.ru.md").unlink()
    files = [problem.file for problem in problems_of(folder)]
    assert files == ["module.toml", "bank.toml", "lessons/02-boolean.ru.md"]


def test_problems_come_in_file_and_line_order(folder: Path) -> None:
    edit(folder, "lessons/02-boolean.ru.md", "# Логические операторы", "Логические операторы")
    edit(folder, "bank.toml", 'outcome = "boolean"', 'outcome = "nothing"')
    edit(folder, "module.toml", "per_outcome = 1", "per_outcome = 3")
    edit(folder, "module.toml", 'frame = "research-as-inquiry"', 'frame = "inquiry"')
    edit(folder, "module.toml", "estimated_minutes = 30", "estimated_minutes = 30\nsumary = 1")
    found = [(problem.file, problem.line) for problem in problems_of(folder)]
    assert found == [
        ("module.toml", line_of(folder, "module.toml", "sumary")),
        ("module.toml", line_of(folder, "module.toml", 'frame = "inquiry"')),
        ("bank.toml", line_of(folder, "bank.toml", 'outcome = "nothing"')),
        ("lessons/02-boolean.ru.md", 1),
    ]


@pytest.mark.parametrize("name", ["module.toml", "bank.toml", "lessons/01-keywords.en.md"])
def test_any_broken_line_gives_problems_not_a_crash(folder: Path, name: str) -> None:
    lines = (folder / name).read_text("utf-8").split("\n")
    for index, line in enumerate(lines):
        key = line.split(" = ")[0]
        for replacement in ([], [f"{key} = [1, 2.5, true]"] if " = " in line else []):
            (folder / name).write_text(
                "\n".join([*lines[:index], *replacement, *lines[index + 1 :]]), "utf-8"
            )
            try:
                read_package(folder)
            except PackageError as error:
                assert error.problems
    (folder / name).write_text("\n".join(lines), "utf-8")
    read_package(folder)
