"""Response and key files exported by other tools, read into phase matrices; report tables written as CSV.

What is accepted, and how answers are graded, is described in docs/statistics.md ("Files").
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ilms.reports.stats import Choices, PhaseMatrix

DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
SNIFF_LINES = 50
#: An item with more distinct answers than this is not a choice item: no distractor analysis.
MAX_OPTIONS = 12
EXAMPLES = 5
#: Header names of the student identifier column, most specific first (compared casefolded,
#: without spaces and punctuation).
ID_HEADERS = (
    "studentid",
    "idstudent",
    "studentnumber",
    "idnumber",
    "id",
    "userid",
    "username",
    "login",
    "email",
    "emailaddress",
    "mail",
    "student",
    "name",
    "fullname",
    "idстудента",
    "номерстудента",
    "студент",
    "логин",
    "почта",
    "электроннаяпочта",
    "фио",
    "студентid",
    "білімалушы",
    "атыжөні",
)
#: Other columns that describe the student or the attempt, never items (Moodle, Google Forms ...).
NON_ITEM_HEADERS = frozenset(
    {
        "surname",
        "lastname",
        "firstname",
        "group",
        "section",
        "institution",
        "department",
        "state",
        "status",
        "startedon",
        "completed",
        "completedon",
        "timetaken",
        "timestamp",
        "score",
        "totalscore",
        "total",
        "фамилия",
        "имя",
        "отчество",
        "группа",
        "отметкавремени",
        "баллы",
        "итого",
        "тегі",
        "аты",
        "топ",
    }
)
GRADE_HEADER = re.compile(r"^\s*(grade|оценка|баға)\s*/\s*\d+(?:[.,]\d+)?\s*$", re.IGNORECASE)
MAX_IN_HEADER = re.compile(r"^(?P<name>.*?\S)\s*/\s*(?P<max>\d+(?:[.,]\d+)?)\s*$")
#: Cells that mean "no answer" in exports (Moodle writes a dash).
BLANKS = frozenset({"", "-", "–", "—"})
#: Cells that mean "not graded yet": left out of the statistics, like ungraded open responses.
UNGRADED = frozenset({"requires grading", "not yet graded", "требуется оценка", "нужно оценить"})
SPREADSHEET_ERROR = re.compile(
    r"^#(n/a|value!|ref!|div/0!|name\?|num!|null!|error!?)$", re.IGNORECASE
)
SINGLE_OPTION = re.compile(r"^\(?([^\W_])[).]?$")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class TabularError(ValueError):
    """A file that cannot be read as responses or a key; the message says what to change."""


# --- Reading --------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: by byte-order mark, else UTF-8, else CP1251 (Windows Cyrillic)."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data.decode(encoding), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), "cp1251"
    except UnicodeDecodeError as error:
        raise TabularError("the file is neither UTF-8 nor CP1251 text") from error


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the first lines into most equal rows."""
    sample = "\n".join(text.splitlines()[:SNIFF_LINES])

    def fit(delimiter: str) -> tuple[bool, int, int]:
        widths = [len(row) for row in _rows(sample, delimiter)]
        if not widths:
            return False, 0, 0
        return widths[0] > 1, sum(w == widths[0] for w in widths), widths[0]

    return max(DELIMITERS.values(), key=fit)


def _rows(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [row for row in reader if any(cell.strip() for cell in row)]


@dataclass(frozen=True)
class Table:
    """A file's rows (blank lines left out) with the file line each starts on (the header is 1)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    encoding: str
    delimiter: str


def read_table(path: Path, delimiter: str | None = None) -> Table:
    text, encoding = decode(path.read_bytes())
    delimiter = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, lines = [], []
    start = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            rows.append(tuple(cell.strip() for cell in row))
            lines.append(start)
        start = reader.line_num + 1
    if not rows:
        raise TabularError(f"{path.name} is empty")
    return Table(rows[0], tuple(rows[1:]), tuple(lines[1:]), encoding, delimiter)


def header_key(text: str) -> str:
    """A header compared loosely: casefolded, without spaces, underscores or punctuation."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


# --- The key --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One value per item, by item name or by position: correct options, or maximum points."""

    values: tuple[str, ...]
    names: tuple[str, ...] | None = None

    def for_items(self, items: Sequence[str]) -> tuple[str, ...]:
        if self.names is None:
            values = self.values
            if len(values) == len(items) + 1:
                values = values[1:]  # a header cell above a column of values
            if len(values) != len(items):
                raise TabularError(
                    f"the key has {len(values)} values but the responses have {len(items)} items"
                )
            return values
        lookup = {header_key(n): v for n, v in zip(self.names, self.values, strict=True)}
        missing = [item for item in items if header_key(item) not in lookup]
        if missing:
            raise TabularError(f"the key has no value for {', '.join(missing[:EXAMPLES])}")
        return tuple(lookup[header_key(item)] for item in items)


def read_key(path: Path, delimiter: str | None = None) -> Key:
    """A key as a row (optionally under a row of item names) or as a column (optionally beside one)."""
    table = read_table(path, delimiter)
    rows = [_trim(row) for row in (table.header, *table.rows)]
    widths = {len(row) for row in rows}
    if len(rows) == 1:
        return Key(rows[0])
    if widths == {1}:
        return Key(tuple(row[0] for row in rows))
    if len(rows) == 2 and len(rows[0]) == len(rows[1]):
        return Key(rows[1], rows[0])
    if widths == {2}:
        return Key(tuple(row[1] for row in rows), tuple(row[0] for row in rows))
    raise TabularError(
        "a key file has one value per item: one row, one column, a row under the item names, "
        "or two columns (item, value)"
    )


def _trim(row: tuple[str, ...]) -> tuple[str, ...]:
    """Drop the empty cells spreadsheets leave after the last value."""
    end = len(row)
    while end and not row[end - 1]:
        end -= 1
    return row[:end]


# --- Responses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Which column identifies students, and which are items."""

    id_column: int | None
    item_columns: tuple[int, ...]
    item_names: tuple[str, ...]
    ignored: tuple[str, ...]


def find_layout(header: Sequence[str], id_column: str | None, ignore: Iterable[str]) -> Layout:
    keys = [header_key(h) for h in header]
    skip = {header_key(name) for name in ignore}
    identifier = _id_column(header, keys, id_column)
    items, ignored = [], []
    for index, (name, key) in enumerate(zip(header, keys, strict=True)):
        if index == identifier:
            continue
        if key in skip or key in NON_ITEM_HEADERS or key in ID_HEADERS or GRADE_HEADER.match(name):
            ignored.append(name)
        else:
            items.append(index)
    if not items:
        raise TabularError("no item columns: the file needs one column per item")
    names = [header[i] or f"column {i + 1}" for i in items]
    if len({header_key(n) for n in names}) != len(names):
        raise TabularError("two item columns have the same name")
    return Layout(identifier, tuple(items), tuple(names), tuple(ignored))


def _id_column(header: Sequence[str], keys: Sequence[str], wanted: str | None) -> int | None:
    if wanted is not None:
        if header_key(wanted) not in keys:
            raise TabularError(f"there is no column {wanted!r}")
        return keys.index(header_key(wanted))
    for name in ID_HEADERS:
        if name in keys:
            return keys.index(name)
    return None


@dataclass
class ColumnNotes:
    """What a column held besides answers: blank and unexpected cells (counted wrong), ungraded ones."""

    blank: int = 0
    ungraded: int = 0
    unexpected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Loaded:
    """A file read as one phase: the matrix, what was noticed on the way, and how it was read."""

    matrix: PhaseMatrix
    warnings: tuple[str, ...]
    has_ids: bool
    source: dict[str, Any]


def load_phase(
    path: Path,
    phase: str,
    *,
    key: Key | None = None,
    mode: str = "auto",
    id_column: str | None = None,
    delimiter: str | None = None,
    ignore: Iterable[str] = (),
) -> Loaded:
    """Read a response file: one row per student, one column per item.

    ``mode`` "points" reads cells as points (the key, if any, gives maximum points); "choices"
    grades them against the key; "auto" is "choices" when there is a key.
    """
    table = read_table(path, delimiter)
    layout = find_layout(table.header, id_column, ignore)
    mode = ("choices" if key is not None else "points") if mode == "auto" else mode
    if mode == "choices" and key is None:
        raise TabularError("grading chosen options needs a key (--key)")
    rows, lines, notes = _cells(table, layout, phase)
    answered = [any(cell not in BLANKS for cell in row) for row in rows]
    notes += _empty_rows(lines, answered, phase)
    rows = [row for row, keep in zip(rows, answered, strict=True) if keep]
    lines = [line for line, keep in zip(lines, answered, strict=True) if keep]
    students = _students(table, layout, lines, phase)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(layout.item_names)
    if mode == "choices":
        assert key is not None
        expected = key.for_items(layout.item_names)
        matrix, column_notes = _graded(phase, students, layout.item_names, columns, lines, expected)
    else:
        maxima = _maxima(key, layout.item_names)
        matrix, column_notes = _points(phase, students, layout.item_names, columns, lines, maxima)
    notes += _describe_notes(phase, layout, column_notes)
    source = _source(path, table, layout, mode)
    return Loaded(matrix, tuple(notes), layout.id_column is not None, source)


def _source(path: Path, table: Table, layout: Layout, mode: str) -> dict[str, Any]:
    """How a file was read, for the report's ``source``."""
    return {
        "file": path.name,
        "encoding": table.encoding,
        "delimiter": {v: k for k, v in DELIMITERS.items()}.get(table.delimiter, table.delimiter),
        "mode": mode,
        "id_column": None if layout.id_column is None else table.header[layout.id_column],
    }


def _cells(
    table: Table, layout: Layout, phase: str
) -> tuple[list[tuple[str, ...]], list[int], list[str]]:
    width = len(table.header)
    rows, notes = [], []
    overlong = [line for row, line in zip(table.rows, table.lines, strict=True) if any(row[width:])]
    if overlong:
        notes.append(f"{phase}: cells beyond the last column ignored on line(s) {_lines(overlong)}")
    for row in table.rows:
        padded = row + ("",) * (width - len(row))
        rows.append(tuple(padded[i] for i in layout.item_columns))
    return rows, list(table.lines), notes


def _empty_rows(lines: Sequence[int], answered: Sequence[bool], phase: str) -> list[str]:
    empty = [line for line, keep in zip(lines, answered, strict=True) if not keep]
    if not empty:
        return []
    return [f"{phase}: line(s) {_lines(empty)} have no answers and are not counted as attempts"]


def _students(table: Table, layout: Layout, lines: Sequence[int], phase: str) -> tuple[str, ...]:
    if layout.id_column is None:
        # Without identifiers, rows of the two phases must never be matched to each other.
        return tuple(f"{phase}-line-{line}" for line in lines)
    by_line = dict(zip(table.lines, table.rows, strict=True))
    students = []
    for line in lines:
        row = by_line[line]
        value = row[layout.id_column] if layout.id_column < len(row) else ""
        if not value:
            raise TabularError(f"{phase}: line {line} has no student identifier")
        students.append(value)
    duplicates = [s for s, count in Counter(students).items() if count > 1]
    if duplicates:
        raise TabularError(
            f"{phase}: {len(duplicates)} student identifier(s) appear on more than one line; "
            "keep one attempt per student"
        )
    return tuple(students)


def _lines(lines: Sequence[int]) -> str:
    shown = ", ".join(str(line) for line in lines[:EXAMPLES])
    return shown + (f" and {len(lines) - EXAMPLES} more" if len(lines) > EXAMPLES else "")


def answer_text(cell: str) -> str:
    """An answer compared loosely: NFKC, trimmed, spaces collapsed, casefolded; "(b)", "B)" -> "b"."""
    text = " ".join(unicodedata.normalize("NFKC", cell).split()).casefold()
    single = SINGLE_OPTION.match(text)
    return single.group(1) if single else text


@dataclass(frozen=True, eq=False)
class GradedColumn:
    """One item's answers graded: scores (1, 0, NaN ungraded), option labels, codes (-1: none)."""

    values: np.ndarray
    options: tuple[str, ...]
    codes: np.ndarray
    notes: ColumnNotes


def _graded(
    phase: str,
    students: tuple[str, ...],
    items: Sequence[str],
    columns: Sequence[Sequence[str]],
    lines: Sequence[int],
    key: Sequence[str],
) -> tuple[PhaseMatrix, list[ColumnNotes]]:
    n, k = len(students), len(items)
    graded = [
        grade_column(column, lines, answer) for column, answer in zip(columns, key, strict=True)
    ]
    scores = np.zeros((n, k))
    chosen = np.zeros((n, k, max((len(g.options) for g in graded), default=0)), dtype=bool)
    for j, column in enumerate(graded):
        scores[:, j] = column.values
        picked = column.codes >= 0
        chosen[np.flatnonzero(picked), j, column.codes[picked]] = True
    keys = tuple(
        frozenset({_label(answer_text(answer))}) if g.options else frozenset()
        for answer, g in zip(key, graded, strict=True)
    )
    choices = Choices(tuple(g.options for g in graded), keys, chosen)
    matrix = PhaseMatrix(phase, students, tuple(items), np.ones(k), scores, None, choices)
    return matrix, [g.notes for g in graded]


def grade_column(column: Sequence[str], lines: Sequence[int], key: str) -> GradedColumn:
    """Grade one item's cells against its key; blank and unexpected answers score 0 and are noted."""
    expected = answer_text(key)
    lettered = bool(SINGLE_OPTION.match(expected))
    notes = ColumnNotes()
    answers: list[str | None] = []
    values = np.zeros(len(column))
    for row, (cell, line) in enumerate(zip(column, lines, strict=True)):
        answer = answer_text(cell)
        if cell in BLANKS:
            notes.blank += 1
            answers.append(None)
        elif answer in UNGRADED:
            notes.ungraded += 1
            values[row] = math.nan
            answers.append(None)
        elif SPREADSHEET_ERROR.match(answer) or (lettered and not SINGLE_OPTION.match(answer)):
            notes.unexpected.append((line, cell))
            answers.append(None)
        else:
            values[row] = float(answer == expected)
            answers.append(answer)
    distinct = sorted({a for a in answers if a is not None} | {expected})
    if len(distinct) > MAX_OPTIONS:
        return GradedColumn(values, (), np.full(len(column), -1), notes)
    code = {a: c for c, a in enumerate(distinct)}
    codes = np.array([-1 if a is None else code[a] for a in answers], dtype=int)
    return GradedColumn(values, tuple(_label(a) for a in distinct), codes, notes)


def _label(answer: str) -> str:
    """Single-letter options are shown as capitals, as tests print them."""
    return answer.upper() if len(answer) == 1 else answer


def _maxima(key: Key | None, items: Sequence[str]) -> list[float | None]:
    """Each item's maximum: from the key, else from a "/ max" suffix in the header, else unknown."""
    if key is not None:
        values = key.for_items(items)
        parsed = [parse_number(v) for v in values]
        if any(p is None or p <= 0 for p in parsed):
            raise TabularError("in points mode the key gives each item's maximum points (numbers)")
        return list(parsed)
    maxima: list[float | None] = []
    for name in items:
        match = MAX_IN_HEADER.match(name)
        maxima.append(parse_number(match.group("max")) if match else None)
    return maxima


def parse_number(text: str) -> float | None:
    """A number as spreadsheets write it: decimal comma or point, spaces as thousands separators."""
    cleaned = text.replace("\u00a0", "").replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _points(
    phase: str,
    students: tuple[str, ...],
    items: Sequence[str],
    columns: Sequence[Sequence[str]],
    lines: Sequence[int],
    maxima: Sequence[float | None],
) -> tuple[PhaseMatrix, list[ColumnNotes]]:
    n, k = len(students), len(items)
    scores = np.zeros((n, k))
    notes, limits = [], []
    for j, (column, maximum) in enumerate(zip(columns, maxima, strict=True)):
        values, column_notes, limit = _points_column(column, lines, maximum)
        scores[:, j] = values
        notes.append(column_notes)
        limits.append(limit)
    names = tuple(_strip_max(name) for name in items)
    return PhaseMatrix(phase, students, names, np.array(limits), scores), notes


def _strip_max(name: str) -> str:
    match = MAX_IN_HEADER.match(name)
    return match.group("name") if match else name


def _points_column(
    column: Sequence[str], lines: Sequence[int], maximum: float | None
) -> tuple[np.ndarray, ColumnNotes, float]:
    notes = ColumnNotes()
    values = np.zeros(len(column))
    numbers: list[tuple[int, int, str, float | None]] = []
    for row, (cell, line) in enumerate(zip(column, lines, strict=True)):
        if cell in BLANKS:
            notes.blank += 1
        elif answer_text(cell) in UNGRADED:
            notes.ungraded += 1
            values[row] = math.nan
        else:
            numbers.append((row, line, cell, parse_number(cell)))
    valid = [number for *_, number in numbers if number is not None and number >= 0]
    # Without a stated maximum, the best guess is the highest mark rounded up (at least 1).
    limit = maximum if maximum is not None else float(max(1, math.ceil(max(valid, default=1))))
    for row, line, cell, number in numbers:
        if number is None or number < 0 or number > limit * (1 + 1e-9):
            notes.unexpected.append((line, cell))
        else:
            values[row] = number
    return values, notes, limit


def _describe_notes(phase: str, layout: Layout, notes: Sequence[ColumnNotes]) -> list[str]:
    names = layout.item_names
    messages = []
    if layout.id_column is None:
        messages.append(
            f"{phase}: no student identifier column was found, so students are known by line "
            "(name the column id, student_id, email ... or pass --id-column)"
        )
    if layout.ignored:
        messages.append(f"{phase}: columns not treated as items: {', '.join(layout.ignored)}")
    blank = {name: n.blank for name, n in zip(names, notes, strict=True) if n.blank}
    if blank:
        messages.append(
            f"{phase}: {sum(blank.values())} blank answer(s) counted as wrong ({_per_item(blank)})"
        )
    ungraded = {name: n.ungraded for name, n in zip(names, notes, strict=True) if n.ungraded}
    if ungraded:
        messages.append(
            f"{phase}: {sum(ungraded.values())} answer(s) not graded yet, left out "
            f"({_per_item(ungraded)})"
        )
    unexpected = [(name, u) for name, n in zip(names, notes, strict=True) for u in n.unexpected]
    if unexpected:
        examples = "; ".join(
            f"{name} line {line}: {text!r}" for name, (line, text) in unexpected[:EXAMPLES]
        )
        messages.append(
            f"{phase}: {len(unexpected)} unexpected answer(s) counted as wrong (e.g. {examples})"
        )
    return messages


def _per_item(counts: dict[str, int]) -> str:
    shown = ", ".join(f"{name}: {n}" for name, n in list(counts.items())[:EXAMPLES])
    return shown + (", ..." if len(counts) > EXAMPLES else "")


# --- Writing --------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ tab or CR
    gets a leading single quote (OWASP's CSV injection advice). Numbers are left as numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _writer(stream: IO[str]) -> Any:
    # Quoting every text cell keeps separators, quotes and line breaks inside it harmless.
    return csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")


ITEM_COLUMNS = (
    "phase",
    "question",
    "n",
    "max_points",
    "facility",
    "sd",
    "discrimination",
    "discriminative_efficiency",
    "point_biserial",
    "upper_lower",
    "alpha_if_deleted",
    "omitted",
)


def write_item_statistics(report: dict[str, Any], stream: IO[str]) -> None:
    """One row per item and phase; options as "A*=0.7; B=0.2" (the key starred)."""
    writer = _writer(stream)
    writer.writerow([*ITEM_COLUMNS, "flags", "options", "suppressed"])
    for item in report["items"]:
        writer.writerow(
            [safe_cell(item.get(column)) for column in ITEM_COLUMNS]
            + [
                safe_cell(" ".join(item["flags"]) if item["flags"] is not None else None),
                safe_cell(_options_text(item["options"])),
                safe_cell(" ".join(item["suppressed_keys"])),
            ]
        )


def _options_text(options: Sequence[dict[str, Any]]) -> str:
    parts = []
    for option in options:
        share = "" if option["share"] is None else f"{option['share']:g}"
        parts.append(f"{option['option']}{'*' if option['key'] else ''}={share}")
    return "; ".join(parts)


STUDENT_COLUMNS = ("student", "pre", "post", "gain", "hake_g", "language_pre", "language_post")


def write_student_scores(report: dict[str, Any], stream: IO[str]) -> None:
    """One row per student: percentage scores, gain (points) and individual normalised gain."""
    students = report.get("students")
    if not students or students["rows"] is None:
        raise TabularError("the report holds no per-student scores (they are suppressed or absent)")
    rows = students["rows"]
    columns = list(STUDENT_COLUMNS)
    if any("name" in row for row in rows):
        columns.insert(1, "name")
    writer = _writer(stream)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in columns])
