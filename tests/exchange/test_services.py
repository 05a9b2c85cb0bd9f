"""Importing into banks: new banks, versions on change, nothing on no change, module banks and
bad names refused; exporting: unknown and empty banks, notes on what is not exported."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ilms.authoring.models import Module, Question, QuestionBank
from ilms.errors import DomainError, NotFound
from ilms.exchange import services
from ilms.extensions import db
from tests.conftest import unique
from tests.exchange.conftest import fixture, read

pytestmark = pytest.mark.usefixtures("app_ctx")


def bank_questions(slug: str) -> dict[str, Question]:
    bank = db.session.scalar(select(QuestionBank).where(QuestionBank.slug == slug))
    assert bank is not None
    return {question.key: question for question in bank.questions}


def test_import_creates_the_bank_and_version_one_of_each_question():
    slug = unique("gift-")
    result = read(fixture("moodle.gift"), "moodle.gift")
    report = services.import_questions(slug, result, "Moodle questions")
    assert report.bank_created and report.summary == "imported 15, skipped 2"
    assert report.count("new") == 15
    bank = services.find_bank(slug)
    assert bank.title == "Moodle questions" and bank.module_id is None
    questions = bank_questions(slug)
    version = questions["peer-review"].current_version
    assert (version.number, version.type, version.outcome, version.points) == (
        1,
        "multiple_response",
        None,
        1.0,
    )
    assert version.data == next(i.question for i in result.imported if i.key == "peer-review")


def test_importing_again_changes_nothing_and_a_change_adds_a_version():
    slug = unique("again-")
    services.import_questions(slug, read(fixture("moodle.gift")))
    again = services.import_questions(slug, read(fixture("moodle.gift")))
    assert not again.bank_created and again.count("unchanged") == 15
    changed = fixture("moodle.gift").replace(b"{#1989:1}", b"{#1989:2}")
    report = services.import_questions(slug, read(changed))
    assert (report.count("changed"), report.count("unchanged")) == (1, 14)
    founded = bank_questions(slug)["founded"]
    assert [version.number for version in founded.versions] == [1, 2]
    assert founded.current_version.data["tolerance"] == 2


def test_plan_tells_what_an_import_would_do_without_doing_it():
    slug = unique("plan-")
    result = read(fixture("moodle.gift"))
    assert {status for _item, status in services.plan(slug, result)} == {"new"}
    assert services.find_bank(slug) is None
    services.import_questions(slug, result)
    changed = read(fixture("moodle.gift").replace(b"{#1989:1}", b"{#1990:1}"))
    statuses = dict((item.key, status) for item, status in services.plan(slug, changed))
    assert statuses["founded"] == "changed" and statuses["operator"] == "unchanged"


def test_a_modules_bank_is_refused():
    slug = unique("module-")
    module = Module(slug=slug)
    module.bank = QuestionBank(slug=slug, title="A module's bank")
    db.session.add(module)
    db.session.flush()
    with pytest.raises(DomainError, match="belongs to a module"):
        services.import_questions(slug, read(fixture("moodle.gift")))


@pytest.mark.parametrize("slug", ["", "Has Spaces", "under_score", "-dash", "a--b", "x" * 81])
def test_bank_names_must_be_slugs(slug):
    with pytest.raises(DomainError, match="a-z, 0-9 and single hyphens"):
        services.import_questions(slug, read(fixture("moodle.gift")))


def test_export_of_unknown_and_empty_banks():
    with pytest.raises(NotFound, match="There is no question bank 'no-such-bank'"):
        services.export_bank("no-such-bank", "gift")
    slug = unique("empty-")
    db.session.add(QuestionBank(slug=slug, title="Empty"))
    db.session.flush()
    with pytest.raises(DomainError, match="holds no questions"):
        services.export_bank(slug, "moodlexml")
    with pytest.raises(DomainError, match="Unknown format 'csv'"):
        services.export_bank(slug, "csv")


def test_export_round_trip_through_the_database():
    slug, copy = unique("source-"), unique("copy-")
    services.import_questions(slug, read(fixture("moodle.xml"), "moodle.xml"))
    for fmt in ("moodlexml", "qti"):
        written = services.export_bank(slug, fmt)
        assert written.summary == "exported 11, skipped 0"
        report = services.import_questions(f"{copy}-{fmt}", read(written.data, "export", fmt))
        assert report.summary == "imported 11, skipped 0"
        original = {k: q.current_version.data for k, q in bank_questions(slug).items()}
        again = {k: q.current_version.data for k, q in bank_questions(f"{copy}-{fmt}").items()}
        assert again == original


def test_export_notes_languages_and_outcomes_it_leaves_out():
    slug = unique("multi-")
    bank = QuestionBank(slug=slug, title="Multilingual")
    question = Question(key="q1")
    bank.questions.append(question)
    data = {
        "id": "q1",
        "type": "true_false",
        "outcome": "boolean",
        "text": {"en": "True?", "ru": "Верно?"},
        "answer": True,
        "feedback": {"correct": {"en": "Yes", "ru": "Да"}, "incorrect": {"en": "No", "ru": "Нет"}},
    }
    from ilms.authoring.models import QuestionVersion

    version = QuestionVersion(
        number=1, type="true_false", outcome="boolean", points=1, data=data, content_hash="x"
    )
    question.versions.append(version)
    question.current_version = version
    db.session.add(bank)
    db.session.flush()
    written = services.export_bank(slug, "gift")
    assert written.notes[0] == "Only the English texts are exported; the texts in ru stay in ILMS."
    assert "outcome" in written.notes[1]
    again = read(written.data, "x.gift").imported[0].question
    assert again["text"] == {"en": "True?"} and "outcome" not in again
