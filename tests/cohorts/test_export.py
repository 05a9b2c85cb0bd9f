"""The roster export: one row per student with the counted pre-test and post-test scores, as a
CSV file that spreadsheets open safely (no formulas run from names)."""

from __future__ import annotations

import csv
import io
import random

import pytest
from flask import Flask

from ilms.accounts.models import User
from ilms.cohorts import services
from ilms.cohorts.demo import take_test
from ilms.cohorts.models import Assignment, AttemptCounting, Cohort, MemberRole
from ilms.delivery.models import Phase
from ilms.extensions import db
from tests.cohorts.conftest import World

DANGEROUS_NAMES = ['=HYPERLINK("http://evil.example","x")', "+SUM(1)", "-1+2", "@cmd"]


def export(client, cohort_id: int) -> tuple[list[str], list[list[str]]]:
    response = client.get(f"/cohorts/{cohort_id}/roster.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="roster-il101-')
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # so that Excel reads the file as UTF-8
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    return rows[0], rows[1:]


def sit(app: Flask, world: World, user: User, chances: list[float]) -> None:
    """The pre-test, once per chance of a right answer (1.0 scores 100%, 0.0 scores 0%)."""
    with app.test_request_context():
        assignment = db.session.get(Assignment, world.assignment_id)
        person = db.session.get(User, user.id)
        for chance in chances:
            take_test(assignment, person, Phase.PRE, random.Random(0), chance)
        db.session.commit()


def set_counting(app: Flask, world: World, counting: AttemptCounting) -> None:
    with app.app_context():
        db.session.get(Assignment, world.assignment_id).counting = counting
        db.session.commit()


def test_export_lists_students_with_their_scores(app, world, client_for):
    with app.app_context():
        db.session.get(Assignment, world.assignment_id).attempts_allowed = 3
        db.session.commit()
    sit(app, world, world.student, [0.0, 1.0, 0.0])
    client = client_for(world.instructor)
    header, rows = export(client, world.cohort_id)
    assert header == [
        "Name",
        "Email address",
        "Joined",
        "Test module: pre-test score (percent)",
        "Test module: post-test score (percent)",
    ]
    assert [row[:2] for row in rows] == [["Sara Student", world.student.email]]
    expected = {
        AttemptCounting.LAST: "0.0",
        AttemptCounting.FIRST: "0.0",
        AttemptCounting.BEST: "100.0",
    }
    for counting, score in expected.items():
        set_counting(app, world, counting)
        _header, rows = export(client, world.cohort_id)
        assert rows[0][3:] == [score, ""], counting


def test_export_of_a_cohort_without_students_has_its_header_only(app, world, client_for):
    with app.app_context():
        cohort = db.session.get(Cohort, world.cohort_id)
        services.remove_member(cohort, db.session.get(User, world.student.id))
        db.session.commit()
    header, rows = export(client_for(world.owner), world.cohort_id)
    assert header[0] == "Name" and rows == []


@pytest.mark.parametrize("name", DANGEROUS_NAMES)
def test_names_that_look_like_formulas_are_written_as_text(app, world, client_for, make_user, name):
    student = make_user("student", name=name)
    with app.app_context():
        services.add_member(
            db.session.get(Cohort, world.cohort_id),
            db.session.get(User, student.id),
            MemberRole.STUDENT,
        )
        db.session.commit()
    _header, rows = export(client_for(world.owner), world.cohort_id)
    cells = [row[0] for row in rows]
    assert "'" + name in cells
    assert name not in cells
