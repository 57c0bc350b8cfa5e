"""An in-memory Google Sheets API v4: the subset syncbot and gspread use, with its real rules.

Follows Google's Sheets API v4 description (kept for the tests in ``tests/api_specs/sheets``):
writes outside a tab's grid fail with "exceeds grid limits" (``append``
grows the grid); ``RAW`` stores text as text while ``USER_ENTERED`` parses it
as if typed (``=…`` becomes a formula, ``2,5`` a number in a Spanish sheet);
``FORMATTED_VALUE`` renders in the spreadsheet's locale while
``UNFORMATTED_VALUE`` returns numbers; ``null`` cells in a write are skipped;
``spreadsheets.batchUpdate`` is all-or-nothing. Whether ``values:batchUpdate``
is too, the description does not say: ``SheetsEmulator.values_batch_reading``
plays either ("atomic": a refused range writes nothing; "in order": the
ranges before it are written). 60 read and 60 write requests
per minute per user (429 ``RESOURCE_EXHAUSTED``); 10 million cells per
spreadsheet; the caller must hold a token and the spreadsheet must be shared
with it.
"""

from __future__ import annotations

import copy
import math
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from syncbot.sandbox.google_auth import GoogleAuthEmulator
from syncbot.sandbox.http import Emulator, HttpError, Request, Response, Router

# Column letters as Google spells them. The emulator keeps its own (written from Google's
# documentation, bijective base 26) so it never depends on the product code it tests.
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def col_letters(index: int) -> str:
    """0-based column index → letters: 0 → A, 26 → AA, 701 → ZZ, 702 → AAA."""
    number, letters = index + 1, []
    while number > 0:
        number, digit = divmod(number - 1, len(_ALPHABET))
        letters.append(_ALPHABET[digit])
    return "".join(reversed(letters))


def col_index(letters: str) -> int:
    """Letters → 0-based column index (the inverse of ``col_letters``)."""
    number = 0
    for letter in letters.upper():
        number = number * len(_ALPHABET) + _ALPHABET.index(letter) + 1
    return number - 1

CELL_LIMIT = 10_000_000
QUOTA_PER_MINUTE = 60
SHARED_TEXT = 24  # texts up to this long are stored once however many cells hold them
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
SERIAL_EPOCH = datetime(1899, 12, 30)
DECIMAL_COMMA_LOCALES = {"es_ES", "es_AR", "es_CO", "es_CL", "es_UY", "de_DE", "fr_FR",
                         "it_IT", "pt_BR", "pt_PT", "nl_NL"}
DATE_ORDER = {"en_US": "MDY"}  # how a locale writes a date: 11/29/2026; the rest day first
BOOL_WORDS = {"es": ("VERDADERO", "FALSO"), "de": ("WAHR", "FALSCH"), "fr": ("VRAI", "FAUX")}


@dataclass(frozen=True)
class Formula:
    text: str


@dataclass
class Sheet:
    sheet_id: int
    title: str
    index: int
    row_count: int = DEFAULT_ROWS
    column_count: int = DEFAULT_COLS
    frozen_rows: int = 0
    frozen_columns: int = 0
    rows: list[list[Any]] = field(default_factory=list)  # ragged; None = empty cell
    notes: dict[tuple[int, int], str] = field(default_factory=dict)
    formats: list[dict[str, Any]] = field(default_factory=list)  # repeatCell records, in order
    validations: list[dict[str, Any]] = field(default_factory=list)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    dimension_properties: list[dict[str, Any]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)  # EmbeddedChart, with chartId

    def cell(self, r: int, c: int) -> Any:
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return None

    def set(self, r: int, c: int, value: Any) -> None:
        """Store ``value`` (None: empty) in a cell; an empty cell past the row's end is left
        as it is, empty already."""
        self.reserve(r, 0 if value is None else c + 1)
        row = self.rows[r]
        if c < len(row):
            row[c] = value

    def reserve(self, r: int, width: int) -> None:
        """Room for ``width`` cells in row ``r``, made at once: a row grown cell by cell keeps
        spare room, as Python lists do (8 MB of a 100,000-row Leads tab)."""
        while len(self.rows) <= r:
            self.rows.append([])
        row = self.rows[r]
        if width > len(row):
            row.extend([None] * (width - len(row)))

    def number_format(self, r: int, c: int) -> dict[str, Any] | None:
        found = None
        for record in self.formats:
            fmt = record.get("numberFormat")
            if fmt and _in_grid_range(record["range"], r, c):
                found = fmt
        return found

    def properties(self) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": self.row_count, "columnCount": self.column_count}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        if self.frozen_columns:
            grid["frozenColumnCount"] = self.frozen_columns
        return {"sheetId": self.sheet_id, "title": self.title, "index": self.index,
                "sheetType": "GRID", "gridProperties": grid}


@dataclass
class Spreadsheet:
    id: str
    title: str
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"
    sheets: list[Sheet] = field(default_factory=list)
    editors: set[str] = field(default_factory=set)
    next_sheet_id: int = 0  # a new spreadsheet's first tab is sheetId 0 ("gid=0"), as on Google
    next_object_id: int = 1_000_000  # charts' ids (Google's are large, unrelated numbers)

    def sheet(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)

    def by_id(self, sheet_id: int) -> Sheet | None:
        return next((s for s in self.sheets if s.sheet_id == sheet_id), None)

    def cells(self) -> int:
        return sum(s.row_count * s.column_count for s in self.sheets)


def _signed_alike(value: Any, other: Any = 0.0) -> bool:
    """False only for a zero and a zero of the other sign (-0.0 == 0.0 in Python)."""
    if type(value) is not float or value != 0 or type(other) is not float:
        return True
    return math.copysign(1.0, value) == math.copysign(1.0, other)


def _same(stored: Any, value: Any) -> bool:
    """Whether a cell holding ``stored`` already holds ``value``: equal, of the same type
    (1, 1.0 and True are equal in Python, not in a sheet) and of the same sign."""
    return type(stored) is type(value) and stored == value and _signed_alike(value, stored)


def _in_grid_range(grid: dict[str, Any], r: int, c: int) -> bool:
    return (grid.get("startRowIndex", 0) <= r < grid.get("endRowIndex", 1 << 30)
            and grid.get("startColumnIndex", 0) <= c < grid.get("endColumnIndex", 1 << 30))


# ---- A1 notation -----------------------------------------------------------------------------

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


@dataclass(frozen=True)
class GridBox:
    """A resolved A1 range: 0-based, end exclusive; None = open towards the grid's edge."""

    sheet: Sheet
    r0: int
    c0: int
    r1: int | None
    c1: int | None

    def a1(self) -> str:
        end_r = self.r1 if self.r1 is not None else self.sheet.row_count
        end_c = self.c1 if self.c1 is not None else self.sheet.column_count
        start = f"{col_letters(self.c0)}{self.r0 + 1}"
        end = f"{col_letters(max(end_c, self.c0 + 1) - 1)}{max(end_r, self.r0 + 1)}"
        return f"{quote_title(self.sheet.title)}!{start}" + ("" if start == end else f":{end}")


def quote_title(title: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def split_sheet(a1: str) -> tuple[str | None, str]:
    if a1.startswith("'"):
        end = 1
        while True:
            end = a1.index("'", end)
            if a1[end:end + 2] == "''":
                end += 2
                continue
            break
        title, rest = a1[1:end].replace("''", "'"), a1[end + 1:]
        return title, rest[1:] if rest.startswith("!") else rest
    if "!" in a1:
        title, rest = a1.rsplit("!", 1)
        return title, rest
    return None, a1


# ---- cell values ----------------------------------------------------------------------------

def _decimal_comma(locale: str) -> bool:
    return locale in DECIMAL_COMMA_LOCALES


def parse_user_entered(value: Any, locale: str) -> tuple[Any, dict[str, Any] | None]:
    """What Sheets stores when a user types ``value``: (stored value, implied number format)."""
    if not isinstance(value, str):
        return value, None
    text = value.strip()
    if value.startswith("'"):
        return value[1:], None
    if text.startswith(("=", "+")) and len(text) > 1 and not _looks_numeric(text, locale):
        return Formula(text if text.startswith("=") else "=" + text[1:]), None
    words = BOOL_WORDS.get(locale.split("_")[0], ("TRUE", "FALSE"))
    if text.upper() in ("TRUE", "FALSE", *words):
        return text.upper() in ("TRUE", words[0]), None
    if _looks_numeric(text, locale):
        return _to_number(text, locale), None
    if text.endswith("%") and _looks_numeric(text[:-1], locale):
        return _to_number(text[:-1], locale) / 100, {"type": "PERCENT", "pattern": "0%"}
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?", text)
    if match:
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups())
        try:
            moment = datetime(year, month, day, hour, minute, second)
        except ValueError:
            return value, None
        if match.group(4):  # Sheets keeps the way it was typed as the cell's format
            seconds = ":ss" if match.group(6) else ""
            return to_serial(moment), {"type": "DATE_TIME", "pattern": f"yyyy-mm-dd hh:mm{seconds}"}
        return to_serial(moment), {"type": "DATE", "pattern": "yyyy-mm-dd"}
    return _locale_date(text, locale) or (value, None)


def _locale_date(text: str, locale: str) -> tuple[float, dict[str, Any]] | None:
    """A date typed the locale's way (29/11/2026 in es_ES, 11/29/2026 in en_US), with or
    without a time: stored as a serial number with a date format, as Sheets does."""
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?", text)
    if not match:
        return None
    first, second, year, hour, minute, sec = (int(p) if p else 0 for p in match.groups())
    month, day = (first, second) if DATE_ORDER.get(locale) == "MDY" else (second, first)
    try:
        moment = datetime(year, month, day, hour, minute, sec)
    except ValueError:
        return None
    return to_serial(moment), {"type": "DATE_TIME" if match.group(4) else "DATE", "pattern": ""}


def format_date(moment: datetime, number_format: dict[str, Any], locale: str) -> str:
    """A date as a formatted read shows it: by the format's pattern (``yyyy-mm-dd hh:mm``),
    else the locale's way (``29/11/2026 14:05:00`` in es_ES, ``11/29/2026 14:05:00`` in
    en_US). Pattern letters: yyyy, mm (month, or minutes after an hour), dd, hh, ss."""
    pattern = number_format.get("pattern") or (
        ("M/d/yyyy" if DATE_ORDER.get(locale) == "MDY" else "d/M/yyyy")
        + (" H:mm:ss" if number_format.get("type") == "DATE_TIME" else ""))
    out, after_hour = [], False
    for token in re.findall(r"y+|m+|M+|d+|h+|H+|s+|[^ymMdhHs]+", pattern):
        letter = token[0]
        if letter == "y":
            out.append(f"{moment.year:04d}" if len(token) > 2 else f"{moment.year % 100:02d}")
        elif letter in "mM":
            value = moment.minute if letter == "m" and after_hour else moment.month
            out.append(f"{value:02d}" if len(token) > 1 else str(value))
        elif letter == "d":
            out.append(f"{moment.day:02d}" if len(token) > 1 else str(moment.day))
        elif letter in "hH":
            after_hour = True
            out.append(f"{moment.hour:02d}" if len(token) > 1 else str(moment.hour))
        elif letter == "s":
            out.append(f"{moment.second:02d}")
        else:
            out.append(token)
    return "".join(out)


def _looks_numeric(text: str, locale: str) -> bool:
    if _decimal_comma(locale):
        pattern = r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?"
    else:
        pattern = r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][+-]?\d+)?"
    return re.fullmatch(pattern, text) is not None


def _to_number(text: str, locale: str) -> float | int:
    text = text.replace(".", "").replace(",", ".") if _decimal_comma(locale) else text.replace(",", "")
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() \
        else number


def to_serial(moment: datetime) -> float:
    delta = moment.replace(tzinfo=None) - SERIAL_EPOCH
    return delta.days + delta.seconds / 86400


def from_serial(serial: float) -> datetime:
    return SERIAL_EPOCH + timedelta(days=serial)


def evaluate(formula: Formula) -> Any:
    """A very small formula engine: enough for HYPERLINK, arithmetic on numbers and the error
    values a team's formulas show (``=NA()`` is #N/A, a deleted reference #REF!, ``1/0``
    #DIV/0!, an unknown function #NAME?). Errors read as their text, formatted or not."""
    body = formula.text[1:].strip()
    link = re.fullmatch(r'(?i)HYPERLINK\(\s*"([^"]*)"\s*(?:[,;]\s*"([^"]*)"\s*)?\)', body)
    if link:
        return link.group(2) if link.group(2) is not None else link.group(1)
    if re.fullmatch(r"(?i)NA\(\s*\)", body):
        return "#N/A"
    if "#REF!" in body.upper():
        return "#REF!"
    if re.fullmatch(r"[\d\s.+\-*/()]+", body):
        try:
            return eval(body, {"__builtins__": {}}, {})  # noqa: S307 - digits and operators only
        except ZeroDivisionError:
            return "#DIV/0!"
        except SyntaxError:
            return "#ERROR!"
    return "#NAME?"


def format_number(number: float | int, locale: str) -> str:
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e15:
        text = str(int(number))
    elif isinstance(number, float):
        text = format(number, ".10g")
    else:
        text = str(number)
    return text.replace(".", ",") if _decimal_comma(locale) else text


def render(value: Any, option: str, datetime_option: str, number_format: dict[str, Any] | None,
           locale: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, Formula):
        if option == "FORMULA":
            return value.text
        value = evaluate(value)
    if option == "FORMULA" and not isinstance(value, bool):
        return value
    is_date = bool(number_format and number_format.get("type") in ("DATE", "DATE_TIME", "TIME"))
    if isinstance(value, bool):
        if option == "FORMATTED_VALUE":
            words = BOOL_WORDS.get(locale.split("_")[0], ("TRUE", "FALSE"))
            return words[0] if value else words[1]
        return value
    if isinstance(value, int | float):
        if is_date and (option == "FORMATTED_VALUE" or datetime_option == "FORMATTED_STRING"):
            return format_date(from_serial(float(value)), number_format or {}, locale)
        if option == "FORMATTED_VALUE" and number_format and number_format.get("type") == "PERCENT":
            return format_number(round(value * 100), locale) + "%"  # the "0%" pattern
        if option == "FORMATTED_VALUE":
            return format_number(value, locale)
        return value
    return value


# The fields of charts and conditional formats the emulator takes, by the official
# description's schema names (a test checks every one is there): field → the schema of its
# value, a one-item list for a list of them, None for a plain value. Anything else in an
# ``addChart`` or ``addConditionalFormatRule`` is refused, as Sheets does.
REQUEST_SCHEMA: dict[str, dict[str, Any]] = {
    "EmbeddedChart": {"chartId": None, "spec": "ChartSpec", "position": "EmbeddedObjectPosition",
                      "border": None},
    "ChartSpec": {"title": None, "subtitle": None, "altText": None, "fontName": None,
                  "titleTextFormat": None, "backgroundColor": None, "backgroundColorStyle": None,
                  "hiddenDimensionStrategy": None, "maximized": None,
                  "basicChart": "BasicChartSpec"},
    "BasicChartSpec": {"chartType": None, "legendPosition": None, "headerCount": None,
                       "stackedType": None, "lineSmoothing": None, "threeDimensional": None,
                       "interpolateNulls": None, "compareMode": None, "totalDataLabel": None,
                       "axis": ["BasicChartAxis"], "domains": ["BasicChartDomain"],
                       "series": ["BasicChartSeries"]},
    "BasicChartAxis": {"position": None, "title": None, "format": None,
                       "titleTextPosition": None, "viewWindowOptions": None},
    "BasicChartDomain": {"domain": "ChartData", "reversed": None},
    "BasicChartSeries": {"series": "ChartData", "targetAxis": None, "type": None, "color": None,
                         "colorStyle": None, "lineStyle": None, "pointStyle": None,
                         "dataLabel": None, "styleOverrides": None},
    "ChartData": {"sourceRange": "ChartSourceRange", "aggregateType": None, "groupRule": None,
                  "columnReference": None},
    "ChartSourceRange": {"sources": ["GridRange"]},
    "GridRange": {"sheetId": None, "startRowIndex": None, "endRowIndex": None,
                  "startColumnIndex": None, "endColumnIndex": None},
    "EmbeddedObjectPosition": {"overlayPosition": "OverlayPosition", "sheetId": None,
                               "newSheet": None},
    "OverlayPosition": {"anchorCell": "GridCoordinate", "offsetXPixels": None,
                        "offsetYPixels": None, "widthPixels": None, "heightPixels": None},
    "GridCoordinate": {"sheetId": None, "rowIndex": None, "columnIndex": None},
    "AddConditionalFormatRuleRequest": {"rule": "ConditionalFormatRule", "index": None},
    "ConditionalFormatRule": {"ranges": ["GridRange"], "booleanRule": "BooleanRule",
                              "gradientRule": "GradientRule"},
    "BooleanRule": {"condition": "BooleanCondition", "format": "CellFormat"},
    "BooleanCondition": {"type": None, "values": ["ConditionValue"]},
    "ConditionValue": {"userEnteredValue": None, "relativeDate": None},
    "GradientRule": {"minpoint": "InterpolationPoint", "midpoint": "InterpolationPoint",
                     "maxpoint": "InterpolationPoint"},
    "InterpolationPoint": {"color": "Color", "colorStyle": None, "type": None, "value": None},
    "CellFormat": {"backgroundColor": "Color", "backgroundColorStyle": None, "textFormat": None,
                   "numberFormat": None, "borders": None, "horizontalAlignment": None,
                   "verticalAlignment": None, "wrapStrategy": None, "padding": None,
                   "textDirection": None, "textRotation": None, "hyperlinkDisplayType": None},
    "Color": {"red": None, "green": None, "blue": None, "alpha": None},
}
CHART_TYPES = ("BAR", "LINE", "AREA", "COLUMN", "SCATTER", "COMBO", "STEPPED_AREA")


def unknown_fields(value: Any, schema: str, where: str = "") -> str | None:
    """The first field of ``value`` that ``schema`` (of REQUEST_SCHEMA) does not have, dotted
    (``spec.basicChart.colour``), or None."""
    if not isinstance(value, dict):
        return None
    fields = REQUEST_SCHEMA[schema]
    for name, inner in value.items():
        if name not in fields:
            return where + name
        kind = fields[name]
        items = inner if isinstance(kind, list) and isinstance(inner, list) else [inner]
        target = kind[0] if isinstance(kind, list) else kind
        if target is not None:
            for item in items:
                found = unknown_fields(item, target, f"{where}{name}.")
                if found:
                    return found
    return None


def google_error(code: int, message: str, status: str, details: list[Any] | None = None) -> HttpError:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return HttpError(Response.json(code, {"error": error}))


class SheetsEmulator(Emulator):
    """Spreadsheets in memory plus the v4 REST routes over them."""

    hostnames = (r"sheets\.googleapis\.com",)

    def __init__(self, auth: GoogleAuthEmulator | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 quota_per_minute: int = QUOTA_PER_MINUTE) -> None:
        self.auth = auth or GoogleAuthEmulator()
        self.clock = clock
        self.quota_per_minute = quota_per_minute
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.quota_hits = 0
        # tab title → values written (not null), and of them those that changed a cell: what a
        self.cells_written: dict[str, int] = {}  # benchmark compares a sync's writes with
        self.cells_changed: dict[str, int] = {}
        self._usage: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._values: dict[Any, Any] = {}  # see _shared
        self.values_batch_reading = "atomic"  # or "in order": see the module's docstring
        self._lock = threading.RLock()
        self.router = Router("/v4")
        self._routes()

    # ---- state for tests and the demo ----------------------------------------------------

    def create(self, spreadsheet_id: str, *, title: str = "Leads", locale: str = "en_US",
               editors: tuple[str, ...] = (), tabs: tuple[str, ...] | None = None
               ) -> Spreadsheet:
        """A new spreadsheet, with the first tab Google gives one in ``locale`` unless
        ``tabs`` says otherwise ("Sheet1"; "Hoja 1" in Spanish)."""
        book = Spreadsheet(spreadsheet_id, title, locale=locale, editors=set(editors))
        first = "Hoja 1" if locale.startswith("es") else "Sheet1"
        for name in (first,) if tabs is None else tabs:
            self._add_sheet(book, {"title": name})
        self.spreadsheets[spreadsheet_id] = book
        return book

    def add_tab(self, spreadsheet_id: str, title: str, rows: list[list[Any]] | None = None
                ) -> Sheet:
        """A tab the team made by hand (a form's responses, a pasted export), with its cells."""
        with self._lock:
            sheet = self._add_sheet(self.spreadsheets[spreadsheet_id], {"title": title})
            sheet.rows = [list(row) for row in rows or []]
            sheet.row_count = max(sheet.row_count, len(sheet.rows))
        return sheet

    def values(self, spreadsheet_id: str, title: str, option: str = "UNFORMATTED_VALUE"
               ) -> list[list[Any]]:
        """A whole tab's values, trimmed like the API returns them (for assertions)."""
        book = self.spreadsheets[spreadsheet_id]
        sheet = book.sheet(title)
        assert sheet is not None, f"no tab {title!r}"
        return self._read(book, GridBox(sheet, 0, 0, None, None), option, "SERIAL_NUMBER")

    # ---- HTTP plumbing -------------------------------------------------------------------

    def fault_response(self, kind: str) -> Response:
        if kind == "503":
            return Response.json(503, {"error": {"code": 503, "message": "The service is "
                                                 "currently unavailable.", "status": "UNAVAILABLE"}})
        if kind == "429":
            return self._quota_response("Write requests")
        if kind == "500":
            return Response(500, {"Content-Type": "text/html; charset=UTF-8"},
                            b"<html><title>Error 500 (Server Error)!!1</title></html>")
        return super().fault_response(kind)

    def _quota_response(self, metric: str) -> Response:
        limit = metric.replace(" requests", "RequestsPerMinutePerUser")
        return Response.json(429, {"error": {
            "code": 429,
            "message": f"Quota exceeded for quota metric '{metric}' and limit "
                       f"'{metric} per minute per user' of service 'sheets.googleapis.com' "
                       "for consumer 'project_number:1000'.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                         "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                         "metadata": {"quota_limit": limit.replace(" ", ""),
                                      "service": "sheets.googleapis.com"}}]}})

    def handle(self, request: Request) -> Response:
        user = self.auth.user_of(request.headers.get("authorization", ""))
        if user is None:
            raise google_error(401, "Request is missing required authentication credential. "
                               "Expected OAuth 2 access token, login cookie or other valid "
                               "authentication credential.", "UNAUTHENTICATED")
        kind = "read" if request.method == "GET" else "write"
        with self._lock:
            window = self._usage[(user, kind)]
            now = self.clock()
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.quota_per_minute:
                self.quota_hits += 1
                return self._quota_response("Read requests" if kind == "read" else "Write requests")
            window.append(now)
            return self.router.dispatch(request, self._not_found)

    def _not_found(self, request: Request) -> Response:
        return Response.json(404, {"error": {"code": 404, "message": "Requested entity was not "
                                             "found.", "status": "NOT_FOUND"}})

    def _book(self, request: Request, spreadsheet_id: str) -> Spreadsheet:
        book = self.spreadsheets.get(spreadsheet_id)
        if book is None:
            raise google_error(404, "Requested entity was not found.", "NOT_FOUND")
        user = self.auth.user_of(request.headers.get("authorization", ""))
        if user not in book.editors:
            raise google_error(403, "The caller does not have permission", "PERMISSION_DENIED")
        return book

    def _routes(self) -> None:
        r = self.router
        r.add("GET", "/spreadsheets/{spreadsheetId}",
              ("includeGridData", "ranges", "fields", "excludeTablesInBandedRanges"), self.get_meta)
        r.add("GET", "/spreadsheets/{spreadsheetId}/values:batchGet",
              ("ranges", "majorDimension", "valueRenderOption", "dateTimeRenderOption"),
              self.batch_get)
        r.add("POST", "/spreadsheets/{spreadsheetId}/values:batchUpdate", (), self.batch_update_values)
        r.add("POST", "/spreadsheets/{spreadsheetId}/values:batchClear", (), self.batch_clear)
        r.add("POST", "/spreadsheets/{spreadsheetId}/values/{range}:append",
              ("valueInputOption", "insertDataOption", "includeValuesInResponse",
               "responseValueRenderOption", "responseDateTimeRenderOption"), self.append)
        r.add("POST", "/spreadsheets/{spreadsheetId}/values/{range}:clear", (), self.clear)
        r.add("GET", "/spreadsheets/{spreadsheetId}/values/{range}",
              ("majorDimension", "valueRenderOption", "dateTimeRenderOption"), self.get_values)
        r.add("PUT", "/spreadsheets/{spreadsheetId}/values/{range}",
              ("valueInputOption", "includeValuesInResponse", "responseValueRenderOption",
               "responseDateTimeRenderOption"), self.update_values)
        r.add("POST", "/spreadsheets/{spreadsheetId}:batchUpdate", (), self.batch_update)

    # ---- ranges --------------------------------------------------------------------------

    def _box(self, book: Spreadsheet, a1: str, *, for_write: bool = False) -> GridBox:
        title, ref = split_sheet(a1)
        sheet = book.sheet(title) if title is not None else (book.sheets[0] if book.sheets else None)
        if sheet is None and title is not None and not ref:
            sheet, ref = None, title  # maybe a bare range on the first sheet
        if sheet is None:
            raise google_error(400, f"Unable to parse range: {a1}", "INVALID_ARGUMENT")
        if not ref:
            return GridBox(sheet, 0, 0, None, None)
        start, _, end = ref.partition(":")
        m1, m2 = _CELL.match(start), _CELL.match(end or start)
        if not m1 or not m2 or not (start.strip()):
            raise google_error(400, f"Unable to parse range: {a1}", "INVALID_ARGUMENT")
        c0 = col_index(m1.group(1)) if m1.group(1) else 0
        r0 = int(m1.group(2)) - 1 if m1.group(2) else 0
        c1 = col_index(m2.group(1)) + 1 if m2.group(1) else None
        r1 = int(m2.group(2)) if m2.group(2) else None
        if not end and m1.group(1) and m1.group(2):
            c1, r1 = c0 + 1, r0 + 1
        box = GridBox(sheet, r0, c0, r1, c1)
        self._check_grid(box, a1)
        return box

    def _check_grid(self, box: GridBox, a1: str, rows: int = 0, cols: int = 0) -> None:
        sheet = box.sheet
        last_row = max(box.r1 or 0, box.r0 + rows, box.r0 + 1)
        last_col = max(box.c1 or 0, box.c0 + cols, box.c0 + 1)
        if last_row > sheet.row_count or last_col > sheet.column_count:
            if rows or cols:
                a1 = GridBox(sheet, box.r0, box.c0, last_row, last_col).a1()
            raise google_error(400, f"Range ({a1}) exceeds grid limits. Max rows: "
                               f"{sheet.row_count}, max columns: {sheet.column_count}",
                               "INVALID_ARGUMENT")

    def _read(self, book: Spreadsheet, box: GridBox, option: str, dt_option: str,
              major: str = "ROWS") -> list[list[Any]]:
        sheet = box.sheet
        r_end = min(box.r1 if box.r1 is not None else sheet.row_count, len(sheet.rows))
        c_end = box.c1 if box.c1 is not None else sheet.column_count
        out: list[list[Any]] = []
        formatted = option == "FORMATTED_VALUE" or dt_option == "FORMATTED_STRING"
        for r in range(box.r0, r_end):
            row = sheet.rows[r][box.c0:c_end]
            while row and row[-1] is None:
                row = row[:-1]
            out.append([render(v, option, dt_option, sheet.number_format(r, box.c0 + i)
                               if formatted and sheet.formats else None, book.locale)
                        for i, v in enumerate(row)])
        while out and not out[-1]:
            out.pop()
        if major == "COLUMNS":
            width = max((len(r) for r in out), default=0)
            out = [[row[c] if c < len(row) else "" for row in out] for c in range(width)]
            while out and all(v == "" for v in out[-1]):
                out.pop()
        return out

    def _value_range(self, book: Spreadsheet, a1: str, request: Request) -> dict[str, Any]:
        box = self._box(book, a1)
        major = request.arg("majorDimension", "ROWS") or "ROWS"
        values = self._read(book, box, request.arg("valueRenderOption", "FORMATTED_VALUE")
                            or "FORMATTED_VALUE",
                            request.arg("dateTimeRenderOption", "SERIAL_NUMBER") or "SERIAL_NUMBER",
                            major)
        result: dict[str, Any] = {"range": box.a1(), "majorDimension": major}
        if values:
            result["values"] = values
        return result

    def _write(self, book: Spreadsheet, a1: str, values: list[list[Any]], option: str | None,
               major: str = "ROWS", check_only: bool = False) -> dict[str, Any]:
        if option not in ("RAW", "USER_ENTERED"):
            raise google_error(400, "'valueInputOption' is required but not specified",
                               "INVALID_ARGUMENT")
        if major == "COLUMNS":
            width = max((len(c) for c in values), default=0)
            values = [[col[r] if r < len(col) else None for col in values] for r in range(width)]
        box = self._box(book, a1)
        if ":" not in split_sheet(a1)[1]:  # a single cell anchors the write, it does not bound it
            box = GridBox(box.sheet, box.r0, box.c0, None, None)
        height, width = len(values), max((len(r) for r in values), default=0)
        if box.r1 is not None and box.c1 is not None and (
                height > box.r1 - box.r0 or width > box.c1 - box.c0):
            raise google_error(400, f"Requested writing within range [{a1}], but tried writing "
                               f"to row [{box.r0 + height}]", "INVALID_ARGUMENT")
        self._check_grid(box, a1, rows=height, cols=width)
        if check_only:
            return {}
        cells = changed = 0
        for i, row in enumerate(values):
            filled = [j for j, value in enumerate(row) if value is not None and value != ""]
            if filled:
                box.sheet.reserve(box.r0 + i, box.c0 + filled[-1] + 1)
            if option == "RAW":
                written, altered = self._store_raw(box.sheet, box.r0 + i, box.c0, row)
                cells, changed = cells + written, changed + altered
                continue
            for j, value in enumerate(row):
                if value is None:
                    continue
                cells += 1
                r, c = box.r0 + i, box.c0 + j
                changed += self._store(book, box.sheet, r, c, value, option,
                                       box.sheet.cell(r, c))
        title = box.sheet.title
        self.cells_written[title] = self.cells_written.get(title, 0) + cells
        self.cells_changed[title] = self.cells_changed.get(title, 0) + changed
        end = GridBox(box.sheet, box.r0, box.c0, box.r0 + max(height, 1), box.c0 + max(width, 1))
        return {"spreadsheetId": book.id, "updatedRange": end.a1(), "updatedRows": height,
                "updatedColumns": width, "updatedCells": cells}

    def _store(self, book: Spreadsheet, sheet: Sheet, r: int, c: int, value: Any, option: str,
               before: Any) -> bool:
        """Write ``value`` as ``option`` reads it into a cell that holds ``before``; whether
        that changed the cell."""
        if isinstance(value, list | dict):
            raise google_error(400, "Invalid values: a cell holds a string, number or boolean",
                               "INVALID_ARGUMENT")
        if value == "":
            sheet.set(r, c, None)
            return before is not None
        if option == "USER_ENTERED":
            value, implied = parse_user_entered(value, book.locale)
            if implied:
                sheet.formats.append({"range": {"startRowIndex": r, "endRowIndex": r + 1,
                                                "startColumnIndex": c, "endColumnIndex": c + 1},
                                      "numberFormat": implied})
        if _same(before, value):
            return False  # the cell keeps its own object: fewer short-lived ones in a grid
        sheet.set(r, c, self._shared(value, sheet.cell(r - 1, c) if r else None))
        return True

    def _store_raw(self, sheet: Sheet, r: int, c0: int, values: list[Any]) -> tuple[int, int]:
        """``_store`` for a RAW row of ``values`` from column ``c0`` (room for its filled
        cells made already): the same steps, written out in one loop, since a sync's Leads
        rows are millions of cells and the emulator shares the machine with the code under
        test; returns the cells written and those changed."""
        rows = sheet.rows
        line = rows[r] if r < len(rows) else []
        above = rows[r - 1] if 0 < r <= len(rows) else []
        shared_values = self._values
        written = changed = 0
        for j, value in enumerate(values):
            if value is None:
                continue
            written += 1
            kind, c = type(value), c0 + j
            if kind is list or kind is dict:
                raise google_error(400, "Invalid values: a cell holds a string, number or boolean",
                                   "INVALID_ARGUMENT")
            before = line[c] if c < len(line) else None
            if kind is str and not value:
                if before is not None:
                    line[c] = None
                    changed += 1
                continue
            if type(before) is kind and before == value and _signed_alike(value, before):
                continue
            if kind is str:
                shared = len(value) <= SHARED_TEXT
            else:
                shared = kind is float and round(value, 2) == value and _signed_alike(value)
            if shared:
                value = shared_values.setdefault(value, value)
            else:
                over = above[c] if c < len(above) else None
                if type(over) is kind and over == value and _signed_alike(value, over):
                    value = over
            line[c] = value
            changed += 1
        return written, changed

    def _shared(self, value: Any, above: Any) -> Any:
        """One object for equal short texts and equal round numbers, the values that fill
        whole columns (a status, a tag, a country, a score, a rate): each cell written from a
        request's JSON is a new object, and a 100,000-row Leads tab held 170 MB of them.
        Longer texts and finer numbers (addresses, ``why``, dates) are mostly unique, so only
        one equal to the cell ``above`` is shared with it (a run's ``synced_at``, the same
        ``why`` for many cold leads). -0.0 is kept apart from 0.0, which it equals."""
        if isinstance(value, str):
            shared = len(value) <= SHARED_TEXT
        else:
            shared = type(value) is float and round(value, 2) == value and _signed_alike(value)
        if shared:
            return self._values.setdefault(value, value)
        return above if _same(above, value) else value

    # ---- values routes -------------------------------------------------------------------

    def get_meta(self, request: Request, spreadsheetId: str) -> Response:
        book = self._book(request, spreadsheetId)
        sheets = []
        for s in sorted(book.sheets, key=lambda s: s.index):
            entry: dict[str, Any] = {"properties": s.properties()}
            if s.conditional_formats:
                entry["conditionalFormats"] = copy.deepcopy(s.conditional_formats)
            if s.charts:
                entry["charts"] = copy.deepcopy(s.charts)
            sheets.append(entry)
        return Response.json(200, {
            "spreadsheetId": book.id,
            "properties": {"title": book.title, "locale": book.locale, "autoRecalc": "ON_CHANGE",
                           "timeZone": book.time_zone},
            "sheets": sheets,
            "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{book.id}/edit"})

    def get_values(self, request: Request, spreadsheetId: str, range: str) -> Response:
        book = self._book(request, spreadsheetId)
        return Response.json(200, self._value_range(book, range, request))

    def batch_get(self, request: Request, spreadsheetId: str) -> Response:
        book = self._book(request, spreadsheetId)
        ranges = [self._value_range(book, a1, request) for a1 in request.args("ranges")]
        return Response.json(200, {"spreadsheetId": book.id, "valueRanges": ranges})

    def update_values(self, request: Request, spreadsheetId: str, range: str) -> Response:
        book = self._book(request, spreadsheetId)
        body = request.json() or {}
        return Response.json(200, self._write(book, range, body.get("values") or [],
                                              request.arg("valueInputOption"),
                                              body.get("majorDimension") or "ROWS"))

    def batch_update_values(self, request: Request, spreadsheetId: str) -> Response:
        book = self._book(request, spreadsheetId)
        body = request.json() or {}
        option, data = body.get("valueInputOption"), body.get("data") or []
        if self.values_batch_reading == "atomic":  # check every range before writing any
            for item in data:
                self._write(book, item["range"], item.get("values") or [], option,
                            item.get("majorDimension") or "ROWS", check_only=True)
        replies = [self._write(book, item["range"], item.get("values") or [], option,
                               item.get("majorDimension") or "ROWS") for item in data]
        return Response.json(200, {
            "spreadsheetId": book.id,
            "totalUpdatedRows": sum(r["updatedRows"] for r in replies),
            "totalUpdatedColumns": sum(r["updatedColumns"] for r in replies),
            "totalUpdatedCells": sum(r["updatedCells"] for r in replies),
            "totalUpdatedSheets": len({r["updatedRange"].split("!")[0] for r in replies}),
            "responses": replies})

    def append(self, request: Request, spreadsheetId: str, range: str) -> Response:
        book = self._book(request, spreadsheetId)
        values = (request.json() or {}).get("values") or []
        box = self._box(book, range)
        sheet = box.sheet
        c_end = box.c1 if box.c1 is not None else sheet.column_count
        last = -1
        for r, row in enumerate(sheet.rows):
            if any(v is not None for v in row[box.c0:c_end]):
                last = r
        start = max(last + 1, box.r0)
        grow = max(0, start + len(values) - sheet.row_count)
        if request.arg("insertDataOption") == "INSERT_ROWS":
            grow = len(values)
            self._insert(sheet, "ROWS", start, len(values))
        elif grow:
            sheet.row_count += grow
        width = max((len(r) for r in values), default=0)
        if box.c0 + width > sheet.column_count or book.cells() > CELL_LIMIT:
            if grow:
                sheet.row_count -= grow
            self._cell_limit_or_grid(book, sheet, range)
        target = GridBox(sheet, start, box.c0, None, None).a1()
        updates = self._write(book, target, values, request.arg("valueInputOption"))
        return Response.json(200, {"spreadsheetId": book.id, "tableRange": box.a1(),
                                   "updates": updates})

    def _cell_limit_or_grid(self, book: Spreadsheet, sheet: Sheet, a1: str) -> None:
        if book.cells() > CELL_LIMIT:
            raise self._cell_limit_error()
        raise google_error(400, f"Range ({a1}) exceeds grid limits. Max rows: {sheet.row_count}, "
                           f"max columns: {sheet.column_count}", "INVALID_ARGUMENT")

    def _cell_limit_error(self) -> HttpError:
        return google_error(400, "This action would increase the number of cells in the "
                            f"workbook above the limit of {CELL_LIMIT} cells.", "INVALID_ARGUMENT")

    def clear(self, request: Request, spreadsheetId: str, range: str) -> Response:
        book = self._book(request, spreadsheetId)
        box = self._box(book, range)
        self._clear_box(box)
        return Response.json(200, {"spreadsheetId": book.id, "clearedRange": box.a1()})

    def batch_clear(self, request: Request, spreadsheetId: str) -> Response:
        book = self._book(request, spreadsheetId)
        boxes = [self._box(book, a1) for a1 in (request.json() or {}).get("ranges") or []]
        for box in boxes:
            self._clear_box(box)
        return Response.json(200, {"spreadsheetId": book.id,
                                   "clearedRanges": [b.a1() for b in boxes]})

    def _clear_box(self, box: GridBox) -> None:
        sheet = box.sheet
        r_end = min(box.r1 if box.r1 is not None else len(sheet.rows), len(sheet.rows))
        for r in range(box.r0, r_end):
            row = sheet.rows[r]
            c_end = min(box.c1 if box.c1 is not None else len(row), len(row))
            for c in range(box.c0, c_end):
                row[c] = None

    # ---- spreadsheets.batchUpdate ----------------------------------------------------------

    def batch_update(self, request: Request, spreadsheetId: str) -> Response:
        book = self._book(request, spreadsheetId)
        requests = (request.json() or {}).get("requests") or []
        # All-or-nothing: run the whole batch on a copy of the structure first. Cell data
        # is shared, not copied, by the trial (only structural requests are checked on it).
        trial = copy.copy(book)
        trial.sheets = [copy.copy(s) for s in book.sheets]
        for item in requests:
            self._apply(trial, item, dry=True)
        if trial.cells() > CELL_LIMIT:
            raise self._cell_limit_error()
        replies = [self._apply(book, item, dry=False) for item in requests]
        return Response.json(200, {"spreadsheetId": book.id, "replies": replies})

    def _sheet_of(self, book: Spreadsheet, sheet_id: Any) -> Sheet:
        sheet = book.by_id(int(sheet_id or 0))
        if sheet is None:
            raise google_error(400, f"Invalid requests: No grid with id: {sheet_id}",
                               "INVALID_ARGUMENT")
        return sheet

    def _add_sheet(self, book: Spreadsheet, props: dict[str, Any]) -> Sheet:
        title = props.get("title") or f"Sheet{len(book.sheets) + 1}"
        if book.sheet(title) is not None:
            raise google_error(400, f'Invalid requests[0].addSheet: A sheet with the name "{title}" '
                               "already exists. Please enter another name.", "INVALID_ARGUMENT")
        grid = props.get("gridProperties") or {}
        sheet_id = props.get("sheetId", book.next_sheet_id)
        book.next_sheet_id = max(book.next_sheet_id, sheet_id) + 1
        sheet = Sheet(sheet_id, title, props.get("index", len(book.sheets)),
                      grid.get("rowCount", DEFAULT_ROWS), grid.get("columnCount", DEFAULT_COLS),
                      grid.get("frozenRowCount", 0), grid.get("frozenColumnCount", 0))
        for other in book.sheets:
            if other.index >= sheet.index:
                other.index += 1
        book.sheets.append(sheet)
        return sheet

    def _insert(self, sheet: Sheet, dimension: str, start: int, count: int,
                dry: bool = False) -> None:
        if dimension == "ROWS":
            if start < len(sheet.rows) and not dry:
                sheet.rows[start:start] = [[] for _ in range(count)]
            sheet.row_count += count
        else:
            for row in sheet.rows if not dry else ():
                if start < len(row):
                    row[start:start] = [None] * count
            sheet.column_count += count

    def _delete(self, sheet: Sheet, dimension: str, start: int, end: int,
                dry: bool = False) -> None:
        if dimension == "ROWS":
            if not dry:
                del sheet.rows[start:end]
            sheet.row_count -= end - start
        else:
            for row in sheet.rows if not dry else ():
                del row[start:end]
            sheet.column_count -= end - start

    def _apply(self, book: Spreadsheet, item: dict[str, Any], dry: bool) -> dict[str, Any]:
        if len(item) != 1:
            raise google_error(400, "Invalid requests: each request sets exactly one kind",
                               "INVALID_ARGUMENT")
        kind, body = next(iter(item.items()))
        if kind == "addSheet":
            sheet = self._add_sheet(book, dict(body.get("properties") or {}))
            return {"addSheet": {"properties": sheet.properties()}}
        if kind == "deleteSheet":
            sheet = self._sheet_of(book, body.get("sheetId"))
            book.sheets.remove(sheet)
            for other in book.sheets:  # the tabs after it move up: indexes stay 0..n-1
                if other.index > sheet.index:
                    other.index -= 1
            return {}
        if kind == "updateSheetProperties":
            props = body.get("properties") or {}
            sheet = self._sheet_of(book, props.get("sheetId"))
            self._update_properties(book, sheet, props, body.get("fields") or "", dry)
            return {}
        if kind in ("appendDimension", "insertDimension", "deleteDimension"):
            rng = body if kind == "appendDimension" else body.get("range") or {}
            sheet = self._sheet_of(book, rng.get("sheetId"))
            dimension = rng.get("dimension")
            if dimension not in ("ROWS", "COLUMNS"):
                raise google_error(400, f"Invalid {kind}: dimension must be ROWS or COLUMNS",
                                   "INVALID_ARGUMENT")
            size = sheet.row_count if dimension == "ROWS" else sheet.column_count
            if kind == "appendDimension":
                self._insert(sheet, dimension, size, int(body.get("length") or 0), dry)
                return {}
            start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", size))
            if not 0 <= start < end or (kind == "deleteDimension" and end > size) or start > size:
                raise google_error(400, f"Invalid {kind}: range {start}..{end} is outside the grid "
                                   f"({size})", "INVALID_ARGUMENT")
            if kind == "insertDimension":
                self._insert(sheet, dimension, start, end - start, dry)
            else:
                self._delete(sheet, dimension, start, end, dry)
            return {}
        if kind == "addChart":
            return self._add_chart(book, body, dry)
        if kind == "deleteEmbeddedObject":
            found = [(sheet, chart) for sheet in book.sheets for chart in sheet.charts
                     if chart["chartId"] == body.get("objectId")]
            if not found:
                raise google_error(400, f"Invalid requests[0].deleteEmbeddedObject: No object "
                                   f"with id {body.get('objectId')}", "INVALID_ARGUMENT")
            if not dry:
                found[0][0].charts.remove(found[0][1])
            return {}
        if kind in ("repeatCell", "updateCells", "setDataValidation", "addConditionalFormatRule",
                    "updateDimensionProperties", "autoResizeDimensions", "setBasicFilter"):
            return self._decorate(book, kind, body, dry)
        raise google_error(400, f'Invalid JSON payload received. Unknown name "{kind}" at '
                           "'requests[0]': Cannot find field.", "INVALID_ARGUMENT")

    def _add_chart(self, book: Spreadsheet, body: dict[str, Any], dry: bool) -> dict[str, Any]:
        """``addChart`` as Sheets takes it: fields checked against the official description
        (an unknown one is a 400), every source range inside its sheet's grid, the chart
        anchored on a sheet that exists; the reply carries the new ``chartId``."""
        chart = copy.deepcopy(body.get("chart") or {})
        unknown = unknown_fields(chart, "EmbeddedChart")
        if unknown:
            raise google_error(400, f'Invalid JSON payload received. Unknown name "{unknown}" '
                               "at 'requests[0].add_chart.chart': Cannot find field.",
                               "INVALID_ARGUMENT")
        basic = (chart.get("spec") or {}).get("basicChart")
        if not basic or basic.get("chartType") not in CHART_TYPES:
            raise google_error(400, "Invalid requests[0].addChart: a basicChart with a "
                               "chartType is required", "INVALID_ARGUMENT")
        sources = [source for part in [*basic.get("domains", []), *basic.get("series", [])]
                   for source in ((part.get("domain") or part.get("series") or {})
                                  .get("sourceRange") or {}).get("sources", [])]
        if not sources:
            raise google_error(400, "Invalid requests[0].addChart: the chart has no data",
                               "INVALID_ARGUMENT")
        for source in sources:
            self._grid_range(book, source)
        anchor = ((chart.get("position") or {}).get("overlayPosition") or {}).get("anchorCell")
        if anchor is None:
            raise google_error(400, "Invalid requests[0].addChart: an overlayPosition with an "
                               "anchorCell is required", "INVALID_ARGUMENT")
        sheet = self._sheet_of(book, anchor.get("sheetId"))
        chart["chartId"] = chart.get("chartId") or book.next_object_id
        book.next_object_id = max(book.next_object_id, chart["chartId"]) + 1
        if not dry:
            sheet.charts.append(chart)
        return {"addChart": {"chart": copy.deepcopy(chart)}}

    def _update_properties(self, book: Spreadsheet, sheet: Sheet, props: dict[str, Any],
                           fields: str, dry: bool) -> None:
        """Apply the masked fields; "gridProperties" alone means all of its sub-fields."""
        grid = props.get("gridProperties") or {}
        names = {f.strip().replace("/", ".") for f in fields.split(",") if f.strip()}
        if "gridProperties" in names:
            names |= {f"gridProperties.{k}" for k in grid}
        if "title" in names:
            title = props.get("title")
            if not title or book.sheet(title) not in (None, sheet):
                raise google_error(400, f'A sheet with the name "{title}" already exists.',
                                   "INVALID_ARGUMENT")
            sheet.title = title
        if "index" in names:
            sheet.index = int(props.get("index", sheet.index))
        if "gridProperties.rowCount" in names and "rowCount" in grid:
            sheet.row_count = int(grid["rowCount"])
            if not dry:
                del sheet.rows[sheet.row_count:]
        if "gridProperties.columnCount" in names and "columnCount" in grid:
            sheet.column_count = int(grid["columnCount"])
            for row in sheet.rows if not dry else ():
                del row[sheet.column_count:]
        if "gridProperties.frozenRowCount" in names:
            sheet.frozen_rows = int(grid.get("frozenRowCount", 0))
        if "gridProperties.frozenColumnCount" in names:
            sheet.frozen_columns = int(grid.get("frozenColumnCount", 0))

    def _grid_range(self, book: Spreadsheet, rng: dict[str, Any]) -> Sheet:
        sheet = self._sheet_of(book, rng.get("sheetId"))
        if rng.get("endRowIndex", 0) > sheet.row_count or \
                rng.get("endColumnIndex", 0) > sheet.column_count:
            raise google_error(400, "Range exceeds grid limits. Max rows: "
                               f"{sheet.row_count}, max columns: {sheet.column_count}",
                               "INVALID_ARGUMENT")
        return sheet

    def _decorate(self, book: Spreadsheet, kind: str, body: dict[str, Any], dry: bool
                  ) -> dict[str, Any]:
        if kind == "repeatCell":
            sheet = self._grid_range(book, body.get("range") or {})
            fmt = ((body.get("cell") or {}).get("userEnteredFormat") or {})
            if not dry:
                sheet.formats.append({"range": body.get("range") or {}, **copy.deepcopy(fmt)})
        elif kind == "updateCells":
            start = body.get("start") or {}
            rng = body.get("range") or {}
            sheet = self._sheet_of(book, start.get("sheetId", rng.get("sheetId")))
            r0 = start.get("rowIndex", rng.get("startRowIndex", 0))
            c0 = start.get("columnIndex", rng.get("startColumnIndex", 0))
            rows = body.get("rows") or []
            width = max((len(r.get("values") or []) for r in rows), default=0)
            if r0 + len(rows) > sheet.row_count or c0 + width > sheet.column_count:
                raise google_error(400, "Range exceeds grid limits. Max rows: "
                                   f"{sheet.row_count}, max columns: {sheet.column_count}",
                                   "INVALID_ARGUMENT")
            if not dry:
                for i, row in enumerate(rows):
                    for j, cell in enumerate(row.get("values") or []):
                        if "note" in cell:
                            sheet.notes[(r0 + i, c0 + j)] = cell["note"]
                        value = cell.get("userEnteredValue")
                        if value:
                            stored = (Formula(value["formulaValue"]) if "formulaValue" in value
                                      else next(iter(value.values())))
                            sheet.set(r0 + i, c0 + j, stored)
        elif kind == "setDataValidation":
            sheet = self._grid_range(book, body.get("range") or {})
            if not dry:
                sheet.validations.append(copy.deepcopy(body))
        elif kind == "addConditionalFormatRule":
            unknown = unknown_fields(body, "AddConditionalFormatRuleRequest")
            if unknown:
                raise google_error(400, f'Invalid JSON payload received. Unknown name '
                                   f'"{unknown}" at \'requests[0].add_conditional_format_rule\': '
                                   "Cannot find field.", "INVALID_ARGUMENT")
            rule = body.get("rule") or {}
            ranges = rule.get("ranges") or []
            if not ranges:
                raise google_error(400, "Invalid addConditionalFormatRule: no ranges",
                                   "INVALID_ARGUMENT")
            sheet = self._grid_range(book, ranges[0])
            if not dry:
                sheet.conditional_formats.insert(int(body.get("index", len(
                    sheet.conditional_formats))), copy.deepcopy(rule))
        else:
            rng = body.get("range") or body.get("dimensions") or body.get("filter", {}).get(
                "range") or {}
            sheet = self._sheet_of(book, rng.get("sheetId"))
            if not dry:
                sheet.dimension_properties.append({kind: copy.deepcopy(body)})
        return {}
