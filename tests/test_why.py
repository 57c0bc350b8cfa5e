"""`syncbot why EMAIL` (docs/reference.md, "Commands"): one lead's breakdown from the local
state and the current tabs, through the command line, gspread and the sandbox."""

from __future__ import annotations

import re

from syncbot.core.values import format_number
from tests.conftest import SHEET_ID
from tests.test_e2e import World


def a_lead(world: World) -> dict:
    """A subscribed lead with clicks (so with a tag)."""
    return next(lead for lead in world.leads().values()
                if lead["tags"] and lead["status"] == "subscribed" and lead["clicks_30d"])


def test_why_explains_a_lead_as_its_row_says(world, capsys):
    world.run(capsys, "sync")
    lead = a_lead(world)
    requests = len(world.box.mailchimp_host.log)
    code, out, err = world.run(capsys, "why", lead["email"].upper())
    assert code == 0, err
    assert len(world.box.mailchimp_host.log) == requests  # nothing asked of Mailchimp
    assert out.startswith(f"{lead['email']} (subscribed): score {lead['score']:g}")
    assert f"  clicks_30d: {lead['clicks_30d']}" in out
    rate = format_number(round(lead["avg_open_rate"] * 100, 1))
    assert f"  avg_open_rate: {rate}%" in out  # as the sheet shows it
    assert "Rules in Weights:" in out and "Rules in Segments:" in out
    assert "✓ row 2: clicks_30d per → +" in out and "(clicks_30d " in out  # count shown
    assert "row 8: vip = true → 0\n" in out  # a condition says it all
    assert f"Tags: {lead['tags']}" in out and f"Why: {lead['why']}" in out
    assert "Score history (the runs that changed" in out
    assert f"  2026-11-22 12:00: {lead['score']:g} — {lead['tags']}" in out


def test_why_follows_the_tabs_as_they_are_now(world, capsys):
    world.run(capsys, "sync")
    lead = a_lead(world)
    weights = world.box.sheets.spreadsheets[SHEET_ID].sheet("Weights")
    weights.rows.append(["email", "is not empty", "", 99, "", "", "everyone"])
    code, out, _ = world.run(capsys, "why", lead["email"])
    assert code == 0 and f"row {len(weights.rows)}: email is not empty → +99\n" in out


def test_an_unknown_address_gets_the_nearest_known_ones(world, capsys):
    world.run(capsys, "sync")
    known = world.audience.emails[5].lower()
    code, out, err = world.run(capsys, "why", "q" + known[1:])
    assert code == 2 and "is not in the audience the last sync pulled" in err
    assert known in err


def test_why_before_any_sync_says_to_sync_first(world, capsys):
    code, _, err = world.run(capsys, "why", "ana@example.com")
    assert code == 2 and "Run `syncbot sync` first" in err


def test_why_in_a_spanish_sheet_speaks_the_sheet_s_words(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch, locale="es_ES")
    world.run(capsys, "init")
    world.run(capsys, "sync")
    lead = next(row for row in world.box.sheets.values(SHEET_ID, "Leads")[1:] if row[1])
    monkeypatch.setenv("SYNCBOT_LANG", "es")
    code, out, _ = world.run(capsys, "why", lead[0])
    assert code == 0 and "Reglas de Pesos:" in out and "  clics_30d: " in out
    assert "(suscrito)" in out or "(dado de baja)" in out or "(limpiado)" in out \
        or "(pendiente)" in out or "(transaccional)" in out
    assert "Motivo: " in out
    fields = [line for line in out.splitlines() if line.startswith("  ") and ": " in line]
    numbers = [re.findall(r"\d[.,]\d", line.split(": ", 1)[1]) for line in fields]
    found = [number for line in numbers for number in line]  # as the es_ES sheet shows them
    assert found and all("," in number for number in found), fields
