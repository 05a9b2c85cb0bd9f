"""Editing modules on the web.

Every change starts from the package of the module's current version, is written in the plain-text
format and read back by the same reader as a file import, and is stored through ``import_package``:
a web edit and a file import of the same content give the same version. While a module is a draft
(unpublished) it may still lack outcomes, lessons, questions or forms; everything it has must be
valid, and publishing needs the complete module.
"""

from __future__ import annotations

import hashlib
import io
import re
import tomllib
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ilms.accounts.models import User
from ilms.authoring import package as pkg
from ilms.authoring.models import Asset, Module, QuestionBank
from ilms.authoring.services import ImportResult, import_package, package_from_version
from ilms.errors import Conflict, DomainError, NotFound
from ilms.extensions import db
from ilms.questions.types import validate_question

#: The largest lesson image a person may upload.
IMAGE_MAX_BYTES = 2 * 1024 * 1024
#: The file types a lesson image may have, recognised by their first bytes.
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)
#: The longest Markdown text the preview renders.
PREVIEW_LIMIT = 200_000

#: Where a problem is in the module, as a path into its files' data: ``("title", "ru")``,
#: ``("questions", 2, "options", 0, "feedback")``, ``("lessons", "keywords", "body", "ru")``.
Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """One problem with an edit: where it is (None when the file gives no place) and what to fix."""

    location: Location | None
    message: str


class InvalidEdit(DomainError):
    """The edit would make the module invalid; nothing was saved.

    ``subject`` is the location of what the edit changed (``("questions", 3)``), so that a page can
    show the issues inside it next to its fields and the others above the form.
    """

    def __init__(self, issues: list[Issue], subject: Location = ()) -> None:
        super().__init__("\n".join(issue.message for issue in issues))
        self.issues = issues
        self.subject = subject


@dataclass(frozen=True)
class LessonImage:
    """An uploaded image for a lesson, with its alternative text in each language of the module."""

    filename: str
    data: bytes
    alt: Mapping[str, str]


# --- Reading and checking --------------------------------------------------------------------


def module_by_slug(slug: str) -> Module:
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    if module is None or module.current_version is None:
        raise NotFound(_("There is no module %(slug)s.", slug=slug))
    return module


def current_package(module: Module) -> pkg.ModulePackage:
    """The module's current version as a package, ready to be changed."""
    assert module.current_version is not None
    return package_from_version(module.current_version)


def check(package: pkg.ModulePackage, *, complete: bool) -> tuple[pkg.ModulePackage, list[Issue]]:
    """Check ``package`` as the importer would; the package read back, and the issues.

    With ``complete`` False (a draft), a module without outcomes, lessons, questions or forms
    yet passes; every other rule applies.
    """
    files = pkg.render_package(package)
    with TemporaryDirectory() as folder:
        # A fixed folder name: the slug is not checked yet and must not choose the path.
        path = Path(folder) / "module"
        pkg.write_package(package, path)
        checked, problems = pkg.check_package(path)
    locate = _Locator(files, package)
    # The same problem found by two checks is shown once.
    issues = list(dict.fromkeys(Issue(locate(problem), problem.message) for problem in problems))
    if not complete:
        missing = _may_be_missing(package)
        issues = [issue for issue in issues if issue.location not in missing]
    return checked, issues


def blockers(module: Module) -> list[Issue]:
    """What keeps the module's current version from being published or exported.

    What a draft still lacks is said in words for the web page; other problems as the reader says them.
    """
    package = current_package(module)
    missing = _may_be_missing(package)
    lacking = {
        ("outcomes",): _("Add at least one outcome."),
        ("lessons",): _("Add at least one lesson."),
        ("questions",): _("Add at least one question."),
        ("forms",): _("Add a form, and choose the forms of the pre-test and the post-test."),
    }
    found = [Issue(location, text) for location, text in lacking.items() if location in missing]
    issues = check(package, complete=True)[1]
    return found + [issue for issue in issues if issue.location not in missing]


def _may_be_missing(package: pkg.ModulePackage) -> set[Location | None]:
    allowed: set[Location | None] = set()
    if not package.lessons:
        allowed.add(("lessons",))
    if not package.questions:
        allowed.add(("questions",))
        # Without questions, no question can name an outcome that is not there.
        if not package.outcomes:
            allowed.add(("outcomes",))
    if not package.forms:
        allowed.update({("forms",), ("tests",)})
    return allowed


class _Locator:
    """Turns a problem's file and line into a location in the module's data."""

    def __init__(self, files: Mapping[str, bytes], package: pkg.ModulePackage) -> None:
        self.lines = {
            name: _line_locations(files[name].decode("utf-8"))
            for name in (pkg.MODULE_FILE, pkg.BANK_FILE)
        }
        self.package = package
        self.lessons: dict[str, tuple[pkg.Lesson, str]] = {
            f"{pkg.LESSONS_DIR}/{lesson.file_name(code)}": (lesson, code)
            for lesson in package.lessons
            for code in package.languages
        }

    def __call__(self, problem: pkg.Problem) -> Location | None:
        if problem.file in self.lines:
            location = self.lines[problem.file].get(problem.line) if problem.line else None
            return self._within_question(location, problem.message)
        if problem.file == pkg.LESSONS_DIR:
            return ("lessons",)
        if problem.file not in self.lessons:
            return None
        lesson, code = self.lessons[problem.file]
        # Line 1 holds the title; a problem there is about the title only when it is missing.
        on_title = problem.line == 1 and not lesson.title.get(code, "").strip()
        return ("lessons", lesson.id, "title" if on_title else "body", code)

    def _within_question(self, location: Location | None, message: str) -> Location | None:
        """A question's own validator knows the exact place (``text.ru``) where a line cannot
        tell apart the languages written on it: ask it, as the reader did."""
        if not location or location[0] != "questions" or len(location) < 2:
            return location
        index = location[1]
        if not isinstance(index, int) or index >= len(self.package.questions):
            return location
        question = self.package.questions[index]
        for problem in validate_question(question, list(self.package.languages)):
            exact = ("questions", index, *_path_parts(problem.path))
            if message.endswith(problem.message) and exact[: len(location)] == location:
                return exact
        return location


def _path_parts(path: str) -> Location:
    """``options[2].feedback.ru`` → ``("options", 2, "feedback", "ru")``."""
    return tuple(
        int(index) if index else name for index, name in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)
    )


def _line_locations(text: str) -> dict[int, Location]:
    """Line → the deepest location written on it.

    The header of a list's first table (``[[questions.options]]``) is also where the reader
    reports problems of the whole list ("exactly one option must be correct"): that line
    stands for the list.
    """
    locator = pkg.TomlLocator(text)
    found: dict[int, Location] = {}
    for location in _locations(tomllib.loads(text), ()):
        line = locator.lookup(location)
        if line is None:
            continue
        known = found.get(line, ())
        first_of_list = location[:-1] == known and location[-1] == 0
        if len(location) >= len(known) and not first_of_list:
            found[line] = location
    return found


def _locations(value: Any, prefix: Location) -> Iterator[Location]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        yield (*prefix, key)
        if isinstance(item, dict | list):
            yield from _locations(item, (*prefix, key))


# --- Saving ----------------------------------------------------------------------------------


def _check_base(module: Module, base: int | None) -> None:
    """Refuse an edit made on a version that someone else has replaced since."""
    current = module.current_version
    assert current is not None
    if base is not None and base != current.number:
        raise Conflict(
            _(
                "Someone else saved this module while you were editing it; it is now at "
                "version %(number)d. Your input is still in the form: copy what you need, "
                "then reload the page.",
                number=current.number,
            )
        )


def save(
    module: Module,
    package: pkg.ModulePackage,
    actor: User,
    base: int | None,
    subject: Location = (),
) -> ImportResult:
    """Store the changed package as the module's new version, if it is valid."""
    _check_base(module, base)
    checked, issues = check(package, complete=module.published)
    if issues:
        raise InvalidEdit(issues, subject)
    return _store(checked, actor)


def _store(package: pkg.ModulePackage, actor: User) -> ImportResult:
    """Import a checked package; two saves of one module at the same moment cannot both win."""
    try:
        with db.session.begin_nested():
            return import_package(package, actor, publish=False)
    except IntegrityError as error:
        raise Conflict(
            _("Someone else saved this module at the same moment. Reload the page and save again.")
        ) from error


def _slug_free(slug: str) -> None:
    taken = db.session.scalar(select(Module.id).where(Module.slug == slug)) or db.session.scalar(
        select(QuestionBank.id).where(QuestionBank.slug == slug)
    )
    if taken:
        raise DomainError(
            _("The name %(slug)s is already used; choose another.", slug=slug), field="slug"
        )


def create_module(
    actor: User,
    *,
    slug: str,
    languages: list[str],
    audience: str,
    estimated_minutes: int | str,
    title: dict[str, str],
    summary: dict[str, str],
) -> Module:
    """A new draft module with its metadata; outcomes, lessons, questions and forms come later."""
    slug = slug.strip()
    if slug:
        _slug_free(slug)
    package = pkg.ModulePackage(
        slug=slug,
        version=1,
        languages=tuple(languages),
        audience=audience,
        estimated_minutes=estimated_minutes,  # type: ignore[arg-type]  (the reader says if it is not a number)
        title=title,
        summary=summary,
        outcomes=[],
        lessons=[],
        questions=[],
        forms={},
        tests={},
    )
    checked, issues = check(package, complete=False)
    if issues:
        raise InvalidEdit(issues)
    _store(checked, actor)
    return module_by_slug(checked.slug)


def duplicate_module(module: Module, actor: User, slug: str) -> Module:
    """A new draft module with the content of ``module``'s current version."""
    slug = slug.strip()
    if slug:
        _slug_free(slug)
    package = replace(current_package(module), slug=slug)
    checked, issues = check(package, complete=False)
    if issues:
        raise InvalidEdit(issues)
    _store(checked, actor)
    return module_by_slug(checked.slug)


def publish(module: Module) -> None:
    """Let students see the module; it must be complete and valid."""
    issues = blockers(module)
    if issues:
        raise InvalidEdit(issues)
    module.published = True


def unpublish(module: Module) -> None:
    """Hide the module from students; cohorts keep it, and nobody can start its quizzes."""
    module.published = False


def export_zip(module: Module) -> bytes:
    """The module in the plain-text format, as a zip of one folder named after its slug."""
    issues = blockers(module)
    if issues:
        raise InvalidEdit(issues)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative, data in sorted(pkg.render_package(current_package(module)).items()):
            # A fixed date: exporting the same content twice gives the same bytes.
            info = zipfile.ZipInfo(f"{module.slug}/{relative}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# --- Metadata and outcomes -------------------------------------------------------------------


def update_settings(
    module: Module,
    actor: User,
    base: int | None,
    *,
    version: int | str,
    languages: list[str],
    audience: str,
    estimated_minutes: int | str,
    title: dict[str, str],
    summary: dict[str, str],
) -> ImportResult:
    package = current_package(module)
    removed = set(package.languages) - set(languages)
    if removed:
        package = _without_languages(package, removed)
    package = replace(
        package,
        version=version,  # type: ignore[arg-type]
        languages=tuple(languages),
        audience=audience,
        estimated_minutes=estimated_minutes,  # type: ignore[arg-type]
        title=title,
        summary=summary,
    )
    return save(module, package, actor, base)


def _without_languages(package: pkg.ModulePackage, removed: set[str]) -> pkg.ModulePackage:
    """The package with every text in the ``removed`` languages taken out."""
    return replace(
        package,
        outcomes=[replace(o, text=_drop(o.text, removed)) for o in package.outcomes],
        lessons=[
            replace(lesson, title=_drop(lesson.title, removed), body=_drop(lesson.body, removed))
            for lesson in package.lessons
        ],
        questions=[_drop(question, removed) for question in package.questions],
    )


def _drop(value: Any, removed: set[str]) -> Any:
    # In the format, a table whose keys are all language codes is a localised text.
    if isinstance(value, dict):
        if value and set(value) <= set(pkg.SUPPORTED_LANGUAGES):
            return {code: text for code, text in value.items() if code not in removed}
        return {key: _drop(item, removed) for key, item in value.items()}
    if isinstance(value, list):
        return [_drop(item, removed) for item in value]
    return value


def save_outcome(
    module: Module,
    actor: User,
    base: int | None,
    outcome_id: str | None,
    *,
    new_id: str,
    frame: str,
    text: dict[str, str],
) -> ImportResult:
    """Change the outcome ``outcome_id``, or add one when it is None."""
    package = current_package(module)
    outcomes = list(package.outcomes)
    if outcome_id is None:
        new_id = new_id.strip() or _fresh_id({o.id for o in outcomes}, "outcome-")
        outcomes.append(pkg.Outcome(new_id, frame, text))
        index = len(outcomes) - 1
    else:
        index = _index_of([o.id for o in outcomes], outcome_id, _("There is no such outcome."))
        outcomes[index] = pkg.Outcome(outcome_id, frame, text)
    return save(module, replace(package, outcomes=outcomes), actor, base, ("outcomes", index))


def delete_outcome(module: Module, actor: User, outcome_id: str) -> ImportResult:
    package = current_package(module)
    ids = [o.id for o in package.outcomes]
    index = _index_of(ids, outcome_id, _("There is no such outcome."))
    outcomes = [o for i, o in enumerate(package.outcomes) if i != index]
    return save(module, replace(package, outcomes=outcomes), actor, None)


# --- Lessons ---------------------------------------------------------------------------------


def save_lesson(
    module: Module,
    actor: User,
    base: int | None,
    key: str | None,
    *,
    title: dict[str, str],
    body: dict[str, str],
    image: LessonImage | None = None,
) -> tuple[ImportResult, str]:
    """Change the lesson ``key``, or add one at the end when it is None; ``image`` is appended.

    Returns the result and the lesson's id (a new lesson's is made from its English title).
    """
    package = current_package(module)
    lessons = list(package.lessons)
    pool = {name: data for lesson in lessons for name, data in lesson.images.items()}
    body = {code: text.replace("\r\n", "\n") for code, text in body.items()}
    if image is not None:
        name, data = _image_file(image)
        pool[name] = data
        body = {
            code: _with_image(text, name, image.alt.get(code, "")) for code, text in body.items()
        }
    if key is None:
        key = _lesson_key(title.get("en", ""), {lesson.id for lesson in lessons})
        position = max((lesson.position for lesson in lessons), default=0) + 1
        lessons.append(pkg.Lesson(key, position, title, body, pool))
    else:
        index = _index_of([lesson.id for lesson in lessons], key, _("There is no such lesson."))
        lessons[index] = pkg.Lesson(key, lessons[index].position, title, body, pool)
    # The reader keeps, for each lesson, only the images its text shows.
    result = save(module, replace(package, lessons=lessons), actor, base, ("lessons", key))
    return result, key


def move_lesson(module: Module, actor: User, key: str, offset: int) -> ImportResult:
    """Move a lesson ``offset`` places (-1: earlier, 1: later); the lessons are renumbered."""
    package = current_package(module)
    lessons = list(package.lessons)
    index = _index_of([lesson.id for lesson in lessons], key, _("There is no such lesson."))
    target = index + offset
    if not 0 <= target < len(lessons):
        raise DomainError(_("The lesson cannot move further."))
    lessons[index], lessons[target] = lessons[target], lessons[index]
    return save(module, replace(package, lessons=_renumbered(lessons)), actor, None)


def delete_lesson(module: Module, actor: User, key: str) -> ImportResult:
    package = current_package(module)
    index = _index_of([lesson.id for lesson in package.lessons], key, _("There is no such lesson."))
    lessons = [lesson for i, lesson in enumerate(package.lessons) if i != index]
    return save(module, replace(package, lessons=_renumbered(lessons)), actor, None)


def _renumbered(lessons: list[pkg.Lesson]) -> list[pkg.Lesson]:
    return [replace(lesson, position=number) for number, lesson in enumerate(lessons, 1)]


def _lesson_key(title: str, used: set[str]) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:40].strip("-")
    return _fresh_id(used, f"{stem}-" if stem else "lesson-", first=stem or None)


def _image_file(image: LessonImage) -> tuple[str, bytes]:
    """A safe, unique file name for an uploaded image, checked to be a PNG, JPEG, GIF or WebP."""
    if len(image.data) > IMAGE_MAX_BYTES:
        raise DomainError(
            _(
                "The image is larger than %(size)d MB; make it smaller.",
                size=IMAGE_MAX_BYTES // (1024 * 1024),
            ),
            field="image",
        )
    suffix = _image_suffix(image.data)
    if suffix is None:
        raise DomainError(_("Upload a PNG, JPEG, GIF or WebP image."), field="image")
    ascii_name = unicodedata.normalize("NFKD", Path(image.filename).stem)
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.encode("ascii", "ignore").decode().lower())
    stem = stem.strip("-")[:40].strip("-") or "image"
    digest = hashlib.sha256(image.data).hexdigest()[:12]
    return f"{stem}-{digest}.{suffix}", image.data


def _image_suffix(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((suffix for magic, suffix in _IMAGE_SIGNATURES if data.startswith(magic)), None)


def _with_image(text: str, name: str, alt: str) -> str:
    description = re.sub(r"([\\\[\]])", r"\\\1", " ".join(alt.split()))
    return f"{text.rstrip()}\n\n![{description}]({pkg.IMAGES_DIR}/{name})\n"


def lesson_image(module: Module, name: str) -> Asset:
    """An image that a lesson of the module's current version shows."""
    assert module.current_version is not None
    digest = next(
        (lesson.images[name] for lesson in module.current_version.lessons if name in lesson.images),
        None,
    )
    asset = db.session.scalar(select(Asset).where(Asset.sha256 == digest)) if digest else None
    if asset is None:
        raise NotFound(_("There is no such image."))
    return asset


# --- Questions -------------------------------------------------------------------------------


def save_question(
    module: Module, actor: User, base: int | None, key: str | None, question: dict[str, Any]
) -> tuple[ImportResult, str]:
    """Change the question ``key`` (its id stays), or add ``question`` to the end of the bank.

    A question without an id gets one from its outcome. Returns the result and the question's id.
    """
    package = current_package(module)
    questions = list(package.questions)
    if key is None:
        if not str(question.get("id") or "").strip():
            prefix = f"{question.get('outcome') or 'question'}-"
            question = {**question, "id": _fresh_id({str(q["id"]) for q in questions}, prefix)}
        questions.append(question)
        index = len(questions) - 1
    else:
        index = _index_of([q["id"] for q in questions], key, _("There is no such question."))
        questions[index] = {**question, "id": key}
    result = save(module, replace(package, questions=questions), actor, base, ("questions", index))
    return result, str(questions[index]["id"])


def delete_question(module: Module, actor: User, key: str) -> ImportResult:
    package = current_package(module)
    index = _index_of([q["id"] for q in package.questions], key, _("There is no such question."))
    questions = [q for i, q in enumerate(package.questions) if i != index]
    return save(module, replace(package, questions=questions), actor, None)


def bank_question(module: Module, key: str) -> dict[str, Any]:
    """A question of the module's current version, as in bank.toml."""
    question = current_package(module).question(key)
    if question is None:
        raise NotFound(_("There is no such question."))
    return question


# --- Forms and tests -------------------------------------------------------------------------


def save_form(
    module: Module,
    actor: User,
    base: int | None,
    form_id: str | None,
    *,
    new_id: str,
    items: list[str] | None,
    per_outcome: int | str | None,
    exclude_form: str | None,
) -> ImportResult:
    """Change the form ``form_id`` or add one: a list of ``items``, or a rule of ``per_outcome``.

    The first form of a module becomes its pre-test and post-test until others are chosen.
    """
    package = current_package(module)
    if form_id is None:
        form_id = new_id.strip() or _next_form_id(set(package.forms))
        if form_id in package.forms:
            raise DomainError(
                _("There is already a form %(id)s; choose another name.", id=form_id),
                field="form_id",
            )
    elif form_id not in package.forms:
        raise NotFound(_("There is no such form."))
    form = (
        pkg.Form(form_id, items=tuple(items or ()))
        if per_outcome is None
        else pkg.Form(form_id, per_outcome=per_outcome, exclude_form=exclude_form or None)  # type: ignore[arg-type]
    )
    forms = {**package.forms, form_id: form}
    tests = dict(package.tests) or {"pre": form_id, "post": form_id}
    changed = replace(package, forms=forms, tests=tests)
    return save(module, changed, actor, base, ("forms", form_id))


def delete_form(module: Module, actor: User, form_id: str) -> ImportResult:
    package = current_package(module)
    if form_id not in package.forms:
        raise NotFound(_("There is no such form."))
    forms = {key: form for key, form in package.forms.items() if key != form_id}
    tests = dict(package.tests) if forms else {}
    return save(module, replace(package, forms=forms, tests=tests), actor, None)


def save_tests(module: Module, actor: User, base: int | None, pre: str, post: str) -> ImportResult:
    """Choose the forms of the pre-test and the post-test (the same form, or two parallel ones)."""
    package = replace(current_package(module), tests={"pre": pre, "post": post})
    return save(module, package, actor, base, ("tests",))


def _next_form_id(used: set[str]) -> str:
    return next(
        (letter for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if letter not in used),
        _fresh_id(used, "form-"),
    )


# --- Helpers ---------------------------------------------------------------------------------


def _index_of(ids: list[Any], wanted: str, missing: str) -> int:
    try:
        return ids.index(wanted)
    except ValueError:
        raise NotFound(missing) from None


def _fresh_id(used: set[str], prefix: str, first: str | None = None) -> str:
    """``first`` if it is free, else the first of ``prefix1``, ``prefix2`` ... that is."""
    if first is not None and first not in used:
        return first
    number = 1
    while f"{prefix}{number}" in used:
        number += 1
    return f"{prefix}{number}"
