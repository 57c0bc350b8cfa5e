"""A lead's score history and the fields made from it: ``score_change_7d``,
``score_change_30d`` and ``tags_since``.

The state keeps, for each lead, a point each time a successful run changed its score or
managed tags (``HistoryPoint``, oldest first). From those points and this run's score and
tags: the change since the latest run at least 7 / 30 days ago (blank when the lead has no
point that old), when the lead's tags last changed, and when these values next change by
themselves as time passes (so a lead the run does not evaluate again stays right).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

WINDOWS = (7, 30)  # days: score_change_7d, score_change_30d
HISTORY_FIELDS = ("score_change_7d", "score_change_30d", "tags_since")


class HistoryPoint(NamedTuple):
    """A lead's score and managed tags as a run left them (recorded only on change; a named
    tuple: a run that evaluates every lead reads millions of them)."""

    at: datetime
    score: float
    tags: tuple[str, ...]


def score_at(points: Sequence[HistoryPoint], moment: datetime) -> float | None:
    """The score the latest run at or before ``moment`` left (None: the lead had none)."""
    before = bisect_right(points, moment, key=_when)  # a year of points: no linear scan
    return points[before - 1].score if before else None


def _when(point: HistoryPoint) -> datetime:
    return point.at


def score_changes(points: Sequence[HistoryPoint], score: float, now: datetime
                  ) -> dict[str, float | None]:
    """``score_change_7d`` and ``score_change_30d``: the score now minus the score at the
    latest run at least that many days ago."""
    changes: dict[str, float | None] = {}
    for days in WINDOWS:
        before = score_at(points, now - timedelta(days=days))
        changes[f"score_change_{days}d"] = None if before is None else round(score - before, 2)
    return changes


def tags_since(points: Sequence[HistoryPoint], tags: Sequence[str], now: datetime
               ) -> datetime:
    """When the lead's managed tags became ``tags``: the first point of the latest run of
    points holding them, or ``now`` when this run changes them."""
    since = now
    for point in reversed(points):
        if point.tags != tuple(tags):
            break
        since = point.at
    return since


def changes_recorded(points: Sequence[HistoryPoint], score: float, tags: Sequence[str]
                     ) -> bool:
    """Whether this run records a new point (the score or the tags differ from the last)."""
    return not points or points[-1].score != score or points[-1].tags != tuple(tags)


def next_change(points: Sequence[HistoryPoint], now: datetime, tags: Sequence[str], *,
                recorded: bool, segments_use_tags_since: bool) -> datetime:
    """When the history fields next change with no new input: ``now`` when this run changes
    the tags and a Segments rule reads ``tags_since`` (the next run's rules see a new one);
    else when a point (this run's too, when it records one) becomes 7 or 30 days old; far
    away when none will."""
    if segments_use_tags_since and (not points or points[-1].tags != tuple(tags)):
        return now
    recent = points[bisect_right(points, now - timedelta(days=max(WINDOWS)), key=_when):]
    moments = [point.at for point in recent]  # older points are past every window already
    if recorded:
        moments.append(now)
    upcoming = [at + timedelta(days=days) for at in moments for days in WINDOWS
                if at + timedelta(days=days) > now]
    return min(upcoming, default=datetime.max.replace(tzinfo=now.tzinfo))
