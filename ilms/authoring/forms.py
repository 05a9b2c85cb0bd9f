"""Forms of the authoring pages: modules, outcomes, lessons, forms and tests.

Texts that exist in several languages are sub-forms with one field per language
(:func:`localised_form`), whose data is the format's localised text ``{"en": ..., "ru": ...}``.
The fields check nothing the module format checks: every save is checked by the module reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import Field

from ilms.accounts.forms import MultiCheckboxField
from ilms.authoring.package import AUDIENCES, FRAMES, SUPPORTED_LANGUAGES, frame_name

LANGUAGE_LABELS = {"en": _l("English"), "ru": _l("Russian"), "kk": _l("Kazakh")}
AUDIENCE_LABELS = {
    "undergraduate": _l("Undergraduate students"),
    "graduate": _l("Graduate students"),
    "faculty": _l("Faculty"),
    "all": _l("Everyone"),
}


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, LANGUAGE_LABELS[code]) for code in SUPPORTED_LANGUAGES]


def audience_choices() -> list[SelectChoice]:
    return [SelectChoice(audience, AUDIENCE_LABELS[audience]) for audience in AUDIENCES]


def frame_choices() -> list[SelectChoice]:
    return [SelectChoice(frame, frame_name(frame)) for frame in FRAMES]


@cache
def localised_form(languages: tuple[str, ...], multiline: bool = False) -> type[Form]:
    """A sub-form with a text field per language; each field marks the language of its text."""
    kind = TextAreaField if multiline else StringField
    fields = {code: kind(LANGUAGE_LABELS[code], render_kw={"lang": code}) for code in languages}
    return type("LocalisedForm", (Form,), fields)


def texts(data: Mapping[str, str | None], languages: Iterable[str]) -> dict[str, str]:
    """A localised text from a sub-form's data, trimmed; empty texts stay, for the reader to name."""
    return {code: clean(data.get(code)) for code in languages}


def clean(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def number(text: str | None) -> int | float | str:
    """A number as people type it (``2``, ``1.5``, ``1,5``); text that is not one stays text,
    so that the module reader reports it in its own words."""
    value = clean(text)
    candidate = value.replace(",", ".", 1) if "." not in value else value
    try:
        return int(candidate)
    except ValueError:
        pass
    try:
        return float(candidate)
    except ValueError:
        return value


def shown_number(value: object) -> str:
    """A number as the form shows it; reading it back with :func:`number` gives the same value."""
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


# --- Modules ---------------------------------------------------------------------------------


class _ModuleFields(FlaskForm):
    languages = MultiCheckboxField(
        _l("Languages"),
        choices=language_choices,
        validate_choice=False,
        description=_l("English is always needed. Every text of the module is needed in each."),
    )
    audience = SelectField(_l("Audience"), choices=audience_choices, validate_choice=False)
    estimated_minutes = StringField(
        _l("Estimated minutes"), description=_l("How long the module takes, in whole minutes.")
    )
    title = FormField(localised_form(SUPPORTED_LANGUAGES), label=_l("Title"))
    summary = FormField(localised_form(SUPPORTED_LANGUAGES, True), label=_l("Summary"))


class ModuleCreateForm(_ModuleFields):
    slug = StringField(
        _l("Short name"),
        description=_l(
            "a-z, 0-9 and single hyphens, e.g. searching-strategically. "
            "It names the module for good and cannot be changed."
        ),
    )
    submit = SubmitField(_l("Create module"))


class ModuleSettingsForm(_ModuleFields):
    base = HiddenField()
    version = StringField(
        _l("Version number"),
        description=_l("The version written in module.toml; raise it for a major change."),
    )
    submit = SubmitField(_l("Save settings"))


class DuplicateForm(FlaskForm):
    slug = StringField(
        _l("Short name of the copy"),
        description=_l("a-z, 0-9 and single hyphens; the copy starts as a draft."),
    )
    submit = SubmitField(_l("Duplicate module"))


class ButtonForm(FlaskForm):
    """A form that is only a button (publish, delete, move): it carries the CSRF token."""


# --- Outcomes and lessons --------------------------------------------------------------------


@cache
def outcome_form(languages: tuple[str, ...]) -> type[FlaskForm]:
    class OutcomeForm(FlaskForm):
        base = HiddenField()
        outcome_id = StringField(
            _l("Outcome id"),
            description=_l(
                "a-z, 0-9, - and _; questions and rules refer to it. Leave empty for a number."
            ),
        )
        frame = RadioField(_l("ACRL frame"), choices=frame_choices, validate_choice=False)
        text = FormField(localised_form(languages, True), label=_l("What a student can do"))
        submit = SubmitField(_l("Save outcome"))

    return OutcomeForm


@cache
def lesson_form(languages: tuple[str, ...]) -> type[FlaskForm]:
    class LessonForm(FlaskForm):
        base = HiddenField()
        title = FormField(localised_form(languages), label=_l("Title"))
        body = FormField(localised_form(languages, True), label=_l("Text (Markdown)"))
        image = FileField(
            _l("Image"),
            description=_l(
                "PNG, JPEG, GIF or WebP. It is added at the end of the text in every language; "
                "move the line where it belongs."
            ),
        )
        alt = FormField(localised_form(languages), label=_l("Alternative text of the image"))
        submit = SubmitField(_l("Save lesson"))
        preview = SubmitField(_l("Preview"))

        def check_alt(self) -> bool:
            """An uploaded image needs a description in every language of the module."""
            if not self.image.data:
                return True
            missing = [field for field in self.alt.form if not clean(field.data)]
            for field in missing:
                field.errors = [*field.errors, _("Describe what the image shows.")]
            return not missing

    return LessonForm


# --- Forms and tests -------------------------------------------------------------------------


class AssessmentForm(FlaskForm):
    """One form of the module: a list of questions, or a rule drawing n questions per outcome."""

    base = HiddenField()
    form_id = StringField(
        _l("Form name"),
        description=_l(
            "Letters, digits, - and _, such as A or B. Leave empty for the next letter."
        ),
    )
    kind = RadioField(
        _l("The form is"),
        choices=[
            SelectChoice("items", _l("a list of questions")),
            SelectChoice("rule", _l("a rule: a number of questions for every outcome")),
        ],
        default="items",
        validate_choice=False,
    )
    items = MultiCheckboxField(_l("Questions"), choices=[], validate_choice=False)
    per_outcome = StringField(_l("Questions per outcome"))
    exclude_form = SelectField(
        _l("Leave out the questions of"),
        choices=[],
        validate_choice=False,
        description=_l("Choose a form to make a parallel form that shares no question with it."),
    )
    submit = SubmitField(_l("Save form"))


class TestsForm(FlaskForm):
    base = HiddenField()
    pre = SelectField(_l("Pre-test form"), choices=[], validate_choice=False)
    post = SelectField(
        _l("Post-test form"),
        choices=[],
        validate_choice=False,
        description=_l("The same form gives the same questions; two forms make parallel tests."),
    )
    submit = SubmitField(_l("Save tests"))


def base_version(field: Field) -> int | None:
    """The version number a form was filled in on, from its hidden ``base`` field."""
    value = str(field.data or "")
    return int(value) if value.isdigit() else None
