"""CSV and JSON exports: the schema's keys, suppression, per-student files, formula injection."""

from __future__ import annotations

import csv
import io

from ilms.accounts.models import User
from ilms.cohorts.models import CohortMember, MemberRole
from ilms.extensions import db

PHASE_KEYS = {"n", "mean", "sd", "median", "alpha", "sem"}
PAIRED_KEYS = {
    "n",
    "mean_diff",
    "ci95",
    "t",
    "df",
    "p_t",
    "wilcoxon_w",
    "p_wilcoxon",
    "cohen_dz",
    "cohen_dav",
    "hake_g_class",
    "hake_g_mean",
}
ITEM_KEYS = {
    "phase",
    "question",
    "facility",
    "sd",
    "discrimination",
    "discriminative_efficiency",
    "point_biserial",
    "upper_lower",
    "alpha_if_deleted",
    "options",
}


def rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # read as UTF-8 by spreadsheets
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_json_document_has_the_documented_keys(app, synth, client_as):
    cohort = synth(students=20, items=5)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    response = client.get(f"/reports/assignments/{cohort.assignment_id}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    report = response.get_json()
    assert {"participation", "pre", "post", "paired", "items", "outcomes", "frames"} <= set(report)
    assert set(report["pre"]) >= PHASE_KEYS and set(report["post"]) >= PHASE_KEYS
    assert set(report["paired"]) >= PAIRED_KEYS
    assert all(set(item) >= ITEM_KEYS for item in report["items"])
    assert report["schema_version"] == 1 and report["min_n"] == 5
    assert report["participation"]["enrolled"] == 20
    assert abs(report["pre"]["mean"] - cohort.pre_mean) < 0.01  # percent, 0-100
    assert 0 <= report["items"][0]["facility"] <= 1  # proportions as fractions
    assert report["items"][0]["label"] == "q001"
    assert report["cohort"]["id"] == cohort.cohort_id
    assert report["computed_at"]
    assert "students" not in report


def test_json_of_a_small_cohort_is_suppressed(app, synth, client_as):
    cohort = synth(students=3, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    report = client.get(f"/reports/assignments/{cohort.assignment_id}.json").get_json()
    assert report["pre"]["mean"] is None and report["pre"]["suppressed"] is True
    assert report["pre"]["suppressed_reason"] == "min_n"
    assert report["paired"]["mean_diff"] is None
    assert report["participation"]["enrolled"] == 3


def test_item_statistics_as_csv(app, synth, client_as):
    cohort = synth(students=20, items=5)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    response = client.get(f"/reports/assignments/{cohort.assignment_id}/items.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    table = rows(response)
    assert table[0][:3] == ["phase", "question", "n"]
    assert len(table) == 1 + 10  # five items, pre and post


def test_each_student_s_scores_by_name_or_pseudonym(app, synth, client_as):
    cohort = synth(students=12, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    named = rows(
        client.get(f"/reports/assignments/{cohort.assignment_id}/students.csv?appendix=names")
    )
    assert named[0][:3] == ["student", "pre", "post"]
    assert len(named) == 13 and all(row[0].startswith("Student ") for row in named[1:])
    pseudonymous = rows(
        client.get(f"/reports/assignments/{cohort.assignment_id}/students.csv?appendix=pseudonyms")
    )
    assert all(row[0].startswith("S-") for row in pseudonymous[1:])
    again = rows(
        client.get(f"/reports/assignments/{cohort.assignment_id}/students.csv?appendix=pseudonyms")
    )
    assert again == pseudonymous  # stable pseudonyms
    bad = client.get(f"/reports/assignments/{cohort.assignment_id}/students.csv?appendix=none")
    assert bad.status_code == 400
    assert (
        client.get(f"/reports/assignments/{cohort.assignment_id}/students.csv").status_code == 400
    )


def test_no_per_student_file_when_figures_rest_on_too_few(app, synth, client_as):
    cohort = synth(students=3, items=4)
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    url = f"/reports/assignments/{cohort.assignment_id}/students.csv?appendix=names"
    assert client.get(url).status_code == 404


def test_names_cannot_become_spreadsheet_formulas(app, synth, client_as):
    cohort = synth(students=8, items=3)
    with app.app_context():
        student = db.session.scalars(
            db.select(User)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(
                CohortMember.cohort_id == cohort.cohort_id, CohortMember.role == MemberRole.STUDENT
            )
            .limit(1)
        ).one()
        student.name = '=HYPERLINK("http://evil.example","click")'
        db.session.commit()
    client, _owner = client_as("faculty", cohort_id=cohort.cohort_id)
    text = client.get(
        f"/reports/assignments/{cohort.assignment_id}/students.csv?appendix=names"
    ).get_data(as_text=True)
    assert "'=HYPERLINK" in text
    assert '"=HYPERLINK' not in text
