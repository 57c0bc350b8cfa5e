"""The Sheets adapter against the sandbox: init, reads, Leads writes that keep the team's data."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from google.oauth2.service_account import Credentials

import syncbot.sheets.client as sheets_module
from syncbot.config import SheetsConfig
from syncbot.core.rules import parse_rules
from syncbot.core.values import to_serial
from syncbot.errors import InvalidInputError
from syncbot.evaluation import Evaluated
from syncbot.locales import rule_vocabulary
from syncbot.ports import ColumnRead, Known, LeadNote
from syncbot.sandbox import Faults, Sandbox
from syncbot.sandbox.sheets import Formula
from syncbot.sheets.a1 import col_letters
from syncbot.sheets.client import SheetsError, SheetSetupError, Workbook
from syncbot.sheets.leads import (
    Compared,
    Comparison,
    leads_columns,
    row_cells,
    sync_stamp,
    to_json,
)
from syncbot.sheets.spreadsheet import Spreadsheet
from syncbot.sheets.tabs import (
    append_run,
    init_spreadsheet,
    load_templates,
    read_spreadsheet,
)
from tests.conftest import (
    CELL,
    SAY,
    SCOPES,
    SHEET_ID,
    FakeClock,
    metadata_waits_for_a_values_read,
    waits_for,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
CONFIG = SheetsConfig(spreadsheet_id=SHEET_ID)
COLUMNS = leads_columns(["FNAME", "COMPANY"], 90)


def add_lead(diff, values, ledger, *, light: bool = False) -> None:
    """A lead evaluated with ``values``, into ``diff`` as a run adds it; ``light``: with its
    cells left out wherever the comparison says enough, as a worker sends it
    (``Evaluated.light``)."""
    key = values["email"].lower()
    cells = row_cells(diff.layout.value_columns, values)
    text, known = to_json(cells), ledger.get(key)
    compared = None if known is None else diff.comparison(cells, text, known)
    evaluated = Evaluated(key, cells, text, LeadNote(0.0, "subscribed", key, "[]", 0.0),
                          compared)
    if light:
        evaluated = evaluated.light()
    diff.add(key, evaluated.cells, text, compared, evaluated.note)


class World:
    def __init__(self, locale: str = "en_US", faults: Faults | None = None) -> None:
        self.clock = FakeClock()
        self.box = Sandbox(sheets_clock=self.clock, sleep=lambda s: None, sheets_faults=faults)
        self.account = self.box.google.service_account()
        self.box.sheets.create(SHEET_ID, locale=locale, editors=(self.account["client_email"],))
        self.slept: list[float] = []
        self.book = self.workbook()
        self.ledger: dict[str, tuple[str, float | None]] = {}
        self.columns_read: tuple[ColumnRead, ...] = ()  # the state's, as a run leaves it
        self.reads: list[list[str]] = []  # the ranges of each read, one list a request
        read = self.book.read

        def spy(ranges):
            self.reads.append(list(ranges))
            return read(ranges)

        self.book.read = spy  # type: ignore[method-assign]

    @property
    def ranges_read(self) -> list[str]:
        """Every range read so far, in order."""
        return [r for read in self.reads for r in read]

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)

    def workbook(self, info=None) -> Workbook:
        creds = Credentials.from_service_account_info(info or self.account, scopes=SCOPES)
        return Workbook(SHEET_ID, creds, adapter=self.box.session().get_adapter("https://"),
                        sleep=self.sleep, clock=self.clock)

    def values(self, tab: str):
        return self.box.sheets.values(SHEET_ID, tab)

    def sheet(self, tab: str):
        return self.box.sheets.spreadsheets[SHEET_ID].sheet(tab)

    def sync_leads(self, leads, when=NOW, *, trust_ledger=True, light=False):
        """What a run does with the Leads tab; ``self.ledger`` and ``self.columns_read``
        stand in for the cache's; ``light``: see ``add_lead``."""
        sheet = Spreadsheet(self.book, CONFIG)
        sheet.read(beside=self.columns_read if trust_ledger else ())  # not for `--full`
        opened = sheet.open_leads(COLUMNS, (), trust_ledger=trust_ledger)
        diff, self.columns_read = opened.diff, opened.columns
        for values in leads:
            add_lead(diff, values, self.ledger, light=light)
        sheet.settle_leads(diff)
        writes = sheet.write_leads(diff, when)
        self.ledger.update((entry.key, entry.known) for entry in diff.ledger_entries(when))
        return diff, writes


def lead(i: int, **values):
    row = {"email": f"Lead{i}@Example.com", "status": "subscribed", "FNAME": f"Name{i}",
           "COMPANY": "Acme", "clicks_30d": i % 4, "score": float(i), "tags": "lead:cold",
           "last_open_at": NOW - timedelta(days=i % 9), "vip": i % 2 == 0}
    row.update(values)
    return row


@pytest.fixture
def world() -> World:
    w = World()
    init_spreadsheet(w.book, CONFIG)
    return w


def test_init_creates_every_tab_formatted_in_three_requests():
    w = World()
    created = init_spreadsheet(w.book, CONFIG).created
    assert created == ["Dashboard", "Leads", "Weights", "Segments", "Interests", "Runs",
                       "Hand-off"]
    # metadata, the default tab's values (empty), one batchUpdate, one values write
    assert w.book.requests == 4
    assert "Sheet1" not in w.book.tabs()  # the untouched default tab is gone
    assert any(
        d["updateDimensionProperties"]["properties"]["pixelSize"] == 520
        for d in w.sheet("Leads").dimension_properties)  # the why column is wide
    weights = w.sheet("Weights")
    assert weights.frozen_rows == 1 and weights.formats[0]["textFormat"] == {"bold": True}
    ops = weights.validations[0]["rule"]["condition"]["values"]
    assert [v["userEnteredValue"] for v in ops][:3] == ["per", "=", "!="]
    assert {v["range"]["startColumnIndex"] for v in weights.validations} == {1, 5}
    segments = w.sheet("Segments")
    assert "per" not in [v["userEnteredValue"] for v in
                         segments.validations[0]["rule"]["condition"]["values"]]
    leads = w.sheet("Leads")
    assert leads.notes[(0, 0)].startswith("The contact's address")
    assert len(leads.conditional_formats) == 4  # three tier colours and the score's scale
    assert sum("gradientRule" in rule for rule in leads.conditional_formats) == 1
    assert w.values("Leads") == [leads_columns([], 90)]
    assert w.values("Segments")[1][:5] == ["lead:hot", "score", ">=", 60, "tier"]
    data = read_spreadsheet(w.book, CONFIG)  # the default rules are valid as they come
    rules = parse_rules(weights=data.weights, segments=data.segments, interests=data.interests,
                        lookback_days=90, say=SAY, cell=CELL)
    assert rules.managed_tags == ("lead:hot", "lead:warm", "lead:cold", "lead:sunset")


def test_init_twice_changes_nothing_and_keeps_existing_tabs(world):
    world.book.write([{"range": "'Weights'!A2", "values": [["clicks_7d", ">", 0, 99]]}])
    before = {tab: world.values(tab) for tab in ("Leads", "Weights", "Segments")}
    requests = world.book.requests
    assert init_spreadsheet(world.book, CONFIG).created == []
    assert world.book.requests == requests + 2  # the metadata, the Dashboard's title; no write
    assert {tab: world.values(tab) for tab in before} == before


def test_init_only_adds_what_is_missing():
    w = World()
    w.box.sheets.spreadsheets[SHEET_ID].sheets[0].title = "weights"  # the team's own, any case
    assert init_spreadsheet(w.book, CONFIG).created == ["Dashboard", "Leads", "Segments",
                                                        "Interests", "Runs", "Hand-off"]


def test_missing_tabs_are_all_named_with_the_fix():
    w = World()
    with pytest.raises(SheetSetupError) as failed:
        read_spreadsheet(w.book, CONFIG)
    assert failed.value.exit_code == 2 and len(failed.value.problems) == 5
    assert failed.value.problems[0] == ('The spreadsheet has no tab named "Leads": run `syncbot '
                                        'init` to create the missing tabs, or set the right name '
                                        'in [sheets] leads_tab.')


def test_everything_is_read_in_one_request_with_numbers_as_numbers(world):
    world.book.write([{"range": "'Weights'!D2", "values": [[2.5]]}])
    before, gets = world.book.requests, world.box.sheets_host.count("GET", "values:batchGet")
    data = read_spreadsheet(world.book, CONFIG)
    assert world.book.requests == before + 2  # metadata + one batchGet
    assert world.box.sheets_host.count("GET", "values:batchGet") == gets + 1
    assert data.weights[1][3] == 2.5 and data.runs_rows == 1


def read_fields(data) -> tuple:
    return (data.weights, data.segments, data.interests, data.leads_header, data.runs_rows,
            data.sources, data.handoff_rows, data.beside, data.ranges)


def test_the_tabs_the_last_run_read_are_asked_for_beside_the_metadata(world):
    """With the ranges the last run's values read asked for, that read goes out at once: the
    metadata read here waits until it has (one after the other, it would wait out the
    timeout and fail); the answer is the one read without a guess, in the same two
    requests."""
    plain = read_spreadsheet(world.book, CONFIG)
    metadata_waits_for_a_values_read(world.book)
    before = world.book.requests
    guessed = read_spreadsheet(world.book, CONFIG, last=plain.ranges)
    assert world.book.requests == before + 2
    assert read_fields(guessed) == read_fields(plain)


@pytest.mark.parametrize("case", ["renamed", "column gone", "tab added", "refused"])
def test_a_guess_that_no_longer_holds_is_read_again(world, case):
    """The tabs moved since the last run (a tab renamed, a column read beside them gone, a
    tab to read that the last run did not have), or Sheets refused the guess: the values
    are read again, one request more, and the answer is the one read without a guess."""
    beside = [ColumnRead("Leads", 0)]
    last = read_spreadsheet(world.book, CONFIG, beside=beside).ranges
    if case == "tab added":  # the guess reads fine, and lacks one range
        last = [range_ for range_ in last if not range_.endswith("!A:A")]
    if case == "renamed":
        last = [range_.replace("Interests", "Topics") for range_ in last]
    if case == "column gone":
        beside = [*beside, ColumnRead("Leads", 400)]  # past the grid: not read beside
    if case == "refused":
        read, calls = world.book.read, []

        def refusing(ranges):
            calls.append(ranges)
            if len(calls) == 1:
                raise SheetsError("Unable to parse range: 'Interests'")
            return read(ranges)
        world.book.read = refusing
    before = world.book.requests
    guessed = read_spreadsheet(world.book, CONFIG, beside=beside, last=last)
    plain = read_spreadsheet(world.book, CONFIG, beside=beside)
    assert read_fields(guessed) == read_fields(plain)
    assert guessed.beside == plain.beside and list(guessed.beside) == ["'Leads'!A2:A"]
    if case != "refused":  # (a refusal made up here costs no request)
        assert world.book.requests - before == 3 + 2


def test_the_columns_the_last_run_read_come_with_the_tabs_and_cost_no_request(world):
    world.sync_leads([lead(i) for i in range(1, 6)])
    header = world.values("Leads")[0]
    email, stamp = header.index("email"), header.index("synced_at")
    assert world.columns_read == (ColumnRead("Leads", email), ColumnRead("Leads", stamp))
    world.reads.clear()
    update, _ = world.sync_leads([lead(i, score=9.0 if i == 2 else float(i))
                                  for i in range(1, 6)], when=NOW + timedelta(hours=6))
    tabs, *others = world.reads
    assert "'Weights'" in tabs and "'Leads'!1:1" in tabs
    assert {"'Leads'!A2:A", f"'Leads'!{col_letters(stamp)}2:{col_letters(stamp)}"} <= set(tabs)
    assert others == []  # no new lead: the rows below the last one need not be looked at
    assert (update.changed_leads, update.rows_of["lead2@example.com"]) == (1, 3)


def test_columns_that_moved_since_the_last_run_are_read_where_they_are_now(world):
    world.sync_leads([lead(i) for i in range(1, 6)])
    sheet_id = world.sheet("Leads").sheet_id
    world.book.change_structure([{"insertDimension": {"range": {  # the team inserts one at A
        "sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}}}])
    world.reads.clear()
    update, _ = world.sync_leads([lead(i, score=9.0 if i == 2 else float(i))
                                  for i in range(1, 6)], when=NOW + timedelta(hours=6))
    assert "'Leads'!A2:A" in world.reads[0] and "'Leads'!B2:B" in world.reads[1]
    assert world.columns_read[0] == ColumnRead("Leads", 1)  # the e-mails, now in B
    assert (update.new_leads, update.changed_leads) == (0, 1)
    assert [r[1] for r in world.values("Leads")[1:]] == [lead(i)["email"] for i in range(1, 6)]


def test_columns_of_a_tab_or_grid_that_is_gone_are_not_asked_for(world):
    world.sync_leads([lead(1)])
    width = world.sheet("Leads").column_count
    world.columns_read += (ColumnRead("Deleted tab", 0), ColumnRead("Leads", width))
    world.reads.clear()
    update, _ = world.sync_leads([lead(1)], when=NOW + timedelta(hours=6))
    assert not any(r.startswith("'Deleted tab'") or f"!{col_letters(width)}2" in r
                   for r in world.ranges_read)
    assert (update.new_leads, update.changed_leads) == (0, 0)


def test_a_spanish_sheet_reads_2_coma_5_as_two_and_a_half():
    w = World(locale="es_ES")
    init_spreadsheet(w.book, CONFIG)  # a Spanish spreadsheet: Spanish tabs
    # what a person types in a Spanish sheet (USER_ENTERED), and text pasted as-is (RAW)
    w.box.sheets._write(w.box.sheets.spreadsheets[SHEET_ID], "Pesos!A2",
                        [["clicks_7d", ">", "0", "2,5", ""]], "USER_ENTERED")
    w.book.write([{"range": "Pesos!A3", "values": [["opens_7d", ">", 0, "1,5", ""]]}])
    assert w.box.sheets.values(SHEET_ID, "Pesos", "FORMATTED_VALUE")[1][3] == "2,5"
    data = read_spreadsheet(w.book, CONFIG)
    assert data.language.code == "es"
    rules = parse_rules(weights=data.weights[:3], segments=data.segments,
                        interests=data.interests, lookback_days=90, say=SAY, cell=CELL,
                        vocabulary=rule_vocabulary())
    assert [r.points for r in rules.weights] == [2.5, 1.5]


def test_first_write_appends_leads_with_real_numbers_dates_and_literal_text(world):
    leads = [lead(1, FNAME='=HYPERLINK("http://evil.example","x")'), lead(2, FNAME="+34 600"),
             lead(3, FNAME="007")]
    update, writes = world.sync_leads(leads)
    assert (update.new_leads, update.changed_leads, writes) == (3, 0, 2)  # header + rows
    rows = world.values("Leads")
    header = rows[0]
    assert header[:4] == ["email", "status", "opens_7d", "clicks_7d"]
    assert header[-2:] == ["FNAME", "COMPANY"]  # missing syncbot columns go at the right
    first = dict(zip(header, rows[1], strict=False))
    assert first["FNAME"] == '=HYPERLINK("http://evil.example","x")'
    assert not any(isinstance(v, Formula) for row in world.sheet("Leads").rows for v in row)
    assert dict(zip(header, rows[3], strict=False))["FNAME"] == "007"
    assert first["score"] == 1.0 and first["vip"] is False
    assert first["last_open_at"] == pytest.approx((NOW - timedelta(days=1) - datetime(
        1899, 12, 30, tzinfo=UTC)) / timedelta(days=1))
    formatted = world.box.sheets.values(SHEET_ID, "Leads", "FORMATTED_VALUE")
    assert dict(zip(header, formatted[1], strict=False))["last_open_at"] == "2026-11-21 12:00"


def test_a_second_identical_write_sends_nothing(world):
    leads = [lead(i) for i in range(20)]
    world.sync_leads(leads)
    update, writes = world.sync_leads(leads, when=NOW + timedelta(hours=6))
    assert (update.new_leads, update.changed_leads, writes) == (0, 0, 0)
    assert list(update.ranges(NOW)) == []


def written_ranges(world, monkeypatch) -> list[dict]:
    """Every ValueRange the workbook writes from now on."""
    seen: list[dict] = []
    write = world.book.write

    def spy(data, meanwhile=()):
        items = list(data)
        seen.extend(items)
        return write(items, meanwhile)

    monkeypatch.setattr(world.book, "write", spy)
    return seen


def test_changed_cells_are_written_column_by_column_with_synced_at_last(world, monkeypatch):
    """At a schedule's cadence a changed row changes a few cells far apart: whole-row ranges
    would be mostly nulls, so each column's changed cells go as a run of that column."""
    world.sync_leads([lead(i) for i in range(40)])
    seen = written_ranges(world, monkeypatch)
    later = NOW + timedelta(hours=6)
    changed = [lead(i, score=float(i) + (0.5 if i % 5 else 0.0),
                    FNAME="Renamed" if i == 7 else f"Name{i}") for i in range(40)]
    update, _ = world.sync_leads(changed, when=later)
    assert (update.new_leads, update.changed_leads) == (0, 32)
    header = world.values("Leads")[0]
    letter = {name: col_letters(header.index(name)) for name in ("score", "FNAME", "synced_at")}
    assert [(r["range"], r.get("majorDimension")) for r in seen] == [
        (f"'Leads'!{letter['score']}3:{letter['score']}41", "COLUMNS"),  # rows 2, 7, … bridged
        (f"'Leads'!{letter['FNAME']}9", None),  # one cell: just that cell
        (f"'Leads'!{letter['synced_at']}3:{letter['synced_at']}41", "COLUMNS")]
    assert seen[0]["values"][0][:6] == [1.5, 2.5, 3.5, 4.5, None, 6.5]  # lead 5: unchanged
    rows = {r[0]: dict(zip(header, r, strict=False)) for r in world.values("Leads")[1:]}
    assert rows["Lead5@Example.com"]["synced_at"] < rows["Lead6@Example.com"]["synced_at"]
    assert rows["Lead7@Example.com"]["FNAME"] == "Renamed"
    assert [rows[f"Lead{i}@Example.com"]["score"] for i in (4, 5, 6)] == [4.5, 5.0, 6.5]


def test_the_stamp_is_cut_to_a_millionth_of_a_day_and_the_ledger_keeps_the_same(world,
                                                                                 monkeypatch):
    """Every changed row carries the run's ``synced_at``: a serial cut to 6 decimals (0.09 s)
    takes 12 characters in a request instead of 18, and the ledger records that very value."""
    world.sync_leads([lead(i) for i in range(3)])
    seen = written_ranges(world, monkeypatch)
    later = NOW + timedelta(hours=6, seconds=7, microseconds=123_456)
    world.sync_leads([lead(i, score=9.0) for i in range(3)], when=later)
    column = col_letters(world.values("Leads")[0].index("synced_at"))
    stamps = {value for r in seen if r["range"].startswith(f"'Leads'!{column}")
              for value in r["values"][0]}
    assert stamps == {round(to_serial(later), 6)} and len(repr(min(stamps))) <= 12
    assert {known.synced_at for known in world.ledger.values()} == stamps


def test_bodies_go_as_compact_utf8_json_of_the_size_measured(world, monkeypatch):
    sent: list[bytes] = []
    request = world.book.http.session.request

    def spy(*args, **kwargs):
        if kwargs.get("data"):
            sent.append(kwargs["data"])
        return request(*args, **kwargs)

    monkeypatch.setattr(world.book.http.session, "request", spy)
    before = world.book.bytes_written
    world.book.write([{"range": "'Leads'!A1:C1", "values": [["Sofía", None, 2.5]]}])
    (body,) = sent
    assert b'"values":[["Sof\xc3\xada",null,2.5]]' in body and b", " not in body
    assert world.book.bytes_written - before == len(body) - len(
        b'{"valueInputOption":"RAW","data":[]}') + 1  # the ranges, each with its comma
    assert world.values("Leads")[0][:3] == ["Sofía", "status", 2.5]  # the null left B1


def test_a_column_run_bridges_short_gaps_only():
    from syncbot.sheets.leads import GAP_ROWS, _column_runs

    cells = [(2, 1), (3, 2), (4 + GAP_ROWS, 3), (5 + 2 * GAP_ROWS + 1, 4)]
    runs = list(_column_runs("Leads", 4, cells))
    assert [r["range"] for r in runs] == [f"'Leads'!E2:E{4 + GAP_ROWS}",
                                          f"'Leads'!E{5 + 2 * GAP_ROWS + 1}"]  # one cell
    assert runs[0]["values"] == [[1, 2, *[None] * GAP_ROWS, 3]] and runs[1]["values"] == [[4]]


def test_a_write_cut_before_its_stamps_is_finished_by_the_next_run(world):
    """Values reached the sheet, ``synced_at`` and the ledger did not: the row still shows the
    stamp the ledger vouches for, so the next run compares it with the ledger and writes it
    again, stamp included."""
    world.sync_leads([lead(i) for i in range(10)])
    sheet = Spreadsheet(world.book, CONFIG)
    sheet.read()
    diff = sheet.open_leads(COLUMNS, (), trust_ledger=True).diff
    changed = [lead(i, score=50.0 + i) for i in range(10)]
    for values in changed:
        add_lead(diff, values, world.ledger)
    later = NOW + timedelta(hours=6)
    header = world.values("Leads")[0]
    stamp_range = col_letters(header.index("synced_at"))
    world.book.write([r.value_range for r in diff.ranges(later)
                      if f"!{stamp_range}" not in r.value_range["range"]])  # then it dies
    update, _ = world.sync_leads(changed, when=later + timedelta(minutes=5))
    assert update.changed_leads == 10
    rows = world.values("Leads")[1:]
    assert {row[header.index("score")] for row in rows} == {50.0 + i for i in range(10)}
    assert {row[header.index("synced_at")] for row in rows} == {
        sync_stamp(later + timedelta(minutes=5))}


def test_team_columns_sorting_and_notes_stay_with_their_leads(world):
    world.sync_leads([lead(i) for i in range(1, 6)])
    sheet_id = world.sheet("Leads").sheet_id
    world.book.change_structure([{"insertDimension": {"range": {  # team inserts 2 columns at C
        "sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 2, "endIndex": 4}}}])
    rows = world.values("Leads")
    team = {"lead3@example.com": "call Friday", "lead5@example.com": "VIP client"}
    notes = [["Owner", "Notes"]] + [["Ana", team.get(r[0].lower(), "")] for r in rows[1:]]
    world.book.write([{"range": "'Leads'!C1", "values": notes}])
    sheet = world.sheet("Leads")  # the team sorts the rows, newest first
    sheet.rows[1:] = list(reversed(sheet.rows[1:len(rows)]))
    changed = [lead(i, score=50.0 if i == 3 else float(i)) for i in range(1, 7)]
    update, _ = world.sync_leads(changed, when=NOW + timedelta(days=1))
    assert (update.new_leads, update.changed_leads) == (1, 1)
    after = world.values("Leads")
    header = after[0]
    by_email = {r[0].lower(): dict(zip(header, r, strict=False)) for r in after[1:]}
    assert by_email["lead3@example.com"]["Notes"] == "call Friday"
    assert by_email["lead5@example.com"]["Notes"] == "VIP client"
    assert by_email["lead3@example.com"]["score"] == 50.0
    assert by_email["lead3@example.com"]["Owner"] == "Ana"
    assert [r[0] for r in after[1:6]] == [r[0] for r in world.values("Leads")[1:6]]
    assert after[6][0] == "Lead6@Example.com"  # the new lead is appended, nothing moved
    untouched = by_email["lead4@example.com"]["synced_at"]
    assert by_email["lead3@example.com"]["synced_at"] > untouched


def test_renaming_a_column_back_and_forth(world):
    world.sync_leads([lead(1)])
    header = world.values("Leads")[0]
    why = header.index("why")
    world.book.write([{"range": f"'Leads'!{col_letters(why)}1", "values": [["Por qué"]]}])
    update, _ = world.sync_leads([lead(1, why="clicks")])
    assert update.layout.new_columns == ("why",)  # the renamed column is the team's now
    world.book.write([{"range": f"'Leads'!{col_letters(why)}1", "values": [["WHY"]]}])
    with pytest.raises(InvalidInputError) as twice:
        world.sync_leads([lead(1)])
    assert twice.value.problems[0].startswith('Leads!') and '"why" is also the header of' in \
        twice.value.problems[0]


def test_a_tab_with_rows_but_no_email_column_is_refused(world):
    world.book.write([{"range": "'Leads'!A1", "values": [["Name"], ["Ana"]]}])
    with pytest.raises(InvalidInputError, match='no "email" column'):
        world.sync_leads([lead(1)])


def test_duplicate_emails_keep_the_first_row_and_are_reported(world):
    world.sync_leads([lead(1), lead(2)])
    world.book.write([{"range": "'Leads'!A4", "values": [["LEAD1@example.com"]]}])
    update, _ = world.sync_leads([lead(1, score=9.0), lead(2)])
    assert update.duplicates == ["lead1@example.com"]
    rows = world.values("Leads")
    score = rows[0].index("score")
    assert rows[1][score] == 9.0 and len(rows[3]) == 1  # the duplicate row is left alone


def test_more_than_1000_leads_grow_the_grid_first(world):
    update, writes = world.sync_leads([lead(i) for i in range(1500)])
    assert update.rows_needed == 1501 and world.sheet("Leads").row_count == 1501
    assert len(world.values("Leads")) == 1501
    assert world.box.sheets_host.count("POST", ":batchUpdate") >= 2


def test_big_writes_are_chunked(world, monkeypatch):
    monkeypatch.setattr(sheets_module, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr("syncbot.sheets.leads.BLOCK_ROWS", 50)
    update, writes = world.sync_leads([lead(i) for i in range(400)])
    assert writes >= 5 and len(world.values("Leads")) == 401
    posts = world.box.sheets_host.count("POST", "values:batchUpdate")
    layout_changes = 1  # the grid grew first
    assert posts == (writes - layout_changes) + 1  # this run's value writes plus init's one


def ranges(count: int, made: list[int], on_its_way: threading.Event | None = None,
           overlapped: list[bool] | None = None, meanwhile: threading.Event | None = None):
    """``count`` one-cell ValueRanges of about 1 KB (19 to a request of 20 KB), noting in
    ``made`` each one taken. Inside the second, third and fourth request's ranges, it waits
    (up to 5 s) for a request to be ``on_its_way``, notes in ``overlapped`` whether one was,
    and sets ``meanwhile``."""
    for i in range(count):
        made.append(i)
        if i in (25, 45, 58) and on_its_way is not None:
            assert overlapped is not None and meanwhile is not None
            overlapped.append(on_its_way.wait(5))
            meanwhile.set()
        yield {"range": f"'Leads'!Z{i + 2}", "values": [["x" * 1000]]}


def test_the_next_request_is_made_up_while_the_one_before_is_on_its_way(world, monkeypatch):
    init_spreadsheet(world.book, CONFIG)
    monkeypatch.setattr(sheets_module, "CHUNK_BYTES", 20_000)
    send = world.book.http.values_batch_update
    on_its_way, meanwhile = threading.Event(), threading.Event()
    overlapped: list[bool] = []
    waited: list[bool] = []
    made: list[int] = []

    def slow(spreadsheet_id, body):
        if len(waited) < 3:  # the last request has nothing after it to overlap
            on_its_way.set()
            waited.append(meanwhile.wait(5))
            on_its_way.clear()
            meanwhile.clear()
        return send(spreadsheet_id, body)

    monkeypatch.setattr(world.book.http, "values_batch_update", slow)
    assert world.book.write(ranges(60, made, on_its_way, overlapped, meanwhile)) == 4
    assert overlapped == [True] * 3 and waited == [True] * 3 and len(made) == 60
    assert [row[25] for row in world.values("Leads")[1:61]] == ["x" * 1000] * 60


def test_the_callers_steps_are_taken_while_each_request_is_on_its_way(world, monkeypatch):
    init_spreadsheet(world.book, CONFIG)
    monkeypatch.setattr(sheets_module, "CHUNK_BYTES", 20_000)
    send = world.book.http.values_batch_update
    taken = [0]
    waited: list[bool] = []

    def answered_after_a_step(spreadsheet_id, body):
        before = taken[0]
        waited.append(waits_for(lambda: taken[0] > before, 5))
        return send(spreadsheet_id, body)

    def steps():  # endless: the write must stop taking them once its answer is in
        for number in itertools.count(1):
            taken[0] = number
            yield number

    monkeypatch.setattr(world.book.http, "values_batch_update", answered_after_a_step)
    work = steps()
    made: list[int] = []
    assert world.book.write(ranges(60, made), work) == 4
    assert waited == [True] * 4 and len(made) == 60
    assert next(work) == taken[0] > 4  # the rest is still the caller's
    assert [row[25] for row in world.values("Leads")[1:61]] == ["x" * 1000] * 60


def test_steps_that_run_out_leave_the_write_to_finish(world, monkeypatch):
    init_spreadsheet(world.book, CONFIG)
    monkeypatch.setattr(sheets_module, "CHUNK_BYTES", 20_000)
    made: list[int] = []
    assert world.book.write(ranges(60, made), iter([1, 2])) == 4
    assert [row[25] for row in world.values("Leads")[1:61]] == ["x" * 1000] * 60


def test_a_write_that_fails_sends_nothing_after_it(world, monkeypatch):
    init_spreadsheet(world.book, CONFIG)
    monkeypatch.setattr(sheets_module, "CHUNK_BYTES", 20_000)
    posts = world.box.sheets_host.count("POST", "values:batchUpdate")
    world.box.sheets.spreadsheets[SHEET_ID].editors.clear()  # refused: not retried
    made: list[int] = []
    with pytest.raises(SheetsError, match="not shared"):
        world.book.write(ranges(60, made))
    assert world.box.sheets_host.count("POST", "values:batchUpdate") == posts + 1
    assert len(made) < 60  # the rest were never made up


def test_request_counts_of_a_full_and_an_incremental_write_stay_under_the_quota(world):
    start = world.book.requests
    world.sync_leads([lead(i) for i in range(3000)])
    full = world.book.requests - start
    start = world.book.requests
    world.sync_leads([lead(i, score=99.0 if i % 100 == 0 else float(i)) for i in range(3000)])
    incremental = world.book.requests - start
    # metadata, read (with the e-mail and synced_at columns), one write of 30 changed rows
    assert full <= 6 and incremental == 3
    start = world.book.requests
    world.sync_leads([lead(i) for i in range(3000)], trust_ledger=False)  # as `sync --full`
    assert world.book.requests - start == 4 + 1  # plus one read of the 3000 rows
    assert world.box.sheets.quota_hits == 0


def test_pacing_keeps_a_busy_run_under_60_requests_a_minute(world):
    for _ in range(130):
        world.book.read(["'Weights'!A1"])
    assert world.box.sheets.quota_hits == 0
    assert sum(world.slept) >= 60  # it waited instead of being refused


@pytest.mark.parametrize("kind", ["429", "500", "503", "timeout", "reset"])
def test_transient_sheets_failures_are_retried(kind):
    w = World()
    init_spreadsheet(w.book, CONFIG)
    before = w.book.requests
    w.box.sheets_host.faults.queue(kind)
    read_spreadsheet(w.book, CONFIG)
    assert w.book.requests == before + 3  # metadata (failed once), metadata, batchGet


def test_errors_say_what_to_do(world):
    other = World()
    other.box.sheets.spreadsheets[SHEET_ID].editors.clear()
    with pytest.raises(SheetsError) as unshared:
        other.book.tabs()
    email = other.account["client_email"]
    assert f"not shared with the service account {email}" in str(unshared.value)
    missing = Workbook("1NoSuchSheet0000", Credentials.from_service_account_info(
        world.account, scopes=SCOPES), adapter=world.box.session().get_adapter("https://"))
    with pytest.raises(SheetsError, match='no spreadsheet with id "1NoSuchSheet0000"'):
        missing.tabs()
    forged = dict(world.account, client_email="nobody@x.iam.gserviceaccount.com")
    with pytest.raises(SheetsError, match="Google rejected the service account key"):
        world.workbook(forged).tabs()
    world.box.sheets_host.faults.queue(*["503"] * 10)
    with pytest.raises(SheetsError, match="after 7 attempts"):
        world.book.tabs()


def test_the_cell_limit_is_checked_before_growing(world, monkeypatch):
    monkeypatch.setattr("syncbot.sheets.tabs.CELL_LIMIT", 40_000)
    with pytest.raises(SheetsError) as full:
        world.sync_leads([lead(i) for i in range(2000)])
    assert "about" in str(full.value) and "leads fit" in str(full.value)
    assert world.values("Leads") == [leads_columns([], 90)]  # nothing half-written


def test_runs_rows_are_appended_at_explicit_rows(world):
    for i in range(3):
        data = read_spreadsheet(world.book, CONFIG)
        append_run(world.book, data, [f"2026-11-2{i}", "", "full", "ok"])
    rows = world.values("Runs")
    assert rows[0][:4] == ["started_at", "finished_at", "mode", "status"]
    assert [r[0] for r in rows[1:]] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert world.box.sheets_host.count("POST", ":append") == 0


def test_templates_are_plain_files_with_leads_notes_for_every_column():
    templates = load_templates()
    assert templates["Leads"].rows[0] == leads_columns([], 90)
    assert set(templates["Leads"].notes) == set(leads_columns([], 90, 365))  # with [orders]


def test_duplicates_are_summarised_for_the_runs_tab():
    from syncbot.sheets.leads import duplicates_message

    assert duplicates_message("Leads", []) == ""
    assert duplicates_message("Leads", ["a@x.com", "b@x.com", "c@x.com", "d@x.com"]) == (
        "4 e-mail addresses appear more than once in Leads (first: a@x.com, b@x.com, c@x.com); "
        "syncbot updates the first row of each and leaves the others alone.")


# ---- the ledger: what syncbot last wrote, vouched for by each row's synced_at ----------------

def reads_of_rows(world):
    """How many ranges of whole Leads rows were read (not single columns or the header)."""
    return sum(1 for r in world.ranges_read if re.fullmatch(r"'Leads'!A\d+:[A-Z]+\d+", r))


def test_with_the_ledger_no_leads_row_is_read_back(world):
    world.sync_leads([lead(i) for i in range(50)])
    before = reads_of_rows(world)
    update, _ = world.sync_leads([lead(i, score=7.0 if i == 3 else float(i)) for i in range(50)],
                                 when=NOW + timedelta(hours=1))
    assert (update.changed_leads, reads_of_rows(world)) == (1, before)


def test_a_row_restored_from_an_old_version_is_repaired(world):
    world.sync_leads([lead(1), lead(2)])
    old = [list(r) for r in world.sheet("Leads").rows[:3]]
    world.sync_leads([lead(1, score=5.0), lead(2)], when=NOW + timedelta(hours=1))
    world.sheet("Leads").rows[1] = old[1]  # the team restores lead 1's row from version history
    update, _ = world.sync_leads([lead(1, score=5.0), lead(2)], when=NOW + timedelta(hours=2))
    header, row = world.values("Leads")[0], world.values("Leads")[1]
    assert update.changed_leads == 1 and dict(zip(header, row, strict=False))["score"] == 5.0


def test_a_hand_edit_in_a_syncbot_cell_is_corrected_when_the_value_changes_or_by_full(world):
    world.sync_leads([lead(1)])
    header = world.values("Leads")[0]
    score = f"'Leads'!{col_letters(header.index('score'))}2"
    world.book.write([{"range": score, "values": [[100]]}])  # typed over syncbot's score
    world.sync_leads([lead(1)], when=NOW + timedelta(hours=1))
    assert world.book.read([score])[0] == [[100]]  # the ledger still vouches for the row
    world.sync_leads([lead(1)], when=NOW + timedelta(hours=2), trust_ledger=False)
    assert world.book.read([score])[0] == [[1.0]]


def test_a_deleted_row_comes_back_and_a_deleted_column_is_refilled(world):
    world.sync_leads([lead(i) for i in range(1, 4)])
    sheet = world.sheet("Leads")
    del sheet.rows[2]  # the team deletes lead 2's row …
    why = world.values("Leads")[0].index("why")
    world.book.change_structure([{"deleteDimension": {"range": {  # … and the "why" column
        "sheetId": sheet.sheet_id, "dimension": "COLUMNS", "startIndex": why,
        "endIndex": why + 1}}}])
    update, _ = world.sync_leads([lead(i, why=f"because {i}") for i in range(1, 4)],
                                 when=NOW + timedelta(hours=1))
    rows = world.values("Leads")
    assert update.layout.new_columns == ("why",) and update.new_leads == 1
    by_email = {r[0]: dict(zip(rows[0], r, strict=False)) for r in rows[1:]}
    assert {e: v["why"] for e, v in by_email.items()} == {
        "Lead1@Example.com": "because 1", "Lead3@Example.com": "because 3",
        "Lead2@Example.com": "because 2"}
    assert rows[-1][0] == "Lead2@Example.com"  # appended at the end


def test_new_leads_go_below_every_row_the_team_uses(world):
    world.sync_leads([lead(1), lead(2)])
    world.book.write([{"range": "'Leads'!C6", "values": [["team notes, no e-mail"]]}])
    update, _ = world.sync_leads([lead(1), lead(2), lead(3)], when=NOW + timedelta(hours=1))
    rows = world.values("Leads")
    assert update.new_leads == 1 and rows[5][2] == "team notes, no e-mail"
    assert rows[6][0] == "Lead3@Example.com" and rows[3:5] == [[], []]


def test_the_rows_below_the_last_lead_are_read_only_when_a_lead_is_new_and_then_once(world):
    world.sync_leads([lead(1), lead(2)])
    world.reads.clear()
    world.sync_leads([lead(1), lead(2, score=5.0)], when=NOW + timedelta(hours=1))
    assert not any(r.startswith("'Leads'!4:") for read in world.reads for r in read)
    world.reads.clear()
    update, _ = world.sync_leads([lead(i) for i in range(1, 5)], when=NOW + timedelta(hours=2))
    assert [read for read in world.reads if any(r.startswith("'Leads'!4:") for r in read)] \
        == [["'Leads'!4:1000"]]
    assert update.new_leads == 2 and update.rows_of["lead4@example.com"] == 5


def test_rows_are_read_and_written_as_runs_of_consecutive_rows():
    from syncbot.sheets.a1 import row_runs
    from syncbot.sheets.tabs import _blocks

    rows = [2, 3, 4, 7, 8, 20]
    assert list(row_runs(rows, 2)) == [(2, 3), (4, 4), (7, 8), (20, 20)]
    assert list(_blocks(rows, 4)) == [[(2, 4), (7, 7)], [(8, 8), (20, 20)]]


def test_dates_and_rates_keep_their_format_on_rows_the_grid_grows_by(world):
    """Whether Google carries a column's format onto appended rows is undocumented: syncbot
    formats the new rows itself, so a date never shows as a serial number."""
    leads = [lead(i, avg_open_rate=0.63) for i in range(1, 1201)]  # the template has 1000 rows
    world.sync_leads(leads)
    shown = world.box.sheets.values(SHEET_ID, "Leads", "FORMATTED_VALUE")
    header = shown[0]
    last_open, rate = header.index("last_open_at"), header.index("avg_open_rate")
    for row in (shown[5], shown[1150]):  # inside the template's grid, and past it
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[last_open]), row[last_open]
        assert row[rate] == "63%"


def test_init_keeps_a_default_tab_the_team_wrote_in():
    w = World()
    w.book.write([{"range": "'Sheet1'!A1", "values": [["our notes"]]}])
    init_spreadsheet(w.book, CONFIG)
    assert w.values("Sheet1") == [["our notes"]]


@pytest.mark.parametrize("light", [False, True])
def test_the_sample_shows_leads_whose_tags_change_with_the_tags_before(world, light):
    world.sync_leads([lead(i) for i in range(1, 6)])
    diff, _ = world.sync_leads([lead(1), lead(2, tags="lead:hot", score=90.0),
                                lead(3, score=50.0), lead(4, tags="lead:warm"), lead(5)],
                               when=NOW + timedelta(hours=1), light=light)
    assert diff.changed_leads == 3  # the score of 3 changed, not its tags: no sample
    assert [(s.email, s.before, s.after, s.score) for s in diff.sample()] == [
        ("Lead2@Example.com", "lead:cold", "lead:hot", 90.0),
        ("Lead4@Example.com", "lead:cold", "lead:warm", 4.0)]


def test_a_lead_is_compared_with_its_ledger_entry_cell_by_cell():
    columns = ("email", "score", "tags", "why")
    comparison = Comparison(columns)
    before = ["a@example.com", 10, "lead:warm", "clicks"]
    known = Known(to_json(before), 46000.5)
    assert comparison(before, to_json(before), known) == Compared(46000.5, None, None)
    after = ["a@example.com", 10 + 1e-12, "lead:hot", "clicks, pricing"]
    expected = Compared(46000.5, (2, 3), "lead:warm")  # a float within 1e-9 is the same
    assert comparison(after, to_json(after), known) == expected
    assert comparison(None, to_json(after), known) == expected  # decoded from the JSON
    longer = [*after[:2], "lead:warm", "clicks", "new"]
    assert comparison(longer, to_json(longer), known) == Compared(46000.5, (4,), None)
    refill = Comparison(columns, frozenset({3}))  # "why" is a column the tab lost
    assert refill(before, to_json(before), known) == Compared(46000.5, (3,), None)
