"""Forms for sessions, registration, check-in, the roster, feedback, requests and the import."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ilms.accounts.forms import EMAIL_MESSAGE, REQUIRED, MultiCheckboxField
from ilms.accounts.models import User
from ilms.authoring.package import AUDIENCES, FRAMES, frame_name
from ilms.i18n import LANGUAGE_NAMES
from ilms.infosessions.models import (
    FORMAT_LABELS,
    InfoSession,
    InstructionRequest,
    Registration,
    SessionFormat,
    audience_label,
)
from ilms.infosessions.services import RequestData, SessionData
from ilms.infosessions.timing import from_library_time, to_library_time

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
LANGUAGES = tuple(LANGUAGE_NAMES)
NUMBER_MESSAGE = _l("Enter a whole number.")


def language_choices() -> list[tuple[str, str]]:
    return list(LANGUAGE_NAMES.items())


def format_choices() -> list[tuple[str, object]]:
    return [(f.value, FORMAT_LABELS[f]) for f in SessionFormat]


def audience_choices() -> list[tuple[str, str]]:
    return [(a, audience_label(a)) for a in AUDIENCES]


def frame_choices() -> list[tuple[str, str]]:
    return [(f, frame_name(f)) for f in FRAMES]


def _select(pairs: list[tuple[Any, Any]]) -> list[SelectChoice]:
    """Form choices from (value, label) pairs (the pairs also serve the catalogue's filters)."""
    return [SelectChoice(value, label) for value, label in pairs]


def _minutes(value: timedelta) -> int:
    return round(value.total_seconds() / 60)


class SessionForm(FlaskForm):
    title_en = StringField(_l("Title in English"), validators=[Length(max=200)])
    title_ru = StringField(_l("Title in Russian"), validators=[Length(max=200)])
    title_kk = StringField(_l("Title in Kazakh"), validators=[Length(max=200)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=5000)])
    description_ru = TextAreaField(_l("Description in Russian"), validators=[Length(max=5000)])
    description_kk = TextAreaField(_l("Description in Kazakh"), validators=[Length(max=5000)])
    language = SelectField(
        _l("Language of instruction"),
        choices=lambda: _select(language_choices()),
        description=_l("The title is required in this language; the others are optional."),
    )
    format = SelectField(_l("Format"), choices=lambda: _select(format_choices()))
    location = StringField(
        _l("Room"),
        validators=[Length(max=200)],
        description=_l("For sessions in person or hybrid."),
    )
    online_url = StringField(
        _l("Online link"),
        validators=[Optional(), URL(message=_l("Enter a web address like https://..."))],
        description=_l("Shown only to people with a place."),
    )
    starts_at = DateTimeLocalField(
        _l("Starts"),
        format=DATETIME_FORMAT,
        validators=[DataRequired(message=_l("Enter the date and time, like 2026-02-10 14:00."))],
    )
    duration_minutes = IntegerField(
        _l("Length in minutes"),
        default=60,
        validators=[InputRequired(message=NUMBER_MESSAGE), NumberRange(min=1, max=1440)],
    )
    capacity = IntegerField(
        _l("Places"),
        default=20,
        validators=[InputRequired(message=NUMBER_MESSAGE), NumberRange(min=1, max=10000)],
    )
    registration_opens_at = DateTimeLocalField(
        _l("Registration opens"),
        format=DATETIME_FORMAT,
        validators=[Optional()],
        description=_l("Leave empty to open registration now."),
    )
    registration_closes_at = DateTimeLocalField(
        _l("Registration closes"),
        format=DATETIME_FORMAT,
        validators=[Optional()],
        description=_l("Leave empty to keep it open until the start."),
    )
    cancel_cutoff_hours = IntegerField(
        _l("Cancellation cut-off in hours"),
        validators=[InputRequired(message=NUMBER_MESSAGE), NumberRange(min=0, max=720)],
        description=_l("People can give up their place until this many hours before the start."),
    )
    audience = SelectField(
        _l("Audience"), choices=lambda: _select(audience_choices()), default="all"
    )
    topics = StringField(
        _l("Topics"),
        validators=[Length(max=500)],
        description=_l("Separated by commas, for example: GIS, maps."),
    )
    frames = MultiCheckboxField(_l("ACRL frames"), choices=lambda: _select(frame_choices()))
    presenters = MultiCheckboxField(_l("Presenters"), coerce=int, choices=[])
    quiz_module = SelectField(
        _l("Pre- and post-quiz"),
        choices=[],
        default="",
        description=_l("A module whose pre-test and post-test go with the session."),
    )
    listed = BooleanField(_l("Show in the public catalogue and calendar feed"), default=True)
    submit = SubmitField(_l("Save session"))

    def set_choices(self, presenters: list[User], modules: list[tuple[str, str]]) -> None:
        self.presenters.choices = [SelectChoice(p.id, p.name) for p in presenters]
        self.quiz_module.choices = _select([("", str(_l("None"))), *modules])

    def session_data(self, presenters: list[User], cohort_id: int | None) -> SessionData:
        starts_at = from_library_time(self.starts_at.data)
        return SessionData(
            title={lang: getattr(self, f"title_{lang}").data or "" for lang in LANGUAGES},
            description={
                lang: getattr(self, f"description_{lang}").data or "" for lang in LANGUAGES
            },
            format=SessionFormat(self.format.data),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=self.duration_minutes.data),
            capacity=self.capacity.data,
            language=self.language.data,
            audience=self.audience.data,
            topics=(self.topics.data or "").split(","),
            frames=list(self.frames.data or []),
            location=self.location.data or "",
            online_url=self.online_url.data or None,
            registration_opens_at=_optional_time(self.registration_opens_at),
            registration_closes_at=_optional_time(self.registration_closes_at),
            cancel_cutoff_hours=self.cancel_cutoff_hours.data,
            listed=bool(self.listed.data),
            presenters=presenters,
            quiz_module_id=int(self.quiz_module.data) if self.quiz_module.data else None,
            cohort_id=cohort_id,
        )

    def fill_from(self, session: InfoSession) -> None:
        for lang in LANGUAGES:
            getattr(self, f"title_{lang}").data = session.title.get(lang, "")
            getattr(self, f"description_{lang}").data = (session.description or {}).get(lang, "")
        self.language.data = session.language
        self.format.data = session.format.value
        self.location.data = session.location
        self.online_url.data = session.online_url or ""
        self.starts_at.data = to_library_time(session.starts_at)
        self.duration_minutes.data = _minutes(session.duration)
        self.capacity.data = session.capacity
        self.registration_opens_at.data = _local_or_none(session.registration_opens_at)
        self.registration_closes_at.data = _local_or_none(session.registration_closes_at)
        self.cancel_cutoff_hours.data = session.cancel_cutoff_hours
        self.audience.data = session.audience
        self.topics.data = ", ".join(session.topics)
        self.frames.data = list(session.frames)
        self.presenters.data = [p.id for p in session.presenters]
        self.quiz_module.data = str(session.quiz_module_id or "")
        self.listed.data = session.listed

    def fill_from_request(self, request: InstructionRequest) -> None:
        self.language.data = request.language
        self.format.data = request.format.value
        if request.students:
            self.capacity.data = request.students
        self.listed.data = False


def _optional_time(field: Field) -> datetime | None:
    return from_library_time(field.data) if field.data else None


def _local_or_none(moment: datetime | None) -> datetime | None:
    return to_library_time(moment) if moment else None


class SessionCreateForm(SessionForm):
    repeat_weeks = IntegerField(
        _l("Repeat weekly: number of further dates"),
        default=0,
        validators=[InputRequired(message=NUMBER_MESSAGE), NumberRange(min=0, max=20)],
        description=_l("0 for a single session; 5 makes a series of six weekly dates."),
    )
    request_id = HiddenField()
    submit = SubmitField(_l("Create session"))


class ActionForm(FlaskForm):
    """A button that changes something (register, cancel, close): the CSRF token and a submit."""

    submit = SubmitField(_l("Confirm"))


class GuestForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        validators=[DataRequired(message=REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(message=REQUIRED), Email(message=EMAIL_MESSAGE), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    submit = SubmitField(_l("Send me a confirmation link"))


class CheckInForm(FlaskForm):
    code = StringField(
        _l("Code shown in the room"),
        validators=[DataRequired(message=REQUIRED), Length(max=20)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Check in"))


RATING_CHOICES = _select(
    [
        ("5", _l("5 – excellent")),
        ("4", _l("4 – good")),
        ("3", _l("3 – fair")),
        ("2", _l("2 – poor")),
        ("1", _l("1 – very poor")),
    ]
)


class FeedbackForm(FlaskForm):
    rating = RadioField(
        _l("How would you rate the session?"),
        choices=RATING_CHOICES,
        validators=[InputRequired(message=_l("Choose a rating."))],
    )
    useful = TextAreaField(_l("What was useful?"), validators=[Length(max=4000)])
    comments = TextAreaField(_l("Any other comments?"), validators=[Length(max=4000)])
    submit = SubmitField(_l("Send feedback"))


ATTENDANCE_CHOICES = _select([("attended", _l("Came")), ("no_show", _l("Did not come"))])


class RosterForm(FlaskForm):
    """One radio group per person with a place, named ``r<registration id>``."""

    save = SubmitField(_l("Save attendance"))
    close = SubmitField(_l("Save and close the roster"))

    @classmethod
    def for_roster(cls, people: list[Registration], **kwargs: object) -> RosterForm:
        class Roster(cls):  # type: ignore[valid-type, misc]
            pass

        for person in people:
            default = (
                person.status.value if person.status.value in ("attended", "no_show") else None
            )
            setattr(
                Roster,
                f"r{person.id}",
                RadioField(
                    person.name, choices=ATTENDANCE_CHOICES, default=default, validate_choice=False
                ),
            )
        return Roster(**kwargs)

    def marks(self) -> dict[int, str]:
        return {
            int(field.name[1:]): field.data
            for field in self
            if field.name.startswith("r") and field.name[1:].isdigit() and field.data
        }


class RequestForm(FlaskForm):
    cohort = SelectField(
        _l("Cohort"),
        choices=[],
        default="",
        description=_l("The course section in ILMS, so that attendance shows in its report."),
    )
    course = StringField(
        _l("Course and section"),
        validators=[Length(max=200)],
        description=_l("For example: HIST 201, section 3. Optional when you choose a cohort."),
    )
    topics = TextAreaField(
        _l("What should the session cover?"),
        validators=[DataRequired(message=REQUIRED), Length(max=4000)],
    )
    preferred_dates = TextAreaField(
        _l("Preferred dates and times"),
        validators=[DataRequired(message=REQUIRED), Length(max=2000)],
        description=_l("A few dates and times that suit your class."),
    )
    students = IntegerField(
        _l("Expected number of students"),
        validators=[Optional(), NumberRange(min=1, max=10000)],
    )
    language = SelectField(
        _l("Language of instruction"), choices=lambda: _select(language_choices())
    )
    format = SelectField(_l("Format"), choices=lambda: _select(format_choices()))
    notes = TextAreaField(
        _l("Anything else the librarian should know"), validators=[Length(max=4000)]
    )
    submit = SubmitField(_l("Send request"))

    def set_cohorts(self, cohorts: list[tuple[int, str]]) -> None:
        self.cohort.choices = _select(
            [("", str(_l("None"))), *((str(i), label) for i, label in cohorts)]
        )

    def request_data(self) -> RequestData:
        return RequestData(
            cohort_id=int(self.cohort.data) if self.cohort.data else None,
            course=self.course.data or "",
            topics=self.topics.data,
            preferred_dates=self.preferred_dates.data,
            students=self.students.data,
            language=self.language.data,
            format=SessionFormat(self.format.data),
            notes=self.notes.data or "",
        )


class RequestAnswerForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the instructor"),
        validators=[Length(max=4000)],
    )
    accept = SubmitField(_l("Accept"))
    decline = SubmitField(_l("Decline"))


class ImportForm(FlaskForm):
    file = FileField(
        _l("Schedule (CSV file)"),
        validators=[
            FileRequired(message=_l("Choose a CSV file.")),
            FileAllowed(["csv", "txt"], message=_l("Choose a CSV file.")),
        ],
    )
    submit = SubmitField(_l("Check the file"))


class ImportConfirmForm(FlaskForm):
    content = HiddenField()
    submit = SubmitField(_l("Import these sessions"))


class AnnualReportForm(FlaskForm):
    year = HiddenField()
    term = HiddenField()
    submit = SubmitField(_l("Make the annual report (PDF)"))
