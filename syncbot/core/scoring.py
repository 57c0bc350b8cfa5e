"""Scores from the Weights rules, and the ``why`` a marketer reads in the Leads tab."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from syncbot.core.rules import WeightRule
from syncbot.core.texts import Say
from syncbot.core.values import is_blank, parse_number
from syncbot.core.vocabulary import SYNCBOT_LABELS, Labels

WHY_LIMIT = 300
SEPARATOR = "; "
WHY_TEXTS = ("why.per", "why.per_capped", "why.condition", "why.condition_no_value", "why.more",
             "why.nothing")  # a change in any of these changes every lead's why


@dataclass(frozen=True)
class Score:
    engagement: float
    fit: float
    total: float
    why: str


def _signed(points: float, labels: Labels) -> str:
    text = labels.number(points)
    return text if text.startswith("-") else "+" + text


class Scorer:
    """Scores leads with one set of Weights rules; the rule texts are prepared once."""

    def __init__(self, rules: Sequence[WeightRule], say: Say, labels: Labels = SYNCBOT_LABELS
                 ) -> None:
        """``say`` and ``labels``: the sheet's language, in which ``why`` is written."""
        self.rules = tuple(rules)
        self.say, self.labels = say, labels
        self._per = say("why.per", field="{field}", count="{count}", points="{points}",
                      total="{total}")
        self._per_capped = say("why.per_capped", field="{field}", count="{count}",
                             points="{points}", raw="{raw}", total="{total}")
        self._fixed = [self._condition_text(rule, say, labels) if rule.condition else ""
                       for rule in self.rules]
        self._fields = [labels.field(rule.field) for rule in self.rules]
        self._points = [labels.number(rule.points) for rule in self.rules]

    @staticmethod
    def _condition_text(rule: WeightRule, say: Say, labels: Labels) -> str:
        assert rule.condition is not None
        field, operator = labels.field(rule.field), labels.operator(rule.operator)
        if rule.condition.value_text:
            return say("why.condition", field=field, operator=operator,
                       value=rule.condition.value_text, points=_signed(rule.points, labels))
        return say("why.condition_no_value", field=field, operator=operator,
                   points=_signed(rule.points, labels))

    def score(self, features: dict[str, Any]) -> Score:
        engagement = fit = 0.0
        parts: list[tuple[float, int, str]] = []
        get = features.get
        for index, rule in enumerate(self.rules):
            condition = rule.condition
            if condition is not None:
                if not condition.test(get(rule.field)):
                    continue
                points, text = rule.points, self._fixed[index]
            else:
                value = get(rule.field)
                kind = type(value)
                if kind is int or kind is float:
                    count = float(cast(float, value))
                elif value is None or kind is bool or is_blank(value):
                    continue
                else:
                    count = parse_number(value) or 0.0
                if not count:
                    continue
                raw = rule.points * count
                points = raw
                if rule.max is not None and abs(raw) > rule.max:
                    points = rule.max if raw > 0 else -rule.max
                template = self._per if points == raw else self._per_capped
                text = template.format(field=self._fields[index], count=self.labels.number(count),
                                       points=self._points[index],
                                       raw=self.labels.number(raw),
                                       total=_signed(points, self.labels))
            if points:
                if rule.dimension == "fit":
                    fit += points
                else:
                    engagement += points
                parts.append((-abs(points), index, text))
        parts.sort()
        return Score(round(engagement, 2), round(fit, 2), round(engagement + fit, 2),
                     explain([p[2] for p in parts], self.say))


def explain(parts: Sequence[str], say: Say, limit: int = WHY_LIMIT) -> str:
    """Join the largest contributions first, cutting with "+N more" to stay within ``limit``;
    says so when nothing contributed, so an empty cell never leaves a marketer guessing."""
    if not parts:
        return say("why.nothing")
    joined = SEPARATOR.join(parts)
    if len(joined) <= limit:
        return joined
    shown: list[str] = []
    length = 0
    for index, part in enumerate(parts):
        rest = len(parts) - index - 1
        tail = len(SEPARATOR) + len(say("why.more", count=rest)) if rest else 0
        needed = (len(SEPARATOR) if shown else 0) + len(part)
        if length + needed + tail > limit:
            shown.append(say("why.more", count=len(parts) - index))
            break
        shown.append(part)
        length += needed
    return SEPARATOR.join(shown)
