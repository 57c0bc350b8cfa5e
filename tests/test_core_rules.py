"""The rule grammar (docs/reference.md, "Rules"):
every operator against every kind of value, and every validation message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syncbot.core.rules import InvalidRules, parse_rules
from syncbot.core.values import parse_number
from tests.conftest import CELL, SAY

W_HEADER = ["Field", "Operator", "Value", "Points", "Max", "Dimension", "Note"]
S_HEADER = ["Tag", "Field", "Operator", "Value", "Group", "Note"]
I_HEADER = ["Topic", "URL contains"]
MERGE = ("FNAME", "COMPANY", "JOBTITLE", "EMPLOYEES")


def rules(weights=(), segments=(), interests=(), **kw):
    return parse_rules(weights=[W_HEADER, *weights], segments=[S_HEADER, *segments],
                       interests=[I_HEADER, *interests], lookback_days=kw.pop("lookback_days", 90),
                       merge_tags=kw.pop("merge_tags", MERGE), say=SAY, cell=CELL, **kw)


def holds(field, operator, value, field_value) -> bool:
    [rule] = rules([[field, operator, value, 1]]).weights
    return rule.condition.holds({field: field_value})


# field value kinds: blank, number, numeric text, text, boolean
BLANK, NUM, NUMTEXT, TEXT = None, 12, "12", "Director of Sales"
CASES = [
    # operator, value, field, {field value: expected}
    ("=", 12, "clicks_30d", {BLANK: False, NUM: True, 12.0: True, 13: False}),
    ("=", "12", "EMPLOYEES", {BLANK: False, NUMTEXT: True, "012": True, "twelve": False}),
    ("=", "director of sales", "JOBTITLE", {BLANK: False, TEXT: True, "Director": False}),
    ("=", "true", "vip", {True: True, False: False}),
    ("!=", 12, "clicks_30d", {BLANK: True, NUM: False, 5: True}),
    ("!=", "ceo", "JOBTITLE", {BLANK: True, "CEO": False, TEXT: True, "": True}),
    (">", 10, "clicks_30d", {BLANK: False, NUM: True, 10: False, 0: False}),
    (">", "10", "EMPLOYEES", {BLANK: False, NUMTEXT: True, "ten": False, "  ": False}),
    (">=", 12, "clicks_30d", {BLANK: False, NUM: True, 11.99: False}),
    ("<", "2,5", "avg_order_value", {BLANK: False, 2.4: True, 2.5: False, 0: True}),
    ("<=", 2.5, "avg_order_value", {BLANK: False, 2.5: True, 2.51: False}),
    ("between", "10..12", "clicks_30d", {BLANK: False, 10: True, NUM: True, 12.5: False, 9: False}),
    ("between", "1,5..2,5", "avg_order_value", {2: True, 1.4: False}),
    ("contains", "director, ceo", "JOBTITLE", {BLANK: False, TEXT: True, "Our CEO": True,
                                               "Analyst": False}),
    ("not contains", "director, ceo", "JOBTITLE", {BLANK: True, TEXT: False, "Analyst": True}),
    ("in", "ES, MX, ar", "country", {BLANK: False, "ES": True, "ar": True, "AR": True,
                                     "ESP": False}),
    ("not in", "ES, MX", "country", {BLANK: True, "ES": False, "US": True}),
    ("in", "1, 5", "member_rating", {BLANK: False, 1: True, 5.0: True, 3: False}),
    ("is empty", "", "COMPANY", {BLANK: True, "": True, "  ": True, "Acme": False, 0: False}),
    ("is not empty", "", "COMPANY", {BLANK: False, "": False, "Acme": True, 0: True}),
    ("contains", "pricing", "topics", {BLANK: False, "Pricing, Webinar": True, "SEO": False}),
]


@pytest.mark.parametrize(("operator", "value", "field", "table"), CASES,
                         ids=[f"{c[2]} {c[0]} {c[1]}" for c in CASES])
def test_operator_truth_table(operator, value, field, table):
    for field_value, expected in table.items():
        assert holds(field, operator, value, field_value) is expected, (field_value, expected)


def test_dates_compare_as_dates():
    moment = datetime(2026, 3, 10, 15, tzinfo=UTC)
    assert holds("last_open_at", ">", "2026-03-01", moment)
    assert not holds("last_open_at", ">", "2026-03-11", moment)
    assert holds("last_open_at", ">", 46082, moment)  # a date cell: serial number for 2026-03-01
    assert holds("subscribed_at", "between", "2026-01-01..2026-12-31", moment)
    assert holds("subscribed_at", "=", "2026-03-10", moment)
    assert not holds("subscribed_at", "=", "2026-03-11", moment)
    assert not holds("last_open_at", ">", "2026-03-01", None)


@pytest.mark.parametrize(("text", "number"), [
    ("2,5", 2.5), ("2.5", 2.5), ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("-10", -10.0),
    ("1,234", 1.234), ("1.234.567", 1234567.0), ("1,234,567", 1234567.0), (" 7 ", 7.0),
    (",5", 0.5), (3, 3.0), (2.5, 2.5), ("abc", None), ("", None), (True, None), ("1..2", None),
    ("63%", 0.63), ("12,5 %", 0.125), ("%", None),
])
def test_numbers_in_either_notation(text, number):
    assert parse_number(text) == number


def test_a_rate_shown_as_a_percentage_can_be_written_as_one():
    assert holds("avg_open_rate", ">", "30%", 0.63)
    assert not holds("avg_open_rate", ">", "70 %", 0.63)


def test_per_with_max_and_dimensions_and_case_insensitive_fields():
    ruleset = rules([
        ["Clicks_30D", "PER", "", "2,5", "", ""],
        ["jobtitle", "Contains", "director", 10, None, "Fit"],
        ["opens_30d", "per", None, -1, 5, "engagement"],
    ])
    per, condition, capped = ruleset.weights
    assert (per.field, per.operator, per.points, per.max, per.dimension) == \
        ("clicks_30d", "per", 2.5, None, "engagement")
    assert (condition.field, condition.dimension) == ("JOBTITLE", "fit")
    assert (capped.points, capped.max) == (-1, 5)


def test_headers_found_by_name_in_any_order_with_team_columns():
    weights = [["Note", "Owner", "points", "FIELD", "operator", "Value"],
               ["why not", "Ana", 5, "clicks_7d", ">", 0]]
    ruleset = parse_rules(weights=weights, segments=[["tag", "group", "Field", "Operator"],
                                                     ["lead:hot", "tier", "", ""]],
                          interests=[["URL contains", "Topic"], ["/pricing", "Pricing"]],
                          lookback_days=90, say=SAY, cell=CELL)
    assert [(r.field, r.points) for r in ruleset.weights] == [("clicks_7d", 5)]
    assert ruleset.segments[0].group == "tier" and ruleset.segments[0].condition is None
    assert ruleset.interests[0].topic == "Pricing"


def test_comment_and_blank_rows_are_skipped():
    ruleset = rules(
        [["# clicks matter", "per", "", 5], ["", ">", 1, 5], [], ["#opens_7d", "???", "", "x"]],
        [["# lead:old", "score", ">", 1], [], ["", "", "", "", "", "a note only"]],
        [["# Topic", ""], []])
    assert ruleset.weights == () and ruleset.segments == () and ruleset.interests == ()


def test_segments_can_use_scores_but_weights_cannot():
    ruleset = rules(segments=[["lead:hot", "score", ">=", 60, "tier"],
                              ["fit", "fit_score", ">", 0, ""]])
    assert [r.tag for r in ruleset.segments] == ["lead:hot", "fit"]
    assert ruleset.managed_tags == ("lead:hot", "fit")


def problems(weights=(), segments=(), interests=(), **kw) -> list[str]:
    with pytest.raises(InvalidRules) as failed:
        rules(weights, segments, interests, **kw)
    return failed.value.problems


MESSAGES = [
    # (weights rows, segments rows, interests rows, expected problem)
    ([["clics_30d", "per", "", 5]], [], [],
     'Weights!A2: unknown field "clics_30d" (did you mean "clicks_30d"?)'),
    ([["zzzz", "per", "", 5]], [], [],
     'Weights!A2: unknown field "zzzz": use a field from the README, "Fields", a merge tag '
     "of your audience (FNAME, COMPANY, …), a column of Leads by its header, or Tab!Column for "
     "a tab listed in [sources] tabs"),
    ([["opens_90d", "per", "", 5]], [], [],
     'Weights!A2: unknown field "opens_90d" (did you mean "opens_30d"?)'),  # lookback 30
    ([["clicks_7d", "", "", 5]], [], [],
     "Weights!B2: no Operator; choose one of: per, =, !=, >, >=, <, <=, between, contains, "
     "not contains, in, not in, is empty, is not empty."),
    ([["JOBTITLE", "containz", "ceo", 5]], [], [],
     'Weights!B2: unknown operator "containz" (did you mean "contains"?); choose one of: per, =, !=, >, >=, '
     "<, <=, between, contains, not contains, in, not in, is empty, is not empty."),
    ([["clicks_7d", "between", "10-50", 5]], [], [],
     'Weights!C2: "between" needs two numbers written as a..b, e.g. 10..50 (got "10-50").'),
    ([["clicks_7d", "between", "50..10", 5]], [], [],
     'Weights!C2: in "50..10" the first number is larger than the second; write the smaller one '
     "first."),
    ([["clicks_7d", ">", "many", 5]], [], [],
     'Weights!C2: ">" compares numbers, but the Value is "many"; write a number such as 10 or 2,5.'),
    ([["country", ">", 5, 5]], [], [],
     'Weights!C2: "country" is text, so ">" (a number comparison) is never true; use =, '
     "contains or in."),
    ([["last_open_at", ">", "last week", 5]], [], [],
     'Weights!C2: "last_open_at" is a date, so write the Value as a date such as 2026-01-31 '
     '(got "last week").'),
    ([["country", "=", "", 5]], [], [],
     'Weights!C2: "=" needs a Value; to test for a blank field use "is empty".'),
    ([["JOBTITLE", "contains", "", 5]], [], [], 'Weights!C2: "contains" needs a Value.'),
    ([["COMPANY", "is empty", "Acme", 5]], [], [],
     'Weights!C2: "is empty" takes no Value; clear this cell.'),
    ([["clicks_7d", "per", 3, 5]], [], [], 'Weights!C2: "per" takes no Value; clear this cell.'),
    ([["country", "per", "", 5]], [], [],
     "Weights!A2: \"per\" multiplies Points by the field's number, but \"country\" is text; use a "
     "number field such as clicks_30d."),
    ([["clicks_7d", ">", 1, ""]], [], [],
     "Weights!D2: Points is empty; write how many points the rule gives (it may be negative)."),
    ([["clicks_7d", ">", 1, "five"]], [], [],
     'Weights!D2: Points "five" is not a number; write a number such as 5, -10 or 2,5.'),
    ([["clicks_7d", "per", "", 5, "lots"]], [], [],
     'Weights!E2: Max "lots" is not a number; leave it blank for no cap.'),
    ([["clicks_7d", ">", 1, 5, 10]], [], [],
     "Weights!E2: Max only caps \"per\" rules; clear it, or change the Operator to per."),
    ([["clicks_7d", "per", "", 5, "", "fitt"]], [], [],
     'Weights!F2: unknown Dimension "fitt" (did you mean "fit"?); use engagement or fit (blank '
     "means engagement)."),
    ([["score", ">", 1, 5]], [], [],
     'Weights!A2: "score" is the result of the Weights tab itself; use it in the Segments tab '
     "instead."),
    ([], [["lead:x", "clicks_7d", "", ""]], [],
     "Segments!C2: no Operator; choose one of: =, !=, >, >=, <, <=, between, contains, not "
     "contains, in, not in, is empty, is not empty."),
    ([], [["lead:x", "", ">", 5]], [],
     "Segments!B2: there is an Operator but no Field; fill in the Field or clear the Operator."),
    ([], [["lead:x", "clicks_7d", "per", ""]], [],
     'Segments!C2: "per" only works in the Weights tab; in Segments use a comparison such as >=.'),
    ([], [["", "score", ">", 5]], [],
     "Segments!A2: this row has a rule but no Tag; write the tag's name or clear the row."),
    ([], [["lead:hot", "score", ">", 60, "tier"], ["Lead:Hot", "score", ">", 50, "Tier"]], [],
     'Segments!A3: tag "Lead:Hot" already has row 2; give each tag a single row.'),
    ([], [["lead:hot", "score", ">", 60, "tier"], ["lead:hot", "score", ">", 50, ""]], [],
     'Segments!A3: tag "lead:hot" is in no group here but in group "tier" on row 2; a tag belongs '
     "to one group."),
    ([], [], [["", "/pricing"]],
     'Interests!A2: there is a "URL contains" or "Product contains" text but no Topic; write the '
     "topic's name or clear the row."),
    ([], [], [["Pricing", ""]],
     'Interests!B2: topic "Pricing" has neither a "URL contains" nor a "Product contains" text; '
     "write part of a link (e.g. /pricing) or of a product's name (e.g. boots)."),
]


@pytest.mark.parametrize(("weights", "segments", "interests", "expected"), MESSAGES,
                         ids=[m[3][:60] for m in MESSAGES])
def test_every_validation_message(weights, segments, interests, expected):
    lookback = 30 if "opens_90d" in expected else 90
    assert problems(weights, segments, interests, lookback_days=lookback) == [expected]


def test_missing_and_duplicate_headers():
    with pytest.raises(InvalidRules) as failed:
        parse_rules(weights=[["Field", "Operator", "Value"]], segments=[["Tag", "Field", "Operator",
                                                                         "Field"]],
                    interests=[], lookback_days=90, say=SAY, cell=CELL)
    assert failed.value.problems == [
        'Weights!1: there is no "Points" column. Add a header cell named "Points" to row 1 (this '
        "tab's columns: Field, Operator, Value, Points, Max, Dimension, Note).",
        'Segments!D1: "Field" is also the header of Segments!B1; rename or remove one of them.',
        'Interests!1: there is no "Topic" column. Add a header cell named "Topic" to row 1 (this '
        "tab's columns: Topic, URL contains, Product contains).",
        'Interests!1: there is no "URL contains" column. Add a header cell named "URL contains" to '
        "row 1 (this tab's columns: Topic, URL contains, Product contains).",
    ]


def test_all_problems_of_all_tabs_are_reported_together_and_named_by_cell():
    found = problems([["clics_30d", "per", "", 5], ["clicks_7d", ">", "x", "y"]],
                     [["lead:hot", "scor", ">=", 60, "tier"]], [["Pricing", ""]])
    assert [p.split(":")[0] for p in found] == ["Weights!A2", "Weights!C3", "Weights!D3",
                                                "Segments!B2", "Interests!B2"]


def test_a_field_named_like_a_merge_tag_prefers_the_spec_field():
    ruleset = rules([["country", "=", "ES", 1], ["COUNTRY", "=", "ES", 1]],
                    merge_tags=("COUNTRY",))
    assert [r.field for r in ruleset.weights] == ["country", "COUNTRY"]
