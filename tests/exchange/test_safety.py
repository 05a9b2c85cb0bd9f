"""Hostile files are refused with a clear message, quickly, without unpacking or expanding them:
XML entities and document types, zip bombs, paths outside the archive, links, oversized files."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from ilms.exchange import safety
from ilms.exchange.items import ExchangeError
from ilms.exchange.safety import Archive, Limits
from tests.exchange.conftest import fixture, read

pytestmark = pytest.mark.usefixtures("app_ctx")

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="truefalse"><name><text>&secret;</text></name></question></quiz>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<quiz><question type="truefalse"><name><text>&lol9;</text></name></question></quiz>"""
DOCTYPE_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE questestinterop SYSTEM "ims_qtiasiv1p2p1.dtd">
<questestinterop><item ident="a" title="A"/></questestinterop>"""


def archive(entries: dict[str, bytes], **options: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zip_file:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            for key, value in options.items():
                setattr(info, key, value)
            zip_file.writestr(info, data)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [XXE, LAUGHS, DOCTYPE_ONLY], ids=["xxe", "laughs", "doctype"])
def test_document_types_and_entities_are_refused_quickly(data):
    start = time.perf_counter()
    with pytest.raises(ExchangeError, match="declares a document type or entities"):
        read(data, "hostile.xml")
    assert time.perf_counter() - start < 1


def test_entities_inside_a_package_are_refused():
    with pytest.raises(ExchangeError, match=r"items/evil\.xml declares a document type"):
        read(archive({"items/evil.xml": XXE.replace(b"quiz", b"assessmentItem")}), "evil.zip")


def test_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = archive({"items/bomb.xml": b"<" + b" " * 20_000_000 + b">"})
    assert len(bomb) < 100_000
    start = time.perf_counter()
    with pytest.raises(ExchangeError, match=r"compressed .* times, which only a zip bomb is"):
        read(bomb, "bomb.zip")
    assert time.perf_counter() - start < 1


def test_total_unpacked_size_is_limited():
    data = archive({"a.xml": b"x" * 600, "b.xml": b"y" * 600})
    with pytest.raises(ExchangeError, match="unpacks to 2 KB; at most 1 KB"):
        read(data, "big.zip", max_unzipped=1000)


def test_number_of_entries_is_limited():
    data = archive({f"item{n}.xml": b"<a/>" for n in range(6)})
    with pytest.raises(ExchangeError, match="holds 6 entries; at most 5 are allowed"):
        read(data, "many.zip", max_entries=5)


@pytest.mark.parametrize(
    "name",
    ["../evil.xml", "items/../../evil.xml", "/etc/evil.xml", "C:/evil.xml", "a\\..\\..\\b.xml"],
)
def test_paths_outside_the_archive_are_refused(name):
    with pytest.raises(ExchangeError, match="entry outside its own folder"):
        read(archive({name: b"<quiz/>"}), "escape.zip")


def test_links_are_refused():
    link = archive({"items/link.xml": b"/etc/passwd"}, external_attr=(0o120777 << 16))
    with pytest.raises(ExchangeError, match=r"has a link \(items/link\.xml\)"):
        read(link, "link.zip")


def test_encrypted_entries_are_refused():
    data = bytearray(archive({"item.xml": b"<a/>"}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the "encrypted" flag
    with pytest.raises(ExchangeError, match="is encrypted"):
        read(bytes(data), "locked.zip")


def test_an_entry_larger_than_declared_is_refused():
    data = bytearray(archive({"items/item.xml": b"<assessmentItem/>" * 20}))
    # Shrink the declared size in the central directory (the local header is not read for it).
    central = data.rfind(b"PK\x01\x02")
    size_at = central + 24
    data[size_at : size_at + 4] = (10).to_bytes(4, "little")
    with pytest.raises(ExchangeError, match=r"cannot be read|larger than the archive says"):
        read(bytes(data), "liar.zip")


def test_broken_archive():
    with pytest.raises(ExchangeError, match="not a readable zip archive"):
        read(b"PK\x03\x04 not really a zip", "broken.zip")


def test_oversized_files_are_refused_before_they_are_read():
    with pytest.raises(ExchangeError, match=r"The file is [0-9]+ KB; files of at most 1 KB"):
        read(fixture("moodle.gift"), "moodle.gift", max_upload=100)


def test_deep_nesting_is_refused():
    deep = b"<quiz>" + b"<a>" * 300 + b"</a>" * 300 + b"</quiz>"
    with pytest.raises(ExchangeError, match="nest more than 200 deep"):
        read(deep, "deep.xml")


def test_element_count_is_limited(monkeypatch):
    monkeypatch.setattr(safety, "MAX_XML_ELEMENTS", 50)
    many = b"<quiz>" + b"<question/>" * 60 + b"</quiz>"
    with pytest.raises(ExchangeError, match="more than 50 elements"):
        read(many, "many.xml")


def test_reading_an_entry_stays_within_the_budget():
    data = archive({"a.xml": b"<a/>" * 100, "b.xml": b"<b/>" * 100})
    package = Archive(data, Limits(max_unzipped=800))
    assert len(package.read("a.xml")) == 400
    assert len(package.read("b.xml")) == 400
    with pytest.raises(ExchangeError, match="larger than the archive says"):
        package.read("a.xml")


def test_deeply_nested_html_in_a_text_is_read_as_text():
    html = "<b>" * 5000 + "deep" + "</b>" * 5000
    question = b"::Deep::[html]" + html.encode() + b" {=yes ~no}"
    result = read(question, "deep.gift")
    assert "deep" in result.imported[0].question["text"]["en"]
