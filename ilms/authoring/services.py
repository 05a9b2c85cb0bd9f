"""Loading module packages into the database as versions, and writing them back out."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.authoring import package as pkg
from ilms.authoring.models import (
    Asset,
    Lesson,
    Module,
    ModuleVersion,
    ModuleVersionQuestion,
    Question,
    QuestionBank,
    QuestionVersion,
)
from ilms.errors import DomainError
from ilms.extensions import db

IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class ImportResult:
    slug: str
    status: str  #: ``created``, ``updated`` or ``unchanged``
    version: int
    questions_changed: int


def import_package(
    package: pkg.ModulePackage, actor: User | None = None, publish: bool = True
) -> ImportResult:
    """Store ``package`` as the module's newest version, unless its content is unchanged.

    Questions whose content changed get a new version; unchanged ones are shared with the
    previous module version, so attempts on either version see the same question version.
    """
    module = db.session.scalar(select(Module).where(Module.slug == package.slug))
    created = module is None
    if module is None:
        module = Module(
            slug=package.slug, published=publish, created_by_id=actor.id if actor else None
        )
        module.bank = QuestionBank(slug=package.slug, title=package.title["en"][:200])
        db.session.add(module)
        db.session.flush()
    current = module.current_version
    if current is not None and current.content_hash == package.content_hash:
        return ImportResult(package.slug, "unchanged", current.number, 0)
    assert module.bank is not None
    question_versions, changed = _store_questions(module.bank, package)
    version = _store_version(module, package, question_versions, actor)
    module.current_version = version
    db.session.flush()
    return ImportResult(package.slug, "created" if created else "updated", version.number, changed)


def _store_questions(
    bank: QuestionBank, package: pkg.ModulePackage
) -> tuple[list[QuestionVersion], int]:
    existing = {q.key: q for q in bank.questions}
    versions: list[QuestionVersion] = []
    changed = 0
    for data in package.questions:
        digest = pkg.question_hash(data)
        question = existing.get(data["id"])
        if question is None:
            question = Question(key=data["id"])
            bank.questions.append(question)
        current = question.current_version
        if current is None or current.content_hash != digest:
            current = QuestionVersion(
                number=(current.number + 1) if current else 1,
                type=data["type"],
                outcome=data.get("outcome"),
                points=_points(data),
                data=data,
                content_hash=digest,
            )
            question.versions.append(current)
            question.current_version = current
            changed += 1
        versions.append(current)
    db.session.flush()
    return versions, changed


def _points(data: dict) -> float:
    from ilms.questions.types import get_type

    return float(get_type(data["type"]).max_points(data))


def _store_version(
    module: Module,
    package: pkg.ModulePackage,
    question_versions: list[QuestionVersion],
    actor: User | None,
) -> ModuleVersion:
    number = (
        db.session.scalar(
            select(func.max(ModuleVersion.number)).where(ModuleVersion.module_id == module.id)
        )
        or 0
    ) + 1
    # Images first: storing one queries the assets, and that query's autoflush must not meet a
    # new version that its module already lists but the session does not hold yet.
    images = [
        {name: store_asset(name, data) for name, data in lesson.images.items()}
        for lesson in package.lessons
    ]
    version = ModuleVersion(
        module=module,
        number=number,
        package_version=package.version,
        content_hash=package.content_hash,
        languages=list(package.languages),
        audience=package.audience,
        estimated_minutes=package.estimated_minutes,
        title=package.title,
        summary=package.summary,
        outcomes=[{"id": o.id, "frame": o.frame, "text": o.text} for o in package.outcomes],
        forms={form_id: form.as_table() for form_id, form in package.forms.items()},
        tests=dict(package.tests),
        created_by_id=actor.id if actor else None,
    )
    version.lessons = [
        Lesson(
            position=lesson.position,
            key=lesson.id,
            title=lesson.title,
            body=lesson.body,
            images=lesson_images,
        )
        for lesson, lesson_images in zip(package.lessons, images, strict=True)
    ]
    db.session.add(version)
    db.session.flush()
    db.session.add_all(
        ModuleVersionQuestion(module_version_id=version.id, question_version_id=qv.id, position=i)
        for i, qv in enumerate(question_versions)
    )
    return version


def store_asset(name: str, data: bytes) -> str:
    """Keep an image once by its content's hash and return the hash."""
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type not in IMAGE_TYPES:
        raise DomainError(_("%(name)s is not a PNG, JPEG, GIF or WebP image.", name=name))
    digest = hashlib.sha256(data).hexdigest()
    if db.session.scalar(select(Asset.id).where(Asset.sha256 == digest)) is None:
        db.session.add(Asset(sha256=digest, content_type=content_type, size=len(data), data=data))
    return digest


def import_folder(
    root: Path, actor: User | None = None, publish: bool = True
) -> tuple[list[ImportResult], list[pkg.Problem]]:
    """Import every valid module under ``root``; an invalid module changes nothing."""
    packages, problems = pkg.read_all(root)
    results = [import_package(package, actor, publish) for package in packages]
    return results, problems


# --- export ---------------------------------------------------------------------------------


def package_from_version(version: ModuleVersion) -> pkg.ModulePackage:
    """The module version as a package, ready to be written in the plain-text format."""
    assets = _assets_for(version)
    return pkg.ModulePackage(
        slug=version.module.slug,
        version=version.package_version,
        languages=tuple(version.languages),
        audience=version.audience,
        estimated_minutes=version.estimated_minutes,
        title=dict(version.title),
        summary=dict(version.summary),
        outcomes=[pkg.Outcome(o["id"], o["frame"], dict(o["text"])) for o in version.outcomes],
        lessons=[
            pkg.Lesson(
                id=lesson.key,
                position=lesson.position,
                title=dict(lesson.title),
                body=dict(lesson.body),
                images={name: assets[digest] for name, digest in lesson.images.items()},
            )
            for lesson in version.lessons
        ],
        questions=[dict(qv.data) for qv in version.question_versions],
        forms={form_id: _form(form_id, table) for form_id, table in version.forms.items()},
        tests=dict(version.tests),
    )


def _form(form_id: str, table: dict) -> pkg.Form:
    return pkg.Form(
        id=form_id,
        items=tuple(table.get("items", ())),
        per_outcome=table.get("per_outcome"),
        exclude_form=table.get("exclude_form"),
    )


def _assets_for(version: ModuleVersion) -> dict[str, bytes]:
    digests = {d for lesson in version.lessons for d in lesson.images.values()}
    if not digests:
        return {}
    rows = db.session.execute(select(Asset.sha256, Asset.data).where(Asset.sha256.in_(digests)))
    return {key: value for key, value in rows}


def export_module(slug: str, out: Path) -> Path:
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    if module is None or module.current_version is None:
        raise DomainError(_("There is no module %(slug)s.", slug=slug))
    folder = out / slug if out.name != slug else out
    folder.mkdir(parents=True, exist_ok=True)
    pkg.write_package(package_from_version(module.current_version), folder)
    return folder
