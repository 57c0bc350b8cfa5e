"""The team's own data in rules (docs/reference.md, "Your own columns and tabs"): the core
alone, plain values in and out, no mocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncbot.core.inputs import COUNT, TeamColumn, TeamHeaders, days_since
from syncbot.core.lead import Settings, evaluate
from syncbot.core.model import Member
from syncbot.core.rules import InvalidRules, parse_rules
from syncbot.core.values import to_serial
from syncbot.locales import rule_vocabulary
from tests.conftest import CELL, SAY

W = ["Field", "Operator", "Value", "Points", "Max", "Dimension", "Note"]
S = ["Tag", "Field", "Operator", "Value", "Group", "Note"]
FORM = "Form responses 1"
TEAM = TeamHeaders(leads_tab="Leads", leads=("Demo requested", "Sales stage", "Budget", "Met on"),
                   sources={FORM: ("Timestamp", "Email Address", "Which product?"),
                            "CRM!export": ("E-mail", "Stage")})
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def rules(weights=(), segments=(), team=TEAM):
    return parse_rules(weights=[W, *weights], segments=[S, *segments],
                       interests=[["Topic", "URL contains"]], lookback_days=90,
                       merge_tags=("JOBTITLE",), team=team, say=SAY, cell=CELL)


def problems(weights=(), segments=(), team=TEAM) -> list[str]:
    with pytest.raises(InvalidRules) as caught:
        rules(weights, segments, team)
    return caught.value.problems


def holds(field: str, operator: str, value, cell_value) -> bool:
    [rule] = rules([[field, operator, value, 1]]).weights
    assert rule.condition is not None
    return rule.condition.holds({rule.field: cell_value})


# ---- which name a Field resolves to -------------------------------------------------------

@pytest.mark.parametrize(("written", "field", "column"), [
    ("Demo requested", "Demo requested", TeamColumn("Leads", "Demo requested", in_leads=True)),
    ("  demo REQUESTED ", "Demo requested", TeamColumn("Leads", "Demo requested", in_leads=True)),
    ("Form responses 1!Timestamp", "Form responses 1!Timestamp", TeamColumn(FORM, "Timestamp")),
    ("form responses 1 ! which product?", "Form responses 1!Which product?",
     TeamColumn(FORM, "Which product?")),
    ("Form responses 1!count", "Form responses 1!count", TeamColumn(FORM, COUNT)),
    ("CRM!export!stage", "CRM!export!Stage", TeamColumn("CRM!export", "Stage")),  # a "!" title
])
def test_a_team_column_or_source_column_resolves_by_header_case_insensitively(written, field,
                                                                              column):
    ruleset = rules([[written, "is not empty", "", 5]])
    assert ruleset.weights[0].field == field
    assert ruleset.inputs == (column,)


def test_a_leads_header_with_an_exclamation_mark_is_still_a_leads_column():
    team = TeamHeaders(leads=("Urgent!",), sources={FORM: ("Email",)})
    ruleset = rules([["urgent!", "=", "yes", 5]], team=team)
    assert ruleset.inputs == (TeamColumn("Leads", "Urgent!", in_leads=True),)


def test_a_header_that_is_also_a_syncbot_field_is_the_field_and_nothing_is_read():
    team = TeamHeaders(leads=("Clicks_30d", "JobTitle"))
    ruleset = rules([["clicks_30d", "per", "", 1], ["jobtitle", "contains", "ceo", 1]], team=team)
    assert [r.field for r in ruleset.weights] == ["clicks_30d", "JOBTITLE"]
    assert ruleset.inputs == ()


def test_a_team_column_named_like_a_spanish_field_is_the_team_s():
    """Rules accept Spanish field names in any sheet, but a team's own "estado" column in
    an English sheet is what the team means; with no such column, it is ``status``."""
    team = TeamHeaders(leads=("Estado", "Demo requested"))
    ruleset = parse_rules(weights=[W, ["estado", "=", "won", 5], ["clics_30d", "per", "", 1]],
                          segments=[S], interests=[["Topic", "URL contains"]],
                          lookback_days=90, team=team, say=SAY, cell=CELL,
                          vocabulary=rule_vocabulary())
    assert [r.field for r in ruleset.weights] == ["Estado", "clicks_30d"]
    alone = parse_rules(weights=[W, ["estado", "=", "subscribed", 5]], segments=[S],
                        interests=[["Topic", "URL contains"]], lookback_days=90, say=SAY,
                        cell=CELL, vocabulary=rule_vocabulary())
    assert alone.weights[0].field == "status"


def test_the_rules_list_each_team_column_once_in_order_of_first_use():
    ruleset = rules([["Budget", ">", 100, 1], ["Demo requested", "=", "yes", 30]],
                    [["lead:demo", "demo requested", "=", "yes", ""],
                     ["lead:form", f"{FORM}!count", ">=", 1, ""]])
    assert [c.field for c in ruleset.inputs] == ["Budget", "Demo requested", f"{FORM}!count"]


# ---- how a team value compares ------------------------------------------------------------

@pytest.mark.parametrize(("operator", "value", "cell", "expected"), [
    ("=", "yes", True, True), ("=", "Sí", True, True), ("=", "si", True, True),
    ("=", "TRUE", True, True), ("=", "yes", False, False), ("=", "no", False, True),
    ("=", "false", False, True), ("!=", "yes", False, True), ("!=", "yes", True, False),
    ("in", "yes, maybe", True, True), ("not in", "yes", False, True),
    ("is empty", "", False, False),  # an unticked box is "no", not blank
    ("=", "yes", None, False), ("!=", "yes", None, True),
    ("=", "yes", "Yes", True),  # a typed "Yes" is text and equals as text
])
def test_a_checkbox_matches_yes_true_and_si(operator, value, cell, expected):
    assert holds("Demo requested", operator, value, cell) is expected


@pytest.mark.parametrize(("operator", "value", "cell", "expected"), [
    (">", 100, 250, True), (">", 100, "250", True), (">", "2,5", 3, True), (">", 100, None, False),
    ("between", "10..20", 15.5, True), ("in", "SQL, Opportunity", "opportunity", True),
    ("contains", "opp", "Opportunity", True), ("=", 3, "3", True),
])
def test_numbers_and_text_in_team_columns(operator, value, cell, expected):
    field = "Sales stage" if operator in ("in", "contains") else "Budget"
    assert holds(field, operator, value, cell) is expected


DAY_SERIAL = to_serial(datetime(2026, 1, 15, 9, 30, tzinfo=UTC))  # how a date cell reads


@pytest.mark.parametrize(("operator", "value", "cell", "expected"), [
    ("=", "2026-01-15", DAY_SERIAL, True), ("=", "2026-01-16", DAY_SERIAL, False),
    (">=", "2026-01-01", DAY_SERIAL, True), ("<", "2026-01-01", DAY_SERIAL, False),
    ("between", "2026-01-01..2026-01-31", DAY_SERIAL, True),
    (">=", "2026-01-01", "2026-01-15", True),  # a date typed as text
    ("=", "2026-01-15", None, False),
])
def test_dates_in_team_columns_compare_as_dates(operator, value, cell, expected):
    assert holds("Met on", operator, value, cell) is expected


# ---- days_since ---------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "days"), [
    (to_serial(NOW - timedelta(days=3, hours=1)), 3),
    (to_serial(NOW - timedelta(hours=23)), 0),
    (NOW - timedelta(days=10), 10),
    ("2026-11-01", 21),
    (None, None), ("soon", None), (True, None),
])
def test_days_since_counts_whole_days_from_any_date_value(value, days):
    assert days_since(value, NOW)[0] == days


def test_sheet_dates_are_wall_clock_times_in_the_spreadsheet_s_zone():
    """A form answered at 10:00 in Madrid three days ago was 09:00 UTC: at 09:30 UTC now it
    is three whole days old, not two (reading the serial as UTC would lose an hour)."""
    from syncbot.core.inputs import zone

    madrid = zone("Europe/Madrid")
    now = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    answered = to_serial(datetime(2026, 11, 19, 10, 0, tzinfo=UTC))  # the cell: 10:00 local
    assert days_since(answered, now, madrid) == (3, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert days_since(answered, now)[0] == 2  # the same cell in a UTC spreadsheet
    assert days_since(NOW - timedelta(days=3), NOW, madrid)[0] == 3  # syncbot's own dates
    assert zone("Nowhere/Nothing") is UTC


def test_days_since_says_when_its_count_next_changes():
    count, change = days_since(to_serial(NOW - timedelta(days=3, hours=1)), NOW)
    assert count == 3 and change == NOW + timedelta(hours=23)


def test_days_since_works_on_syncbot_dates_team_dates_and_source_dates():
    ruleset = rules([["days_since(last_open_at)", "<=", 7, 5],
                     [f"days_since({FORM}!Timestamp)", "<=", 14, 25],
                     ["Days_Since( met on )", ">", 30, -5]])
    assert [d.name for d in ruleset.days_since] == [
        "days_since(last_open_at)", f"days_since({FORM}!Timestamp)", "days_since(Met on)"]
    assert [c.field for c in ruleset.inputs] == [f"{FORM}!Timestamp", "Met on"]


# ---- one lead, scored with its team values ------------------------------------------------

def test_a_lead_scores_with_its_team_values_and_why_names_them():
    ruleset = rules([["Demo requested", "=", "yes", 30],
                     [f"days_since({FORM}!Timestamp)", "<=", 14, 25],
                     [f"{FORM}!count", "per", "", 5, 10],
                     ["Sales stage", "in", "SQL, Opportunity", 20, "", "fit"]],
                    [["lead:hot", "score", ">=", 60, "tier"], ["lead:cold", "", "", "", "tier"]])
    member = Member("ana@example.es", "subscribed")
    team = {"Demo requested": True, f"{FORM}!Timestamp": to_serial(NOW - timedelta(days=2)),
            f"{FORM}!count": 3, "Sales stage": "SQL"}
    scored = evaluate(member, [], ruleset, Settings(90, 30), NOW, SAY, team)
    assert scored.score == 85 and scored.tags == ["lead:hot"]
    assert scored.why == (f"Demo requested = yes +30; days_since({FORM}!Timestamp) <= 14 +25; "
                          "Sales stage in SQL, Opportunity +20; "
                          f"{FORM}!count 3×5=15, capped +10")
    assert scored.stable_until == NOW + timedelta(days=1)  # when days_since ticks to 3


def test_a_lead_without_team_values_counts_zero_rows_and_blank_columns():
    ruleset = rules([[f"{FORM}!count", "=", 0, 5], ["Demo requested", "is empty", "", 1]])
    scored = evaluate(Member("b@example.es", "subscribed"), [], ruleset, Settings(90, 30), NOW,
                      SAY)
    assert scored.score == 6
    assert scored.values[f"{FORM}!count"] == 0 and scored.values["Demo requested"] is None


# ---- what a typo gets ---------------------------------------------------------------------

@pytest.mark.parametrize(("field", "expected"), [
    ("Demo requestd", 'Weights!A2: no column "Demo requestd" in Leads '
                      '(did you mean "Demo requested"?)'),
    ("clics_30d", 'Weights!A2: unknown field "clics_30d" (did you mean "clicks_30d"?)'),
    ("Form responses 1!Timestam", 'Weights!A2: no column "Timestam" in Form responses 1 '
                                  '(did you mean "Timestamp"?); write Tab!Column with a header '
                                  "of row 1, or Tab!count for the number of rows."),
    ("Form responses!Timestamp", 'Weights!A2: "Form responses" is not one of the tabs in '
                                 '[sources] tabs (did you mean "Form responses 1"?). Add it to '
                                 'that list in the configuration (now: "Form responses 1", '
                                 '"CRM!export") to use its columns.'),
    ("days_since(opens_7d)", 'Weights!A2: days_since needs a date, but "opens_7d" is not one; '
                             "use a date field such as last_open_at, or a column holding dates."),
    ("days_since(Demo requestd)", 'Weights!A2: no column "Demo requestd" in Leads '
                                  '(did you mean "Demo requested"?)'),
])
def test_an_unknown_column_or_tab_names_the_cell_and_the_nearest_header(field, expected):
    assert problems([[field, "is not empty", "", 5]]) == [expected]


def test_a_source_tab_when_none_are_configured_says_so():
    [problem] = problems([["Form responses 1!Timestamp", "is not empty", "", 5]],
                         team=TeamHeaders())
    assert "(now: none)" in problem


def test_per_on_a_team_column_multiplies_its_number():
    ruleset = rules([["Budget", "per", "", 0.01, 20]])
    scored = evaluate(Member("c@example.es", "subscribed"), [], ruleset, Settings(90, 30), NOW,
                      SAY, {"Budget": 1500})
    assert scored.score == 15


def test_the_readme_worked_example_with_team_data_is_what_the_code_does():
    from pathlib import Path

    from syncbot.core.model import Event

    ruleset = parse_rules(
        weights=[W, ["clicks_30d", "per", "", 5, 20, ""], ["opens_7d", ">", 0, 10, "", ""],
                 ["days_since_last_activity", ">", 90, -15, "", ""],
                 ["JOBTITLE", "contains", "director, ceo, head", 15, "", "fit"],
                 ["country", "in", "ES, MX, AR", 5, "", "fit"],
                 ["# topics", "contains", "pricing", 12, "", ""],
                 ["Demo requested", "=", "yes", 30, "", "fit"],
                 [f"days_since({FORM}!Timestamp)", "<=", 14, 20, "", ""],
                 [f"{FORM}!count", "per", "", 5, 10, ""]],
        segments=[S, ["lead:hot", "score", ">=", 60, "tier"], ["lead:warm", "score", ">=", 25,
                                                              "tier"],
                  ["lead:cold", "", "", "", "tier"]],
        interests=[["Topic", "URL contains"]], lookback_days=90, merge_tags=["JOBTITLE"],
        team=TEAM, say=SAY, cell=CELL)
    lucia = Member("lucia@empresa.mx", "subscribed", merge_fields={"JOBTITLE": "Head of Marketing"},
                   country="MX", subscribed_at=NOW - timedelta(days=300))
    events = [Event("click", NOW - timedelta(days=d), "https://x") for d in (2, 5, 9, 12, 20, 25)]
    events.append(Event("open", NOW - timedelta(days=1)))
    team = {"Demo requested": True, f"{FORM}!Timestamp": to_serial(NOW - timedelta(days=3)),
            f"{FORM}!count": 2}
    scored = evaluate(lucia, events, ruleset, Settings(90, 30), NOW, SAY, team)
    values = scored.values
    assert (values["engagement_score"], values["fit_score"], scored.score) == (60, 50, 110)
    assert scored.tags == ["lead:hot"]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    assert f"`{scored.why}`" in readme


def test_a_name_two_columns_carry_means_the_first_column():
    team = TeamHeaders(leads=("stage", "Stage"), sources={FORM: ("Email", "q", "Q")})
    ruleset = rules([["STAGE", "is not empty", "", 1], [f"{FORM}!Q", "is not empty", "", 1]],
                    team=team)
    assert [c.header for c in ruleset.inputs] == ["stage", "q"]
