"""The Dashboard tab (docs/reference.md, "Dashboard"): its tables from the core, its charts
through gspread against the sandbox, made once and then left to the team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncbot.core.dashboard import (
    BUCKETS,
    RUNS_SHOWN,
    DashboardCounts,
    TagCounts,
    dashboard_tables,
    score_buckets,
)
from syncbot.sandbox.http import HttpError
from syncbot.sandbox.sheets import REQUEST_SCHEMA
from syncbot.sheets.dashboard import chart_requests
from syncbot.sheets.language import sheet_language
from syncbot.state.store import StateStore
from tests import spec_schemas as specs
from tests.conftest import LIST_ID, SHEET_ID
from tests.test_e2e import World, sync_twin, twin_worlds

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


# ---- the tables, from the core alone ---------------------------------------------------------

@pytest.mark.parametrize(("scores", "first", "width"), [
    ([0, 9.5, 99], 0, 10), ([-15, 0, 42], -20, 10), ([3, 4, 5], 3, 1), ([0, 100], 0, 20),
    ([12.5, 13], 12, 1), ([-200, 1200], -200, 200), ([-5, 95], -20, 20),
])
def test_scores_fall_in_ten_round_buckets_that_hold_them_all(scores, first, width):
    buckets = score_buckets(scores)
    assert len(buckets) == BUCKETS and sum(b.leads for b in buckets) == len(scores)
    assert (buckets[0].low, buckets[0].high - buckets[0].low) == (first, width)
    assert buckets[-1].high > max(scores)


def test_a_bucket_reads_low_to_high_and_no_scores_give_empty_buckets():
    assert score_buckets([0, 95])[0].label == "0 – 10"
    assert [b.leads for b in score_buckets([])] == [0] * BUCKETS


def test_the_tables_keep_the_last_runs_and_leave_a_tag_a_run_lacked_blank():
    runs = [TagCounts(NOW + timedelta(hours=6 * i), {"lead:hot": i}) for i in range(100)]
    runs[-1] = TagCounts(runs[-1].at, {"lead:hot": 7, "lead:new": 3})
    counts = DashboardCounts()
    for score, topics in ((10, "Pricing, Webinars"), (20, "Pricing"), (30, "")):
        counts.add(score, topics)
    tables = dashboard_tables(runs, ("lead:hot", "lead:new"), counts, ["Webinars", "Pricing",
                                                                       "Boots"])
    assert len(tables.runs) == RUNS_SHOWN and tables.runs[0][0] == runs[10].at
    assert tables.runs[-2][1:] == [98, None] and tables.runs[-1][1:] == [7, 3]
    assert tables.topics == [("Webinars", 1), ("Pricing", 2), ("Boots", 0)]
    assert sum(bucket.leads for bucket in tables.buckets) == 3


def test_the_state_keeps_the_tag_counts_of_the_last_90_runs(tmp_path):
    state, _ = StateStore.open(tmp_path / "state.db", list_id=LIST_ID, lookback_days=90)
    for i in range(RUNS_SHOWN + 5):
        state.record_tag_counts(TagCounts(NOW + timedelta(hours=i), {"lead:hot": i}))
    history = state.tag_history()
    assert len(history) == RUNS_SHOWN and history[0].counts == {"lead:hot": 5}
    assert history[-1].at == NOW + timedelta(hours=RUNS_SHOWN + 4)


# ---- the charts' requests, against the official description ----------------------------------

def test_syncbot_s_charts_are_what_the_official_description_allows():
    for request in chart_requests(7, 4, sheet_language("en").dashboard):
        specs.validate(request["addChart"], specs.sheets_schema("AddChartRequest"))


def test_syncbot_s_colour_rules_are_what_the_official_description_allows():
    from syncbot.sheets.tabs import _layout, load_templates

    rules = [request["addConditionalFormatRule"] for language in ("en", "es")
             for request in _layout(3, "Leads", load_templates(language)["Leads"])
             if "addConditionalFormatRule" in request]
    assert len(rules) == 8
    for rule in rules:
        specs.validate(rule, specs.sheets_schema("AddConditionalFormatRuleRequest"))


def test_the_emulator_takes_only_fields_the_official_description_has():
    """Chart and conditional-format fields: each one the sandbox takes is a real one."""
    schemas = specs.sheets_discovery()["schemas"]
    for schema, fields in REQUEST_SCHEMA.items():
        assert set(fields) <= set(schemas[schema]["properties"]), schema


def test_the_leads_colours_are_conditional_formats_sheets_accepts(world):
    leads = book(world).sheet("Leads")
    assert len(leads.conditional_formats) == 4  # stored: none was refused
    broken = {"addConditionalFormatRule": {"rule": {
        "ranges": [{"sheetId": leads.sheet_id}],
        "gradientRule": {"minpoint": {"colour": {"red": 1}, "type": "MIN"}}}}}
    with pytest.raises(HttpError) as refused:
        world.box.sheets._apply(book(world), broken, dry=False)
    assert b"rule.gradientRule.minpoint.colour" in refused.value.response.body


# ---- through the command line, gspread and the sandbox ----------------------------------------

def book(world: World):
    return world.box.sheets.spreadsheets[SHEET_ID]


def dashboard(world: World, title: str = "Dashboard"):
    return book(world).sheet(title)


def charts(world: World) -> int:
    return sum(len(sheet.charts) for sheet in book(world).sheets)


def test_init_makes_the_tab_and_the_first_sync_its_charts_once(world, capsys):
    assert dashboard(world).index == 0 and charts(world) == 0  # the tags are not known yet
    assert world.run(capsys, "sync")[0] == 0
    made = dashboard(world).charts
    assert [c["spec"]["basicChart"]["chartType"] for c in made] == ["LINE", "COLUMN", "BAR",
                                                                          "COLUMN"]
    assert len(made[0]["spec"]["basicChart"]["series"]) == 4  # a line per managed tag
    rows = world.box.sheets.values(SHEET_ID, "Dashboard")
    assert rows[1][10:15] == ["Run", "lead:hot", "lead:warm", "lead:cold", "lead:sunset"]
    structure = world.box.sheets_host.count("POST", ":batchUpdate") - world.box.sheets_host.count(
        "POST", "values:batchUpdate")
    world.now += timedelta(hours=6)
    assert world.run(capsys, "sync")[0] == 0
    assert charts(world) == 4
    assert world.box.sheets_host.count("POST", ":batchUpdate") - world.box.sheets_host.count(
        "POST", "values:batchUpdate") == structure  # no layout change on later runs
    rows = world.box.sheets.values(SHEET_ID, "Dashboard")
    assert rows[2][10] < rows[3][10] and not rows[4]  # two runs, the rest blank


def test_a_chart_the_team_deleted_is_not_made_again(world, capsys):
    world.run(capsys, "sync")
    chart = dashboard(world).charts[1]
    world.box.sheets._apply(book(world), {"deleteEmbeddedObject": {
        "objectId": chart["chartId"]}}, dry=False)
    world.now += timedelta(hours=6)
    assert world.run(capsys, "sync")[0] == 0
    assert charts(world) == 3


def test_a_renamed_dashboard_is_found_by_its_sheet_id(world, capsys):
    world.run(capsys, "sync")
    dashboard(world).title = "Our numbers"
    world.now += timedelta(hours=6)
    assert world.run(capsys, "sync")[0] == 0
    assert dashboard(world) is None and charts(world) == 4
    rows = world.box.sheets.values(SHEET_ID, "Our numbers")
    assert rows[3][10] != ""  # the second run is there


def test_a_team_s_own_dashboard_tab_is_never_written(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    team = world.box.sheets.add_tab(SHEET_ID, "Dashboard")
    team.rows = [["Our KPIs", 42]]
    assert world.run(capsys, "init")[0] == 0
    assert world.run(capsys, "sync")[0] == 0
    assert team.rows == [["Our KPIs", 42]] and not team.charts
    assert len(dashboard(world, "Dashboard 2").charts) == 4


def test_a_deleted_dashboard_comes_back_with_its_charts(world, capsys):
    world.run(capsys, "sync")
    book(world).sheets.remove(dashboard(world))
    world.now += timedelta(hours=6)
    assert world.run(capsys, "sync")[0] == 0
    assert len(dashboard(world).charts) == 4


def test_a_dry_run_leaves_the_dashboard_alone(world, capsys):
    world.run(capsys, "sync")
    before = world.box.sheets.values(SHEET_ID, "Dashboard")
    world.now += timedelta(hours=6)
    assert world.run(capsys, "sync", "--dry-run")[0] == 0
    assert world.box.sheets.values(SHEET_ID, "Dashboard") == before


def test_a_dashboard_that_cannot_be_written_does_not_fail_the_sync(world, capsys, monkeypatch):
    from syncbot.sheets.client import SheetsError
    from syncbot.sheets.spreadsheet import Spreadsheet

    def refuse(*args, **kwargs):
        raise SheetsError("Google Sheets refused the write")

    monkeypatch.setattr(Spreadsheet, "prepare_dashboard", refuse)
    code, out, _ = world.run(capsys, "sync")
    assert code == 0 and "The Dashboard could not be updated" in out
    assert world.runs()[-1][3] == "ok"


def test_the_dashboard_is_written_with_the_runs_row(world, capsys):
    """The Dashboard costs no request of its own: a run that changes no lead writes its
    tables and its Runs row in one values request."""
    world.run(capsys, "sync")
    writes = world.box.sheets_host.count("POST", "values:batchUpdate")
    assert world.run(capsys, "sync")[0] == 0  # the same moment: no lead, no tag changes
    assert world.box.sheets_host.count("POST", "values:batchUpdate") == writes + 1
    assert world.box.sheets.values(SHEET_ID, "Dashboard")[2][10] != ""
    assert len(world.runs()) == 2 and world.runs()[-1][3] == "ok"


@pytest.mark.parametrize("reading", ["atomic", "in order"])
def test_a_refused_dashboard_write_still_logs_the_run_once(world, capsys, reading):
    """The team deleted the Dashboard's columns, so its tables no longer fit and the write
    that carries them and the Runs row is refused: the Runs row goes again on its own,
    saying so, whether Sheets wrote nothing of that request or the ranges before the one
    it refused."""
    world.box.sheets.values_batch_reading = reading
    world.run(capsys, "sync")
    runs = len(world.runs())
    dashboard(world).column_count = 5  # the tables start in column K
    world.now += timedelta(hours=6)
    code, out, _ = world.run(capsys, "sync")
    assert code == 0 and "The Dashboard could not be updated" in out
    assert len(world.runs()) == runs + 1
    assert world.runs()[-1][3] == "ok" and "Dashboard could not be updated" in world.runs()[-1][11]


def test_the_sandbox_refuses_a_chart_field_sheets_does_not_have(world):
    request = chart_requests(dashboard(world).sheet_id, 1, sheet_language("en").dashboard)[0]
    request["addChart"]["chart"]["spec"]["basicChart"]["colour"] = "red"
    with pytest.raises(HttpError) as refused:
        world.box.sheets._apply(book(world), request, dry=False)
    assert b"spec.basicChart.colour" in refused.value.response.body
    outside = chart_requests(dashboard(world).sheet_id, 1, sheet_language("en").dashboard)[0]
    grid = outside["addChart"]["chart"]["spec"]["basicChart"]["series"][0]["series"][
        "sourceRange"]["sources"][0]
    grid["startColumnIndex"], grid["endColumnIndex"] = 40, 41  # past the tab's last column
    with pytest.raises(HttpError):
        world.box.sheets._apply(book(world), outside, dry=False)


def test_an_incremental_dashboard_equals_a_full_one(tmp_path, monkeypatch, capsys):
    worlds = twin_worlds(tmp_path, monkeypatch, capsys)
    for name, w in worlds.items():
        w.run(capsys, "sync")
        w.now = NOW + timedelta(days=3)
        for email in w.audience.emails[:60]:
            w.box.mailchimp.add_event(w.audience.campaign_ids[0], email, "click",
                                      w.now - timedelta(hours=1), "https://shop.example.com/pricing")
        sync_twin(name, w, capsys)
    tables = [w.box.sheets.values(SHEET_ID, "Dashboard") for w in worlds.values()]
    assert tables[0] == tables[1]


def test_the_config_may_name_the_dashboard(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.config.write_text(world.config.read_text() + 'dashboard_tab = "Our numbers"\n')
    assert world.run(capsys, "init")[0] == 0
    assert world.run(capsys, "sync")[0] == 0
    assert dashboard(world) is None and len(dashboard(world, "Our numbers").charts) == 4
