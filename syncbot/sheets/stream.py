"""Leads rows written while the run is still scoring: a write fed from another thread.

A first sync writes every lead's row, and until now it began only once the last
lead was scored: at 225,000 leads, 19 s of scoring and then 35 s of writing, one
after the other. When nothing the rest of the run decides can hold the rows back
(see ``pipeline._may_pour``), the new rows go to the sheet as they are scored:
``RowStream`` runs ``Grid.write`` in a thread of its own and hands it, one block of
rows at a time, what the scoring loop puts in.

The loop waits when the writes fall behind (a few blocks are held, never the whole
tab), and hears of a failed write at its next block, so a run whose Sheets writes
fail stops scoring at once, as it would have stopped writing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any, Generic, TypeVar

from syncbot.sheets.client import Grid
from syncbot.sheets.wire import ValueRange

T = TypeVar("T")
BACKLOG = 4  # blocks waiting for the writer: 4,000 rows, about 1.5 MB of JSON text
_END = object()
_WAIT_S = 0.1  # how often a full backlog looks whether the writer died


class RowStream(Generic[T]):
    """``grid.write`` of the ranges ``make`` makes from each item ``put`` hands it (made in
    the writer's thread: decoding the rows is not the scoring loop's work), in order; the
    ranges ``first`` go before them. ``finish`` when every item is in, ``abandon`` when the
    run stops; as a context manager it abandons unless finished."""

    def __init__(self, grid: Grid, make: Callable[[T], ValueRange],
                 first: list[ValueRange] | None = None, *, backlog: int = BACKLOG) -> None:
        self._make, self._first = make, list(first or [])
        self._queue: queue.Queue[Any] = queue.Queue(backlog)
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="leads-stream")
        self._sent: Future[int] = self._pool.submit(grid.write, self._ranges())
        self._finished = False

    def _ranges(self) -> Iterator[ValueRange]:
        yield from self._first
        while True:
            item = self._queue.get()
            if item is _END or self._stopping.is_set():
                return
            yield self._make(item)

    def put(self, item: T) -> None:
        """Hand on one item, waiting while the backlog is full; raises the writer's failure
        (a Sheets error) if the writes stopped."""
        while True:
            if self._sent.done():
                self._sent.result()  # its failure, if it failed
                raise RuntimeError("the Leads stream ended before it was finished")
            try:
                self._queue.put(item, timeout=_WAIT_S)
                return
            except queue.Full:
                continue

    def finish(self) -> int:
        """Wait for every write; how many requests they took. Raises their failure."""
        self.put(_END)  # type: ignore[arg-type]  # the writer's signal, not an item
        try:
            return self._sent.result()
        finally:
            self._finished = True
            self._pool.shutdown(wait=True)

    def abandon(self) -> None:
        """Stop after the request on its way (its failure, if any, is not this run's news:
        the run is stopping for another reason)."""
        self._stopping.set()
        with suppress(queue.Full):
            self._queue.put_nowait(_END)  # wakes a writer waiting for an item
        with suppress(Exception):
            self._sent.result()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> RowStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._finished:
            self.abandon()
