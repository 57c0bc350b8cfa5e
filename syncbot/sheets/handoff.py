"""The Hand-off tab: the rows syncbot appends when it hands a lead to sales, and what sales
made of each (docs/reference.md, "Handing leads to sales").

syncbot's columns are ``handed_off_at, email, name, company, score, tags, why``; Owner,
Status and Outcome are sales' own (Status has a dropdown). Columns are found by their
headers, in either language, wherever the team moved them. A row is written once, under
the last row in use, at an explicit row (a retried write cannot add it twice), and never
rewritten; only syncbot's columns and Status (``new``) of the new rows are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from syncbot.core.handoff import (
    HANDOFF_STATUSES,
    NEW,
    HandoffLead,
    HandoffRecord,
    latest_records,
)
from syncbot.core.values import as_text, is_blank, parse_number, to_serial
from syncbot.core.vocabulary import fold
from syncbot.locales import rule_vocabulary, t
from syncbot.sheets.a1 import cell
from syncbot.sheets.client import Grid, SheetSetupError, Tab
from syncbot.sheets.language import HANDOFF, SYNCBOT, SheetLanguage, languages
from syncbot.sheets.leads import to_cell
from syncbot.sheets.tabs import SheetData, append_rows, load_templates, make_tab

STATUS = "Status"
NEEDED = ("handed_off_at", "email")  # without these, a row says nothing


@cache
def _columns() -> dict[str, str]:
    """Every language's header of each Hand-off column (folded) → the column's English name."""
    columns = load_templates(SYNCBOT)["Handoff"].columns
    return {fold(language.title(name)): name for language in languages() for name in columns}


@cache
def _status_words() -> dict[str, str]:
    """A Status as typed (folded, in either language) → syncbot's word for it."""
    return {**{fold(word): word for word in HANDOFF_STATUSES},
            **rule_vocabulary().handoff_statuses}


@dataclass(frozen=True)
class HandoffTab:
    """The Hand-off tab as this run read it."""

    tab: Tab
    column: dict[str, int]  # each of syncbot's columns and Status → where it is
    records: list[HandoffRecord]
    used_rows: int  # rows in use, the header included

    def statuses(self) -> dict[str, str]:
        """Each handed-off lead's Status in its latest row (the ``handoff_status`` field)."""
        return {key: record.status for key, record in latest_records(self.records).items()
                if record.status}


def read_handoff(data: SheetData) -> HandoffTab | None:
    """The Hand-off tab, if the spreadsheet has one; a tab whose header lost the e-mail or
    the date column is refused (SheetSetupError), since no row of it could be told apart."""
    tab = data.tabs.get("Handoff")
    if tab is None:
        return None
    rows = data.handoff_rows
    header = rows[0] if rows else []
    column: dict[str, int] = {}
    for index, title in enumerate(header):
        name = _columns().get(fold(as_text(title)))
        if name is not None:
            column.setdefault(name, index)
    if rows and any(name not in column for name in NEEDED):
        missing = [data.language.title(name) for name in NEEDED if name not in column]
        raise SheetSetupError([t("handoff.missing_header", tab=tab.title,
                                 columns=", ".join(missing), cell=cell(tab.title, 0, 1))])
    records = [_record(row, number, column) for number, row in enumerate(rows[1:], start=2)]
    used = max([number for number, row in enumerate(rows, start=1)
                if any(not is_blank(value) for value in row)], default=0)
    return HandoffTab(tab, column, [record for record in records if record is not None], used)


def _record(row: Sequence[Any], number: int, column: Mapping[str, int]) -> HandoffRecord | None:
    def value(name: str) -> Any:
        index = column.get(name)
        return row[index] if index is not None and index < len(row) else None

    key = as_text(value("email")).lower()
    if "@" not in key:
        return None
    status = as_text(value(STATUS))
    return HandoffRecord(key, parse_number(value("handed_off_at")),
                         _status_words().get(fold(status), status), number)


def ensure_handoff_tab(workbook: Grid, data: SheetData, name: str | None) -> HandoffTab:
    """The Hand-off tab, made now (as ``init`` makes it) when the spreadsheet has none."""
    found = read_handoff(data)
    if found is not None:
        return found
    language = data.language
    template = load_templates(language.code)["Handoff"]
    tab = make_tab(workbook, data.found, name or language.tab_names[HANDOFF[1]], template)
    return HandoffTab(tab, {name: i for i, name in enumerate(template.columns)}, [], 1)


def append_handoffs(workbook: Grid, handoff: HandoffTab, leads: Sequence[HandoffLead],
                    handed_off_at: datetime, language: SheetLanguage) -> HandoffTab:
    """One new row per lead under the tab's last row in use, Status ``new``; returns the tab
    as it is now."""
    status = language.handoff_statuses.get(NEW, NEW)
    rows = [_row(lead, handed_off_at, status, handoff.column) for lead in leads]
    template = load_templates(language.code)["Handoff"]
    append_rows(workbook, handoff.tab, handoff.used_rows, rows, template, handoff.column)
    at = to_serial(handed_off_at)
    added = [HandoffRecord(lead.key, at, NEW, handoff.used_rows + number)
             for number, lead in enumerate(leads, start=1)]
    return replace(handoff, records=handoff.records + added,
                   used_rows=handoff.used_rows + len(leads))


def _row(lead: HandoffLead, at: datetime, status: str, column: Mapping[str, int]
         ) -> dict[int, Any]:
    values = {"handed_off_at": to_serial(at), "email": lead.email, "name": lead.name,
              "company": lead.company, "score": lead.score, "tags": lead.tags, "why": lead.why,
              STATUS: status}
    return {column[name]: to_cell(value) for name, value in values.items() if name in column}
