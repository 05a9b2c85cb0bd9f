"""Forms: lists as written, rules drawn deterministically, and rules that the bank cannot satisfy."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from ilms.authoring.package import (
    Form,
    FormError,
    ModulePackage,
    read_package,
    resolve_form,
    resolve_tests,
)

from .fixture import write_module


@pytest.fixture
def package(tmp_path: Path) -> ModulePackage:
    return read_package(write_module(tmp_path))


def with_forms(package: ModulePackage, *forms: Form) -> ModulePackage:
    return replace(package, forms={form.id: form for form in forms})


def extra_questions(package: ModulePackage, outcome: str, count: int) -> ModulePackage:
    added = [
        {"id": f"{outcome}-x{number}", "type": "true_false", "outcome": outcome}
        for number in range(count)
    ]
    return replace(package, questions=[*package.questions, *added])


def outcome_counts(package: ModulePackage, items: list[str]) -> Counter[str]:
    return Counter(str(package.question(item)["outcome"]) for item in items)


def test_a_list_form_is_returned_as_written(package: ModulePackage) -> None:
    assert resolve_form(package, "A", seed=1) == ["kw-1", "kw-2", "bool-1", "bool-2"]


def test_a_rule_draws_n_items_per_outcome_leaving_out_the_excluded_form(
    package: ModulePackage,
) -> None:
    assert resolve_form(package, "B", seed="any") == ["kw-3", "bool-3"]


def test_a_rule_is_deterministic_and_depends_on_the_seed(package: ModulePackage) -> None:
    package = extra_questions(package, "keywords", 20)
    package = with_forms(package, Form("R", per_outcome=3))
    first = resolve_form(package, "R", seed="searching-basics")
    assert first == resolve_form(package, "R", seed="searching-basics")
    assert outcome_counts(package, first) == {"keywords": 3, "boolean": 3}
    others = {tuple(resolve_form(package, "R", seed=seed)) for seed in range(10)}
    assert len(others) > 1


def test_rule_items_come_in_bank_order(package: ModulePackage) -> None:
    package = extra_questions(extra_questions(package, "keywords", 10), "boolean", 10)
    package = with_forms(package, Form("R", per_outcome=4))
    items = resolve_form(package, "R", seed=7)
    bank_order = [str(question["id"]) for question in package.questions]
    assert items == sorted(items, key=bank_order.index)


def test_adding_a_question_changes_a_selection_only_where_it_ranks_in(
    package: ModulePackage,
) -> None:
    package = extra_questions(package, "keywords", 10)
    package = with_forms(package, Form("R", per_outcome=2))
    before = resolve_form(package, "R", seed=3)
    after = resolve_form(extra_questions(package, "boolean", 1), "R", seed=3)
    keywords = [item for item in before if package.question(item)["outcome"] == "keywords"]
    assert set(keywords) <= set(after)


def test_parallel_rule_forms_do_not_share_items(package: ModulePackage) -> None:
    package = extra_questions(package, "keywords", 6)
    package = extra_questions(package, "boolean", 6)
    package = with_forms(
        package, Form("A", per_outcome=4), Form("B", per_outcome=4, exclude_form="A")
    )
    for seed in range(5):
        a, b = resolve_form(package, "A", seed), resolve_form(package, "B", seed)
        assert not set(a) & set(b)
        assert outcome_counts(package, b) == {"keywords": 4, "boolean": 4}


def test_a_rule_the_bank_cannot_satisfy_names_the_outcome(package: ModulePackage) -> None:
    package = with_forms(package, Form("R", per_outcome=4))
    with pytest.raises(FormError) as info:
        resolve_form(package, "R", seed=1)
    assert info.value.form_id == "R"
    assert (
        'outcome "keywords" has 3 questions available but the rule asks for 4' in info.value.message
    )


def test_satisfiability_does_not_depend_on_the_seed(package: ModulePackage) -> None:
    # Three per outcome in the bank: a rule of 1 excluding a rule of 2 always fits, of 2 never.
    fits = with_forms(package, Form("A", per_outcome=2), Form("B", per_outcome=1, exclude_form="A"))
    short = with_forms(
        package, Form("A", per_outcome=2), Form("B", per_outcome=2, exclude_form="A")
    )
    for seed in range(20):
        assert len(resolve_form(fits, "B", seed)) == 2
        with pytest.raises(FormError):
            resolve_form(short, "B", seed)


def test_resolve_tests_gives_both_phases(package: ModulePackage) -> None:
    assert resolve_tests(package, seed=package.slug) == {
        "pre": ["kw-1", "kw-2", "bool-1", "bool-2"],
        "post": ["kw-3", "bool-3"],
    }


def test_the_same_form_for_both_phases_means_the_same_items(package: ModulePackage) -> None:
    package = replace(package, tests={"pre": "B", "post": "B"})
    tests = resolve_tests(package, seed="x")
    assert tests["pre"] == tests["post"]
