"""A1 notation: column letters and cell names, as the spreadsheet shows them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def col_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (0-based column index)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    """A → 0, AA → 26."""
    value = 0
    for ch in letters.upper():
        value = value * 26 + ord(ch) - 64
    return value - 1


def quote_title(title: str) -> str:
    """A tab's title as it goes into a range: always quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def below_header(tab: str, column: int) -> str:
    """``'Leads'!C2:C``: a whole column of ``tab`` under its header row (0-based ``column``)."""
    letters = col_letters(column)
    return f"{quote_title(tab)}!{letters}2:{letters}"


def cell(tab: str, column: int, row: int) -> str:
    """``Weights!A7`` for 0-based ``column`` and 1-based ``row``."""
    return f"{tab}!{col_letters(column)}{row}"


def row_runs(rows: Iterable[int], longest: int, gap: int = 0) -> Iterator[tuple[int, int]]:
    """Sorted row numbers as runs of consecutive rows (first, last), at most ``longest`` long:
    the shape of a range to read or write. ``gap``: a run goes on over up to that many rows
    not listed (a range written with nulls there leaves them as they are)."""
    run: list[int] = []  # [first, last]
    for row in rows:
        if run and row - run[1] - 1 <= gap and row - run[0] < longest:
            run[1] = row
            continue
        if run:
            yield run[0], run[1]
        run = [row, row]
    if run:
        yield run[0], run[1]
