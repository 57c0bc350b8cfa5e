"""A lead's score history as a few bytes per point: how the state keeps a year of it small.

100,000 leads whose scores change a few times a month, four runs a day, make millions of
points a year; one SQLite row per point costs about 110 bytes, a point here about three.
Each lead's points are one BLOB of delta-encoded points, oldest first, each point:

- ``varint(minutes since the previous point << 1 | tags changed)`` (the first point
  counts from ``EPOCH``; a run's moment is kept to the minute, as the sheet shows dates:
  2 bytes for runs up to 5 days apart);
- the score change in hundredths, zigzag-encoded, as ``varint(whole points << 1)`` when
  it is a whole number of points (the usual case: 1 byte for ±31) and
  ``varint(hundredths << 1 | 1)`` otherwise (scores are rounded to 2 decimals);
- when the tags changed, ``varint(id)`` of the tag combination (the state numbers each
  distinct combination once: a handful of them for a whole audience).

Appending needs only the lead's last point (kept beside the BLOB), never a decode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stored:
    """A point as stored: whole minutes since ``EPOCH``, hundredths of a point, a tag set id."""

    at: int
    score: int
    tags: int


def minutes(when: datetime) -> int:
    """``when`` to the minute (floored), as stored."""
    return int((when - EPOCH).total_seconds() // 60)


def moment(stored_minutes: int) -> datetime:
    return EPOCH + timedelta(minutes=stored_minutes)


def hundredths(score: float) -> int:
    return round(score * 100)


def _varint(value: int, out: bytearray) -> None:
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return


def _zigzag(value: int) -> int:
    return value * 2 if value >= 0 else -value * 2 - 1


def _unzigzag(value: int) -> int:
    return value // 2 if value % 2 == 0 else -(value + 1) // 2


def encode(points: Sequence[Stored], after: Stored | None = None) -> bytes:
    """``points`` (oldest first) as bytes to append after the point ``after`` (None: the
    start of a lead's history)."""
    out = bytearray()
    previous = after or Stored(0, 0, -1)
    for point in points:
        changed = point.tags != previous.tags
        _varint((point.at - previous.at) << 1 | changed, out)
        step = point.score - previous.score
        if step % 100 == 0:
            _varint(_zigzag(step // 100) << 1, out)
        else:
            _varint(_zigzag(step) << 1 | 1, out)
        if changed:
            _varint(point.tags, out)
        previous = point
    return bytes(out)


def decode(data: bytes) -> Iterator[Stored]:
    """A lead's points, oldest first."""
    position, at, score, tags = 0, 0, 0, -1

    def varint() -> int:
        nonlocal position
        value, shift = 0, 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    while position < len(data):
        head = varint()
        at += head >> 1
        step = varint()
        score += _unzigzag(step >> 1) * (1 if step & 1 else 100)
        if head & 1:
            tags = varint()
        yield Stored(at, score, tags)
