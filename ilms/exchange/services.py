"""Importing question files into a bank and exporting a bank, for the CLI and the upload page.

A question's key comes from its source (id, then title); importing a file again adds a version to
each question whose content changed and leaves the others as they are. Questions are only ever
added or versioned: an item missing from a later file stays in the bank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ilms.authoring.models import Question, QuestionBank, QuestionVersion
from ilms.authoring.package import question_hash
from ilms.errors import DomainError, NotFound
from ilms.exchange import gift, moodlexml, qti, qti_write
from ilms.exchange.detect import FORMATS, choose
from ilms.exchange.items import Imported, ParseResult, Skipped, Written, finish
from ilms.exchange.safety import Archive, Limits, check_upload, decode_text, is_zip
from ilms.extensions import db
from ilms.questions.types import get_type

SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
EXTENSIONS = {"gift": "gift.txt", "moodlexml": "xml", "qti": "zip"}
#: What importing does to a question: ``new`` (version 1), ``changed`` (a new version), or
#: ``unchanged`` (the file holds what the bank holds).
STATUSES = ("new", "changed", "unchanged")


@dataclass(frozen=True)
class ImportReport:
    bank: str
    bank_created: bool
    items: list[tuple[Imported, str]]  #: each imported question with its status
    skipped: list[Skipped]

    @property
    def summary(self) -> str:
        return f"imported {len(self.items)}, skipped {len(self.skipped)}"

    def count(self, status: str) -> int:
        return sum(item_status == status for _item, item_status in self.items)


def read_file(data: bytes, name: str, fmt: str | None, limits: Limits) -> ParseResult:
    """Every question of a file (GIFT, Moodle XML, QTI item/file or a package), each checked
    by its type; the whole file is refused with :class:`ExchangeError` when it cannot be read."""
    check_upload(len(data), limits)
    fmt = choose(fmt, data)
    if fmt == "gift":
        entries = gift.read(decode_text(data, name))
    elif fmt == "moodlexml":
        entries = moodlexml.read(data, name)
    elif is_zip(data):
        entries = qti.read_package(Archive(data, limits))
    else:
        entries = qti.read_xml(data, name)
    if not entries:
        raise DomainError(_("%(name)s holds no questions.", name=name))
    return finish(entries)


def check_slug(slug: str) -> str:
    slug = slug.strip()
    if not SLUG_RE.fullmatch(slug) or len(slug) > 80:
        raise DomainError(
            _("Give the bank a name of a-z, 0-9 and single hyphens, such as 'moodle-import'."),
            field="bank",
        )
    return slug


def find_bank(slug: str) -> QuestionBank | None:
    return db.session.scalar(select(QuestionBank).where(QuestionBank.slug == slug))


def standalone_banks() -> list[QuestionBank]:
    """The banks questions can be imported into: those of no module."""
    query = select(QuestionBank).where(QuestionBank.module_id.is_(None)).order_by(QuestionBank.slug)
    return list(db.session.scalars(query))


def _importable(bank: QuestionBank | None) -> QuestionBank | None:
    if bank is not None and bank.module_id is not None:
        raise DomainError(
            _(
                "The bank '%(slug)s' belongs to a module; add questions to a module through its "
                "bank.toml, or import into a bank of its own.",
                slug=bank.slug,
            ),
            field="bank",
        )
    return bank


def plan(slug: str, result: ParseResult) -> list[tuple[Imported, str]]:
    """What importing ``result`` into the bank would do to each question, changing nothing."""
    bank = _importable(find_bank(check_slug(slug)))
    current = _current_hashes(bank)
    return [(item, _status(current.get(item.key), item.question)) for item in result.imported]


def _current_hashes(bank: QuestionBank | None) -> dict[str, str]:
    if bank is None:
        return {}
    return {
        question.key: question.current_version.content_hash
        for question in bank.questions
        if question.current_version is not None
    }


def _status(current_hash: str | None, data: dict[str, Any]) -> str:
    if current_hash is None:
        return "new"
    return "unchanged" if current_hash == question_hash(data) else "changed"


def import_questions(slug: str, result: ParseResult, title: str | None = None) -> ImportReport:
    """Store the questions of ``result`` in the bank ``slug`` (made if needed, with ``title``)."""
    slug = check_slug(slug)
    bank = _importable(find_bank(slug))
    created = bank is None
    if bank is None:
        bank = QuestionBank(slug=slug, title=(title or slug).strip()[:200] or slug)
        db.session.add(bank)
        db.session.flush()
    existing = {question.key: question for question in bank.questions}
    items = [(item, _store(bank, existing.get(item.key), item)) for item in result.imported]
    db.session.flush()
    return ImportReport(slug, created, items, list(result.skipped))


def _store(bank: QuestionBank, question: Question | None, item: Imported) -> str:
    digest = question_hash(item.question)
    if question is None:
        question = Question(key=item.key)
        bank.questions.append(question)
    current = question.current_version
    if current is not None and current.content_hash == digest:
        return "unchanged"
    version = QuestionVersion(
        number=current.number + 1 if current else 1,
        type=item.question["type"],
        outcome=None,
        points=get_type(item.question["type"]).max_points(item.question),
        data=item.question,
        content_hash=digest,
    )
    question.versions.append(version)
    question.current_version = version
    return "changed" if current else "new"


def export_bank(slug: str, fmt: str) -> Written:
    """The bank's current questions in ``fmt``, with what the format could not hold."""
    if fmt not in FORMATS:
        raise DomainError(_("Unknown format '%(format)s': use gift, moodlexml or qti.", format=fmt))
    bank = find_bank(slug)
    if bank is None:
        raise NotFound(_("There is no question bank '%(slug)s'.", slug=slug))
    questions = [
        dict(question.current_version.data)
        for question in bank.questions
        if question.current_version is not None
    ]
    if not questions:
        raise DomainError(_("The bank '%(slug)s' holds no questions.", slug=slug))
    if fmt == "qti":
        written = qti_write.write(questions, slug)
    else:
        written = gift.write(questions) if fmt == "gift" else moodlexml.write(questions)
    notes = _bank_notes(questions) + written.notes
    return Written(written.data, written.exported, notes, written.skipped)


def _bank_notes(questions: list[dict[str, Any]]) -> list[str]:
    """What no export format holds: texts in other languages, and outcomes."""
    notes = []
    others = sorted({code for q in questions for code in q.get("text", {}) if code != "en"})
    if others:
        notes.append(
            _(
                "Only the English texts are exported; the texts in %(languages)s stay in ILMS.",
                languages=", ".join(others),
            )
        )
    if any("outcome" in question for question in questions):
        notes.append(_("The questions' outcomes are not exported: other tools do not know them."))
    return notes


def export_filename(slug: str, fmt: str) -> str:
    return f"{slug}.{EXTENSIONS[fmt]}"
