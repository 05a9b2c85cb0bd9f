"""The interface catalogues are complete, and pages speak the language a person chose.

A string added to the code without a translation fails here, by name; docs/translations.md says
how to extract, translate and compile.
"""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import PYTHON_FORMAT, Catalog, Message
from babel.messages.mofile import read_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from sqlalchemy import select

from ilms.accounts.models import User
from ilms.config import Defaults
from ilms.extensions import db
from ilms.i18n import LANGUAGE_NAMES
from tests.conftest import csrf_token_from, login

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "ilms" / "translations"
#: English is the source language: its strings are the msgids, so it has no catalogue.
TRANSLATED = [code for code in Defaults.LANGUAGES if code != Defaults.BABEL_DEFAULT_LOCALE]
#: ``%(name)s``, ``%(n)d``, ``%s``, ``%%`` ...; not a bare ``%`` before a space or a word.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0+-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")
HOW_TO_FIX = "see docs/translations.md: make extract-messages, translate, make translations"


def po_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def load_catalogue(lang: str) -> Catalog:
    # No ``locale=``: the catalogue's own Language header must name it.
    with po_path(lang).open("rb") as file:
        return read_po(file)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def plural_of(message: Message) -> str | None:
    return message.id[1] if isinstance(message.id, tuple | list) else None


def translations(catalogue: Catalog) -> dict[object, object]:
    """(context, msgid) -> msgstr of the finished entries; plurals as tuples (read_mo gives lists).

    Untranslated and fuzzy entries are left out: the other tests name them, and a .mo skips them.
    """

    def frozen(value: object) -> object:
        if isinstance(value, bytes):  # read_mo leaves a msgctxt undecoded
            return value.decode("utf-8")
        return tuple(value) if isinstance(value, list | tuple) else value

    return {
        (frozen(m.context), frozen(m.id)): frozen(m.string)
        for m in catalogue
        if m.id and not m.fuzzy and all(frozen(m.string) if m.pluralizable else [m.string])
    }


def problems_with(message: Message, catalogue: Catalog) -> list[str]:
    """What is wrong with one translated message, in words a translator can act on."""
    label = repr(message.id[0] if isinstance(message.id, tuple | list) else message.id)
    if message.fuzzy:
        return [f"fuzzy: {label}"]
    if not isinstance(message.id, tuple | list):
        if not message.string:
            return [f"untranslated: {label}{unmatchable(message.id)}"]
        expected = placeholders(message.id)
        found = placeholders(message.string)
        return [] if found == expected else [mismatch(found, expected, label)]
    strings = list(message.string) if isinstance(message.string, tuple | list) else []
    if len(strings) != catalogue.num_plurals or not all(strings):
        return [f"plural form missing ({catalogue.num_plurals} needed): {label}"]
    singular, plural = placeholders(message.id[0]), placeholders(message.id[1])
    rule = gettext.c2py(catalogue.plural_expr)
    problems = []
    for index, string in enumerate(strings):
        found = placeholders(string)
        # A form used for n = 1 alone may leave the number out, as the English singular does.
        only_one = {n for n in range(1000) if rule(n) == index} <= {1}
        if found != plural and not (only_one and found == singular):
            problems.append(mismatch(found, plural, label))
    return problems


def unmatchable(msgid: str) -> str:
    """Why a msgid cannot be translated as it stands: Babel reads "95% confidence" as "% c"."""
    stray = [
        match.group(0)
        for match in PYTHON_FORMAT.finditer(msgid)
        if match.group(1) is None and match.group(3) != "%"
        if match.group(0) not in placeholders(msgid)
    ]
    if not stray:
        return ""
    return (
        f" (Babel reads {stray[0]!r} in it as a placeholder that no translation can match, "
        "so pybabel compile would fail: reword the msgid)"
    )


def mismatch(found: set[str], expected: set[str], label: str) -> str:
    return f"placeholders differ ({sorted(found)} != {sorted(expected)}): {label}"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages in the code as it is now, extracted as ``make extract-messages`` does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    command = ["extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "--no-location"]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *command, "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as file:
        return read_po(file)


# --- The catalogues ------------------------------------------------------------------------


def test_every_language_has_a_name_and_a_catalogue():
    assert Defaults.BABEL_DEFAULT_LOCALE == "en"
    for lang in Defaults.LANGUAGES:
        assert lang in LANGUAGE_NAMES, f"add {lang!r} to LANGUAGE_NAMES in ilms/i18n.py"
    for lang in TRANSLATED:
        assert po_path(lang).is_file(), f"no catalogue for {lang!r}: {HOW_TO_FIX}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_header_names_the_language_and_its_plural_forms(lang):
    catalogue = load_catalogue(lang)
    header = po_path(lang).read_text("utf-8")
    assert str(catalogue.locale) == lang, "the header is missing (pybabel update --omit-header?)"
    assert '"Plural-Forms: ' in header, "the Plural-Forms header is missing"
    assert catalogue.plural_forms == get_plural(lang).plural_forms
    assert catalogue.charset.lower() == "utf-8"
    assert not catalogue.fuzzy, "the header is marked fuzzy: pybabel compile would skip it"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated(lang):
    catalogue = load_catalogue(lang)
    problems = [
        problem
        for message in catalogue
        if message.id
        for problem in problems_with(message, catalogue)
    ]
    assert not problems, f"{lang}: {len(problems)} to fix ({HOW_TO_FIX}):\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_passes_the_checks_of_pybabel_compile(lang):
    # pybabel compile exits 1 on these, which stops `make install`. A msgid such as "95% confidence"
    # reads to Babel as a "% c" placeholder that no translation can match: reword the msgid
    # ("%(level)s confidence", level="95%") rather than leave the translation empty.
    errors = [
        f"{', '.join(map(str, found))}: {message.id!r}"
        for message, found in load_catalogue(lang).check()
    ]
    assert not errors, f"{lang}: pybabel compile would fail on:\n" + "\n".join(errors)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_in_the_code_is_in_the_catalogue(lang, extracted):
    catalogue = load_catalogue(lang)
    missing = []
    for message in extracted:
        if not message.id:
            continue
        entry = catalogue.get(message.id, message.context)
        if entry is None or plural_of(entry) != plural_of(message):
            missing.append(repr(message.id))
    assert not missing, f"{lang}: not in the catalogue ({HOW_TO_FIX}):\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_compiled_catalogue_matches_the_po_file(lang):
    mo = po_path(lang).with_suffix(".mo")
    assert mo.is_file(), f"{mo} is missing: run make translations"
    with mo.open("rb") as file:
        compiled = translations(read_mo(file))
    stale = [
        repr(msgid)
        for msgid, string in translations(load_catalogue(lang)).items()
        if compiled.get(msgid) != string
    ]
    assert not stale, f"{mo} is out of date, run make translations; it lacks:\n" + "\n".join(stale)


@pytest.mark.parametrize(
    ("lang", "forms"),
    [
        ("ru", {1: 0, 2: 1, 4: 1, 5: 2, 11: 2, 12: 2, 21: 0, 22: 1, 25: 2, 111: 2}),
        ("kk", {0: 1, 1: 0, 2: 1, 5: 1, 21: 1}),
    ],
)
def test_compiled_plural_rule(lang, forms):
    with po_path(lang).with_suffix(".mo").open("rb") as file:
        compiled = gettext.GNUTranslations(file)
    assert {n: compiled.plural(n) for n in forms} == forms


# --- Pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "heading"), [("en", "Log in"), ("ru", "Войти"), ("kk", "Кіру")])
def test_log_in_page_follows_accept_language(client, lang, heading):
    page = client.get("/login", headers={"Accept-Language": lang}).get_data(as_text=True)
    assert f'<html lang="{lang}"' in page
    assert f"<h1>{heading}</h1>" in page


@pytest.mark.parametrize(
    ("lang", "title"), [("ru", "Страница не найдена"), ("kk", "Бет табылмады")]
)
def test_error_page_is_translated(client, lang, title):
    response = client.get("/no-such-page", headers={"Accept-Language": lang})
    assert response.status_code == 404
    assert title in response.get_data(as_text=True)


def test_saved_preference_wins_over_accept_language(client, login_as):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    login_as("student", locale="kk")
    page = client.get("/student").get_data(as_text=True)
    assert '<html lang="kk"' in page
    assert "Менің оқуым" in page


def test_language_switcher_changes_the_language(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    assert '<html lang="ru"' in client.get("/login").get_data(as_text=True)
    response = client.post(
        "/language",
        data={"lang": "kk", "next": "/login", "csrf_token": csrf_token_from(client, "/login")},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="kk"' in page
    assert "<h1>Кіру</h1>" in page


def test_language_switcher_saves_a_logged_in_persons_choice(client, login_as, app):
    user = login_as("student")
    token = csrf_token_from(client, "/student")
    client.post("/language", data={"lang": "ru", "next": "/student", "csrf_token": token})
    assert '<html lang="ru"' in client.get("/student").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.locale).where(User.id == user.id)) == "ru"

    elsewhere = app.test_client()
    elsewhere.environ_base["HTTP_ACCEPT_LANGUAGE"] = "kk"
    assert login(elsewhere, user).status_code == 302
    page = elsewhere.get("/student").get_data(as_text=True)
    assert '<html lang="ru"' in page
    assert "Моё обучение" in page
