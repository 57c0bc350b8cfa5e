"""User-facing text lives in syncbot/locales: every message used exists, none is dead."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from syncbot import locales as text

PACKAGE = Path(__file__).resolve().parents[1] / "syncbot"


def used_ids() -> set[str]:
    """Every quoted string in the package shaped like a message id of a catalogue section
    (ids are sometimes picked into a variable before ``t()`` is called)."""
    sections = {message_id.split(".")[0] for message_id in text._catalogue("en")}
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for candidate in re.findall(r"""["']([a-z]+\.[a-z_]+)["']""", path.read_text("utf-8")):
            if candidate.split(".")[0] in sections:
                found.add(candidate)
    return found


def test_every_message_used_in_code_exists_and_none_is_unused():
    english = set(text._catalogue("en"))
    used = used_ids()
    assert used - english == set()
    singulars = {f"{message_id}_one" for message_id in used}  # the count == 1 form of one
    assert english - used - singulars == set()


def test_a_count_of_one_reads_in_the_singular():
    say = text.Catalogue("en")
    assert say("sheets.skipped_rows", count=1, tab="Form") == (
        "1 row of Form has no valid e-mail address and was skipped.")
    assert say("sheets.skipped_rows", count=2, tab="Form").startswith("2 rows of Form have")


def test_placeholders_are_well_formed():
    for message_id, template in text._catalogue("en").items():
        for _, name, _, _ in string.Formatter().parse(template):
            assert name is None or name.isidentifier(), message_id


def test_unknown_language_falls_back_to_english(monkeypatch):
    monkeypatch.setenv("SYNCBOT_LANG", "xx")
    assert text.t("config.empty_list", section="a", key="b") == "[a] b must list at least one value."


def test_unknown_message_is_a_bug():
    with pytest.raises(KeyError):
        text.t("no.such.message")


README = Path(__file__).resolve().parents[1] / "README.md"
CITES_README = re.compile(r"""README(?:'s)?,?\s+\\?"([^"\\]+)\\?\"""")


def test_every_readme_section_a_message_names_is_a_heading():
    headings = {line.lstrip("#").strip() for line in README.read_text("utf-8").splitlines()
                if line.startswith("#")}
    places = [*(PACKAGE / "locales").glob("*.toml"), PACKAGE / "config.example.toml"]
    cited = {(path.name, name) for path in places if path.exists()
             for name in CITES_README.findall(path.read_text("utf-8"))}
    assert cited, "the pattern finds the README sections messages point to"
    assert {(where, name) for where, name in cited if name not in headings} == set()
