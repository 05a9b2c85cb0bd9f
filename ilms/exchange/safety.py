"""Limits that keep hostile files out, quickly and in bounded memory.

Uploads have a size limit. Zip archives are checked before anything is unpacked: the number of
entries, their declared and actual sizes, how much they were compressed, and their paths (no
absolute paths, no ``..``, no links). XML is parsed by defusedxml with document types forbidden
(no external entities, no entity expansion), and with limits on nesting and element count.
"""

from __future__ import annotations

import re
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError
from flask_babel import gettext as _

from ilms.exchange.items import ExchangeError

MB = 1024 * 1024
#: An entry may be compressed this many times at most (a zip bomb is compressed far more).
MAX_RATIO = 100
#: Ratios are checked from this size on; small files of repeated text compress well too.
RATIO_FROM = MB
#: Element nesting in an XML file; deeper is refused (real files nest a few dozen levels).
MAX_XML_DEPTH = 200
#: Elements in one XML file (a large Moodle bank has some tens of thousands).
MAX_XML_ELEMENTS = 500_000


@dataclass(frozen=True)
class Limits:
    max_upload: int = 20 * MB
    max_unzipped: int = 100 * MB
    max_entries: int = 2000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        return cls(
            max_upload=int(config["EXCHANGE_MAX_UPLOAD_BYTES"]),
            max_unzipped=int(config["EXCHANGE_MAX_UNZIPPED_BYTES"]),
            max_entries=int(config["EXCHANGE_MAX_ENTRIES"]),
        )


def size_text(size: int) -> str:
    """A size as people read it: ``20 MB``, ``1.5 MB``, ``800 KB``."""
    if size < MB:
        return f"{-(-size // 1024)} KB"
    return f"{size / MB:.1f}".removesuffix(".0") + " MB"


def check_upload(size: int, limits: Limits) -> None:
    if size > limits.max_upload:
        raise ExchangeError(
            _(
                "The file is %(size)s; files of at most %(max)s can be imported.",
                size=size_text(size),
                max=size_text(limits.max_upload),
            )
        )
    if size == 0:
        raise ExchangeError(_("The file is empty."))


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def decode_text(data: bytes, name: str) -> str:
    """A text file as UTF-8 (with or without a byte order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ExchangeError(
            _(
                "%(name)s is not UTF-8 text (byte %(position)d); save it as UTF-8 and try again.",
                name=name,
                position=error.start,
            )
        ) from error


# --- Zip archives ---------------------------------------------------------------------------------


class Archive:
    """A zip archive whose entries passed the checks; reading stays within the size budget."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        try:
            self._zip = zipfile.ZipFile(BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
            raise ExchangeError(_("The file is not a readable zip archive.")) from error
        if len(infos) > limits.max_entries:
            raise ExchangeError(
                _(
                    "The archive holds %(count)d entries; at most %(max)d are allowed.",
                    count=len(infos),
                    max=limits.max_entries,
                )
            )
        self._infos = {_checked_name(info): info for info in infos if not info.is_dir()}
        total = sum(info.file_size for info in self._infos.values())
        if total > limits.max_unzipped:
            raise ExchangeError(
                _(
                    "The archive unpacks to %(size)s; at most %(max)s are allowed.",
                    size=size_text(total),
                    max=size_text(limits.max_unzipped),
                )
            )
        for name, info in self._infos.items():
            _check_entry(name, info)
        self._budget = limits.max_unzipped

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def has(self, name: str) -> bool:
        return name in self._infos

    def find(self, name: str) -> str | None:
        """The entry called ``name``, compared without case (as tools on Windows write them)."""
        if name in self._infos:
            return name
        folded = name.casefold()
        return next((entry for entry in self._infos if entry.casefold() == folded), None)

    def read(self, name: str) -> bytes:
        info = self._infos[name]
        try:
            with self._zip.open(info) as entry:
                data = entry.read(min(info.file_size, self._budget) + 1)
        except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as error:
            raise ExchangeError(
                _("The entry %(name)s of the archive cannot be read.", name=name)
            ) from error
        if len(data) > info.file_size or len(data) > self._budget:
            raise ExchangeError(_("The entry %(name)s is larger than the archive says.", name=name))
        self._budget -= len(data)
        return data


def _checked_name(info: zipfile.ZipInfo) -> str:
    name = info.filename.replace("\\", "/")
    parts = name.split("/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in parts or "\x00" in name:
        raise ExchangeError(
            _(
                "The archive has an entry outside its own folder (%(name)s); it is refused.",
                name=info.filename,
            )
        )
    return "/".join(part for part in parts if part not in ("", "."))


def _check_entry(name: str, info: zipfile.ZipInfo) -> None:
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ExchangeError(
            _("The archive has a link (%(name)s); archives with links are refused.", name=name)
        )
    if info.flag_bits & 0x1:
        raise ExchangeError(_("The entry %(name)s is encrypted.", name=name))
    compressed = max(info.compress_size, 1)
    if info.file_size >= RATIO_FROM and info.file_size / compressed > MAX_RATIO:
        raise ExchangeError(
            _(
                "The entry %(name)s is compressed %(ratio)d times, which only a zip bomb is; "
                "it is refused.",
                name=name,
                ratio=info.file_size // compressed,
            )
        )


# --- XML ------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Builder(TreeBuilder):
    """Builds the tree with local names only (no namespaces), counting elements and depth."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self.count += 1
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise _TooLarge(_("its elements nest more than %(max)d deep", max=MAX_XML_DEPTH))
        if self.count > MAX_XML_ELEMENTS:
            raise _TooLarge(_("it has more than %(max)d elements", max=MAX_XML_ELEMENTS))
        return super().start(local(tag), {local(key): value for key, value in attrs.items()})

    def end(self, tag: str) -> Element:
        self.depth -= 1
        return super().end(local(tag))


def local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def parse_xml(data: bytes, name: str) -> Element:
    """The root of an XML file, names without namespaces; unsafe or broken XML is refused."""
    builder = _Builder()
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        return parser.close()
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as error:
        raise ExchangeError(
            _(
                "%(name)s declares a document type or entities; ILMS refuses them, because they "
                "can read other files or expand into a huge text.",
                name=name,
            )
        ) from error
    except _TooLarge as error:
        raise ExchangeError(
            _("%(name)s is refused: %(reason)s.", name=name, reason=error.message)
        ) from error
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        raise ExchangeError(
            _(
                "%(name)s is not well-formed XML (line %(line)d, column %(column)d).",
                name=name,
                line=line,
                column=column + 1,
            )
        ) from error
