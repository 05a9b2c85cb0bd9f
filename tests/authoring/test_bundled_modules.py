"""The course content shipped in modules/: valid, and enough of it to teach all six ACRL frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilms.authoring.package import FRAMES, ModulePackage, Problem, read_all

BUNDLED = Path(__file__).resolve().parents[2] / "modules"


@pytest.fixture(scope="module")
def bundled() -> tuple[list[ModulePackage], list[Problem]]:
    return read_all(BUNDLED)


@pytest.fixture(scope="module")
def packages(bundled: tuple[list[ModulePackage], list[Problem]]) -> list[ModulePackage]:
    return bundled[0]


def test_every_bundled_module_is_valid(bundled: tuple[list[ModulePackage], list[Problem]]) -> None:
    problems = bundled[1]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(map(str, problems))


def test_there_are_at_least_six_modules(packages: list[ModulePackage]) -> None:
    assert len(packages) >= 6, [package.slug for package in packages]


def test_the_modules_cover_all_six_frames(packages: list[ModulePackage]) -> None:
    covered = set().union(*(package.frames for package in packages))
    assert covered == set(FRAMES), f"missing: {sorted(set(FRAMES) - covered)}"


def test_every_module_has_three_lessons_and_twenty_questions(packages: list[ModulePackage]) -> None:
    small = {
        package.slug: (len(package.lessons), len(package.questions))
        for package in packages
        if len(package.lessons) < 3 or len(package.questions) < 20
    }
    assert not small, f"(lessons, questions) below 3 and 20: {small}"


def test_every_choice_option_has_feedback_in_every_language(packages: list[ModulePackage]) -> None:
    missing = [
        f"{package.slug}/{question['id']}/{option.get('id')}"
        for package in packages
        for question in package.questions
        for option in question.get("options", [])
        if question["type"] in ("single_choice", "multiple_response")
        and not all(
            str(option.get("feedback", {}).get(code, "")).strip() for code in package.languages
        )
    ]
    assert not missing


def test_at_least_two_modules_are_complete_in_russian_and_kazakh(
    packages: list[ModulePackage],
) -> None:
    # A module that declares a language has passed validation only if every text has it.
    complete = [package.slug for package in packages if {"ru", "kk"} <= set(package.languages)]
    assert len(complete) >= 2, complete
