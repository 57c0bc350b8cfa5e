"""An audience in memory, behind the same calls as ``MailchimpAudience``.

First-class code for the pipeline's tests where HTTP is not the point (the
sandbox serves the ones where it is). Members are kept in Mailchimp's own
record shape, so the real ``pull`` stores them and the real ``to_member``
reads them back; ``since`` and ``since_last_changed`` filter as the sandbox
does by default. ``tests/test_fakes.py`` runs the same pulls against this
fake and against the real client on the sandbox and requires the same result.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncbot.mailchimp.client import NO_ACTIVITY, read_page_body, subscriber_hash
from syncbot.mailchimp.records import parse_time
from syncbot.ports import OrderPage, WriteReport
from syncbot.progress import STILL, Meter

PAGE = 1000


@dataclass
class FakeCampaign:
    send_time: datetime
    activity: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # key → events


class FakeAudience:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}  # key → Mailchimp's member record
        self.campaign_list: dict[str, FakeCampaign] = {}
        self.tags: dict[str, set[str]] = {}  # tag name → member keys
        self.tag_ids: dict[str, int] = {}
        self._ids = itertools.count(1)
        self.requests = 0  # counted under a lock: the orders are listed beside the pull
        self._counting = threading.Lock()
        self.store_list: list[dict[str, Any]] = []  # stores in Mailchimp's shape
        self.order_list: list[dict[str, Any]] = []  # orders in Mailchimp's shape, listing order

    # ---- filling it -----------------------------------------------------------------------

    def add_member(self, email: str, *, changed_at: datetime, status: str = "subscribed",
                   merge_fields: Mapping[str, Any] | None = None,
                   **profile: Any) -> dict[str, Any]:
        """A member record as Mailchimp returns it; ``profile`` sets top-level fields such as
        ``member_rating``, ``vip`` or ``timestamp_opt`` (ISO text)."""
        record: dict[str, Any] = {
            "email_address": email, "status": status, "merge_fields": dict(merge_fields or {}),
            "member_rating": 2, "stats": {"avg_open_rate": 0.0, "avg_click_rate": 0.0,
                                          "ecommerce_data": {"number_of_orders": 0,
                                                             "total_revenue": 0.0}},
            "location": {"country_code": ""}, "language": "", "source": "API", "vip": False,
            "timestamp_opt": changed_at.isoformat(), "last_changed": changed_at.isoformat()}
        record.update(profile)
        self.records[email.lower()] = record
        return record

    def add_store(self, store_id: str, *, name: str = "", currency_code: str = "EUR") -> None:
        self.store_list.append({"id": store_id, "name": name or store_id,
                                "currency_code": currency_code})

    def add_order(self, store_id: str, order_id: str, email: str, at: datetime, total: float,
                  *, campaign_id: str = "", products: Sequence[str] = (),
                  **fields: Any) -> dict[str, Any]:
        """An order as Mailchimp lists it; ``fields`` sets the others (``financial_status``,
        ``cancelled_at_foreign``…)."""
        order = {"id": order_id, "store_id": store_id, "customer": {"email_address": email},
                 "processed_at_foreign": at.isoformat(), "order_total": total,
                 "financial_status": "paid", "cancelled_at_foreign": "",
                 "campaign_id": campaign_id,
                 "lines": [{"product_title": title} for title in products], **fields}
        self.order_list.append(order)
        return order

    def add_campaign(self, campaign_id: str, send_time: datetime) -> None:
        self.campaign_list[campaign_id] = FakeCampaign(send_time)

    def add_event(self, campaign_id: str, email: str, kind: str, at: datetime,
                  url: str | None = None) -> None:
        event: dict[str, Any] = {"action": kind, "timestamp": at.isoformat()}
        if url is not None:
            event["url"] = url
        self.campaign_list[campaign_id].activity.setdefault(email.lower(), []).append(event)

    # ---- reads (ports.AudienceSource) -----------------------------------------------------

    def _count(self, requests: int) -> None:
        with self._counting:
            self.requests += requests

    def _pages(self, items: Sequence[Any]) -> Iterator[list[Any]]:
        for start in range(0, max(len(items), 1), PAGE):
            self._count(1)
            yield list(items[start:start + PAGE])

    def member_pages(self, *, fields: Sequence[str] = (),
                     since_last_changed: datetime | None = None
                     ) -> Iterator[list[dict[str, Any]]]:
        chosen = [copy.deepcopy(m) for m in self.records.values()
                  if since_last_changed is None
                  or (parse_time(m["last_changed"]) or since_last_changed) > since_last_changed]
        yield from self._pages(chosen)

    def members(self, *, fields: Sequence[str] = (),
                since_last_changed: datetime | None = None) -> list[dict[str, Any]]:
        return [m for page in self.member_pages(since_last_changed=since_last_changed)
                for m in page]

    def members_by_hash(self, hashes: Sequence[str]) -> list[dict[str, Any]]:
        wanted = set(hashes)
        self._count(len(wanted))
        return [copy.deepcopy(m) for key, m in self.records.items()
                if subscriber_hash(key) in wanted]

    def campaigns(self, since_send_time: datetime) -> list[dict[str, Any]]:
        self._count(1)
        return [{"id": cid, "send_time": c.send_time.isoformat()}
                for cid, c in self.campaign_list.items() if c.send_time > since_send_time]

    def activity_times(self, since_send_time: datetime) -> dict[str, datetime | None]:
        self._count(1)
        return {cid: max((moment for events in c.activity.values() for e in events
                          if e["action"] in ("open", "click")
                          and (moment := parse_time(e["timestamp"])) is not None),
                         default=NO_ACTIVITY)
                for cid, c in self.campaign_list.items() if c.send_time > since_send_time}

    def activity_pages(self, since: Mapping[str, datetime | None]
                       ) -> Iterator[tuple[str, bool, list[dict[str, Any]]]]:
        for cid, start in since.items():
            entries = []
            for key, events in self.campaign_list[cid].activity.items():
                newer = [e for e in events if start is None
                         or (parse_time(e["timestamp"]) or start) > start]
                if newer:
                    entries.append({"email_address": self.records.get(key, {}).get(
                        "email_address", key), "activity": copy.deepcopy(newer)})
            for number, page in enumerate(self._pages(entries)):
                yield cid, number == 0, page

    def stores(self) -> list[dict[str, Any]]:
        self._count(1)
        return copy.deepcopy(self.store_list)

    def order_pages(self, totals: list[int] | None = None,
                    known: Collection[bytes] = frozenset()) -> Iterator[OrderPage]:
        """Pages with a digest of their text, as Mailchimp's bodies would have; a known
        one without its orders, as ``MailchimpAudience.order_pages`` gives it."""
        for page in self._pages(self.order_list):
            if totals is not None:
                totals.append(len(self.order_list))
            body = json.dumps({"orders": page, "total_items": len(self.order_list)},
                              sort_keys=True).encode()
            digest = read_page_body(body).digest
            yield OrderPage(None if digest in known else copy.deepcopy(page), digest)

    # ---- tags -----------------------------------------------------------------------------

    def resolve_tags(self, names: Sequence[str], *, create: bool
                     ) -> tuple[dict[str, int], list[str]]:
        self._count(1)
        created = [name for name in names if create and name not in self.tag_ids]
        for name in created:
            self.create_tag(name)
        return {n: self.tag_ids[n] for n in names if n in self.tag_ids}, created

    def tag_members(self, segment_ids: Mapping[str, int]) -> dict[str, set[str]]:
        self._count(len(segment_ids))
        return {name: set(self.tags.get(name, ())) for name in segment_ids}

    def create_tag(self, name: str) -> int:
        self._count(1)
        self.tag_ids[name] = next(self._ids)
        self.tags.setdefault(name, set())
        return self.tag_ids[name]

    def write_tags(self, segment_ids: Mapping[str, int], adds: Mapping[str, Iterable[str]],
                   removes: Mapping[str, Iterable[str]], batches: Meter = STILL) -> WriteReport:
        report = WriteReport()
        batches.add_total(len(segment_ids))
        for name in segment_ids:
            holders = self.tags.setdefault(name, set())
            added = {a.lower() for a in adds.get(name, ())} & set(self.records)
            removed = {r.lower() for r in removes.get(name, ())} & holders
            self._count(1 if added or removed else 0)
            holders |= added
            holders -= removed
            report.added += len(added)
            report.removed += len(removed)
            batches.advance()
        return report

    def close(self) -> None:
        pass
