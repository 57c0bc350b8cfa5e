"""The team's own data, read for the rules that name it (docs/reference.md, "Your own columns
and tabs").

Every team column the rules name is read unformatted (numbers as numbers, checkboxes as
booleans, dates as serial numbers) in the ``values:batchGet`` that reads the Leads e-mails
(``plan_inputs`` gives the ranges, ``InputsRead.join`` the values): a Leads column beside
the rows' e-mails, and for each ``[sources]`` tab its e-mail column and the named columns. A
source tab is joined by e-mail (case-insensitive, spaces ignored): a lead's value is the one
in the tab's bottom-most row for its address, ``Tab!count`` how many rows it has. Rows
without a valid address are skipped and counted; a formula error (``#N/A``, ``#REF!``…)
reads as blank and is counted. Nothing is ever written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncbot.core.inputs import COUNT, TeamColumn
from syncbot.core.values import as_text, is_blank
from syncbot.ports import Ambiguous, ColumnRead, TeamInputs
from syncbot.sheets.a1 import cell

ERROR_VALUES = frozenset({  # as a sheet shows them, in English and in a Spanish sheet
    "#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#ERROR!", "#SPILL!",
    "#CALC!", "Loading...",
    "#¡REF!", "#¡VALOR!", "#¡DIV/0!", "#¿NOMBRE?", "#¡NUM!", "#¡NULO!", "#¡ERROR!",
    "#¡DESBORDAMIENTO!", "#¡CALC!", "Cargando..."})
EMAIL_WORDS = ("email", "e-mail", "correo")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_column(header: Sequence[Any]) -> int | None:
    """The first header containing "email", "e-mail" or "correo" (Google Forms: "Email
    Address", "Dirección de correo electrónico"), or None."""
    for index, title in enumerate(header):
        text = as_text(title).casefold()
        if any(word in text for word in EMAIL_WORDS):
            return index
    return None


def _columns_named(header: Sequence[Any], name: str) -> list[int]:
    """The columns whose header is ``name``, ignoring case, left to right."""
    folded = name.casefold()
    return [i for i, title in enumerate(header) if as_text(title).casefold() == folded]


def header_index(header: Sequence[Any], name: str) -> int:
    """Where the header ``name`` (as the rules resolved it) is: the first such column."""
    return _columns_named(header, name)[0]


def _ambiguous(tab: str, header: Sequence[Any], names: Sequence[str], found: TeamInputs) -> None:
    """Note each named header that more than one column of ``tab`` carries (the rules read
    the first), so the run's message can say which column counts."""
    for name in names:
        same = _columns_named(header, name)
        if len(same) > 1:
            found.ambiguous.append(Ambiguous(tab, name, cell(tab, same[0], 1)))


@dataclass(frozen=True)
class _Read:
    """One range of the read: which column of which tab, and the field it feeds."""

    tab: str
    column: int
    field: str | None  # None: a source tab's e-mail column
    in_leads: bool = False


def _plan(columns: Sequence[TeamColumn], leads_header: Sequence[Any],
          sources: Mapping[str, Sequence[Any]]) -> list[_Read]:
    reads = [_Read(c.tab, header_index(leads_header, c.header), c.field, in_leads=True)
             for c in columns if c.in_leads]
    for tab in _source_tabs(columns):
        header = sources[tab]
        email = email_column(header)
        assert email is not None, "read_spreadsheet refuses a source tab without one"
        reads.append(_Read(tab, email, None))
        reads += [_Read(tab, header_index(header, c.header), c.field) for c in columns
                  if c.tab == tab and not c.in_leads and not c.is_count]
    return reads


def _source_tabs(columns: Sequence[TeamColumn]) -> list[str]:
    return list(dict.fromkeys(c.tab for c in columns if not c.in_leads))


@dataclass(frozen=True)
class InputsRead:
    """A read of the team's columns the rules name: the ranges to ask for (they go into the
    same ``values:batchGet`` as the Leads tab's e-mails, see ``sheets.tabs.prepare_leads``)
    and how their answers become each lead's values."""

    columns: tuple[TeamColumn, ...]
    reads: tuple[_Read, ...]
    leads_header: tuple[Any, ...]
    sources: Mapping[str, Sequence[Any]]

    @property
    def to_read(self) -> list[ColumnRead]:
        """One whole column (below the header) per read; none when the rules name no team
        column."""
        return [ColumnRead(r.tab, r.column) for r in self.reads]

    def join(self, answers: Sequence[list[list[Any]]], rows_of: Mapping[str, int]
             ) -> TeamInputs:
        """The values of the columns for every lead: ``answers`` are the ranges' values, in
        order; ``rows_of`` says which Leads row is which lead (key → sheet row)."""
        columns = self.columns
        found = TeamInputs(tuple(c.field for c in columns))
        for tab, header in ((c.tab, self.leads_header if c.in_leads else self.sources[c.tab])
                            for c in columns if not c.is_count):
            _ambiguous(tab, header,
                       [c.header for c in columns if c.tab == tab and not c.is_count], found)
        read = [(r, _cells(values, r.tab, found))
                for r, values in zip(self.reads, answers, strict=True)]
        _join_leads([(r, v) for r, v in read if r.in_leads], rows_of, found)
        for tab in _source_tabs(columns):
            counted = any(c.tab == tab and c.is_count for c in columns)
            _join_source(tab, [(r, v) for r, v in read if r.tab == tab and not r.in_leads],
                         counted, found)
        return found


def plan_inputs(columns: Sequence[TeamColumn], *, leads_header: Sequence[Any],
                sources: Mapping[str, Sequence[Any]]) -> InputsRead:
    """What reading ``columns`` takes: ``sources`` gives each source tab's header row."""
    reads = _plan(columns, leads_header, sources) if columns else []
    return InputsRead(tuple(columns), tuple(reads), tuple(leads_header), sources)


def _cells(rows: list[list[Any]], tab: str, found: TeamInputs) -> list[Any]:
    """One column's cells as a rule sees them: blank text and formula errors are None (the
    errors counted)."""
    out: list[Any] = [row[0] if row else None for row in rows]
    for index, value in enumerate(out):
        if type(value) is not str:
            continue
        if value.strip() in ERROR_VALUES:
            found.error_cells[tab] = found.error_cells.get(tab, 0) + 1
            out[index] = None
        elif is_blank(value):
            out[index] = None
    return out


def _join_leads(reads: list[tuple[_Read, list[Any]]], rows_of: Mapping[str, int],
                found: TeamInputs) -> None:
    for read, values in reads:
        field, height = read.field or "", len(values)
        for key, row in rows_of.items():
            if row - 2 < height and (value := values[row - 2]) is not None:
                lead = found.values.get(key)
                if lead is None:
                    found.values[key] = {field: value}
                else:
                    lead[field] = value


def _join_source(tab: str, reads: list[tuple[_Read, list[Any]]], counted: bool,
                 found: TeamInputs) -> None:
    """Bottom-most row wins; a row with something in it but no valid address is skipped."""
    [emails] = [values for read, values in reads if read.field is None]
    named = [(read.field or "", values) for read, values in reads if read.field is not None]
    height = max([len(emails), *(len(values) for _, values in named)])
    counts: dict[str, int] = {}
    for index in range(height):
        row = [values[index] if index < len(values) else None for _, values in named]
        address = as_text(emails[index] if index < len(emails) else None).lower()
        if not _EMAIL.match(address):
            if address or any(v is not None for v in row):
                found.skipped_rows[tab] = found.skipped_rows.get(tab, 0) + 1
            continue
        lead = found.values.setdefault(address, {})
        for (field, _), value in zip(named, row, strict=True):
            if value is None:
                lead.pop(field, None)  # the bottom-most row's value, blank included
            else:
                lead[field] = value
        counts[address] = counts.get(address, 0) + 1
    if counted:
        for address, count in counts.items():
            found.values[address][f"{tab}!{COUNT}"] = count
