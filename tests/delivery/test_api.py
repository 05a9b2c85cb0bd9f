"""The quiz API as the quiz page uses it: the student's path, the sequence rule, access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ilms.db import utcnow
from ilms.delivery.models import Attempt, Phase, Response
from ilms.extensions import db
from tests.conftest import csrf_token_from, login
from tests.delivery.conftest import quiz_id


class Api:
    """A logged-in browser talking JSON with the CSRF header, as the quiz page does."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_token_from(client, "/account")

    def get(self, path):
        return self.client.get(path)

    def post(self, path, body=None):
        return self.client.post(path, json=body or {}, headers={"X-CSRFToken": self.token})

    def put(self, path, body):
        return self.client.put(path, json=body, headers={"X-CSRFToken": self.token})


def api_for(app, user) -> Api:
    client = app.test_client()
    assert login(client, user).status_code == 302
    return Api(client)


def right_answers(attempt_json):
    answers = {}
    for question in attempt_json["questions"]:
        if question["type"] == "single_choice":
            answers[question["id"]] = "right"
        elif question["type"] == "matching":
            by_text = {o["text"]: o["id"] for o in question["options"]}
            meaning = {"AND": "both words", "OR": "either word", "NOT": "leave a word out"}
            answers[question["id"]] = {
                i["id"]: by_text[meaning[i["text"]]] for i in question["items"]
            }
        elif question["type"] == "ordering":
            by_text = {o["text"]: o["id"] for o in question["options"]}
            answers[question["id"]] = [by_text[t] for t in ("First", "Second", "Third")]
    return answers


def test_the_whole_student_path(app, make_user, make_assignment, enrol):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)

    listed = api.get("/api/v1/me/assignments").get_json()["assignments"]
    mine = next(a for a in listed if a["id"] == assignment.id)
    assert mine["cohort_id"] == assignment.cohort_id
    assert mine["state"] == "pre_test" and mine["pre"]["state"] == "not_started"

    # The post-test is locked until the pre-test and the lessons are done.
    refused = api.post(f"/api/v1/quizzes/{mine['post_quiz_id']}/attempts")
    assert refused.status_code == 400
    assert "pre-test first" in refused.get_json()["error"]["message"]

    started = api.post(f"/api/v1/quizzes/{mine['pre_quiz_id']}/attempts")
    assert started.status_code == 201
    attempt = started.get_json()
    assert attempt["state"] == "open" and len(attempt["questions"]) == 3
    for question in attempt["questions"]:
        assert {"id", "type", "text"} <= set(question)
    # Starting again returns the same open attempt.
    again = api.post(f"/api/v1/quizzes/{mine['pre_quiz_id']}/attempts")
    assert again.status_code == 200 and again.get_json()["id"] == attempt["id"]
    assert [q["id"] for q in again.get_json()["questions"]] == [
        q["id"] for q in attempt["questions"]
    ]

    for seq, (qid, answer) in enumerate(right_answers(attempt).items(), start=1):
        saved = api.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{qid}", {"answer": answer, "seq": seq}
        )
        assert saved.status_code == 200, saved.get_json()
    resumed = api.get(f"/api/v1/attempts/{attempt['id']}").get_json()
    assert set(resumed["answers"]) == {str(q["id"]) for q in attempt["questions"]}

    result = api.post(f"/api/v1/attempts/{attempt['id']}/submit").get_json()
    assert (result["score"], result["max_score"], result["state"]) == (3.0, 3.0, "submitted")

    refused = api.post(f"/api/v1/quizzes/{mine['post_quiz_id']}/attempts")
    assert "lessons" in refused.get_json()["error"]["message"].lower()
    with app.app_context():
        from ilms.accounts.models import User
        from ilms.cohorts.models import Assignment
        from ilms.delivery import services

        full = db.session.get(Assignment, assignment.id)
        for lesson in full.module_version.lessons:
            services.complete_lesson(full, db.session.get(User, student.id), lesson.key)
        db.session.commit()

    post = api.post(f"/api/v1/quizzes/{mine['post_quiz_id']}/attempts").get_json()
    assert {q["type"] for q in post["questions"]} == {"single_choice", "ordering"}
    for seq, (qid, answer) in enumerate(right_answers(post).items(), start=1):
        assert (
            api.put(
                f"/api/v1/attempts/{post['id']}/answers/{qid}", {"answer": answer, "seq": seq}
            ).status_code
            == 200
        )
    assert api.post(f"/api/v1/attempts/{post['id']}/submit").get_json()["score"] == 3.0
    final = next(
        a
        for a in api.get("/api/v1/me/assignments").get_json()["assignments"]
        if a["id"] == assignment.id
    )
    assert final["state"] == "completed"
    assert (final["pre"]["score_percent"], final["post"]["score_percent"]) == (100.0, 100.0)


def start(api, app, assignment, phase=Phase.PRE):
    response = api.post(f"/api/v1/quizzes/{quiz_id(app, assignment, phase)}/attempts")
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def test_a_stale_save_never_overwrites_a_newer_answer(app, make_user, make_assignment, enrol):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)
    attempt = start(api, app, assignment)
    choice = next(q for q in attempt["questions"] if q["type"] == "single_choice")
    url = f"/api/v1/attempts/{attempt['id']}/answers/{choice['id']}"
    assert api.put(url, {"answer": "right", "seq": 5}).status_code == 200
    stale = api.put(url, {"answer": "wrong", "seq": 4})
    assert stale.status_code == 409
    assert "newer answer" in stale.get_json()["error"]["message"]
    assert api.put(url, {"answer": "wrong", "seq": 5}).status_code == 409
    saved = api.get(f"/api/v1/attempts/{attempt['id']}").get_json()["answers"][str(choice["id"])]
    assert saved == {"answer": "right", "seq": 5}


def test_malformed_saves_are_refused_and_lose_nothing(app, make_user, make_assignment, enrol):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)
    attempt = start(api, app, assignment)
    choice = next(q for q in attempt["questions"] if q["type"] == "single_choice")
    url = f"/api/v1/attempts/{attempt['id']}/answers/{choice['id']}"
    assert api.put(url, {"answer": "right", "seq": 1}).status_code == 200
    for body in (
        {"answer": "nonsense", "seq": 2},
        {"answer": ["right"], "seq": 3},
        {"answer": "right"},
        {"answer": "right", "seq": "x"},
        {"seq": 9},
    ):
        response = api.put(url, body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["message"]
    missing = api.put(f"/api/v1/attempts/{attempt['id']}/answers/999999", {"answer": "a", "seq": 1})
    assert missing.status_code == 404
    saved = api.get(f"/api/v1/attempts/{attempt['id']}").get_json()["answers"][str(choice["id"])]
    assert saved == {"answer": "right", "seq": 1}


def test_saving_to_a_submitted_attempt_is_refused(app, make_user, make_assignment, enrol):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)
    attempt = start(api, app, assignment)
    first = attempt["questions"][0]
    api.post(f"/api/v1/attempts/{attempt['id']}/submit")
    late = api.put(
        f"/api/v1/attempts/{attempt['id']}/answers/{first['id']}", {"answer": "right", "seq": 1}
    )
    assert late.status_code == 409
    assert "submitted" in late.get_json()["error"]["message"]


def test_submit_twice_gives_the_same_result(app, make_user, make_assignment, enrol):
    assignment = make_assignment()
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)
    attempt = start(api, app, assignment)
    first = api.post(f"/api/v1/attempts/{attempt['id']}/submit").get_json()
    second = api.post(f"/api/v1/attempts/{attempt['id']}/submit").get_json()
    assert first == second
    assert first["score"] == 0.0


def test_other_students_attempts_are_not_found(app, make_user, make_assignment, enrol):
    assignment = make_assignment()
    owner, other = make_user("student"), make_user("student")
    enrol(assignment, owner)
    enrol(assignment, other)
    attempt = start(api_for(app, owner), app, assignment)
    intruder = api_for(app, other)
    question = attempt["questions"][0]["id"]
    assert intruder.get(f"/api/v1/attempts/{attempt['id']}").status_code == 404
    assert (
        intruder.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{question}", {"answer": "right", "seq": 1}
        ).status_code
        == 404
    )
    assert intruder.post(f"/api/v1/attempts/{attempt['id']}/submit").status_code == 404


def test_another_cohorts_quiz_is_not_found(app, make_user, make_assignment, enrol):
    mine, theirs = make_assignment(), make_assignment()
    student = make_user("student")
    enrol(mine, student)
    api = api_for(app, student)
    response = api.post(f"/api/v1/quizzes/{quiz_id(app, theirs, Phase.PRE)}/attempts")
    assert response.status_code == 404
    assert all(
        a["id"] != theirs.id for a in api.get("/api/v1/me/assignments").get_json()["assignments"]
    )


def test_api_needs_log_in_and_csrf(app, make_user, make_assignment, enrol, client):
    assignment = make_assignment()
    assert client.get("/api/v1/me/assignments").status_code == 401
    student = make_user("student")
    enrol(assignment, student)
    login(client, student)
    response = client.post(
        f"/api/v1/quizzes/{quiz_id(app, assignment, Phase.PRE)}/attempts", json={}
    )
    assert response.status_code == 400  # no X-CSRFToken header


def test_closed_and_not_yet_open_modules_refuse_to_start(app, make_user, make_assignment, enrol):
    now = utcnow()
    future = make_assignment(opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=2))
    past = make_assignment(opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1))
    student = make_user("student")
    enrol(future, student)
    enrol(past, student)
    api = api_for(app, student)
    assert (
        "opens on"
        in api.post(f"/api/v1/quizzes/{quiz_id(app, future, Phase.PRE)}/attempts").get_json()[
            "error"
        ]["message"]
    )
    assert (
        "closed on"
        in api.post(f"/api/v1/quizzes/{quiz_id(app, past, Phase.PRE)}/attempts").get_json()[
            "error"
        ]["message"]
    )


def test_attempts_allowed_and_extra_attempts(app, make_user, make_assignment, enrol):
    assignment = make_assignment(attempts_allowed=1)
    plain, accommodated = make_user("student"), make_user("student")
    enrol(assignment, plain)
    enrol(assignment, accommodated, extra_attempts=1)
    for student, allowed in ((plain, 1), (accommodated, 2)):
        api = api_for(app, student)
        for _ in range(allowed):
            attempt = start(api, app, assignment)
            api.post(f"/api/v1/attempts/{attempt['id']}/submit")
        refused = api.post(f"/api/v1/quizzes/{quiz_id(app, assignment, Phase.PRE)}/attempts")
        assert refused.status_code == 400
        assert "used all your attempts" in refused.get_json()["error"]["message"]


def test_time_multiplier_extends_the_deadline(app, make_user, make_assignment, enrol):
    assignment = make_assignment(time_limit_minutes=20)
    plain, extra_time = make_user("student"), make_user("student")
    enrol(assignment, plain)
    enrol(assignment, extra_time, time_multiplier=1.5)
    lengths = []
    for student in (plain, extra_time):
        attempt = start(api_for(app, student), app, assignment)
        with app.app_context():
            row = db.session.get(Attempt, attempt["id"])
            lengths.append(round((row.expires_at - row.started_at) / timedelta(minutes=1)))
    assert lengths == [20, 30]


def test_close_overdue_grades_saved_answers_at_the_deadline(app, make_user, make_assignment, enrol):
    assignment = make_assignment(time_limit_minutes=10)
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)
    attempt = start(api, app, assignment)
    choice = next(q for q in attempt["questions"] if q["type"] == "single_choice")
    api.put(
        f"/api/v1/attempts/{attempt['id']}/answers/{choice['id']}", {"answer": "right", "seq": 1}
    )
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        row.started_at -= timedelta(hours=1)
        row.expires_at -= timedelta(hours=1)
        deadline = row.expires_at
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["ilms", "close-overdue"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row.state.value == "closed"
        assert row.submitted_at == deadline
        assert row.score == 1.0
        points = db.session.scalars(
            select(Response.points).where(Response.attempt_id == row.id)
        ).all()
        assert sorted(points) == [0.0, 0.0, 1.0]
    # Saving after the deadline is refused with a clear message.
    late = api.put(
        f"/api/v1/attempts/{attempt['id']}/answers/{choice['id']}", {"answer": "wrong", "seq": 2}
    )
    assert late.status_code == 409


def test_starting_after_time_ran_out_closes_the_old_attempt_and_starts_a_new_one(
    app, make_user, make_assignment, enrol
):
    assignment = make_assignment(time_limit_minutes=10, attempts_allowed=2)
    student = make_user("student")
    enrol(assignment, student)
    api = api_for(app, student)
    first = start(api, app, assignment)
    with app.app_context():
        row = db.session.get(Attempt, first["id"])
        row.started_at -= timedelta(hours=1)
        row.expires_at -= timedelta(hours=1)
        db.session.commit()
    again = api.post(f"/api/v1/quizzes/{quiz_id(app, assignment, Phase.PRE)}/attempts")
    assert again.status_code == 201
    second = again.get_json()
    assert second["id"] != first["id"] and second["number"] == 2
    assert second["answers"] == {} and len(second["questions"]) == 3
    assert api.get(f"/api/v1/attempts/{first['id']}").get_json()["state"] == "closed"


def test_forms_are_counterbalanced(app, make_user, make_assignment, enrol):
    assignment = make_assignment(pre_required=False, post_after_lessons=False)
    forms = []
    for _ in range(4):
        student = make_user("student")
        enrol(assignment, student)
        api = api_for(app, student)
        pre = start(api, app, assignment)
        api.post(f"/api/v1/attempts/{pre['id']}/submit")
        post = start(api, app, assignment, Phase.POST)
        with app.app_context():
            forms.append(
                (db.session.get(Attempt, pre["id"]).form, db.session.get(Attempt, post["id"]).form)
            )
    assert sorted(forms) == [("A", "B"), ("A", "B"), ("B", "A"), ("B", "A")]


def test_matching_choices_are_shuffled_per_attempt_and_kept(app, make_user, make_assignment, enrol):
    """Positional choice ids follow this attempt's stored order, so nothing shared with other
    students (question or pair ids) tells which choice goes with which item."""
    assignment = make_assignment()
    orders, seen = set(), 0
    for _ in range(16):
        student = make_user("student")
        enrol(assignment, student)
        api = api_for(app, student)
        attempt = start(api, app, assignment)
        matching = next((q for q in attempt["questions"] if q["type"] == "matching"), None)
        if matching is None:  # the other form (counterbalanced) has no matching item
            continue
        seen += 1
        texts = [o["text"] for o in matching["options"]]
        assert texts != ["both words", "either word", "leave a word out"]  # never as authored
        orders.add(tuple(texts))
        resumed = start(api, app, assignment)
        again = next(q for q in resumed["questions"] if q["type"] == "matching")
        assert [o["text"] for o in again["options"]] == texts
        with app.app_context():
            stored = db.session.get(Attempt, attempt["id"]).option_orders
        assert stored[str(matching["id"])]
    assert seen >= 6 and len(orders) > 1


def test_an_ordering_item_is_never_shown_in_its_key_order(app):
    from ilms.authoring.models import QuestionVersion
    from ilms.delivery.services import shown_order

    items = [{"id": f"s{i}", "text": {"en": str(i)}} for i in range(1, 4)]
    question = QuestionVersion(type="ordering", data={"id": "o", "items": items})
    seen = {tuple(shown_order(question)) for _ in range(200)}
    assert ("s1", "s2", "s3") not in seen
    assert len(seen) == 5  # every other permutation of three items turns up
    single = QuestionVersion(
        type="single_choice",
        data={"id": "c", "shuffle": False, "options": [{"id": "a"}, {"id": "b"}]},
    )
    assert shown_order(single) is None  # the author asked for the authored order
