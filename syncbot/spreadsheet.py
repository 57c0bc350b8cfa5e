"""The spreadsheet as syncbot uses it: set up from templates, read in one request, written safely.

Built on ``adapters.sheets.Workbook``. ``init_spreadsheet`` creates only the
missing tabs (formatting in one ``batchUpdate``, contents in one values write)
and never changes an existing tab. ``read_spreadsheet`` reads every tab
syncbot needs in one ``batchGet``. ``write_leads`` grows the grid before
writing past it and checks the 10-million-cell limit first; ``append_run``
writes one Runs row at an explicit row (safe to retry, unlike ``append``).
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from syncbot.a1 import col_letters, quote_title
from syncbot.adapters.sheets import CELL_LIMIT, SheetsError, SheetSetupError, Tab, Workbook
from syncbot.config import SheetsConfig
from syncbot.core.rules import DIMENSIONS, OPERATORS
from syncbot.leads_tab import DATE_COLUMNS, LeadsUpdate
from syncbot.text import t

TABS = (("leads_tab", "Leads"), ("weights_tab", "Weights"), ("segments_tab", "Segments"),
        ("interests_tab", "Interests"), ("runs_tab", "Runs"))
DROPDOWNS = {"weights_operators": list(OPERATORS), "segment_operators": list(OPERATORS[1:]),
             "dimensions": list(DIMENSIONS)}
DATE_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}


@dataclass(frozen=True)
class Template:
    kind: str  # Leads, Weights, …
    rows: list[list[Any]]
    format: dict[str, Any]
    notes: dict[str, str]


def _typed(cell: str) -> Any:
    """CSV text as the value a person would have typed: numbers as numbers."""
    try:
        return int(cell)
    except ValueError:
        try:
            return float(cell)
        except ValueError:
            return cell


def load_templates(language: str = "en") -> dict[str, Template]:
    root = resources.files("sheet_templates")
    formats = tomllib.loads(root.joinpath("format.toml").read_text("utf-8"))
    notes = tomllib.loads(root.joinpath(language, "leads_notes.toml").read_text("utf-8"))
    templates = {}
    for _, kind in TABS:
        text = root.joinpath(language, f"{kind}.csv").read_text("utf-8")
        rows = [[_typed(c) for c in row] for row in csv.reader(io.StringIO(text)) if row]
        templates[kind] = Template(kind, rows, formats.get(kind, {}) | {"header": formats["header"]},
                                   notes if kind == "Leads" else {})
    return templates


def _color(hex_color: str) -> dict[str, float]:
    value = hex_color.lstrip("#")
    return {"red": int(value[0:2], 16) / 255, "green": int(value[2:4], 16) / 255,
            "blue": int(value[4:6], 16) / 255}


def _layout(sheet_id: int, title: str, template: Template) -> list[dict[str, Any]]:
    """The batchUpdate requests that create one tab with its formatting."""
    header = [str(c) for c in template.rows[0]]
    fmt = template.format
    rows = max(int(fmt.get("rows", 100)), len(template.rows) + 10)
    column = {name: i for i, name in enumerate(header)}
    requests: list[dict[str, Any]] = [{"addSheet": {"properties": {
        "sheetId": sheet_id, "title": title,
        "gridProperties": {"rowCount": rows, "columnCount": len(header),
                           "frozenRowCount": fmt["header"]["frozen_rows"]}}}}]
    requests.append({"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1},
        "cell": {"userEnteredFormat": {"textFormat": {"bold": fmt["header"]["bold"]},
                                       "backgroundColor": _color(fmt["header"]["background"])}},
        "fields": "userEnteredFormat(textFormat,backgroundColor)"}})
    for name, values in fmt.get("dropdowns", {}).items():
        requests.append({"setDataValidation": {
            "range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": rows,
                      "startColumnIndex": column[name], "endColumnIndex": column[name] + 1},
            "rule": {"condition": {"type": "ONE_OF_LIST", "values": [
                {"userEnteredValue": v} for v in DROPDOWNS[values]]},
                "showCustomUi": True, "strict": False}}})
    for name in fmt.get("date_columns", []):
        requests.append(date_format(sheet_id, column[name], rows))
    if template.notes:
        requests.append({"updateCells": {
            "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
            "rows": [{"values": [{"note": template.notes.get(name, "")} for name in header]}],
            "fields": "note"}})
    for rule in fmt.get("colors", []):
        requests.append({"addConditionalFormatRule": {"index": 0, "rule": {
            "ranges": [{"sheetId": sheet_id, "startRowIndex": 1,
                        "startColumnIndex": column[rule["column"]],
                        "endColumnIndex": column[rule["column"]] + 1}],
            "booleanRule": {"condition": {"type": "TEXT_CONTAINS",
                                          "values": [{"userEnteredValue": rule["contains"]}]},
                            "format": {"backgroundColor": _color(rule["background"])}}}}})
    return requests


def date_format(sheet_id: int, column: int, rows: int) -> dict[str, Any]:
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": rows,
                  "startColumnIndex": column, "endColumnIndex": column + 1},
        "cell": {"userEnteredFormat": {"numberFormat": DATE_FORMAT}},
        "fields": "userEnteredFormat.numberFormat"}}


def tab_names(config: SheetsConfig) -> dict[str, str]:
    """Template kind → the tab's name in this spreadsheet."""
    return {kind: getattr(config, key) for key, kind in TABS}


def init_spreadsheet(workbook: Workbook, config: SheetsConfig, *, language: str = "en"
                     ) -> list[str]:
    """Create every missing tab from the templates; existing tabs are left exactly as they are."""
    templates = load_templates(language)
    existing = workbook.tabs()
    folded = {title.casefold() for title in existing}
    next_id = max([tab.sheet_id for tab in existing.values()] + [0]) + 1
    layout: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    created = []
    for kind, title in tab_names(config).items():
        if title.casefold() in folded:
            continue
        template = templates[kind]
        layout.extend(_layout(next_id, title, template))
        contents.append({"range": f"{quote_title(title)}!A1", "values": template.rows})
        created.append(title)
        next_id += 1
    workbook.change_structure(layout)
    workbook.write(contents)
    return created


@dataclass(frozen=True)
class SheetData:
    tabs: dict[str, Tab]  # by template kind
    weights: list[list[Any]]
    segments: list[list[Any]]
    interests: list[list[Any]]
    leads: list[list[Any]]
    runs_rows: int  # rows in use in the Runs tab, header included


def read_spreadsheet(workbook: Workbook, config: SheetsConfig) -> SheetData:
    """Every tab syncbot needs, in one metadata read and one values read."""
    names = tab_names(config)
    found = workbook.tabs()
    folded = {title.casefold(): tab for title, tab in found.items()}
    missing = [(key, names[kind]) for key, kind in TABS if names[kind].casefold() not in folded]
    if missing:
        raise SheetSetupError([t("sheets.missing_tab", tab=title, key=key) for key, title in missing])
    tabs = {kind: folded[title.casefold()] for kind, title in names.items()}
    ranges = [quote_title(tabs[kind].title) for kind in ("Weights", "Segments", "Interests", "Leads")]
    ranges.append(f"{quote_title(tabs['Runs'].title)}!A:A")
    weights, segments, interests, leads, runs = workbook.read(ranges)
    return SheetData(tabs, weights, segments, interests, leads, len(runs))


def write_leads(workbook: Workbook, data: SheetData, update: LeadsUpdate,
                date_columns: Sequence[str] = DATE_COLUMNS) -> int:
    """Grow the Leads grid if needed, then write; returns the number of write requests."""
    tab = data.tabs["Leads"]
    others = sum(t_.rows * t_.columns for kind, t_ in data.tabs.items() if kind != "Leads")
    if update.rows_needed * update.columns_needed + others > CELL_LIMIT:
        fit = max(0, (CELL_LIMIT - others) // max(update.columns_needed, 1) - 1)
        raise SheetsError(t("sheets.too_many_cells", rows=update.rows_needed,
                            columns=update.columns_needed, fit=fit))
    layout: list[dict[str, Any]] = []
    if update.rows_needed > tab.rows:
        layout.append({"appendDimension": {"sheetId": tab.sheet_id, "dimension": "ROWS",
                                           "length": update.rows_needed - tab.rows}})
    if update.columns_needed > tab.columns:
        layout.append({"appendDimension": {"sheetId": tab.sheet_id, "dimension": "COLUMNS",
                                           "length": update.columns_needed - tab.columns}})
    for name in update.new_columns:
        if name in date_columns:
            layout.append(date_format(tab.sheet_id, update.column_index[name],
                                      max(update.rows_needed, tab.rows)))
    requests = 1 if layout else 0
    workbook.change_structure(layout)
    return requests + workbook.write(update.data)


def append_run(workbook: Workbook, data: SheetData, header: Sequence[str],
               values: Sequence[Any]) -> None:
    """One Runs row, written at an explicit row (a retried write cannot add it twice)."""
    tab = data.tabs["Runs"]
    rows: list[Sequence[Any]] = [values] if data.runs_rows else [header, values]
    first = data.runs_rows + 1
    needed = data.runs_rows + len(rows)
    if needed > tab.rows:
        workbook.change_structure([{"appendDimension": {
            "sheetId": tab.sheet_id, "dimension": "ROWS", "length": max(100, needed - tab.rows)}}])
    workbook.write([{"range": f"{quote_title(tab.title)}!A{first}:"
                              f"{col_letters(len(header) - 1)}{first + len(rows) - 1}",
                     "values": [list(r) for r in rows]}])


@cache
def runs_header() -> tuple[str, ...]:
    """The Runs tab's columns (from its template; read once per process)."""
    return tuple(str(c) for c in load_templates()["Runs"].rows[0])

