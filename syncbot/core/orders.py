"""The purchase fields of a lead (docs/reference.md, "Purchases"), from its orders and ``now``.

Only orders processed within the ``[orders]`` lookback count, and a window
longer than that lookback is not offered (as the engagement windows are not
past the engagement lookback). An order dated in the future is ignored until
its time comes; ``orders_stable_until`` says when that, or an order leaving
a window, or a whole day passing for ``days_since_last_order``, changes the
row.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from syncbot.core.model import DATE, NUMBER, TEXT, Order
from syncbot.core.values import first_crossing, window_edges

ORDER_WINDOWS = (30, 90, 365)
REVENUE_WINDOWS = (90, 365)
EMAIL_WINDOW = 90
DAY = timedelta(days=1)


def order_field_kinds(order_days: int) -> dict[str, str]:
    """The purchase fields offered for this ``[orders] lookback_days``, with their kinds."""
    kinds = {"last_order_at": DATE, "days_since_last_order": NUMBER}
    kinds |= {f"orders_{w}d": NUMBER for w in ORDER_WINDOWS if w <= order_days}
    kinds |= {f"revenue_{w}d": NUMBER for w in REVENUE_WINDOWS if w <= order_days}
    kinds["avg_days_between_orders"] = NUMBER
    if order_days >= EMAIL_WINDOW:
        kinds[f"email_orders_{EMAIL_WINDOW}d"] = NUMBER
    kinds["products"] = TEXT
    return kinds


ORDER_FIELDS = frozenset(order_field_kinds(max(ORDER_WINDOWS)))  # every one there can be


def in_window(orders: Iterable[Order], now: datetime, order_days: int) -> list[Order]:
    """The orders that count now, newest first (equal times keep the listing's order)."""
    oldest = now - timedelta(days=order_days)
    return sorted((o for o in orders if oldest <= o.at <= now), key=lambda o: o.at,
                  reverse=True)


class Purchases(NamedTuple):
    """A lead's purchases as a run sees them: its purchase fields, the titles it bought
    within the lookback (the Interests' ``Product contains`` look there), and when the
    fields next change on their own (None: never)."""

    fields: dict[str, Any]
    products: list[str]
    changes_at: datetime | None


def purchases(orders: Sequence[Order], *, now: datetime, order_days: int) -> Purchases:
    """Everything a lead's orders give, each order windowed once."""
    recent = in_window(orders, now, order_days)
    products = bought(recent)
    return Purchases(_fields(recent, products, now, order_days), products,
                     orders_stable_until(orders, now=now, order_days=order_days))


def order_fields(orders: Sequence[Order], *, now: datetime, order_days: int) -> dict[str, Any]:
    """The lead's purchase fields: blank dates and averages, 0 counts and sums without
    orders."""
    return purchases(orders, now=now, order_days=order_days).fields


def _fields(recent: Sequence[Order], products: Sequence[str], now: datetime, order_days: int
            ) -> dict[str, Any]:
    """The purchase fields of the orders that count now (newest first)."""
    ages = [(now - order.at) / DAY for order in recent]
    row: dict[str, Any] = {}
    last = recent[0].at if recent else None
    row["last_order_at"] = last
    row["days_since_last_order"] = None if last is None else math.floor((now - last) / DAY)
    for window in ORDER_WINDOWS:
        if window <= order_days:
            row[f"orders_{window}d"] = sum(1 for age in ages if age <= window)
    for window in REVENUE_WINDOWS:
        if window <= order_days:
            row[f"revenue_{window}d"] = round(sum(
                order.total for order, age in zip(recent, ages, strict=True) if age <= window), 2)
    row["avg_days_between_orders"] = (
        round((recent[0].at - recent[-1].at) / DAY / (len(recent) - 1), 1)
        if len(recent) >= 2 else None)
    if order_days >= EMAIL_WINDOW:
        row[f"email_orders_{EMAIL_WINDOW}d"] = sum(
            1 for order, age in zip(recent, ages, strict=True)
            if age <= EMAIL_WINDOW and order.from_campaign)
    row["products"] = ", ".join(products) or None
    return row


def bought(recent: Sequence[Order]) -> list[str]:
    """The distinct product titles of ``recent`` orders (newest first), newest first."""
    titles = (title.strip() for order in recent for title in order.products)
    return list(dict.fromkeys(title for title in titles if title))


def orders_stable_until(orders: Iterable[Order], *, now: datetime, order_days: int
                        ) -> datetime | None:
    """The earliest moment after ``now`` at which ``order_fields`` could give another row for
    the same orders (None: never): an order coming into time, one leaving a window or the
    lookback, or the next whole day of ``days_since_last_order``."""
    oldest = now - timedelta(days=order_days)
    moments: list[datetime] = []
    counted: list[datetime] = []
    for order in orders:
        if order.at > now:
            moments.append(order.at)
        elif order.at >= oldest:
            counted.append(order.at)
    leaving = first_crossing(counted, now, window_edges((*ORDER_WINDOWS, EMAIL_WINDOW),
                                                       order_days))
    if leaving is not None:  # some order counts: it leaves a window, and a day passes
        last = max(counted)
        moments += [leaving, last + (math.floor((now - last) / DAY) + 1) * DAY]
    return min(moments, default=None)
