"""Merging the leads into the Leads tab without disturbing the team's data (docs/reference.md, "Leads").

Pure: decides which cells to write, from the tab's header and e-mail column,
what syncbot last wrote there (the ledger kept in the cache) and the leads'
new values. Rows are matched by e-mail (case-insensitive), never by position,
so a team that sorted the rows or inserted columns loses nothing; only
syncbot's own columns are written (a ``null`` in a range leaves a cell as it
is); new leads are appended; no row is deleted or moved; missing syncbot
columns are added at the right; a row whose values did not change is not
written at all.

A row is compared with the ledger only while its ``synced_at`` cell still
shows the stamp the ledger recorded for it; any other row (no ledger, a row
the team restored, pasted or re-typed, ``--full``) is compared with what the
sheet holds, read back for those rows alone.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, NamedTuple, TypeVar

from syncbot.core.fields import field_kinds
from syncbot.core.values import as_text, is_blank, to_serial
from syncbot.errors import InvalidInputError
from syncbot.locales import t
from syncbot.ports import Known, LeadNote, LedgerEntry
from syncbot.sheets.a1 import cell as cell_name
from syncbot.sheets.a1 import col_letters, quote_title, row_runs
from syncbot.sheets.spool import PendingRow, RowSpool, UnverifiedRow
from syncbot.sheets.wire import Encoded, ValueRange

OUTPUT_COLUMNS = ("engagement_score", "fit_score", "score", "score_change_7d", "score_change_30d",
                  "tags", "tags_since", "why", "synced_at")
MAX_CELL_CHARS = 50_000
STAMP_DECIMALS = 6  # a millionth of a day, 0.09 s: 12 characters a row in a request, not 18
BLOCK_ROWS = 1000
GAP_ROWS = 14  # unchanged rows a column's range runs through rather than start another


class WriteRange(NamedTuple):
    """One ValueRange to write (a dict, or its wire JSON already), and how many leads are
    written in full once it is."""

    value_range: ValueRange
    leads: int


def leads_columns(merge_tags: Sequence[str], lookback_days: int, order_days: int | None = None
                  ) -> list[str]:
    """syncbot's columns in order: email, status, merge tags, the §5 fields (the purchase
    fields of §8 with ``order_days``), the outputs."""
    fields = [f for f in field_kinds(lookback_days, order_days) if f not in ("email", "status")]
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


def sync_stamp(moment: datetime) -> float:
    """``synced_at`` as a run writes it and the ledger records it: the serial of ``moment``
    to a millionth of a day. Every changed row carries it, so its length counts: the full
    serial (``46358.759108796294``) was a sixth to a quarter of a cadence run's Leads bytes."""
    return round(to_serial(moment), STAMP_DECIMALS)


def same(old: Any, new: Any) -> bool:
    """Whether the sheet already shows ``new`` (as read back with UNFORMATTED_VALUE)."""
    if is_blank(new):
        return is_blank(old)
    if isinstance(new, bool) or isinstance(old, bool):
        return old is new
    if isinstance(new, int | float):
        return isinstance(old, int | float) and abs(old - new) <= 1e-9 * max(1.0, abs(new))
    return old == new


T = TypeVar("T")
ALL = None  # "every value column" (a new row)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def row_cells(columns: Sequence[str], lead: Mapping[str, Any]) -> list[Any]:
    """A lead's cells in ``columns`` (``Layout.value_columns``): ``to_cell`` of each value,
    numbers and short text passing straight through."""
    out = []
    value: Any
    for value in map(lead.get, columns):
        kind = value.__class__
        if kind is float or kind is int or (kind is str and len(value) <= MAX_CELL_CHARS):
            out.append(value)
        else:
            out.append(to_cell(value))
    return out


def _header_index(tab: str, header: Sequence[Any], columns: Sequence[str],
                  titles: Mapping[str, str]) -> dict[str, int]:
    wanted = {titles.get(c, c).casefold(): c for c in columns}
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


@dataclass(frozen=True)
class Layout:
    """Where each syncbot column is (found by header, or added at the right)."""

    tab: str
    columns: tuple[str, ...]  # syncbot's columns, ``synced_at`` last
    index: dict[str, int]
    new_columns: tuple[str, ...]
    width: int  # columns in use once the new ones are added
    titles: Mapping[str, str] = field(default_factory=dict)  # column → header, if not its name

    def title(self, column: str) -> str:
        """The header a new column gets (in the sheet's language)."""
        return self.titles.get(column, column)

    @property
    def value_columns(self) -> tuple[str, ...]:
        return self.columns[:-1]

    @property
    def read_width(self) -> int:
        """Columns to read back to see every existing syncbot cell."""
        return max((i for n, i in self.index.items() if n not in self.new_columns), default=0) + 1


def plan_layout(tab: str, header: Sequence[Any], columns: Sequence[str], *, width: int,
                titles: Mapping[str, str] = {}) -> Layout:
    """``width``: columns the tab already uses (its header may be shorter than its rows).
    ``titles``: the columns' headers in the sheet's language, where not their own names
    (``clicks_30d`` is ``clics_30d`` in a Spanish sheet). Only those are syncbot's: a team's
    column "estado" in an English sheet is the team's, never taken for ``status``."""
    if columns[-1] != "synced_at":
        raise ValueError("synced_at must be the last column")
    index = _header_index(tab, header, columns, titles)
    width = max(width, len(header))
    new = []
    for name in columns:
        if name not in index:
            index[name] = width
            width += 1
            new.append(name)
    return Layout(tab, tuple(columns), index, tuple(new), width, dict(titles))


class Highest(Generic[T]):
    """The ``size`` items offered with the highest scores (equal scores: the earlier wins),
    kept in a heap so any number can be offered."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._heap: list[tuple[float, int, T]] = []
        self._offered = 0

    def wants(self, score: float) -> bool:
        """Whether an item with ``score`` would be kept (so callers build it only then)."""
        return len(self._heap) < self.size or score > self._heap[0][0]

    def offer(self, score: float, item: T) -> None:
        if not self.wants(score):
            return
        self._offered += 1
        entry = (score, -self._offered, item)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heappushpop(self._heap, entry)

    def items(self) -> list[T]:
        """Highest score first."""
        return [item for _, _, item in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]


class Compared(NamedTuple):
    """A recomputed lead's cells against its ledger entry (``Comparison``), worked out where
    the lead was evaluated (a worker process, often), so that the run's own process only
    files the result."""

    synced_at: float | None  # the entry's ``synced_at``: whether the row still shows it
    changed: tuple[int, ...] | None  # the cells that differ; None: the very cells of the entry
    tags_before: str | None  # the entry's tags cell, when the tags changed (the plan shows it)


@dataclass(frozen=True)
class Comparison:
    """How a run compares a lead's cells with its ledger entry: ``value_columns`` in order,
    ``blank`` the positions of the columns the tab has yet to get (empty in the sheet,
    whatever the ledger says)."""

    value_columns: tuple[str, ...]
    blank: frozenset[int] = frozenset()

    def __call__(self, cells: Sequence[Any] | None, text: str, known: Known) -> Compared:
        """``cells`` (or, if None, ``text`` decoded) against ``known``."""
        if known.cells == text and not self.blank:
            return Compared(known.synced_at, None, None)
        old = json.loads(known.cells)
        for i in self.blank:
            old[i] = None
        return self.between(old, json.loads(text) if cells is None else cells, known.synced_at)

    def between(self, old: Sequence[Any], new: Sequence[Any], synced_at: float | None = None
                ) -> Compared:
        """``new`` cells against ``old`` ones (a ledger entry's, or a row as the sheet shows
        it), cell by cell."""
        return Compared(synced_at, changed_cells(old, new), self._tags_before(old, new))

    @cached_property
    def _tags_at(self) -> int | None:
        """Where the tags cell is (found once: every lead with a changed cell asks)."""
        return self.value_columns.index("tags") if "tags" in self.value_columns else None

    def _tags_before(self, old: Sequence[Any], new: Sequence[Any]) -> str | None:
        """The tags cell of ``old`` (as text) if ``new`` changes it; else None."""
        at = self._tags_at
        if at is None:
            return None
        before = as_text(old[at]) if at < len(old) else ""
        return None if before == new[at] else before


def changed_cells(old: Sequence[Any], new: Sequence[Any]) -> tuple[int, ...]:
    """The positions where ``new`` differs from ``old`` as the sheet shows them (``same``)."""
    known = len(old)
    return tuple(i for i, value in enumerate(new)  # most cells are the same object type
                 if i >= known or old[i] != value or old[i].__class__ is not value.__class__
                 if not same(old[i] if i < known else None, value))


@dataclass
class SampleLead:
    """A lead shown in the plan: its tags before and after, its score and why."""

    email: str
    before: str
    after: str
    score: float
    why: str


class LeadsDiff:
    """The Leads writes of one run, built lead by lead while the leads are computed.

    ``emails`` and ``stamps`` are the tab's e-mail and ``synced_at`` cells (rows 2…);
    ``rows_in_use`` the last row anyone uses (new leads go below it), or how to find it out:
    called once, when the first new lead comes (a run with none need not look). Each lead
    comes through
    ``add`` (recomputed) or ``reuse`` (the ledger's values) with its ledger entry; unless
    ``trust_ledger`` is off, a row whose ``synced_at`` matches the entry is compared with it,
    and any other row is listed by ``unverified_rows`` and compared with the sheet's cells by
    ``settle``. Then ``ranges`` gives the writes and ``ledger_entries`` what to remember.
    The rows in between wait in a ``RowSpool`` (on disk, not in memory); ``close`` when done.
    Where the new rows may be written before every lead is scored, ``pour_new`` hands them
    on as they come, and ``ranges`` leaves them out.
    """

    def __init__(self, layout: Layout, emails: Sequence[Any], stamps: Sequence[Any], *,
                 trust_ledger: bool, rows_in_use: int | Callable[[], int] = 0,
                 sample_size: int = 5) -> None:
        self.layout = layout
        self.trust_ledger = trust_ledger
        columns = layout.value_columns
        self._positions = [layout.index[name] for name in columns]
        # how this run's leads are compared with their ledger entries (``add``)
        self.comparison = Comparison(tuple(columns), frozenset(
            i for i, name in enumerate(columns) if name in layout.new_columns))
        self._at = {name: i for i, name in enumerate(columns)}
        self.rows_of: dict[str, int] = {}
        duplicates: dict[str, None] = {}
        for offset, value in enumerate(emails):
            key = as_text(value).lower()
            if not key:
                continue
            if key in self.rows_of:
                duplicates.setdefault(key)
            else:
                self.rows_of[key] = offset + 2  # sheet row number
        self.duplicates = list(duplicates)
        self.leads_in_sheet = len(self.rows_of)
        self._stamps = stamps
        self._emails = len(emails)
        self._rows_in_use = rows_in_use
        self._next_row: int | None = None  # where the next new lead goes, once one came
        # the rows to write, those to compare with the sheet, and the unchanged rows whose
        # ledger entry gets a new note
        self.spool = RowSpool()
        self.new_leads = 0
        self.changed_leads = 0
        self.samples: Highest[SampleLead] = Highest(sample_size)
        self._outlet: Callable[[list[PendingRow]], None] | None = None
        self._outlet_through = 0  # the last row ``pour_new`` reserved
        self._poured: list[PendingRow] = []  # new rows not yet a whole block
        self.poured_through = 0  # the last new row handed to the outlet (0: none)
        self.poured = 0  # how many rows it was handed
        self.columns_poured = False  # whether the new columns' headers went with them

    # ---- lead by lead ---------------------------------------------------------------------

    def add(self, key: str, cells: list[Any] | None, text: str, compared: Compared | None,
            note: LeadNote) -> None:
        """One recomputed lead: its ``row_cells`` in ``layout.value_columns`` (None: decoded
        from ``text`` where needed) and their ``to_json`` (made where it was evaluated:
        ``syncbot.evaluation``); ``compared``: against its ledger entry by ``comparison``
        (None: it has none, or the ledger is not trusted); ``note`` is stored with it in the
        ledger."""
        self._add(key, text, cells, compared, note, recomputed=True)

    def reuse(self, key: str, known: Known, note: LeadNote) -> None:
        """A lead whose values are the ledger's (nothing it depends on changed)."""
        self._add(key, known.cells, None, self.comparison(None, known.cells, known), note,
                  recomputed=False)

    def _add(self, key: str, text: str, cells: list[Any] | None, compared: Compared | None,
             note: LeadNote, *, recomputed: bool) -> None:
        row = self.rows_of.get(key)
        if row is None:
            self.rows_of[key] = row = self._new_row()
            self.new_leads += 1
            pending = PendingRow(row, key, text, ALL, note)
            self.spool.add_pending(pending)  # the ledger learns it from there
            if row <= self._outlet_through:
                self._pour(pending)
            self._sample("", text, cells)
            return
        stamp = self._stamps[row - 2] if row - 2 < len(self._stamps) else None
        if not (self.trust_ledger and compared is not None
                and _vouches(compared.synced_at, stamp)):
            self.spool.add_unverified(UnverifiedRow(row, key, text, note))
            return
        if compared.changed is None:
            if recomputed:
                self.spool.add_kept(LedgerEntry.of(key, Known(text, compared.synced_at), note))
        else:
            self._file(row, key, text, cells, stamp, note, compared)

    def _file(self, row: int, key: str, text: str, cells: Sequence[Any] | None, stamp: Any,
              note: LeadNote, compared: Compared) -> None:
        """A lead whose row showed ``compared``'s cells: written where they changed, kept
        (with the row's ``stamp``) where they did not."""
        if compared.changed:
            self.spool.add_pending(PendingRow(row, key, text, compared.changed, note))
            self.changed_leads += 1
            if compared.tags_before is not None:
                self._sample(compared.tags_before, text, cells)
        else:
            self.spool.add_kept(LedgerEntry.of(
                key, Known(text, stamp if _is_number(stamp) else None), note))

    def _sample(self, before: str, text: str, cells: Sequence[Any] | None) -> None:
        """Keep the highest-scoring leads whose tags change (from ``before``), for the plan's
        sample; ``cells`` decoded from ``text`` only for those."""
        tags = self._at.get("tags")
        if tags is None:
            return
        if cells is None:
            cells = json.loads(text)
        if before == cells[tags]:
            return
        score = cells[self._at["score"]]
        rank = score if isinstance(score, int | float) else 0.0
        if self.samples.wants(rank):
            self.samples.offer(rank, SampleLead(cells[self._at["email"]], before, cells[tags],
                                                score, cells[self._at["why"]]))

    # ---- new rows before every lead is scored ---------------------------------------------

    def pour_new(self, count: int, outlet: Callable[[list[PendingRow]], None]) -> None:
        """Hand the next ``count`` new leads' rows to ``outlet`` as they come, a block of
        ``BLOCK_ROWS`` consecutive rows at a time (``end_pour`` gives the last, shorter one),
        and leave them out of ``ranges``. For a run that may write before it has scored
        every lead: the first sync, when nobody can lose a tag. New rows are numbered as
        they come, so those handed on are the first ``count``; any further new lead is
        written by ``ranges`` as usual."""
        if count > 0:
            self._outlet = outlet
            self._outlet_through = self._first_new_row() + count - 1
            self.columns_poured = bool(self.layout.new_columns)

    def rows_with(self, new_leads: int) -> int:
        """The rows the grid needs once ``new_leads`` more new leads came."""
        if new_leads <= 0:
            return self.rows_needed
        return max(self.rows_needed, self._first_new_row() + new_leads - 1)

    def _pour(self, pending: PendingRow) -> None:
        self._poured.append(pending)
        if len(self._poured) >= BLOCK_ROWS:
            self._hand_on()

    def _hand_on(self) -> None:
        block, self._poured = self._poured, []
        if block and self._outlet is not None:
            self._outlet(block)
            self.poured_through, self.poured = block[-1].row, self.poured + len(block)

    def end_pour(self) -> None:
        """Hand on the new rows that make no whole block, and stop pouring."""
        self._hand_on()
        self._outlet, self._outlet_through = None, 0

    def headers_range(self) -> WriteRange | None:
        """The new columns' headers, to write before any row (None: no column is new)."""
        layout = self.layout
        if not layout.new_columns:
            return None
        first = min(layout.index[name] for name in layout.new_columns)
        return WriteRange({"range": f"{quote_title(layout.tab)}!{col_letters(first)}1",
                           "values": [[layout.title(name) for name in
                                       sorted(layout.new_columns, key=layout.index.__getitem__)]]},
                          0)

    def new_rows_range(self, block: Sequence[PendingRow], synced_at: datetime) -> WriteRange:
        """Consecutive new rows (whole: every value column and ``synced_at``) as one range:
        where syncbot's columns sit side by side with ``synced_at`` last (as ``init`` lays
        them out), made straight from the rows' JSON text (``_joined_rows``)."""
        stamp, stamp_at = sync_stamp(synced_at), self.layout.index["synced_at"]
        if self._side_by_side:
            joined = _joined_rows(self.layout.tab, self._positions[0], len(self._positions),
                                  block, stamp)
            if joined is not None:
                return WriteRange(joined, len(block))
        positions = self._positions
        changes = {}
        for pending in block:
            cells = json.loads(pending.text)
            changes[pending.row] = dict(zip(positions, cells, strict=False))
            changes[pending.row][stamp_at] = stamp
        return WriteRange(_block(self.layout.tab, changes), len(block))

    @cached_property
    def _side_by_side(self) -> bool:
        """Whether the value columns are next to each other in order, ``synced_at`` after."""
        first = self._positions[0]
        return self._positions + [self.layout.index["synced_at"]] == \
            list(range(first, first + len(self._positions) + 1))

    # ---- rows the ledger does not vouch for -----------------------------------------------

    def unverified_rows(self) -> list[int]:
        return self.spool.unverified_rows()

    def settle(self, rows: Mapping[int, Sequence[Any]]) -> None:
        """Compare unverified rows with their current cells (row number → the row's cells,
        read from column A)."""
        stamp_at = self.layout.index["synced_at"]
        for row, key, text, note in self.spool.take_unverified(list(rows)):
            current = rows[row]
            old = [current[p] if p < len(current) else None for p in self._positions]
            stamp = current[stamp_at] if stamp_at < len(current) else None
            cells = json.loads(text)
            self._file(row, key, text, cells, stamp, note, self.comparison.between(old, cells))

    # ---- results --------------------------------------------------------------------------

    def _first_new_row(self) -> int:
        """Where the next new lead goes: below the last e-mail and below anything in use
        (found out the first time a run asks)."""
        if self._next_row is None:
            in_use = self._rows_in_use() if callable(self._rows_in_use) else self._rows_in_use
            self._next_row = max(self._emails, in_use - 1) + 2
        return self._next_row

    def _new_row(self) -> int:
        row = self._first_new_row()
        self._next_row = row + 1
        return row

    @property
    def rows_needed(self) -> int:
        """The rows the grid needs: through the last new lead, or the last e-mail."""
        return (self._emails + 2 if self._next_row is None else self._next_row) - 1

    def sample(self) -> list[SampleLead]:
        return self.samples.items()

    def ranges(self, synced_at: datetime) -> Iterator[WriteRange]:
        """The ValueRanges to write RAW: new column headers, then the new rows in blocks of
        whole rows, then the changed cells of the other rows column by column (see
        ``_changed_cells``), each with how many leads it finishes (for a progress meter).
        What ``pour_new`` handed on is left out."""
        headers = None if self.columns_poured else self.headers_range()
        if headers is not None:
            yield headers
        new_rows = (pending for pending in self.spool.pending(new=True)
                    if pending.row > self.poured_through)
        for block in _blocks(new_rows, consecutive=True):
            yield self.new_rows_range(block, synced_at)
        stamp, stamp_at = sync_stamp(synced_at), self.layout.index["synced_at"]
        for window in _blocks(self.spool.pending(new=False), consecutive=False):
            yield from self._changed_cells(window, stamp, stamp_at)

    def _changed_cells(self, rows: Sequence[PendingRow], stamp: float, stamp_at: int
                       ) -> Iterator[WriteRange]:
        """The changed cells of ``rows`` (at most ``BLOCK_ROWS`` apart), one column at a time,
        ``synced_at`` last. At the cadence of a schedule most changed rows change two or three
        cells far apart (a decayed sum, a day count), so a range of whole rows would be mostly
        nulls; a column's run of changed cells carries only the values and the few unchanged
        rows between them (``GAP_ROWS``). ``synced_at`` goes last so that a write cut short
        never stamps a row whose values did not reach the sheet."""
        by_column: dict[int, list[tuple[int, Any]]] = {}
        for pending in rows:
            cells = json.loads(pending.text)
            for i in pending.changed or ():
                by_column.setdefault(self._positions[i], []).append((pending.row, cells[i]))
        tab = self.layout.tab
        for column in sorted(by_column):
            for run in _column_runs(tab, column, by_column[column]):
                yield WriteRange(run, 0)
        for run in _column_runs(tab, stamp_at, [(pending.row, stamp) for pending in rows]):
            yield WriteRange(run, sum(value is not None for value in run["values"][0]))

    def ledger_entries(self, synced_at: datetime) -> Iterator[LedgerEntry]:
        """What the ledger must learn once ``ranges`` were written: (key, cells, synced_at,
        *note) for every row written and every recomputed row found unchanged."""
        stamp = sync_stamp(synced_at)
        for new in (True, False):
            for pending in self.spool.pending(new=new):
                yield LedgerEntry.of(pending.key, Known(pending.text, stamp), pending.note)
        yield from self.spool.kept()

    def close(self) -> None:
        """Let go of the spooled rows (their temporary file goes with them)."""
        self.spool.close()


def _blocks(rows: Iterable[PendingRow], *, consecutive: bool) -> Iterator[list[PendingRow]]:
    """Rows (by row number) in blocks spanning at most ``BLOCK_ROWS`` rows; ``consecutive``:
    a block also ends where a row is missing (new rows go as whole ranges, with no gaps)."""
    block: list[PendingRow] = []
    for pending in rows:
        if block and (pending.row - block[0].row >= BLOCK_ROWS
                      or consecutive and pending.row != block[-1].row + 1):
            yield block
            block = []
        block.append(pending)
    if block:
        yield block


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _vouches(recorded: float | None, stamp: Any) -> bool:
    """Whether a row's ``synced_at`` cell shows the stamp the ledger recorded for it. A blank
    stamp proves nothing (a row typed in by hand has one), so it never vouches."""
    return recorded is not None and _is_number(stamp) and same(stamp, recorded)


def _column_runs(tab: str, column: int, cells: Sequence[tuple[int, Any]]
                 ) -> Iterator[dict[str, Any]]:
    """One column's cells (row, value; rows ascending) as ranges of that column, running
    through gaps of at most ``GAP_ROWS`` unchanged rows as nulls (which leave a cell as it
    is): a null costs 5 bytes of JSON, another range about 70."""
    letters = col_letters(column)
    values = dict(cells)
    for first, last in row_runs(values, BLOCK_ROWS, gap=GAP_ROWS):
        yield _column_range(tab, letters, first, [values.get(row) for row in
                                                  range(first, last + 1)])


def _column_range(tab: str, letters: str, first: int, values: list[Any]) -> dict[str, Any]:
    """One column's run; a single cell goes as just that cell, 34 bytes shorter (at a
    schedule's cadence almost half the runs are one changed cell, most of them in the
    columns few leads change in: a click count, a date)."""
    if len(values) == 1:
        return {"range": f"{quote_title(tab)}!{letters}{first}", "values": [values]}
    return {"range": f"{quote_title(tab)}!{letters}{first}:{letters}{first + len(values) - 1}",
            "majorDimension": "COLUMNS", "values": [values]}


def _block(tab: str, changes: Mapping[int, Mapping[int, Any]]) -> dict[str, Any]:
    """Consecutive rows as one range, nulls where a cell stays as it is."""
    rows = sorted(changes)
    first_col = min(c for r in rows for c in changes[r])
    last_col = max(c for r in rows for c in changes[r])
    values = [[changes[r].get(c) for c in range(first_col, last_col + 1)] for r in rows]
    return {"range": f"{quote_title(tab)}!{col_letters(first_col)}{rows[0]}:"
                     f"{col_letters(last_col)}{rows[-1]}",
            "majorDimension": "ROWS", "values": values}


def _joined_rows(tab: str, first: int, width: int, block: Sequence[PendingRow], stamp: float
                 ) -> Encoded | None:
    """Consecutive new rows whose ``width`` cells are side by side from column ``first``,
    ``synced_at`` after them, as the wire JSON of one ValueRange, made by joining each row's JSON text (made
    by ``to_json``, compact and in UTF-8 as the wire is) with the stamp: a new row is neither
    decoded nor encoded again, which was most of the work of writing it. None when a row's
    text may hold a number JSON cannot carry (NaN, Infinity: ``_block`` then refuses it)."""
    texts = [pending.text for pending in block]
    if any("NaN" in text or "Infinity" in text for text in texts):
        return None
    ending = "," + to_json(stamp) + "]"
    a1 = (f"{quote_title(tab)}!{col_letters(first)}{block[0].row}:"
          f"{col_letters(first + width)}{block[-1].row}")
    rows = ",".join(text[:-1] + ending for text in texts)
    return Encoded(f'{{"range":{to_json(a1)},"majorDimension":"ROWS","values":[{rows}]}}'
                   .encode())


def duplicates_message(tab: str, duplicates: Sequence[str], shown: int = 3) -> str:
    """For the Runs tab: which addresses appear more than once ("" when none do)."""
    if not duplicates:
        return ""
    return t("sheets.duplicate_leads", count=len(duplicates), tab=tab,
             examples=", ".join(duplicates[:shown]))
