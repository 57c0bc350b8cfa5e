"""Joining a source tab by e-mail and reading team columns (docs/reference.md, "Your own
columns and tabs"), on the in-memory workbook."""

from __future__ import annotations

from syncbot.core.inputs import COUNT, TeamColumn
from syncbot.sheets.a1 import below_header
from syncbot.sheets.fake import FakeWorkbook
from syncbot.sheets.inputs import email_column, plan_inputs

TAB = "CRM export"


def workbook(rows: list[list]) -> FakeWorkbook:
    book = FakeWorkbook()
    book.change_structure([{"addSheet": {"properties": {"sheetId": 5, "title": TAB,
                                                       "gridProperties": {"rowCount": 50,
                                                                          "columnCount": 5}}}},
                           {"addSheet": {"properties": {"sheetId": 6, "title": "Leads",
                                                       "gridProperties": {"rowCount": 50,
                                                                          "columnCount": 5}}}}])
    book.write([{"range": f"'{TAB}'!A1", "values": rows}])
    return book


HEADER = ["Name", "Correo electrónico", "Stage"]


def read_inputs(book, columns, *, leads_header, sources, rows_of):
    """The team's values as a run reads them, on their own (a run reads them with the Leads
    e-mails: ``Spreadsheet.open_leads``)."""
    plan = plan_inputs(columns, leads_header=leads_header, sources=sources)
    ranges = [below_header(*column) for column in plan.to_read]
    return plan.join(book.read(ranges) if ranges else [], rows_of)


def test_the_email_column_is_the_first_header_naming_one():
    assert email_column(["Timestamp", "Email Address", "email 2"]) == 1
    assert email_column(["Marca temporal", "Dirección de correo electrónico"]) == 1
    assert email_column(["Name", "E-Mail"]) == 1
    assert email_column(["Name", "Phone"]) is None


def test_the_bottom_most_row_wins_blank_included_and_every_row_counts():
    book = workbook([HEADER, ["Ana", " ANA@example.es ", "SQL"], ["Ana", "ana@example.es", ""],
                     ["Bea", "bea@example.es", "Lead"], ["", "", ""], ["Cy", "no-at-sign", "SQL"],
                     ["Di", "", "SQL"]])
    columns = [TeamColumn(TAB, "Stage"), TeamColumn(TAB, COUNT)]
    before = book.requests
    found = read_inputs(book, columns, leads_header=[], sources={TAB: HEADER}, rows_of={})
    assert found.values == {"ana@example.es": {f"{TAB}!count": 2},
                            "bea@example.es": {f"{TAB}!Stage": "Lead", f"{TAB}!count": 1}}
    assert found.skipped_rows == {TAB: 2}  # an empty row is not a skipped one
    assert book.requests == before + 1


def test_leads_columns_follow_the_rows_and_formula_errors_are_blank():
    book = workbook([HEADER])
    book.write([{"range": "'Leads'!A1", "values": [["email", "Demo requested"],
                                                   ["ana@example.es", True],
                                                   ["bea@example.es", "#N/A"],
                                                   ["cy@example.es", False]]}])
    column = TeamColumn("Leads", "Demo requested", in_leads=True)
    found = read_inputs(book, [column], leads_header=["email", "Demo requested"], sources={},
                        rows_of={"ana@example.es": 2, "bea@example.es": 3, "cy@example.es": 4,
                                 "new@example.es": 9})
    assert found.values == {"ana@example.es": {"Demo requested": True},
                            "cy@example.es": {"Demo requested": False}}
    assert found.error_cells == {"Leads": 1}
    assert found.fingerprint("ana@example.es") == "[True]"
    assert found.fingerprint("new@example.es") == ""


def test_no_team_column_costs_no_request():
    book = workbook([HEADER])
    before = book.requests
    assert read_inputs(book, [], leads_header=[], sources={}, rows_of={}).values == {}
    assert book.requests == before



def test_a_header_two_columns_carry_is_read_from_the_first_and_noted():
    book = workbook([["Email", "Stage", "Stage"], ["ana@example.es", "SQL", "old"]])
    found = read_inputs(book, [TeamColumn(TAB, "Stage")], leads_header=[],
                        sources={TAB: ["Email", "Stage", "Stage"]}, rows_of={})
    assert found.values == {"ana@example.es": {f"{TAB}!Stage": "SQL"}}
    assert found.ambiguous == [(TAB, "Stage", f"{TAB}!B1")]


def test_headers_differing_only_in_case_are_one_name_and_the_first_column_is_read():
    book = workbook([["Email", "stage", "Stage"], ["ana@example.es", "SQL", "old"]])
    found = read_inputs(book, [TeamColumn(TAB, "stage")], leads_header=[],
                        sources={TAB: ["Email", "stage", "Stage"]}, rows_of={})
    assert found.values == {"ana@example.es": {f"{TAB}!stage": "SQL"}}
    assert found.ambiguous == [(TAB, "stage", f"{TAB}!B1")]
