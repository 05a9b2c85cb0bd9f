"""Reports from the database: counted attempts, matching, suppression, the report command."""

from __future__ import annotations

import json

from ilms.accounts.models import User
from ilms.cohorts.models import Assignment
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase
from ilms.extensions import db
from ilms.reports import services as reports
from tests.delivery.conftest import enrol, make_assignment, test_module_id  # noqa: F401

#: How many choice questions each student gets right on the pre-test and the post-test.
RIGHT = [(0, 2), (1, 2), (1, 1), (0, 1), (2, 2), (1, 2)]


def take(assignment: Assignment, user: User, phase: Phase, right: int) -> None:
    quiz = delivery.quiz_of(assignment, phase)
    attempt = delivery.start_attempt(quiz, user, "en")
    seq = 0
    for qv_id in attempt.question_order:
        from ilms.authoring.models import QuestionVersion

        question = db.session.get(QuestionVersion, qv_id)
        if question.type != "single_choice":
            continue
        seq += 1
        delivery.save_answer(attempt, qv_id, "right" if seq <= right else "wrong", seq)
    delivery.submit_attempt(attempt)


def build_cohort(app, make_user, make_assignment, enrol, **settings) -> Assignment:  # noqa: F811
    assignment = make_assignment(pre_required=False, post_after_lessons=False, **settings)
    students = [make_user("student") for _ in RIGHT]
    for student in students:
        enrol(assignment, student)
    with app.app_context():
        current = db.session.get(Assignment, assignment.id)
        for student, (pre, post) in zip(students, RIGHT, strict=True):
            person = db.session.get(User, student.id)
            take(current, person, Phase.PRE, pre)
            take(current, person, Phase.POST, post)
        db.session.commit()
    return assignment


def test_report_from_the_database(app, make_user, make_assignment, enrol):  # noqa: F811
    assignment = build_cohort(app, make_user, make_assignment, enrol)
    with app.app_context():
        report = reports.assignment_report(db.session.get(Assignment, assignment.id), min_n=5)
    assert report["participation"]["enrolled"] == 6
    assert report["pre"]["n"] == 6 and report["post"]["n"] == 6
    # Each test has three questions: two choice questions and one matching or ordering left blank.
    pre = [100 * r / 3 for r, _ in RIGHT]
    post = [100 * r / 3 for _, r in RIGHT]
    assert abs(report["pre"]["mean"] - sum(pre) / 6) < 0.05
    assert abs(report["post"]["mean"] - sum(post) / 6) < 0.05
    assert report["paired"]["n"] == 6
    assert abs(report["paired"]["mean_diff"] - (sum(post) - sum(pre)) / 6) < 0.05
    assert {item["phase"] for item in report["items"]} == {"pre", "post"}
    labels = {item["label"] for item in report["items"]}
    assert {"c1", "c2", "c3", "c4"} <= labels
    assert {o["outcome"] if "outcome" in o else o.get("id") for o in report["outcomes"]} >= {
        "one",
        "two",
    }
    json.dumps(report, allow_nan=False)


def test_small_cohorts_are_suppressed(app, make_user, make_assignment, enrol):  # noqa: F811
    assignment = build_cohort(app, make_user, make_assignment, enrol)
    with app.app_context():
        report = reports.assignment_report(db.session.get(Assignment, assignment.id), min_n=10)
    assert report["pre"]["mean"] is None
    assert report["paired"]["mean_diff"] is None
    assert report["participation"]["enrolled"] == 6  # counts of people are not figures about them


def test_report_command_writes_json_and_csv(app, make_user, make_assignment, enrol, tmp_path):  # noqa: F811
    assignment = build_cohort(app, make_user, make_assignment, enrol)
    runner = app.test_cli_runner()
    out = tmp_path / "report.json"
    result = runner.invoke(
        args=[
            "ilms",
            "report",
            "--cohort",
            str(assignment.cohort_id),
            "--format",
            "json",
            "--out",
            str(out),
            "--min-n",
            "5",
        ]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["paired"]["n"] == 6
    csv_out = tmp_path / "items.csv"
    result = runner.invoke(
        args=[
            "ilms",
            "report",
            "--cohort",
            str(assignment.cohort_id),
            "--format",
            "csv",
            "--out",
            str(csv_out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert csv_out.read_text(encoding="utf-8-sig").splitlines()[0].startswith('"phase"')
    result = runner.invoke(
        args=["ilms", "report", "--cohort", "999999", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code != 0 and "There is no such cohort" in result.output
