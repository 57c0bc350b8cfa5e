"""The rows a run holds between scoring and writing, spooled to a temporary file."""

from __future__ import annotations

from syncbot.ports import LeadNote, LedgerEntry
from syncbot.sheets.spool import BUFFERED, PendingRow, RowSpool, UnverifiedRow


def note(n: int) -> LeadNote:
    return LeadNote(1700000000.5 + n, "subscribed", f"Lead{n}@Example.com", '["lead:hot"]',
                    n / 4, f"['{n}']", "Shoes, Boots")


def test_rows_come_back_whole_in_row_order_across_flushes():
    spool = RowSpool()
    count = BUFFERED * 2 + 7  # through the buffer more than once
    for n in reversed(range(count)):  # added out of order
        changed = None if n % 3 == 0 else (n % 5, 40)
        spool.add_pending(PendingRow(n + 2, f"lead{n}@example.com", f'["c{n}", {n}]', changed,
                                     note(n)))
    new = list(spool.pending(new=True))
    changed_rows = list(spool.pending(new=False))
    assert [p.row for p in new] == [n + 2 for n in range(count) if n % 3 == 0]
    assert [p.row for p in changed_rows] == [n + 2 for n in range(count) if n % 3]
    assert changed_rows[0] == PendingRow(3, "lead1@example.com", '["c1", 1]', (1, 40), note(1))
    assert new[-1].changed is None and new[-1].note == note(count - 1 - (count - 1) % 3)
    spool.close()


def test_an_unverified_row_is_given_once_and_kept_entries_stay():
    spool = RowSpool()
    for row in (9, 4, 7):
        spool.add_unverified(UnverifiedRow(row, f"k{row}", "[]", note(row)))
    entry = LedgerEntry("k1", '["x"]', None, *note(1))
    spool.add_kept(entry)
    assert spool.unverified_rows() == [4, 7, 9]
    assert [u.row for u in spool.take_unverified([7, 5, 4])] == [7, 4]  # 5 was never waiting
    assert list(spool.take_unverified([7])) == [] and spool.unverified_rows() == [9]
    assert list(spool.kept()) == [entry]
    spool.close()
