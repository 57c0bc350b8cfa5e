"""Listing the connected stores' orders into the cache (docs/reference.md, "Purchases").

The listing has no date filter and no sort, so every run lists every order
of every store (pages of 1000, the rest in parallel), while the audience is
pulled, and compares each order with the cache by its fingerprint (a digest
of the order as stored, held in memory for the run): a new, changed
(refunded, cancelled…) or vanished order marks its lead dirty, and only those
leads are evaluated again. An order is joined to a lead by its customer's
lower-cased address; orders of customers who are not members are kept too
(they count the day they join). One request lists the stores first: with
none connected, that is all.

Most pages of a listing are byte for byte the pages the last listing read (a
shop's day changes a few hundred of its orders), so each page comes with a
digest of its body and the state remembers, per digest, the fingerprints of
the orders on it: a page seen before whose every order the cache holds as it
is now is not taken apart again, nor even decoded (the listing names the
digests it knows, and such a page reaches the official client with only its
``total_items``). Whether Mailchimp lists orders in a stable order is not
documented; where it does not, pages differ and are read in full, with the
same result.

Refunded or cancelled orders (``financial_status``, or a
``cancelled_at_foreign``) and orders without a processing time are listed
and remembered, never counted. An order missing from a listing is forgotten
only when the listing saw as many orders as it announced, every page alike:
a listing that shifted while it was paged (an order deleted meanwhile) keeps
the rest for the next run to settle.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from syncbot.mailchimp.client import ShopUnavailable
from syncbot.mailchimp.records import stored_order
from syncbot.ports import ListedPage, OrderPage, OrderSource, OrderStore, StoredOrder
from syncbot.progress import STILL, Meter


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


@dataclass
class _End:
    """How the listing thread ended: listed everything, refused (why), or failed (the error)."""

    unavailable: str = ""
    error: BaseException | None = None


class OrdersListing:
    """One listing of every store's orders, in a thread of its own, so that it goes on beside
    the member pull: both mostly wait on Mailchimp, under the one connection limit. The
    thread only reads Mailchimp and compares fingerprints in memory; the orders that changed
    reach the cache in ``finish``, in the caller's thread (an SQLite connection stays in the
    thread that opened it), in batches of at least a page's worth (``BATCH``): a day's
    few hundred changed orders spread over many pages are one batch at the end, so the
    listing never waits on the pull for them. At most ``BACKLOG`` batches wait: a listing
    whose every order is new (the first) pauses until ``finish`` takes them.

    Use it as a context manager: leaving the block without ``finish`` (the pull failed)
    stops the listing after the page it is on."""

    BACKLOG = 8
    BATCH = 1000

    def __init__(self, api: OrderSource, cache: OrderStore, pages: Meter = STILL, *,
                 full: bool = False) -> None:
        """``full``: take every page apart, as if the last listing's were not known."""
        self._api, self._pages = api, pages
        self._listed = dict.fromkeys(cache.order_fingerprints(), False)  # → listed yet
        self._known_pages = {} if full else cache.listed_pages()  # the last listing's
        self._read_pages: list[ListedPage] = []  # this listing's
        self._stores: list[dict[str, Any]] = []
        self._totals: list[int] = []  # each page's total_items
        self._used_stores: set[str] = set()
        self._waiting: queue.Queue[list[StoredOrder] | _End] = queue.Queue(self.BACKLOG)
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._list, name="orders listing", daemon=True)
        self._thread.start()

    def __enter__(self) -> OrdersListing:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._ended:
            self._stop.set()
            while not isinstance(self._waiting.get(), _End):
                pass  # unblock the thread: what it found is not wanted now
            self._ended = True
        self._thread.join()

    def _list(self) -> None:
        end = _End()
        batch: list[StoredOrder] = []  # changed orders not handed to finish yet
        try:
            self._stores = self._api.stores()
            if self._stores:
                listing = self._api.order_pages(self._totals, self._whole_pages())
                for page in listing:
                    batch.extend(self._read(page))
                    if len(batch) >= self.BATCH:
                        self._waiting.put(batch)
                        batch = []
                    self._pages.advance()
                    if self._stop.is_set():
                        break
        except ShopUnavailable as exc:
            end.unavailable = str(exc)
        except BaseException as exc:  # noqa: BLE001 - handed to finish(), raised there
            end.error = exc
        if batch:  # what was listed before the end, refused or not, is kept
            self._waiting.put(batch)
        self._waiting.put(end)

    def _whole_pages(self) -> set[bytes]:
        """The digests of the last listing's pages whose every order the cache holds as it
        was: met again, such a page is taken as it was, without decoding its body."""
        return {digest for digest, page in self._known_pages.items() if self._holds_all(page)}

    def _holds_all(self, page: ListedPage) -> bool:
        """Whether every order of ``page`` (as the last listing read it) is one the cache
        holds as it was, or one this listing has read already."""
        listed = self._listed
        return all(fingerprint in listed for fingerprint in page.fingerprints)

    def _read(self, page: OrderPage) -> list[StoredOrder]:
        """The orders of ``page`` that changed, every one marked listed; a page the last
        listing read, whose every order the cache holds as it was, is taken as it was
        (whether or not its orders were decoded)."""
        if page.orders is None:  # one of _whole_pages(), so known (a KeyError here if not)
            return self._take_as_known(self._known_pages[page.digest or b""])
        known = self._known_pages.get(page.digest) if page.digest is not None else None
        if known is not None and self._holds_all(known):
            return self._take_as_known(known)
        listed = self._listed
        orders = [stored_order(raw) for raw in page.orders]
        fingerprints = tuple(order.fingerprint for order in orders)
        changed = []
        for order, fingerprint in zip(orders, fingerprints, strict=True):
            if fingerprint not in listed:  # new, or changed since the cache took it
                changed.append(order)
            listed[fingerprint] = True  # (an order a page repeats is taken once)
        stores = tuple(sorted({str(raw.get("store_id")) for raw in page.orders}))
        self._used_stores.update(stores)
        if page.digest is not None:
            self._read_pages.append(ListedPage(page.digest, fingerprints, stores))
        return changed

    def _take_as_known(self, known: ListedPage) -> list[StoredOrder]:
        """A page as the last listing read it: its orders listed, none changed."""
        self._listed.update(dict.fromkeys(known.fingerprints, True))
        self._used_stores.update(known.stores)
        self._read_pages.append(known)
        return []

    def finish(self, cache: OrderStore) -> OrdersPulled:
        """Wait for the listing, bringing the cache's orders up to date with it (see the
        module's docstring for what is forgotten); a refused e-commerce API forgets nothing
        (the pages listed before a refusal are kept as listed) and says why; any other
        failure is raised here."""
        while not isinstance(item := self._waiting.get(), _End):
            cache.upsert_orders(item)
        self._ended = True
        self._thread.join()
        listed, self._listed = self._listed, {}  # the run goes on long after: let it go
        if item.error is not None:
            raise item.error
        pulled = OrdersPulled(unavailable=item.unavailable)
        if item.unavailable:
            return pulled
        unlisted = cache.unlisted_orders(listed.get)
        pulled.orders = cache.order_count() - len(unlisted)  # each cached order counts once
        totals = self._totals
        if not totals or (min(totals) == max(totals) and pulled.orders >= totals[0]):
            cache.forget_orders(unlisted)
        cache.remember_pages(self._read_pages)
        cache.save()
        names = {str(s.get("id")): str(s.get("name") or s.get("id")) for s in self._stores}
        currency = {str(s.get("id")): str(s.get("currency_code") or "") for s in self._stores}
        pulled.currencies = {names.get(sid, sid): currency[sid]
                             for sid in sorted(self._used_stores) if currency.get(sid)}
        return pulled


def pull_orders(api: OrderSource, cache: OrderStore, pages: Meter = STILL, *,
                full: bool = False) -> OrdersPulled:
    """Bring the cache's orders up to date with every connected store (one request for the
    stores, then the listing), with nothing else going on meanwhile."""
    with OrdersListing(api, cache, pages, full=full) as listing:
        return listing.finish(cache)
