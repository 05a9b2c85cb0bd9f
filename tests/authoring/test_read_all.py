"""Reading every module under a folder: one invalid module is reported, the others still read."""

from __future__ import annotations

from pathlib import Path

from ilms.authoring.package import read_all

from .fixture import edit, line_of, write_module


def test_every_valid_module_is_read(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    write_module(root, "alpha")
    write_module(root, "beta")
    packages, problems = read_all(root)
    assert [package.slug for package in packages] == ["alpha", "beta"]
    assert problems == []


def test_an_invalid_module_is_reported_and_the_others_are_read(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    write_module(root, "alpha")
    broken = write_module(root, "beta")
    edit(broken, "bank.toml", 'outcome = "boolean"', 'outcome = "nothing"')
    write_module(root, "gamma")
    packages, problems = read_all(root)
    assert [package.slug for package in packages] == ["alpha", "gamma"]
    assert [(problem.file, problem.line) for problem in problems] == [
        ("modules/beta/bank.toml", line_of(broken, "bank.toml", 'outcome = "nothing"')),
    ]
    assert str(problems[0]).startswith("modules/beta/bank.toml:")


def test_two_modules_with_one_slug(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    write_module(root, "alpha")
    copy = write_module(root, "alpha-copy")
    edit(copy, "module.toml", 'slug = "alpha-copy"', 'slug = "alpha"')
    packages, problems = read_all(root)
    assert [package.slug for package in packages] == ["alpha"]
    assert [(problem.file, problem.line) for problem in problems] == [
        ("modules/alpha-copy/module.toml", 2)
    ]
    assert problems[0].message == (
        'slug "alpha" is already used by modules/alpha (give each module its own slug)'
    )


def test_the_root_may_be_one_module(tmp_path: Path) -> None:
    folder = write_module(tmp_path, "alpha")
    packages, problems = read_all(folder)
    assert [package.slug for package in packages] == ["alpha"]
    edit(folder, "module.toml", "version = 1", "version = 0")
    packages, problems = read_all(folder)
    assert packages == []
    assert [problem.file for problem in problems] == ["alpha/module.toml"]


def test_a_module_folder_without_module_toml(tmp_path: Path) -> None:
    root = tmp_path / "modules"
    folder = write_module(root, "alpha")
    (folder / "module.toml").unlink()
    (root / "notes").mkdir()
    packages, problems = read_all(root)
    assert packages == []
    assert [(problem.file, problem.message) for problem in problems] == [
        (
            "modules/alpha/module.toml",
            "the module has no module.toml (every module folder needs one)",
        ),
    ]


def test_a_missing_root(tmp_path: Path) -> None:
    packages, problems = read_all(tmp_path / "nowhere")
    assert packages == []
    assert [(problem.file, problem.message) for problem in problems] == [
        ("nowhere", "the folder does not exist"),
    ]
