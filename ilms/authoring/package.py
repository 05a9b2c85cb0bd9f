"""Modules as plain-text packages: read and validate a module folder, resolve its forms, write it back.

The format is described in docs/module-format.md. Nothing here touches the database.
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import json
import math
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from flask_babel import gettext as _
from flask_babel import ngettext
from markdown_it import MarkdownIt

if TYPE_CHECKING:
    from ilms.questions.types import QuestionType

SUPPORTED_LANGUAGES = ("en", "ru", "kk")
FRAMES = (
    "authority-is-constructed-and-contextual",
    "information-creation-as-a-process",
    "information-has-value",
    "research-as-inquiry",
    "scholarship-as-conversation",
    "searching-as-strategic-exploration",
)
AUDIENCES = ("undergraduate", "graduate", "faculty", "all")
PHASES = ("pre", "post")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")

MODULE_FILE = "module.toml"
BANK_FILE = "bank.toml"
LESSONS_DIR = "lessons"
IMAGES_DIR = "images"

MODULE_KEYS = (
    "slug",
    "version",
    "languages",
    "audience",
    "estimated_minutes",
    "title",
    "summary",
    "outcomes",
    "forms",
    "tests",
)
OUTCOME_KEYS = ("id", "frame", "text")
FORM_KEYS = ("items", "per_outcome", "exclude_form")

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_FORM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_LESSON_FILE = re.compile(r"(\d+)-([a-z0-9][a-z0-9_-]*)\.([A-Za-z_-]+)\.md\Z")
_LESSON_TITLE = re.compile(r"#[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*\Z")
_IMAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*\Z")
_MARKDOWN = MarkdownIt("commonmark").enable("table")


def language_name(code: str) -> str:
    """The language's English name, translated (used in messages: "has no Russian feedback")."""
    names = {"en": _("English"), "ru": _("Russian"), "kk": _("Kazakh")}
    return names.get(code, code)


def frame_name(frame: str) -> str:
    """The ACRL frame's title, translated, for a ``frame`` value of the format."""
    names = {
        "authority-is-constructed-and-contextual": _("Authority Is Constructed and Contextual"),
        "information-creation-as-a-process": _("Information Creation as a Process"),
        "information-has-value": _("Information Has Value"),
        "research-as-inquiry": _("Research as Inquiry"),
        "scholarship-as-conversation": _("Scholarship as Conversation"),
        "searching-as-strategic-exploration": _("Searching as Strategic Exploration"),
    }
    return names.get(frame, frame)


# --- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a module: the file (relative), the line if known, and what to fix."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"

    def under(self, folder: str) -> Problem:
        """The same problem with its file named from ``folder`` (``bank.toml`` → ``foo/bank.toml``)."""
        return Problem(f"{folder}/{self.file}", self.line, self.message)


class PackageError(Exception):
    """A module folder is not valid; ``problems`` lists everything found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


class FormError(ValueError):
    """A form cannot be resolved from the bank (too few items, or forms that exclude each other)."""

    def __init__(self, form_id: str, message: str) -> None:
        super().__init__(message)
        self.form_id = form_id
        self.message = message


def _in(where: str | None, detail: str) -> str:
    return detail if where is None else _("%(where)s: %(detail)s", where=where, detail=detail)


# --- the package ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    id: str
    frame: str
    text: dict[str, str]


@dataclass(frozen=True)
class Lesson:
    id: str
    position: int
    title: dict[str, str]
    #: Markdown after the title line, by language.
    body: dict[str, str]
    #: The images the lesson shows: file name in lessons/images → content.
    images: dict[str, bytes] = field(default_factory=dict)

    def file_name(self, language: str) -> str:
        return f"{self.position:02d}-{self.id}.{language}.md"


@dataclass(frozen=True)
class Form:
    """Either a list of question ids, or a rule: ``per_outcome`` items for every outcome."""

    id: str
    items: tuple[str, ...] = ()
    per_outcome: int | None = None
    exclude_form: str | None = None

    @property
    def is_rule(self) -> bool:
        return self.per_outcome is not None

    def as_table(self) -> dict[str, Any]:
        if not self.is_rule:
            return {"items": list(self.items)}
        table: dict[str, Any] = {"per_outcome": self.per_outcome}
        if self.exclude_form is not None:
            table["exclude_form"] = self.exclude_form
        return table


@dataclass
class ModulePackage:
    """A module as read from its folder. ``questions`` are the dicts of bank.toml, unchanged."""

    slug: str
    version: int
    languages: tuple[str, ...]
    audience: str
    estimated_minutes: int
    title: dict[str, str]
    summary: dict[str, str]
    outcomes: list[Outcome]
    lessons: list[Lesson]
    questions: list[dict[str, Any]]
    forms: dict[str, Form]
    #: Phase (``pre`` or ``post``) → form id.
    tests: dict[str, str]

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical content: the same for the same module however its files are laid out."""
        return _digest(_canonical_content(self))

    @property
    def question_hashes(self) -> dict[str, str]:
        """Question id → SHA-256 of that question, so an import can version only the questions that changed."""
        return {str(question["id"]): question_hash(question) for question in self.questions}

    @property
    def frames(self) -> set[str]:
        return {outcome.frame for outcome in self.outcomes}

    def outcome(self, outcome_id: str) -> Outcome | None:
        return next((outcome for outcome in self.outcomes if outcome.id == outcome_id), None)

    def question(self, question_id: str) -> dict[str, Any] | None:
        return next((q for q in self.questions if q.get("id") == question_id), None)


def question_hash(question: Mapping[str, Any]) -> str:
    return _digest(question)


def _digest(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical_content(package: ModulePackage) -> dict[str, Any]:
    # Images enter by their own hash so that the JSON stays text.
    lessons = [
        {
            "id": lesson.id,
            "position": lesson.position,
            "title": lesson.title,
            "body": lesson.body,
            "images": {
                name: hashlib.sha256(data).hexdigest() for name, data in lesson.images.items()
            },
        }
        for lesson in package.lessons
    ]
    return {"module": _module_document(package), "questions": package.questions, "lessons": lessons}


# --- forms ------------------------------------------------------------------------------------


def resolve_form(package: ModulePackage, form_id: str, seed: str | int) -> list[str]:
    """The question ids of a form, in bank order.

    A list form is returned as written. A rule form takes, for every outcome, ``per_outcome``
    questions of that outcome (leaving out the items of ``exclude_form``, resolved with the same
    seed): the candidates are ranked by SHA-256 of ``"{seed}:{form_id}:{question_id}"`` and the
    first ones are taken. The same bank, form and seed always give the same items, and adding a
    question to the bank changes a selection only where the new question ranks in.
    """
    return _resolve(package, form_id, str(seed), ())


def resolve_tests(package: ModulePackage, seed: str | int) -> dict[str, list[str]]:
    """Phase → question ids of the pre-test and post-test forms."""
    return {phase: resolve_form(package, form_id, seed) for phase, form_id in package.tests.items()}


def _resolve(package: ModulePackage, form_id: str, seed: str, trail: tuple[str, ...]) -> list[str]:
    if form_id in trail:
        loop = " → ".join((*trail, form_id))
        raise FormError(form_id, _("exclude_form makes a loop: %(loop)s", loop=loop))
    form = package.forms.get(form_id)
    if form is None:
        raise FormError(form_id, _('there is no form "%(id)s"', id=form_id))
    if not form.is_rule:
        return list(form.items)
    excluded: set[str] = set()
    if form.exclude_form is not None:
        excluded = set(_resolve(package, form.exclude_form, seed, (*trail, form_id)))
    chosen: set[str] = set()
    for outcome in package.outcomes:
        chosen.update(_draw(package, form, outcome.id, excluded, seed))
    return [str(q["id"]) for q in package.questions if q.get("id") in chosen]


def _draw(
    package: ModulePackage, form: Form, outcome_id: str, excluded: set[str], seed: str
) -> list[str]:
    wanted = form.per_outcome or 0
    candidates = [
        str(q["id"])
        for q in package.questions
        if q.get("outcome") == outcome_id and q.get("id") not in excluded
    ]
    if len(candidates) < wanted:
        message = ngettext(
            'outcome "%(outcome)s" has %(num)d question available but the rule asks for '
            "%(wanted)s (add questions for this outcome to bank.toml, or lower per_outcome)",
            'outcome "%(outcome)s" has %(num)d questions available but the rule asks for '
            "%(wanted)s (add questions for this outcome to bank.toml, or lower per_outcome)",
            len(candidates),
            outcome=outcome_id,
            wanted=wanted,
        )
        raise FormError(form.id, message)
    ranked = sorted(candidates, key=lambda qid: _rank(seed, form.id, qid))
    return ranked[:wanted]


def _rank(seed: str, form_id: str, question_id: str) -> str:
    return hashlib.sha256(f"{seed}:{form_id}:{question_id}".encode()).hexdigest()


# --- finding lines in TOML --------------------------------------------------------------------

_BARE_KEY = r"[A-Za-z0-9_-]+"
_KEY_PART = rf"""(?:{_BARE_KEY}|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED_KEY = rf"{_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART})*"
_ARRAY_HEADER = re.compile(rf"[ \t]*\[\[[ \t]*({_DOTTED_KEY})[ \t]*\]\]")
_TABLE_HEADER = re.compile(rf"[ \t]*\[[ \t]*({_DOTTED_KEY})[ \t]*\]")
_KEY_LINE = re.compile(rf"[ \t]*({_DOTTED_KEY})[ \t]*=")

TomlPath = tuple[str | int, ...]


def _key_parts(dotted: str) -> tuple[str, ...]:
    # Parsing ``<key> = 0`` lets tomllib unquote the key exactly as it did for the data.
    parts = re.findall(_KEY_PART, dotted)
    return tuple(next(iter(tomllib.loads(f"{part} = 0"))) for part in parts)


class TomlLocator:
    """Line numbers of the tables and keys of a TOML text, by their path in the parsed data.

    ``("questions", 2, "options", 0, "feedback")`` is the ``feedback =`` line of the first
    ``[[questions.options]]`` of the third ``[[questions]]``. The text must be valid TOML.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[TomlPath, int] = {}
        #: Array-of-tables name → path of its last element, to resolve later headers.
        self._arrays: dict[tuple[str, ...], TomlPath] = {}
        self._counts: Counter[TomlPath] = Counter()
        self._scan(text)

    def lookup(self, path: TomlPath) -> int | None:
        """The line of exactly ``path``, or None."""
        return self._lines.get(tuple(path))

    def line(self, path: TomlPath) -> int | None:
        """The line of ``path``, or of the nearest enclosing table or key that has one."""
        for end in range(len(path), 0, -1):
            found = self._lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def _scan(self, text: str) -> None:
        table: TomlPath = ()
        state = _LexState()
        for number, line in enumerate(text.split("\n"), start=1):
            start = 0
            if state.at_statement():
                table, start = self._statement(line, number, table)
            state.feed(line, start)

    def _statement(self, line: str, number: int, table: TomlPath) -> tuple[TomlPath, int]:
        if match := _ARRAY_HEADER.match(line):
            return self._array_element(_key_parts(match[1]), number), match.end()
        if match := _TABLE_HEADER.match(line):
            path = self._resolve(_key_parts(match[1]))
            self._lines.setdefault(path, number)
            return path, match.end()
        if match := _KEY_LINE.match(line):
            parts = _key_parts(match[1])
            for end in range(1, len(parts) + 1):
                self._lines.setdefault((*table, *parts[:end]), number)
            return table, match.end()
        return table, 0

    def _array_element(self, name: tuple[str, ...], number: int) -> TomlPath:
        parent = self._resolve(name[:-1])
        key = (*parent, name[-1])
        path = (*key, self._counts[key])
        self._counts[key] += 1
        self._lines.setdefault(key, number)
        self._lines[path] = number
        # A new element starts with none of the previous element's nested arrays.
        for other in [n for n in self._arrays if n[: len(name)] == name and n != name]:
            del self._arrays[other]
        self._arrays[name] = path
        return path

    def _resolve(self, name: tuple[str, ...]) -> TomlPath:
        path: TomlPath = ()
        for end in range(1, len(name) + 1):
            path = self._arrays.get(name[:end], (*path, name[end - 1]))
        return path


class _LexState:
    """Where the TOML lexer is between lines: inside a multi-line string or an open array."""

    def __init__(self) -> None:
        self.string: str | None = None
        self.depth = 0

    def at_statement(self) -> bool:
        return self.string is None and self.depth == 0

    def feed(self, line: str, start: int) -> None:
        index = start
        while index < len(line):
            index = self._step(line, index)

    def _step(self, line: str, index: int) -> int:
        char = line[index]
        if self.string is not None:
            return self._in_multiline(line, index)
        if char == "#":
            return len(line)
        for quotes in ('"""', "'''"):
            if line.startswith(quotes, index):
                self.string = quotes
                return index + 3
        if char in "\"'":
            return _skip_string(line, index)
        if char in "[{":
            self.depth += 1
        elif char in "]}":
            self.depth -= 1
        return index + 1

    def _in_multiline(self, line: str, index: int) -> int:
        assert self.string is not None
        if self.string == '"""' and line[index] == "\\":
            return index + 2
        if line.startswith(self.string, index):
            run = len(line[index:]) - len(line[index:].lstrip(self.string[0]))
            self.string = None
            return index + run
        return index + 1


def _skip_string(line: str, index: int) -> int:
    quote = line[index]
    index += 1
    while index < len(line) and line[index] != quote:
        index += 2 if quote == '"' and line[index] == "\\" else 1
    return index + 1


# --- reading ----------------------------------------------------------------------------------


def read_package(folder: Path) -> ModulePackage:
    """Read and validate the module in ``folder``; raise PackageError listing every problem."""
    package, problems = check_package(folder)
    if problems:
        raise PackageError(problems)
    return package


def check_package(folder: Path) -> tuple[ModulePackage, list[Problem]]:
    """Read the module in ``folder`` and list every problem in reading order, without raising.

    The package holds what could be read; it is only complete and valid when there are no problems.
    """
    reader = _PackageReader(folder)
    package = reader.read()
    return package, sorted(reader.problems, key=_reading_order)


def _reading_order(problem: Problem) -> tuple[int, str, int]:
    """module.toml, then bank.toml, then lessons; by line within a file (stable otherwise)."""
    files = (MODULE_FILE, BANK_FILE)
    rank = files.index(problem.file) if problem.file in files else len(files)
    return rank, problem.file, problem.line or 0


def read_all(root: Path) -> tuple[list[ModulePackage], list[Problem]]:
    """Every valid module under ``root`` (or ``root`` itself if it is a module), and the problems of the rest.

    Files in problems are named from the folder that holds ``root`` (``modules/foo/bank.toml``),
    so that one invalid module is reported without stopping the others being read.
    """
    root = root.resolve()
    if not root.is_dir():
        return [], [Problem(root.name, None, _("the folder does not exist"))]
    packages: list[ModulePackage] = []
    problems: list[Problem] = []
    slugs: dict[str, str] = {}
    for folder in _module_folders(root, problems):
        prefix = folder.relative_to(root.parent).as_posix()
        try:
            package = read_package(folder)
        except PackageError as error:
            problems.extend(problem.under(prefix) for problem in error.problems)
            continue
        if package.slug in slugs:
            problems.append(_duplicate_slug(folder, prefix, package.slug, slugs[package.slug]))
            continue
        slugs[package.slug] = prefix
        packages.append(package)
    return packages, problems


def _module_folders(root: Path, problems: list[Problem]) -> Iterator[Path]:
    if (root / MODULE_FILE).is_file():
        yield root
        return
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder.name.startswith((".", "_")):
            continue
        if (folder / MODULE_FILE).is_file():
            yield folder
        elif (folder / BANK_FILE).exists() or (folder / LESSONS_DIR).is_dir():
            message = _("the module has no module.toml (every module folder needs one)")
            problems.append(Problem(f"{root.name}/{folder.name}/{MODULE_FILE}", None, message))


def _duplicate_slug(folder: Path, prefix: str, slug: str, first: str) -> Problem:
    text = (folder / MODULE_FILE).read_text(encoding="utf-8-sig")
    message = _(
        'slug "%(slug)s" is already used by %(first)s (give each module its own slug)',
        slug=slug,
        first=first,
    )
    return Problem(f"{prefix}/{MODULE_FILE}", TomlLocator(text).line(("slug",)), message)


@dataclass
class _TomlFile:
    name: str
    data: dict[str, Any]
    locator: TomlLocator
    problems: list[Problem]

    def report(self, path: TomlPath, message: str) -> None:
        self.problems.append(Problem(self.name, self.locator.line(path), message))


_KIND_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "integer": (int,),
    "table": (dict,),
    "list": (list,),
}


def _is_kind(value: Any, kind: str) -> bool:
    return isinstance(value, _KIND_TYPES[kind]) and not (
        kind == "integer" and isinstance(value, bool)
    )


def _kind_name(kind: str) -> str:
    names = {
        "text": _("text in quotes"),
        "integer": _("a whole number"),
        "table": _("a table"),
        "list": _("a list in square brackets"),
    }
    return names[kind]


def _found_name(value: Any) -> str:
    if isinstance(value, bool):
        return _("true or false")
    if isinstance(value, int):
        return _("a whole number")
    if isinstance(value, float):
        return _("a decimal number")
    if isinstance(value, str):
        return _("text")
    if isinstance(value, dict):
        return _("a table")
    if isinstance(value, list):
        return _("a list")
    return _("a date or time")


def _unknown_key(key: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return _(
            'unknown key "%(key)s" (did you mean "%(suggestion)s"?)', key=key, suggestion=close[0]
        )
    return _(
        'unknown key "%(key)s" (allowed here: %(allowed)s)', key=key, allowed=", ".join(allowed)
    )


def _toml_syntax_problem(name: str, error: tomllib.TOMLDecodeError) -> Problem:
    text = str(error)
    match = _TOML_POSITION.search(text)
    detail = text[: match.start()] if match else text
    if match and match[1]:
        message = _(
            "TOML syntax error: %(detail)s at column %(column)s (fix this line)",
            detail=detail,
            column=match[2],
        )
        return Problem(name, int(match[1]), message)
    message = _(
        "TOML syntax error: %(detail)s at the end of the file (look for an unclosed bracket or quote)",
        detail=detail,
    )
    return Problem(name, None, message)


class _PackageReader:
    """Reads one module folder, collecting every problem instead of stopping at the first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[Problem] = []
        self.languages: tuple[str, ...] = ("en",)
        self.outcome_ids: set[str] = set()
        # While module.toml cannot say which languages and outcomes the module has, the checks
        # that depend on them are skipped rather than reporting every text and file as wrong.
        self.languages_known = False
        self.outcomes_known = False
        #: Whether every question has a unique id and a known outcome, which drawing forms needs.
        self.bank_resolvable = True
        #: Forms with problems of their own: references to them are not reported again.
        self.broken_forms: set[str] = set()

    def report(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def read(self) -> ModulePackage:
        module = self._load_toml(MODULE_FILE)
        metadata = self._metadata(module) if module else {}
        bank = self._load_toml(BANK_FILE)
        questions = self._bank(bank) if bank else []
        lessons = self._lessons()
        package = ModulePackage(
            slug=metadata.get("slug") or "",
            version=metadata.get("version") or 1,
            languages=self.languages,
            audience=metadata.get("audience") or "",
            estimated_minutes=metadata.get("estimated_minutes") or 0,
            title=metadata.get("title", {}),
            summary=metadata.get("summary", {}),
            outcomes=metadata.get("outcomes", []),
            lessons=lessons,
            questions=questions,
            forms=metadata.get("forms", {}),
            tests=metadata.get("tests", {}),
        )
        if module and bank:
            self._check_forms(module, package)
        return package

    # files

    def _read_text(self, name: str) -> str | None:
        data = (self.folder / name).read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self.report(name, line, _("the file is not UTF-8 text (save it as UTF-8)"))
            return None
        return text.removeprefix("\ufeff").replace("\r\n", "\n")

    def _load_toml(self, name: str) -> _TomlFile | None:
        if not (self.folder / name).is_file():
            self.report(
                name, None, _("the file is missing (every module needs %(name)s)", name=name)
            )
            return None
        text = self._read_text(name)
        if text is None:
            return None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            self.problems.append(_toml_syntax_problem(name, error))
            return None
        file = _TomlFile(name, data, TomlLocator(text), self.problems)
        _check_no_dates(file, data, ())
        return file

    # generic checks

    def _typed(
        self,
        file: _TomlFile,
        table: Mapping[str, Any],
        key: str,
        kind: str,
        path: TomlPath,
        where: str | None,
        *,
        required: bool = True,
    ) -> Any:
        if key not in table:
            if required:
                message = _('required key "%(key)s" is missing (add it)', key=key)
                file.report(path, _in(where, message))
            return None
        value = table[key]
        if not _is_kind(value, kind):
            message = _(
                "%(key)s must be %(kind)s, not %(found)s",
                key=key,
                kind=_kind_name(kind),
                found=_found_name(value),
            )
            file.report((*path, key), _in(where, message))
            return None
        return value

    def _positive(
        self, file: _TomlFile, table: Mapping[str, Any], key: str, path: TomlPath, where: str | None
    ) -> int | None:
        value = self._typed(file, table, key, "integer", path, where)
        if value is not None and value < 1:
            message = _("%(key)s must be 1 or more", key=key)
            file.report((*path, key), _in(where, message))
            return None
        return value

    def _known_keys(
        self,
        file: _TomlFile,
        table: Mapping[str, Any],
        allowed: Iterable[str],
        path: TomlPath,
        where: str | None,
    ) -> None:
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                file.report((*path, key), _in(where, _unknown_key(key, allowed)))

    def _identifier(
        self, file: _TomlFile, table: Mapping[str, Any], path: TomlPath, where: str
    ) -> str | None:
        value = self._typed(file, table, "id", "text", path, where)
        if value is not None and not _ID.match(value):
            message = _('id "%(id)s" may only use a-z, 0-9, "-" and "_"', id=value)
            file.report((*path, "id"), _in(where, message))
            return None
        return value

    def _localised(
        self,
        file: _TomlFile,
        table: Mapping[str, Any],
        key: str,
        path: TomlPath,
        what: str | None,
        *,
        required: bool = True,
    ) -> dict[str, str]:
        """Check that ``table[key]`` has a non-empty text in every declared language, and no other."""
        value = self._typed(file, table, key, "table", path, what, required=required)
        if value is None:
            return {}
        return self._localised_value(file, value, (*path, key), what, key, key)

    def _localised_value(
        self,
        file: _TomlFile,
        value: Mapping[str, Any],
        path: TomlPath,
        what: str | None,
        field_name: str,
        label: str,
    ) -> dict[str, str]:
        subject = what or _("the module")
        texts: dict[str, str] = {}
        for code in self._expected_languages(value):
            text = value.get(code)
            if text is None:
                message = _(
                    "%(what)s has no %(language)s %(field)s (add %(key)s.%(code)s)",
                    what=subject,
                    language=language_name(code),
                    field=field_name,
                    key=label,
                    code=code,
                )
                file.report((*path, code), message)
            elif not isinstance(text, str):
                message = _("%(key)s.%(code)s must be text in quotes", key=label, code=code)
                file.report((*path, code), _in(what, message))
            elif not text.strip():
                message = _(
                    "%(what)s has an empty %(language)s %(field)s (write it in %(key)s.%(code)s)",
                    what=subject,
                    language=language_name(code),
                    field=field_name,
                    key=label,
                    code=code,
                )
                file.report((*path, code), message)
            else:
                texts[code] = text
        self._undeclared_languages(file, value, path, subject, field_name, label)
        return texts

    def _expected_languages(self, present: Iterable[str]) -> tuple[str, ...]:
        if self.languages_known:
            return self.languages
        return tuple(code for code in SUPPORTED_LANGUAGES if code in present or code == "en")

    def _undeclared_languages(
        self,
        file: _TomlFile,
        value: Mapping[str, Any],
        path: TomlPath,
        subject: str,
        field_name: str,
        label: str,
    ) -> None:
        for code in value:
            if code in self.languages or not self.languages_known:
                continue
            message = _(
                '%(what)s has %(field)s in "%(code)s", a language the module does not declare '
                "(add %(code)s to languages in module.toml, or remove %(key)s.%(code)s)",
                what=subject,
                field=field_name,
                code=code,
                key=label,
            )
            file.report((*path, code), message)

    # module.toml

    def _metadata(self, file: _TomlFile) -> dict[str, Any]:
        data = file.data
        self._known_keys(file, data, MODULE_KEYS, (), None)
        self.languages = self._languages(file)
        metadata: dict[str, Any] = {
            "slug": self._slug(file),
            "version": self._positive(file, data, "version", (), None),
            "audience": self._audience(file),
            "estimated_minutes": self._positive(file, data, "estimated_minutes", (), None),
            "title": self._localised(file, data, "title", (), None),
            "summary": self._localised(file, data, "summary", (), None),
            "outcomes": self._outcomes(file),
        }
        metadata["forms"] = self._forms(file)
        metadata["tests"] = self._tests(file)
        return metadata

    def _slug(self, file: _TomlFile) -> str | None:
        slug = self._typed(file, file.data, "slug", "text", (), None)
        if slug is not None and not _SLUG.match(slug):
            message = _(
                'slug "%(slug)s" may only use a-z, 0-9 and single hyphens '
                '(for example "searching-strategically")',
                slug=slug,
            )
            file.report(("slug",), message)
            return None
        return slug

    def _languages(self, file: _TomlFile) -> tuple[str, ...]:
        value = self._typed(file, file.data, "languages", "list", (), None)
        self.languages_known = value is not None
        codes: list[str] = []
        for code in value or []:
            if code not in SUPPORTED_LANGUAGES:
                message = _(
                    '"%(code)s" is not a supported language (use: %(supported)s)',
                    code=code,
                    supported=", ".join(SUPPORTED_LANGUAGES),
                )
                file.report(("languages",), message)
            elif code in codes:
                file.report(("languages",), _('language "%(code)s" is listed twice', code=code))
            else:
                codes.append(code)
        if value is not None and "en" not in codes:
            message = _("languages must include en (every module has an English version)")
            file.report(("languages",), message)
        # Keep checking in the languages that are valid, so that one mistake is reported once.
        return tuple(code for code in SUPPORTED_LANGUAGES if code in codes or code == "en")

    def _audience(self, file: _TomlFile) -> str | None:
        audience = self._typed(file, file.data, "audience", "text", (), None)
        if audience is not None and audience not in AUDIENCES:
            message = _(
                'audience "%(value)s" is not one of: %(allowed)s',
                value=audience,
                allowed=", ".join(AUDIENCES),
            )
            file.report(("audience",), message)
            return None
        return audience

    def _outcomes(self, file: _TomlFile) -> list[Outcome]:
        tables = self._typed(file, file.data, "outcomes", "list", (), None)
        self.outcomes_known = bool(tables)
        if tables == []:
            file.report(("outcomes",), _("the module has no outcomes (add [[outcomes]] tables)"))
        outcomes: list[Outcome] = []
        lines: dict[str, int | None] = {}
        for index, table in enumerate(tables or []):
            outcome = self._outcome(file, index, table, lines)
            if outcome is not None:
                outcomes.append(outcome)
        self.outcome_ids = set(lines)
        return outcomes

    def _outcome(
        self, file: _TomlFile, index: int, table: Any, lines: dict[str, int | None]
    ) -> Outcome | None:
        path: TomlPath = ("outcomes", index)
        number = _("outcome %(number)s", number=index + 1)
        if not isinstance(table, dict):
            file.report(path, _in(number, _("each outcome must be a table ([[outcomes]])")))
            return None
        outcome_id = self._identifier(file, table, path, number)
        where = _('outcome "%(id)s"', id=outcome_id) if outcome_id else number
        self._known_keys(file, table, OUTCOME_KEYS, path, where)
        if outcome_id is not None:
            self._unique(file, outcome_id, path, where, lines)
        frame = self._frame(file, table, path, where)
        text = self._localised(file, table, "text", path, where)
        if outcome_id is None or frame is None:
            return None
        return Outcome(outcome_id, frame, text)

    def _unique(
        self,
        file: _TomlFile,
        identifier: str,
        path: TomlPath,
        where: str,
        lines: dict[str, int | None],
    ) -> bool:
        if identifier in lines:
            message = _(
                'the id "%(id)s" is already used on line %(line)s (ids must be unique)',
                id=identifier,
                line=lines[identifier],
            )
            file.report((*path, "id"), _in(where, message))
            return False
        lines[identifier] = file.locator.line((*path, "id"))
        return True

    def _frame(
        self, file: _TomlFile, table: Mapping[str, Any], path: TomlPath, where: str
    ) -> str | None:
        frames = ", ".join(FRAMES)
        frame = table.get("frame")
        if frame is None:
            message = _("the ACRL frame is missing (add frame = one of: %(frames)s)", frames=frames)
            file.report(path, _in(where, message))
            return None
        if frame not in FRAMES:
            message = _(
                '"%(value)s" is not an ACRL frame (use one of: %(frames)s)',
                value=frame,
                frames=frames,
            )
            file.report((*path, "frame"), _in(where, message))
            return None
        return frame

    def _forms(self, file: _TomlFile) -> dict[str, Form]:
        tables = self._typed(file, file.data, "forms", "table", (), None)
        if tables == {}:
            file.report(
                ("forms",), _("the module has no forms (add [forms.A] with items or a rule)")
            )
        forms: dict[str, Form] = {}
        for form_id, table in (tables or {}).items():
            form = self._form(file, form_id, table)
            if form is None:
                self.broken_forms.add(form_id)
            else:
                forms[form_id] = form
        return forms

    def _form(self, file: _TomlFile, form_id: str, table: Any) -> Form | None:
        path: TomlPath = ("forms", form_id)
        where = _('form "%(id)s"', id=form_id)
        if not _FORM_ID.match(form_id):
            file.report(path, _in(where, _("a form id may only use A-Z, a-z, 0-9, - and _")))
            return None
        if not isinstance(table, dict):
            file.report(path, _in(where, _("a form must be a table ([forms.%(id)s])", id=form_id)))
            return None
        self._known_keys(file, table, FORM_KEYS, path, where)
        if ("items" in table) == ("per_outcome" in table):
            message = _(
                "give either items (a list of question ids) or per_outcome "
                "(a number of items for each outcome), exactly one of the two"
            )
            file.report(path, _in(where, message))
            return None
        if "items" in table:
            return self._item_form(file, form_id, table, path, where)
        return self._rule_form(file, form_id, table, path, where)

    def _item_form(
        self, file: _TomlFile, form_id: str, table: Mapping[str, Any], path: TomlPath, where: str
    ) -> Form | None:
        items = self._typed(file, table, "items", "list", path, where)
        if "exclude_form" in table:
            message = _("exclude_form only applies to a rule (per_outcome); remove it")
            file.report((*path, "exclude_form"), _in(where, message))
        if items is None:
            return None
        if not items or not all(isinstance(item, str) for item in items):
            message = _('items must be a non-empty list of question ids, e.g. ["kw-1", "kw-2"]')
            file.report((*path, "items"), _in(where, message))
            return None
        for item, count in Counter(items).items():
            if count > 1:
                message = _('item "%(id)s" is listed %(count)s times', id=item, count=count)
                file.report((*path, "items"), _in(where, message))
        return Form(form_id, items=tuple(items))

    def _rule_form(
        self, file: _TomlFile, form_id: str, table: Mapping[str, Any], path: TomlPath, where: str
    ) -> Form | None:
        per_outcome = self._positive(file, table, "per_outcome", path, where)
        exclude = self._typed(file, table, "exclude_form", "text", path, where, required=False)
        if exclude == form_id:
            message = _("a form cannot exclude itself (name another form in exclude_form)")
            file.report((*path, "exclude_form"), _in(where, message))
            return None
        if per_outcome is None or ("exclude_form" in table and exclude is None):
            return None
        return Form(form_id, per_outcome=per_outcome, exclude_form=exclude)

    def _tests(self, file: _TomlFile) -> dict[str, str]:
        table = self._typed(file, file.data, "tests", "table", (), None)
        if table is None:
            return {}
        self._known_keys(file, table, PHASES, ("tests",), _("tests"))
        tests: dict[str, str] = {}
        for phase in PHASES:
            form_id = self._typed(file, table, phase, "text", ("tests",), _("tests"))
            if form_id is not None:
                tests[phase] = form_id
        return tests

    def _check_forms(self, file: _TomlFile, package: ModulePackage) -> None:
        """Cross-check forms and tests against the bank, once both files are read."""
        for form in package.forms.values():
            self._check_form_references(file, package, form)
        for phase, form_id in package.tests.items():
            if form_id not in package.forms and form_id not in self.broken_forms:
                message = _(
                    'tests.%(phase)s names form "%(id)s", which is not defined (add [forms.%(id)s] '
                    "or name one of: %(forms)s)",
                    phase=phase,
                    id=form_id,
                    forms=", ".join(package.forms) or "-",
                )
                file.report(("tests", phase), message)
        # With duplicate ids or unknown outcomes, a shortfall would only echo those problems.
        if not (self.bank_resolvable and self.outcomes_known):
            return
        for form_id in package.forms:
            if form_id not in self.broken_forms:
                self._check_resolvable(file, package, form_id)

    def _check_form_references(self, file: _TomlFile, package: ModulePackage, form: Form) -> None:
        where = _('form "%(id)s"', id=form.id)
        question_ids = {q["id"] for q in package.questions if isinstance(q.get("id"), str)}
        unknown = [item for item in form.items if item not in question_ids]
        if unknown:
            message = _(
                "these items are not questions in bank.toml: %(items)s "
                "(add the questions, or correct the ids)",
                items=", ".join(unknown),
            )
            file.report(("forms", form.id, "items"), _in(where, message))
            self.broken_forms.add(form.id)
        exclude = form.exclude_form
        if (
            exclude is not None
            and exclude not in package.forms
            and exclude not in self.broken_forms
        ):
            message = _('exclude_form names form "%(id)s", which is not defined', id=exclude)
            file.report(("forms", form.id, "exclude_form"), _in(where, message))
            self.broken_forms.add(form.id)

    def _check_resolvable(self, file: _TomlFile, package: ModulePackage, form_id: str) -> None:
        form = package.forms[form_id]
        if not form.is_rule or form.exclude_form in self.broken_forms:
            return
        try:
            resolve_form(package, form_id, seed=package.slug)
        except FormError as error:
            # A shortfall in the excluded form is reported on that form, not again here.
            if error.form_id == form_id:
                where = _('form "%(id)s"', id=form_id)
                file.report(("forms", form_id, "per_outcome"), _in(where, error.message))

    # bank.toml

    def _bank(self, file: _TomlFile) -> list[dict[str, Any]]:
        self._known_keys(file, file.data, ("questions",), (), None)
        tables = self._typed(file, file.data, "questions", "list", (), None)
        if tables == []:
            file.report(("questions",), _("the bank has no questions (add [[questions]] tables)"))
        questions: list[dict[str, Any]] = []
        lines: dict[str, int | None] = {}
        for index, question in enumerate(tables or []):
            if not isinstance(question, dict):
                message = _("each question must be a table ([[questions]])")
                file.report(("questions", index), message)
                continue
            questions.append(question)
            self._question(file, index, question, lines)
        return questions

    def _question(
        self, file: _TomlFile, index: int, question: dict[str, Any], lines: dict[str, int | None]
    ) -> None:
        """What needs the module to check (unique id, known outcome); the type checks the rest."""
        path: TomlPath = ("questions", index)
        question_id = question.get("id")
        if isinstance(question_id, str) and question_id:
            where = _('question "%(id)s"', id=question_id)
            unique = self._unique(file, question_id, path, where, lines)
        else:
            where = _("question %(number)s", number=index + 1)
            unique = False
        known_outcome = self.outcomes_known and self._question_outcome(file, question, path, where)
        self.bank_resolvable = self.bank_resolvable and unique and known_outcome
        question_type = self._question_type(file, question, path, where)
        if question_type is not None and self.languages_known:
            self._type_problems(file, question_type, question, index, where)

    def _question_outcome(
        self, file: _TomlFile, question: Mapping[str, Any], path: TomlPath, where: str
    ) -> bool:
        outcome = self._typed(file, question, "outcome", "text", path, where)
        if outcome is None:
            return False
        if outcome not in self.outcome_ids:
            message = _(
                'outcome "%(outcome)s" is not an outcome of the module (use one of: %(outcomes)s)',
                outcome=outcome,
                outcomes=", ".join(sorted(self.outcome_ids)) or "-",
            )
            file.report((*path, "outcome"), _in(where, message))
            return False
        return True

    def _question_type(
        self, file: _TomlFile, question: Mapping[str, Any], path: TomlPath, where: str
    ) -> QuestionType | None:
        from ilms.questions.types import REGISTRY

        name = self._typed(file, question, "type", "text", path, where)
        if name is None:
            return None
        if name not in REGISTRY:
            message = _(
                'type "%(type)s" is not a question type (use one of: %(types)s)',
                type=name,
                types=", ".join(REGISTRY),
            )
            file.report((*path, "type"), _in(where, message))
            return None
        return REGISTRY[name]

    def _type_problems(
        self,
        file: _TomlFile,
        question_type: QuestionType,
        question: dict[str, Any],
        index: int,
        where: str,
    ) -> None:
        for problem in question_type.validate(question, list(self.languages)):
            parts = _problem_path(problem.path)
            line = _question_line(file.locator, index, parts)
            self.report(file.name, line, _in(where, problem.message))

    # lessons

    def _lessons(self) -> list[Lesson]:
        folder = self.folder / LESSONS_DIR
        if not folder.is_dir():
            message = _("the lessons folder is missing (add lessons/01-NAME.en.md)")
            self.report(LESSONS_DIR, None, message)
            return []
        files = self._lesson_files(folder)
        if not files:
            message = _("the module has no lessons (add lessons/01-NAME.en.md)")
            self.report(LESSONS_DIR, None, message)
        positions = self._lesson_positions(files)
        lessons = [
            self._lesson(lesson_id, positions[lesson_id], files[lesson_id]) for lesson_id in files
        ]
        return sorted(lessons, key=lambda lesson: (lesson.position, lesson.id))

    def _lesson_files(self, folder: Path) -> dict[str, dict[str, list[tuple[int, str]]]]:
        """Lesson id → language → (number, file) for every lesson file, reporting stray files."""
        files: dict[str, dict[str, list[tuple[int, str]]]] = {}
        for path in sorted(folder.iterdir()):
            relative = f"{LESSONS_DIR}/{path.name}"
            if path.name.startswith(".") or (path.is_dir() and path.name == IMAGES_DIR):
                continue
            if path.is_dir():
                message = _("unexpected folder (lessons go in lessons/, images in lessons/images/)")
                self.report(relative, None, message)
                continue
            match = _LESSON_FILE.match(path.name)
            if match is None:
                message = _(
                    "not a lesson file name (name it NN-name.LANG.md, e.g. 01-keywords.en.md)"
                )
                self.report(relative, None, message)
            elif self._lesson_language_ok(relative, match[3]):
                by_language = files.setdefault(match[2], {})
                by_language.setdefault(match[3], []).append((int(match[1]), relative))
        return files

    def _lesson_language_ok(self, relative: str, code: str) -> bool:
        if code not in SUPPORTED_LANGUAGES:
            message = _(
                '"%(code)s" is not a supported language (use: %(supported)s)',
                code=code,
                supported=", ".join(SUPPORTED_LANGUAGES),
            )
            self.report(relative, None, message)
            return False
        if self.languages_known and code not in self.languages:
            message = _(
                "the module does not declare %(language)s (add %(code)s to languages in "
                "module.toml, or remove this file)",
                language=language_name(code),
                code=code,
            )
            self.report(relative, None, message)
            return False
        return True

    def _lesson_positions(
        self, files: Mapping[str, Mapping[str, list[tuple[int, str]]]]
    ) -> dict[str, int]:
        positions: dict[str, int] = {}
        used: dict[int, str] = {}
        for lesson_id, by_language in files.items():
            entries = [entry for group in by_language.values() for entry in group]
            numbers = sorted({number for number, _file in entries})
            first_file = min(file for _number, file in entries)
            if len(numbers) > 1:
                message = _(
                    'lesson "%(id)s" has files numbered %(numbers)s (use one number for all its files)',
                    id=lesson_id,
                    numbers=", ".join(str(number) for number in numbers),
                )
                self.report(first_file, None, message)
            if numbers[0] in used:
                message = _(
                    'lessons "%(first)s" and "%(second)s" have the same number %(number)s '
                    "(give each lesson its own number)",
                    first=used[numbers[0]],
                    second=lesson_id,
                    number=numbers[0],
                )
                self.report(first_file, None, message)
            used.setdefault(numbers[0], lesson_id)
            positions[lesson_id] = numbers[0]
        return positions

    def _lesson(
        self, lesson_id: str, position: int, by_language: Mapping[str, list[tuple[int, str]]]
    ) -> Lesson:
        lesson = Lesson(lesson_id, position, {}, {}, {})
        for code in self._expected_languages(by_language):
            entries = by_language.get(code, [])
            if not entries:
                self._missing_lesson_file(lesson, code)
                continue
            if len(entries) > 1:
                message = _(
                    'lesson "%(id)s" has %(count)s %(language)s files (keep one)',
                    id=lesson_id,
                    count=len(entries),
                    language=language_name(code),
                )
                self.report(entries[1][1], None, message)
            self._lesson_text(lesson, code, entries[0][1])
        return lesson

    def _missing_lesson_file(self, lesson: Lesson, code: str) -> None:
        if not self.languages_known:
            return
        missing = f"{LESSONS_DIR}/{lesson.file_name(code)}"
        message = _(
            'lesson "%(id)s" has no %(language)s version (add %(file)s)',
            id=lesson.id,
            language=language_name(code),
            file=missing,
        )
        self.report(missing, None, message)

    def _lesson_text(self, lesson: Lesson, code: str, relative: str) -> None:
        text = self._read_text(relative)
        if text is None:
            return
        first, _newline, rest = text.partition("\n")
        title = _LESSON_TITLE.match(first)
        if title is None or not title[1].strip():
            message = _("the first line must be the lesson title as a level-1 heading (# Title)")
            self.report(relative, 1, message)
        else:
            lesson.title[code] = title[1].strip()
        lesson.body[code] = _lesson_body(rest)
        if not lesson.body[code]:
            self.report(relative, 1, _("the lesson has no text after its title"))
        lesson.images.update(self._lesson_images(relative, text))

    def _lesson_images(self, relative: str, text: str) -> dict[str, bytes]:
        images: dict[str, bytes] = {}
        for line, source, alt in _markdown_images(text):
            name = self._image_name(relative, line, source)
            if not alt.strip():
                message = _(
                    'image "%(src)s" has no alternative text (describe what it shows: ![...](%(src)s))',
                    src=source,
                )
                self.report(relative, line, message)
            if name is None:
                continue
            path = self.folder / LESSONS_DIR / IMAGES_DIR / name
            if path.is_file():
                images[name] = path.read_bytes()
            else:
                message = _(
                    'image "%(src)s" is not in lessons/images (add lessons/images/%(name)s or fix the path)',
                    src=source,
                    name=name,
                )
                self.report(relative, line, message)
        return images

    def _image_name(self, relative: str, line: int, source: str) -> str | None:
        folder, _slash, name = unquote(source).partition("/")
        if folder != IMAGES_DIR or not _IMAGE_NAME.match(name) or ".." in name:
            message = _(
                'image "%(src)s" must be a file in lessons/images, written images/NAME.png',
                src=source,
            )
            self.report(relative, line, message)
            return None
        if not name.lower().endswith(IMAGE_SUFFIXES):
            message = _('image "%(src)s" must be a PNG, JPEG, GIF or WebP file', src=source)
            self.report(relative, line, message)
            return None
        return name


def _check_no_dates(file: _TomlFile, value: Any, path: TomlPath) -> None:
    # TOML dates have no place in a module, and the writer could not give them back.
    if isinstance(value, datetime.date | datetime.time):
        file.report(path, _("dates and times are not used in modules; write text in quotes"))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_no_dates(file, item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_no_dates(file, item, (*path, index))


def _problem_path(path: Any) -> TomlPath:
    """``options[2].feedback.ru`` (or a tuple) → ``("options", 2, "feedback", "ru")``."""
    if isinstance(path, list | tuple):
        return tuple(path)
    parts: list[str | int] = []
    for token in re.findall(r"\[(\d+)\]|([^.\[\]]+)", str(path or "")):
        index, name = token
        if index:
            parts.append(int(index))
        elif name.isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
    return tuple(parts)


def _question_line(locator: TomlLocator, index: int, parts: TomlPath) -> int | None:
    """The line of a path inside question ``index``; for the question as a whole, its id line."""
    for end in range(len(parts), 0, -1):
        found = locator.lookup(("questions", index, *parts[:end]))
        if found is not None:
            return found
    return locator.lookup(("questions", index, "id")) or locator.line(("questions", index))


def _lesson_body(rest: str) -> str:
    lines = rest.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()


def _markdown_images(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, src, alt) of every image in a Markdown text; code blocks are not images."""
    lines = text.split("\n")
    for token in _MARKDOWN.parse(text):
        if token.type != "inline":
            continue
        start, end = token.map or (0, 1)
        for child in token.children or []:
            if child.type == "image":
                source = str(child.attrGet("src") or "")
                yield _source_line(lines, start, end, source), source, child.content


def _source_line(lines: list[str], start: int, end: int, source: str) -> int:
    name = unquote(source)
    for number in range(start, min(end, len(lines))):
        if name in lines[number] or source in lines[number]:
            return number + 1
    return start + 1


# --- writing ----------------------------------------------------------------------------------

#: Keys are written in this order; other keys follow alphabetically.
_KEY_ORDER = {
    key: rank
    for rank, key in enumerate(
        (
            *MODULE_KEYS,
            "pre",
            "post",
            "items",
            "per_outcome",
            "exclude_form",
            "id",
            "type",
            "outcome",
            "frame",
            "points",
            "correct",
            "incorrect",
            "tags",
            "text",
            "left",
            "right",
            "answer",
            "tolerance",
            "min",
            "max",
            "unit",
            "accepted",
            "pattern",
            "feedback",
            "options",
            "pairs",
            "distractors",
            "blanks",
            "rubric",
            *SUPPORTED_LANGUAGES,
        )
    )
}
_WRAP_AT = 100


def render_package(package: ModulePackage) -> dict[str, bytes]:
    """The files of the package in canonical form: relative path → content."""
    files = {
        MODULE_FILE: dumps_toml(_module_document(package)).encode(),
        BANK_FILE: dumps_toml({"questions": package.questions}).encode(),
    }
    for lesson in package.lessons:
        for code in package.languages:
            text = _lesson_markdown(lesson.title.get(code, ""), lesson.body.get(code, ""))
            files[f"{LESSONS_DIR}/{lesson.file_name(code)}"] = text.encode()
        for name, data in lesson.images.items():
            files[f"{LESSONS_DIR}/{IMAGES_DIR}/{name}"] = data
    return files


def write_package(package: ModulePackage, folder: Path) -> None:
    """Write the package into ``folder`` in canonical form.

    Lesson files of the folder that are not part of the package are removed, so that the folder
    reads back as this module; other files are left alone.
    """
    files = render_package(package)
    lessons = folder / LESSONS_DIR
    if lessons.is_dir():
        for path in lessons.iterdir():
            relative = f"{LESSONS_DIR}/{path.name}"
            if path.is_file() and _LESSON_FILE.match(path.name) and relative not in files:
                path.unlink()
    for relative, data in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def _module_document(package: ModulePackage) -> dict[str, Any]:
    return {
        "slug": package.slug,
        "version": package.version,
        "languages": list(package.languages),
        "audience": package.audience,
        "estimated_minutes": package.estimated_minutes,
        "title": package.title,
        "summary": package.summary,
        "outcomes": [
            {"id": outcome.id, "frame": outcome.frame, "text": outcome.text}
            for outcome in package.outcomes
        ],
        "forms": {form_id: form.as_table() for form_id, form in package.forms.items()},
        "tests": package.tests,
    }


def _lesson_markdown(title: str, body: str) -> str:
    return f"# {title}\n\n{body}\n" if body else f"# {title}\n"


def dumps_toml(document: Mapping[str, Any]) -> str:
    """Canonical TOML: keys in a fixed order, tables as in docs/module-format.md.

    At the top, tables get headers (``[title]``, ``[forms.A]``); inside an array of tables
    (``[[questions]]``) tables are inline (``text = { en = "..." }``) and lists of tables
    become nested arrays of tables (``[[questions.options]]``).
    """
    lines: list[str] = []
    _dump_table(lines, (), document, inline_tables=False)
    return "\n".join(lines).lstrip("\n") + "\n"


def _ordered(table: Mapping[str, Any]) -> list[str]:
    return sorted(table, key=lambda key: (_KEY_ORDER.get(key, len(_KEY_ORDER)), key))


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _dump_table(
    lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], *, inline_tables: bool
) -> None:
    nested: list[str] = []
    for key in _ordered(table):
        value = table[key]
        if _is_table_array(value) or (isinstance(value, dict) and not inline_tables):
            nested.append(key)
        else:
            lines.append(_key_value(key, value))
    for key in nested:
        value = table[key]
        name = ".".join(_toml_key(part) for part in (*path, key))
        if isinstance(value, dict):
            if not value or any(not _is_header_child(item) for item in value.values()):
                lines.extend(("", f"[{name}]"))
            _dump_table(lines, (*path, key), value, inline_tables=False)
            continue
        for item in value:
            lines.extend(("", f"[[{name}]]"))
            _dump_table(lines, (*path, key), item, inline_tables=True)


def _is_header_child(value: Any) -> bool:
    return isinstance(value, dict) or _is_table_array(value)


def _key_value(key: str, value: Any) -> str:
    if isinstance(value, str) and "\n" in value:
        return f"{_toml_key(key)} = {_multiline_string(value)}"
    line = f"{_toml_key(key)} = {_toml_value(value)}"
    if len(line) <= _WRAP_AT or not isinstance(value, list) or not value:
        return line
    # A long list goes one item a line, so that a change shows as one line in a diff.
    items = "".join(f"    {_toml_value(item)},\n" for item in value)
    return f"{_toml_key(key)} = [\n{items}]"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(_BARE_KEY, key) else _basic_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _toml_float(value)
    if isinstance(value, str):
        # Inside a list or an inline table a line break is written as \n, keeping it on one line.
        return _basic_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        pairs = ", ".join(
            f"{_toml_key(key)} = {_toml_value(value[key])}" for key in _ordered(value)
        )
        return "{ " + pairs + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04x}"
    return char


def _basic_string(text: str) -> str:
    return '"' + "".join(_escape(char) for char in text) + '"'


def _multiline_string(text: str) -> str:
    out = []
    for index, char in enumerate(text):
        if char == "\n":
            out.append(char)
        elif char == '"':
            # A quote is escaped only where it could end the string: before a quote or at the end.
            following = text[index + 1 : index + 2]
            out.append('\\"' if following in ('"', "") else char)
        else:
            out.append(_escape(char))
    return '"""\n' + "".join(out) + '"""'
