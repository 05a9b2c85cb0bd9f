"""Forms of the LTI pages: platform registrations, content selection, the launch itself."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ilms.lti.models import LinkTarget
from ilms.lti.platforms import PlatformDetails

REQUIRED = _l("This field is required.")


class PlatformForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[Optional(), Length(max=200)],
        description=_l("How faculty and administrators will see it, e.g. University Canvas."),
    )
    issuer = StringField(
        _l("Issuer (platform id)"),
        validators=[DataRequired(message=REQUIRED), Length(max=255)],
        description=_l("Canvas: https://canvas.instructure.com. Moodle: the site's address."),
    )
    client_id = StringField(
        _l("Client id"), validators=[DataRequired(message=REQUIRED), Length(max=255)]
    )
    auth_login_url = StringField(
        _l("Authentication request URL (OIDC)"),
        validators=[DataRequired(message=REQUIRED), Length(max=2048)],
    )
    token_url = StringField(
        _l("Access token URL"), validators=[DataRequired(message=REQUIRED), Length(max=2048)]
    )
    jwks_url = StringField(
        _l("Public keyset URL (JWKS)"),
        validators=[DataRequired(message=REQUIRED), Length(max=2048)],
    )
    token_audience = StringField(
        _l("Token audience"),
        validators=[Optional(), Length(max=2048)],
        description=_l(
            "Only if the platform asks for one; otherwise its access token URL is used."
        ),
    )
    frame_origins = TextAreaField(
        _l("Web addresses that show ILMS in a frame"),
        validators=[Optional(), Length(max=2000)],
        description=_l(
            "One origin per line, e.g. https://university.instructure.com. "
            "Empty: the issuer's address."
        ),
    )
    deployment_ids = TextAreaField(
        _l("Deployment ids"),
        validators=[Optional(), Length(max=5000)],
        description=_l("One per line, as the platform shows them."),
    )
    submit = SubmitField(_l("Save platform"))

    def details(self) -> PlatformDetails:
        return PlatformDetails(
            name=self.name.data or "",
            issuer=self.issuer.data or "",
            client_id=self.client_id.data or "",
            auth_login_url=self.auth_login_url.data or "",
            token_url=self.token_url.data or "",
            jwks_url=self.jwks_url.data or "",
            token_audience=self.token_audience.data or "",
            frame_origins=self.frame_origins.data or "",
        )

    def deployment_list(self) -> list[str]:
        return [
            line.strip() for line in (self.deployment_ids.data or "").splitlines() if line.strip()
        ]


class DeploymentForm(FlaskForm):
    deployment_id = StringField(
        _l("Deployment id"), validators=[DataRequired(message=REQUIRED), Length(max=255)]
    )
    submit = SubmitField(_l("Add deployment"))


class ActionForm(FlaskForm):
    """A button that changes something (CSRF-protected, nothing else to fill in)."""


class DeepLinkForm(FlaskForm):
    module = RadioField(_l("Module"), coerce=int, validators=[InputRequired(message=REQUIRED)])
    target = RadioField(
        _l("What to place"),
        choices=[SelectChoice(t.value) for t in LinkTarget],
        default=LinkTarget.MODULE.value,
        validators=[InputRequired(message=REQUIRED)],
    )
    submit = SubmitField(_l("Place in the course"))

    def offer(self, modules: list[tuple[int, str]], targets: list[tuple[str, str]]) -> None:
        self.module.choices = [SelectChoice(str(i), title) for i, title in modules]
        self.target.choices = [SelectChoice(value, label) for value, label in targets]


class LaunchForm(FlaskForm):
    """The platform's form post: checked by state, nonce and signature instead of a CSRF token."""

    class Meta:
        csrf = False

    id_token = HiddenField()
    state = HiddenField()


class ResumeForm(FlaskForm):
    """Opens a launch in a new window: the one-time token replaces the CSRF token, because the
    framed page had no session to hold one."""

    class Meta:
        csrf = False

    token = HiddenField()
    submit = SubmitField(_l("Open ILMS in a new window"))
