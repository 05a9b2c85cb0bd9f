"""Factories for delivery tests: a small module with parallel forms, cohorts and assignments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.authoring import services as authoring
from ilms.authoring.models import Module
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import Assignment, Cohort, MemberRole
from ilms.db import utcnow
from ilms.delivery.models import Phase, Quiz
from ilms.extensions import db
from tests.conftest import unique

MODULE = """\
slug = "{slug}"
version = 1
languages = ["en"]
audience = "undergraduate"
estimated_minutes = 20
title = {{ en = "Test module" }}
summary = {{ en = "A module for tests." }}

[[outcomes]]
id = "one"
frame = "searching-as-strategic-exploration"
text = {{ en = "Outcome one." }}

[[outcomes]]
id = "two"
frame = "information-has-value"
text = {{ en = "Outcome two." }}

[forms.A]
items = ["c1", "c2", "match"]

[forms.B]
items = ["c3", "c4", "order"]

[tests]
pre = "A"
post = "B"
"""

CHOICE = """
[[questions]]
id = "{id}"
type = "single_choice"
outcome = "{outcome}"
text = {{ en = "Choice question {id}" }}

[[questions.options]]
id = "right"
correct = true
text = {{ en = "The right one" }}
feedback = {{ en = "Yes." }}

[[questions.options]]
id = "wrong"
correct = false
text = {{ en = "The wrong one" }}
feedback = {{ en = "No." }}
"""

EXTRA = """
[[questions]]
id = "match"
type = "matching"
outcome = "two"
text = { en = "Match them." }
pairs = [
  { id = "p1", left = { en = "AND" }, right = { en = "both words" } },
  { id = "p2", left = { en = "OR" }, right = { en = "either word" } },
  { id = "p3", left = { en = "NOT" }, right = { en = "leave a word out" } },
]

[[questions]]
id = "order"
type = "ordering"
outcome = "two"
text = { en = "Put them in order." }
items = [
  { id = "s1", text = { en = "First" } },
  { id = "s2", text = { en = "Second" } },
  { id = "s3", text = { en = "Third" } },
]
"""

ESSAY = """
[[questions]]
id = "{id}"
type = "open_response"
outcome = "one"
text = {{ en = "Essay question {id}: why does the source matter?" }}
rubric = [
  {{ id = "claim", text = {{ en = "States a claim" }}, points = 2 }},
  {{ id = "evidence", text = {{ en = "Backs it with *evidence*" }}, points = 3 }},
]
"""

LESSONS = {"01-one": "# Lesson one\n\nRead me.\n", "02-two": "# Lesson two\n\nAnd me.\n"}


def write_test_module(root: Path, slug: str, essay: bool = False) -> Path:
    """The test module; with ``essay``, each form also has an open response (5 points)."""
    folder = root / slug
    (folder / "lessons").mkdir(parents=True)
    module = MODULE.format(slug=slug)
    if essay:
        module = module.replace('"match"]', '"match", "essay1"]').replace(
            '"order"]', '"order", "essay2"]'
        )
    (folder / "module.toml").write_text(module, encoding="utf-8")
    bank = "".join(
        CHOICE.format(id=qid, outcome=outcome)
        for qid, outcome in [("c1", "one"), ("c2", "two"), ("c3", "one"), ("c4", "two")]
    )
    if essay:
        bank += ESSAY.format(id="essay1") + ESSAY.format(id="essay2")
    (folder / "bank.toml").write_text(bank + EXTRA, encoding="utf-8")
    for name, text in LESSONS.items():
        (folder / "lessons" / f"{name}.en.md").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def test_module_id(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> int:
    root = tmp_path_factory.mktemp("modules")
    slug = f"delivery-test-{unique('m').replace('_', '-').lower()}"
    write_test_module(root, slug)
    with app.app_context():
        _results, problems = authoring.import_folder(root)
        assert problems == [], problems
        db.session.commit()
        return db.session.scalar(select(Module.id).where(Module.slug == slug))


@pytest.fixture(scope="session")
def essay_module_id(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> int:
    """The test module with an open response in each form."""
    root = tmp_path_factory.mktemp("essay-modules")
    slug = f"essay-test-{unique('m').replace('_', '-').lower()}"
    write_test_module(root, slug, essay=True)
    with app.app_context():
        _results, problems = authoring.import_folder(root)
        assert problems == [], problems
        db.session.commit()
        return db.session.scalar(select(Module.id).where(Module.slug == slug))


@pytest.fixture
def make_assignment(
    app: Flask, make_user: Callable[..., User], test_module_id: int
) -> Callable[..., Assignment]:
    """A cohort owned by a new faculty member with the test module embedded and open now
    (another module with ``module_id=``)."""

    def factory(**settings: Any) -> Assignment:
        module_id = settings.pop("module_id", test_module_id)
        owner = make_user("faculty")
        with app.app_context():
            cohort = cohorts.create_cohort(
                db.session.get(User, owner.id),
                course_code="IL101",
                course_title="Research skills",
                term="Fall 2026",
                section=unique("s"),
            )
            now = utcnow()
            settings.setdefault("opens_at", now - timedelta(days=1))
            settings.setdefault("closes_at", now + timedelta(days=7))
            assignment = cohorts.assign_module(
                cohort, db.session.get(Module, module_id), **settings
            )
            db.session.commit()
            assignment_id = assignment.id
        with app.app_context():
            loaded = db.session.get(Assignment, assignment_id)
            db.session.expunge(loaded)
            return loaded

    return factory


@pytest.fixture
def enrol(app: Flask) -> Callable[..., None]:
    def do(
        assignment: Assignment,
        user: User,
        role: MemberRole = MemberRole.STUDENT,
        **accommodations: Any,
    ) -> None:
        with app.app_context():
            cohort = db.session.get(Cohort, assignment.cohort_id)
            person = db.session.get(User, user.id)
            cohorts.add_member(cohort, person, role)
            if accommodations:
                cohorts.set_accommodations(
                    cohort,
                    person,
                    accommodations.get("time_multiplier", 1.0),
                    accommodations.get("extra_attempts", 0),
                )
            db.session.commit()

    return do


def quiz_id(app: Flask, assignment: Assignment, phase: Phase) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Quiz.id).where(Quiz.assignment_id == assignment.id, Quiz.phase == phase)
        )
