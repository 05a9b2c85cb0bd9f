"""Helpers for the exchange tests: fixture files, archives built from fixture folders, reading."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

from ilms.exchange import services
from ilms.exchange.items import ParseResult
from ilms.exchange.safety import Limits
from ilms.questions.types import Score, get_type

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: A one-pixel PNG, for images that a package holds.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def zip_folder(name: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip archive of a fixture folder (as the tool that wrote it would send it)."""
    folder = FIXTURES / name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
        for entry, data in (extra or {}).items():
            archive.writestr(entry, data)
    return buffer.getvalue()


def read(data: bytes, name: str = "upload", fmt: str | None = None, **limits: Any) -> ParseResult:
    return services.read_file(data, name, fmt, Limits(**limits))


def by_key(result: ParseResult) -> dict[str, dict[str, Any]]:
    return {item.key: item.question for item in result.imported}


def notes_of(result: ParseResult, key: str) -> tuple[str, ...]:
    return next(item.notes for item in result.imported if item.key == key)


def reasons(result: ParseResult) -> dict[str, str]:
    return {item.title: item.reason for item in result.skipped}


def grade(question: dict[str, Any], answer: object) -> Score:
    return get_type(question["type"]).grade(question, answer)
