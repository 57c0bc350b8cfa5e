"""One lead, evaluated by the core alone: plain values in, a scored row out (no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncbot.core.lead import Settings, evaluate
from syncbot.core.model import Event, Member
from syncbot.core.rules import parse_rules
from tests.conftest import CELL, SAY

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
RULES = parse_rules(
    weights=[["Field", "Operator", "Value", "Points", "Max", "Dimension"],
             ["clicks_30d", "per", "", 5, 20, ""], ["JOBTITLE", "contains", "head", 15, "", "fit"]],
    segments=[["Tag", "Field", "Operator", "Value", "Group"],
              ["lead:hot", "score", ">=", 30, "tier"], ["lead:cold", "", "", "", "tier"]],
    interests=[["Topic", "URL contains"], ["Pricing", "/pricing"]], lookback_days=90,
    merge_tags=["JOBTITLE"], say=SAY, cell=CELL)
SETTINGS = Settings(lookback_days=90, half_life_days=30)


def lead(status: str = "subscribed") -> Member:
    return Member("Lucia@Example.mx", status, merge_fields={"JOBTITLE": "Head of Marketing"},
                  subscribed_at=NOW - timedelta(days=300))


CLICKS = [Event("click", NOW - timedelta(days=d), "https://x.example/pricing") for d in (2, 5, 9)]


def test_a_lead_gets_its_fields_score_why_tags_and_how_long_they_hold():
    scored = evaluate(lead(), CLICKS, RULES, SETTINGS, NOW, SAY)
    assert (scored.score, scored.tags) == (30.0, ["lead:hot"])
    assert scored.why == "clicks_30d 3×5 +15; JOBTITLE contains head +15"
    assert scored.values["topics"] == "Pricing" and scored.values["tags"] == "lead:hot"
    assert scored.values["engagement_score"] == 15 and scored.values["fit_score"] == 15
    assert NOW < scored.stable_until <= NOW + timedelta(days=1)  # a day later days_since ticks


def test_a_member_whose_status_may_not_be_tagged_gets_no_tags_but_keeps_its_score():
    scored = evaluate(lead("unsubscribed"), CLICKS, RULES, SETTINGS, NOW, SAY)
    assert (scored.score, scored.tags, scored.values["tags"]) == (30.0, [], "")
