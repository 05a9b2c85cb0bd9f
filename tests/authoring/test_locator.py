"""Finding the line of a table or key in a TOML text, by its path in the parsed data."""

from __future__ import annotations

import tomllib

from ilms.authoring.package import TomlLocator

TEXT = '''\
# a comment with [[questions]] in it
slug = "x"
"quoted key" = 1
dotted.key = 2

[title]
en = """
[[questions]]
not a header: this is inside a string
"""
ru = \'\'\'
id = "fake"
\'\'\'

[forms.A]
items = [
  "a",   # [[questions]]
  ["nested"],
]

[[questions]]
id = "q-1"
text = { en = "one" }

[[questions.options]]
id = "a"

[[questions.options]]
id = "b"
feedback = { en = "b" }

[[questions]]   # the second question
id = "q-2"

[[questions.options]]
id = "c"

[questions.extra]
note = "x"
'''


def locator() -> TomlLocator:
    tomllib.loads(TEXT)  # the locator only ever sees valid TOML
    return TomlLocator(TEXT)


def test_top_level_keys_including_quoted_and_dotted() -> None:
    found = locator()
    assert found.lookup(("slug",)) == 2
    assert found.lookup(("quoted key",)) == 3
    assert found.lookup(("dotted",)) == 4
    assert found.lookup(("dotted", "key")) == 4


def test_tables_and_their_keys() -> None:
    found = locator()
    assert found.lookup(("title",)) == 6
    assert found.lookup(("title", "en")) == 7
    assert found.lookup(("title", "ru")) == 11
    assert found.lookup(("forms", "A")) == 15
    assert found.lookup(("forms", "A", "items")) == 16


def test_headers_inside_strings_comments_and_arrays_are_not_headers() -> None:
    found = locator()
    assert found.lookup(("questions", 0)) == 21
    assert found.lookup(("id",)) is None


def test_arrays_of_tables_are_counted_per_parent() -> None:
    found = locator()
    assert found.lookup(("questions", 0, "id")) == 22
    assert found.lookup(("questions", 0, "options", 0)) == 25
    assert found.lookup(("questions", 0, "options", 1)) == 28
    assert found.lookup(("questions", 0, "options", 1, "feedback")) == 30
    assert found.lookup(("questions", 1)) == 32
    assert found.lookup(("questions", 1, "id")) == 33
    assert found.lookup(("questions", 1, "options", 0)) == 35
    assert found.lookup(("questions", 1, "options", 0, "id")) == 36


def test_a_sub_table_of_an_array_element() -> None:
    found = locator()
    assert found.lookup(("questions", 1, "extra")) == 38
    assert found.lookup(("questions", 1, "extra", "note")) == 39


def test_a_missing_key_falls_back_to_its_table() -> None:
    found = locator()
    assert found.line(("questions", 0, "options", 1, "feedback", "ru")) == 30
    assert found.line(("questions", 0, "options", 0, "feedback")) == 25
    assert found.line(("title", "kk")) == 6
    assert found.line(("nothing",)) is None


def test_an_inline_array_of_tables_points_at_its_key() -> None:
    found = TomlLocator('outcomes = [\n  { id = "a" },\n]\n')
    assert found.line(("outcomes", 0, "id")) == 1


def test_a_literal_multiline_string_with_extra_quotes() -> None:
    text = 'a = \'\'\'x\'\'\'\'\nb = """y\\"""""\n[t]\nc = 1\n'
    assert tomllib.loads(text)["a"] == "x'"
    found = TomlLocator(text)
    assert (found.lookup(("b",)), found.lookup(("t",)), found.lookup(("t", "c"))) == (2, 3, 4)
