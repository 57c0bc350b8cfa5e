"""The rows a run will write to Leads or teach the ledger, kept on disk instead of in memory.

Between scoring a lead and writing its row, a run holds the row's cells (as JSON text) and
the note the ledger keeps with it: about a kilobyte a lead as Python objects, so a full sync
of 225,000 leads held more than 200 MB of them. ``RowSpool`` keeps them in a private
temporary SQLite file instead (SQLite deletes it when the spool is closed, or when the
process ends), buffering a few thousand at a time, and gives them back in row order, the
order the writes go in. Memory then stays flat however large the audience.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from syncbot.ports import LeadNote, LedgerEntry

BUFFERED = 2000  # rows held in memory before they go to the file


class PendingRow(NamedTuple):
    """A row to write: a new lead (``changed`` None: every cell) or the cells that changed."""

    row: int
    key: str
    text: str  # the row's cells, as JSON
    changed: tuple[int, ...] | None
    note: LeadNote


class UnverifiedRow(NamedTuple):
    """A row the ledger cannot vouch for, waiting to be compared with the sheet's cells."""

    row: int
    key: str
    text: str
    note: LeadNote


_NOTE = "stable_until REAL, status TEXT, email TEXT, tags TEXT, score REAL, inputs TEXT, topics TEXT"
_SCHEMA = f"""
CREATE TABLE pending (row INTEGER PRIMARY KEY, key TEXT, text TEXT, changed TEXT, {_NOTE});
CREATE TABLE unverified (row INTEGER PRIMARY KEY, key TEXT, text TEXT, {_NOTE});
CREATE TABLE kept (key TEXT, cells TEXT, synced_at REAL, {_NOTE});
"""


def _changed_text(changed: tuple[int, ...] | None) -> str | None:
    return None if changed is None else ",".join(map(str, changed))


def _changed(text: str | None) -> tuple[int, ...] | None:
    return None if text is None else tuple(int(i) for i in text.split(",") if i)


class RowSpool:
    """Pending, unverified and kept rows of one run, in a temporary file (see the module)."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # "": a private temporary database on disk
        self.db.executescript(_SCHEMA)
        self._pending: list[tuple[object, ...]] = []
        self._unverified: list[tuple[object, ...]] = []
        self._kept: list[tuple[object, ...]] = []

    def close(self) -> None:
        self.db.close()

    # ---- in ---------------------------------------------------------------------------------

    def add_pending(self, row: PendingRow) -> None:
        self._pending.append((row.row, row.key, row.text, _changed_text(row.changed), *row.note))
        if len(self._pending) >= BUFFERED:
            self._flush()

    def add_unverified(self, row: UnverifiedRow) -> None:
        self._unverified.append((row.row, row.key, row.text, *row.note))
        if len(self._unverified) >= BUFFERED:
            self._flush()

    def add_kept(self, entry: LedgerEntry) -> None:
        self._kept.append(tuple(entry))
        if len(self._kept) >= BUFFERED:
            self._flush()

    def _flush(self) -> None:
        for table, rows in (("pending", self._pending), ("unverified", self._unverified),
                            ("kept", self._kept)):
            if rows:
                self.db.executemany(f"INSERT OR REPLACE INTO {table} VALUES "
                                    f"({','.join('?' * len(rows[0]))})", rows)
                rows.clear()

    # ---- out --------------------------------------------------------------------------------

    def pending(self, *, new: bool) -> Iterator[PendingRow]:
        """The new rows (``new``) or the changed ones, by row number."""
        self._flush()
        test = "IS NULL" if new else "IS NOT NULL"
        for row, key, text, changed, *note in self.db.execute(
                f"SELECT * FROM pending WHERE changed {test} ORDER BY row"):
            yield PendingRow(row, key, text, _changed(changed), LeadNote(*note))

    def unverified_rows(self) -> list[int]:
        self._flush()
        return [row for (row,) in self.db.execute("SELECT row FROM unverified ORDER BY row")]

    def take_unverified(self, rows: Iterable[int]) -> Iterator[UnverifiedRow]:
        """Those of ``rows`` that are unverified, in the order given, each given once (then
        forgotten): one query over their span, one statement for the forgetting."""
        asked = list(dict.fromkeys(rows))
        if not asked:
            return iter(())
        self._flush()
        found = {number: UnverifiedRow(number, key, text, LeadNote(*note))
                 for number, key, text, *note in self.db.execute(
                     "SELECT * FROM unverified WHERE row BETWEEN ? AND ?",
                     (min(asked), max(asked)))}
        taken = [found[row] for row in asked if row in found]
        self.db.executemany("DELETE FROM unverified WHERE row = ?", ((u.row,) for u in taken))
        return iter(taken)

    def kept(self) -> Iterator[LedgerEntry]:
        self._flush()
        return (LedgerEntry(*entry) for entry in self.db.execute("SELECT * FROM kept"))
