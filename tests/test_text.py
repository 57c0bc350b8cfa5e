"""User-facing text lives in syncbot/locales: every message used exists, none is dead."""

from __future__ import annotations

import os
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


ROOT = Path(__file__).resolve().parents[1]
CITES_README = re.compile(r"""README(?:'s)?,?\s+\(?\\?"([^"\\]+)\\?\"""")


def headings(readme: str) -> set[str]:
    return {line.lstrip("#").strip() for line in (ROOT / readme).read_text("utf-8").splitlines()
            if line.startswith("#")}


def test_every_readme_section_a_message_names_is_a_heading():
    """English messages point into README.md, Spanish ones into README.es.md."""
    places = {PACKAGE / "locales" / "en.toml": "README.md",
              PACKAGE / "config.example.toml": "README.md",
              PACKAGE / "config.example.es.toml": "README.es.md",
              PACKAGE / "locales" / "es.toml": "README.es.md"}
    cited = {(path.name, readme, name) for path, readme in places.items()
             for name in CITES_README.findall(path.read_text("utf-8"))}
    assert {where for where, _, _ in cited} >= {"en.toml", "es.toml"}, \
        "the pattern finds the README sections messages point to"
    assert {(where, name) for where, readme, name in cited
            if name not in headings(readme)} == set()



# ---- the Spanish catalogue --------------------------------------------------------------

# Texts that are the same in both languages on purpose: symbols, numbers and names only.
SAME_IN_SPANISH = {"check.ok", "check.problem", "cli.error_prefix", "explain.detail",
                   "explain.history_line", "handoff.announce_company",
                   "explain.no", "report.tag_line",
                   "report.team_tab", "report.top_line", "why.condition",
                   "why.condition_no_value", "why.per"}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_has_a_spanish_text_with_the_same_placeholders():
    english, spanish = text._catalogue("en"), text._catalogue("es")
    assert set(spanish) == set(english)
    for message_id, template in english.items():
        assert placeholders(spanish[message_id]) == placeholders(template), message_id


def test_a_spanish_text_is_not_the_english_one_left_untranslated():
    english, spanish = text._catalogue("en"), text._catalogue("es")
    same = {message_id for message_id in english if spanish[message_id] == english[message_id]}
    assert same == SAME_IN_SPANISH


@pytest.mark.parametrize(("environ", "expected"), [
    ({"SYNCBOT_LANG": "es"}, "es"),
    ({"SYNCBOT_LANG": "en", "LANG": "es_ES.UTF-8"}, "en"),
    ({"LANG": "es_ES.UTF-8"}, "es"),
    ({"LANG": "es_MX"}, "es"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "es_ES.UTF-8"}, "en"),
    ({"LC_MESSAGES": "es_AR.UTF-8", "LANG": "en_GB.UTF-8"}, "es"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),  # not spoken yet
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
])
def test_the_language_is_syncbot_lang_else_the_system_locale(environ, expected):
    assert text.language(environ) == expected


@pytest.mark.parametrize(("environ", "scoring"), [
    ({"LANG": "es_ES.UTF-8"}, "Puntuando 15.833 leads (1.204 sin cambios"),  # Spain: 15.833
    ({"LANG": "es_AR.UTF-8"}, "Puntuando 15.833 leads (1.204 sin cambios"),
    ({"LANG": "es_MX.UTF-8"}, "Puntuando 15,833 leads (1,204 sin cambios"),  # Mexico: 15,833
    ({"SYNCBOT_LANG": "es"}, "Puntuando 15,833 leads (1,204 sin cambios"),  # region unknown
    ({"SYNCBOT_LANG": "en", "LANG": "es_ES.UTF-8"}, "Scoring 15,833 leads (1,204 unchanged"),
    ({"LANG": "en_US.UTF-8"}, "Scoring 15,833 leads (1,204 unchanged"),
])
def test_counts_are_grouped_as_the_reader_s_region_writes_them(environ, scoring):
    say = text.catalogue(environ)
    assert say("progress.scoring_some", count=15833, unchanged=1204).startswith(scoring)
    waiting = say("network.waiting_unreachable", service="Mailchimp", why="1.5 s, 2,5 s",
                  host="us21.api.mailchimp.com", seconds=30)
    assert "us21.api.mailchimp.com" in waiting and "1.5 s, 2,5 s" in waiting  # texts stay


def test_the_command_line_speaks_spanish(monkeypatch, tmp_path, capsys):
    from syncbot.cli import main

    monkeypatch.setenv("SYNCBOT_LANG", "es")
    monkeypatch.delenv("MAILCHIMP_API_KEY", raising=False)
    with pytest.raises(SystemExit) as done:
        main(["check", "--config", str(tmp_path / "syncbot.toml")])
    err = capsys.readouterr()
    assert done.value.code == 2
    assert "el archivo no existe" in err.out + err.err
    assert "MAILCHIMP_API_KEY no está definida" in err.out + err.err


def test_why_is_written_in_the_sheet_s_language_whatever_the_messages_speak(tmp_path,
                                                                          monkeypatch):
    """Messages follow the user; the Leads tab's ``why`` follows the spreadsheet (English
    until the Spanish spreadsheet exists), so one sheet never mixes two languages."""
    from openpyxl import load_workbook

    from syncbot.demo import run_demo

    monkeypatch.setenv("SYNCBOT_LANG", "es")
    result = run_demo(tmp_path / "demo.xlsx", members=300)
    assert any("Aún no hay estado local" in warning for warning in result.first.warnings)
    leads = load_workbook(tmp_path / "demo.xlsx")["Leads"]
    why = [c.value for c in leads[1]].index("why") + 1
    cells = [str(leads.cell(row, why).value) for row in range(2, leads.max_row + 1)]
    assert any(", capped +" in cell for cell in cells)
    assert not any("con tope" in cell or "ninguna regla" in cell for cell in cells)


def test_the_command_line_help_speaks_spanish_too():
    """Help texts are catalogued like every message (read when the CLI loads, so in a fresh
    process)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "syncbot", "sync", "--help"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYNCBOT_LANG": "es"})
    assert done.returncode == 0, done.stderr
    assert "descarga de Mailchimp, puntúa" in done.stdout
    assert "Ignora el estado local y descarga toda la audiencia." in done.stdout
