"""One lead, evaluated: its fields, its score and why, its tags, and how long that holds.

``Evaluator`` is made once per run (the rules compiled, the ``why`` texts
prepared) and called once per lead; ``evaluate`` is the same for a single
lead. Everything comes in as arguments, ``now`` included: no I/O, no clock,
no environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncbot.core.fields import compute_features, stable_until
from syncbot.core.model import Event, Member
from syncbot.core.rules import Ruleset
from syncbot.core.scoring import Scorer
from syncbot.core.segments import assign_tags
from syncbot.core.texts import Say


@dataclass(frozen=True)
class Settings:
    """The configuration a lead's values depend on."""

    lookback_days: int
    half_life_days: float
    timezone: str = "UTC"
    tag_statuses: frozenset[str] = frozenset({"subscribed"})  # statuses that may get tags


@dataclass(frozen=True)
class ScoredLead:
    values: dict[str, Any]  # every field, the scores, ``tags`` (text) and ``why``: the Leads row
    tags: list[str]
    score: float
    why: str
    stable_until: datetime  # the values hold until then unless the lead's inputs change


class Evaluator:
    """Evaluates leads with one rule set and one language."""

    def __init__(self, rules: Ruleset, settings: Settings, say: Say) -> None:
        self.rules, self.settings = rules, settings
        self.scorer = Scorer(rules.weights, say)

    def __call__(self, member: Member, events: Sequence[Event], now: datetime) -> ScoredLead:
        settings = self.settings
        values = compute_features(member, events, now=now,
                                  lookback_days=settings.lookback_days,
                                  half_life_days=settings.half_life_days,
                                  timezone=settings.timezone, interests=self.rules.interests)
        score = self.scorer.score(values)
        values.update(engagement_score=score.engagement, fit_score=score.fit, score=score.total)
        tags = (assign_tags(values, self.rules.segments)
                if member.status in settings.tag_statuses else [])
        values.update(tags=", ".join(tags), why=score.why)
        until = stable_until(member, events, now=now, lookback_days=settings.lookback_days,
                             half_life_days=settings.half_life_days)
        return ScoredLead(values, tags, score.total, score.why, until)


def evaluate(member: Member, events: Sequence[Event], rules: Ruleset, settings: Settings,
             now: datetime, say: Say) -> ScoredLead:
    """One lead's scored row (for many leads, make one ``Evaluator`` and call it)."""
    return Evaluator(rules, settings, say)(member, events, now)
