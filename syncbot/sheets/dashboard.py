"""The Dashboard tab (Panel in Spanish): four tables rewritten every run, one chart each.

The tables stand at fixed places from column K (``TABLES_AT``) and the charts float over
columns A–J, so a chart made once keeps reading the right cells: leads per managed tag for
the last 90 runs (a line chart), the score distribution (columns), leads per Interests topic
(bars), hand-offs to sales per week (columns: handed off, and won since). Every run writes
all four in **one** values request, padded with blanks so what a shorter table held before
is cleared.

The charts are made once, with the tab or the first time syncbot finds a tab of its own
without any (``init`` makes the tab, the first sync its charts, when the managed tags are
known), and never touched again: the team may restyle, move or delete them. syncbot finds
its tab by the sheet id the state remembers (a renamed tab is still found), else by its
name when its first title says it is syncbot's; a team's own tab of that name is never
written: syncbot's gets another name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncbot.core.dashboard import BUCKETS, RUNS_SHOWN, WEEKS_SHOWN, DashboardTables
from syncbot.core.values import as_text
from syncbot.ports import DashboardMemory
from syncbot.sheets.a1 import col_letters, quote_title
from syncbot.sheets.client import Grid, Tab, next_sheet_id
from syncbot.sheets.language import SheetLanguage, languages
from syncbot.sheets.leads import to_cell

TABLES_AT = 10  # column K: the tables; the charts float over A–J
TAG_COLUMNS = 12  # managed tags shown (a run's date, then up to this many tags)
TOPICS_SHOWN = 40
TAGS_ROW = 0  # title; header below it; RUNS_SHOWN rows of runs
BUCKETS_ROW = TAGS_ROW + 2 + RUNS_SHOWN + 2
TOPICS_ROW = BUCKETS_ROW + 2 + BUCKETS + 2
HANDOFFS_ROW = TOPICS_ROW + 2 + TOPICS_SHOWN + 2
ROWS = HANDOFFS_ROW + 2 + WEEKS_SHOWN
COLUMNS = TABLES_AT + 1 + TAG_COLUMNS
CHART_SIZE = (640, 300)  # pixels: each chart covers about 15 rows of A–J
CHART_ROWS = 16  # rows between the charts' anchors
DATE_TIME = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}
DATE = {"type": "DATE", "pattern": "yyyy-mm-dd"}


@dataclass(frozen=True)
class _Table:
    """Where one table is (0-based top row; columns from TABLES_AT) and how many rows and
    columns of data it has under its title and header."""

    top: int
    rows: int
    columns: int

    def grid(self, sheet_id: int, column: int, *, header: bool = True) -> dict[str, int]:
        """One column of the table (its header row included) as a GridRange."""
        start = self.top + (1 if header else 2)
        return {"sheetId": sheet_id, "startRowIndex": start, "endRowIndex": self.top + 2 + self.rows,
                "startColumnIndex": TABLES_AT + column, "endColumnIndex": TABLES_AT + column + 1}


EMPTY_DASHBOARD = DashboardTables((), [], [], [])  # what ``init`` writes: titles and headers
TAGS = _Table(TAGS_ROW, RUNS_SHOWN, 1 + TAG_COLUMNS)
SCORES = _Table(BUCKETS_ROW, BUCKETS, 2)
TOPICS = _Table(TOPICS_ROW, TOPICS_SHOWN, 2)
HANDOFFS = _Table(HANDOFFS_ROW, WEEKS_SHOWN, 3)
TABLES = (TAGS, SCORES, TOPICS, HANDOFFS)


def _padded(rows: Sequence[Sequence[Any]], height: int, width: int) -> list[list[Any]]:
    """``rows`` cut or filled with blanks to exactly ``height`` × ``width``."""
    out = [[*row[:width], *[""] * (width - len(row[:width]))] for row in rows[:height]]
    return out + [[""] * width for _ in range(height - len(out))]


def dashboard_values(title: str, tables: DashboardTables, words: Mapping[str, str]
                     ) -> list[dict[str, Any]]:
    """The four tables as ValueRanges (one values request), dates as serial numbers."""
    tags = list(tables.tags[:TAG_COLUMNS])
    blocks = [
        (TAGS, words["tags_title"], [words["run"], *tags],
         [[to_cell(cell) for cell in run[:1 + len(tags)]] for run in tables.runs]),
        (SCORES, words["scores_title"], [words["score"], words["leads"]],
         [[bucket.label, bucket.leads] for bucket in tables.buckets]),
        (TOPICS, words["topics_title"], [words["topic"], words["leads"]],
         [[topic, leads] for topic, leads in tables.topics]),
        (HANDOFFS, words["handoffs_title"], [words["week"], words["handoffs"], words["won"]],
         [[to_cell(week.start), week.handed_off, week.won] for week in tables.handoffs]),
    ]
    first = col_letters(TABLES_AT)
    return [{"range": f"{quote_title(title)}!{first}{table.top + 1}",
             "values": _padded([[name], header], 2, table.columns)
             + _padded(rows, table.rows, table.columns)}
            for table, name, header, rows in blocks]


def _chart(sheet_id: int, title: str, kind: str, table: _Table, series: int, place: int
           ) -> dict[str, Any]:
    """One ``addChart``: ``series`` columns after the table's first (the domain)."""
    width, height = CHART_SIZE
    axis = "LEFT_AXIS" if kind == "BAR" else "BOTTOM_AXIS"
    return {"addChart": {"chart": {
        "spec": {"title": title, "basicChart": {
            "chartType": kind, "legendPosition": "BOTTOM_LEGEND" if series > 1 else "NO_LEGEND",
            "headerCount": 1,
            "axis": [{"position": axis}],
            "domains": [{"domain": {"sourceRange": {"sources": [table.grid(sheet_id, 0)]}}}],
            "series": [{"series": {"sourceRange": {"sources": [table.grid(sheet_id, column)]}},
                        "targetAxis": "LEFT_AXIS" if kind != "BAR" else "BOTTOM_AXIS"}
                       for column in range(1, 1 + series)]}},
        "position": {"overlayPosition": {
            "anchorCell": {"sheetId": sheet_id, "rowIndex": place * CHART_ROWS, "columnIndex": 0},
            "widthPixels": width, "heightPixels": height}}}}}


def chart_requests(sheet_id: int, tags: int, words: Mapping[str, str]) -> list[dict[str, Any]]:
    """The four charts: tags over time (a line per tag known now), scores, topics,
    hand-offs per week."""
    return [_chart(sheet_id, words["tags_title"], "LINE", TAGS, max(1, min(tags, TAG_COLUMNS)),
                   0),
            _chart(sheet_id, words["scores_title"], "COLUMN", SCORES, 1, 1),
            _chart(sheet_id, words["topics_title"], "BAR", TOPICS, 1, 2),
            _chart(sheet_id, words["handoffs_title"], "COLUMN", HANDOFFS, 2, 3)]


def tab_requests(sheet_id: int, title: str) -> list[dict[str, Any]]:
    """A new Dashboard tab, first in the spreadsheet (it opens there), with the run dates
    formatted and the tables' titles bold."""
    return [
        {"addSheet": {"properties": {"sheetId": sheet_id, "title": title, "index": 0,
                                     "gridProperties": {"rowCount": ROWS,
                                                        "columnCount": COLUMNS}}}},
        {"repeatCell": {"range": {"sheetId": sheet_id, "startRowIndex": TAGS.top + 1,
                                  "endRowIndex": ROWS, "startColumnIndex": TABLES_AT,
                                  "endColumnIndex": TABLES_AT + 1},  # text there stays text
                        "cell": {"userEnteredFormat": {"numberFormat": DATE_TIME}},
                        "fields": "userEnteredFormat.numberFormat"}},
        {"repeatCell": {"range": {"sheetId": sheet_id, "startRowIndex": HANDOFFS.top + 2,
                                  "endRowIndex": ROWS, "startColumnIndex": TABLES_AT,
                                  "endColumnIndex": TABLES_AT + 1},  # weeks: days, no hour
                        "cell": {"userEnteredFormat": {"numberFormat": DATE}},
                        "fields": "userEnteredFormat.numberFormat"}},
        *({"repeatCell": {"range": {"sheetId": sheet_id, "startRowIndex": table.top,
                                    "endRowIndex": table.top + 2,
                                    "startColumnIndex": TABLES_AT,
                                    "endColumnIndex": TABLES_AT + table.columns},
                          "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                          "fields": "userEnteredFormat.textFormat"}}
          for table in TABLES),
        {"updateDimensionProperties": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": TABLES_AT,
                      "endIndex": TABLES_AT + 1},
            "properties": {"pixelSize": 150}, "fields": "pixelSize"}},
    ]


def _titles() -> set[str]:
    """The first title of syncbot's Dashboard in every language: how its tab is told from a
    team's tab of the same name."""
    return {language.dashboard["tags_title"] for language in languages()}


def free_name(name: str, taken: Mapping[str, Tab]) -> str:
    """``name``, or ``name 2``, ``name 3``… when a tab has it already."""
    folded = {title.casefold() for title in taken}
    number = 2
    candidate = name
    while candidate.casefold() in folded:
        candidate, number = f"{name} {number}", number + 1
    return candidate


def find_dashboard(workbook: Grid, tabs: Mapping[str, Tab], memory: DashboardMemory | None,
                   name: str | None = None) -> Tab | None:
    """syncbot's Dashboard: the tab the state remembers (by sheet id, whatever its name now),
    else a tab named ``name`` (``[sheets] dashboard_tab``; by default a Dashboard's name in
    any language), or that name and a number, whose first title is syncbot's (one read per
    such tab, only then)."""
    if memory is not None:
        found = next((tab for tab in tabs.values() if tab.sheet_id == memory.sheet_id), None)
        if found is not None:
            return found
    names = ({name.casefold()} if name else
             {language.tab_names["Dashboard"].casefold() for language in languages()})
    for tab in tabs.values():
        base = re.sub(r" \d+$", "", tab.title.casefold())  # "Dashboard 2": see ``free_name``
        if base in names:
            first = f"{quote_title(tab.title)}!{col_letters(TABLES_AT)}{TAGS.top + 1}"
            [cells] = workbook.read([first])
            if cells and cells[0] and as_text(cells[0][0]) in _titles():
                return tab
    return None


def make_dashboard(workbook: Grid, tabs: Mapping[str, Tab], language: SheetLanguage,
                   tags: int, *, charts: bool, name: str | None = None) -> Tab:
    """A new Dashboard tab named ``name`` (by default the language's), or that and a number
    when a team's tab has it (never taken), with its charts when ``charts`` (``tags``: how
    many lines the tags chart draws); one request."""
    sheet_id = next_sheet_id(tabs)
    title = free_name(name or language.tab_names["Dashboard"], tabs)
    requests = tab_requests(sheet_id, title)
    replies = workbook.change_structure(
        requests + (chart_requests(sheet_id, tags, language.dashboard) if charts else []))
    made = tuple(reply["addChart"]["chart"]["chartId"] for reply in replies
                 if "addChart" in reply)
    return Tab(sheet_id, title, ROWS, COLUMNS, made)


def fit_tables(workbook: Grid, tab: Tab) -> None:
    """Grow a Dashboard made by an older syncbot, with fewer tables, to hold them all (one
    request, once; its charts stay as they are)."""
    if tab.rows < ROWS:
        workbook.change_structure([{"appendDimension": {
            "sheetId": tab.sheet_id, "dimension": "ROWS", "length": ROWS - tab.rows}}])


def add_charts(workbook: Grid, tab: Tab, language: SheetLanguage, tags: int) -> Tab:
    """The charts of a Dashboard tab that has none yet (one request)."""
    replies = workbook.change_structure(chart_requests(tab.sheet_id, tags, language.dashboard))
    return Tab(tab.sheet_id, tab.title, tab.rows, tab.columns,
               tuple(reply["addChart"]["chart"]["chartId"] for reply in replies))
