"""An emulated spreadsheet saved as an .xlsx workbook a person can open in Excel or LibreOffice.

It shows what Google Sheets would show: the same tabs in the same order,
values as stored (dates are serial numbers with their date format, rates
with their percent format, text that looks like a formula stays text), the
header row frozen and styled, column widths, notes, dropdowns and colour
rules and the charts, all taken from what the emulator was asked to store. The workbook is
streamed (openpyxl's write-only mode), one row at a time, so a 100,000-row
tab does not sit in memory twice.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import AreaChart, BarChart, LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import ColorScaleRule, Rule
from openpyxl.styles import Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from syncbot.sandbox.sheets import Formula, Sheet, Spreadsheet, evaluate

PIXELS_PER_CHARACTER = 7  # Excel's column width unit is about one digit of the default font
GOOGLE_COLUMN_PIXELS = 100  # a column nobody sized, in Google Sheets


def _hex(color: dict[str, float]) -> str:
    """Google's {red, green, blue} fractions as an RRGGBB colour."""
    return "".join(f"{round(color.get(part, 0.0) * 255):02X}" for part in ("red", "green", "blue"))


def _excel_format(number_format: dict[str, Any] | None) -> str | None:
    if not number_format:
        return None
    return str(number_format.get("pattern") or
               {"PERCENT": "0%", "DATE": "yyyy-mm-dd", "DATE_TIME": "yyyy-mm-dd hh:mm"}.get(
                   number_format.get("type", ""), "General"))


def _area(grid: dict[str, Any], sheet: Sheet) -> str:
    """A GridRange as an Excel range (open ends run to the grid's end)."""
    top = grid.get("startRowIndex", 0) + 1
    bottom = min(grid.get("endRowIndex", sheet.row_count), max(sheet.row_count, 1))
    left = grid.get("startColumnIndex", 0) + 1
    right = min(grid.get("endColumnIndex", sheet.column_count), max(sheet.column_count, 1))
    return f"{get_column_letter(left)}{top}:{get_column_letter(max(left, right))}{max(top, bottom)}"


def _bands(sheet: Sheet, column: int) -> tuple[list[int], list[str | None]]:
    """One column's number formats as bands of rows: the first row of each band, and its
    format (a column may change format part way, as the Dashboard's dates do)."""
    cuts = {0}
    for record in sheet.formats:
        span = record["range"]
        if record.get("numberFormat") and span.get("startColumnIndex", 0) <= column < \
                span.get("endColumnIndex", column + 1):
            cuts.update(edge for edge in (span.get("startRowIndex"), span.get("endRowIndex"))
                        if edge is not None)
    firsts = sorted(cuts)
    return firsts, [_excel_format(sheet.number_format(row, column)) for row in firsts]


class _Look:
    """How one tab looks, worked out once: per-column format bands, the header's style,
    notes."""

    def __init__(self, sheet: Sheet) -> None:
        width = max((len(row) for row in sheet.rows), default=0)
        self.bands = [_bands(sheet, c) for c in range(width)]
        header_style: dict[str, Any] = {}
        for record in sheet.formats:
            if record["range"].get("startRowIndex", 0) == 0 and \
                    record["range"].get("endRowIndex", 1) == 1:
                header_style.update({k: v for k, v in record.items() if k != "range"})
        bold = bool((header_style.get("textFormat") or {}).get("bold"))
        self.font = Font(bold=True) if bold else None
        background = header_style.get("backgroundColor")
        self.fill = PatternFill("solid", fgColor=_hex(background)) if background else None
        self.notes = sheet.notes

    def _format(self, r: int, c: int) -> str | None:
        firsts, formats = self.bands[c]
        return formats[bisect_right(firsts, r) - 1]

    def cell(self, ws: Any, r: int, c: int, value: Any) -> Any:
        if isinstance(value, Formula):
            value = evaluate(value)
        number_format = self._format(r, c) if r > 0 and c < len(self.bands) else None
        note = self.notes.get((r, c))
        formula_like = isinstance(value, str) and value.startswith("=")
        if not (number_format or note or formula_like or r == 0):
            return value
        cell = WriteOnlyCell(ws, value=value)
        if formula_like:
            cell.data_type = "s"  # RAW text stays text, as in the sheet
        if number_format:
            cell.number_format = number_format
        if note:
            cell.comment = Comment(note, "syncbot")
        if r == 0 and self.font is not None:
            cell.font = self.font
        if r == 0 and self.fill is not None:
            cell.fill = self.fill
        return cell


def _decorate(ws: Any, sheet: Sheet) -> None:
    """What must be set before the rows stream: frozen rows, widths, dropdowns, colour rules."""
    if sheet.frozen_rows:
        ws.freeze_panes = f"A{sheet.frozen_rows + 1}"
    for column in range(sheet.column_count):  # Google's default width, not Excel's narrower one
        ws.column_dimensions[get_column_letter(column + 1)].width = \
            GOOGLE_COLUMN_PIXELS / PIXELS_PER_CHARACTER
    for record in sheet.dimension_properties:
        body = record.get("updateDimensionProperties") or {}
        span, pixels = body.get("range") or {}, (body.get("properties") or {}).get("pixelSize")
        if span.get("dimension") == "COLUMNS" and pixels:
            for column in range(span.get("startIndex", 0), span.get("endIndex", 0)):
                ws.column_dimensions[get_column_letter(column + 1)].width = \
                    pixels / PIXELS_PER_CHARACTER
    for validation in sheet.validations:
        condition = validation["rule"]["condition"]
        if condition.get("type") == "ONE_OF_LIST":
            choices = ",".join(str(v["userEnteredValue"]) for v in condition["values"])
            rule = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
            rule.add(_area(validation["range"], sheet))
            ws.data_validations.append(rule)
    for colour in sheet.conditional_formats:
        if "gradientRule" in colour:
            ends = colour["gradientRule"]
            ws.conditional_formatting.add(_area(colour["ranges"][0], sheet), ColorScaleRule(
                start_type="min", start_color=_hex(ends["minpoint"].get("color") or {}),
                end_type="max", end_color=_hex(ends["maxpoint"].get("color") or {})))
            continue
        condition = colour["booleanRule"]["condition"]
        if condition.get("type") != "TEXT_CONTAINS":
            continue
        needle = str(condition["values"][0]["userEnteredValue"])
        area = _area(colour["ranges"][0], sheet)
        fill = PatternFill("solid", bgColor=_hex(colour["booleanRule"]["format"]["backgroundColor"]))
        first = area.split(":")[0]
        ws.conditional_formatting.add(area, Rule(
            type="containsText", operator="containsText", text=needle,
            formula=[f'NOT(ISERROR(SEARCH("{needle}",{first})))'],
            dxf=DifferentialStyle(fill=fill)))


EXCEL_CHARTS = {"LINE": LineChart, "AREA": AreaChart, "COLUMN": BarChart, "BAR": BarChart}
EMU_PER_PIXEL = 9525


def _reference(ws: Any, grid: dict[str, Any], last_row: int) -> Reference:
    return Reference(ws, min_col=grid["startColumnIndex"] + 1, max_col=grid["endColumnIndex"],
                     min_row=grid["startRowIndex"] + 1,
                     max_row=max(grid["startRowIndex"] + 1, min(grid["endRowIndex"], last_row)))


def _last_filled(sheet: Sheet, grid: dict[str, Any]) -> int:
    """The last row (1-based) of ``grid`` whose first column has a value: Excel and
    LibreOffice draw a chart's empty trailing rows as empty slots, Google leaves them out."""
    column = grid["startColumnIndex"]
    filled = [r for r in range(grid["startRowIndex"], min(grid["endRowIndex"], len(sheet.rows)))
              if column < len(sheet.rows[r]) and sheet.rows[r][column] not in (None, "")]
    return (filled[-1] + 1) if filled else grid["startRowIndex"] + 1


def _chart(ws: Any, sheet: Sheet, embedded: dict[str, Any]) -> None:
    """One of the sheet's charts as an Excel chart: the same kind, title, data and place."""
    spec = embedded["spec"]
    basic = spec["basicChart"]
    chart = EXCEL_CHARTS.get(basic["chartType"], LineChart)()
    if basic["chartType"] in ("COLUMN", "BAR"):
        chart.type = "col" if basic["chartType"] == "COLUMN" else "bar"
    chart.title = spec.get("title")
    headers = bool(basic.get("headerCount"))
    domains = [domain["domain"]["sourceRange"]["sources"][0] for domain in basic.get("domains", [])]
    last = max((_last_filled(sheet, grid) for grid in domains), default=1 << 20)
    for series in basic.get("series", []):
        for grid in series["series"]["sourceRange"]["sources"]:
            chart.add_data(_reference(ws, grid, last), titles_from_data=headers)
    for grid in domains:
        chart.set_categories(_reference(ws, {**grid, "startRowIndex": grid["startRowIndex"]
                                             + (1 if headers else 0)}, last))
    chart.y_axis.scaling.min = 0  # counts: from zero, as Google draws them
    if basic.get("legendPosition") == "NO_LEGEND":
        chart.legend = None
    overlay = embedded["position"]["overlayPosition"]
    chart.width = overlay.get("widthPixels", 600) * EMU_PER_PIXEL / 360000  # in cm
    chart.height = overlay.get("heightPixels", 370) * EMU_PER_PIXEL / 360000
    anchor = overlay["anchorCell"]
    ws.add_chart(chart, f"{get_column_letter(anchor.get('columnIndex', 0) + 1)}"
                        f"{anchor.get('rowIndex', 0) + 1}")


def _rows(ws: Any, sheet: Sheet, look: _Look) -> Iterator[list[Any]]:
    for r, row in enumerate(sheet.rows):
        yield [look.cell(ws, r, c, value) for c, value in enumerate(row)]


def save_xlsx(spreadsheet: Spreadsheet, output: Path,
              row_written: Callable[[], None] = lambda: None) -> None:
    """Every tab, in order, as a sheet of ``output``; ``row_written`` hears of each row."""
    book = Workbook(write_only=True)
    for sheet in sorted(spreadsheet.sheets, key=lambda s: s.index):
        ws = book.create_sheet(sheet.title[:31])
        _decorate(ws, sheet)
        for embedded in sheet.charts:
            _chart(ws, sheet, embedded)
        if sheet.charts:  # printed (or rendered) landscape, one page wide: charts uncut
            ws.page_setup.orientation = "landscape"
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        for cells in _rows(ws, sheet, _Look(sheet)):
            ws.append(cells)
            row_written()
    if not spreadsheet.sheets:
        book.create_sheet("empty")
    book.save(output)
