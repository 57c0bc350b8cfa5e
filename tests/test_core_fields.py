"""Field definitions (docs/reference.md, "Fields"), table by table.

No mocks: plain values in, plain values out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncbot.core.fields import Interest, compute_features, field_kinds
from syncbot.core.model import Event, Member

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def features(events=(), member=None, **options):
    options.setdefault("lookback_days", 90)
    options.setdefault("half_life_days", 30)
    return compute_features(member or Member("Ana@Example.com", "subscribed"), events, now=NOW,
                            **options)


@pytest.mark.parametrize(("age_days", "in7", "in30", "in90"), [
    (0, 1, 1, 1),
    (6.99, 1, 1, 1),
    (7, 1, 1, 1),          # "at most 7 days old" includes exactly 7
    (7.0001, 0, 1, 1),
    (30, 0, 1, 1),
    (30.5, 0, 0, 1),
    (90, 0, 0, 1),
    (90.0001, 0, 0, 0),    # outside the lookback: ignored
])
def test_window_edges(age_days, in7, in30, in90):
    row = features([Event("open", ago(age_days)), Event("click", ago(age_days), "https://x")])
    assert (row["opens_7d"], row["opens_30d"], row["opens_90d"]) == (in7, in30, in90)
    assert (row["clicks_7d"], row["clicks_30d"], row["clicks_90d"]) == (in7, in30, in90)


def test_windows_longer_than_the_lookback_are_not_offered():
    row = features([Event("open", ago(10))], lookback_days=30)
    assert "opens_90d" not in row and row["opens_30d"] == 1
    assert "clicks_90d" not in field_kinds(30) and "clicks_30d" in field_kinds(30)
    assert "opens_7d" in field_kinds(7) and "opens_30d" not in field_kinds(7)
    assert features([Event("open", ago(40))], lookback_days=30)["opens_30d"] == 0


@pytest.mark.parametrize(("ages", "half_life", "expected"), [
    ([0], 30, 1.0),
    ([30], 30, 0.5),
    ([60], 30, 0.25),
    ([0, 30, 60], 30, 1.75),
    ([10], 10, 0.5),
    ([1], 7, round(0.5 ** (1 / 7), 3)),
    ([], 30, 0.0),
])
def test_decayed_sums(ages, half_life, expected):
    row = features([Event("open", ago(a)) for a in ages] + [Event("click", ago(a), "u") for a in ages],
                   half_life_days=half_life)
    assert row["opens_decayed"] == expected and row["clicks_decayed"] == expected


def test_last_times_and_whole_days_since():
    row = features([Event("open", ago(3, 5)), Event("open", ago(10)),
                    Event("click", ago(0, 23), "u")],
                   member=Member("a@x.com", "subscribed", subscribed_at=ago(400)))
    assert row["last_open_at"] == ago(3, 5) and row["last_click_at"] == ago(0, 23)
    assert row["days_since_last_open"] == 3      # 3 days 5 hours → floor
    assert row["days_since_last_click"] == 0
    assert row["days_since_last_activity"] == 0


def test_no_events():
    row = features(member=Member("a@x.com", "subscribed", subscribed_at=ago(200, 1)))
    assert row["opens_7d"] == row["clicks_90d"] == 0
    assert row["opens_decayed"] == row["clicks_decayed"] == 0.0
    assert row["last_open_at"] is None and row["days_since_last_open"] is None
    assert row["days_since_last_activity"] == 200  # from the opt-in time
    assert row["best_send_hour"] is None and row["best_send_weekday"] is None
    assert row["topics"] is None
    assert features()["days_since_last_activity"] is None  # no opt-in time either


def test_activity_uses_the_latest_of_open_click_and_opt_in():
    member = Member("a@x.com", "subscribed", subscribed_at=ago(2))
    assert features([Event("open", ago(50))], member=member)["days_since_last_activity"] == 2


@pytest.mark.parametrize(("open_times", "hour", "weekday"), [
    # three opens Monday 09:xx UTC
    ([datetime(2026, 11, 16, 9, m, tzinfo=UTC) for m in (0, 10, 20)], 9, "Mon"),
    # a tie between 08 and 15 (2 each) goes to the earliest hour; weekdays tie too → Monday
    ([datetime(2026, 11, 17, 15, tzinfo=UTC), datetime(2026, 11, 16, 15, tzinfo=UTC),
      datetime(2026, 11, 18, 8, tzinfo=UTC), datetime(2026, 11, 16, 8, tzinfo=UTC)], 8, "Mon"),
    # a weekday tie: Tue twice, Sat twice → Tue (earliest in the week)
    ([datetime(2026, 11, 21, 10, tzinfo=UTC), datetime(2026, 11, 14, 11, tzinfo=UTC),
      datetime(2026, 11, 17, 12, tzinfo=UTC), datetime(2026, 11, 10, 13, tzinfo=UTC)], 10, "Tue"),
    # under three opens: blank
    ([datetime(2026, 11, 16, 9, tzinfo=UTC)] * 2, None, None),
])
def test_best_send_hour_and_weekday(open_times, hour, weekday):
    row = features([Event("open", at) for at in open_times])
    assert (row["best_send_hour"], row["best_send_weekday"]) == (hour, weekday)


def test_best_send_time_is_in_the_configured_timezone():
    # 23:30 UTC on Sunday is 08:30 Monday in Tokyo and 18:30 Sunday in Mexico City
    opens = [Event("open", datetime(2026, 11, 15, 23, 30, tzinfo=UTC) - timedelta(weeks=w))
             for w in range(3)]
    assert (features(opens, timezone="Asia/Tokyo")["best_send_hour"],
            features(opens, timezone="Asia/Tokyo")["best_send_weekday"]) == (8, "Mon")
    mexico = features(opens, timezone="America/Mexico_City")
    assert (mexico["best_send_hour"], mexico["best_send_weekday"]) == (17, "Sun")


def test_clicks_do_not_count_towards_best_send_time():
    clicks = [Event("click", ago(1), "u")] * 5
    assert features(clicks)["best_send_hour"] is None


def test_topics_follow_tab_order_and_match_case_insensitively():
    interests = [Interest("Pricing", "/PRICING"), Interest("Webinar", "webinar"),
                 Interest("SEO", "seo-guide"), Interest("Pricing", "checkout")]
    clicks = [Event("click", ago(2), "https://events.example.com/Webinar-2026"),
              Event("click", ago(3), "https://shop.example.com/pricing?x=1"),
              Event("click", ago(4), "https://shop.example.com/checkout"),
              Event("click", ago(200), "https://blog.example.com/seo-guide")]  # too old
    assert features(clicks, interests=interests)["topics"] == "Pricing, Webinar"


def test_bounces_and_future_events_are_ignored():
    row = features([Event("bounce", ago(1)), Event("open", NOW + timedelta(hours=1))])
    assert row["opens_7d"] == 0 and row["last_open_at"] is None


def test_profile_and_ecommerce_fields():
    member = Member("Ana@Example.com", "subscribed",
                    merge_fields={"FNAME": "Ana", "Company": "Acme SL", "JOBTITLE": "CEO"},
                    member_rating=4, avg_open_rate=0.42, avg_click_rate=0.1, orders_count=3,
                    total_revenue=100.0, country="ES", language="es", source="Import", vip=True,
                    subscribed_at=ago(10))
    row = features(member=member)
    assert row["email"] == "Ana@Example.com" and row["status"] == "subscribed"
    assert (row["FNAME"], row["COMPANY"], row["JOBTITLE"]) == ("Ana", "Acme SL", "CEO")
    assert (row["member_rating"], row["avg_open_rate"], row["avg_click_rate"]) == (4, 0.42, 0.1)
    assert (row["orders_count"], row["total_revenue"], row["avg_order_value"]) == (3, 100.0, 33.33)
    assert (row["country"], row["language"], row["source"], row["vip"]) == ("ES", "es", "Import", True)
    assert row["subscribed_at"] == ago(10)
    assert features()["avg_order_value"] == 0  # no orders
    assert set(row) >= set(field_kinds(90))


# ---- stable_until: how long a lead's row stays as it is without new inputs ----------------------

from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from syncbot.core.fields import stable_until  # noqa: E402
from syncbot.core.values import first_crossing, window_edges  # noqa: E402

minutes = st.integers(min_value=-5 * 24 * 60, max_value=200 * 24 * 60)  # event ages, in minutes
events_st = st.lists(st.tuples(st.sampled_from(["open", "click"]), minutes), max_size=12)


@settings(max_examples=300, deadline=None)
@given(events_st, st.one_of(st.none(), st.integers(0, 400 * 24 * 60)),
       st.sampled_from([7, 30, 45, 90, 120]), st.sampled_from([7, 30, 45.5, 5000]),
       st.floats(min_value=0, max_value=1, exclude_max=True))
def test_nothing_changes_before_stable_until(ages, opted, lookback, half_life, fraction):
    member = Member("ana@example.com", "subscribed",
                    subscribed_at=None if opted is None else NOW - timedelta(minutes=opted))
    events = [Event(kind, NOW - timedelta(minutes=age), "https://x" if kind == "click" else None)
              for kind, age in ages]
    options = {"lookback_days": lookback, "half_life_days": half_life}
    until = stable_until(member, events, now=NOW, **options)
    assert until >= NOW
    horizon = min(until, NOW + timedelta(days=400))
    later = max(NOW, min(NOW + (horizon - NOW) * fraction, until - timedelta(microseconds=1)))
    assert compute_features(member, events, now=later, **options) == \
        compute_features(member, events, now=NOW, **options)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=90 * 24 * 60), max_size=10),
       st.sampled_from([7, 30, 45, 90]))
@example([7 * 24 * 60, 100], 30)  # exactly 7 days old: at the edge now
def test_the_first_window_crossing_is_the_soonest_any_event_makes(ages, lookback):
    """One look per edge gives what one look per event gives: each event's next edge."""
    edges = window_edges((7, 30, 90), lookback)
    times = [NOW - timedelta(minutes=age) for age in ages if age <= lookback * 24 * 60]
    one_by_one = min((at + next(edge for edge in edges if edge >= NOW - at) for at in times),
                     default=None)
    assert first_crossing(times, NOW, edges) == one_by_one


def test_stable_until_is_the_next_thing_that_happens():
    member = Member("ana@example.com", "subscribed", subscribed_at=ago(days=400))
    assert stable_until(member, [], now=NOW, lookback_days=90, half_life_days=30) == \
        ago(days=400) + timedelta(days=401)  # days_since_last_activity ticks over
    late = [Event("open", ago(days=89, hours=23))]  # leaves the 90-day window in an hour
    assert stable_until(member, late, now=NOW, lookback_days=90, half_life_days=30) <= ago(hours=-1)
    two = [Event("open", ago(days=1.5)), Event("open", ago(days=6.99))]  # 7-day edge first
    assert stable_until(member, two, now=NOW, lookback_days=90, half_life_days=5000) == \
        ago(days=6.99) + timedelta(days=7)
    leaving = [Event("open", ago(days=1.5)), Event("open", ago(days=44.99))]
    assert stable_until(member, leaving, now=NOW, lookback_days=45, half_life_days=5000) == \
        ago(days=44.99) + timedelta(days=45)
    fresh = [Event("open", ago(hours=1))]  # decays from 0.999: a rounding step in minutes
    until = stable_until(member, fresh, now=NOW, lookback_days=90, half_life_days=30)
    assert NOW < until < NOW + timedelta(hours=1)
    row = compute_features(member, fresh, now=until + timedelta(seconds=2), lookback_days=90,
                           half_life_days=30)
    assert row["opens_decayed"] != features(fresh)["opens_decayed"]
