"""The spreadsheet as syncbot uses it: set up from templates, read in one request, written safely.

Built on a ``client.Grid`` (the ``Workbook``, or a fake). ``init_spreadsheet`` creates only the
missing tabs (formatting in one ``batchUpdate``, contents in one values write)
and never changes an existing tab. ``read_spreadsheet`` reads the rules tabs
and the Leads header in one ``batchGet``; ``prepare_leads`` reads the Leads
e-mail and ``synced_at`` columns with the team's columns the rules name (one
more), and ``settle_leads`` only the rows the ledger cannot vouch for, in
blocks. ``write_leads`` grows the grid
before writing past it, checks the 10-million-cell limit first, and streams
the rows in ~2 MB requests; ``append_run`` writes one Runs row at an explicit
row (safe to retry, unlike ``append``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache, cached_property, partial
from importlib import resources
from typing import Any, NamedTuple

from syncbot.config import SheetsConfig
from syncbot.core.handoff import HANDOFF_STATUSES
from syncbot.core.inputs import TeamHeaders
from syncbot.core.orders import ORDER_FIELDS
from syncbot.core.rules import DIMENSIONS, OPERATORS
from syncbot.core.values import as_text, is_blank
from syncbot.core.vocabulary import Labels
from syncbot.errors import InvalidInputError, SyncbotError
from syncbot.locales import decimal_mark, t
from syncbot.ports import ColumnRead
from syncbot.progress import STILL, Meter
from syncbot.sheets.a1 import below_header, col_letters, quote_title, row_runs
from syncbot.sheets.client import (
    CELL_LIMIT,
    Grid,
    SheetsError,
    SheetSetupError,
    Tab,
    ValueRange,
    next_sheet_id,
)
from syncbot.sheets.dashboard import (
    EMPTY_DASHBOARD,
    dashboard_values,
    find_dashboard,
    free_name,
    tab_requests,
)
from syncbot.sheets.inputs import email_column
from syncbot.sheets.language import (
    HANDOFF,
    SYNCBOT,
    TABS,
    SheetLanguage,
    csv_rows,
    find_tabs,
    init_language,
    recognise,
    sheet_language,
    tab_language,
    tab_names,
    template_text,
)
from syncbot.sheets.leads import LeadsDiff, WriteRange, plan_layout
from syncbot.sheets.spool import PendingRow
from syncbot.sheets.stream import RowStream

DROPDOWNS = {"weights_operators": list(OPERATORS), "segment_operators": list(OPERATORS[1:]),
             "dimensions": list(DIMENSIONS), "handoff_statuses": list(HANDOFF_STATUSES)}
DATE_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
PERCENT_FORMAT = {"type": "PERCENT", "pattern": "0%"}
NUMBER_FORMATS = {"date_columns": DATE_FORMAT, "percent_columns": PERCENT_FORMAT}  # format.toml
MADE_BY_INIT = (*TABS, HANDOFF)  # the Dashboard is made apart: its name must be free
READ_ROWS = 5000  # Leads rows per read request (~2 MB at 40 columns)
DEFAULT_TAB_TITLES = ("Sheet1", "Hoja 1", "Hoja1")  # a new spreadsheet's first tab, en and es


@dataclass(frozen=True)
class Template:
    """One tab as ``init`` creates it in one language."""

    kind: str  # Leads, Weights, …
    rows: list[list[Any]]  # in the language, header first
    columns: tuple[str, ...]  # each column's English name: what format.toml and notes use
    format: dict[str, Any]
    notes: dict[str, str]  # Leads header notes, by English column name
    language: SheetLanguage


def _typed(cell: str) -> Any:
    """CSV text as the value a person would have typed: numbers as numbers."""
    try:
        return int(cell)
    except ValueError:
        try:
            return float(cell)
        except ValueError:
            return cell


@cache
def load_templates(language: str = SYNCBOT) -> dict[str, Template]:
    """The tabs' templates (read once per process and language; treat them as read-only)."""
    root = resources.files("syncbot.sheets").joinpath("templates")
    formats = tomllib.loads(root.joinpath("format.toml").read_text("utf-8"))
    notes = tomllib.loads(template_text(language, "leads_notes.toml"))
    templates = {}
    for _, kind in (*TABS, HANDOFF):
        rows = [[_typed(c) for c in row] for row in csv_rows(template_text(language,
                                                                            f"{kind}.csv"))]
        columns = tuple(csv_rows(template_text(SYNCBOT, f"{kind}.csv"))[0])
        if kind == "Leads":  # the purchase columns come with the first sync with [orders]
            kept = [i for i, name in enumerate(columns) if name not in ORDER_FIELDS]
            rows = [[row[i] for i in kept] for row in rows]
            columns = tuple(columns[i] for i in kept)
        shared = {"header": formats["header"], "widths": formats["widths"]}
        templates[kind] = Template(kind, rows, columns, formats.get(kind, {}) | shared,
                                   notes if kind == "Leads" else {}, sheet_language(language))
    segments = templates["Segments"].rows
    for rule in templates["Leads"].format.get("colors", []):  # a tier tag of this language
        rule["contains"] = segments[rule["segments_row"]][0]
    return templates


def _color(hex_color: str) -> dict[str, float]:
    value = hex_color.lstrip("#")
    return {"red": int(value[0:2], 16) / 255, "green": int(value[2:4], 16) / 255,
            "blue": int(value[4:6], 16) / 255}


def _dropdown(values: str, language: SheetLanguage) -> list[str]:
    """A dropdown's choices as the language shows them (``format.toml`` names the list)."""
    shown = {**language.operators, **language.dimensions, **language.handoff_statuses}
    return [shown.get(value, value) for value in DROPDOWNS[values]]


def _layout(sheet_id: int, title: str, template: Template) -> list[dict[str, Any]]:
    """The batchUpdate requests that create one tab with its formatting."""
    header = list(template.columns)
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
    requests += row_formats(sheet_id, template, column, 1, rows)
    for name, pixels in _widths(template, header).items():
        requests.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": column[name],
                      "endIndex": column[name] + 1},
            "properties": {"pixelSize": pixels}, "fields": "pixelSize"}})
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
    for scale in fmt.get("scales", []):  # low to high, e.g. the score from white to green
        requests.append({"addConditionalFormatRule": {"rule": {
            "ranges": [{"sheetId": sheet_id, "startRowIndex": 1,
                        "startColumnIndex": column[scale["column"]],
                        "endColumnIndex": column[scale["column"]] + 1}],
            "gradientRule": {"minpoint": {"type": "MIN", "color": _color(scale["low"])},
                             "maxpoint": {"type": "MAX", "color": _color(scale["high"])}}}}})
    return requests


def row_formats(sheet_id: int, template: Template, column: Mapping[str, int], first: int,
                end: int) -> list[dict[str, Any]]:
    """The dropdowns and number formats of a tab's rows ``first``..``end`` - 1 (0-based):
    made with the tab, and again on the rows it grows by. ``column``: where each of
    syncbot's columns is (a column the team removed is skipped)."""
    requests: list[dict[str, Any]] = []
    for name, values in template.format.get("dropdowns", {}).items():
        if name not in column:
            continue
        requests.append({"setDataValidation": {
            "range": {"sheetId": sheet_id, "startRowIndex": first, "endRowIndex": end,
                      "startColumnIndex": column[name], "endColumnIndex": column[name] + 1},
            "rule": {"condition": {"type": "ONE_OF_LIST", "values": [
                {"userEnteredValue": v} for v in _dropdown(values, template.language)]},
                "showCustomUi": True, "strict": False}}})
    for name, number_format in column_formats(template).items():
        if name in column:
            requests.append(format_rows(sheet_id, column[name], number_format, first, end))
    return requests


def _widths(template: Template, header: list[str]) -> dict[str, int]:
    """Column name → width in pixels (``format.toml`` [widths]; dates get ``dates``), so an
    address, a ``why`` or a date is not cut; other columns keep Google's default."""
    widths = template.format["widths"]
    dates = set(template.format.get("date_columns", []))
    return {name: widths["dates"] if name in dates else widths[name]
            for name in header if name in dates or name in widths}


def column_formats(template: Template) -> dict[str, dict[str, str]]:
    """Column name → the number format ``format.toml`` gives it (dates, percentages)."""
    return {name: number_format for key, number_format in NUMBER_FORMATS.items()
            for name in template.format.get(key, [])}


def format_rows(sheet_id: int, column: int, number_format: dict[str, str], first: int,
                end: int) -> dict[str, Any]:
    """Give one column's rows ``first``..``end`` - 1 (0-based) a number format."""
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": first, "endRowIndex": end,
                  "startColumnIndex": column, "endColumnIndex": column + 1},
        "cell": {"userEnteredFormat": {"numberFormat": number_format}},
        "fields": "userEnteredFormat.numberFormat"}}


def _forget_untouched_default(workbook: Grid, existing: dict[str, Tab], ours: set[str]
                              ) -> list[dict[str, Any]]:
    """Delete the empty first tab a new spreadsheet comes with ("Sheet1", "Hoja 1"), so the
    sheet opens on syncbot's tabs; a default tab with anything in it is the team's and stays.
    (Runs in the same batch as the new tabs, so the spreadsheet is never left with none.)"""
    default = next((tab for title, tab in existing.items()
                    if title in DEFAULT_TAB_TITLES and title not in ours), None)
    if default is None:
        return []
    [values] = workbook.read([quote_title(default.title)])
    return [] if values else [{"deleteSheet": {"sheetId": default.sheet_id}}]


def init_spreadsheet(workbook: Grid, config: SheetsConfig) -> InitResult:
    """Create every missing tab from the templates; existing tabs are left exactly as they are."""
    existing = workbook.tabs()
    language = init_language(workbook, config, existing)
    templates = load_templates(language)
    present, missing = find_tabs(existing, config, language, MADE_BY_INIT)
    names = tab_names(config, language, MADE_BY_INIT)
    next_id = next_sheet_id(existing)
    layout: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    created = []
    for key, kind in MADE_BY_INIT:
        if key not in missing:
            continue
        layout.extend(_layout(next_id, names[kind], templates[kind]))
        contents.append(_contents(names[kind], templates[kind]))
        created.append(names[kind])
        next_id += 1
    dashboard = find_dashboard(workbook, existing, None, config.dashboard_tab)
    if dashboard is None:  # its charts come with the first sync, when the tags are known
        title = free_name(config.dashboard_tab or sheet_language(language).tab_names["Dashboard"],
                          existing)
        layout.extend(tab_requests(next_id, title))
        contents.extend(dashboard_values(title, EMPTY_DASHBOARD,
                                         sheet_language(language).dashboard))
        created.insert(0, title)
    if created:
        ours = {tab.title for tab in present.values()} | set(created)
        layout.extend(_forget_untouched_default(workbook, existing, ours))
    workbook.change_structure(layout)
    workbook.write(contents)
    return InitResult(created, language, {kind: tab.title for kind, tab in present.items()}
                      | {kind: names[kind] for key, kind in MADE_BY_INIT if key in missing})


def _contents(title: str, template: Template) -> dict[str, Any]:
    return {"range": f"{quote_title(title)}!A1", "values": template.rows}


def make_tab(workbook: Grid, found: Mapping[str, Tab], title: str, template: Template) -> Tab:
    """Create one tab of syncbot's from its template, as ``init`` does (a sync that needs a
    tab ``init`` would have made: the Hand-off tab)."""
    sheet_id = next_sheet_id(found)
    layout = _layout(sheet_id, title, template)
    workbook.change_structure(layout)
    workbook.write([_contents(title, template)])
    grid = layout[0]["addSheet"]["properties"]["gridProperties"]
    return Tab(sheet_id, title, grid["rowCount"], grid["columnCount"])


@dataclass(frozen=True)
class InitResult:
    created: list[str]  # the tabs made, by name
    language: str  # the language they were made in
    tabs: dict[str, str]  # every tab of syncbot's by kind (Weights…) → its name


@dataclass(frozen=True)
class SheetData:
    tabs: dict[str, Tab]  # by template kind
    weights: list[list[Any]]
    segments: list[list[Any]]
    interests: list[list[Any]]
    leads_header: list[Any]
    runs_rows: int  # rows in use in the Runs tab, header included
    sources: dict[str, list[Any]] = field(default_factory=dict)  # [sources] tab → its header
    time_zone: str = "UTC"  # the spreadsheet's: its dates are written in it
    language: SheetLanguage = field(default_factory=lambda: sheet_language(SYNCBOT))
    found: dict[str, Tab] = field(default_factory=dict)  # every tab, by title
    handoff_rows: list[list[Any]] = field(default_factory=list)  # the Hand-off tab, if any
    locale: str = ""  # the spreadsheet's (``es_ES``): how it writes numbers
    # the columns ``read_spreadsheet`` was asked to read beside the tabs, by range, until
    # ``prepare_leads`` takes them
    beside: dict[str, list[list[Any]]] = field(default_factory=dict)
    ranges: list[str] = field(default_factory=list)  # of the tabs, as the values read asked:
    #                                                  the next run guesses with them

    @cached_property
    def labels(self) -> Labels:
        """What ``why`` and the Dashboard write: the sheet's language's words, with its
        locale's decimal mark (made once: every lead's evaluation reads it)."""
        mark = decimal_mark(self.locale)
        return self.language.labels if mark == self.language.labels.decimal \
            else replace(self.language.labels, decimal=mark)

    @property
    def rules_tabs(self) -> tuple[str, str, str]:
        """The titles of the Weights, Segments and Interests tabs, as the sheet names them."""
        return (self.tabs["Weights"].title, self.tabs["Segments"].title,
                self.tabs["Interests"].title)

    def team_headers(self, syncbot_columns: Sequence[str]) -> TeamHeaders:
        """What the rules may name besides syncbot's fields: the Leads headers that are not
        syncbot's columns (as the sheet's language heads them), and each source tab's
        headers."""
        ours = {self.language.title(name).casefold() for name in syncbot_columns}
        team = tuple(text for text in (as_text(h) for h in self.leads_header)
                     if text and text.casefold() not in ours)
        return TeamHeaders(self.tabs["Leads"].title, team,
                           {tab: tuple(as_text(h) for h in header)
                            for tab, header in self.sources.items()})


def read_spreadsheet(workbook: Grid, config: SheetsConfig, sources: Sequence[str] = (),
                     beside: Sequence[ColumnRead] = (), last: Sequence[str] = ()) -> SheetData:
    """The rules tabs, the Leads header, the Runs length, the header of each ``sources``
    tab and the Hand-off tab: one metadata read, one values read. The columns ``beside``
    (those the last run read of Leads and the source tabs) go into the same values read,
    those of tabs and columns the spreadsheet still has: ``prepare_leads`` takes them from
    there when they are the ones it needs, and reads no more.

    ``last``: the tabs' ranges the last run's values read asked for (``SheetData.ranges``).
    With them, the values read goes out at once, beside the metadata read, as a guess
    (``_Guess``): taken if the metadata says those are still the ranges to read, else read
    again (one request more). A scheduled run, whose tabs stay where they were, saves the
    metadata request's wait."""
    with _Guess(workbook, [*last, *_beside_ranges(beside)] if last else []) as guess:
        found = workbook.tabs()
        plan = _plan_read(found, config, sources, beside)
        answers = guess.answers(plan.ranges + plan.beside)
    ranges = plan.ranges
    weights, segments, interests, leads, runs, *headers = answers[:len(ranges)]
    handoff_rows = headers.pop() if plan.handoff else []
    source_headers = {title: list(rows[0]) if rows else []
                      for title, rows in zip(plan.source_titles, headers, strict=True)}
    problems = plan.problems + [t("sheets.source_no_email", tab=title) for title, header
                                in source_headers.items() if email_column(header) is None]
    if problems:
        raise SheetSetupError(problems)
    leads_header = leads[0] if leads else []
    language = (recognise(rows[0] for rows in (weights, segments, interests, [leads_header])
                          if rows) or config.language or plan.named_in)
    return SheetData(plan.tabs | plan.handoff, weights, segments, interests, leads_header,
                     len(runs), source_headers, workbook.time_zone, sheet_language(language),
                     found, handoff_rows, workbook.locale,
                     dict(zip(plan.beside, answers[len(ranges):], strict=True)), ranges)


class _ReadPlan(NamedTuple):
    """What the values read of ``read_spreadsheet`` asks for, as the metadata shows the tabs:
    syncbot's tabs (by kind) and the Hand-off tab if any, the ranges of the tabs and of the
    columns read beside them, the source tabs' titles as the sheet writes them, the language
    the tabs are named in, and the problems found so far."""

    tabs: dict[str, Tab]
    handoff: dict[str, Tab]
    ranges: list[str]
    beside: list[str]
    source_titles: list[str]
    named_in: str
    problems: list[str]


def _plan_read(found: dict[str, Tab], config: SheetsConfig, sources: Sequence[str],
               beside: Sequence[ColumnRead]) -> _ReadPlan:
    """The values read for the tabs ``found``, or SheetSetupError when one of syncbot's is
    missing (a source tab missing is a problem reported with the others)."""
    named_in = tab_language(found, config) or config.language or SYNCBOT
    tabs, missing = find_tabs(found, config, named_in)
    if missing:
        raise SheetSetupError([t("sheets.missing_tab", tab=title, key=key)
                               for key, title in missing.items()])
    folded = {title.casefold(): tab for title, tab in found.items()}
    problems = [t("sheets.missing_source_tab", tab=title, tabs=", ".join(found))
                for title in sources if title.casefold() not in folded]
    source_titles = [folded[title.casefold()].title for title in sources
                     if title.casefold() in folded]
    ranges = [quote_title(tabs[kind].title) for kind in ("Weights", "Segments", "Interests")]
    ranges += [f"{quote_title(tabs['Leads'].title)}!1:1", f"{quote_title(tabs['Runs'].title)}!A:A"]
    ranges += [f"{quote_title(title)}!1:1" for title in source_titles]
    handoff = find_tabs(found, config, named_in, (HANDOFF,))[0]
    ranges += [quote_title(tab.title) for tab in handoff.values()]
    still_there = [column for column in beside
                   if column.tab in found and column.column < found[column.tab].columns]
    return _ReadPlan(tabs, handoff, ranges, _beside_ranges(still_there), source_titles,
                     named_in, problems)


def _beside_ranges(columns: Sequence[ColumnRead]) -> list[str]:
    """The ranges of ``columns`` under their headers, each once, in order."""
    return list(dict.fromkeys(below_header(*column) for column in columns))


class _Guess:
    """A values read sent before the metadata said which ranges to read: its answers serve
    if those are the very ranges wanted; a guess that is wrong, or that Sheets refuses (a
    tab renamed, a column gone), costs that one request and nothing else."""

    def __init__(self, workbook: Grid, ranges: list[str]) -> None:
        self.workbook, self.ranges = workbook, ranges
        self._early = ThreadPoolExecutor(1) if ranges else None
        self._reply = self._early.submit(workbook.read, ranges) if self._early else None

    def __enter__(self) -> _Guess:
        return self

    def __exit__(self, *exc: object) -> None:
        """Let the guess's request end (its answer or failure no longer matters)."""
        if self._early is not None:
            self._early.shutdown(wait=True)

    def answers(self, wanted: list[str]) -> list[list[list[Any]]]:
        """The values of the ``wanted`` ranges: the guess's, if it guessed them and Sheets
        answered it, else read now."""
        if self._reply is not None and wanted == self.ranges:
            try:
                return self._reply.result()
            except SyncbotError:
                pass  # refused (a tab or column the guess named is gone): read them again
        return self.workbook.read(wanted)


def _blocks(rows: Sequence[int], size: int) -> Iterator[list[tuple[int, int]]]:
    """Sorted row numbers as runs of consecutive rows, grouped ``size`` rows to a request."""
    group: list[tuple[int, int]] = []
    count = 0
    for first, last in row_runs(rows, size):
        while first <= last:
            take = min(last - first + 1, size - count)
            group.append((first, first + take - 1))
            count, first = count + take, first + take
            if count == size:
                yield group
                group, count = [], 0
    if group:
        yield group


def _read_rows(workbook: Grid, tab: Tab, rows: Sequence[int], last_column: int | None
               ) -> Iterator[dict[int, list[Any]]]:
    """The cells of ``rows`` (from column A; all columns when ``last_column`` is None), one
    block of READ_ROWS rows per request; a row the API leaves out (empty) comes back as []."""
    for group in _blocks(rows, READ_ROWS):
        ranges = [f"{quote_title(tab.title)}!{first}:{last}" if last_column is None else
                  f"{quote_title(tab.title)}!A{first}:{col_letters(last_column)}{last}"
                  for first, last in group]
        found: dict[int, list[Any]] = {}
        for (first, last), values in zip(group, workbook.read(ranges), strict=True):
            for row in range(first, last + 1):
                found[row] = list(values[row - first]) if row - first < len(values) else []
        yield found


class LeadsRead(NamedTuple):
    """The Leads tab as a run found it, the values of the columns read beside it, and every
    column the two took."""

    diff: LeadsDiff
    also: list[list[list[Any]]]  # the values of each of ``also``'s columns, in order
    columns: tuple[ColumnRead, ...]


def _read_columns(workbook: Grid, data: SheetData, columns: Sequence[ColumnRead]
                  ) -> list[list[list[Any]]]:
    """The values of ``columns`` (below their headers): those read with the tabs taken from
    there, the rest in one request (none when every one was). ``data.beside`` is emptied:
    the run keeps what it takes, not a second copy of whole columns."""
    ranges = [below_header(*column) for column in columns]
    distinct = list(dict.fromkeys(ranges))
    found = {r: data.beside.pop(r) for r in distinct if r in data.beside}
    data.beside.clear()
    missing = [r for r in distinct if r not in found]
    found.update(zip(missing, workbook.read(missing) if missing else [], strict=True))
    return [found[r] for r in ranges]


def prepare_leads(workbook: Grid, data: SheetData, columns: Sequence[str], *,
                  trust_ledger: bool, also: Sequence[ColumnRead] = ()) -> LeadsRead:
    """Where syncbot's columns are, which lead is on which row and where new leads go (the
    e-mail and ``synced_at`` columns, read in one request with the columns ``also`` names:
    the team's columns the rules use; the rows below the last e-mail, in one more request
    when the grid has any and a lead is new). Rows are read in full only when a column must
    be added, to find the first column nobody uses."""
    tab = data.tabs["Leads"]
    header = data.leads_header
    titles = data.language.titles
    layout = plan_layout(tab.title, header, columns, width=len(header), titles=titles)
    in_use = None
    if layout.new_columns:
        widths, in_use = [], 1
        for block in _read_rows(workbook, tab, range(2, tab.rows + 1), None):
            for row, cells in block.items():
                if _in_use(cells):
                    widths.append(len(cells))
                    in_use = max(in_use, row)
        if widths and "email" in layout.new_columns:
            raise InvalidInputError([t("sheets.leads_no_email", tab=tab.title)])
        layout = plan_layout(tab.title, header, columns, width=max(widths, default=0),
                             titles=titles)
    wanted = [name for name in ("email", "synced_at") if name not in layout.new_columns]
    to_read = [ColumnRead(tab.title, layout.index[name]) for name in wanted] + list(also)
    answers = _read_columns(workbook, data, to_read)
    read = dict(zip(wanted, answers, strict=False))
    emails = [row[0] if row else "" for row in read.get("email", [])]
    stamps = [row[0] if row else None for row in read.get("synced_at", [])]
    rows_in_use = in_use if in_use is not None else \
        partial(_last_row_in_use, workbook, tab, below=len(emails) + 1)  # only if a lead is new
    return LeadsRead(LeadsDiff(layout, emails, stamps, trust_ledger=trust_ledger,
                               rows_in_use=rows_in_use), answers[len(wanted):], tuple(to_read))


def _in_use(cells: Sequence[Any]) -> bool:
    return any(not is_blank(v) for v in cells)


def _last_row_in_use(workbook: Grid, tab: Tab, *, below: int) -> int:
    """The last row with anything in it, looking only below row ``below`` (one request, only
    when the grid has rows there: usually they are empty and the answer is tiny)."""
    if tab.rows <= below:
        return below
    [rows] = workbook.read([f"{quote_title(tab.title)}!{below + 1}:{tab.rows}"])
    used = [i for i, cells in enumerate(rows) if _in_use(cells)]
    return below + 1 + used[-1] if used else below


def settle_leads(workbook: Grid, data: SheetData, diff: LeadsDiff) -> None:
    """Compare the rows the ledger does not vouch for with what the sheet holds."""
    for block in _read_rows(workbook, data.tabs["Leads"], diff.unverified_rows(),
                            diff.layout.read_width - 1):
        diff.settle(block)


def write_leads(workbook: Grid, data: SheetData, diff: LeadsDiff, synced_at: datetime,
                rows: Meter = STILL, *, grid: Tab | None = None,
                meanwhile: Iterable[object] = ()) -> int:
    """Grow the Leads grid if needed, then write; returns the number of write requests.
    ``grid``: the Leads grid as ``grow_leads`` left it for rows written before (by a
    ``RowStream``: those rows and the new columns are in it already); ``meanwhile``: the
    caller's steps taken while the writes are on their way (``Grid.write``)."""
    _, requests = grow_leads(workbook, data, diff, diff.rows_needed, grid=grid)
    return requests + workbook.write(_counted(diff.ranges(synced_at), rows), meanwhile)


def grow_leads(workbook: Grid, data: SheetData, diff: LeadsDiff, rows_needed: int, *,
               grid: Tab | None = None) -> tuple[Tab, int]:
    """Make the Leads grid ``rows_needed`` rows tall and as wide as ``diff``'s columns (one
    request, none if it is), or SheetsError when the spreadsheet cannot hold them; the grid
    as grown and the requests made. ``grid``: as grown before, its new columns formatted
    already. Dates and percentages get their number format on new columns and on rows the
    grid grows by: whether Google carries a column's format onto appended rows is not
    documented, so it is never left to chance."""
    tab = grid or data.tabs["Leads"]
    rows_needed = max(tab.rows, rows_needed, 1)
    columns_needed = max(tab.columns, diff.layout.width)
    others = sum(t_.rows * t_.columns for kind, t_ in data.tabs.items() if kind != "Leads")
    if rows_needed * columns_needed + others > CELL_LIMIT:
        fit = max(0, (CELL_LIMIT - others) // max(columns_needed, 1) - 1)
        raise SheetsError(t("sheets.too_many_cells", rows=rows_needed,
                            columns=columns_needed, fit=fit))
    layout: list[dict[str, Any]] = []
    if rows_needed > tab.rows:
        layout.append({"appendDimension": {"sheetId": tab.sheet_id, "dimension": "ROWS",
                                           "length": rows_needed - tab.rows}})
    if columns_needed > tab.columns:
        layout.append({"appendDimension": {"sheetId": tab.sheet_id, "dimension": "COLUMNS",
                                           "length": columns_needed - tab.columns}})
    for name, number_format in column_formats(load_templates(SYNCBOT)["Leads"]).items():
        column = diff.layout.index.get(name)
        if column is None:
            continue
        first = 1 if name in diff.layout.new_columns and grid is None else tab.rows
        if first < rows_needed:
            layout.append(format_rows(tab.sheet_id, column, number_format, first, rows_needed))
    workbook.change_structure(layout)
    return replace(tab, rows=rows_needed, columns=columns_needed), 1 if layout else 0


def stream_leads(workbook: Grid, data: SheetData, diff: LeadsDiff, synced_at: datetime,
                 new_leads: int) -> tuple[RowStream[list[PendingRow]], Tab]:
    """Make room for ``new_leads`` new rows and start writing them as ``diff`` takes them in
    (``LeadsDiff.pour_new``), the new columns' headers first; the stream (``finish`` it
    before ``write_leads`` writes the rest) and the grid as grown."""
    grid, _ = grow_leads(workbook, data, diff, diff.rows_with(new_leads))
    headers = diff.headers_range()
    stream: RowStream[list[PendingRow]] = RowStream(
        workbook, lambda block: diff.new_rows_range(block, synced_at).value_range,
        [headers.value_range] if headers is not None else [])
    diff.pour_new(new_leads, stream.put)
    return stream, grid


def _counted(ranges: Iterator[WriteRange], rows: Meter) -> Iterator[ValueRange]:
    """The ranges as they are, counting the lead rows they finish."""
    for value_range, leads in ranges:
        yield value_range
        rows.advance(leads)


def append_run(workbook: Grid, data: SheetData, values: Sequence[Any],
               alongside: Sequence[Mapping[str, Any]] = ()) -> None:
    """One Runs row, the header first in a tab that has none, both in the sheet's
    language; in one request with the ValueRanges ``alongside``, the Runs row last."""
    tab = data.tabs["Runs"]
    row = [data.language.run_value(value) for value in values]
    rows: list[Sequence[Any]] = [row] if data.runs_rows else [runs_header(data.language), row]
    template = load_templates(data.language.code)["Runs"]
    append_rows(workbook, tab, data.runs_rows, [dict(enumerate(r)) for r in rows], template,
                {name: i for i, name in enumerate(template.columns)}, alongside)


def append_rows(workbook: Grid, tab: Tab, used: int, rows: Sequence[Mapping[int, Any]],
                template: Template, column: Mapping[str, int],
                alongside: Sequence[Mapping[str, Any]] = ()) -> None:
    """Write ``rows`` (each: column index → value) under the ``used`` rows of ``tab``, at
    explicit rows (a retried write cannot add them twice, as a retried ``append`` could),
    growing the grid first, with the template's dropdowns and number formats on the new
    rows (``column``: where each of syncbot's columns is). Only the columns given are
    written, so a team's formula in another column is never overwritten. The ValueRanges
    ``alongside`` go first in the same write."""
    if not rows:
        return
    first, last = used + 1, used + len(rows)
    if last > tab.rows:
        grown = tab.rows + max(100, last - tab.rows)
        workbook.change_structure([
            {"appendDimension": {"sheetId": tab.sheet_id, "dimension": "ROWS",
                                 "length": grown - tab.rows}},
            *row_formats(tab.sheet_id, template, column, tab.rows, grown)])
    given = sorted({index for row in rows for index in row})
    workbook.write([*alongside, *(
        {"range": f"{quote_title(tab.title)}!{col_letters(start)}{first}:"
                  f"{col_letters(end)}{last}",
         "values": [[row.get(index, "") for index in range(start, end + 1)] for row in rows]}
        for start, end in row_runs(given, len(given)))])


def runs_header(language: SheetLanguage) -> list[str]:
    """The Runs tab's columns in the sheet's language."""
    return [language.title(column) for column in load_templates(SYNCBOT)["Runs"].columns]
