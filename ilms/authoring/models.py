"""Modules, their versions and lessons; question banks, questions and their versions.

Content is versioned, never edited in place once used: an import or edit that changes a module or a
question adds a version, and attempts keep pointing at the version they were made on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ilms.db import TimestampMixin, utcnow
from ilms.extensions import db

#: A localised text: language code -> text.
Localised = dict[str, str]


class Module(TimestampMixin, db.Model):
    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)  #: the module's permanent name
    published: Mapped[bool] = mapped_column(default=False)  #: students see published modules only
    #: The version new quizzes use; older versions stay for the attempts made on them.
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("module_versions.id", use_alter=True, ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    current_version: Mapped[ModuleVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list[ModuleVersion]] = relationship(
        back_populates="module",
        foreign_keys="ModuleVersion.module_id",
        order_by="ModuleVersion.number",
        cascade="all, delete-orphan",
    )
    bank: Mapped[QuestionBank | None] = relationship(back_populates="module", uselist=False)


class ModuleVersion(db.Model):
    __tablename__ = "module_versions"
    __table_args__ = (
        UniqueConstraint("module_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("estimated_minutes > 0", name="minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  #: counts this module's versions in ILMS: 1, 2, 3 ...
    package_version: Mapped[int]  #: the ``version`` its author wrote in module.toml
    content_hash: Mapped[str] = mapped_column(
        String(64)
    )  #: of the package; unchanged -> no version
    languages: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[str] = mapped_column(String(20))
    estimated_minutes: Mapped[int]
    title: Mapped[Localised] = mapped_column(JSON)
    summary: Mapped[Localised] = mapped_column(JSON)
    #: ``[{"id", "frame", "text": {lang: text}}]``, as in module.toml
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: ``{form_id: {"items": [...]} | {"per_outcome": n, ...}}``, as in module.toml
    forms: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: ``{"pre": form_id, "post": form_id}``
    tests: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    module: Mapped[Module] = relationship(back_populates="versions", foreign_keys=[module_id])
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module_version", order_by="Lesson.position", cascade="all, delete-orphan"
    )
    question_versions: Mapped[list[QuestionVersion]] = relationship(
        secondary="module_version_questions",
        order_by="ModuleVersionQuestion.position",
        viewonly=True,
    )

    def text(self, field: Localised, lang: str) -> str:
        return field.get(lang) or field.get("en") or ""


class Lesson(db.Model):
    __tablename__ = "lessons"
    __table_args__ = (
        UniqueConstraint("module_version_id", "position"),
        UniqueConstraint("module_version_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    module_version_id: Mapped[int] = mapped_column(
        ForeignKey("module_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    key: Mapped[str] = mapped_column(String(80))  #: the lesson id from its file name
    title: Mapped[Localised] = mapped_column(JSON)
    body: Mapped[Localised] = mapped_column(JSON)  #: Markdown per language
    #: Image file name as referenced in the Markdown -> SHA-256 of its ``Asset``
    images: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    module_version: Mapped[ModuleVersion] = relationship(back_populates="lessons")


class Asset(db.Model):
    """An uploaded or imported file (a lesson image), stored once by its content's hash."""

    __tablename__ = "assets"
    __table_args__ = (CheckConstraint("size >= 0", name="size_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuestionBank(TimestampMixin, db.Model):
    __tablename__ = "question_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    #: The module whose bank this is; None for a stand-alone bank (e.g. imported from Moodle).
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="SET NULL"), unique=True
    )

    module: Mapped[Module | None] = relationship(back_populates="bank")
    questions: Mapped[list[Question]] = relationship(
        back_populates="bank", order_by="Question.id", cascade="all, delete-orphan"
    )


class Question(TimestampMixin, db.Model):
    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("bank_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("question_banks.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))  #: the question's id within its bank
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_versions.id", use_alter=True, ondelete="SET NULL")
    )

    bank: Mapped[QuestionBank] = relationship(back_populates="questions")
    current_version: Mapped[QuestionVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question",
        foreign_keys="QuestionVersion.question_id",
        order_by="QuestionVersion.number",
        cascade="all, delete-orphan",
    )


class QuestionVersion(db.Model):
    __tablename__ = "question_versions"
    __table_args__ = (
        UniqueConstraint("question_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    type: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str | None] = mapped_column(String(80))  #: outcome id of the module
    points: Mapped[float]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  #: the question as in bank.toml
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    question: Mapped[Question] = relationship(back_populates="versions", foreign_keys=[question_id])


class ModuleVersionQuestion(db.Model):
    """The question versions that made up a module version's bank when it was created."""

    __tablename__ = "module_version_questions"

    module_version_id: Mapped[int] = mapped_column(
        ForeignKey("module_versions.id", ondelete="CASCADE"), primary_key=True
    )
    question_version_id: Mapped[int] = mapped_column(
        ForeignKey("question_versions.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int]  #: the question's place in the bank, kept for export
