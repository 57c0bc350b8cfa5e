"""Sheets' request bodies as they go on the wire: compact UTF-8 JSON, grouped into requests
of about 2 MB. No HTTP client here, so that the Leads merge (``leads``), which the scoring
worker processes import, does not bring Google's libraries into them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class Encoded(bytes):
    """A ValueRange already in wire JSON (``wire_json``): made from text that is JSON already
    (a lead's cells as the ledger keeps them), so that it is not decoded and encoded again."""


ValueRange = Mapping[str, Any] | Encoded  # what ``Grid.write`` takes


def wire_json(body: Any) -> bytes:
    """A request body as sent: JSON without spaces and in UTF-8 (a ValueRange of changed cells
    is mostly separators and nulls; ``requests`` would add a space after each and escape every
    accented letter as six bytes). An ``Encoded`` body is sent as it is."""
    if isinstance(body, Encoded):
        return body
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def chunk_by_size(items: Iterable[ValueRange], limit: int) -> Iterator[tuple[list[bytes], int]]:
    """Group items so each group's JSON stays under ``limit`` bytes (an oversized item stands
    alone); yields each group, its items encoded (``wire_json``), with its size."""
    current: list[bytes] = []
    size = 0
    for item in items:
        encoded = wire_json(item)
        item_size = len(encoded) + 1
        if current and size + item_size > limit:
            yield current, size
            current, size = [], 0
        current.append(encoded)
        size += item_size
    if current:
        yield current, size
