"""A first sync writes its new rows and adds its tags while it scores (syncbot.sheets.stream,
LeadsDiff.pour_new, syncbot.tagstream, pipeline._may_pour), only when the safety stop cannot
hold them back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncbot import pipeline, tagstream
from syncbot.ports import LeadNote
from syncbot.sandbox import sheets as sandbox_sheets
from syncbot.sheets import client as sheets_client
from syncbot.sheets import leads as leads_module
from syncbot.sheets.client import SheetsError
from syncbot.sheets.leads import LeadsDiff, plan_layout
from syncbot.sheets.spool import PendingRow
from syncbot.sheets.stream import RowStream
from syncbot.sheets.wire import Encoded, wire_json
from tests.conftest import LIST_ID, SHEET_ID, waits_for
from tests.test_e2e import World

COLUMNS = ["email", "score", "synced_at"]


def _note(n: int) -> LeadNote:
    return LeadNote(0.0, "subscribed", f"lead{n}@example.com", "[]", float(n))


def _diff(header: list[str] | None = None, emails: list[str] | None = None) -> LeadsDiff:
    header = COLUMNS if header is None else header
    layout = plan_layout("Leads", header, COLUMNS, width=len(header))
    return LeadsDiff(layout, emails or [], [None] * len(emails or []), trust_ledger=False)


def _add(diff: LeadsDiff, n: int) -> None:
    email = f"lead{n}@example.com"
    diff.add(email, None, json.dumps([email, n]), None, _note(n))


def test_new_rows_go_in_whole_blocks_as_they_come_and_ranges_leave_them_out(monkeypatch):
    monkeypatch.setattr(leads_module, "BLOCK_ROWS", 3)
    diff = _diff(emails=["old@example.com"])
    poured: list[list[int]] = []
    assert diff.rows_with(7) == 9  # the header, the old lead, seven new ones
    diff.pour_new(7, lambda block: poured.append([p.row for p in block]))
    for n in range(6):
        _add(diff, n)
    assert poured == [[3, 4, 5], [6, 7, 8]]  # handed on as soon as each block was whole
    _add(diff, 6)
    _add(diff, 7)  # one more than the stream made room for
    assert poured == [[3, 4, 5], [6, 7, 8]]
    diff.end_pour()
    assert poured == [[3, 4, 5], [6, 7, 8], [9]]
    assert diff.poured == 7 and diff.new_leads == 8 and diff.rows_needed == 10
    written = [_decoded(r.value_range)["range"] for r in diff.ranges(pipeline._utc_now())]
    assert written == ["'Leads'!A10:C10"]  # only the lead the stream had no room for
    entries = {e.key for e in diff.ledger_entries(pipeline._utc_now())}
    assert entries == {f"lead{n}@example.com" for n in range(8)}  # the ledger learns them all


def test_new_columns_headers_go_once_before_the_rows():
    diff = _diff(header=["email"])
    headers = diff.headers_range()
    assert headers is not None and headers.value_range["values"] == [["score", "synced_at"]]
    diff.pour_new(2, lambda block: None)
    _add(diff, 1)
    _add(diff, 2)
    diff.end_pour()
    assert list(diff.ranges(pipeline._utc_now())) == []  # headers and rows went with the stream


def _decoded(value_range) -> dict:
    return json.loads(value_range) if isinstance(value_range, bytes) else value_range


def test_a_block_as_a_range_carries_every_cell_and_the_stamp():
    diff = _diff()
    now = pipeline._utc_now()
    block = [PendingRow(2, "a", '["a@x.com",5]', None, _note(1)),
             PendingRow(3, "b", '["b@x.com",7]', None, _note(2))]
    made = diff.new_rows_range(block, now)
    stamp = leads_module.sync_stamp(now)
    assert made.leads == 2
    assert isinstance(made.value_range, Encoded)  # made from the rows' text, not decoded
    assert _decoded(made.value_range) == {"range": "'Leads'!A2:C3", "majorDimension": "ROWS",
                                          "values": [["a@x.com", 5, stamp], ["b@x.com", 7, stamp]]}


cells = st.lists(st.one_of(st.text(), st.integers(), st.booleans(),
                           st.floats(allow_nan=False, allow_infinity=False)),
                 min_size=2, max_size=2)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(cells, min_size=1, max_size=4))
def test_rows_joined_from_their_text_are_the_bytes_a_decoded_block_would_be(rows):
    diff = _diff()
    now = pipeline._utc_now()
    block = [PendingRow(2 + i, f"k{i}", leads_module.to_json(row), None, _note(i))
             for i, row in enumerate(rows)]
    stamp = leads_module.sync_stamp(now)
    decoded = leads_module._block("Leads", {2 + i: {0: row[0], 1: row[1], 2: stamp}
                                            for i, row in enumerate(rows)})
    assert wire_json(diff.new_rows_range(block, now).value_range) == wire_json(decoded)


def test_rows_are_decoded_where_a_column_sits_between_or_a_number_is_not_json():
    apart = plan_layout("Leads", ["email", "Notes", "score", "synced_at"], COLUMNS, width=4)
    diff = LeadsDiff(apart, [], [], trust_ledger=False)  # the team's column between
    now = pipeline._utc_now()
    made = diff.new_rows_range([PendingRow(2, "a", '["a@x.com",5]', None, _note(1))], now)
    assert made.value_range == {"range": "'Leads'!A2:D2", "majorDimension": "ROWS",
                                "values": [["a@x.com", None, 5, leads_module.sync_stamp(now)]]}
    odd = _diff().new_rows_range([PendingRow(2, "a", '["a@x.com",NaN]', None, _note(1))], now)
    assert not isinstance(odd.value_range, Encoded)  # wire_json refuses it, as before


class _Recording:
    """A grid whose writes consume their ranges one by one, as ``Workbook.write`` does, and
    refuse the range ``refuse`` names."""

    def __init__(self, refuse: str = "") -> None:
        self.written: list[str] = []
        self.refuse = refuse
        self.requests = 0

    def write(self, data: Iterable[Mapping[str, Any]]) -> int:
        for item in data:
            if item["range"] == self.refuse:
                raise SheetsError("Google Sheets refused the write (400)")
            self.written.append(item["range"])
        self.requests += 1
        return 1


def test_a_stream_writes_the_first_ranges_then_each_item_in_order():
    grid = _Recording()
    with RowStream(grid, lambda n: {"range": f"row{n}"}, [{"range": "headers"}]) as stream:
        for n in range(10):
            stream.put(n)
        assert stream.finish() == 1
    assert grid.written == ["headers", *(f"row{n}" for n in range(10))]


def test_a_refused_write_reaches_the_scoring_loop_at_its_next_block():
    grid = _Recording(refuse="row2")
    with (RowStream(grid, lambda n: {"range": f"row{n}"}, backlog=1) as stream,
          pytest.raises(SheetsError, match="refused")):
        for n in range(1000):  # the writer stops at row2; a later put says why
            stream.put(n)
    assert grid.written == ["row0", "row1"]


def test_an_abandoned_stream_stops_its_writer():
    release = threading.Event()
    grid = _Recording()
    stream = RowStream(grid, lambda n: (release.wait(5), {"range": f"row{n}"})[1], backlog=2)
    stream.put(0)
    stream.put(1)
    release.set()
    stream.abandon()  # the scoring failed: what waits is not written
    assert len(grid.written) <= 1
    assert not any(t.name.startswith("leads-stream") for t in threading.enumerate())


# ---- through the command line, against the sandbox ----------------------------------------


def _streaming_world(tmp_path, monkeypatch, capsys, name: str) -> World:
    """A World whose Leads rows go in blocks of 50 and requests of about 8 KB, so that its
    600 leads make a stream of many requests."""
    monkeypatch.setattr(leads_module, "BLOCK_ROWS", 50)
    monkeypatch.setattr(sheets_client, "CHUNK_BYTES", 8_000)
    (tmp_path / name).mkdir()
    world = World(tmp_path / name, monkeypatch)
    assert world.run(capsys, "init")[0] == 0
    return world


def _at_lead(monkeypatch, number: int, action) -> None:
    """Call ``action()`` once the run has scored ``number`` leads (in the scoring loop)."""
    take = pipeline._Leads.take
    taken = [0]

    def counting(self, lead):
        take(self, lead)
        taken[0] += 1
        if taken[0] == number:
            action()
    monkeypatch.setattr(pipeline._Leads, "take", counting)


def _seen_while_scoring(monkeypatch, after: int, *measures) -> list[tuple[int, ...]]:
    """Once ``after`` leads are scored, wait (at most 10 s) for each of ``measures`` to grow
    past what it was before the run, and note what they are then (in a list: none noted
    means the run never got that far)."""
    before = tuple(measure() for measure in measures)
    seen: list[tuple[int, ...]] = []

    def now() -> tuple[int, ...]:
        return tuple(measure() for measure in measures)

    def look() -> None:
        waits_for(lambda: all(n > b for n, b in zip(now(), before, strict=True)))
        seen.append(now())
    _at_lead(monkeypatch, after, look)
    return seen


def _leads_cells(world: World):
    return lambda: world.box.sheets.cells_written.get("Leads", 0)


def _tag_posts(world: World):
    return lambda: world.box.mailchimp_host.count("POST", "/segments/")


def test_a_first_sync_writes_rows_and_tags_while_it_scores_and_ends_as_one_that_does_not(
        tmp_path, monkeypatch, capsys):
    calm = _streaming_world(tmp_path, monkeypatch, capsys, "calm")
    monkeypatch.setattr(pipeline, "_may_pour", lambda *a: False)
    assert calm.run(capsys, "sync")[0] == 0
    monkeypatch.undo()

    streaming = _streaming_world(tmp_path, monkeypatch, capsys, "streaming")
    monkeypatch.setattr(tagstream, "BATCH", 20)
    seen = _seen_while_scoring(monkeypatch, 300, _leads_cells(streaming), _tag_posts(streaming))
    code, out, err = streaming.run(capsys, "sync")
    assert code == 0, err
    [(cells, posts)] = seen  # before half the leads were scored:
    assert cells > 0 and posts > 0  # rows had reached the sheet, tags Mailchimp
    assert streaming.leads() == calm.leads()
    assert streaming.tags() == calm.tags()
    added = 7  # the Runs column: tags added
    assert streaming.runs()[-1][added] == calm.runs()[-1][added] > 0
    for counted in ("cells_written", "cells_changed"):  # no row written twice
        assert getattr(streaming.box.sheets, counted) == getattr(calm.box.sheets, counted)


def test_rows_wait_for_the_safety_stop_while_a_member_could_lose_a_tag(
        tmp_path, monkeypatch, capsys):
    world = _streaming_world(tmp_path, monkeypatch, capsys, "tagged")
    world.set_weights([["opens_90d", "per", "", 10, "", "engagement"]])  # many warm and hot
    assert world.run(capsys, "sync")[0] == 0  # the managed tags exist from now on
    leads = world.leads()
    for n in range(200):
        world.box.mailchimp.add_member(LIST_ID, f"late{n}@example.com")
    world.set_weights([["clicks_30d", "per", "", 0, "", "engagement"]])  # an emptied tab
    before = world.box.sheets.cells_written["Leads"]
    seen = _seen_while_scoring(monkeypatch, 150, _leads_cells(world))
    code, _, err = world.run(capsys, "sync")
    assert code == 3, err
    assert seen == [(before,)]  # nothing was written while the leads were scored
    assert world.box.sheets.cells_written["Leads"] == before
    assert world.leads() == leads  # the 200 new leads too wait for a run that may write


def test_force_writes_rows_while_it_scores_even_where_tags_exist(tmp_path, monkeypatch, capsys):
    world = _streaming_world(tmp_path, monkeypatch, capsys, "forced")
    assert world.run(capsys, "sync")[0] == 0
    for n in range(200):
        world.box.mailchimp.add_member(LIST_ID, f"late{n}@example.com")
    before = world.box.sheets.cells_written["Leads"]
    seen = _seen_while_scoring(monkeypatch, 150, _leads_cells(world))
    assert world.run(capsys, "sync", "--force")[0] == 0
    assert seen and seen[0][0] > before
    assert len(world.leads()) == 800


def test_a_write_refused_mid_stream_stops_the_run_and_the_next_one_repairs_it(
        tmp_path, monkeypatch, capsys):
    calm = _streaming_world(tmp_path, monkeypatch, capsys, "calm")
    assert calm.run(capsys, "sync")[0] == 0

    world = _streaming_world(tmp_path, monkeypatch, capsys, "refused")
    write = sandbox_sheets.SheetsEmulator._write
    refused: list[str] = []

    def refusing(self, book, a1, *args, **kwargs):
        if a1.startswith("'Leads'!A152:") and not refused:  # the fourth block of rows
            refused.append(a1)
            raise sandbox_sheets.google_error(400, "Internal error encountered.",
                                              "INVALID_ARGUMENT")
        return write(self, book, a1, *args, **kwargs)
    monkeypatch.setattr(sandbox_sheets.SheetsEmulator, "_write", refusing)
    tags = world.tags()
    code, _, err = world.run(capsys, "sync")
    assert code == 1 and "Traceback" not in err and refused
    assert 0 < len(world.leads()) < 600  # some rows went before the refusal
    assert world.tags() == tags  # nothing written to Mailchimp
    assert world.runs()[-1][3] == "failed"

    code, _, err = world.run(capsys, "sync")
    assert code == 0, err
    assert world.leads().keys() == calm.leads().keys()  # every lead, none twice
    rows = world.box.sheets.values(SHEET_ID, "Leads")
    assert len(rows) == 601
    assert world.tags() == calm.tags()
    for email, row in world.leads().items():
        mine = calm.leads()[email]
        assert {k: v for k, v in row.items() if k != "synced_at"} == \
            {k: v for k, v in mine.items() if k != "synced_at"}



def test_a_tag_batch_refused_mid_stream_fails_the_run_once_the_rows_are_written(
        tmp_path, monkeypatch, capsys):
    calm = _streaming_world(tmp_path, monkeypatch, capsys, "calm")
    assert calm.run(capsys, "sync")[0] == 0

    world = _streaming_world(tmp_path, monkeypatch, capsys, "refused")
    monkeypatch.setattr(tagstream, "BATCH", 20)
    _at_lead(monkeypatch, 100,  # from the 100th lead on, Mailchimp fails (500s)
             lambda: world.box.mailchimp_host.faults.queue(*["500"] * 60))
    code, _, err = world.run(capsys, "sync")
    assert code == 1 and "Traceback" not in err
    assert world.leads() == calm.leads()  # the rows were written all the same
    assert world.tags() != calm.tags()
    assert world.runs()[-1][3] == "failed"

    world.box.mailchimp_host.faults.script.clear()
    code, _, err = world.run(capsys, "sync")
    assert code == 0, err
    assert world.tags() == calm.tags() and world.leads() == calm.leads()
