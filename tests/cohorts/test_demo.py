"""``flask ilms seed-demo`` builds the demo cohort once, however often it runs."""

from __future__ import annotations

import random
from datetime import timedelta
from statistics import mean

import pytest
from flask import Flask
from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.authoring import services as authoring
from ilms.cli import BUNDLED_MODULES
from ilms.cohorts import demo
from ilms.cohorts.models import Assignment, Cohort, CohortMember, MemberRole
from ilms.db import utcnow
from ilms.delivery.models import Attempt, Phase
from ilms.extensions import db
from ilms.questions.types import get_type
from tests.conftest import login


def demo_state(app: Flask) -> dict[str, object]:
    with app.app_context():
        cohorts = db.session.scalars(select(Cohort).filter_by(**demo.COURSE, section="")).all()
        assert len(cohorts) == 1
        cohort = cohorts[0]
        roles = {
            m.user.email: m.role
            for m in db.session.scalars(select(CohortMember).filter_by(cohort_id=cohort.id))
        }
        [assignment] = db.session.scalars(select(Assignment).filter_by(cohort_id=cohort.id)).all()
        attempts = db.session.scalars(
            select(Attempt).join(User).where(User.email.in_(roles), Attempt.state != "open")
        ).all()
        return {
            "roles": roles,
            "module": assignment.module.slug,
            "opens_at": assignment.opens_at,
            "closes_at": assignment.closes_at,
            "attempts": sorted((a.user_id, a.phase, a.number, a.score) for a in attempts),
            "percents": {
                phase: [a.percent for a in attempts if a.phase == phase] for phase in Phase
            },
        }


def test_seed_demo_builds_the_demo_cohort_once(app):
    with app.app_context():
        authoring.import_folder(BUNDLED_MODULES)
        db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["ilms", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo cohort: IL101 Information Literacy (Fall 2026)" in first.output
    assert "faculty@example.edu" in first.output and "password: ilms-demo" in first.output
    state = demo_state(app)

    second = runner.invoke(args=["ilms", "seed-demo"])
    assert second.exit_code == 0, second.output
    assert demo_state(app) == state

    roles = state["roles"]
    assert roles["faculty@example.edu"] == MemberRole.OWNER
    assert roles["librarian@example.edu"] == MemberRole.LIBRARIAN
    assert roles["student@example.edu"] == MemberRole.STUDENT
    assert sum(role == MemberRole.STUDENT for role in roles.values()) == len(demo.CLASSMATES) + 1
    assert state["module"] == "searching-strategically"
    now = utcnow()
    assert now - timedelta(days=2) < state["opens_at"] < now
    assert now + timedelta(days=29) < state["closes_at"] < now + timedelta(days=31)
    percents = state["percents"]
    assert len(percents[Phase.PRE]) == len(percents[Phase.POST]) == len(demo.CLASSMATES)
    assert mean(percents[Phase.POST]) > mean(percents[Phase.PRE]) + 15


def test_the_demo_people_find_the_cohort(app):
    with app.app_context():
        authoring.import_folder(BUNDLED_MODULES)
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["ilms", "seed-demo"]).exit_code == 0
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id).filter_by(**demo.COURSE, section=""))
        student_attempts = db.session.scalar(
            select(func.count()).select_from(Attempt).join(User).where(User.email == demo.STUDENT)
        )
    assert student_attempts == 0  # the demo student takes the module themselves
    faculty = app.test_client()
    assert login(faculty, demo.OWNER, "ilms-demo").status_code == 302
    assert f'href="/cohorts/{cohort_id}"' in faculty.get("/faculty").get_data(as_text=True)
    page = faculty.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert "Progress of 9 students" in page
    librarian = app.test_client()
    assert login(librarian, demo.LIBRARIAN, "ilms-demo").status_code == 302
    assert f'href="/cohorts/{cohort_id}"' in librarian.get("/librarian").get_data(as_text=True)


def test_without_the_bundled_module_the_cohort_is_skipped(app_ctx, monkeypatch):
    monkeypatch.setattr(demo, "MODULE", "no-such-module")
    assert demo.seed_demo_cohort("unused") == [
        "Demo cohort: skipped; load the bundled modules first (flask ilms import-modules)."
    ]


@pytest.mark.parametrize("right", [True, False])
@pytest.mark.parametrize(
    "question",
    [
        {"id": "q", "type": "true_false", "answer": True},
        {"id": "q", "type": "ordering", "items": [{"id": "a"}, {"id": "b"}, {"id": "c"}]},
        {"id": "q", "type": "short_answer", "accepted": {"en": ["Boolean"]}},
        {"id": "q", "type": "cloze", "blanks": [{"id": "1", "accepted": {"en": ["AND"]}}]},
        {
            "id": "q",
            "type": "matching",
            "pairs": [{"id": "p1"}, {"id": "p2"}],
        },
        {
            "id": "q",
            "type": "multiple_response",
            "options": [
                {"id": "a", "correct": True},
                {"id": "b", "correct": True},
                {"id": "c", "correct": False},
            ],
        },
    ],
    ids=lambda q: q["type"],
)
def test_demo_answers_are_right_or_wrong_as_asked(question, right):
    answer = demo.demo_answer(question["type"], question, right, random.Random(3))
    score = get_type(question["type"]).grade(question, answer)
    assert (score.fraction == 1) == right
