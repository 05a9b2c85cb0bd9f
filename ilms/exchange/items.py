"""What reading a file gives: questions ready for a bank, and the items left out with the reason.

Every reader numbers the items of its file from 1, in file order, and turns each into a
:class:`Draft` (a question dict without its id) or a :class:`Skipped`. :func:`finish` then gives
each draft a key of its own and keeps only the questions their type accepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask_babel import gettext as _

from ilms.errors import DomainError
from ilms.questions.types import get_type

#: The languages of an imported question: ILMS questions always have English.
LANGUAGES = ["en"]
#: Keys are cut to this length (the column holds 80), leaving room for a "-2" suffix.
KEY_LENGTH = 60
#: The most items one file may hold, and the most answers (options, pairs, blanks) one item
#: may have: real banks stay far below, and the limits keep an import quick.
MAX_ITEMS = 5000
MAX_PARTS = 100

Question = dict[str, Any]
T = TypeVar("T")


class ExchangeError(DomainError):
    """The file as a whole cannot be read (not the format, not well-formed, unsafe, too large)."""


class ItemError(Exception):
    """One item of a file cannot be imported; ``reason`` says why, in the reader's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Draft:
    """A question read from a file; ``key_hint`` is the source's id or title for the key."""

    number: int
    title: str
    key_hint: str
    question: Question
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    number: int
    title: str
    reason: str

    @property
    def label(self) -> str:
        return item_label(self.number, self.title)

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"


@dataclass(frozen=True)
class Imported:
    number: int
    title: str
    key: str
    question: Question
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return item_label(self.number, self.title)


Entry = Draft | Skipped


@dataclass(frozen=True)
class ParseResult:
    imported: list[Imported]
    skipped: list[Skipped]

    @property
    def summary(self) -> str:
        return f"imported {len(self.imported)}, skipped {len(self.skipped)}"


@dataclass(frozen=True)
class Written:
    """A bank written in another format, with what the format could not hold."""

    data: bytes
    exported: int
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"exported {self.exported}, skipped {len(self.skipped)}"


def export_note(question: Question, message: str) -> str:
    return _("question '%(id)s': %(note)s", id=question["id"], note=message)


def check_count(count: int) -> None:
    """Refuse a file with more than :data:`MAX_ITEMS` items, before reading them all."""
    if count > MAX_ITEMS:
        raise ExchangeError(
            _(
                "The file holds more than %(max)d questions; split it into smaller files.",
                max=MAX_ITEMS,
            )
        )


def limited(parts: list[T]) -> list[T]:
    """The answers (options, pairs, blanks) of one item, refused beyond :data:`MAX_PARTS`."""
    if len(parts) > MAX_PARTS:
        raise ItemError(_("it has more than %(max)d answers", max=MAX_PARTS))
    return parts


def item_label(number: int, title: str) -> str:
    if title:
        return _("question %(number)d '%(title)s'", number=number, title=title)
    return _("question %(number)d", number=number)


def finish(entries: Iterable[Entry]) -> ParseResult:
    """Give every draft a unique key and check it with its type; a question the type refuses is
    skipped with the type's own words."""
    imported: list[Imported] = []
    skipped: list[Skipped] = []
    used: set[str] = set()
    for entry in entries:
        if isinstance(entry, Skipped):
            skipped.append(entry)
            continue
        key = unique_key(slug(entry.key_hint) or f"q-{entry.number}", used)
        question = {"id": key, **entry.question}
        problems = get_type(question["type"]).validate(question, LANGUAGES)
        if problems:
            reason = _(
                "it does not make a valid question: %(problems)s",
                problems="; ".join(str(problem) for problem in problems),
            )
            skipped.append(Skipped(entry.number, entry.title, reason))
            continue
        used.add(key)
        imported.append(Imported(entry.number, entry.title, key, question, tuple(entry.notes)))
    return ParseResult(imported, skipped)


def slug(text: str) -> str:
    """A key from a title or identifier: ASCII letters and digits joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")
    return words[:KEY_LENGTH].strip("-_")


def unique_key(base: str, used: set[str]) -> str:
    key, suffix = base, 2
    while key in used:
        key, suffix = f"{base}-{suffix}", suffix + 1
    return key
