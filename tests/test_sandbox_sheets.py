"""The Sheets emulator, driven through gspread with a real google-auth service-account flow."""

from __future__ import annotations

import math

import gspread
import pytest
from google.oauth2.service_account import Credentials
from hypothesis import example, given, settings
from hypothesis import strategies as st

from syncbot.sandbox.sheets import CELL_LIMIT, Formula, SheetsEmulator
from syncbot.sheets.a1 import col_index, col_letters
from tests.conftest import SCOPES, SHEET_ID


def api_error(exc_info) -> tuple[int, str, str]:
    error = exc_info.value.error
    return exc_info.value.response.status_code, error.get("status", ""), error.get("message", "")


def test_token_flow_and_metadata(gspread_client, sandbox, rsps):
    book = gspread_client.open_by_key(SHEET_ID)
    assert [ws.title for ws in book.worksheets()] == ["Leads"]
    token_calls = [c for c in rsps.calls if c.request.url.endswith("/token")]
    assert len(token_calls) == 1
    assert b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in \
        token_calls[0].request.body


def test_unknown_signer_gets_no_token(sandbox, rsps, service_account):
    sandbox.sheets.create(SHEET_ID, editors=(service_account["client_email"],))
    forged = dict(service_account, client_email="intruder@evil.iam.gserviceaccount.com")
    client = gspread.Client(auth=Credentials.from_service_account_info(forged, scopes=SCOPES))
    from google.auth.exceptions import RefreshError

    with pytest.raises(RefreshError, match="invalid_grant"):
        client.open_by_key(SHEET_ID)


def test_not_shared_is_403_and_unknown_id_is_404(sandbox, rsps, service_account):
    sandbox.sheets.create(SHEET_ID, editors=("someone-else@example.com",))
    client = gspread.Client(auth=Credentials.from_service_account_info(service_account,
                                                                       scopes=SCOPES))
    with pytest.raises(gspread.exceptions.APIError) as denied:
        client.http_client.fetch_sheet_metadata(SHEET_ID)
    assert api_error(denied)[:2] == (403, "PERMISSION_DENIED")
    with pytest.raises(gspread.exceptions.APIError) as missing:
        client.http_client.fetch_sheet_metadata("1NoSuchSpreadsheet000")
    assert api_error(missing)[:2] == (404, "NOT_FOUND")


def test_no_token_is_401(sandbox, rsps):
    import requests

    sandbox.sheets.create(SHEET_ID)
    reply = requests.get(f"https://sheets.googleapis.com/v4/spreadsheets/{SHEET_ID}", timeout=5)
    assert reply.status_code == 401 and reply.json()["error"]["status"] == "UNAUTHENTICATED"


def test_raw_keeps_text_while_user_entered_makes_formulas(gspread_client, sandbox):
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")
    ws.update([['=HYPERLINK("http://evil.example","x")', "+34 600", "007", "2,5"]], "A1",
              value_input_option="RAW")
    ws.update([['=HYPERLINK("http://evil.example","x")', "=1+1", "007", "2024-01-15"]], "A2",
              value_input_option="USER_ENTERED")
    cells = sandbox.sheets.spreadsheets[SHEET_ID].sheet("Leads").rows
    assert cells[0] == ['=HYPERLINK("http://evil.example","x")', "+34 600", "007", "2,5"]
    assert cells[1][:3] == [Formula('=HYPERLINK("http://evil.example","x")'), Formula("=1+1"), 7]
    assert ws.get("A2:D2", value_render_option="UNFORMATTED_VALUE") == [["x", 2, 7, 45306]]
    assert ws.get("A2:D2", value_render_option="FORMATTED_VALUE") == [["x", "2", "7", "2024-01-15"]]
    assert ws.get("A1:B2", value_render_option="FORMULA")[1] == [
        '=HYPERLINK("http://evil.example","x")', "=1+1"]


def test_formatted_values_follow_the_spreadsheet_locale(sandbox, rsps, service_account):
    sandbox.sheets.create(SHEET_ID, locale="es_ES", editors=(service_account["client_email"],),
                          tabs=("Weights",))
    client = gspread.Client(auth=Credentials.from_service_account_info(service_account,
                                                                       scopes=SCOPES))
    ws = client.open_by_key(SHEET_ID).worksheet("Weights")
    ws.update([["Points", 2.5, 10, True], ["typed", "3,75", "1.234,5", "VERDADERO"]], "A1",
              value_input_option="USER_ENTERED")
    assert ws.get("A1:D1") == [["Points", "2,5", "10", "VERDADERO"]]  # FORMATTED_VALUE default
    assert ws.get("A1:D1", value_render_option="UNFORMATTED_VALUE") == [["Points", 2.5, 10, True]]
    assert ws.get("B2:C2", value_render_option="UNFORMATTED_VALUE") == [[3.75, 1234.5]]


def test_writes_past_the_grid_fail_until_the_tab_is_resized(gspread_client, sandbox):
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")
    rows = [[f"lead{i}@example.com", i] for i in range(1200)]
    with pytest.raises(gspread.exceptions.APIError) as exceeded:
        ws.update(rows, "A1")
    status, code, message = api_error(exceeded)
    assert status == 400 and code == "INVALID_ARGUMENT"
    assert "exceeds grid limits. Max rows: 1000, max columns: 26" in message
    assert sandbox.sheets.values(SHEET_ID, "Leads") == []  # nothing half-written
    ws.resize(rows=1200)
    ws.update(rows, "A1")
    assert len(sandbox.sheets.values(SHEET_ID, "Leads")) == 1200


def test_append_grows_the_grid_and_finds_the_end_of_the_table(gspread_client, sandbox):
    book = gspread_client.open_by_key(SHEET_ID)
    ws = book.add_worksheet("Runs", rows=2, cols=3)
    ws.append_rows([["started_at", "status"], ["a", "ok"]])
    ws.append_rows([["b", "ok"], ["c", "failed"]])
    assert sandbox.sheets.values(SHEET_ID, "Runs") == [
        ["started_at", "status"], ["a", "ok"], ["b", "ok"], ["c", "failed"]]
    assert sandbox.sheets.spreadsheets[SHEET_ID].sheet("Runs").row_count == 4


def test_batch_get_reads_ragged_rows_and_trims_trailing_blanks(gspread_client, sandbox):
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")
    ws.update([["email", "score", None, ""], ["a@x.com"], [], ["c@x.com", 3]], "A1")
    got = gspread_client.open_by_key(SHEET_ID).values_batch_get(
        ["'Leads'!A:B", "'Leads'!C1:D4"], params={"valueRenderOption": "UNFORMATTED_VALUE"})
    first, second = got["valueRanges"]
    assert first["values"] == [["email", "score"], ["a@x.com"], [], ["c@x.com", 3]]
    assert first["range"] == "Leads!A1:B1000"
    assert "values" not in second  # a blank range has no values key


def test_null_cells_are_skipped_and_empty_strings_clear(gspread_client, sandbox):
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")
    ws.update([["keep", "old", "x"]], "A1")
    ws.update([[None, "new", ""]], "A1")
    assert sandbox.sheets.values(SHEET_ID, "Leads") == [["keep", "new"]]


def test_repeated_values_are_stored_once_and_read_back_as_written(gspread_client, sandbox):
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")
    why = "clicks_30d 3×5=15; JOBTITLE contains director +10"
    other = "clicks_30d 1×5=5; country in ES, MX +5"
    rows = [["subscribed", 42.5, why, 0.0, -0.0, 46000.123],
            ["subscribed", 42.5, why, 0.0, -0.0, 46000.123],
            ["subscribed", 42.5, other, 0.0, 0.0, 46001.5],
            ["subscribed", 42.5, why, -0.0, 0.0, 46000.123]]
    ws.update(rows, "A1", value_input_option="RAW")
    tab = sandbox.sheets.spreadsheets[SHEET_ID].sheet("Leads")
    assert tab.rows == rows
    for column in (0, 1):  # a short text, a round number: one object in every row
        assert len({id(row[column]) for row in tab.rows}) == 1
    for column in (2, 5):  # a long text, a fine number: shared with an equal cell above only
        assert tab.rows[1][column] is tab.rows[0][column]
        assert tab.rows[3][column] is not tab.rows[0][column]
    signs = [[math.copysign(1.0, row[column]) for column in (3, 4)] for row in tab.rows]
    assert signs == [[1, -1], [1, -1], [1, 1], [-1, 1]]  # -0.0 is not made 0.0, nor 0.0 -0.0
    assert ws.get("A1:F1", value_render_option="UNFORMATTED_VALUE") == [
        ["subscribed", 42.5, why, 0, 0, 46000.123]]
    kept = tab.rows[3][2]
    ws.update([[why, 0.0]], "C4", value_input_option="RAW")  # the same text, 0.0 for -0.0
    assert tab.rows[3][2] is kept and str(tab.rows[3][3]) == "0.0"


def test_values_batch_update_is_all_or_nothing(gspread_client, sandbox):
    book = gspread_client.open_by_key(SHEET_ID)
    with pytest.raises(gspread.exceptions.APIError):
        book.values_batch_update({"valueInputOption": "RAW", "data": [
            {"range": "'Leads'!A1", "values": [["fine"]]},
            {"range": "'Leads'!A1001", "values": [["outside"]]}]})
    assert sandbox.sheets.values(SHEET_ID, "Leads") == []
    with pytest.raises(gspread.exceptions.APIError) as no_option:
        book.values_batch_update({"data": [{"range": "'Leads'!A1", "values": [["x"]]}]})
    assert "valueInputOption" in api_error(no_option)[2]


def test_structural_batch_update_requests(gspread_client, sandbox):
    book = gspread_client.open_by_key(SHEET_ID)
    ws = book.worksheet("Leads")
    ws.update([["email", "score"], ["a@x.com", 1], ["b@x.com", 2]], "A1")
    leads = sandbox.sheets.spreadsheets[SHEET_ID].sheet("Leads")
    book.batch_update({"requests": [
        {"insertDimension": {"range": {"sheetId": ws.id, "dimension": "COLUMNS",
                                       "startIndex": 1, "endIndex": 2}}},
        {"appendDimension": {"sheetId": ws.id, "dimension": "ROWS", "length": 500}},
        {"updateSheetProperties": {"properties": {"sheetId": ws.id,
                                                  "gridProperties": {"frozenRowCount": 1}},
                                   "fields": "gridProperties.frozenRowCount"}},
        {"repeatCell": {"range": {"sheetId": ws.id, "startRowIndex": 0, "endRowIndex": 1},
                        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                        "fields": "userEnteredFormat.textFormat.bold"}},
        {"updateCells": {"start": {"sheetId": ws.id, "rowIndex": 0, "columnIndex": 0},
                         "rows": [{"values": [{"note": "the lead's address"}]}],
                         "fields": "note"}},
        {"setDataValidation": {"range": {"sheetId": ws.id, "startColumnIndex": 1,
                                         "endColumnIndex": 2, "startRowIndex": 1},
                               "rule": {"condition": {"type": "ONE_OF_LIST", "values": [
                                   {"userEnteredValue": "per"}]}, "showCustomUi": True}}},
    ]})
    assert sandbox.sheets.values(SHEET_ID, "Leads")[1] == ["a@x.com", "", 1]
    assert (leads.row_count, leads.column_count, leads.frozen_rows) == (1500, 27, 1)
    assert leads.notes == {(0, 0): "the lead's address"}
    assert len(leads.validations) == 1 and leads.formats[0]["textFormat"] == {"bold": True}
    book.batch_update({"requests": [{"deleteDimension": {"range": {
        "sheetId": ws.id, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}}]})
    assert sandbox.sheets.values(SHEET_ID, "Leads")[1] == ["b@x.com", "", 2]


def test_spreadsheet_batch_update_is_atomic(gspread_client, sandbox):
    book = gspread_client.open_by_key(SHEET_ID)
    with pytest.raises(gspread.exceptions.APIError) as bad:
        book.batch_update({"requests": [
            {"addSheet": {"properties": {"title": "Weights"}}},
            {"addSheet": {"properties": {"title": "Leads"}}}]})  # exists: the batch fails
    assert "already exists" in api_error(bad)[2]
    assert [s.title for s in sandbox.sheets.spreadsheets[SHEET_ID].sheets] == ["Leads"]
    with pytest.raises(gspread.exceptions.APIError) as unknown:
        book.batch_update({"requests": [{"frobnicate": {}}]})
    assert "Unknown name" in api_error(unknown)[2]


def test_ten_million_cells_is_the_ceiling(gspread_client, sandbox):
    book = gspread_client.open_by_key(SHEET_ID)
    ws = book.worksheet("Leads")
    with pytest.raises(gspread.exceptions.APIError) as full:
        ws.resize(rows=CELL_LIMIT // 26 + 1)
    assert "above the limit of 10000000 cells" in api_error(full)[2]
    ws.resize(rows=CELL_LIMIT // 26)  # exactly at the limit is fine


def test_sixty_requests_a_minute_per_user_then_429(gspread_client, sandbox, sheets_clock):
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")  # metadata reads count too
    for _ in range(60 - sandbox.sheets_host.count("GET", "/v4/")):
        ws.get("A1")
    assert sandbox.sheets_host.count("GET", "/v4/") == 60
    with pytest.raises(gspread.exceptions.APIError) as limited:
        ws.get("A1")
    status, code, message = api_error(limited)
    assert (status, code) == (429, "RESOURCE_EXHAUSTED") and "Read requests" in message
    ws.update([["writes have their own quota"]], "A1")
    sheets_clock.advance(61)
    assert ws.get("A1") == [["writes have their own quota"]]
    assert sandbox.sheets.quota_hits == 1


def test_a1_column_letters_round_trip():
    for index in (0, 25, 26, 701, 702, 18277):
        assert col_index(col_letters(index)) == index
    assert (col_letters(0), col_letters(26), col_letters(18277)) == ("A", "AA", "ZZZ")


def test_titles_with_quotes_and_spaces(gspread_client, sandbox):
    book = gspread_client.open_by_key(SHEET_ID)
    ws = book.add_worksheet("Team's notes", rows=5, cols=2)
    ws.update([["hola"]], "A1")
    assert sandbox.sheets.values(SHEET_ID, "Team's notes") == [["hola"]]
    assert ws.get("A1") == [["hola"]]


def test_a_spanish_spreadsheet_reads_and_shows_values_as_google_does(gspread_client, sandbox):
    """es_ES: decimal comma, day-first dates, VERDADERO/FALSO when formatted; unformatted
    reads give numbers, serial dates and booleans whatever the locale."""
    sandbox.sheets.spreadsheets[SHEET_ID].locale = "es_ES"
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")
    ws.update([["29/11/2026", "29/11/2026 14:05", "2,5", "VERDADERO", "2026-11-29"]], "A1",
              value_input_option="USER_ENTERED")
    assert ws.get("A1:E1", value_render_option="UNFORMATTED_VALUE") == [
        [46355, 46355.586805555555, 2.5, True, 46355]]
    assert ws.get("A1:E1", value_render_option="FORMATTED_VALUE") == [
        ["29/11/2026", "29/11/2026 14:05:00", "2,5", "VERDADERO", "2026-11-29"]]


def test_a_date_shows_by_its_pattern_or_else_the_locale_s_way(gspread_client, sandbox):
    ws = gspread_client.open_by_key(SHEET_ID).worksheet("Leads")
    ws.update([["11/29/2026", 46355.5]], "A1", value_input_option="USER_ENTERED")
    ws.format("B1", {"numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}})
    assert ws.get("A1:B1", value_render_option="FORMATTED_VALUE") == [
        ["11/29/2026", "2026-11-29 12:00"]]


cell_values = st.one_of(st.none(), st.just(""), st.text(max_size=30), st.integers(),
                        st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
                        st.sampled_from([0.0, -0.0, 42.5, "subscribed"]))
grid_rows = st.lists(st.lists(cell_values, max_size=5), max_size=4)


@settings(max_examples=80, deadline=None)
@given(before=grid_rows, after=grid_rows)
@example(before=[[0.0, "x", 1, 46000.123]], after=[[-0.0, "", True, 46000.123]])
@example(before=[], after=[["a" * 30, 46000.123, True], ["a" * 30, 46000.123, 1]])
def test_a_raw_row_is_stored_as_the_cell_by_cell_steps_store_it(before, after):
    """``SheetsEmulator._store_raw`` (the RAW rows' loop) against ``_store``, cell by cell:
    the same cells, the same objects shared, the same counts."""
    emulator = SheetsEmulator()
    books = [emulator.create(f"book{n}", tabs=("Leads",)) for n in (1, 2)]
    for book in books:
        emulator._write(book, "'Leads'!A1", before, "RAW")
    changed_before = emulator.cells_changed.get("Leads", 0)
    fast = emulator._write(books[0], "'Leads'!A1", after, "RAW")
    fast_changed = emulator.cells_changed.get("Leads", 0) - changed_before
    sheet = books[1].sheet("Leads")
    cells = changed = 0
    for i, row in enumerate(after):  # the cell-by-cell steps
        filled = [j for j, value in enumerate(row) if value is not None and value != ""]
        if filled:
            sheet.reserve(i, filled[-1] + 1)
        for j, value in enumerate(row):
            if value is not None:
                cells += 1
                changed += emulator._store(books[1], sheet, i, j, value, "RAW", sheet.cell(i, j))
    mine, theirs = books[0].sheet("Leads"), sheet
    assert fast["updatedCells"] == cells
    height = max(len(mine.rows), len(theirs.rows))
    for r in range(height):
        for c in range(6):
            a, b = mine.cell(r, c), theirs.cell(r, c)
            assert type(a) is type(b) and (a == b or a is b)
            if isinstance(a, float):
                assert math.copysign(1.0, a) == math.copysign(1.0, b)
            if r and isinstance(a, str | float):  # shared with the cell above where it was
                assert (a is mine.cell(r - 1, c)) == (b is theirs.cell(r - 1, c))
    assert fast_changed == changed
