"""Reading cell values the way a marketer means them, whatever the sheet's locale.

Numbers may arrive as numbers (UNFORMATTED_VALUE) or as text in either
notation: ``2.5``, ``2,5``, ``1.234,5``, ``1,234.5``. A lone comma is a
decimal comma (``1,234`` is 1.234): Spanish-speaking sheets write decimals
that way far more often than English ones write a bare thousands separator.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

SHEETS_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d+)*|\d*[.,]\d+)")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_number(value: Any) -> float | None:
    """A number from a cell value, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return to_serial(value)
    if not isinstance(value, str):
        return None
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    percent = text.endswith("%")  # "63%" or "63 %" is 0.63, as a sheet reads it
    if percent:
        text = text[:-1]
    if not _NUMBER.fullmatch(text):
        return None
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    decimal = "," if last_comma > last_dot else "."
    if decimal == "." and text.count(".") > 1:  # 1.234.567: dots are thousands
        decimal = ","
    if decimal == "," and text.count(",") > 1:  # 1,234,567: commas are thousands
        decimal = "."
    thousands = "." if decimal == "," else ","
    number = float(text.replace(thousands, "").replace(decimal, "."))
    return number / 100 if percent else number


def to_serial(moment: datetime) -> float:
    """A date as Google Sheets stores it: days since 1899-12-30 (UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - SHEETS_EPOCH) / timedelta(days=1)


def from_serial(serial: float) -> datetime:
    """A sheet serial number as the UTC moment it stands for (``to_serial``'s inverse)."""
    return SHEETS_EPOCH + timedelta(days=serial)


def parse_date(value: Any) -> float | None:
    """A date cell (serial number) or ISO text (``2026-01-15``) as a serial number."""
    number = parse_number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        try:
            return to_serial(datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None


def as_text(value: Any) -> str:
    """How a value reads as text in a comparison."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).strip()


def format_number(number: float, decimal: str = ".") -> str:
    """``5.0`` → ``5``, ``2.50`` → ``2.5``: numbers as a person writes them (``decimal``: the
    decimal mark, ``","`` where ``2,5`` is how people write two and a half)."""
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    rounded = round(number, 2)
    text = str(int(rounded)) if float(rounded).is_integer() else f"{rounded:g}"
    return text.replace(".", decimal) if decimal != "." else text


@cache
def window_edges(windows: tuple[int, ...], lookback_days: int) -> tuple[timedelta, ...]:
    """The ages at which an event or an order changes a windowed count, ascending: each window
    within the lookback, and the lookback itself (past it, the item is out for good)."""
    return tuple(sorted({timedelta(days=w) for w in windows if w <= lookback_days}
                        | {timedelta(days=lookback_days)}))


def first_crossing(times: Iterable[datetime], now: datetime, edges: Sequence[timedelta]
                   ) -> datetime | None:
    """The first moment from ``now`` on at which one of ``times`` (none later than ``now``,
    none older than the last of ``edges``) grows old enough to reach an edge, changing a
    windowed count; None without times. For each edge, the oldest time still short of it
    gets there first, and a time already past an edge reaches a later one only after it
    reached that one: one look per edge, not one per time."""
    ordered = sorted(times)
    return min((ordered[oldest_short] + edge for edge in edges  # age <= edge: not there yet
                if (oldest_short := bisect_left(ordered, now - edge)) < len(ordered)),
               default=None)
