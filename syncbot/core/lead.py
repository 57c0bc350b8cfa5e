"""One lead, evaluated: its fields, its score and why, its tags, and how long that holds.

``Evaluator`` is made once per run (the rules compiled, the ``why`` texts
prepared) and called once per lead; ``evaluate`` is the same for a single
lead. Everything comes in as arguments, ``now`` included: no I/O, no clock,
no environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from syncbot.core.fields import read_window, window_features, window_stable_until
from syncbot.core.history import (
    HistoryPoint,
    changes_recorded,
    next_change,
    score_changes,
    tags_since,
)
from syncbot.core.inputs import days_since, zone
from syncbot.core.model import Event, Member, Order
from syncbot.core.orders import Purchases, purchases
from syncbot.core.rules import Ruleset, SegmentRule, WeightRule
from syncbot.core.scoring import Scorer
from syncbot.core.segments import assign_tags
from syncbot.core.texts import Say
from syncbot.core.vocabulary import SYNCBOT_LABELS, Labels


@dataclass(frozen=True)
class Settings:
    """The configuration a lead's values depend on."""

    lookback_days: int
    half_life_days: float
    timezone: str = "UTC"
    tag_statuses: frozenset[str] = frozenset({"subscribed"})  # statuses that may get tags
    sheet_timezone: str = "UTC"  # the spreadsheet's: the team's dates are written in it
    order_days: int | None = None  # the ``[orders]`` lookback; None: no purchase fields


NO_PURCHASES = Purchases({}, [], None)  # without [orders]: no fields, nothing bought


@dataclass(frozen=True)
class ScoredLead:
    values: dict[str, Any]  # every field, the scores, ``tags`` (text) and ``why``: the Leads row
    tags: list[str]
    score: float
    why: str
    stable_until: datetime  # the values hold until then unless the lead's inputs change


@dataclass(frozen=True)
class RuleOutcome:
    """One rule for one lead: whether it holds, and for a Weights rule the points it gave
    and its part of ``why`` ("" when it gave none)."""

    rule: WeightRule | SegmentRule
    holds: bool
    points: float = 0.0
    text: str = ""


@dataclass(frozen=True)
class Explanation:
    """Everything `syncbot why` shows: the lead as the sheet has it, and every rule's outcome
    on syncbot's own values (before they are put in the sheet's words)."""

    lead: ScoredLead
    weights: list[RuleOutcome]
    segments: list[RuleOutcome]


class Evaluator:
    """Evaluates leads with one rule set and one language."""

    def __init__(self, rules: Ruleset, settings: Settings, say: Say,
                 labels: Labels = SYNCBOT_LABELS) -> None:
        """``say`` and ``labels``: the sheet's language (``why`` is written in it)."""
        self.rules, self.settings = rules, settings
        self.scorer = Scorer(rules.weights, say, labels)
        self.say, self.labels = say, labels
        self.sheet_zone = zone(settings.sheet_timezone)
        self.segments_use_tags_since = any(  # directly, or through days_since(tags_since)
            rule.condition is not None and (rule.condition.field == "tags_since" or any(
                field.name == rule.condition.field and field.of == "tags_since"
                for field in rules.days_since))
            for rule in rules.segments)

    def __call__(self, member: Member, events: Sequence[Event], now: datetime,
                 team: Mapping[str, Any] | None = None,
                 history: Sequence[HistoryPoint] = (), orders: Sequence[Order] = ()
                 ) -> ScoredLead:
        """``team``: the lead's values of the team columns the rules name (``Ruleset.inputs``,
        by field name; a blank is absent); ``history``: its points, oldest first;
        ``orders``: its purchases that count (used with ``Settings.order_days``)."""
        lead = self._evaluate(member, events, now, team, history, orders)
        self.labels.values(lead.values)  # in the sheet's words, now the rules are done
        return lead

    def explain(self, member: Member, events: Sequence[Event], now: datetime,
                team: Mapping[str, Any] | None = None,
                history: Sequence[HistoryPoint] = (), orders: Sequence[Order] = ()
                ) -> Explanation:
        """The lead, and every Weights and Segments rule held against it (for one lead: each
        rule is scored on its own)."""
        lead = self._evaluate(member, events, now, team, history, orders)
        values = lead.values  # syncbot's own words: what the rules compare
        weights = []
        for rule in self.rules.weights:
            alone = Scorer([rule], self.say, self.labels).score(values)
            weights.append(RuleOutcome(rule, bool(alone.total), alone.total,
                                       alone.why if alone.total else ""))
        segments = [RuleOutcome(rule, rule.condition is None or rule.condition.holds(values))
                    for rule in self.rules.segments]
        shown = dict(values)
        self.labels.values(shown)
        return Explanation(replace(lead, values=shown), weights, segments)

    def _evaluate(self, member: Member, events: Sequence[Event], now: datetime,
                  team: Mapping[str, Any] | None, history: Sequence[HistoryPoint],
                  orders: Sequence[Order]) -> ScoredLead:
        """The lead, its values in syncbot's own words (what the rules saw)."""
        settings = self.settings
        bought = (purchases(orders, now=now, order_days=settings.order_days)
                  if settings.order_days is not None else NO_PURCHASES)
        window = read_window(events, now, settings.lookback_days,  # for both: one pass
                             settings.half_life_days)
        values = window_features(member, window, now=now,
                                 lookback_days=settings.lookback_days,
                                 half_life_days=settings.half_life_days,
                                 timezone=settings.timezone, interests=self.rules.interests,
                                 products=bought.products)
        values.update(bought.fields)
        team_changes = self._team_values(values, team or {}, now)
        score = self.scorer.score(values)
        values.update(engagement_score=score.engagement, fit_score=score.fit, score=score.total)
        values.update(score_changes(history, score.total, now))
        held = history[-1].tags if history else None  # Segments see the previous run's tags'
        values["tags_since"] = tags_since(history, held, now) if held is not None else None
        for field in self.rules.days_since:  # days_since(tags_since): from that value too
            if field.of == "tags_since":
                values[field.name], change = days_since(values["tags_since"], now,
                                                        self.sheet_zone)
                team_changes += [change] if change is not None else []
        tags = (assign_tags(values, self.rules.segments)
                if member.status in settings.tag_statuses else [])
        values.update(tags=", ".join(tags), why=score.why, tags_since=tags_since(history, tags,
                                                                                 now))
        until = window_stable_until(member, window, now=now,
                                    lookback_days=settings.lookback_days,
                                    half_life_days=settings.half_life_days)
        ticks = next_change(history, now, tags,
                            recorded=changes_recorded(history, score.total, tags),
                            segments_use_tags_since=self.segments_use_tags_since)
        moments = [until, ticks, *team_changes]
        if bought.changes_at is not None:
            moments.append(bought.changes_at)
        return ScoredLead(values, tags, score.total, score.why, min(moments))

    def _team_values(self, values: dict[str, Any], team: Mapping[str, Any], now: datetime
                     ) -> list[datetime]:
        """Add the team's values and the ``days_since`` fields to ``values``; returns when
        those day counts next change. (Team columns count 0 rows when absent; the names never
        clash with syncbot's fields, which the rules resolve first.)"""
        values["handoff_status"] = team.get("handoff_status")  # the Hand-off tab's Status
        for column in self.rules.inputs:
            values[column.field] = team.get(column.field, 0 if column.is_count else None)
        changes = []
        for field in self.rules.days_since:
            values[field.name], change = days_since(values.get(field.of), now, self.sheet_zone)
            if change is not None:
                changes.append(change)
        return changes


def evaluate(member: Member, events: Sequence[Event], rules: Ruleset, settings: Settings,
             now: datetime, say: Say, team: Mapping[str, Any] | None = None) -> ScoredLead:
    """One lead's scored row (for many leads, make one ``Evaluator`` and call it)."""
    return Evaluator(rules, settings, say)(member, events, now, team)
