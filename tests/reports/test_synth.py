"""Synthetic cohorts: made through the authoring import and bulk inserts, with a known gain."""

from __future__ import annotations

from sqlalchemy import func, select

from ilms.cohorts.models import Assignment, CohortMember, MemberRole
from ilms.delivery.models import Attempt, Quiz, Response
from ilms.extensions import db
from ilms.reports import services
from ilms.reports.synth import synth_cohort


def test_the_report_shows_the_known_gain(app):
    with app.app_context():
        cohort = synth_cohort(200, 12, seed=11, gain=1.5)
        db.session.commit()
        assignment = db.session.get(Assignment, cohort.assignment_id)
        report = services.assignment_report(assignment, min_n=1)
    assert abs(report["pre"]["mean"] - cohort.pre_mean) < 0.01
    assert abs(report["post"]["mean"] - cohort.post_mean) < 0.01
    assert report["participation"]["enrolled"] == 200
    assert report["paired"]["n"] == cohort.matched
    # A gain of 1.5 logits for every student: a large, significant rise.
    assert report["paired"]["mean_diff"] > 15
    assert report["paired"]["p_t"] < 0.001
    assert report["paired"]["cohen_dav"] > 0.8
    assert {item["phase"] for item in report["items"]} == {"pre", "post"}
    assert len(report["outcomes"]) == 6 and len(report["frames"]) == 6
    assert {cell["group"] for cell in report["subgroups"]["language"]["pre"]} == {"en", "ru", "kk"}


def test_no_gain_means_no_significant_change(app):
    with app.app_context():
        cohort = synth_cohort(150, 10, seed=4, gain=0.0)
        db.session.commit()
        report = services.assignment_report(
            db.session.get(Assignment, cohort.assignment_id), min_n=1
        )
    assert abs(report["paired"]["mean_diff"]) < 5


def test_rows_are_stored_for_every_student_and_item(app):
    with app.app_context():
        cohort = synth_cohort(25, 6, seed=2)
        db.session.commit()
        students = db.session.scalar(
            select(func.count())
            .select_from(CohortMember)
            .where(
                CohortMember.cohort_id == cohort.cohort_id, CohortMember.role == MemberRole.STUDENT
            )
        )
        attempts = db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .join(Quiz, Attempt.quiz_id == Quiz.id)
            .where(Quiz.assignment_id == cohort.assignment_id)
        )
        responses = db.session.scalar(
            select(func.count())
            .select_from(Response)
            .join(Attempt, Response.attempt_id == Attempt.id)
            .join(Quiz, Attempt.quiz_id == Quiz.id)
            .where(Quiz.assignment_id == cohort.assignment_id)
        )
    assert students == 25
    assert attempts == 25 + cohort.matched
    assert responses == attempts * 6


def test_the_command_prints_the_cohort_id(app):
    result = app.test_cli_runner().invoke(
        args=["ilms", "synth-cohort", "--students", "15", "--items", "4", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    cohort_id = int(result.stdout.strip().splitlines()[-1])
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(CohortMember)
            .where(CohortMember.cohort_id == cohort_id, CohortMember.role == MemberRole.STUDENT)
        )
    assert count == 15


def test_the_command_refuses_nonsense(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ilms", "synth-cohort", "--students", "10", "--items", "1"])
    assert result.exit_code == 2
    result = runner.invoke(args=["ilms", "synth-cohort", "--students", "0", "--items", "5"])
    assert result.exit_code == 2


def test_options_chosen_are_read_back(app):
    """Distractor analysis from the stored answers: the key is chosen exactly when right."""
    with app.app_context():
        cohort = synth_cohort(60, 5, seed=8)
        db.session.commit()
        report = services.assignment_report(
            db.session.get(Assignment, cohort.assignment_id), min_n=1
        )
    for item in report["items"]:
        shares = {o["option"]: o["share"] for o in item["options"]}
        assert set(shares) == {"a", "b", "c", "d"}
        assert abs(shares["a"] - item["facility"]) < 1e-3
        assert abs(sum(shares.values()) - 1) < 1e-3
        assert item["omitted"] == 0
