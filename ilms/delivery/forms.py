"""Forms of the student's pages: joining a course, and the quiz form's two buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

REQUIRED = _l("This field is required.")


class JoinForm(FlaskForm):
    code = StringField(
        _l("Join code"),
        validators=[DataRequired(message=REQUIRED), Length(max=16)],
        description=_l("The code your instructor gave you, such as K7QX2MPA."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Join the course"))


class QuizForm(FlaskForm):
    """The answers themselves are read by each question type (``answer_from_form``)."""

    save = SubmitField(_l("Save answers"))
    review = SubmitField(_l("Review and submit"))
