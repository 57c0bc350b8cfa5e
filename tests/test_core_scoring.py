"""Scores, explanations, segments and the tag plan — with property tests for the plan."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from syncbot.core.rules import parse_rules
from syncbot.core.scoring import Scorer, explain
from syncbot.core.segments import assign_tags
from syncbot.core.tagplan import TagPlan, apply_plan, plan_tags, safety_problems
from syncbot.core.vocabulary import Labels
from tests.conftest import CELL, SAY

W = ["Field", "Operator", "Value", "Points", "Max", "Dimension"]
S = ["Tag", "Field", "Operator", "Value", "Group"]
DEFAULT_SEGMENTS = [S, ["lead:hot", "score", ">=", 60, "tier"],
                    ["lead:warm", "score", ">=", 25, "tier"], ["lead:cold", "", "", "", "tier"],
                    ["lead:sunset", "days_since_last_activity", ">", 180, ""]]


def ruleset(weights=(), segments=DEFAULT_SEGMENTS):
    return parse_rules(weights=[W, *weights], segments=segments, interests=[["Topic", "URL contains"]],
                       lookback_days=90, merge_tags=("JOBTITLE", "COMPANY"), say=SAY, cell=CELL)


def score(weights, features):
    return Scorer(ruleset(weights).weights, SAY).score(features)


def test_per_multiplies_and_max_caps_in_magnitude():
    rules = [["clicks_30d", "per", "", 5, 20, ""], ["opens_30d", "per", "", -2, 3, ""]]
    result = score(rules, {"clicks_30d": 3, "opens_30d": 4})
    assert (result.engagement, result.fit, result.total) == (12.0, 0.0, 12.0)
    assert result.why == "clicks_30d 3×5 +15; opens_30d 4×-2=-8, capped -3"
    assert score(rules, {"clicks_30d": 9, "opens_30d": 0}).why == "clicks_30d 9×5=45, capped +20"


def test_conditions_negative_points_and_dimensions():
    rules = [["JOBTITLE", "contains", "director, ceo", 10, "", "fit"],
             ["status", "=", "unsubscribed", -20, "", ""],
             ["clicks_7d", ">", 0, "2,5", "", ""],
             ["COMPANY", "is empty", "", -1, "", "fit"]]
    result = score(rules, {"JOBTITLE": "CEO", "status": "unsubscribed", "clicks_7d": 1,
                           "COMPANY": ""})
    assert (result.engagement, result.fit, result.total) == (-17.5, 9.0, -8.5)
    assert result.why == ("status = unsubscribed -20; JOBTITLE contains director, ceo +10; "
                          "clicks_7d > 0 +2.5; COMPANY is empty -1")


def test_why_writes_numbers_with_the_sheets_decimal_mark():
    """In a sheet whose locale writes 2,5 (es_ES), "2.345" would read as two thousand."""
    rules = ruleset([["opens_decayed", "per", "", "1,5", 3, ""], ["clicks_7d", ">", 0, "2,5", "", ""],
                     ["clicks_30d", "per", "", 2, "", ""]]).weights
    features = {"opens_decayed": 2.345, "clicks_7d": 1, "clicks_30d": 3}
    comma = Scorer(rules, SAY, Labels(decimal=",")).score(features)
    assert comma.why == ("clicks_30d 3×2 +6; opens_decayed 2,35×1,5=3,52, capped +3; "
                         "clicks_7d > 0 +2,5")
    assert Scorer(rules, SAY).score(features).why == (
        "clicks_30d 3×2 +6; opens_decayed 2.35×1.5=3.52, capped +3; clicks_7d > 0 +2.5")
    assert comma.total == 11.5  # the numbers themselves are the same


def test_nothing_true_means_zero_and_a_why_that_says_so():
    result = score([["clicks_7d", ">", 5, 10, "", ""], ["opens_7d", "per", "", 1, "", ""]],
                   {"clicks_7d": 0, "opens_7d": None})
    assert (result.total, result.why) == (0.0, "no rule matched: 0")


def test_scores_have_two_decimals():
    result = score([["avg_open_rate", "per", "", 3.3333, "", ""]], {"avg_open_rate": 0.123})
    assert result.total == 0.41 and result.engagement == 0.41


def test_why_stays_short_and_says_how_many_more():
    parts = [f"field_{i} contains something long +{i}" for i in range(40)]
    text = explain(parts, SAY)
    assert len(text) <= 300 and text.endswith("more")
    shown = text.count("contains")
    assert text.endswith(f"+{40 - shown} more")
    assert explain(["a", "b"], SAY) == "a; b"


def test_equal_contributions_keep_rule_order():
    rules = [["clicks_7d", ">", 0, 5, "", ""], ["opens_7d", ">", 0, -5, "", ""],
             ["clicks_30d", ">", 0, 5, "", ""]]
    assert score(rules, {"clicks_7d": 1, "opens_7d": 1, "clicks_30d": 1}).why == \
        "clicks_7d > 0 +5; opens_7d > 0 -5; clicks_30d > 0 +5"


def tags_for(features, segments=DEFAULT_SEGMENTS):
    return assign_tags(features, ruleset(segments=segments).segments)


def test_default_template_tiers_and_sunset():
    assert tags_for({"score": 75, "days_since_last_activity": 3}) == ["lead:hot"]
    assert tags_for({"score": 60, "days_since_last_activity": 181}) == ["lead:hot", "lead:sunset"]
    assert tags_for({"score": 30}) == ["lead:warm"]
    assert tags_for({"score": -5, "days_since_last_activity": 180}) == ["lead:cold"]


def test_first_matching_row_of_a_group_wins_and_groups_are_independent():
    segments = [S, ["a", "score", ">", 10, "g1"], ["b", "score", ">", 5, "g1"],
                ["c", "score", ">", 5, "G2"], ["d", "", "", "", "g2"], ["e", "score", ">", 0, ""],
                ["f", "score", ">", 0, ""]]
    assert tags_for({"score": 7}, segments) == ["b", "c", "e", "f"]
    assert tags_for({"score": 20}, segments) == ["a", "c", "e", "f"]
    assert tags_for({"score": 0}, segments) == ["d"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["score", "clicks_7d", "opens_7d"]),
                          st.sampled_from([">", "<=", "="]), st.integers(-5, 5)),
                min_size=1, max_size=6),
       st.randoms(use_true_random=False),
       st.fixed_dictionaries({"score": st.integers(-5, 5), "clicks_7d": st.integers(0, 5),
                              "opens_7d": st.integers(0, 5)}))
def test_reordering_ungrouped_rows_never_changes_tags(conditions, rnd, features):
    rows = [[f"tag{i}", field, op, value, ""] for i, (field, op, value) in enumerate(conditions)]
    grouped = [["hot", "score", ">", 3, "tier"], ["cold", "", "", "", "tier"]]
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    before = tags_for(features, [S, *grouped, *rows])
    after = tags_for(features, [S, *shuffled, *grouped])
    assert set(before) == set(after)


# ---- tag plan -----------------------------------------------------------------------------------

MANAGED = ("lead:hot", "lead:cold")


def test_plan_touches_only_managed_tags_and_eligible_members():
    current = {"lead:hot": {"a", "b", "gone"}, "lead:cold": {"c"}, "webinar": {"a"}}
    desired = {"a": ["lead:hot", "webinar"], "b": ["lead:cold"], "c": ["lead:hot"],
               "d": ["lead:hot"], "u": ["lead:cold"]}
    statuses = {"a": "subscribed", "b": "subscribed", "c": "subscribed", "d": "subscribed",
                "u": "unsubscribed", "gone": "cleaned"}
    plan = plan_tags(managed=MANAGED, current=current, desired=desired, statuses=statuses,
                     tag_statuses={"subscribed"})
    assert plan.adds == {"lead:hot": {"c", "d"}, "lead:cold": {"b"}}
    assert plan.removes == {"lead:hot": {"b"}, "lead:cold": {"c"}}  # "gone" is not eligible
    assert "webinar" not in plan.adds
    assert (plan.tagged_now, plan.losing, plan.total_adds, plan.total_removes) == (4, 2, 3, 2)
    assert plan.removal_fraction == 0.5


keys = st.sampled_from([f"m{i}" for i in range(12)])
tag_sets = st.dictionaries(st.sampled_from(list(MANAGED) + ["manual"]), st.sets(keys, max_size=8))
statuses = st.dictionaries(keys, st.sampled_from(["subscribed", "unsubscribed", "cleaned"]))
wishes = st.dictionaries(keys, st.lists(st.sampled_from(list(MANAGED) + ["manual"]), max_size=3))


@settings(max_examples=200, deadline=None)
@given(tag_sets, wishes, statuses)
def test_applying_a_plan_yields_the_desired_state(current, desired, member_statuses):
    eligible_statuses = {"subscribed"}
    plan = plan_tags(managed=MANAGED, current=current, desired=desired, statuses=member_statuses,
                     tag_statuses=eligible_statuses)
    after = apply_plan(current, plan)
    eligible = {k for k, s in member_statuses.items() if s in eligible_statuses}
    for tag in MANAGED:
        wanted = {k for k in eligible if tag in desired.get(k, [])}
        assert after.get(tag, set()) & eligible == wanted
        assert after.get(tag, set()) - eligible == set(current.get(tag, set())) - eligible
    assert after.get("manual", set()) == set(current.get("manual", set()))
    again = plan_tags(managed=MANAGED, current=after, desired=desired, statuses=member_statuses,
                      tag_statuses=eligible_statuses)
    assert again.is_empty


@settings(max_examples=200, deadline=None)
@given(wishes, statuses)
def test_planning_desired_against_itself_is_empty(desired, member_statuses):
    current: dict[str, set[str]] = {}
    for key, tags in desired.items():
        for tag in tags:
            current.setdefault(tag, set()).add(key)
    plan = plan_tags(managed=MANAGED, current=current, desired=desired, statuses=member_statuses,
                     tag_statuses={"subscribed", "unsubscribed", "cleaned"})
    assert plan.is_empty and plan.losing == 0


def test_safety_numbers_and_messages():
    plan = TagPlan(tagged_now=100, losing=30)
    [too_many] = safety_problems(plan, max_removal_fraction=0.25, pulled_members=1000,
                                 leads_in_sheet=1000, say=SAY)
    assert too_many.startswith("30 of the 100 members who hold a managed tag now (30%) would lose "
                               "one, more than [safety] max_removal_fraction = 0.25")
    assert safety_problems(TagPlan(tagged_now=100, losing=25), max_removal_fraction=0.25,
                           pulled_members=10, leads_in_sheet=20, say=SAY) == []
    assert safety_problems(TagPlan(), max_removal_fraction=0.25, pulled_members=0,
                           leads_in_sheet=0, say=SAY)[0].startswith("Mailchimp returned no members")
    [shrunk] = safety_problems(TagPlan(), max_removal_fraction=0.25, pulled_members=9,
                               leads_in_sheet=20, say=SAY)
    assert shrunk.startswith("Mailchimp returned 9 members but the Leads tab already lists 20")
    assert TagPlan().removal_fraction == 0.0


def test_random_large_plan_is_consistent():
    rng = random.Random(5)
    members = {f"m{i}": rng.choice(["subscribed", "unsubscribed"]) for i in range(2000)}
    current = {tag: {k for k in members if rng.random() < 0.3} for tag in MANAGED}
    desired = {k: [t for t in MANAGED if rng.random() < 0.3] for k in members}
    plan = plan_tags(managed=MANAGED, current=current, desired=desired, statuses=members,
                     tag_statuses={"subscribed"})
    assert plan.losing == len(set().union(*plan.removes.values()))


def test_the_readme_worked_example_is_what_the_code_does():
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from syncbot.core.fields import compute_features
    from syncbot.core.model import Event, Member

    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    rules = parse_rules(
        weights=[W, ["clicks_30d", "per", "", 5, 20, ""], ["opens_7d", ">", 0, 10, "", ""],
                 ["days_since_last_activity", ">", 90, -15, "", ""],
                 ["JOBTITLE", "contains", "director, ceo, head", 15, "", "fit"],
                 ["country", "in", "ES, MX, AR", 5, "", "fit"],
                 ["# topics", "contains", "pricing", 12, "", ""]],
        segments=DEFAULT_SEGMENTS, interests=[["Topic", "URL contains"]], lookback_days=90,
        merge_tags=["JOBTITLE"], say=SAY, cell=CELL)
    lucia = Member("lucia@example.mx", "subscribed", merge_fields={"JOBTITLE": "Head of Marketing"},
                   country="MX", subscribed_at=now - timedelta(days=300))
    events = [Event("click", now - timedelta(days=d), "https://x") for d in (2, 5, 9, 12, 20, 25)]
    events.append(Event("open", now - timedelta(days=1)))
    features = compute_features(lucia, events, now=now, lookback_days=90, half_life_days=30)
    result = Scorer(rules.weights, SAY).score(features)
    features.update(engagement_score=result.engagement, fit_score=result.fit, score=result.total)
    assert (result.engagement, result.fit, result.total) == (30, 20, 50)
    assert assign_tags(features, rules.segments) == ["lead:warm"]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert f"`{result.why}`" in readme


def test_the_spanish_readme_worked_example_is_what_the_code_does():
    """README.es.md's example, written with the Spanish sheet's words, scores Lucía the same
    and explains it in Spanish."""
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from syncbot.core.fields import compute_features
    from syncbot.core.model import Event, Member
    from syncbot.locales import Catalogue, rule_vocabulary
    from syncbot.sheets.language import csv_rows, sheet_language, template_text

    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    spanish = sheet_language("es")
    rules = parse_rules(
        weights=[["Campo", "Operador", "Valor", "Puntos", "Máximo", "Dimensión", "Nota"],
                 ["clics_30d", "por", "", 5, 20, ""], ["aperturas_7d", ">", 0, 10, "", ""],
                 ["dias_desde_ultima_actividad", ">", 90, -15, "", ""],
                 ["JOBTITLE", "contiene", "director, ceo, head", 15, "", "perfil"],
                 ["pais", "en", "ES, MX, AR", 5, "", "perfil"]],
        segments=csv_rows(template_text("es", "Segments.csv")),
        interests=[["Tema", "URL contiene"]], lookback_days=90, merge_tags=["JOBTITLE"],
        say=SAY, cell=CELL, vocabulary=rule_vocabulary(), labels=spanish.labels)
    lucia = Member("lucia@example.mx", "subscribed", merge_fields={"JOBTITLE": "Head of Marketing"},
                   country="MX", subscribed_at=now - timedelta(days=300))
    events = [Event("click", now - timedelta(days=d), "https://x") for d in (2, 5, 9, 12, 20, 25)]
    events.append(Event("open", now - timedelta(days=1)))
    features = compute_features(lucia, events, now=now, lookback_days=90, half_life_days=30)
    result = Scorer(rules.weights, Catalogue("es"), spanish.labels).score(features)
    features.update(engagement_score=result.engagement, fit_score=result.fit, score=result.total)
    assert (result.engagement, result.fit, result.total) == (30, 20, 50)
    assert assign_tags(features, rules.segments) == ["lead:templado"]
    readme = (Path(__file__).resolve().parents[1] / "README.es.md").read_text("utf-8")
    assert f"`{result.why}`" in readme, result.why
