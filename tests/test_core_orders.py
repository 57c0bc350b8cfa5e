"""The purchase fields (docs/reference.md, "Purchases"), table by table.

No mocks: plain orders in, plain values out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncbot.core.fields import Interest, compute_features, field_kinds
from syncbot.core.lead import Evaluator, Settings
from syncbot.core.model import Member, Order
from syncbot.core.orders import ORDER_FIELDS, order_field_kinds, order_fields, orders_stable_until
from syncbot.core.rules import Ruleset
from syncbot.locales import Catalogue

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def fields(orders, order_days=365, now=NOW):
    return order_fields(orders, now=now, order_days=order_days)


def test_no_orders_gives_blanks_and_zeros():
    assert fields([]) == {"last_order_at": None, "days_since_last_order": None,
                          "orders_30d": 0, "orders_90d": 0, "orders_365d": 0,
                          "revenue_90d": 0, "revenue_365d": 0,
                          "avg_days_between_orders": None, "email_orders_90d": 0,
                          "products": None}


@pytest.mark.parametrize(("age", "in30", "in90", "in365"), [
    (0, 1, 1, 1),
    (30, 1, 1, 1),  # "at most 30 days old" includes exactly 30
    (30.001, 0, 1, 1),
    (90, 0, 1, 1),
    (90.5, 0, 0, 1),
    (365, 0, 0, 1),
    (365.001, 0, 0, 0),  # past the lookback: ignored
])
def test_window_edges(age, in30, in90, in365):
    row = fields([Order(ago(age), 10.0)])
    assert (row["orders_30d"], row["orders_90d"], row["orders_365d"]) == (in30, in90, in365)


def test_recency_revenue_frequency_and_products():
    orders = [Order(ago(100), 40.0, False, ("Boots", "Socks")),
              Order(ago(10.5), 19.999, True, ("Scarf",)),
              Order(ago(40), 5.0, True, ("socks ", "Boots")),
              Order(ago(2), 20.0, False, ("Boots",)),
              Order(ago(400), 99.0, True, ("Hat",))]  # past the lookback
    row = fields(orders)
    assert row["last_order_at"] == ago(2) and row["days_since_last_order"] == 2
    assert (row["orders_30d"], row["orders_90d"], row["orders_365d"]) == (2, 3, 4)
    assert (row["revenue_90d"], row["revenue_365d"]) == (45.0, 85.0)
    assert row["avg_days_between_orders"] == round(98 / 3, 1)  # (last - first) / (orders - 1)
    assert row["email_orders_90d"] == 2
    assert row["products"] == "Boots, Scarf, socks, Socks"  # newest first, each title once


def test_average_gap_is_blank_under_two_orders():
    assert fields([Order(ago(3), 1.0)])["avg_days_between_orders"] is None


def test_future_orders_wait_for_their_time():
    row = fields([Order(NOW + timedelta(hours=2), 50.0)])
    assert row["orders_30d"] == 0 and row["last_order_at"] is None


def test_windows_past_the_orders_lookback_are_not_offered():
    assert set(order_field_kinds(90)) == ORDER_FIELDS - {"orders_365d", "revenue_365d"}
    assert set(order_field_kinds(60)) == ORDER_FIELDS - {"orders_365d", "revenue_365d",
                                                          "orders_90d", "revenue_90d",
                                                          "email_orders_90d"}
    assert "orders_90d" in field_kinds(90, 365) and "orders_90d" not in field_kinds(90)
    assert set(fields([], order_days=90)) == set(order_field_kinds(90))


def test_a_bought_product_gives_a_topic():
    interests = [Interest("Footwear", "", "boot"), Interest("Pricing", "/pricing", ""),
                 Interest("Everything", "", "")]  # blank on both sides matches nothing
    row = compute_features(Member("a@x.com", "subscribed"), [], now=NOW, lookback_days=90,
                           half_life_days=30, interests=interests, products=["Winter BOOTS"])
    assert row["topics"] == "Footwear"


@settings(max_examples=150, deadline=None)
@given(ages=st.lists(st.floats(min_value=-5, max_value=400), max_size=6),
       order_days=st.sampled_from([30, 90, 365]),
       step=st.floats(min_value=0.001, max_value=60))
def test_stable_until_is_never_late(ages, order_days, step):
    """Up to the moment ``orders_stable_until`` names, the row is the same."""
    orders = [Order(ago(age), 1.0, age > 50, (f"p{i}",)) for i, age in enumerate(ages)]
    until = orders_stable_until(orders, now=NOW, order_days=order_days)
    later = NOW + timedelta(days=step)
    if until is None or later < until:
        assert fields(orders, order_days, later) == fields(orders, order_days)


def test_the_evaluator_adds_purchase_fields_only_with_orders_configured():
    rules = Ruleset((), (), (Interest("Footwear", "", "boot"),), (), ())
    member = Member("a@x.com", "subscribed")
    orders = [Order(ago(1.5), 30.0, True, ("Boots",))]
    without = Evaluator(rules, Settings(90, 30), Catalogue("en"))(member, [], NOW,
                                                                   orders=orders)
    assert "orders_30d" not in without.values and without.values["topics"] is None
    lead = Evaluator(rules, Settings(90, 30, order_days=365), Catalogue("en"))(
        member, [], NOW, orders=orders)
    assert lead.values["orders_30d"] == 1 and lead.values["topics"] == "Footwear"
    assert lead.stable_until <= ago(1.5) + timedelta(days=2)  # days_since_last_order ticks


def parse(weights=(), interests=(), order_days=None, language=None):
    from syncbot.core.rules import parse_rules
    from syncbot.locales import rule_vocabulary
    from tests.conftest import CELL, SAY
    extra = {"vocabulary": rule_vocabulary()} if language else {}
    return parse_rules(weights=[["Field", "Operator", "Value", "Points"], *weights],
                       segments=[["Tag", "Field", "Operator", "Value"]],
                       interests=[["Topic", "URL contains", "Product contains"], *interests],
                       lookback_days=90, order_days=order_days, say=SAY, cell=CELL, **extra)


def test_rules_name_purchase_fields_in_either_language_when_orders_are_configured():
    ruleset = parse([["orders_90d", ">=", 2, 10], ["ingresos_365d", ">", 100, 5],
                     ["days_since(last_order_at)", "<", 30, 3]], order_days=365, language="es")
    assert [rule.field for rule in ruleset.weights] == [
        "orders_90d", "revenue_365d", "days_since(last_order_at)"]


@pytest.mark.parametrize(("order_days", "field", "message"), [
    (None, "orders_90d", 'Weights!A2: "orders_90d" comes from your shop\'s orders; add an '
                         '[orders] table to the config (README, "Purchases") or use another '
                         "field."),
    (None, "pedidos_90d", 'Weights!A2: "pedidos_90d" comes from your shop\'s orders; add an '
                          '[orders] table to the config (README, "Purchases") or use another '
                          "field."),
    (90, "revenue_365d", 'Weights!A2: "revenue_365d" looks further back than [orders] '
                         "lookback_days; raise lookback_days in the config or use a shorter "
                         "window."),
])
def test_a_purchase_field_says_what_it_needs(order_days, field, message):
    from syncbot.core.rules import InvalidRules
    with pytest.raises(InvalidRules) as failed:
        parse([[field, ">", 1, 5]], order_days=order_days, language="es")
    assert failed.value.problems == [message]


def test_interests_rows_match_links_products_or_both():
    ruleset = parse(interests=[["Boots", "", "boot"], ["Pricing", "/pricing", ""],
                               ["Both", "/shoes", "shoe"]])
    assert [(i.topic, i.url_contains, i.product_contains) for i in ruleset.interests] == [
        ("Boots", "", "boot"), ("Pricing", "/pricing", ""), ("Both", "/shoes", "shoe")]


def test_an_interests_tab_without_the_product_column_still_reads():
    from syncbot.core.rules import parse_rules
    from tests.conftest import CELL, SAY
    ruleset = parse_rules(weights=[["Field", "Operator", "Value", "Points"]],
                          segments=[["Tag", "Field", "Operator", "Value"]],
                          interests=[["Topic", "URL contains"], ["Pricing", "/pricing"]],
                          lookback_days=90, say=SAY, cell=CELL)
    assert ruleset.interests[0].product_contains == ""


def test_the_readme_s_worked_example_with_orders():
    """README, "Purchases": Marta's fields, points and, 25 days later, her reminder tag."""
    from syncbot.core.rules import parse_rules
    from tests.conftest import CELL, SAY
    rules = parse_rules(
        weights=[["Field", "Operator", "Value", "Points", "Max", "Dimension"],
                 ["orders_90d", "per", "", 10, 30, "fit"],
                 ["days_since_last_order", "<=", 30, 15, "", ""],
                 ["revenue_365d", ">", 500, 10, "", "fit"]],
        segments=[["Tag", "Field", "Operator", "Value"],
                  ["reorder-reminder", "days_since_last_order", "between", "45..90"]],
        interests=[["Topic", "URL contains", "Product contains"], ["Boots", "", "boot"]],
        lookback_days=90, order_days=365, say=SAY, cell=CELL)
    orders = [Order(ago(100), 180.0, False, ("Trail boots",)),
              Order(ago(40), 95.0, False, ("Trail boots",)),
              Order(ago(20), 25.0, False, ("Wool socks",))]
    evaluate = Evaluator(rules, Settings(90, 30, order_days=365), SAY)
    marta = Member("marta@tienda.es", "subscribed")
    lead = evaluate(marta, [], NOW, orders=orders)
    assert (lead.values["orders_90d"], lead.values["revenue_365d"]) == (2, 300.0)
    assert lead.values["avg_days_between_orders"] == 40.0
    assert lead.values["products"] == "Wool socks, Trail boots"
    assert lead.values["topics"] == "Boots" and lead.score == 35 and lead.tags == []
    later = evaluate(marta, [], NOW + timedelta(days=25), orders=orders)
    assert later.tags == ["reorder-reminder"]
