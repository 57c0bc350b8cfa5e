"""Tags added while the run still scores: a team's first sync, when no managed tag exists.

Where Mailchimp has none of the managed tags yet, nobody holds one, so the tag plan
has no removal and the safety stop cannot trip on removals (``pipeline._may_pour``
checks the rest): every tag a scored lead should have is an add, known the moment the
lead is. At 225,000 members that is 211,000 adds, 423 batches, which took 13 s after
the scoring; ``TagStream`` sends each tag's batch of 500 as soon as it is full,
through the audience (``ports.AudienceSource``: its connections, retries and limits),
so only the last, shorter batches are left for the end. The plan at the end is the
same as ever; what was streamed is taken off it (``TagPlan.without``).

A tag is created before its first batch (as the plan's write creates a missing one).
A failed batch stops the stream, not the scoring: ``finish`` raises its failure, which
the run reports where it reported a failed tag write before, once the Leads rows are
written.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from syncbot.mailchimp.client import BATCH_LIMIT
from syncbot.ports import AudienceSource, WriteReport

BATCH = BATCH_LIMIT  # addresses a batch carries: Mailchimp's most


@dataclass
class Streamed:
    """What a ``TagStream`` wrote: the tags it created (name → segment id), the member keys
    it added to each, and Mailchimp's counts and per-address errors."""

    created: dict[str, int] = field(default_factory=dict)
    added: dict[str, set[str]] = field(default_factory=dict)
    report: WriteReport = field(default_factory=WriteReport)

    @property
    def anything(self) -> bool:
        return bool(self.created)


class TagStream:
    """Adds of the ``managed`` tags, sent a full batch at a time as leads are offered, over
    ``connections`` threads (the audience client keeps to its own connection limit); only
    members whose status is in ``tag_statuses`` get tags, as in ``plan_tags``."""

    def __init__(self, audience: AudienceSource, managed: Sequence[str],
                 tag_statuses: Collection[str], *, connections: int) -> None:
        self._audience, self._managed = audience, frozenset(managed)
        self._statuses, self._batch = frozenset(tag_statuses), BATCH
        self._pool = ThreadPoolExecutor(connections, thread_name_prefix="tag-stream")
        self._limit = 2 * connections  # batches in flight or waiting before offers wait
        self._in_flight: deque[Future[None]] = deque()
        self._pending: dict[str, list[tuple[str, str]]] = {}  # tag → (key, address)
        self._tag_ids: dict[str, Future[int]] = {}
        self.streamed = Streamed()
        self._counting = threading.Lock()  # the batches' threads add up in ``streamed``
        self._failure: BaseException | None = None
        self._finished = False

    def offer(self, key: str, address: str, status: str, tags: Sequence[str]) -> None:
        """One scored lead: its address as Mailchimp spells it, its status and the tags it
        should have."""
        if status not in self._statuses:
            return
        for tag in tags:
            if tag in self._managed:
                pending = self._pending.setdefault(tag, [])
                pending.append((key, address))
                if len(pending) >= self._batch:
                    self._send(tag, self._pending.pop(tag))

    def _send(self, tag: str, batch: list[tuple[str, str]]) -> None:
        self._settle(wait=len(self._in_flight) >= self._limit)
        if self._failure is not None:
            return  # the stream stopped at a failed batch: ``finish`` says why
        if tag not in self._tag_ids:
            self._tag_ids[tag] = self._pool.submit(self._audience.create_tag, tag)
        self._in_flight.append(self._pool.submit(self._write, tag, batch))

    def _settle(self, *, wait: bool = False, every: bool = False) -> None:
        """Let go of the batches that are done (``wait``: of the oldest at least, once it is;
        ``every``: of all of them, waiting for each), keeping the first failure."""
        while self._in_flight and (wait or every or self._in_flight[0].done()):
            wait = False
            failure = self._in_flight.popleft().exception()
            if failure is not None and self._failure is None:
                self._failure = failure

    def _write(self, tag: str, batch: list[tuple[str, str]]) -> None:
        segment = self._tag_ids[tag].result()  # made first: submitted before this batch
        written = self._audience.write_tags({tag: segment}, {tag: [a for _, a in batch]}, {})
        with self._counting:
            streamed = self.streamed
            streamed.added.setdefault(tag, set()).update(key for key, _ in batch)
            streamed.report.added += written.added
            streamed.report.errors.extend(written.errors)

    def finish(self) -> Streamed:
        """Wait for every batch sent (the shorter ones left over are the plan's); raises the
        first failure (the batches after it were not sent)."""
        try:
            self._settle(every=True)
            if self._failure is not None:
                raise self._failure
            for tag, made in self._tag_ids.items():
                self.streamed.created[tag] = made.result()
            return self.streamed
        finally:
            self._finished = True
            self._pool.shutdown(wait=True, cancel_futures=True)

    def abandon(self) -> None:
        """Stop: what waits is not sent; what is on its way ends (its failure is not news)."""
        self._finished = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> TagStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._finished:
            self.abandon()
