"""The e-commerce part of the Mailchimp emulator: connected stores and their orders.

Follows the API description (``GET /ecommerce/stores``, ``GET
/ecommerce/orders``): ``count`` ≤ 1000 / ``offset`` / ``total_items`` paging,
``fields`` in dot notation, the ``campaign_id``, ``outreach_id``,
``customer_id`` and ``has_outreach`` filters, and no date filter or sort.
Orders are kept compact and rendered as full order objects per request.

Where the real API is undocumented, the emulator plays each reading
(``docs/reference.md``, "Where Mailchimp's documentation is silent"):
``Shop.listing`` is the order of the account-wide listing, store by store in
the order orders were added (``"by-store"``, the default) or newest first
across stores (``"newest-first"``); ``Shop.refusal`` answers every
e-commerce call with 403 (an account or key without e-commerce access) or
404 (as some plans answer), or None (the default) to serve them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from syncbot.sandbox.fields import trees, trim
from syncbot.sandbox.http import Request, Response, Router

if TYPE_CHECKING:
    from syncbot.sandbox.mailchimp import MailchimpEmulator

LISTINGS = ("by-store", "newest-first")
REFUSALS = {403: ("Forbidden", "You don't have permission to access this resource."),
            404: ("Resource Not Found", "The requested resource could not be found.")}


@dataclass(frozen=True, slots=True)
class ShopOrder:
    """One order as the emulator keeps it (rendered into Mailchimp's order object)."""

    id: str
    store_id: str
    email: str  # as the store spelled it
    processed_at: str  # ISO text
    total: float
    financial_status: str = "paid"
    cancelled_at: str = ""
    campaign_id: str = ""
    products: tuple[str, ...] = ()
    updated_at: str = ""


@dataclass
class Store:
    id: str
    list_id: str
    name: str
    currency_code: str
    created_at: str
    orders: dict[str, ShopOrder] = field(default_factory=dict)  # by id, in the order added


class Shop:
    """The account's connected stores, served under ``/ecommerce``."""

    def __init__(self, emulator: MailchimpEmulator) -> None:
        self.emulator = emulator
        self.stores: dict[str, Store] = {}
        self.listing = "by-store"  # one of LISTINGS (module doc)
        self.refusal: int | None = None  # 403 or 404 (module doc)
        self.keep_rendered = False  # keep each order's JSON until it changes (get_orders)
        self._fragments: dict[tuple[str, str, str], tuple[ShopOrder, str]] = {}

    # ---- state changes used by the generator and by tests ----------------------------------

    def add_store(self, store_id: str, list_id: str, *, name: str = "", currency_code: str = "EUR"
                  ) -> Store:
        with self.emulator.changing():
            store = Store(store_id, list_id, name or store_id, currency_code,
                          self.emulator.now_iso())
            self.stores[store_id] = store
            return store

    def add_order(self, store_id: str, order_id: str, email: str, processed_at: datetime,
                  total: float, *, financial_status: str = "paid",
                  cancelled_at: datetime | None = None, campaign_id: str = "",
                  products: Sequence[str] = ()) -> ShopOrder:
        with self.emulator.changing():
            order = ShopOrder(order_id, store_id, email, iso(processed_at), round(total, 2),
                              financial_status, iso(cancelled_at) if cancelled_at else "",
                              campaign_id, self.emulator.shared_tuple(products),
                              self.emulator.shared(self.emulator.now_iso()))
            self.stores[store_id].orders[order_id] = order
            return order

    def update_order(self, store_id: str, order_id: str, **changes: Any) -> ShopOrder:
        """Change an order as the store's integration would: a refund
        (``financial_status="refunded"``), a cancellation (``cancelled_at=<iso text>``)…"""
        with self.emulator.changing():
            store = self.stores[store_id]
            order = replace(store.orders[order_id], **changes,
                            updated_at=self.emulator.now_iso())
            store.orders[order_id] = order
            return order

    def delete_order(self, store_id: str, order_id: str) -> None:
        with self.emulator.changing():
            self.stores[store_id].orders.pop(order_id, None)

    def order_count(self) -> int:
        return sum(len(store.orders) for store in self.stores.values())

    # ---- HTTP -------------------------------------------------------------------------------

    def routes(self, router: Router) -> None:
        router.add("GET", "/ecommerce/stores", ("fields", "exclude_fields", "count", "offset"),
                   self.get_stores)
        router.add("GET", "/ecommerce/orders",
                   ("fields", "exclude_fields", "count", "offset", "campaign_id",
                    "outreach_id", "customer_id", "has_outreach"), self.get_orders)

    def _refuse(self) -> None:
        if self.refusal is not None:
            title, detail = REFUSALS[self.refusal]
            raise self.emulator.error(self.refusal, title, detail)

    def get_stores(self, request: Request) -> Response:
        self._refuse()
        count, offset = self.emulator.page(request)
        stores = list(self.stores.values())
        return self.emulator.reply(request, {
            "stores": [self._store_object(s) for s in stores[offset:offset + count]],
            "total_items": len(stores)})

    def get_orders(self, request: Request) -> Response:
        """A page of orders. With ``keep_rendered`` (the loopback server of the benchmarks)
        each order's trimmed JSON is kept until the order changes: a listing of every order
        is asked for every run, and rendering 300,000 orders anew each time would make the
        emulator, not syncbot, what a benchmark measures. Without it (tests, the demo, which
        holds everything in one process) orders are rendered per request: 100,000 kept
        renderings took 55 MB of the demo's memory."""
        self._refuse()
        count, offset = self.emulator.page(request)
        wanted = {name: request.arg(name) for name in ("campaign_id", "outreach_id",
                                                       "customer_id", "has_outreach")}
        found = self.emulator.filtered(("orders", self.listing, *wanted.values()),
                                       lambda: self._listed(wanted))
        fields, excluded = trees(request)
        parts = []
        if (not fields or "orders" in fields) and excluded.get("orders", True) != {}:
            shape = (fields.get("orders", {}), excluded.get("orders", {}))
            key = json.dumps(shape, sort_keys=True)
            parts.append('"orders": [' + ", ".join(
                self._fragment(self.stores[order.store_id], order, key, shape)
                for order in found[offset:offset + count]) + "]")
        if (not fields or "total_items" in fields) and "total_items" not in excluded:
            parts.append(f'"total_items": {len(found)}')
        return Response.json_text(200, "{" + ", ".join(parts) + "}")

    def _fragment(self, store: Store, order: ShopOrder, key: str,
                  shape: tuple[dict[str, Any], dict[str, Any]]) -> str:
        """One order's JSON as ``shape`` (its fields and excluded trees) trims it."""
        cached = self._fragments.get((key, store.id, order.id)) if self.keep_rendered else None
        if cached is not None and cached[0] is order:
            return cached[1]
        text = json.dumps(trim(self._order_object(store, order), *shape), ensure_ascii=False)
        if self.keep_rendered:
            self._fragments[(key, store.id, order.id)] = (order, text)
        return text

    def _listed(self, wanted: dict[str, str | None]) -> list[ShopOrder]:
        """The orders a listing with these filters shows, in the listing's order (kept while
        nothing changes: a list of the orders only, 7 MB less than pairs with their store at
        100,000 orders)."""
        tests: list[Callable[[ShopOrder], bool]] = []
        if wanted["campaign_id"] or wanted["outreach_id"]:
            tests.append(lambda o: o.campaign_id in (wanted["campaign_id"],
                                                     wanted["outreach_id"]))
        if wanted["customer_id"]:
            tests.append(lambda o: customer_id(o.email) == wanted["customer_id"])
        if wanted["has_outreach"] in ("true", "false"):
            tests.append(lambda o: bool(o.campaign_id) == (wanted["has_outreach"] == "true"))
        found = [order for store in self.stores.values()
                 for order in store.orders.values() if all(test(order) for test in tests)]
        if self.listing == "newest-first":
            found.sort(key=lambda order: order.processed_at, reverse=True)
        return found

    @staticmethod
    def _store_object(store: Store) -> dict[str, Any]:
        return {"id": store.id, "list_id": store.list_id, "name": store.name,
                "platform": "sandbox", "domain": f"{store.id}.example.com", "is_syncing": False,
                "email_address": f"shop@{store.id}.example.com",
                "currency_code": store.currency_code, "money_format": "",
                "primary_locale": "es", "timezone": "UTC", "phone": "",
                "list_is_active": True, "created_at": store.created_at,
                "updated_at": store.created_at}

    @staticmethod
    def _order_object(store: Store, order: ShopOrder) -> dict[str, Any]:
        lines = [{"id": f"{order.id}-{n}", "product_id": _product_id(title),
                  "product_title": title, "product_variant_id": _product_id(title),
                  "product_variant_title": title, "image_url": "", "quantity": 1,
                  "price": round(order.total / len(order.products), 2), "discount": 0}
                 for n, title in enumerate(order.products, 1)]
        return {
            "id": order.id,
            "customer": {"id": customer_id(order.email), "email_address": order.email,
                         "opt_in_status": False, "company": "", "first_name": "",
                         "last_name": "", "orders_count": 0, "total_spent": 0,
                         "created_at": order.processed_at, "updated_at": order.updated_at},
            "store_id": store.id, "campaign_id": order.campaign_id, "landing_site": "",
            "financial_status": order.financial_status, "fulfillment_status": "shipped",
            "currency_code": store.currency_code, "order_total": order.total,
            "order_url": "", "discount_total": 0, "tax_total": 0, "shipping_total": 0,
            "processed_at_foreign": order.processed_at,
            "cancelled_at_foreign": order.cancelled_at,
            "updated_at_foreign": order.updated_at or order.processed_at,
            "promos": [], "lines": lines, "tracking_number": "", "tracking_carrier": "",
            "tracking_url": "", "_links": []}


def iso(moment: datetime) -> str:
    """A moment as Mailchimp writes times (UTC, seconds, ``+00:00``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def customer_id(email: str) -> str:
    """The store's id for a customer (stores keep their own ids; this one is stable)."""
    return "cust-" + hashlib.md5(email.lower().encode("utf-8")).hexdigest()[:12]


def _product_id(title: str) -> str:
    return "prod-" + hashlib.md5(title.encode("utf-8")).hexdigest()[:8]
