"""What the Dashboard tab shows, as plain tables: leads per managed tag run after run, the
score distribution in ten buckets, leads per Interests topic, and hand-offs to sales per
week.

Pure: the pipeline offers every lead's score and topics (``DashboardCounts``), the state
keeps the tag counts of past runs; ``dashboard_tables`` turns both into rows. Where the
tables go and how they are charted is the sheets package's business.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from syncbot.core.handoff import HandoffRecord
from syncbot.core.values import format_number, from_serial

RUNS_SHOWN = 90  # runs in the tags-over-time table
BUCKETS = 10  # score distribution
NICE_WIDTHS = (1, 2, 5)  # bucket widths are 1, 2, 5, 10, 20, 50… points
WEEKS_SHOWN = 26  # weeks in the hand-offs table: half a year
WON = "won"  # the Hand-off Status the hand-offs table counts beside every hand-off


@dataclass(frozen=True)
class TagCounts:
    """How many leads had each managed tag after one run."""

    at: datetime
    counts: Mapping[str, int]


@dataclass
class DashboardCounts:
    """Every lead's score and topics, offered one lead at a time (whether it was evaluated
    again this run or taken from the ledger)."""

    scores: list[float] = field(default_factory=list)
    topics: Counter[str] = field(default_factory=Counter)

    def add(self, score: float, topics: str) -> None:
        """``topics``: the lead's ``topics`` value (``"Pricing, Webinars"``)."""
        self.scores.append(score)
        if topics:
            self.topics.update(topic.strip() for topic in topics.split(",") if topic.strip())


@dataclass(frozen=True)
class Bucket:
    low: float  # included
    high: float  # excluded (the last bucket includes the highest score)
    leads: int

    @property
    def label(self) -> str:
        return f"{format_number(self.low)} – {format_number(self.high)}"


def _width(span: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50… points that fits ``span`` in BUCKETS buckets."""
    scale = 1.0
    while True:
        for nice in NICE_WIDTHS:
            if nice * scale * BUCKETS > span:
                return nice * scale
        scale *= 10


def score_buckets(scores: Sequence[float]) -> list[Bucket]:
    """Ten buckets of a round width (1, 2, 5, 10… points) starting at a multiple of it, so
    the labels read ``0 – 10``, ``10 – 20``…; all empty when there are no scores."""
    if not scores:
        return [Bucket(i * 10.0, (i + 1) * 10.0, 0) for i in range(BUCKETS)]
    low, high = min(scores), max(scores)
    width = _width(high - low)
    start = math.floor(low / width) * width
    while start + width * BUCKETS <= high:  # the floor pushed the top out of the last bucket
        width = _width(width * BUCKETS)
        start = math.floor(low / width) * width
    counts = [0] * BUCKETS
    for score in scores:
        counts[min(BUCKETS - 1, int((score - start) // width))] += 1
    return [Bucket(start + i * width, start + (i + 1) * width, n) for i, n in enumerate(counts)]


@dataclass(frozen=True)
class DashboardTables:
    """The rows of each table, headers excluded (the sheet's language names the columns)."""

    tags: tuple[str, ...]  # the managed tags, in the Segments tab's order: the columns
    runs: list[list[object]]  # [when, leads with tag 1, tag 2…], oldest first
    buckets: list[Bucket]
    topics: list[tuple[str, int]]  # every Interests topic, in the tab's order
    handoffs: list[HandoffWeek] = field(default_factory=list)  # oldest first


@dataclass(frozen=True)
class HandoffWeek:
    """One week's hand-offs to sales, and how many of them sales has marked won by now."""

    start: datetime  # Monday 00:00 UTC
    handed_off: int
    won: int


def handoff_weeks(records: Iterable[HandoffRecord], now: datetime,
                  weeks: int = WEEKS_SHOWN) -> list[HandoffWeek]:
    """The Hand-off rows of the last ``weeks`` weeks (this one included), per week, oldest
    first; a row without a date is not counted."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    this_week = midnight - timedelta(days=now.weekday())
    starts = [this_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    handed_off, won = Counter[datetime](), Counter[datetime]()
    for record in records:
        if record.at is None:
            continue
        at = from_serial(record.at)
        week = at.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=at.weekday())
        handed_off[week] += 1
        won[week] += record.status == WON
    return [HandoffWeek(start, handed_off[start], won[start]) for start in starts]


def dashboard_tables(history: Sequence[TagCounts], tags: Sequence[str],
                     counts: DashboardCounts, topics: Sequence[str],
                     handoffs: Sequence[HandoffWeek] = ()) -> DashboardTables:
    """The last RUNS_SHOWN runs' tag counts (a tag a run did not manage is blank), the score
    buckets, the leads per topic and the hand-offs per week."""
    runs: list[list[object]] = [[run.at, *(run.counts.get(tag) for tag in tags)]
                                for run in history[-RUNS_SHOWN:]]
    return DashboardTables(tuple(tags), runs, score_buckets(counts.scores),
                           [(topic, counts.topics.get(topic, 0)) for topic in topics],
                           list(handoffs))
