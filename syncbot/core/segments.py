"""Which managed tags a lead should have, from the Segments rules (docs/reference.md, "Segments")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from syncbot.core.rules import SegmentRule


def assign_tags(features: dict[str, Any], rules: Sequence[SegmentRule]) -> list[str]:
    """Tags in tab order. In a group only the first matching row (top to bottom) applies;
    rows without a group are independent."""
    decided: set[str] = set()
    tags = []
    for rule in rules:
        if rule.group is not None and rule.group in decided:
            continue
        if rule.condition is None or rule.condition.holds(features):
            tags.append(rule.tag)
            if rule.group is not None:
                decided.add(rule.group)
    return tags
