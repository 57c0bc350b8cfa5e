"""How a long run shows that it is moving: stage lines, and meters for its long steps.

A run tells two things: the stage it enters (a line, such as "Pulling the
audience from Mailchimp…") and, inside a long stage, how far it got
(a ``Meter``: pages read, leads scored, rows written, tag batches sent). Where
those go is the caller's choice: ``Bars`` draws rich progress bars with counts
and time left (a terminal), ``Lines`` prints the stage lines only (cron, CI
logs, ``serve``), ``Silent`` shows nothing (``--quiet``). The pipeline and the
clients only call the protocol, so none of them knows which it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class Meter(Protocol):
    """One long step's count: its total may grow as it is learnt (say, page by page)."""

    def add_total(self, amount: int) -> None: ...
    def advance(self, amount: int = 1) -> None: ...


class Meters(Protocol):
    def start(self, what: str, total: int | None = None) -> Meter: ...
    def stage(self, message: str) -> None: ...


class _Still:
    """A meter nobody watches."""

    def add_total(self, amount: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


STILL = _Still()


class Silent:
    """Nothing shown (``--quiet``): only the final summary and errors reach the user."""

    def start(self, what: str, total: int | None = None) -> Meter:
        return STILL

    def stage(self, message: str) -> None:
        pass


class Lines(Silent):
    """Stage lines only, one per stage: for logs, where a redrawn bar would be noise."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def stage(self, message: str) -> None:
        self.write(message)


class _Bar:
    def __init__(self, bars: Progress, task: object, total: int | None) -> None:
        self.bars, self.task, self.total = bars, task, total

    def add_total(self, amount: int) -> None:
        self.total = (self.total or 0) + amount
        self.bars.update(self.task, total=self.total)  # type: ignore[arg-type]

    def advance(self, amount: int = 1) -> None:
        self.bars.advance(self.task, amount)  # type: ignore[arg-type]


class Bars:
    """Progress bars with counts and time left, drawn on a terminal; stage lines above them."""

    def __init__(self, file: IO[str] | None = None, *, console: Console | None = None) -> None:
        self.console = console or Console(file=file, stderr=file is None)
        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeRemainingColumn(), console=self.console, transient=False)

    def __enter__(self) -> Bars:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def start(self, what: str, total: int | None = None) -> Meter:
        return _Bar(self.bars, self.bars.add_task(what, total=total), total)

    def stage(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)
