"""The demo's workbook looks like the spreadsheet `init` + `sync` make: read back as a person's
spreadsheet program would read it."""

from __future__ import annotations

from datetime import datetime

import pytest
from openpyxl import load_workbook

from syncbot.cli import main


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo") / "demo.xlsx"
    with pytest.raises(SystemExit) as done:  # past the template's 1,000 rows
        main(["demo", "--members", "1200", "--output", str(output), "--quiet"])
    assert done.value.code == 0
    return load_workbook(output)


def column(sheet, name: str) -> int:
    return [c.value for c in sheet[1]].index(name) + 1


def test_it_opens_on_the_dashboard_with_syncbot_s_tabs_and_the_team_s_form(book):
    assert book.sheetnames == ["Dashboard", "Leads", "Weights", "Segments", "Interests", "Runs",
                               "Hand-off", "Form responses 1"]
    assert book.active.title == "Dashboard"


def test_the_dashboard_carries_its_four_charts_over_its_tables(book):
    dashboard = book["Dashboard"]
    assert dashboard["K1"].value == "Leads per tag, last 90 runs"
    assert [c.value for c in dashboard[2][10:15]] == ["Run", "lead:hot", "lead:warm",
                                                      "lead:cold", "lead:sunset"]
    assert isinstance(dashboard["K3"].value, datetime) and isinstance(dashboard["K4"].value,
                                                                         datetime)
    assert dashboard["K5"].value is None  # two syncs, two runs
    charts = dashboard._charts
    assert [type(chart).__name__ for chart in charts] == ["LineChart", "BarChart", "BarChart",
                                                          "BarChart"]
    assert [chart.type for chart in charts[1:]] == ["col", "bar", "col"]
    assert len(charts[0].series) == 4  # a line per managed tag
    assert len(charts[3].series) == 2  # hand-offs per week: handed off, won
    weeks = [row for row in dashboard.iter_rows(min_row=163, max_row=180, min_col=11,
                                                 max_col=13, values_only=True)]
    assert weeks[-1][0] is not None and weeks[-1][1] >= 3  # this week: the demo's hand-offs
    assert dashboard["K180"].number_format == "yyyy-mm-dd"  # weeks are days, runs moments
    assert dashboard["K3"].number_format == "yyyy-mm-dd hh:mm"


def test_the_team_s_checkbox_column_and_form_tab_score(book):
    leads = book["Leads"]
    demo = column(leads, "Demo requested")
    ticked = [row for row in range(2, leads.max_row + 1) if leads.cell(row, demo).value is True]
    assert ticked
    why = column(leads, "why")
    assert all("Demo requested = yes +30" in leads.cell(row, why).value for row in ticked)
    form = book["Form responses 1"]
    assert [c.value for c in form[1]] == ["Timestamp", "Email Address",
                                          "Which product are you interested in?"]
    assert isinstance(form["A2"].value, datetime)
    assert any("Form responses 1!count" in str(leads.cell(row, why).value)
               for row in range(2, leads.max_row + 1))


def test_the_header_is_frozen_styled_and_explained(book):
    leads = book["Leads"]
    assert leads.freeze_panes == "A2"
    assert leads["A1"].font.bold and leads["A1"].fill.fgColor.rgb.endswith("D9E2F3")
    assert leads["A1"].comment.text.startswith("The contact's address")


def test_addresses_why_and_dates_are_wide_enough_to_read(book):
    leads = book["Leads"]
    letter = {name: leads.cell(1, column(leads, name)).column_letter
              for name in ("email", "why", "synced_at")}
    assert leads.column_dimensions[letter["email"]].width >= 30
    assert leads.column_dimensions[letter["why"]].width >= 60
    assert leads.column_dimensions[letter["synced_at"]].width >= 18


def test_dates_and_rates_carry_their_formats_on_every_row(book):
    leads = book["Leads"]
    synced, rate = column(leads, "synced_at"), column(leads, "avg_open_rate")
    for row in (2, 1150):
        assert leads.cell(row, synced).number_format == "yyyy-mm-dd hh:mm"
        assert isinstance(leads.cell(row, synced).value, datetime)  # a real date, not a number
        assert leads.cell(row, rate).number_format == "0%"


def test_dropdowns_and_tier_colours_are_there(book):
    operators = book["Weights"].data_validations.dataValidation
    assert any("per" in v.formula1 and "between" in v.formula1 for v in operators)
    rules = [r for area in book["Leads"].conditional_formatting for r in area.rules]
    assert {r.text for r in rules if r.type == "containsText"} == {"lead:hot", "lead:warm",
                                                                   "lead:cold"}
    [scale] = [area for area in book["Leads"].conditional_formatting
               if any(r.type == "colorScale" for r in area.rules)]
    score = book["Leads"].cell(1, column(book["Leads"], "score")).column_letter
    assert str(scale.sqref).startswith(f"{score}2:")  # the score, white to green


def test_text_that_looks_like_a_formula_stays_text(book):
    leads = book["Leads"]
    looks = [c for row in leads.iter_rows(min_row=2) for c in row
             if isinstance(c.value, str) and c.value.startswith("=")]
    assert looks and all(c.data_type == "s" for c in looks)


def test_the_form_tab_grows_with_its_answers_as_forms_does(tmp_path, monkeypatch):
    """A large demo answers the form more often than a new responses tab has rows (100,000
    members gave 4,000 answers for 1,000 rows, and the demo stopped)."""
    import syncbot.demo

    monkeypatch.setattr(syncbot.demo, "FORM_ROWS", 5)
    result = syncbot.demo.run_demo(tmp_path / "demo.xlsx", members=300)
    form = load_workbook(result.output)["Form responses 1"]
    assert form.max_row > 5 and isinstance(form.cell(form.max_row, 1).value, datetime)


def test_the_demo_shows_what_syncbot_why_says_of_its_top_lead(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["demo", "--members", "200", "--output", str(tmp_path / "demo.xlsx")])
    out = capsys.readouterr().out
    assert done.value.code == 0 and "What `syncbot why` says of the top lead" in out
    assert "  Rules in Weights:" in out and "  Score history (the runs" in out


def test_the_second_run_hands_leads_to_sales_and_the_chat_hears_of_it(book, tmp_path, capsys):
    handoff = book["Hand-off"]
    header = [c.value for c in handoff[1]]
    assert header[:2] == ["handed_off_at", "email"] and "Status" in header
    rows = list(handoff.iter_rows(min_row=2, values_only=True))
    assert len(rows) >= 3 and all(row[header.index("Status")] == "new" for row in rows)
    assert all(isinstance(row[0], datetime) and "lead:hot" in row[header.index("tags")]
               for row in rows)
    statuses = handoff.data_validations.dataValidation
    assert any("back to marketing" in v.formula1 for v in statuses)
    with pytest.raises(SystemExit) as done:
        main(["demo", "--members", "200", "--output", str(tmp_path / "demo.xlsx")])
    out = capsys.readouterr().out
    assert done.value.code == 0 and "What the team's chat got" in out
    assert "syncbot handed" in out and "leads to sales" in out


@pytest.fixture(scope="module")
def spanish_book(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo") / "demo-es.xlsx"
    with pytest.raises(SystemExit) as done:
        main(["demo", "--members", "300", "--language", "es", "--output", str(output),
              "--quiet"])
    assert done.value.code == 0
    return load_workbook(output)


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_keeps_within_excel_s_limits(language, request):
    """What Excel refuses or repairs on opening, which LibreOffice lets pass (Excel's
    specifications and limits): tab names of at most 31 characters without : \\ / ? * [ ];
    at most 32,767 characters in a cell; a dropdown's listed values within 255 characters;
    the grid within 1,048,576 rows and 16,384 columns; charts that read ranges of tabs that
    exist, their names quoted when they must be."""
    import re

    book = request.getfixturevalue("book" if language == "en" else "spanish_book")
    titles = set(book.sheetnames)
    for sheet in book.worksheets:
        assert len(sheet.title) <= 31 and not set(sheet.title) & set(":\\/?*[]"), sheet.title
        assert sheet.max_row <= 1_048_576 and sheet.max_column <= 16_384
        assert all(len(cell) <= 32_767 for row in sheet.iter_rows(values_only=True)
                   for cell in row if isinstance(cell, str))
        for validation in sheet.data_validations.dataValidation:
            listed = validation.formula1 or ""
            if validation.type == "list" and listed.startswith('"'):
                assert len(listed.strip('"')) <= 255, (sheet.title, listed)
        for chart in sheet._charts:
            for series in chart.series:
                for ref in (series.val.numRef.f, series.cat and (
                        series.cat.numRef or series.cat.strRef).f, series.tx and (
                        series.tx.strRef and series.tx.strRef.f)):
                    if not ref:
                        continue
                    tab = re.fullmatch(r"(?:'((?:[^']|'')+)'|([A-Za-z0-9_.]+))!\$?[A-Z]+\$?\d+"
                                       r"(?::\$?[A-Z]+\$?\d+)?", ref)
                    assert tab, ref
                    assert (tab.group(1) or "").replace("''", "'") in titles or \
                        tab.group(2) in titles, ref
