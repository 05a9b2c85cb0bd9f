"""The upload form of the import page, and the form behind its confirm and cancel buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ilms.exchange.services import SLUG_RE

FORMAT_CHOICES = [
    SelectChoice("", _l("Tell from the file")),
    SelectChoice("gift", _l("Moodle GIFT")),
    SelectChoice("moodlexml", _l("Moodle XML")),
    SelectChoice("qti", _l("IMS QTI 2.1 or 3.0, or Canvas QTI 1.2 (XML file or zip package)")),
]


class UploadForm(FlaskForm):
    bank = StringField(
        _l("Question bank"),
        validators=[
            DataRequired(message=_l("Name the bank to import into.")),
            Length(max=80),
            Regexp(
                f"^{SLUG_RE.pattern}$",
                message=_l("Use a-z, 0-9 and single hyphens, such as moodle-import."),
            ),
        ],
        description=_l("An existing bank, or a new one: a-z, 0-9 and hyphens."),
        render_kw={"list": "bank-list", "autocomplete": "off", "spellcheck": "false"},
    )
    title = StringField(
        _l("Title of a new bank"),
        validators=[Optional(), Length(max=200)],
        description=_l("Used only when the bank does not exist yet."),
    )
    format = SelectField(_l("Format"), choices=FORMAT_CHOICES, default="")
    file = FileField(
        _l("File"),
        validators=[FileRequired(message=_l("Choose a file to import."))],
        render_kw={"accept": ".txt,.gift,.xml,.qti,.zip,.imscc"},
    )
    submit = SubmitField(_l("Preview the import"))


class ActionForm(FlaskForm):
    """The confirm and cancel buttons of a preview: only their CSRF token is checked."""
