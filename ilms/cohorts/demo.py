"""Demo data for ``flask ilms seed-demo``: a cohort owned by the demo faculty member, with the
demo librarian embedded, the demo student enrolled, the bundled module ``searching-strategically``
open, and classmates who have taken its pre-test and post-test, so that the faculty pages and the
reports are not empty. Safe to run again: what exists is kept.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ilms.accounts import services as accounts
from ilms.accounts.models import User
from ilms.authoring.models import Module, QuestionVersion
from ilms.cohorts import services
from ilms.cohorts.models import Assignment, Cohort, MemberRole
from ilms.db import utcnow
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase
from ilms.extensions import db
from ilms.permissions import Role

MODULE = "searching-strategically"
COURSE = {"course_code": "IL101", "course_title": "Information Literacy", "term": "Fall 2026"}
OWNER = "faculty@example.edu"
LIBRARIAN = "librarian@example.edu"
STUDENT = "student@example.edu"
#: Classmates of the demo student: (email, name, interface language, chance of a right answer
#: in the pre-test, in the post-test).
CLASSMATES = (
    ("aruzhan.bekova@example.edu", "Aruzhan Bekova", "kk", 0.45, 0.85),
    ("daniyar.omarov@example.edu", "Daniyar Omarov", "kk", 0.35, 0.7),
    ("madina.seitkali@example.edu", "Madina Seitkali", "ru", 0.55, 0.9),
    ("timur.akhmetov@example.edu", "Timur Akhmetov", "ru", 0.3, 0.55),
    ("elena.kim@example.edu", "Elena Kim", "ru", 0.6, 0.8),
    ("nurlan.zhaksybekov@example.edu", "Nurlan Zhaksybekov", "kk", 0.4, 0.75),
    ("sofia.ivanova@example.edu", "Sofia Ivanova", "en", 0.45, 0.8),
    ("arman.tulegenov@example.edu", "Arman Tulegenov", "en", 0.25, 0.6),
)
OPEN_FOR = timedelta(days=30)


def seed_demo_cohort(password_hash: str) -> list[str]:
    """Create what is missing of the demo cohort; returns lines to print."""
    module = db.session.scalar(select(Module).where(Module.slug == MODULE))
    if module is None or module.current_version is None or not module.published:
        return ["Demo cohort: skipped; load the bundled modules first (flask ilms import-modules)."]
    people = {email: accounts.find_user_by_email(email) for email in (OWNER, LIBRARIAN, STUDENT)}
    if any(user is None for user in people.values()):
        return []
    cohort = demo_cohort(people[OWNER])  # type: ignore[arg-type]
    if services.membership(cohort, people[LIBRARIAN]) is None:  # type: ignore[arg-type]
        services.add_staff(cohort, LIBRARIAN, MemberRole.LIBRARIAN)
    services.add_member(cohort, people[STUDENT], MemberRole.STUDENT)  # type: ignore[arg-type]
    assignment = demo_assignment(cohort, module)
    for email, name, locale, pre, post in CLASSMATES:
        classmate = accounts.find_user_by_email(email) or accounts.create_user(
            email, name, [Role.STUDENT], locale=locale, password_hash=password_hash
        )
        services.add_member(cohort, classmate, MemberRole.STUDENT)
        take_module(assignment, classmate, random.Random(email), pre, post)
    db.session.flush()
    return [
        f"Demo cohort: {cohort.label}, join code {cohort.join_code}, "
        f"{len(CLASSMATES) + 1} students; {MODULE} open until "
        f"{assignment.closes_at:%Y-%m-%d}."
    ]


def demo_cohort(owner: User) -> Cohort:
    cohort = db.session.scalar(select(Cohort).filter_by(**COURSE, section="").order_by(Cohort.id))
    if cohort is None:
        cohort = services.create_cohort(owner, **COURSE)
    return cohort


def demo_assignment(cohort: Cohort, module: Module) -> Assignment:
    """The module assigned, opened yesterday; a demo seeded long ago is opened again."""
    now = utcnow().replace(second=0, microsecond=0)
    assignment = db.session.scalar(
        select(Assignment).where(
            Assignment.cohort_id == cohort.id, Assignment.module_id == module.id
        )
    )
    if assignment is None:
        return services.assign_module(
            cohort, module, opens_at=now - timedelta(days=1), closes_at=now + OPEN_FOR
        )
    if assignment.closes_at < now + timedelta(days=1):
        assignment.closes_at = now + OPEN_FOR
    return assignment


def take_module(
    assignment: Assignment, student: User, rng: random.Random, pre: float, post: float
) -> None:
    """The pre-test, every lesson and the post-test, each only if not done before."""
    if not delivery.submitted_attempts(delivery.quiz_of(assignment, Phase.PRE).id, student.id):
        take_test(assignment, student, Phase.PRE, rng, pre)
    for lesson in assignment.module_version.lessons:
        delivery.complete_lesson(assignment, student, lesson.key)
    if not delivery.submitted_attempts(delivery.quiz_of(assignment, Phase.POST).id, student.id):
        take_test(assignment, student, Phase.POST, rng, post)


def take_test(
    assignment: Assignment, student: User, phase: Phase, rng: random.Random, chance: float
) -> None:
    """Sit a test through the delivery services, answering each question right with ``chance``."""
    quiz = delivery.quiz_of(assignment, phase)
    attempt = delivery.start_attempt(quiz, student, student.locale or "en")
    for seq, question_id in enumerate(attempt.question_order, start=1):
        question = db.session.get(QuestionVersion, question_id)
        assert question is not None
        answer = demo_answer(question.type, question.data, rng.random() < chance, rng)
        if answer is not None:
            delivery.save_answer(attempt, question_id, answer, seq)
    delivery.submit_attempt(attempt)


def demo_answer(kind: str, data: dict[str, Any], right: bool, rng: random.Random) -> Any:
    """A right or a plausible wrong answer to a question, as the quiz API would send it."""
    if kind == "single_choice":
        return rng.choice([o["id"] for o in data["options"] if o["correct"] == right])
    if kind == "multiple_response":
        return _multiple(data["options"], right, rng)
    if kind == "true_false":
        return data["answer"] if right else not data["answer"]
    if kind == "matching":
        ids = [pair["id"] for pair in data["pairs"]]
        chosen = ids if right else ids[1:] + ids[:1]
        return dict(zip(ids, chosen, strict=True))
    if kind == "ordering":
        ids = [item["id"] for item in data["items"]]
        return ids if right else ids[1:] + ids[:1]
    if kind == "cloze":
        return {blank["id"]: _blank(blank, right, rng) for blank in data["blanks"]}
    if kind == "short_answer" and "accepted" in data:
        return _accepted(data["accepted"]) if right else "?"
    return None


def _multiple(options: list[dict[str, Any]], right: bool, rng: random.Random) -> list[str]:
    correct = [o["id"] for o in options if o["correct"]]
    if right:
        return correct
    wrong = [o["id"] for o in options if not o["correct"]]
    return correct[: max(1, len(correct) - 1)] + rng.sample(wrong, min(1, len(wrong)))


def _blank(blank: dict[str, Any], right: bool, rng: random.Random) -> str:
    if "options" in blank:
        return rng.choice([o["id"] for o in blank["options"] if o["correct"] == right])
    return _accepted(blank["accepted"]) if right else "?"


def _accepted(accepted: dict[str, list[str]]) -> str:
    return (accepted.get("en") or next(iter(accepted.values())))[0]
