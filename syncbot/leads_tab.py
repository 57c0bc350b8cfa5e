"""Merging the leads into the Leads tab without disturbing the team's data (SPEC §3).

Pure: from the tab's current values and the leads' new values, decide which
cells to write. Rows are matched by e-mail (case-insensitive), never by
position, so a team that sorted the rows or inserted columns loses nothing;
only syncbot's own columns are written (a ``null`` in a range leaves a cell
as it is); new leads are appended; no row is deleted or moved; missing
syncbot columns are added at the right; a row whose values did not change is
not written at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncbot.a1 import cell as cell_name
from syncbot.a1 import col_letters, quote_title
from syncbot.core.fields import field_kinds
from syncbot.core.values import as_text, is_blank, to_serial
from syncbot.errors import InvalidInputError
from syncbot.text import t

OUTPUT_COLUMNS = ("engagement_score", "fit_score", "score", "tags", "why", "synced_at")
DATE_COLUMNS = ("last_open_at", "last_click_at", "subscribed_at", "synced_at")
MAX_CELL_CHARS = 50_000
BLOCK_ROWS = 1000


def leads_columns(merge_tags: Sequence[str], lookback_days: int) -> list[str]:
    """syncbot's columns in order: email, status, merge tags, the §5 fields, the outputs."""
    fields = [f for f in field_kinds(lookback_days) if f not in ("email", "status")]
    return ["email", "status", *merge_tags, *fields, *OUTPUT_COLUMNS]


def to_cell(value: Any) -> Any:
    """A Python value as a cell: dates as serial numbers, blanks as "", long text cut to fit."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return to_serial(value)
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text[:MAX_CELL_CHARS]


def same(old: Any, new: Any) -> bool:
    """Whether the sheet already shows ``new`` (as read back with UNFORMATTED_VALUE)."""
    if is_blank(new):
        return is_blank(old)
    if isinstance(new, bool) or isinstance(old, bool):
        return old is new
    if isinstance(new, int | float):
        return isinstance(old, int | float) and abs(old - new) <= 1e-9 * max(1.0, abs(new))
    return old == new


@dataclass
class LeadsUpdate:
    data: list[dict[str, Any]] = field(default_factory=list)  # ValueRanges to write RAW
    rows_needed: int = 0
    columns_needed: int = 0
    new_columns: list[str] = field(default_factory=list)
    column_index: dict[str, int] = field(default_factory=dict)
    new_leads: int = 0
    changed_leads: int = 0
    duplicates: list[str] = field(default_factory=list)


def _header_index(tab: str, header: Sequence[Any], columns: Sequence[str]) -> dict[str, int]:
    wanted = {c.casefold(): c for c in columns}
    found: dict[str, int] = {}
    problems = []
    for index, title in enumerate(header):
        name = wanted.get(as_text(title).casefold())
        if name is None:
            continue
        if name in found:
            problems.append(t("sheets.leads_duplicate_header", cell=cell_name(tab, index, 1),
                              column=name, other=cell_name(tab, found[name], 1)))
        else:
            found[name] = index
    if problems:
        raise InvalidInputError(problems)
    return found


def plan_leads(tab: str, current: Sequence[Sequence[Any]], leads: Sequence[Mapping[str, Any]],
               columns: Sequence[str], *, grid_rows: int, grid_columns: int,
               synced_at: datetime) -> LeadsUpdate:
    """The writes that bring the tab in line with ``leads`` (each a column → value mapping)."""
    header = list(current[0]) if current else []
    body = [list(row) for row in current[1:]]
    index = _header_index(tab, header, columns)
    if "email" not in index and any(any(not is_blank(v) for v in row) for row in body):
        raise InvalidInputError([t("sheets.leads_no_email", tab=tab)])
    width = max([len(header)] + [len(row) for row in body])
    update = LeadsUpdate()
    for name in columns:
        if name not in index:
            index[name] = width
            width += 1
            update.new_columns.append(name)
    update.column_index = dict(index)

    rows_of: dict[str, int] = {}
    duplicates: dict[str, None] = {}
    email_col = index["email"]
    for offset, row in enumerate(body):
        key = as_text(row[email_col] if email_col < len(row) else "").lower()
        if not key:
            continue
        if key in rows_of:
            duplicates.setdefault(key)
        else:
            rows_of[key] = offset + 2  # sheet row number
    update.duplicates = list(duplicates)

    stamp = to_serial(synced_at)
    changes: dict[int, dict[int, Any]] = {}  # sheet row → column → value
    next_row = len(body) + 2
    for lead in leads:
        key = as_text(lead.get("email")).lower()
        values = {name: to_cell(lead.get(name)) for name in columns if name != "synced_at"}
        row_number = rows_of.get(key)
        if row_number is None:
            values["synced_at"] = stamp
            changes[next_row] = {index[name]: value for name, value in values.items()}
            rows_of[key] = next_row
            next_row += 1
            update.new_leads += 1
            continue
        row = body[row_number - 2]
        changed = {index[name]: value for name, value in values.items()
                   if not same(row[index[name]] if index[name] < len(row) else None, value)}
        if changed:
            changed[index["synced_at"]] = stamp
            changes[row_number] = changed
            update.changed_leads += 1

    if update.new_columns:
        first = min(index[name] for name in update.new_columns)
        update.data.append({"range": f"{quote_title(tab)}!{col_letters(first)}1",
                            "values": [[name for name in
                                        sorted(update.new_columns, key=index.__getitem__)]]})
    update.data.extend(_blocks(tab, changes))
    update.rows_needed = max(grid_rows, next_row - 1, 1)
    update.columns_needed = max(grid_columns, width)
    return update


def _blocks(tab: str, changes: Mapping[int, Mapping[int, Any]]) -> list[dict[str, Any]]:
    """Consecutive changed rows as one range each (at most BLOCK_ROWS rows), nulls elsewhere."""
    ranges: list[dict[str, Any]] = []
    rows = sorted(changes)
    start = 0
    while start < len(rows):
        end = start
        while (end + 1 < len(rows) and rows[end + 1] == rows[end] + 1
               and end + 1 - start < BLOCK_ROWS):
            end += 1
        block = rows[start:end + 1]
        first_col = min(c for r in block for c in changes[r])
        last_col = max(c for r in block for c in changes[r])
        values = [[changes[r].get(c) for c in range(first_col, last_col + 1)] for r in block]
        ranges.append({"range": f"{quote_title(tab)}!{col_letters(first_col)}{block[0]}:"
                                f"{col_letters(last_col)}{block[-1]}",
                       "majorDimension": "ROWS", "values": values})
        start = end + 1
    return ranges


def duplicates_message(tab: str, duplicates: Sequence[str], shown: int = 3) -> str:
    """For the Runs tab: which addresses appear more than once ("" when none do)."""
    if not duplicates:
        return ""
    return t("sheets.duplicate_leads", count=len(duplicates), tab=tab,
             examples=", ".join(duplicates[:shown]))
