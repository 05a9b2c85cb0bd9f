"""Forms for logging in, passwords, profiles and the administration of users."""

from __future__ import annotations

import functools
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ilms.i18n import LANGUAGE_NAMES
from ilms.permissions import ROLE_LABELS, Role

EMAIL_MESSAGE = _l("Enter an email address like name@university.edu.")
REQUIRED = _l("This field is required.")


def language_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", _l("Same as my browser")),
        *(SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()),
    ]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, ROLE_LABELS[role]) for role in Role]


# Fields that several forms ask for in the same way. Each call makes a new field, declared
# where it is called (fields keep the order of their declarations).


def name_field() -> StringField:
    return StringField(
        _l("Your name"),
        validators=[DataRequired(message=REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )


def email_field(autocomplete: str | None = None) -> EmailField:
    """``autocomplete``: what the browser may fill in (``email`` or ``username``)."""
    return EmailField(
        _l("Email address"),
        validators=[DataRequired(message=REQUIRED), Email(message=EMAIL_MESSAGE)],
        render_kw={"autocomplete": autocomplete} if autocomplete else None,
    )


def password_field(label: LazyString, autocomplete: str = "new-password") -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"autocomplete": autocomplete},
    )


def confirm_field(label: LazyString) -> PasswordField:
    """The new password typed again; it must match the form's ``password`` field."""
    return PasswordField(
        label,
        validators=[
            DataRequired(message=REQUIRED),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    email = email_field("username")
    password = password_field(_l("Password"), "current-password")
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class SignupForm(FlaskForm):
    name = name_field()
    email = email_field("email")
    password = password_field(_l("Password"))
    confirm = confirm_field(_l("Repeat the password"))
    submit = SubmitField(_l("Create my account"))


class PasswordChangeForm(FlaskForm):
    current_password = password_field(_l("Current password"), "current-password")
    password = password_field(_l("New password"))
    confirm = confirm_field(_l("Repeat the new password"))
    submit = SubmitField(_l("Change password"))


class ResetRequestForm(FlaskForm):
    email = email_field("email")
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(FlaskForm):
    password = password_field(_l("New password"))
    confirm = confirm_field(_l("Repeat the new password"))
    submit = SubmitField(_l("Set new password"))


@functools.cache
def _time_zones() -> tuple[str, ...]:
    """The IANA time zones this system knows, found once: finding them reads hundreds of files."""
    return tuple(sorted(available_timezones()))


def timezone_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", _l("The library's time zone")),
        *(SelectChoice(zone) for zone in _time_zones()),
    ]


class ProfileForm(FlaskForm):
    name = name_field()
    locale = SelectField(
        _l("Interface language"), choices=language_choices, validators=[Optional()]
    )
    timezone = SelectField(_l("Time zone"), choices=timezone_choices, validators=[Optional()])
    submit = SubmitField(_l("Save profile"))


class UserCreateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=200)])
    email = email_field()
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=role_choices,
        validators=[DataRequired(message=_l("Choose at least one role."))],
    )
    locale = SelectField(
        _l("Interface language"), choices=language_choices, validators=[Optional()]
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[Optional()],
        description=_l("Leave empty to email the person a link to set their own password."),
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Create account"))


class UserRolesForm(FlaskForm):
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=role_choices,
        validators=[DataRequired(message=_l("Choose at least one role."))],
    )
    submit = SubmitField(_l("Save roles"))


class UserActiveForm(FlaskForm):
    active = BooleanField(_l("Account is active"))
    submit = SubmitField(_l("Save"))


class LanguageForm(FlaskForm):
    lang = SelectField(
        _l("Language"),
        choices=lambda: [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
    )
    next = HiddenField()
    submit = SubmitField(_l("Change language"))
