"""The problems of a failed save, placed on the page: next to the field they are about, and all of
them in the error summary, each linked to its field when it has one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _
from wtforms import Form
from wtforms.fields import FieldList, FormField, HiddenField
from wtforms.fields.core import Field
from wtforms.widgets import ListWidget

from ilms.authoring.editing import InvalidEdit, Location
from ilms.errors import DomainError


@dataclass
class PageProblems:
    #: (id of the input to go to, or None; message), in the order found.
    summary: list[tuple[str | None, str]] = field(default_factory=list)
    #: Field or group id → its messages, shown next to it.
    by_field: dict[str, list[str]] = field(default_factory=dict)
    #: The input to focus when the page opens (after a list button was pressed).
    focus: str | None = None

    def __bool__(self) -> bool:
        return bool(self.summary)

    def add(self, message: str, target: Field | None = None) -> None:
        self.summary.append((first_input(target) if target is not None else None, message))
        if target is not None:
            self.by_field.setdefault(target.id, []).append(message)

    def of(self, target: Field) -> list[str]:
        return self.by_field.get(target.id, [])


def form_problems(form: Form) -> PageProblems:
    """The errors WTForms found (an expired form, an image without alternative text)."""
    problems = PageProblems()
    csrf = getattr(form, "csrf_token", None)
    if csrf is not None and csrf.errors:
        problems.add(_("Your form expired. Please send it again."))
    for leaf in _leaves(form):
        if leaf is not csrf:
            for message in leaf.errors or ():
                problems.add(str(message), leaf)
    return problems


def _leaves(form: Form) -> list[Field]:
    found: list[Field] = []
    for item in form:
        if isinstance(item, FormField):
            found.extend(_leaves(item.form))
        elif isinstance(item, FieldList):
            for entry in item.entries:
                found.extend(_leaves(entry.form) if isinstance(entry, FormField) else [entry])
        else:
            found.append(item)
    return found


def edit_problems(
    form: Form, error: DomainError, aliases: Mapping[str, str] | None = None
) -> PageProblems:
    """The problems of a refused save, placed on ``form``'s fields where they can be.

    Locations inside what the save changed (its ``subject``) are looked up in the form by their
    names in the module format; ``aliases`` renames the first step (``id`` → ``key``).
    """
    problems = PageProblems()
    if not isinstance(error, InvalidEdit):
        target = getattr(form, error.field, None) if error.field else None
        problems.add(error.message, target)
        return problems
    for issue in error.issues:
        location = issue.location
        inside = location is not None and location[: len(error.subject)] == error.subject
        relative = location[len(error.subject) :] if inside and location else ()
        target = field_at(form, relative, aliases or {}) if relative else None
        problems.add(issue.message, target)
    return problems


def field_at(form: Form, location: Location, aliases: Mapping[str, str]) -> Field | None:
    """The deepest field of ``form`` at ``location`` (format names), or None if there is none."""
    current: Field | None = None
    for step, part in enumerate(location):
        name = aliases.get(part, part) if step == 0 and isinstance(part, str) else part
        child = _child(form if current is None else current, name)
        if child is None or isinstance(child, HiddenField):
            break
        current = child
    return current


def _child(container: Form | Field, part: str | int) -> Field | None:
    if isinstance(container, FieldList):
        entries = container.entries
        return entries[part] if isinstance(part, int) and part < len(entries) else None
    form = container.form if isinstance(container, FormField) else container
    if not isinstance(form, Form) or not isinstance(part, str):
        return None
    return form._fields.get(part)


def first_input(target: Field) -> str | None:
    """The id of the first input a person can go to inside ``target``."""
    if isinstance(target, FormField):
        for item in target.form:
            found = first_input(item)
            if found:
                return found
        return None
    if isinstance(target, FieldList):
        return first_input(target.entries[0]) if target.entries else None
    if isinstance(target, HiddenField):
        return None
    if isinstance(target.widget, ListWidget):
        return f"{target.id}-0"  # radios and checkboxes: the first one
    return str(target.id)


def entry_at(form: Form, path: tuple[str | int, ...]) -> Field | None:
    """The field at a path of field names and list indexes (the path of a list button)."""
    current: Field | None = None
    for part in path:
        current = _child(form if current is None else current, part)
        if current is None:
            return None
    return current
