"""Forms of the report pages: the PDF's options and the module report's term."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField
from wtforms.fields.choices import SelectChoice

from ilms.reports.models import Appendix

APPENDIX_NAMES = {
    Appendix.NONE: _l("No list of students"),
    Appendix.NAMES: _l("Each student's scores, with names"),
    Appendix.PSEUDONYMS: _l("Each student's scores, with pseudonyms instead of names"),
}


class PdfForm(FlaskForm):
    """Asks for a PDF to be prepared in the background (POST, with a CSRF token)."""

    appendix = RadioField(
        _l("Appendix"),
        choices=[SelectChoice(a.value, label) for a, label in APPENDIX_NAMES.items()],
        default=Appendix.NONE.value,
    )

    def limit(self, allowed: bool) -> None:
        """Offer only "no list of students" when per-student scores are not allowed."""
        if not allowed:
            self.appendix.choices = [
                SelectChoice(Appendix.NONE.value, APPENDIX_NAMES[Appendix.NONE])
            ]


class PdfLinkForm(PdfForm):
    """The same options for a PDF rendered at once (GET: a link, no token)."""

    class Meta:
        csrf = False


class TermForm(FlaskForm):
    """The term filter of a module's report across cohorts (GET)."""

    class Meta:
        csrf = False

    term = SelectField(_l("Term"), choices=[], default="")
