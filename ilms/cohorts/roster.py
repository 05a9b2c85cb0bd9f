"""Roster files: reading the student lists spreadsheets export, writing a roster with scores.

Reading accepts what Excel, LibreOffice and Google Sheets save as CSV: comma, semicolon or tab
separated; UTF-8 with or without a byte-order mark, UTF-16 with one, or CP1251 (Excel in a
Russian or Kazakh locale); any line endings. Pure functions: no database, no request.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from ilms.errors import DomainError

MAX_ROSTER_BYTES = 1024 * 1024
MAX_ROSTER_ROWS = 5000
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
DELIMITERS = (",", ";", "\t")
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: The start of files that are certainly not CSV: ZIP (an .xlsx or .ods workbook), OLE (.xls),
#: PDF, PNG, JPEG, GIF.
BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")
WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
#: Column headers, compared casefolded without spaces and punctuation (``E-mail`` -> ``email``).
HEADERS = {
    "email": (
        "email",
        "emailaddress",
        "mail",
        "эл.почта",
        "почта",
        "электроннаяпочта",
        "адресэлектроннойпочты",
        "емейл",
        "имейл",
        "пошта",
        "электрондықпошта",
        "электрондықпоштамекенжайы",
    ),
    "name": (
        "name",
        "fullname",
        "studentname",
        "student",
        "фио",
        "имя фамилия",
        "полноеимя",
        "студент",
        "атыжөні",
        "толықаты",
        "толықатыжөні",
        "білімалушы",
        "студенттіңатыжөні",
    ),
    "first_name": ("firstname", "givenname", "forename", "имя", "аты", "есімі"),
    "last_name": ("lastname", "surname", "familyname", "фамилия", "тегі"),
    "middle_name": ("middlename", "patronymic", "отчество", "әкесініңаты"),
}
#: The order in which name parts make a person's name.
NAME_PARTS = ("first_name", "middle_name", "last_name")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def header_key(text: str) -> str:
    """Letters and digits of a header, casefolded: ``" E-mail "`` becomes ``"email"``."""
    folded = unicodedata.normalize("NFC", text).casefold().replace("ё", "е")
    return "".join(ch for ch in folded if ch.isalnum())


_COLUMNS = {header_key(alias): column for column, aliases in HEADERS.items() for alias in aliases}


@dataclass(frozen=True)
class RowError:
    column: str  #: the column's header as written in the file
    message: str


@dataclass(frozen=True)
class RosterRow:
    number: int  #: the row as a spreadsheet numbers it: the header is row 1
    email: str  #: lower-cased; empty when missing
    name: str
    errors: tuple[RowError, ...] = ()


@dataclass(frozen=True)
class ParsedRoster:
    encoding: str
    delimiter: str
    columns: dict[str, str]  #: our column name -> the header as written in the file
    ignored: tuple[str, ...]  #: headers of columns that are not read
    rows: tuple[RosterRow, ...]


# --- Reading --------------------------------------------------------------------------------


def parse_roster(data: bytes) -> ParsedRoster:
    """The rows of a roster file, each with what is wrong with it; file-level problems raise."""
    text, encoding = decode(data)
    text, delimiter = _excel_separator_line(text)
    delimiter = delimiter or choose_delimiter(text)
    records = _records(text, delimiter)
    start = next((i for i, record in enumerate(records) if _filled(record)), None)
    if start is None:
        raise DomainError(_("The file is empty. Choose a CSV file with a list of students."))
    columns, ignored = map_header(records[start])
    headers = {column: records[start][index].strip() for column, index in columns.items()}
    rows = [
        _read_row(number, record, columns, headers)
        for number, record in enumerate(records[start + 1 :], start=start + 2)
        if _filled(record)
    ]
    if not rows:
        raise DomainError(_("The file has a header row but no students under it."))
    if len(rows) > MAX_ROSTER_ROWS:
        raise DomainError(
            _(
                "The file lists more than %(n)d students; split it into smaller files.",
                n=MAX_ROSTER_ROWS,
            )
        )
    return ParsedRoster(
        encoding=encoding,
        delimiter=delimiter,
        columns=headers,
        ignored=ignored,
        rows=tuple(mark_duplicates(rows, headers["email"])),
    )


def _filled(record: Sequence[str]) -> bool:
    return any(cell.strip() for cell in record)


def _excel_separator_line(text: str) -> tuple[str, str | None]:
    """Excel may start a CSV file with ``sep=;``: the separator, and the text without that line."""
    match = re.match(r"sep=([,;\t])[ \t]*(?:\r\n|\n|\r|$)", text)
    if match is None:
        return text, None
    return text[match.end() :], match.group(1)


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and encoding: by byte-order mark, else UTF-8, else CP1251."""
    if len(data) > MAX_ROSTER_BYTES:
        raise DomainError(
            _(
                "The file is larger than %(size)d KB. Split the list into smaller files.",
                size=MAX_ROSTER_BYTES // 1024,
            )
        )
    if not data.strip():
        raise DomainError(_("The file is empty. Choose a CSV file with a list of students."))
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return _checked(data.decode(encoding, errors="replace"), encoding)
    if data.startswith(WORKBOOK_MAGIC):
        raise DomainError(
            _(
                "This is a spreadsheet workbook, not a CSV file. In your spreadsheet program, "
                "choose Save as (or Download as) and the CSV format, then upload that file."
            )
        )
    if data.startswith(BINARY_MAGIC) or b"\x00" in data:
        raise not_csv()
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return _checked(data.decode("cp1251"), "cp1251")
    except UnicodeDecodeError as error:
        raise not_csv() from error


def not_csv() -> DomainError:
    return DomainError(
        _(
            "This file is not a CSV text file. Save the list of students from your spreadsheet "
            "program in the CSV format and upload that file."
        )
    )


def _checked(text: str, encoding: str) -> tuple[str, str]:
    """Refuse text with control characters: a binary file decoded by chance."""
    if "\ufffd" in text or any(
        unicodedata.category(ch) == "Cc" and ch not in "\t\r\n" for ch in text
    ):
        raise not_csv()
    return text.removeprefix("\ufeff"), encoding


def _records(text: str, delimiter: str = ",") -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise not_csv() from error


def choose_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that makes most known columns of the header row."""
    first = next((line for line in text.splitlines() if line.strip()), "")

    def fit(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([first], delimiter=delimiter), [])
        known = sum(header_key(cell) in _COLUMNS for cell in cells)
        return known, len(cells)

    return max(DELIMITERS, key=fit)


def map_header(header: Sequence[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Our column name -> its index in the file, and the headers that are not read."""
    columns: dict[str, int] = {}
    ignored = []
    for index, cell in enumerate(header):
        column = _COLUMNS.get(header_key(cell))
        if column is None:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        if column in columns:
            raise DomainError(
                _(
                    "Two columns, “%(first)s” and “%(second)s”, hold the same thing. "
                    "Keep one of them and upload the file again.",
                    first=header[columns[column]].strip(),
                    second=cell.strip(),
                )
            )
        columns[column] = index
    if "email" not in columns:
        raise DomainError(
            _(
                "The file has no email column. Its first row must name the columns, for "
                "example: email,name"
            )
        )
    return columns, tuple(ignored)


def _cell(record: Sequence[str], index: int | None) -> str:
    if index is None or index >= len(record):
        return ""
    return " ".join(record[index].split())


def _read_row(
    number: int, record: Sequence[str], columns: dict[str, int], headers: dict[str, str]
) -> RosterRow:
    raw_email = _cell(record, columns["email"])
    name = _cell(record, columns.get("name")) or " ".join(
        part for part in (_cell(record, columns.get(column)) for column in NAME_PARTS) if part
    )
    errors = []
    if not raw_email:
        errors.append(RowError(headers["email"], _("The email address is missing.")))
    elif (problem := email_problem(raw_email)) is not None:
        errors.append(RowError(headers["email"], problem))
    if len(name) > MAX_NAME_LENGTH:
        name_header = headers.get("name") or next(headers[c] for c in NAME_PARTS if c in headers)
        errors.append(
            RowError(name_header, _("The name is longer than %(n)d characters.", n=MAX_NAME_LENGTH))
        )
    return RosterRow(number=number, email=raw_email.lower(), name=name, errors=tuple(errors))


def email_problem(value: str) -> str | None:
    """Why ``value`` is not an email address a person can be invited at, or None."""
    if len(value) > MAX_EMAIL_LENGTH:
        return _("The email address is too long.")
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return _("“%(value)s” is not an email address.", value=value)
    return None


def mark_duplicates(rows: Iterable[RosterRow], email_header: str) -> list[RosterRow]:
    """The rows, with an error on each repetition of an email address already listed."""
    first_seen: dict[str, int] = {}
    marked = []
    for row in rows:
        if row.errors:
            marked.append(row)
        elif row.email in first_seen:
            message = _("This email address is also on row %(row)d.", row=first_seen[row.email])
            marked.append(
                RosterRow(row.number, row.email, row.name, (RowError(email_header, message),))
            )
        else:
            first_seen[row.email] = row.number
            marked.append(row)
    return marked


# --- Writing --------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ tab or CR
    gets a leading single quote (OWASP's advice on CSV injection). Numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document for spreadsheets: a byte-order mark (so Excel reads UTF-8), CRLF lines."""
    stream = io.StringIO()
    stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return stream.getvalue()
