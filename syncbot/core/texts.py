"""What the core needs from the outside to write for people, given to it, never looked up.

``Say`` turns a message id and values into a sentence in the reader's language
(``syncbot.locales.Catalogue`` is one); ``CellName`` names a cell the way the
spreadsheet shows it (``syncbot.sheets.a1.cell``). The core calls them and
never reads the environment, a file or the clock to know either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Say(Protocol):
    def __call__(self, message_id: str, /, **values: object) -> str: ...


CellName = Callable[[str, int, int], str]  # (tab, 0-based column, 1-based row) -> "Weights!A7"


class Problems:
    """Every problem found, as its reader will read it (collected, never raised one by one)."""

    def __init__(self, say: Say, cell: CellName) -> None:
        self.say, self.cell = say, cell
        self.found: list[str] = []

    def add(self, message_id: str, /, **values: object) -> None:
        self.found.append(self.say(message_id, **values))

    def __bool__(self) -> bool:
        return bool(self.found)
