"""What faculty and librarians do through the cohort pages: lists, creating and editing cohorts,
join codes, members and accommodations, assigning modules and changing their settings."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.authoring.models import Module
from ilms.cohorts import services
from ilms.cohorts.demo import take_test
from ilms.cohorts.models import Assignment, AttemptCounting, Cohort, FeedbackPolicy, MemberRole
from ilms.db import utcnow
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase
from ilms.extensions import db
from tests.cohorts.conftest import World, load_cohort, token_for


def page_of(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, **data: object):
    return client.post(path, data={"csrf_token": token_for(client), **data})


def member_role(app: Flask, cohort_id: int, user: User) -> MemberRole | None:
    with app.app_context():
        member = services.membership(
            db.session.get(Cohort, cohort_id), db.session.get(User, user.id)
        )
        return member.role if member else None


# --- Lists ----------------------------------------------------------------------------------


def test_faculty_home_lists_their_cohorts_only(world: World, client_for):
    page = page_of(client_for(world.owner).get("/faculty"))
    assert f'href="/cohorts/{world.cohort_id}"' in page
    assert f'href="/cohorts/{world.other_cohort_id}"' not in page
    assert "<caption>1 cohort</caption>" in page
    assert 'href="/cohorts/new"' in page


def test_faculty_home_without_cohorts_invites_to_create_one(make_user, client_for):
    page = page_of(client_for(make_user("faculty")).get("/faculty"))
    assert "You do not own any cohort yet" in page
    assert 'href="/cohorts/new"' in page


def test_librarian_workbench_lists_the_cohorts_they_are_embedded_in(world, client_for):
    page = page_of(client_for(world.librarian).get("/librarian"))
    assert f'href="/cohorts/{world.cohort_id}"' in page
    assert "Embedded librarian" in page


def test_admins_see_every_cohort(world, client_for):
    page = page_of(client_for(world.admin).get("/cohorts"))
    assert f'href="/cohorts/{world.cohort_id}"' in page
    assert f'href="/cohorts/{world.other_cohort_id}"' in page


# --- Creating and editing -------------------------------------------------------------------


def test_create_a_cohort(app, make_user, client_for):
    faculty = make_user("faculty")
    client = client_for(faculty)
    response = post(
        client,
        "/cohorts/new",
        course_code="ENG110",
        course_title="Academic writing",
        section="02",
        term="Spring 2027",
        starts_on="2027-01-15",
        ends_on="2027-05-20",
        language="kk",
    )
    assert response.status_code == 302
    cohort_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    cohort = load_cohort(app, cohort_id)
    assert (cohort.course_code, cohort.section, cohort.language) == ("ENG110", "02", "kk")
    assert member_role(app, cohort_id, faculty) == MemberRole.OWNER
    page = page_of(client.get(f"/cohorts/{cohort_id}"))
    assert "ENG110-02 Academic writing (Spring 2027)" in page
    assert cohort.join_code in page


def test_create_a_cohort_shows_every_error_at_once(make_user, client_for):
    client = client_for(make_user("librarian"))
    response = post(client, "/cohorts/new", course_code="", course_title="", term="")
    assert response.status_code == 400
    page = page_of(response)
    assert 'class="error-summary"' in page
    for field in ("course_code", "course_title", "term"):
        assert f'href="#{field}"' in page
        assert f'id="{field}-error"' in page


def test_a_cohort_cannot_end_before_it_starts(make_user, client_for):
    client = client_for(make_user("faculty"))
    response = post(
        client,
        "/cohorts/new",
        course_code="X1",
        course_title="Title",
        term="T",
        starts_on="2027-05-01",
        ends_on="2027-01-01",
        language="en",
    )
    assert response.status_code == 400
    assert "cannot end before it starts" in page_of(response)
    assert 'id="ends_on-error"' in page_of(response)


def test_the_new_cohort_form_offers_the_persons_language(make_user, client_for):
    client = client_for(make_user("faculty", locale="ru"))
    page = page_of(client.get("/cohorts/new"))
    assert '<option selected value="ru">' in page or '<option value="ru" selected>' in page


def test_edit_a_cohort(app, world, client_for):
    client = client_for(world.librarian)
    form = page_of(client.get(f"/cohorts/{world.cohort_id}/edit"))
    assert 'value="IL101"' in form
    response = post(
        client,
        f"/cohorts/{world.cohort_id}/edit",
        course_code="IL102",
        course_title="Research skills II",
        term="Spring 2027",
        language="ru",
    )
    assert response.status_code == 302
    cohort = load_cohort(app, world.cohort_id)
    assert (cohort.course_code, cohort.course_title, cohort.language) == (
        "IL102",
        "Research skills II",
        "ru",
    )


def test_edit_refuses_bad_details_and_keeps_the_cohort(app, world, client_for):
    client = client_for(world.owner)
    response = post(
        client, f"/cohorts/{world.cohort_id}/edit", course_code="X" * 41, course_title="", term=""
    )
    assert response.status_code == 400
    assert load_cohort(app, world.cohort_id).course_code == "IL101"


# --- The cohort page and joining ------------------------------------------------------------


def test_cohort_page_shows_the_join_code_link_members_and_settings(app, world, client_for):
    page = page_of(client_for(world.owner).get(f"/cohorts/{world.cohort_id}"))
    cohort = load_cohort(app, world.cohort_id)
    assert f'<strong class="join-code">{cohort.join_code}</strong>' in page
    assert f"/join/{cohort.join_code}</code>" in page
    for name in ("Olga Owner", "Ivan Instructor", "Lena Librarian"):
        assert name in page
    assert "Sara Student" not in page  # students are counted here, listed on the members page
    assert "Test module" in page
    assert "Progress of 1 student" in page
    assert "Make a new code" in page and "Turn joining off" in page


def test_instructors_see_the_cohort_without_the_buttons(world, client_for):
    page = page_of(client_for(world.instructor).get(f"/cohorts/{world.cohort_id}"))
    assert "Test module" in page
    for action in ("Make a new code", "Turn joining off", "Assign a module", "/edit"):
        assert action not in page


def test_progress_counts_students_who_started_and_completed(app, world, client_for, make_user):
    finisher, starter = make_user("student"), make_user("student")
    with app.test_request_context():
        cohort = db.session.get(Cohort, world.cohort_id)
        assignment = db.session.get(Assignment, world.assignment_id)
        for person in (finisher, starter):
            services.add_member(cohort, db.session.get(User, person.id), MemberRole.STUDENT)
        done = db.session.get(User, finisher.id)
        take_test(assignment, done, Phase.PRE, random.Random(1), 1.0)
        for lesson in assignment.module_version.lessons:
            delivery.complete_lesson(assignment, done, lesson.key)
        take_test(assignment, done, Phase.POST, random.Random(2), 1.0)
        delivery.start_attempt(
            delivery.quiz_of(assignment, Phase.PRE), db.session.get(User, starter.id), "en"
        )
        db.session.commit()
    page = page_of(client_for(world.owner).get(f"/cohorts/{world.cohort_id}"))
    assert "Progress of 3 students" in page
    pre = page.split(">Pre-test</th>")[1].split("</tr>")[0]
    post_row = page.split(">Post-test</th>")[1].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in pre.split('class="num">')[1:]] == ["2", "1"]
    assert [cell.split("<")[0] for cell in post_row.split('class="num">')[1:]] == ["1", "1"]


def test_make_a_new_join_code(app, world, client_for):
    old = load_cohort(app, world.cohort_id).join_code
    response = post(client_for(world.owner), f"/cohorts/{world.cohort_id}/join-code")
    assert response.status_code == 302
    new = load_cohort(app, world.cohort_id).join_code
    assert new != old


def test_turn_joining_off_and_on(app, world, client_for):
    client = client_for(world.owner)
    assert post(client, f"/cohorts/{world.cohort_id}/joining", enabled="off").status_code == 302
    assert not load_cohort(app, world.cohort_id).join_enabled
    page = page_of(client.get(f"/cohorts/{world.cohort_id}"))
    assert "Joining is turned off" in page and "Turn joining on" in page
    assert post(client, f"/cohorts/{world.cohort_id}/joining", enabled="on").status_code == 302
    assert load_cohort(app, world.cohort_id).join_enabled


def test_joining_with_a_nonsense_value_is_refused(app, world, client_for):
    response = post(client_for(world.owner), f"/cohorts/{world.cohort_id}/joining", enabled="x")
    assert response.status_code == 400
    assert load_cohort(app, world.cohort_id).join_enabled


# --- Members and accommodations -------------------------------------------------------------


def test_members_page_lists_staff_and_students(world, client_for):
    page = page_of(client_for(world.owner).get(f"/cohorts/{world.cohort_id}/members"))
    assert "Sara Student" in page and world.student.email in page
    assert '<caption id="students-caption">1 student</caption>' in page
    assert f'id="m{world.student.id}-time_multiplier"' in page
    assert f'for="m{world.student.id}-time_multiplier"' in page


def test_instructors_see_members_without_forms(world, client_for):
    page = page_of(client_for(world.instructor).get(f"/cohorts/{world.cohort_id}/members"))
    assert "Sara Student" in page
    assert "<form" not in page.split("<main")[1].replace('class="language-switcher"', "")
    assert "Add a colleague" not in page


def test_add_a_colleague_by_email(app, world, client_for, make_user):
    colleague = make_user("librarian")
    response = post(
        client_for(world.owner),
        f"/cohorts/{world.cohort_id}/members/staff",
        email=colleague.email.upper(),
        role="librarian",
    )
    assert response.status_code == 302
    assert member_role(app, world.cohort_id, colleague) == MemberRole.LIBRARIAN


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("nobody@example.edu", "owner", "There is no active account"),
        ("not-an-address", "owner", "Enter an email address"),
        (None, "librarian", "is not a librarian account"),
        (None, "student", "Not a valid choice"),
    ],
)
def test_adding_a_colleague_explains_what_is_wrong(app, world, client_for, email, role, message):
    before = len(load_cohort(app, world.cohort_id).members)
    response = post(
        client_for(world.owner),
        f"/cohorts/{world.cohort_id}/members/staff",
        email=email or world.outsider.email,
        role=role,
    )
    assert response.status_code == 400
    page = page_of(response)
    assert message in page
    assert 'class="error-summary"' in page
    assert len(load_cohort(app, world.cohort_id).members) == before


def test_remove_a_student(app, world, client_for):
    response = post(
        client_for(world.librarian),
        f"/cohorts/{world.cohort_id}/members/{world.student.id}/remove",
    )
    assert response.status_code == 302
    assert member_role(app, world.cohort_id, world.student) is None


def test_removing_the_last_owner_is_refused_with_a_message(app, world, client_for):
    client = client_for(world.owner)
    response = post(client, f"/cohorts/{world.cohort_id}/members/{world.owner.id}/remove")
    assert response.status_code == 302
    assert member_role(app, world.cohort_id, world.owner) == MemberRole.OWNER
    assert "at least one owner" in page_of(client.get(response.headers["Location"]))


def test_removing_someone_outside_the_cohort_is_not_found(world, client_for):
    response = post(
        client_for(world.owner), f"/cohorts/{world.cohort_id}/members/{world.outsider.id}/remove"
    )
    assert response.status_code == 404


def test_set_accommodations(app, world, client_for):
    prefix = f"m{world.student.id}"
    response = post(
        client_for(world.owner),
        f"/cohorts/{world.cohort_id}/members/{world.student.id}/accommodations",
        **{f"{prefix}-time_multiplier": "1.5", f"{prefix}-extra_attempts": "2"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#student-{world.student.id}")
    member = next(
        m for m in load_cohort(app, world.cohort_id).members if m.user_id == world.student.id
    )
    assert (member.time_multiplier, member.extra_attempts) == (1.5, 2)


@pytest.mark.parametrize(
    ("multiplier", "extra", "message"),
    [
        ("7", "0", "between 1 and 5"),
        ("0.5", "0", "between 1 and 5"),
        ("1", "21", "between 0 and 20"),
        ("1", "-1", "between 0 and 20"),
        ("", "0", "This field is required"),
        ("abc", "0", "Not a valid decimal value"),
    ],
)
def test_accommodations_out_of_range_are_explained_on_the_row(
    app, world, client_for, multiplier, extra, message
):
    prefix = f"m{world.student.id}"
    response = post(
        client_for(world.owner),
        f"/cohorts/{world.cohort_id}/members/{world.student.id}/accommodations",
        **{f"{prefix}-time_multiplier": multiplier, f"{prefix}-extra_attempts": extra},
    )
    assert response.status_code == 400
    page = page_of(response)
    assert message in page
    assert 'class="error-summary"' in page and 'class="row-error"' in page
    assert 'aria-invalid="true"' in page
    member = next(
        m for m in load_cohort(app, world.cohort_id).members if m.user_id == world.student.id
    )
    assert (member.time_multiplier, member.extra_attempts) == (1.0, 0)


def test_accommodations_are_for_students_only(world, client_for):
    prefix = f"m{world.instructor.id}"
    response = post(
        client_for(world.owner),
        f"/cohorts/{world.cohort_id}/members/{world.instructor.id}/accommodations",
        **{f"{prefix}-time_multiplier": "2", f"{prefix}-extra_attempts": "1"},
    )
    assert response.status_code == 404


# --- Assigning modules ----------------------------------------------------------------------


@pytest.fixture
def assigned_module_id(app, world) -> int:
    with app.app_context():
        return db.session.get(Assignment, world.assignment_id).module_id


def test_assign_form_offers_published_modules_not_yet_assigned(
    world, client_for, module_factory, assigned_module_id
):
    published, draft = module_factory(), module_factory(publish=False)
    page = page_of(client_for(world.owner).get(f"/cohorts/{world.cohort_id}/assignments/new"))
    assert f'<option value="{published}">' in page
    assert f'<option value="{draft}">' not in page
    assert f'<option value="{assigned_module_id}">' not in page
    assert "Asia/Almaty" in page


def test_assign_a_module_in_the_librarys_time_zone(app, world, client_for, module_factory):
    module_id = module_factory()
    response = post(
        client_for(world.owner),
        f"/cohorts/{world.cohort_id}/assignments/new",
        module=str(module_id),
        opens_at="2026-09-01T09:00",
        closes_at="2026-09-15T23:59",
        pre_required="y",
        attempts_allowed="2",
        time_limit_minutes="40",
        counting="best",
        feedback_policy="after_close",
    )
    assert response.status_code == 302, page_of(response)[:2000]
    with app.app_context():
        assignment = db.session.scalar(
            select(Assignment).where(
                Assignment.cohort_id == world.cohort_id, Assignment.module_id == module_id
            )
        )
        # Asia/Almaty is UTC+5: 09:00 there is 04:00 UTC.
        assert assignment.opens_at == datetime(2026, 9, 1, 4, 0, tzinfo=UTC)
        assert assignment.closes_at == datetime(2026, 9, 15, 18, 59, tzinfo=UTC)
        assert assignment.pre_required and not assignment.post_after_lessons
        assert (assignment.attempts_allowed, assignment.time_limit_minutes) == (2, 40)
        assert assignment.counting == AttemptCounting.BEST
        assert assignment.feedback_policy == FeedbackPolicy.AFTER_CLOSE


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"closes_at": "2026-08-31T09:00"}, "The close date must be after the open date"),
        ({"attempts_allowed": "0"}, "Allow between 1 and 20 attempts"),
        ({"time_limit_minutes": "0"}, "between 1 and 600 minutes"),
        ({"opens_at": "tomorrow"}, "Enter a date and time"),
        ({"counting": "worst"}, "Not a valid choice"),
    ],
)
def test_assigning_explains_bad_settings(app, world, client_for, module_factory, changes, message):
    module_id = module_factory()
    data = {
        "module": str(module_id),
        "opens_at": "2026-09-01T09:00",
        "closes_at": "2026-09-15T09:00",
        "attempts_allowed": "1",
        "counting": "last",
        "feedback_policy": "never",
        **changes,
    }
    response = post(client_for(world.owner), f"/cohorts/{world.cohort_id}/assignments/new", **data)
    assert response.status_code == 400
    assert message in page_of(response)
    with app.app_context():
        assert (
            db.session.scalar(select(Assignment).where(Assignment.module_id == module_id)) is None
        )


def test_an_unpublished_or_assigned_module_cannot_be_chosen(
    world, client_for, module_factory, assigned_module_id
):
    client = client_for(world.owner)
    for module_id in (module_factory(publish=False), assigned_module_id):
        response = post(
            client,
            f"/cohorts/{world.cohort_id}/assignments/new",
            module=str(module_id),
            opens_at="2026-09-01T09:00",
            closes_at="2026-09-15T09:00",
            attempts_allowed="1",
            counting="last",
            feedback_policy="never",
        )
        assert response.status_code == 400
        assert "Not a valid choice" in page_of(response)


def test_the_assign_form_says_when_nothing_is_left(app, make_user, client_for):
    owner = make_user("faculty")
    with app.app_context():
        cohort = services.create_cohort(
            db.session.get(User, owner.id), course_code="Z", course_title="Z", term="Z"
        )
        for module in db.session.scalars(select(Module).where(Module.published.is_(True))):
            if module.current_version_id:
                services.assign_module(
                    cohort, module, opens_at=utcnow(), closes_at=utcnow() + timedelta(days=1)
                )
        db.session.commit()
        cohort_id = cohort.id
    page = page_of(client_for(owner).get(f"/cohorts/{cohort_id}/assignments/new"))
    assert "Every published module is already assigned" in page
    assert "<select" not in page


def test_settings_form_shows_dates_in_the_librarys_time_zone(app, world, client_for):
    with app.app_context():
        assignment = db.session.get(Assignment, world.assignment_id)
        assignment.opens_at = datetime(2026, 9, 1, 4, 0, tzinfo=UTC)
        db.session.commit()
    page = page_of(
        client_for(world.owner).get(
            f"/cohorts/{world.cohort_id}/assignments/{world.assignment_id}/edit"
        )
    )
    assert 'value="2026-09-01T09:00"' in page
    assert "This is the newest version" in page


def test_change_the_settings(app, world, client_for):
    response = post(
        client_for(world.librarian),
        f"/cohorts/{world.cohort_id}/assignments/{world.assignment_id}/edit",
        opens_at="2026-10-01T08:30",
        closes_at="2026-10-31T20:00",
        post_after_lessons="y",
        attempts_allowed="3",
        time_limit_minutes="",
        counting="first",
        feedback_policy="never",
    )
    assert response.status_code == 302
    with app.app_context():
        assignment = db.session.get(Assignment, world.assignment_id)
        assert assignment.opens_at == datetime(2026, 10, 1, 3, 30, tzinfo=UTC)
        assert not assignment.pre_required and assignment.post_after_lessons
        assert assignment.attempts_allowed == 3 and assignment.time_limit_minutes is None
        assert assignment.counting == AttemptCounting.FIRST


def test_changing_settings_explains_errors(app, world, client_for):
    response = post(
        client_for(world.owner),
        f"/cohorts/{world.cohort_id}/assignments/{world.assignment_id}/edit",
        opens_at="2026-10-01T08:30",
        closes_at="2026-10-01T08:30",
        attempts_allowed="1",
        counting="last",
        feedback_policy="never",
    )
    assert response.status_code == 400
    assert "The close date must be after the open date" in page_of(response)
    assert 'id="closes_at-error"' in page_of(response)


# --- Adopting a newer version ---------------------------------------------------------------


def assign_fresh(app: Flask, cohort_id: int, module_id: int) -> int:
    with app.app_context():
        assignment = services.assign_module(
            db.session.get(Cohort, cohort_id),
            db.session.get(Module, module_id),
            opens_at=utcnow() - timedelta(days=1),
            closes_at=utcnow() + timedelta(days=7),
        )
        db.session.commit()
        return assignment.id


def test_adopt_a_newer_version_through_the_page(app, world, client_for, module_factory):
    slug = f"page-adopt-{world.cohort_id}"
    assignment_id = assign_fresh(app, world.cohort_id, module_factory(slug))
    module_factory(slug, version=2)
    client = client_for(world.owner)
    path = f"/cohorts/{world.cohort_id}/assignments/{assignment_id}"
    assert "Use version 2" in page_of(client.get(f"{path}/edit"))
    response = post(client, f"{path}/adopt")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Assignment, assignment_id).module_version.number == 2
    assert "now uses version 2" in page_of(client.get(response.headers["Location"]))


def test_adopting_after_students_started_is_explained(app, world, client_for, module_factory):
    slug = f"page-started-{world.cohort_id}"
    assignment_id = assign_fresh(app, world.cohort_id, module_factory(slug))
    with app.test_request_context():
        assignment = db.session.get(Assignment, assignment_id)
        delivery.start_attempt(
            delivery.quiz_of(assignment, Phase.PRE), db.session.get(User, world.student.id), "en"
        )
        db.session.commit()
    module_factory(slug, version=2)
    client = client_for(world.owner)
    path = f"/cohorts/{world.cohort_id}/assignments/{assignment_id}"
    form = page_of(client.get(f"{path}/edit"))
    assert "Students have already started this module" in form
    assert "Use version 2" not in form
    response = post(client, f"{path}/adopt")
    assert "already started this module on version 1" in page_of(
        client.get(response.headers["Location"])
    )
    with app.app_context():
        assert db.session.get(Assignment, assignment_id).module_version.number == 1


def test_adopting_without_a_newer_version_is_explained(world, client_for):
    client = client_for(world.owner)
    path = f"/cohorts/{world.cohort_id}/assignments/{world.assignment_id}"
    response = post(client, f"{path}/adopt")
    assert "already uses the newest version" in page_of(client.get(response.headers["Location"]))
