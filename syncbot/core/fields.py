"""The fields computed for each lead from its member record, its events and ``now``.

``FIELDS`` is the catalogue rules are validated against; ``compute_features``
fills one lead's values. Blank is ``None``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import chain
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from syncbot.core.model import BOOLEAN, DATE, NUMBER, TEXT, Event, Member
from syncbot.core.orders import order_field_kinds
from syncbot.core.values import first_crossing, window_edges

WINDOWS = (7, 30, 90)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MIN_OPENS_FOR_BEST_TIME = 3
DAY = timedelta(days=1)
EPSILON = timedelta(seconds=1)  # margin for float rounding in stable_until



@dataclass(frozen=True)
class Interest:
    """One Interests row: a lead gets ``topic`` if a clicked link contains ``url_contains``
    or a product it bought has a title containing ``product_contains`` (either may be blank:
    a blank one matches nothing)."""

    topic: str
    url_contains: str
    product_contains: str = ""

    def matches(self, urls: Sequence[str], products: Sequence[str]) -> bool:
        """Whether the lead's clicked links or bought products (both casefolded) match."""
        url, product = self.url_contains.casefold(), self.product_contains.casefold()
        return bool(url and any(url in clicked for clicked in urls)
                    or product and any(product in title for title in products))


def field_kinds(lookback_days: int, order_days: int | None = None) -> dict[str, str]:
    """Every §5 field offered for this lookback, with its kind (windows past it are not
    offered); with ``order_days`` (the ``[orders]`` lookback) the purchase fields of §8 too."""
    kinds: dict[str, str] = {"email": TEXT, "status": TEXT}
    for window in WINDOWS:
        if window <= lookback_days:
            kinds[f"opens_{window}d"] = NUMBER
            kinds[f"clicks_{window}d"] = NUMBER
    kinds |= {
        "opens_decayed": NUMBER, "clicks_decayed": NUMBER,
        "last_open_at": DATE, "last_click_at": DATE,
        "days_since_last_open": NUMBER, "days_since_last_click": NUMBER,
        "days_since_last_activity": NUMBER,
        "best_send_hour": NUMBER, "best_send_weekday": TEXT,
        "topics": TEXT,
        "member_rating": NUMBER, "avg_open_rate": NUMBER, "avg_click_rate": NUMBER,
        "orders_count": NUMBER, "total_revenue": NUMBER, "avg_order_value": NUMBER,
        **(order_field_kinds(order_days) if order_days is not None else {}),
        "country": TEXT, "language": TEXT, "source": TEXT, "vip": BOOLEAN,
        "subscribed_at": DATE,
        "handoff_status": TEXT,  # from the Hand-off tab: what sales made of the lead
    }
    return kinds


SCORE_FIELDS = {"engagement_score": NUMBER, "fit_score": NUMBER, "score": NUMBER,
                "score_change_7d": NUMBER, "score_change_30d": NUMBER,
                "tags_since": DATE}  # the results of the rules: Segments may use them


def _whole_days(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else math.floor((now - then) / DAY)


def _best(values: Iterable[int]) -> int | None:
    """The most frequent value; ties go to the smallest (earliest hour, Monday first)."""
    counts = Counter(values)
    if sum(counts.values()) < MIN_OPENS_FOR_BEST_TIME:
        return None
    return min(counts, key=lambda v: (-counts[v], v))


Opens = list[tuple[datetime, float]]  # (time, age in days)
Clicks = list[tuple[datetime, float, str]]  # (time, age in days, url)


class EventWindow(NamedTuple):
    """A lead's events as its fields and their stability both read them, in one pass: the
    opens and clicks within the lookback with their age in days, their decayed sums (before
    rounding) and latest times, and the earliest event still to come (it enters the window
    then)."""

    opens: Opens
    clicks: Clicks
    opens_decayed: float
    clicks_decayed: float
    last_open: datetime | None
    last_click: datetime | None
    next_arrival: datetime | None


def read_window(events: Iterable[Event], now: datetime, lookback_days: int,
                half_life_days: float) -> EventWindow:
    oldest = now - timedelta(days=lookback_days)
    opens: Opens = []
    clicks: Clicks = []
    arrival = None
    for event in events:
        at = event.at
        if at > now:
            arrival = at if arrival is None else min(arrival, at)
            continue
        if at < oldest:
            continue  # out for good
        age = (now - at) / DAY
        if event.kind == "open":
            opens.append((at, age))
        elif event.kind == "click":
            clicks.append((at, age, event.url or ""))
    return EventWindow(
        opens, clicks,
        sum(0.5 ** (age / half_life_days) for _, age in opens),  # 0 (not 0.0) with none
        sum(0.5 ** (age / half_life_days) for _, age, _ in clicks),
        max((at for at, _ in opens), default=None), max((at for at, _, _ in clicks), default=None),
        arrival)


def compute_features(member: Member, events: Iterable[Event], *, now: datetime,
                     lookback_days: int, half_life_days: float, timezone: str = "UTC",
                     interests: Sequence[Interest] = (), products: Sequence[str] = ()
                     ) -> dict[str, Any]:
    """One lead's row of fields. Events outside the lookback window (or in the future) are
    ignored. ``products``: the titles of what the lead bought within the ``[orders]``
    lookback (the Interests' ``Product contains`` look there)."""
    return window_features(member, read_window(events, now, lookback_days, half_life_days),
                           now=now,
                           lookback_days=lookback_days, half_life_days=half_life_days,
                           timezone=timezone, interests=interests, products=products)


def window_features(member: Member, window: EventWindow, *, now: datetime,
                    lookback_days: int, half_life_days: float, timezone: str = "UTC",
                    interests: Sequence[Interest] = (), products: Sequence[str] = ()
                    ) -> dict[str, Any]:
    """``compute_features`` from events already read into their window."""
    opens, clicks = window.opens, window.clicks
    row: dict[str, Any] = {"email": member.email, "status": member.status}
    _engagement(row, window, now=now, lookback_days=lookback_days)
    latest = max((t for t in (row["last_open_at"], row["last_click_at"], member.subscribed_at)
                  if t is not None), default=None)
    row["days_since_last_activity"] = _whole_days(now, latest)
    _best_times(row, opens, UTC if timezone == "UTC" else ZoneInfo(timezone))
    urls = [url.casefold() for _, _, url in clicks]
    titles = [title.casefold() for title in products]
    topics = [i.topic for i in interests if i.matches(urls, titles)]
    row["topics"] = ", ".join(dict.fromkeys(topics)) or None
    _profile(row, member)
    return row


def _engagement(row: dict[str, Any], window: EventWindow, *, now: datetime,
                lookback_days: int) -> None:
    """Counts per window, decayed sums, latest times and the days since them."""
    for days in WINDOWS:
        if days <= lookback_days:
            row[f"opens_{days}d"] = sum(1 for _, age in window.opens if age <= days)
            row[f"clicks_{days}d"] = sum(1 for _, age, _ in window.clicks if age <= days)
    row["opens_decayed"] = round(window.opens_decayed, 3)
    row["clicks_decayed"] = round(window.clicks_decayed, 3)
    row["last_open_at"], row["last_click_at"] = window.last_open, window.last_click
    row["days_since_last_open"] = _whole_days(now, window.last_open)
    row["days_since_last_click"] = _whole_days(now, window.last_click)


def _best_times(row: dict[str, Any], opens: Opens, tz: tzinfo) -> None:
    hour = weekday = None
    if len(opens) >= MIN_OPENS_FOR_BEST_TIME:
        local = [at if at.tzinfo is tz else at.astimezone(tz) for at, _ in opens]
        hour = _best(t.hour for t in local)
        weekday = _best(t.weekday() for t in local)
    row["best_send_hour"] = hour
    row["best_send_weekday"] = None if weekday is None else WEEKDAYS[weekday]


def _profile(row: dict[str, Any], member: Member) -> None:
    """What Mailchimp reports of the member, and its merge fields under their tags."""
    row["member_rating"] = member.member_rating
    row["avg_open_rate"] = member.avg_open_rate
    row["avg_click_rate"] = member.avg_click_rate
    row["orders_count"] = member.orders_count
    row["total_revenue"] = member.total_revenue
    row["avg_order_value"] = (round(member.total_revenue / member.orders_count, 2)
                              if member.orders_count else 0)
    row["country"] = member.country or None
    row["language"] = member.language or None
    row["source"] = member.source or None
    row["vip"] = member.vip
    row["subscribed_at"] = member.subscribed_at
    row["handoff_status"] = None  # not Mailchimp's: the Evaluator gives the Hand-off tab's
    for tag, value in member.merge_fields.items():
        row[tag.upper()] = value


def stable_until(member: Member, events: Iterable[Event], *, now: datetime, lookback_days: int,
                 half_life_days: float) -> datetime:
    """The earliest moment after ``now`` at which ``compute_features`` could give a different
    row for the same member and events: an event entering or leaving a window, a whole day
    passing for a ``days_since_*`` field, or a decayed sum crossing its last rounding step.
    Before then the lead need not be recomputed (the result is conservative: never late)."""
    return window_stable_until(member, read_window(events, now, lookback_days, half_life_days),
                               now=now,
                               lookback_days=lookback_days, half_life_days=half_life_days)


def window_stable_until(member: Member, window: EventWindow, *, now: datetime,
                        lookback_days: int, half_life_days: float) -> datetime:
    """``stable_until`` from events already read into their window."""
    never = datetime.max.replace(tzinfo=now.tzinfo)
    leaving = first_crossing(chain((at for at, _ in window.opens),
                                   (at for at, _, _ in window.clicks)),
                             now, window_edges(WINDOWS, lookback_days))
    moments = [moment for moment in (window.next_arrival, leaving) if moment is not None]
    latest = [at for at in (window.last_open, window.last_click) if at is not None]
    lasts = [*latest, max(latest)] if latest else []
    if member.subscribed_at is not None:
        lasts.append(max([member.subscribed_at, *latest]))
    for then in lasts:  # days_since_*: the next whole day
        moments.append(then + (math.floor((now - then) / DAY) + 1) * DAY)
    # a decayed sum only decays: it changes when it drops a rounding step
    for total in (window.opens_decayed, window.clicks_decayed):
        shown = round(total, 3)
        if shown > 0:
            step = shown - 0.0005
            moments.append(now if total <= step else max(now, now + timedelta(
                days=half_life_days * math.log2(total / step) * (1 - 1e-6)) - EPSILON))
    return min(moments, default=never)
