"""Listing the connected stores' orders into the cache (docs/reference.md, "Purchases").

The listing has no date filter and no sort, so every run lists every order
of every store (pages of 1000, the rest in parallel) and compares it with the
cache, order by order: a new, changed (refunded, cancelled…) or vanished
order marks its lead dirty, and only those leads are evaluated again. An
order is joined to a lead by its customer's lower-cased address; orders of
customers who are not members are kept too (they count the day they join).
One request lists the stores first: with none connected, that is all.

Refunded or cancelled orders (``financial_status``, or a
``cancelled_at_foreign``) and orders without a processing time are listed
and remembered, never counted. An order missing from a listing is forgotten
only when the listing saw as many orders as it announced, every page alike:
a listing that shifted while it was paged (an order deleted meanwhile) keeps
the rest for the next run to settle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbot.core.model import Order
from syncbot.mailchimp.client import ShopUnavailable, parse_time
from syncbot.ports import OrderSource, OrderStore, StoredOrder
from syncbot.progress import STILL, Meter

NOT_COUNTED = frozenset({"refunded", "cancelled"})  # financial_status values that undo a sale
SEPARATOR = "\x1f"  # between a stored order's parts (the ASCII unit separator)


@dataclass
class OrdersPulled:
    """What an orders listing found: how many orders, the currency of each store that had
    any (by name), and why the e-commerce API could not be used ("" when it could)."""

    orders: int = 0
    currencies: dict[str, str] = field(default_factory=dict)  # store name → currency code
    unavailable: str = ""

    @property
    def mixed_currencies(self) -> dict[str, str]:
        """The stores and their currencies, when they are not all the same (else empty)."""
        return dict(self.currencies) if len(set(self.currencies.values())) > 1 else {}


def stored_order(raw: Mapping[str, Any]) -> StoredOrder | None:
    """An order of the listing as the cache keeps it (None without a customer address):
    ``data`` is "" for one that does not count, else its time (as Mailchimp wrote it),
    total, whether a campaign brought it and its products, ``SEPARATOR``-joined: made for
    every order of every run, so plain text, parsed only for the leads a run evaluates."""
    email = str((raw.get("customer") or {}).get("email_address") or "").strip()
    if not email:
        return None
    at = raw.get("processed_at_foreign") or ""
    counted = at and str(raw.get("financial_status") or "").strip().lower() not in NOT_COUNTED \
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


def pull_orders(api: OrderSource, cache: OrderStore, pages: Meter = STILL) -> OrdersPulled:
    """Bring the cache's orders up to date with every connected store (one request for the
    stores, then the listing). A refused e-commerce API (403/404) forgets nothing (the
    pages listed before a refusal are kept as listed) and says why; any other failure is
    the run's."""
    pulled = OrdersPulled()
    try:
        stores = api.stores()
    except ShopUnavailable as exc:
        pulled.unavailable = str(exc)
        return pulled
    names = {str(s.get("id")): str(s.get("name") or s.get("id")) for s in stores}
    currency = {str(s.get("id")): str(s.get("currency_code") or "") for s in stores}
    totals: list[int] = []
    listed: set[str] = set()  # every order the listing showed, with a customer or not
    used_stores: set[str] = set()
    listing: Iterable[list[dict[str, Any]]] = api.order_pages(totals) if stores else ()
    try:
        for page in listing:
            cache.upsert_orders([order for order in map(stored_order, page) if order is not None])
            listed.update(map(order_id, page))
            used_stores.update(str(raw.get("store_id")) for raw in page)
            pages.advance()
    except ShopUnavailable as exc:
        pulled.unavailable = str(exc)
        return pulled
    complete = not totals or (min(totals) == max(totals) and len(listed) >= totals[0])
    if complete:
        cache.forget_orders_except(listed)
    cache.save()
    pulled.orders = len(listed)
    pulled.currencies = {names.get(sid, sid): currency.get(sid, "") for sid in sorted(used_stores)
                         if currency.get(sid)}
    return pulled
