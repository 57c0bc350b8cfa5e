"""A lead's score history as a few bytes per point: how the state keeps a year of it small.

100,000 leads whose scores change a few times a month, four runs a day, make millions of
points a year; one SQLite row per point costs about 110 bytes, a point here two or three.
The runs that recorded history are numbered (the state keeps each run's moment once), and
each lead's points are one BLOB of delta-encoded points, oldest first, each point:

- ``varint(runs since the previous point)`` (the first point counts from run 0: 1 byte for
  points up to 127 runs apart, a month at four runs a day);
- the score change, zigzag-encoded, then shifted left by two bits: whole points with the
  low bits ``0t`` when it is a whole number of points (the usual case: 1 byte for ±15),
  hundredths with ``1t`` otherwise (scores are rounded to 2 decimals); ``t`` is 1 when
  the tags changed;
- when the tags changed, ``varint(id)`` of the tag combination (the state numbers each
  distinct combination once: a handful of them for a whole audience).

Appending needs only the lead's last point (kept beside the BLOB), never a decode. A lead
is known by a 64-bit hash of its key (``lead_id``), 8 bytes instead of its address: at
100,000 leads the per-lead overhead is a fifth of the whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple


class Stored(NamedTuple):
    """A point as stored: the number of the run that recorded it, hundredths of a point, a
    tag set id (a named tuple: a year of history is millions of them)."""

    run: int
    score: int
    tags: int


def lead_id(key: str) -> int:
    """A lead's number in the history: 64 bits of a hash of its key (a collision among a
    million leads has odds of about 1 in 40 million)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(),
                          "big", signed=True)


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


def encode(points: Sequence[Stored], after: Stored | None = None) -> bytes:
    """``points`` (oldest first) as bytes to append after the point ``after`` (None: the
    start of a lead's history)."""
    out = bytearray()
    previous = after or Stored(0, 0, -1)
    for point in points:
        changed = point.tags != previous.tags
        _varint(point.run - previous.run, out)
        step = point.score - previous.score
        if step % 100 == 0:
            _varint(_zigzag(step // 100) << 2 | changed, out)
        else:
            _varint(_zigzag(step) << 2 | 2 | changed, out)
        if changed:
            _varint(point.tags, out)
        previous = point
    return bytes(out)


def _varints(data: bytes) -> list[int]:
    """Every varint of ``data``, in one pass (most are one byte)."""
    values: list[int] = []
    append = values.append
    value = shift = 0
    for byte in data:
        if byte < 0x80:
            append(value | byte << shift)
            value = shift = 0
        else:
            value |= (byte & 0x7F) << shift
            shift += 7
    return values


def decode(data: bytes) -> list[Stored]:
    """A lead's points, oldest first (a year of them is read for every lead a run
    evaluates, so this is one tight pass, not a varint call per number)."""
    numbers = _varints(data)
    points: list[Stored] = []
    index, count, run, score, tags = 0, len(numbers), 0, 0, -1
    while index < count:
        run += numbers[index]
        step = numbers[index + 1]
        index += 2
        half = step >> 2
        change = -((half + 1) >> 1) if half & 1 else half >> 1
        score += change if step & 2 else change * 100
        if step & 1:
            tags = numbers[index]
            index += 1
        points.append(Stored(run, score, tags))
    return points
