"""Purchases with their dates (docs/reference.md, "Purchases"): the orders listing through the
real client against the sandbox's shop, the purchase fields, Interests by product, the
e-commerce API refusing, several currencies, and incremental runs equal to full ones."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta

import pytest

from syncbot.core.values import from_serial
from syncbot.mailchimp.client import MAILCHIMP_RETRY
from syncbot.sandbox.ecommerce import LISTINGS
from syncbot.sandbox.generator import generate_orders
from syncbot.state.store import StateStore
from tests.conftest import LIST_ID, SHEET_ID
from tests.test_e2e import sync_twin, twin_worlds

ORDERS = "\n[orders]\nlookback_days = 365\n"
STORES = (("shop-mad", "Tienda Madrid", "EUR"), ("shop-bcn", "Tienda Barcelona", "EUR"))
WEIGHTS = [["orders_90d", "per", "", 10, 30, "fit"], ["clicks_30d", "per", "", 3, "", "engagement"]]


def with_orders(world, count: int = 1500, stores=STORES, seed: int = 5):
    world.config.write_text(world.config.read_text() + ORDERS)
    world.set_weights(WEIGHTS)
    return generate_orders(world.box.mailchimp, world.audience, now=world.now, orders=count,
                           seed=seed, stores=stores)


def counted(world, email: str, days: int = 365) -> list:
    """The lead's orders that count, straight from the emulator's shop, newest first."""
    found = []
    for store in world.box.mailchimp.shop.stores.values():
        for order in store.orders.values():
            at = datetime.fromisoformat(order.processed_at)
            if (order.email.lower() == email and order.financial_status != "refunded"
                    and not order.cancelled_at
                    and world.now - timedelta(days=days) <= at <= world.now):
                found.append((at, order))
    return [order for _, order in sorted(found, key=lambda pair: pair[0], reverse=True)]


def ecommerce_requests(world) -> tuple[int, int]:
    host = world.box.mailchimp_host
    return host.count("GET", "/ecommerce/stores"), host.count("GET", "/ecommerce/orders")


def test_a_sync_lists_every_order_in_pages_and_fills_the_purchase_fields(world, capsys):
    made = with_orders(world)
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    assert ecommerce_requests(world) == (1, math.ceil(1500 / 1000))  # ⌈orders / 1000⌉ + 1
    leads = world.leads()
    assert not any(email.startswith("guest") for email in leads)  # customers who are not members
    checked = 0
    for email in {b.lower() for b in made.buyers}:
        row, orders = leads[email], counted(world, email)
        ages = [(world.now - datetime.fromisoformat(o.processed_at)) / timedelta(days=1)
                for o in orders]
        assert row["orders_30d"] == sum(age <= 30 for age in ages)
        assert row["orders_365d"] == len(orders)
        assert row["revenue_90d"] == pytest.approx(round(sum(
            o.total for o, age in zip(orders, ages, strict=True) if age <= 90), 2))
        assert row["email_orders_90d"] == sum(
            1 for o, age in zip(orders, ages, strict=True) if age <= 90 and o.campaign_id)
        titles = list(dict.fromkeys(t for o in orders for t in o.products))
        assert row.get("products", "") == ", ".join(titles)  # a blank last cell is not sent
        if orders:
            last = datetime.fromisoformat(orders[0].processed_at)
            assert abs(from_serial(row["last_order_at"]) - last) < timedelta(seconds=1)
            assert row["days_since_last_order"] == math.floor(min(ages))
            checked += 1
        else:
            assert row["last_order_at"] == "" and row["avg_days_between_orders"] == ""
        if len(orders) >= 2:
            first = datetime.fromisoformat(orders[-1].processed_at)
            assert row["avg_days_between_orders"] == round(
                (last - first) / timedelta(days=1) / (len(orders) - 1), 1)
    assert checked > 50
    buyer = next(e for e in leads if leads[e]["orders_90d"] >= 2)
    assert f"orders_90d {leads[buyer]['orders_90d']}×10" in leads[buyer]["why"]
    never = next(e for e, row in leads.items() if e not in {b.lower() for b in made.buyers})
    assert (leads[never]["orders_90d"], leads[never]["revenue_365d"]) == (0, 0)


def test_without_orders_in_the_config_nothing_about_orders_is_asked_or_written(world, capsys):
    generate_orders(world.box.mailchimp, world.audience, now=world.now, orders=50)
    assert world.run(capsys, "sync")[0] == 0
    assert ecommerce_requests(world) == (0, 0)
    assert "orders_90d" not in next(iter(world.leads().values()))


def test_a_rule_on_a_purchase_field_without_orders_says_to_add_them(world, capsys):
    world.set_weights(WEIGHTS)
    code, out, err = world.run(capsys, "sync")
    assert code == 2 and 'add an [orders] table to the config (README, "Purchases")' in err


def test_no_store_connected_is_one_request_and_blank_fields(world, capsys):
    world.config.write_text(world.config.read_text() + ORDERS)
    world.set_weights(WEIGHTS)
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    assert ecommerce_requests(world) == (1, 0)
    row = next(iter(world.leads().values()))
    assert (row["orders_90d"], row["last_order_at"], row.get("products", "")) == (0, "", "")
    message = world.runs()[-1][11]
    assert "e-commerce" not in message and "currencies" not in message  # nothing to warn about


@pytest.mark.parametrize("status", [403, 404])
def test_a_refusing_e_commerce_api_is_one_warning_and_the_rest_of_the_run_goes_on(
        world, capsys, status):
    with_orders(world, count=300)
    assert world.run(capsys, "sync")[0] == 0
    before = {e: row["orders_365d"] for e, row in world.leads().items()}
    world.box.mailchimp.shop.refusal = status
    world.now += timedelta(hours=6)
    world.box.mailchimp.add_event(world.audience.campaign_ids[0], world.audience.emails[1],
                                  "click", world.now - timedelta(minutes=5), "https://x.es/a")
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    message = world.runs()[-1][11]
    assert message.count("e-commerce API refused") == 1 and f"({status} " in message
    assert "e-commerce API refused" in out and "Orders:" not in out
    assert {e: row["orders_365d"] for e, row in world.leads().items()} == before  # kept
    assert world.runs()[-1][3] == "ok"


def test_stores_in_several_currencies_are_summed_as_reported_with_one_warning(world, capsys):
    with_orders(world, count=400, stores=(("shop-mad", "Tienda Madrid", "EUR"),
                                          ("shop-mx", "Tienda CDMX", "MXN")))
    assert world.run(capsys, "sync")[0] == 0
    message = world.runs()[-1][11]
    assert message.count("different currencies") == 1
    assert "Tienda CDMX in MXN" in message and "Tienda Madrid in EUR" in message


def test_a_bought_product_gives_the_interests_topic(world, capsys):
    made = with_orders(world, count=600)
    book = world.box.sheets.spreadsheets[SHEET_ID].sheet("Interests")
    book.rows = [book.rows[0], ["Footwear", "", "boot"], ["Pricing", "/pricing", ""]]
    assert world.run(capsys, "sync")[0] == 0
    leads = world.leads()
    for email in {b.lower() for b in made.buyers}:
        bought = any("boot" in t.lower() for o in counted(world, email) for t in o.products)
        assert ("Footwear" in str(leads[email]["topics"])) == bought, email


def change_the_shop(w, step: int, made) -> None:
    """New orders (one from a guest who then joins), a refund, a cancellation, a deletion."""
    shop, emails = w.box.mailchimp.shop, w.audience.emails
    stamp = w.now - timedelta(minutes=2)
    for n in range(4):
        shop.add_order("shop-mad", f"new-{step}-{n}", emails[40 + step * 4 + n].upper(), stamp,
                       30.0 + n, products=["Trail boots"], campaign_id=w.audience.campaign_ids[0])
    joiner = f"joiner{step}@correo.es"
    shop.add_order("shop-bcn", f"guest-{step}", joiner, stamp - timedelta(days=3), 99.0)
    if step % 2:
        w.box.mailchimp.add_member(LIST_ID, joiner.capitalize())
    store, order = made.order_ids[step * 3]
    shop.update_order(store, order, financial_status="refunded")
    store, order = made.order_ids[step * 3 + 1]
    shop.update_order(store, order, cancelled_at=w.now.isoformat())
    shop.delete_order(*made.order_ids[step * 3 + 2])


@pytest.mark.parametrize("listing", LISTINGS)
def test_incremental_runs_equal_full_ones_as_orders_come_go_and_age(tmp_path, monkeypatch,
                                                                    capsys, listing):
    monkeypatch.setattr("syncbot.mailchimp.client.PAGE_SIZE", 200)  # pages to recognise
    worlds = twin_worlds(tmp_path, monkeypatch, capsys)
    made = {}
    for name, w in worlds.items():
        made[name] = with_orders(w, count=900)
        w.box.mailchimp.shop.listing = listing
        sync_twin(name, w, capsys)
    for step, gap in enumerate((timedelta(minutes=10), timedelta(hours=6), timedelta(days=2),
                                timedelta(days=16), timedelta(days=45))):
        for name, w in worlds.items():
            w.now += gap
            w.box.mailchimp.clock = lambda w=w: w.now
            change_the_shop(w, step, made[name])
            _, err = sync_twin(name, w, capsys)
            if name == "incremental" and step == 0:
                assert "unchanged since the last run" in err  # only the touched leads again
        assert worlds["incremental"].leads() == worlds["full"].leads(), gap
        assert worlds["incremental"].tags() == worlds["full"].tags(), gap
    joiner = worlds["incremental"].leads()["joiner1@correo.es"]
    assert joiner["orders_365d"] == 1 and joiner["revenue_365d"] == 99


def small_shop(tmp_path, orders: int = 3, buyers: int | None = None):
    """A new state, a fake audience with one store of ``orders`` orders (``o0``… by
    ``a0@x.es``…, ``buyers`` of them), and the listing to try."""
    from syncbot.mailchimp.fake import FakeAudience
    from syncbot.mailchimp.orders import pull_orders

    state, _ = StateStore.open(tmp_path / "s.db", list_id=LIST_ID, lookback_days=90)
    api = FakeAudience()
    api.add_store("s")
    for n in range(orders):
        api.add_order("s", f"o{n}", f"a{n % (buyers or orders)}@x.es",
                      datetime(2026, 11, 1).astimezone(), 5.0)
    return state, api, pull_orders


def dirty(state) -> set[str]:
    return {key for (key,) in state.db.execute("SELECT key FROM dirty")}


def test_a_listing_that_shifts_while_it_is_paged_forgets_nothing(tmp_path):
    """An order deleted while the listing is paged shifts the offsets: the listing shows
    fewer orders than it announced, so nothing missing from it is forgotten this time."""
    state, api, pull_orders = small_shop(tmp_path)
    pull_orders(api, state)
    assert state.order_count() == 3
    shifted = api.order_pages

    def listing(totals=None, known=frozenset()):
        for page in shifted(totals):  # every page decoded: the digests are dropped
            if totals is not None:
                totals.append(3)  # announced three, shows two
            yield page._replace(orders=page.orders[1:], digest=None)
    api.order_pages = listing
    pull_orders(api, state)
    assert state.order_count() == 3  # o0 kept until a listing can be trusted
    api.order_pages = shifted
    del api.order_list[0]
    pull_orders(api, state)
    assert state.order_count() == 2


def test_a_listing_that_repeats_one_order_and_skips_another_forgets_nothing(tmp_path):
    """An order added and another deleted while the listing is paged: every page announces
    the same total, but one order shows twice and one not at all. Orders are counted once
    each, so the listing is short and nothing is forgotten."""
    state, api, pull_orders = small_shop(tmp_path)
    pull_orders(api, state)
    state.db.execute("DELETE FROM dirty")
    api.order_list[2] = api.order_list[1]  # o1 twice, o2 missing: still three shown
    assert pull_orders(api, state).orders == 2
    assert state.order_count() == 3 and dirty(state) == set()
    api.order_list[2] = api.order_list[0] | {"order_total": 7.5}  # o0 changed, listed twice
    assert pull_orders(api, state).orders == 2
    assert state.order_count() == 3 and dirty(state) == {"a0@x.es"}


def stored_rows(state) -> list[tuple]:
    return state.db.execute("SELECT id, key, data, fingerprint FROM orders ORDER BY id").fetchall()


def test_a_page_the_last_listing_read_is_not_taken_apart_again(tmp_path, monkeypatch):
    """Three pages: listed again unchanged, none is read order by order; a refund on the
    second page has that page (and only it) read again, with the same result as reading
    every page; ``full`` reads every page."""
    import syncbot.mailchimp.orders as listing

    state, api, pull_orders = small_shop(tmp_path, 2500, buyers=500)
    read = []
    whole = listing.stored_order
    monkeypatch.setattr(listing, "stored_order", lambda raw: read.append(raw["id"]) or whole(raw))
    pull_orders(api, state)
    assert len(read) == 2500
    read.clear()
    state.db.execute("DELETE FROM dirty")
    assert pull_orders(api, state).orders == 2500 and read == [] and dirty(state) == set()
    api.order_list[1200]["financial_status"] = "refunded"  # o1200, on the second page
    assert pull_orders(api, state).orders == 2500
    assert sorted(read) == sorted(f"o{n}" for n in range(1000, 2000))
    assert dirty(state) == {"a200@x.es"}
    twin, _ = StateStore.open(tmp_path / "twin.db", list_id=LIST_ID, lookback_days=90)
    pull_orders(api, twin)
    assert stored_rows(state) == stored_rows(twin)
    read.clear()
    pull_orders(api, state, full=True)
    assert len(read) == 2500


def test_through_the_sandbox_a_new_order_has_only_the_last_page_read_again(world, capsys,
                                                                          monkeypatch):
    """A new order changes ``total_items`` on every page of the listing; the pages before it
    are still recognised (the digest leaves the total out), through the official client,
    which decodes of them only their ``total_items``."""
    import requests

    import syncbot.mailchimp.orders as listing

    monkeypatch.setattr("syncbot.mailchimp.client.PAGE_SIZE", 200)
    with_orders(world, count=900, stores=STORES[:1])
    assert world.run(capsys, "sync")[0] == 0
    read, decoded = [], []
    whole = listing.stored_order
    monkeypatch.setattr(listing, "stored_order", lambda raw: read.append(raw["id"]) or whole(raw))
    as_json = requests.Response.json

    def json(response, **kwargs):
        if "/ecommerce/orders" in response.url:
            decoded.append(response.content)
        return as_json(response, **kwargs)
    monkeypatch.setattr(requests.Response, "json", json)
    world.box.mailchimp.shop.add_order("shop-mad", "new-1", world.audience.emails[3],
                                       world.now - timedelta(minutes=5), 30.0)
    world.now += timedelta(hours=6)
    assert world.run(capsys, "sync")[0] == 0
    assert read == [f"o{n:07d}" for n in range(801, 901)] + ["new-1"]  # the fifth page only
    assert sorted(decoded, key=len)[:4] == [b'{"total_items": 901}'] * 4  # as the sandbox
    assert len(decoded) == 5                                                  # spaces it
    assert world.leads()[world.audience.emails[3].lower()]["orders_30d"] >= 1


def test_a_page_whose_orders_the_state_no_longer_holds_is_read_again(tmp_path, monkeypatch):
    """A page's body is as the last listing read it, but the state holds another version of
    one of its orders (the listing showed it twice, changed in between): taken apart again,
    the page puts that version back, as reading it always did."""
    state, api, pull_orders = small_shop(tmp_path, 1500)
    pull_orders(api, state)
    state.db.execute("UPDATE orders SET data = 'x', fingerprint = 1 WHERE id = 's/o3'")
    state.db.execute("DELETE FROM dirty")
    pull_orders(api, state)
    twin, _ = StateStore.open(tmp_path / "twin.db", list_id=LIST_ID, lookback_days=90)
    pull_orders(api, twin)
    assert stored_rows(state) == stored_rows(twin) and dirty(state) == {"a3@x.es"}


def test_an_unchanged_listing_marks_no_lead_and_a_changed_order_marks_both_owners(tmp_path):
    state, api, pull_orders = small_shop(tmp_path, 4)
    api.order_list.append({"id": "guestless", "store_id": "s", "order_total": 3})  # no customer
    assert pull_orders(api, state).orders == 5
    assert dirty(state) == {"a0@x.es", "a1@x.es", "a2@x.es", "a3@x.es", ""}
    state.db.execute("DELETE FROM dirty")
    pull_orders(api, state)
    assert dirty(state) == set()
    api.order_list[1]["customer"] = {"email_address": "A0@x.es"}  # the shop merged two people
    api.order_list[3]["financial_status"] = "refunded"
    del api.order_list[2]
    assert pull_orders(api, state).orders == 4
    assert dirty(state) == {"a0@x.es", "a1@x.es", "a2@x.es", "a3@x.es"}
    assert state.order_count() == 4
    assert state.orders_of(["a0@x.es", "a3@x.es"]).keys() == {"a0@x.es"}


def test_orders_cached_before_fingerprints_are_upgraded_without_marking_anyone(tmp_path):
    """Schema 7 kept orders without their fingerprints; the upgrade computes them, so the
    next listing of the same orders changes nothing."""
    import sqlite3

    state, api, pull_orders = small_shop(tmp_path)
    path = state.path
    pull_orders(api, state)
    state.commit_run(datetime(2026, 11, 2).astimezone())
    state.close()
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE old AS SELECT id, key, data FROM orders; DROP TABLE orders; "
                     "ALTER TABLE old RENAME TO orders; DELETE FROM dirty; "
                     "ALTER TABLE campaigns DROP COLUMN read_at; "  # schema 9's
                     "DROP TABLE order_pages; "  # schema 10's
                     "UPDATE meta SET value = '7' WHERE key = 'version'")
    db.close()
    state, why = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
    assert why is None and state.order_count() == 3
    pull_orders(api, state)
    assert dirty(state) == set() and state.order_count() == 3


def test_check_names_the_stores_and_notes_a_refusal_without_failing(world, capsys):
    world.config.write_text(world.config.read_text() + ORDERS)
    code, out, _ = world.run(capsys, "check")
    assert code == 0 and "no store is connected to this Mailchimp account" in out
    generate_orders(world.box.mailchimp, world.audience, now=world.now, orders=10, stores=STORES)
    code, out, _ = world.run(capsys, "check")
    assert code == 0
    assert "✓ orders: 2 connected stores (Tienda Madrid in EUR, Tienda Barcelona in EUR)" in out
    world.box.mailchimp.shop.refusal = 403
    code, out, _ = world.run(capsys, "check")
    assert code == 0 and "Note: Mailchimp's e-commerce API refused to list the orders (403" in out


def test_faults_on_the_listing_are_retried_and_a_run_that_dies_in_it_is_repaired(
        tmp_path, monkeypatch, capsys):
    """Mailchimp failing now and then (8 % of requests, orders pages included) changes
    nothing; an orders listing that keeps failing fails the run (exit 1, logged in Runs),
    and the next run ends where a calm one does."""
    from tests.test_e2e import World

    worlds = {}
    for name, faults in (("calm", 0.0), ("stormy", 0.08), ("dying", 0.0)):
        (tmp_path / name).mkdir()
        worlds[name] = w = World(tmp_path / name, monkeypatch, faults=faults)
        w.box.sheets_host.faults.rate = 0  # the Sheets side is not what is tested here
        w.run(capsys, "init")
        with_orders(w, count=2500)
    assert worlds["calm"].run(capsys, "sync")[0] == 0
    stormy = worlds["stormy"]
    codes = [stormy.run(capsys, "sync")[0]]
    if codes[0] != 0:
        codes.append(stormy.run(capsys, "sync")[0])
    assert codes[-1] == 0
    assert stormy.box.mailchimp_host.faults.injected
    assert stormy.leads() == worlds["calm"].leads()

    dying = worlds["dying"]
    served = dying.box.mailchimp.shop.get_orders
    failures = iter(range(MAILCHIMP_RETRY.attempts))  # one run's every attempt at a page

    def failing(request):
        if next(failures, None) is not None:
            raise dying.box.mailchimp.error(500, "Internal Server Error", "Injected.")
        return served(request)
    dying.box.mailchimp.router.routes[:] = [
        dataclasses.replace(route, handler=failing) if route.template == "/ecommerce/orders"
        else route for route in dying.box.mailchimp.router.routes]
    code, _, err = dying.run(capsys, "sync")
    assert code == 1 and "orders" in err and "Traceback" not in err
    assert dying.runs()[-1][3] == "failed"
    code, _, err = dying.run(capsys, "sync")
    assert code == 0, err
    assert dying.leads() == worlds["calm"].leads()


def fake_world_with_orders(tmp_path, orders: int = 2500):
    """A whole run on the fakes, with ``[orders]`` and one store of ``orders`` orders."""
    from syncbot.config import parse_config
    from syncbot.sheets.spreadsheet import Spreadsheet
    from tests.test_fakes import NOW, FakeWorld

    world = FakeWorld(tmp_path, "orders")
    world.config = parse_config({"mailchimp": {"list_id": LIST_ID},
                                 "sheets": {"spreadsheet_id": world.book.spreadsheet_id},
                                 "state": {"path": str(tmp_path / "orders.db")},
                                 "orders": {"lookback_days": 365}})
    world.sheet = Spreadsheet(world.book, world.config.sheets, world.config.sources.tabs)
    world.audience.add_store("s")
    for n in range(orders):
        world.audience.add_order("s", f"o{n}", f"lead{n % 120}@example.com",
                                 NOW - timedelta(days=n % 300), 10.0 + n % 7)
    return world


def listing_threads() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name == "orders listing"]


def told_when_a_page_is_listed(world):
    """An event set as soon as the world's orders listing has fetched a page."""
    import threading

    listed_a_page = threading.Event()
    order_pages = world.audience.order_pages

    def listing(totals=None, known=frozenset()):
        for page in order_pages(totals, known):
            listed_a_page.set()
            yield page
    world.audience.order_pages = listing
    return listed_a_page


def test_the_orders_are_listed_while_the_audience_is_pulled(tmp_path):
    """The member pull waits until the listing has fetched a page: run one after the other,
    the run would wait out the timeout and fail here."""
    world = fake_world_with_orders(tmp_path)
    listed_a_page, member_pages = told_when_a_page_is_listed(world), world.audience.member_pages

    def pulling(**kwargs):
        assert listed_a_page.wait(timeout=10), "the orders were not listed beside the pull"
        yield from member_pages(**kwargs)
    world.audience.member_pages = pulling
    report = world.run()
    assert (report.status, report.orders) == ("ok", 2500)
    assert float(world.leads()["lead7@example.com"]["orders_365d"]) > 0
    assert listing_threads() == []


def test_the_orders_are_listed_while_the_spreadsheet_is_read(tmp_path):
    """Nothing in the spreadsheet decides the listing, so it starts before the sheet is read:
    the read waits until the listing has fetched a page (one after the other, the run would
    wait out the timeout and fail here)."""
    world = fake_world_with_orders(tmp_path)
    listed_a_page, read = told_when_a_page_is_listed(world), world.sheet.read

    def reading(**kwargs):
        assert listed_a_page.wait(timeout=10), "the orders were not listed beside the read"
        return read(**kwargs)
    world.sheet.read = reading
    report = world.run()
    assert (report.status, report.orders) == ("ok", 2500)
    assert listing_threads() == []


def test_invalid_rules_stop_the_listing_before_anything_is_pulled_or_kept(tmp_path,
                                                                         monkeypatch):
    from syncbot.errors import RulesError
    from syncbot.mailchimp.orders import OrdersListing

    monkeypatch.setattr(OrdersListing, "BACKLOG", 1)  # the listing waits on the run at once
    world = fake_world_with_orders(tmp_path, orders=5500)
    world.book.sheets["Weights"].cells[(1, 0)] = "clikcs_30d"
    pulled = []
    world.audience.member_pages = lambda **kwargs: pulled.append(kwargs) or iter(())
    with pytest.raises(RulesError):
        world.run()
    assert listing_threads() == [] and pulled == []
    assert world.book.values("Runs")[-1][3] == "invalid-rules"
    state, _ = StateStore.open(tmp_path / "orders.db", list_id=LIST_ID, lookback_days=90)
    assert state.order_count() == 0 and state.cursor() is None


def test_a_pull_that_fails_stops_the_listing_and_the_next_run_lists_everything(
        tmp_path, monkeypatch):
    from syncbot.mailchimp.client import MailchimpError
    from syncbot.mailchimp.orders import OrdersListing

    monkeypatch.setattr(OrdersListing, "BACKLOG", 1)  # the listing waits on the run at once
    world = fake_world_with_orders(tmp_path, orders=5500)
    member_pages = world.audience.member_pages

    def failing(**kwargs):
        raise MailchimpError("Mailchimp answered 500 to audience members.")
    world.audience.member_pages = failing
    with pytest.raises(MailchimpError):
        world.run()
    assert listing_threads() == []
    assert world.book.values("Runs")[-1][3] == "failed"
    world.audience.member_pages = member_pages
    report = world.run()
    assert (report.status, report.orders) == ("ok", 5500)
    state, _ = StateStore.open(tmp_path / "orders.db", list_id=LIST_ID, lookback_days=90)
    assert state.order_count() == 5500


def test_changes_spread_over_many_pages_do_not_hold_the_listing_up(tmp_path, monkeypatch):
    """A day's refunds land on many pages: the listing hands them over in one batch, so
    it reads every page without waiting for the run to take them (with a backlog of one
    page, it would wait at the second changed page until ``finish``)."""
    import threading

    from syncbot.mailchimp.orders import OrdersListing

    class Pages:
        def __init__(self):
            self.read, self.all_read = 0, threading.Event()

        def add_total(self, amount):
            pass

        def advance(self, amount=1):
            self.read += amount
            if self.read == 5:
                self.all_read.set()

    monkeypatch.setattr(OrdersListing, "BACKLOG", 1)
    state, api, pull_orders = small_shop(tmp_path, 5000)
    pull_orders(api, state)
    for n in range(5):
        api.order_list[n * 1000 + 7]["financial_status"] = "refunded"
    pages = Pages()
    with OrdersListing(api, state, pages) as listing:
        assert pages.all_read.wait(timeout=10), "the listing waited on the run"
        assert listing.finish(state).orders == 5000
    assert dirty(state) >= {f"a{n * 1000 + 7}@x.es" for n in range(5)}


def test_a_listing_of_new_orders_longer_than_the_backlog_keeps_every_order(
        tmp_path, monkeypatch):
    from syncbot.mailchimp.orders import OrdersListing

    monkeypatch.setattr(OrdersListing, "BACKLOG", 1)
    state, api, pull_orders = small_shop(tmp_path, 4500, buyers=50)
    assert pull_orders(api, state).orders == 4500
    assert state.order_count() == 4500 and len(dirty(state)) == 50
