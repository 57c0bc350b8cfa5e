"""Mailchimp's records as the core's types, and as the local state keeps them and gives
them back (an order's stored text is written and read here, side by side).

No HTTP client here: the scoring worker processes read the members, their events and
their orders from the state with these alone, so they do not import Mailchimp's and
Google's client libraries (about 28 MB less in each worker).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from syncbot.core.model import Event, Member, Order
from syncbot.ports import OrderStore, PulledStore, StoredOrder

SEPARATOR = "\x1f"  # between a stored order's parts (the ASCII unit separator)
NOT_COUNTED = frozenset({"refunded", "cancelled"})  # financial_status values that undo a sale


def parse_time(text: str | None) -> datetime | None:
    """A time as Mailchimp writes it (ISO 8601, with ``Z``, an offset or none: UTC), aware;
    None for none. A text that is not a time raises ``ValueError``."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flat(value: Any) -> Any:
    """Merge fields of type address arrive as objects; a rule reads them as one line of text."""
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v not in (None, ""))
    return value


def to_member(raw: Mapping[str, Any]) -> Member:
    stats = raw.get("stats") or {}
    shop = stats.get("ecommerce_data") or {}
    return Member(
        email=raw["email_address"], status=raw.get("status", ""),
        merge_fields={k: _flat(v) for k, v in (raw.get("merge_fields") or {}).items()},
        member_rating=raw.get("member_rating"),
        avg_open_rate=stats.get("avg_open_rate"), avg_click_rate=stats.get("avg_click_rate"),
        orders_count=int(shop.get("number_of_orders") or 0),
        total_revenue=float(shop.get("total_revenue") or 0.0),
        country=(raw.get("location") or {}).get("country_code") or "",
        language=raw.get("language") or "", source=raw.get("source") or "",
        vip=bool(raw.get("vip")), subscribed_at=parse_time(raw.get("timestamp_opt")))


def to_events(activity: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Opens and clicks of one email-activity entry (bounces are dropped here)."""
    events = []
    for item in activity:
        kind = item.get("action")
        at = parse_time(item.get("timestamp"))
        if kind in ("open", "click") and at is not None:
            events.append(Event(kind, at, item.get("url") if kind == "click" else None))
    return events


def stored_members(cache: PulledStore, keys: Sequence[str]) -> list[tuple[Member, list[Event]]]:
    """Those of ``keys`` the last pull left in the cache, with their opens and clicks, in the
    order of ``keys`` (a run reads the leads it scores a chunk of keys at a time, so memory
    stays flat with audience size)."""
    return [(to_member(raw), events) for raw, events in cache.members_of(keys)]


def stored_order(raw: Mapping[str, Any]) -> StoredOrder:
    """An order of the listing as the cache keeps it: keyed by its customer's lower-cased
    address ("" without one); ``data`` is "" for one that does not count, else its time (as
    Mailchimp wrote it), total, whether a campaign brought it and its products,
    ``SEPARATOR``-joined: made for every order of every run, so plain text, parsed only for
    the leads a run evaluates. (What it keeps decides the fingerprints: a change here needs
    a state migration that fingerprints the orders again and forgets ``order_pages``.)"""
    email = str((raw.get("customer") or {}).get("email_address") or "").strip()
    at = raw.get("processed_at_foreign") or ""
    counted = email and at \
        and str(raw.get("financial_status") or "").strip().lower() not in NOT_COUNTED \
        and not raw.get("cancelled_at_foreign")
    data = SEPARATOR.join([
        str(at), repr(_amount(raw.get("order_total"))), "1" if raw.get("campaign_id") else "",
        *(str(line.get("product_title") or "").replace(SEPARATOR, " ")
          for line in raw.get("lines") or ())]) if counted else ""
    return StoredOrder(order_id(raw), email.lower(), data)


def order_id(raw: Mapping[str, Any]) -> str:
    """An order's id in the cache: order ids are unique within a store only."""
    return f"{raw.get('store_id', '')}/{raw.get('id', '')}"


def _amount(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def to_order(data: str) -> Order | None:
    """A counted order as ``stored_order`` wrote it (None if its time is not a time)."""
    at, total, from_campaign, *products = data.split(SEPARATOR)
    try:
        moment = parse_time(at)
    except ValueError:
        return None
    return None if moment is None else Order(moment, float(total), bool(from_campaign),
                                             tuple(products))


def stored_orders(cache: OrderStore, keys: Sequence[str]) -> dict[str, list[Order]]:
    """The counted orders of those of ``keys`` that have any."""
    found = {key: [order for order in map(to_order, texts) if order is not None]
             for key, texts in cache.orders_of(keys).items()}
    return {key: orders for key, orders in found.items() if orders}
