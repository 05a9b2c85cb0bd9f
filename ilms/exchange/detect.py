"""Telling the format of a file from its first bytes, and refusing a format that does not fit."""

from __future__ import annotations

import re

from flask_babel import gettext as _

from ilms.exchange.items import ExchangeError
from ilms.exchange.safety import is_zip

FORMATS = {"gift": "GIFT", "moodlexml": "Moodle XML", "qti": "IMS QTI"}
_QTI_ROOTS = {
    "questestinterop",
    "assessmentItem",
    "qti-assessment-item",
    "manifest",
    "assessmentTest",
    "qti-assessment-test",
}
#: What may come before the root element: the XML declaration, comments, a document type.
_PROLOG_RE = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.S)
_ROOT_RE = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")


def root_name(data: bytes) -> str | None:
    """The local name of an XML file's root element, read from its first bytes, or None."""
    head = data[:65536].removeprefix(b"\xef\xbb\xbf")
    position = 0
    while match := _PROLOG_RE.match(head, position):
        position = match.end()
    match = _ROOT_RE.match(head, position)
    return match[1].decode("ascii").rsplit(":", 1)[-1] if match else None


def detect(data: bytes) -> str:
    """``qti`` for an archive or a QTI document, ``moodlexml`` for ``<quiz>``, else ``gift``."""
    if is_zip(data):
        return "qti"
    root = root_name(data)
    if root == "quiz":
        return "moodlexml"
    if root in _QTI_ROOTS:
        return "qti"
    if root is not None and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
        raise ExchangeError(
            _(
                "The file is XML with the root element <%(root)s>, which is neither Moodle XML "
                "nor QTI.",
                root=root,
            )
        )
    return "gift"


def choose(given: str | None, data: bytes) -> str:
    """The format to read ``data`` as: ``given`` when the file fits it, else the detected one."""
    found = detect(data)
    if given is None or given == found:
        return found
    if given not in FORMATS:
        raise ExchangeError(
            _("Unknown format '%(format)s': use gift, moodlexml or qti.", format=given)
        )
    raise ExchangeError(
        _(
            "The file looks like %(found)s, not %(given)s; choose %(found_key)s or let ILMS "
            "tell the format.",
            found=FORMATS[found],
            given=FORMATS[given],
            found_key=found,
        )
    )
