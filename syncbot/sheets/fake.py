"""A spreadsheet in memory, behind the same calls as ``client.Workbook``.

First-class code for the pipeline's tests where HTTP is not the point: give it
to ``Spreadsheet`` and every step of a run (init, read, merge the Leads tab,
log the run) works as on a real sheet, without a request. Like the Sheets
API it answers value reads without trailing empty rows and cells, refuses a
write past the grid ("exceeds grid limits") and applies the structure
requests syncbot sends (``addSheet``, ``appendDimension``; formatting is
accepted and not kept).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbot.sheets.a1 import col_index
from syncbot.sheets.client import SheetsError, Tab
from syncbot.sheets.wire import ValueRange

_RANGE = re.compile(r"^'((?:[^']|'')*)'(?:!([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?)?$")


@dataclass
class FakeTab:
    sheet_id: int
    rows: int
    columns: int
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)  # (row, column), 0-based
    charts: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Box:
    tab: str
    top: int
    left: int
    bottom: int | None  # exclusive; None: to the grid's end
    right: int | None


class FakeWorkbook:
    def __init__(self, spreadsheet_id: str = "1FakeSpreadsheet") -> None:
        self.spreadsheet_id = spreadsheet_id
        self.sheets: dict[str, FakeTab] = {}
        self.requests = 0
        self.bytes_written = 0
        self.time_zone = "UTC"
        self.locale = "en_US"
        self._counting = threading.Lock()  # a read may go beside the metadata read

    def _count(self) -> None:
        with self._counting:
            self.requests += 1

    def tabs(self) -> dict[str, Tab]:
        self._count()
        return {title: Tab(t.sheet_id, title, t.rows, t.columns, tuple(t.charts))
                for title, t in self.sheets.items()}

    def values(self, title: str) -> list[list[Any]]:
        """A whole tab's values, as a test reads them."""
        return self._values(_Box(title, 0, 0, None, None))

    def read(self, ranges: Sequence[str]) -> list[list[list[Any]]]:
        self._count()
        return [self._values(self._box(text)) for text in ranges]

    def change_structure(self, requests_: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if not requests_:
            return []
        self._count()
        replies: list[dict[str, Any]] = []
        for request in requests_:
            replies.append({})
            if "addChart" in request:
                chart = request["addChart"]["chart"]
                sheet_id = chart["position"]["overlayPosition"]["anchorCell"]["sheetId"]
                tab = next(t for t in self.sheets.values() if t.sheet_id == sheet_id)
                chart_id = 1000 + sum(len(t.charts) for t in self.sheets.values())
                tab.charts.append(chart_id)
                replies[-1] = {"addChart": {"chart": {**chart, "chartId": chart_id}}}
            elif "addSheet" in request:
                props = request["addSheet"]["properties"]
                grid = props.get("gridProperties", {})
                self.sheets[props["title"]] = FakeTab(props["sheetId"], grid.get("rowCount", 1000),
                                                      grid.get("columnCount", 26))
            elif "appendDimension" in request:
                change = request["appendDimension"]
                tab = next(t for t in self.sheets.values() if t.sheet_id == change["sheetId"])
                if change["dimension"] == "ROWS":
                    tab.rows += change["length"]
                else:
                    tab.columns += change["length"]
        return replies

    def write(self, data: Iterable[ValueRange], meanwhile: Iterable[object] = ()) -> int:
        """Every range in one request, answered at once: nothing to do ``meanwhile``."""
        items = [json.loads(item) if isinstance(item, bytes) else item for item in data]
        if not items:
            return 0
        self._count()
        for item in items:
            box = self._box(item["range"])
            tab = self.sheets[box.tab]
            columns = item.get("majorDimension") == "COLUMNS"  # each inner list: a column
            for outer, line in enumerate(item["values"]):
                for inner, value in enumerate(line):
                    r, c = (inner, outer) if columns else (outer, inner)
                    if box.top + r >= tab.rows or box.left + c >= tab.columns:
                        raise SheetsError(f"Range ({item['range']}) exceeds grid limits.")
                    if value is not None:
                        tab.cells[(box.top + r, box.left + c)] = value
        return 1

    # ---- A1 ranges ------------------------------------------------------------------------

    def _box(self, text: str) -> _Box:
        found = _RANGE.match(text)
        if found is None:
            raise SheetsError(f"Unable to parse range: {text}")
        title = found.group(1).replace("''", "'")
        c1, r1, c2, r2 = found.group(2, 3, 4, 5)
        if found.group(4) is None and found.group(5) is None and (c1 or r1):
            c2, r2 = c1, r1  # a single cell, column or row
        top = int(r1) - 1 if r1 else 0
        left = col_index(c1) if c1 else 0
        bottom = int(r2) if r2 else None
        right = col_index(c2) + 1 if c2 else None
        return _Box(title, top, left, bottom, right)

    def _values(self, box: _Box) -> list[list[Any]]:
        tab = self.sheets[box.tab]
        bottom = tab.rows if box.bottom is None else box.bottom
        right = tab.columns if box.right is None else box.right
        rows = []
        for r in range(box.top, bottom):
            row = [tab.cells.get((r, c)) for c in range(box.left, right)]
            while row and row[-1] in (None, ""):
                row.pop()
            rows.append(["" if v is None else v for v in row])
        while rows and not rows[-1]:
            rows.pop()
        return rows
