"""Forms for cohorts: details, members, accommodations, assigned modules and roster files.

Open and close dates are entered in the library's time zone (``LIBRARY_TIMEZONE``) and stored
in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ilms.authoring.models import Module
from ilms.cohorts.models import Assignment, AttemptCounting, FeedbackPolicy, MemberRole
from ilms.cohorts.services import (
    MAX_ATTEMPTS_ALLOWED,
    MAX_EXTRA_ATTEMPTS,
    MAX_TIME_LIMIT_MINUTES,
    MAX_TIME_MULTIPLIER,
    AssignmentSettings,
    CohortDetails,
)
from ilms.delivery.services import COMMENT_LIMIT
from ilms.i18n import LANGUAGE_NAMES
from ilms.questions.types import InvalidAnswer, parse_number

REQUIRED = _l("This field is required.")
EMAIL_MESSAGE = _l("Enter an email address like name@university.edu.")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]

ROLE_NAMES = {
    MemberRole.STUDENT: _l("Student"),
    MemberRole.OWNER: _l("Owner"),
    MemberRole.INSTRUCTOR: _l("Instructor"),
    MemberRole.LIBRARIAN: _l("Embedded librarian"),
}
COUNTING_NAMES = {
    AttemptCounting.FIRST: _l("The first attempt"),
    AttemptCounting.LAST: _l("The last attempt"),
    AttemptCounting.BEST: _l("The best attempt"),
}
FEEDBACK_NAMES = {
    FeedbackPolicy.NEVER: _l("Never"),
    FeedbackPolicy.AFTER_SUBMIT: _l("As soon as they submit"),
    FeedbackPolicy.AFTER_CLOSE: _l("After the close date"),
}


def library_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LIBRARY_TIMEZONE"])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token is sent."""


class CohortForm(FlaskForm):
    course_code = StringField(
        _l("Course code"),
        validators=[DataRequired(message=REQUIRED), Length(max=40)],
        description=_l("As in the timetable, for example IL101."),
    )
    course_title = StringField(
        _l("Course title"), validators=[DataRequired(message=REQUIRED), Length(max=200)]
    )
    section = StringField(
        _l("Section"),
        validators=[Optional(), Length(max=40)],
        description=_l("Leave empty if the course has one section."),
    )
    term = StringField(
        _l("Term"),
        validators=[DataRequired(message=REQUIRED), Length(max=40)],
        description=_l("For example Fall 2026."),
    )
    starts_on = DateField(_l("First day of classes"), validators=[Optional()])
    ends_on = DateField(_l("Last day of classes"), validators=[Optional()])
    language = SelectField(
        _l("Language of instruction"),
        choices=lambda: [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
    )
    submit = SubmitField(_l("Save cohort"))

    def details(self) -> CohortDetails:
        return CohortDetails(
            course_code=self.course_code.data or "",
            course_title=self.course_title.data or "",
            term=self.term.data or "",
            section=self.section.data or "",
            starts_on=self.starts_on.data,
            ends_on=self.ends_on.data,
            language=self.language.data,
        )


class JoiningForm(FlaskForm):
    enabled = HiddenField(validators=[AnyOf(["on", "off"])])


class StaffForm(FlaskForm):
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(message=REQUIRED), Email(message=EMAIL_MESSAGE)],
        description=_l("The address of their ILMS account."),
    )
    role = SelectField(
        _l("Role in the cohort"),
        choices=[
            SelectChoice(role.value, ROLE_NAMES[role])
            for role in (MemberRole.OWNER, MemberRole.INSTRUCTOR, MemberRole.LIBRARIAN)
        ],
    )
    submit = SubmitField(_l("Add to the cohort"))


class GradeForm(FlaskForm):
    """A person's points for one answer (the grading service checks them against the maximum)."""

    points = StringField(
        _l("Points"),
        validators=[DataRequired(message=REQUIRED), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "class": "short"},
    )
    comment = TextAreaField(
        _l("Comment for the student (optional)"),
        render_kw={"rows": 3, "maxlength": COMMENT_LIMIT},
    )
    submit = SubmitField(_l("Save the grade"))

    def validate_points(self, field: Field) -> None:
        try:
            parse_number(field.data or "")
        except InvalidAnswer as error:
            raise ValidationError(error.message) from error

    def points_value(self) -> float:
        return parse_number(self.points.data or "")


class AccommodationsForm(FlaskForm):
    time_multiplier = DecimalField(
        _l("Time multiplier"),
        places=2,
        validators=[
            InputRequired(message=REQUIRED),
            NumberRange(
                min=1,
                max=MAX_TIME_MULTIPLIER,
                message=_l("The time multiplier must be between 1 and 5."),
            ),
        ],
        render_kw={"inputmode": "decimal"},
    )
    extra_attempts = IntegerField(
        _l("Extra attempts"),
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=MAX_EXTRA_ATTEMPTS,
                message=_l("Extra attempts must be between 0 and 20."),
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )
    submit = SubmitField(_l("Save"))


class AssignmentSettingsForm(FlaskForm):
    opens_at = DateTimeLocalField(
        _l("Opens"),
        format=DATETIME_FORMATS,
        tz=library_zone,
        validators=[DataRequired(message=_l("Enter a date and time."))],
    )
    closes_at = DateTimeLocalField(
        _l("Closes"),
        format=DATETIME_FORMATS,
        tz=library_zone,
        validators=[DataRequired(message=_l("Enter a date and time."))],
    )
    pre_required = BooleanField(_l("Students take the pre-test before the lessons"))
    post_after_lessons = BooleanField(_l("The post-test opens when the lessons are done"))
    attempts_allowed = IntegerField(
        _l("Attempts allowed at each test"),
        validators=[
            InputRequired(message=REQUIRED),
            NumberRange(
                min=1,
                max=MAX_ATTEMPTS_ALLOWED,
                message=_l("Allow between 1 and %(n)d attempts.", n=MAX_ATTEMPTS_ALLOWED),
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )
    time_limit_minutes = IntegerField(
        _l("Time limit in minutes"),
        validators=[
            Optional(),
            NumberRange(
                min=1,
                max=MAX_TIME_LIMIT_MINUTES,
                message=_l(
                    "The time limit must be between 1 and %(n)d minutes, or empty for none.",
                    n=MAX_TIME_LIMIT_MINUTES,
                ),
            ),
        ],
        description=_l("Leave empty for no time limit."),
        render_kw={"inputmode": "numeric"},
    )
    counting = SelectField(
        _l("Which attempt counts"),
        choices=[SelectChoice(value.value, label) for value, label in COUNTING_NAMES.items()],
    )
    feedback_policy = SelectField(
        _l("When students see the correct answers and feedback"),
        choices=[SelectChoice(value.value, label) for value, label in FEEDBACK_NAMES.items()],
    )
    submit = SubmitField(_l("Save settings"))

    def settings(self) -> AssignmentSettings:
        return AssignmentSettings(
            opens_at=self.opens_at.data.astimezone(UTC),
            closes_at=self.closes_at.data.astimezone(UTC),
            pre_required=bool(self.pre_required.data),
            post_after_lessons=bool(self.post_after_lessons.data),
            attempts_allowed=self.attempts_allowed.data,
            time_limit_minutes=self.time_limit_minutes.data,
            counting=AttemptCounting(self.counting.data),
            feedback_policy=FeedbackPolicy(self.feedback_policy.data),
        )

    @classmethod
    def of(cls, assignment: Assignment) -> AssignmentSettingsForm:
        return cls(
            opens_at=assignment.opens_at,
            closes_at=assignment.closes_at,
            pre_required=assignment.pre_required,
            post_after_lessons=assignment.post_after_lessons,
            attempts_allowed=assignment.attempts_allowed,
            time_limit_minutes=assignment.time_limit_minutes,
            counting=assignment.counting.value,
            feedback_policy=assignment.feedback_policy.value,
        )


class AssignmentForm(AssignmentSettingsForm):
    module = SelectField(_l("Module"), coerce=int, validators=[DataRequired(message=REQUIRED)])
    submit = SubmitField(_l("Assign the module"))

    def offer(self, modules: list[Module], lang: str) -> None:
        self.module.choices = [
            SelectChoice(m.id, m.current_version.text(m.current_version.title, lang) or m.slug)
            for m in modules
            if m.current_version is not None
        ]

    @classmethod
    def blank(cls, now: datetime) -> AssignmentForm:
        """A form opening now (to the minute) and closing in two weeks."""
        opens = now.replace(second=0, microsecond=0)
        return cls(
            opens_at=opens,
            closes_at=opens + timedelta(days=14),
            pre_required=True,
            post_after_lessons=True,
            attempts_allowed=1,
        )


class RosterUploadForm(FlaskForm):
    file = FileField(
        _l("Roster file (CSV)"),
        validators=[FileRequired(message=_l("Choose a CSV file to upload."))],
        render_kw={"accept": ".csv,.txt,text/csv,text/plain"},
    )
    submit = SubmitField(_l("Upload and preview"))


class RosterConfirmForm(FlaskForm):
    submit = SubmitField(_l("Import these students"))
