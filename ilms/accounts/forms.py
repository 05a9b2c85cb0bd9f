"""Forms for logging in, passwords, profiles and the administration of users."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
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
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ilms.i18n import LANGUAGE_NAMES
from ilms.permissions import ROLE_LABELS, Role

EMAIL_MESSAGE = _l("Enter an email address like name@university.edu.")
REQUIRED = _l("This field is required.")


def language_choices() -> list[tuple[str, str]]:
    return [("", _l("Same as my browser")), *LANGUAGE_NAMES.items()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def role_choices() -> list[tuple[str, object]]:
    return [(role.value, ROLE_LABELS[role]) for role in Role]


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(message=REQUIRED), Email(message=EMAIL_MESSAGE)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class SignupForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        validators=[DataRequired(message=REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(message=REQUIRED), Email(message=EMAIL_MESSAGE)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(message=REQUIRED),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Create my account"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(message=REQUIRED),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change password"))


class ResetRequestForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(message=REQUIRED), Email(message=EMAIL_MESSAGE)],
        render_kw={"autocomplete": "email"},
    )
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=REQUIRED)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(message=REQUIRED),
            EqualTo("password", message=_l("The two passwords do not match.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Set new password"))


def timezone_choices() -> list[tuple[str, str]]:
    return [("", _l("The library's time zone")), *((z, z) for z in sorted(available_timezones()))]


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        validators=[DataRequired(message=REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    locale = SelectField(
        _l("Interface language"), choices=language_choices, validators=[Optional()]
    )
    timezone = SelectField(_l("Time zone"), choices=timezone_choices, validators=[Optional()])
    submit = SubmitField(_l("Save profile"))


class UserCreateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=REQUIRED), Length(max=200)])
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(message=REQUIRED), Email(message=EMAIL_MESSAGE)],
    )
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
    lang = SelectField(_l("Language"), choices=lambda: list(LANGUAGE_NAMES.items()))
    next = HiddenField()
    submit = SubmitField(_l("Change language"))
