"""Everything syncbot reads from and writes to Mailchimp, through the official client.

This module owns Mailchimp's transport (one pooled ``requests.Session`` with
explicit timeouts in place of the client's connection-per-call), its
retries (``MAILCHIMP_RETRY``), its connection limit (never more than
``max_connections`` requests in flight, process-wide for this object), its
paging (pages of 1000, the rest fetched in parallel once ``total_items`` is
known) and its error mapping (messages a user can act on; never the key).

Traps of the client it works around (seen in mailchimp-marketing 3.0.80):
``fields`` must be a list; errors arrive as unparsed problem+json text with an
empty ``str()``; an empty body comes back as a raw ``Response``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import mailchimp_marketing
import requests
from mailchimp_marketing.api_client import ApiClientError
from requests.adapters import HTTPAdapter

from syncbot.config import Secret
from syncbot.errors import SyncbotError
from syncbot.locales import t
from syncbot.mailchimp.records import parse_time
from syncbot.ports import OrderPage, WriteReport
from syncbot.progress import STILL, Meter
from syncbot.retry import (
    RetriesExhausted,
    RetryPolicy,
    say_waiting,
    send_with_retries,
    unreachable_message,
)

MAILCHIMP_RETRY = RetryPolicy(retry_statuses=frozenset({429, 500, 502, 503, 504}),
                              attempts=6, max_seconds=300.0)
TIMEOUT = (10.0, 120.0)  # connect, read: Mailchimp itself gives up on a call after 120 s
PAGE_SIZE = 1000
BODY_DIGEST = "\x00body digest"  # where a digested page keeps its body's (no API key has it)
BODY_KNOWN = "\x00body known"  # set on a page whose body was known, so not decoded
_TOTAL_ITEMS = re.compile(rb'"total_items"\s*:\s*\d+')  # a key, not text: text has \" quotes
_BATCH_COUNTS = {name: re.compile(rb'"%s"\s*:\s*(\d+)' % name.encode())  # keys, likewise
                 for name in ("total_added", "total_removed", "error_count")}
BATCH_LIMIT = 500
ALL_STATUSES = {"include_cleaned": True, "include_transactional": True,
                "include_unsubscribed": True}
MEMBER_FIELDS = ["members.id", "members.email_address", "members.status", "members.merge_fields",
                 "members.member_rating", "members.stats", "members.timestamp_opt",
                 "members.last_changed", "members.location.country_code", "members.language",
                 "members.source", "members.vip", "total_items"]
STATS_FIELDS = ["members.id", "members.email_address", "members.status", "members.member_rating",
                "members.stats", "total_items"]
STORE_FIELDS = ["stores.id", "stores.name", "stores.currency_code", "total_items"]
ORDER_FIELDS = ["orders.id", "orders.store_id", "orders.customer.email_address",
                "orders.processed_at_foreign", "orders.order_total", "orders.financial_status",
                "orders.cancelled_at_foreign", "orders.campaign_id", "orders.lines.product_title",
                "total_items"]
REPORT_FIELDS = ["reports.id", "reports.opens.opens_total", "reports.opens.last_open",
                 "reports.clicks.clicks_total", "reports.clicks.last_click", "total_items"]
REPORT_PARTS = (("opens", "opens_total", "last_open"), ("clicks", "clicks_total", "last_click"))
NO_ACTIVITY = datetime.min.replace(tzinfo=UTC)  # a report with no open and no click at all
SHOP_CALLS = ("stores", "orders")  # the e-commerce API's calls: 403 or 404 is ShopUnavailable
SCAN_KEYS = tuple(f.removeprefix("members.") for f in STATS_FIELDS if f.startswith("members."))

T = TypeVar("T")


class MailchimpError(SyncbotError):
    """Mailchimp could not be used for this run (exit code 1)."""


class MailchimpUnreachable(MailchimpError):
    """Mailchimp's host could not be reached at all (no network, DNS or a firewall)."""


class ShopUnavailable(MailchimpError):
    """The e-commerce API refused this account or key (403 or 404: its plan or permissions);
    a run goes on without purchases."""


def subscriber_hash(email: str) -> str:
    """Mailchimp's id for a member: the MD5 of the lower-cased address (docs/reference.md, "Mailchimp")."""
    return hashlib.md5(email.lower().encode("utf-8")).hexdigest()


def latest_activity(report: Mapping[str, Any]) -> datetime | None:
    """The later of a campaign report's last open and last click, so that a campaign quiet
    since then can be left unread. None when the report does not tell (a part or its count
    missing, a count above 0 without its time, a time that does not read as one): that
    campaign's activity is read. A report with no open and no click gives ``NO_ACTIVITY``."""
    latest = NO_ACTIVITY
    for part, total, last in REPORT_PARTS:
        numbers = report.get(part)
        if not isinstance(numbers, Mapping) or total not in numbers:
            return None
        try:
            moment, count = parse_time(numbers.get(last)), int(numbers[total] or 0)
        except (TypeError, ValueError):
            return None
        if moment is None and count:
            return None
        latest = max(latest, moment or latest)
    return latest


class PageBody(NamedTuple):
    """A page's body as Mailchimp sent it, told apart from its ``total_items`` (the key and
    its number as sent; empty when the body has none)."""

    digest: bytes
    total_items: bytes


def read_page_body(body: bytes) -> PageBody:
    """The digest of a page's body less its ``total_items``, which changes on every page of
    a list as soon as one item is added to it: the digest tells a page whose items are byte
    for byte as before. (The key is looked for from the end, where Mailchimp writes it,
    instead of scanning the whole page: this runs for every page of every listing.)"""
    at = body.rfind(b'"total_items"')
    found = _TOTAL_ITEMS.match(body, at) if at >= 0 else None
    total = b""
    if found is not None:
        body, total = body[:at] + body[found.end():], found.group()
    return PageBody(hashlib.blake2b(body, digest_size=16).digest(), total)


def _total_only(response: requests.Response, total_items: bytes) -> requests.Response:
    """``response`` with a body of only its ``total_items``, for the official client to decode
    in place of a page whose items the caller already holds. (``requests`` has no public way
    to give a response another body; setting ``_content`` is how its own tests and
    ``responses`` build one.)"""
    response._content = b"{" + total_items + b"}"
    return response


def batch_summary(body: bytes) -> bytes | None:
    """A tag batch's answer (``POST /lists/{id}/segments/{id}``) as only its counts, when it
    reports no error; None when the whole answer must be read (errors, or counts not found
    exactly once). The answer also lists every member added or removed in full, ~1.5 MB a
    call, and the call has no ``fields`` to trim it: decoding that for hundreds of calls
    was most of the work of writing tags. A count's key is matched only as a key: inside a
    text, a quote is escaped."""
    counts = {}
    for name, pattern in _BATCH_COUNTS.items():
        found = pattern.findall(body)
        if len(found) != 1:
            return None
        counts[name] = int(found[0])
    if counts["error_count"]:
        return None
    return json.dumps({**counts, "errors": []}).encode()


class Page(NamedTuple):
    """One page of a paged list: which list (``list_index``), where in it, its items, the
    digest of its body when it was asked for (``MailchimpAudience._digested``), and whether
    that digest was one the caller knows (``known``: the body was not decoded, ``items`` is
    empty)."""

    list_index: int
    offset: int
    items: list[dict[str, Any]]
    digest: bytes | None = None
    known: bool = False


class MailchimpAudience:
    """One audience, reached with one API key."""

    def __init__(self, api_key: Secret, list_id: str, *, max_connections: int = 5,
                 session: requests.Session | None = None, policy: RetryPolicy = MAILCHIMP_RETRY,
                 timeout: tuple[float, float] = TIMEOUT,
                 sleep: Callable[[float], None] = time.sleep,
                 notify: Callable[[str], None] = lambda message: None) -> None:
        self.list_id = list_id
        self._on_wait = say_waiting("Mailchimp", notify)
        self._key = api_key
        self.session = session or self._pooled_session(max_connections)
        self.policy, self.timeout, self.sleep = policy, timeout, sleep
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self.requests = 0  # HTTP requests sent, retries included
        self.client = mailchimp_marketing.Client({"api_key": api_key.reveal()})
        self.client.api_client.request = self._request  # our transport under the official client
        self._workers = ThreadPoolExecutor(max_connections, thread_name_prefix="mailchimp")
        self._body = threading.local()  # a thread's call that wants its body's digest, or
        #                                  (a tag batch) only its counts

    @staticmethod
    def _pooled_session(max_connections: int) -> requests.Session:
        session = requests.Session()
        session.mount("https://", HTTPAdapter(pool_connections=1, pool_maxsize=max_connections,
                                              max_retries=0))
        return session

    def close(self) -> None:
        self._workers.shutdown(wait=True)

    # ---- transport ------------------------------------------------------------------------

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def _request(self, method: str, url: str, query_params: Any = None,
                 headers: Any = None, body: Any = None) -> requests.Response:
        """The client's hook for sending: pooled, limited, retried."""
        data = json.dumps(body) if method in ("POST", "PUT", "PATCH") else None

        def send() -> requests.Response:
            with self._slots:
                return self.session.request(method, url, params=query_params, headers=headers,
                                            data=data, auth=("user", self._key.reveal()),
                                            timeout=self.timeout)

        response = send_with_retries(send, self.policy, sleep=self.sleep,
                                     on_attempt=self._count, on_wait=self._on_wait)
        if getattr(self._body, "summary", False) and response.status_code == 200:
            summary = batch_summary(response.content)
            if summary is not None:
                response._content = summary  # as in _total_only
            return response
        known = getattr(self._body, "known", None)
        if known is not None and response.status_code == 200:
            body = read_page_body(response.content)
            self._body.digest = body.digest
            if body.digest in known and body.total_items:
                self._body.skipped = True
                return _total_only(response, body.total_items)
        return response

    def _digested(self, fetch: Callable[[int, int], dict[str, Any]],
                  known: Collection[bytes] = frozenset()) -> Callable[[int, int], dict[str, Any]]:
        """``fetch``, its pages carrying a digest of their body as Mailchimp sent it
        (``read_page_body``); a page whose digest is ``known`` reaches the official client
        with its ``total_items`` only, so its items are not decoded (the caller holds them)
        and it is marked ``BODY_KNOWN``. The client decodes a body in the thread that sent
        it, so the thread keeps what it saw of the body until ``fetch`` returns."""
        def digested(count: int, offset: int) -> dict[str, Any]:
            self._body.known, self._body.digest, self._body.skipped = known, None, False
            try:
                page = fetch(count, offset)
            finally:
                self._body.known = None
            return {**page, BODY_DIGEST: self._body.digest, BODY_KNOWN: self._body.skipped}
        return digested

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result = fn(*args, **kwargs)
        except ApiClientError as exc:
            raise self._error(what, exc.status_code, exc.text) from None
        if isinstance(result, requests.Response):  # an empty or non-JSON body
            if result.status_code >= 400:
                raise self._error(what, result.status_code, result.text)
            return {}
        return result if isinstance(result, dict) else {}

    def _error(self, what: str, status: int | None, text: Any) -> MailchimpError:
        if isinstance(text, RetriesExhausted) and text.unreachable is not None:
            return MailchimpUnreachable(unreachable_message("Mailchimp", text.unreachable))
        if isinstance(text, RetriesExhausted):
            return MailchimpError(t("mailchimp.retries_exhausted", call=what,
                                    attempts=text.attempts, last=text.last))
        if status is None:
            return MailchimpError(t("mailchimp.unreachable", call=what,
                                    reason=type(text).__name__ if isinstance(text, Exception)
                                    else "no answer"))
        problem: dict[str, Any] = {}
        if isinstance(text, str):
            try:
                parsed = json.loads(text)
                problem = parsed if isinstance(parsed, dict) else {}
            except ValueError:
                problem = {}
        elif isinstance(text, dict):
            problem = text
        if status == 401:
            return MailchimpError(t("mailchimp.key_rejected"))
        if status == 404 and what.startswith("audience"):
            return MailchimpError(t("mailchimp.audience_not_found", list_id=self.list_id))
        if status in (403, 404) and what in SHOP_CALLS:
            return ShopUnavailable(t("shop.unavailable", status=status,
                                     title=problem.get("title", ""),
                                     detail=problem.get("detail", "") or str(text)[:200]))
        return MailchimpError(t("mailchimp.refused", call=what, status=status,
                                title=problem.get("title", ""),
                                detail=problem.get("detail", "") or str(text)[:200],
                                instance=problem.get("instance", "-")))

    def _parallel(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
        if len(items) <= 1:
            return [fn(item) for item in items]
        return list(self._workers.map(fn, items))

    def _stream(self, fetchers: Sequence[Callable[[int, int], dict[str, Any]]], key: str,
                totals: list[int] | None = None) -> Iterator[Page]:
        """Every page of several paged lists, as they arrive:
        first pages in parallel, then every other page, so a caller can store pages as it goes
        instead of holding them all. ``totals`` collects each page's ``total_items`` (a list
        that changed while it was paged says so there)."""
        def fetch_page(fetch: Callable[[int, int], dict[str, Any]], offset: int
                       ) -> dict[str, Any]:
            page = fetch(PAGE_SIZE, offset)
            if totals is not None:
                totals.append(int(page.get("total_items") or 0))
            return page

        firsts = self._parallel(lambda fetch: fetch_page(fetch, 0), fetchers)
        rest = [(i, offset) for i, first in enumerate(firsts)
                for offset in range(PAGE_SIZE, int(first.get("total_items") or 0), PAGE_SIZE)]
        for i, first in enumerate(firsts):
            yield self._page(i, 0, first, key)
        del firsts
        # a bounded window of pages in flight or waiting: a consumer slower than Mailchimp
        # (e.g. storing each page) must not let answered pages pile up in memory
        jobs = iter(rest)
        window: deque[tuple[int, int, Future[dict[str, Any]]]] = deque()

        def submit() -> None:
            job = next(jobs, None)
            if job is not None:
                window.append((*job, self._workers.submit(fetch_page, fetchers[job[0]], job[1])))

        for _ in range(2 * self.max_connections):
            submit()
        while window:
            i, offset, future = window.popleft()
            page = future.result()
            submit()
            yield self._page(i, offset, page, key)

    @staticmethod
    def _page(list_index: int, offset: int, answer: dict[str, Any], key: str) -> Page:
        return Page(list_index, offset, list(answer.get(key) or []), answer.get(BODY_DIGEST),
                    bool(answer.get(BODY_KNOWN)))

    def _pages(self, fetchers: Sequence[Callable[[int, int], dict[str, Any]]], key: str
               ) -> list[list[dict[str, Any]]]:
        """All items of several paged lists."""
        results: list[list[dict[str, Any]]] = [[] for _ in fetchers]
        for page in self._stream(fetchers, key):
            results[page.list_index].extend(page.items)
        return results

    # ---- reads ----------------------------------------------------------------------------

    def ping(self) -> None:
        self._call("ping", self.client.ping.get)

    def info(self) -> dict[str, Any]:
        return self._call("audience lookup", self.client.lists.get_list, self.list_id,
                          fields=["id", "name", "stats.member_count"])

    def audiences(self) -> list[dict[str, Any]]:
        page = self._call("list audiences", self.client.lists.get_all_lists, count=PAGE_SIZE,
                          fields=["lists.id", "lists.name", "total_items"])
        return list(page.get("lists") or [])

    def merge_tags(self) -> list[str]:
        """The merge tags in use, from one small page of members (for `syncbot check`)."""
        page = self._call("audience members", self.client.lists.get_list_members_info,
                          self.list_id, count=50, fields=["members.merge_fields"])
        return list(dict.fromkeys(tag for m in page.get("members") or []
                                  for tag in (m.get("merge_fields") or {})))

    def member_pages(self, *, fields: Sequence[str] = MEMBER_FIELDS,
                     since_last_changed: datetime | None = None
                     ) -> Iterator[list[dict[str, Any]]]:
        """Pages of members as they arrive."""
        def fetch(count: int, offset: int) -> dict[str, Any]:
            extra = {"since_last_changed": since_last_changed.isoformat()} \
                if since_last_changed else {}
            return self._call("audience members", self.client.lists.get_list_members_info,
                              self.list_id, count=count, offset=offset, fields=list(fields),
                              **extra)
        for page in self._stream([fetch], "members"):
            yield page.items

    def members(self, *, fields: Sequence[str] = MEMBER_FIELDS,
                since_last_changed: datetime | None = None) -> list[dict[str, Any]]:
        return [m for page in self.member_pages(fields=fields,
                                                since_last_changed=since_last_changed)
                for m in page]

    def members_by_hash(self, hashes: Sequence[str]) -> list[dict[str, Any]]:
        """Full records of a few members, one request each (in parallel)."""
        fields = [f.removeprefix("members.") for f in MEMBER_FIELDS if f != "total_items"]
        return self._parallel(lambda h: self._call(
            "audience member", self.client.lists.get_list_member, self.list_id, h,
            fields=fields), list(hashes))

    def campaigns(self, since_send_time: datetime) -> list[dict[str, Any]]:
        def fetch(count: int, offset: int) -> dict[str, Any]:
            return self._call("campaigns", self.client.campaigns.list, count=count, offset=offset,
                              status="sent", list_id=self.list_id,
                              since_send_time=since_send_time.isoformat(),
                              fields=["campaigns.id", "campaigns.send_time", "total_items"])
        return self._pages([fetch], "campaigns")[0]

    def activity_times(self, since_send_time: datetime) -> dict[str, datetime | None]:
        """The time of each campaign's latest open or click as its report shows it (None when
        the report shows neither), for the campaigns sent after ``since_send_time``: one
        request a thousand campaigns, to leave quiet campaigns unread."""
        def fetch(count: int, offset: int) -> dict[str, Any]:
            return self._call("campaign reports", self.client.reports.get_all_campaign_reports,
                              count=count, offset=offset,
                              since_send_time=since_send_time.isoformat(), fields=REPORT_FIELDS)
        return {str(report.get("id")): latest_activity(report)
                for report in self._pages([fetch], "reports")[0]}

    def activity_pages(self, since: Mapping[str, datetime | None]
                       ) -> Iterator[tuple[str, bool, list[dict[str, Any]]]]:
        """(campaign id, is its first page, email-activity entries) as pages arrive, each
        campaign since its own time (None: all of it)."""
        ids = list(since)
        for page in self._stream([self._activity_fetcher(cid, since[cid]) for cid in ids],
                                 "emails"):
            yield ids[page.list_index], page.offset == 0, page.items

    def _activity_fetcher(self, cid: str, since: datetime | None
                          ) -> Callable[[int, int], dict[str, Any]]:
        extra = {"since": since.isoformat()} if since else {}

        def fetch(count: int, offset: int) -> dict[str, Any]:
            return self._call("campaign activity",
                              self.client.reports.get_email_activity_for_campaign, cid,
                              count=count, offset=offset,
                              fields=["emails.email_address", "emails.activity", "total_items"],
                              **extra)
        return fetch

    def activity(self, since: Mapping[str, datetime | None]) -> dict[str, list[dict[str, Any]]]:
        """Email activity per campaign id, each since its own time (None: all of it)."""
        found: dict[str, list[dict[str, Any]]] = {cid: [] for cid in since}
        for cid, _, items in self.activity_pages(since):
            found[cid].extend(items)
        return found

    def tags(self) -> dict[str, int]:
        """Every tag (static segment) of the audience: name → segment id."""
        def fetch(count: int, offset: int) -> dict[str, Any]:
            return self._call("audience tags", self.client.lists.list_segments, self.list_id,
                              type="static", count=count, offset=offset,
                              fields=["segments.id", "segments.name", "total_items"])
        return {s["name"]: int(s["id"]) for s in self._pages([fetch], "segments")[0]}

    def tag_members(self, segment_ids: Mapping[str, int]) -> dict[str, set[str]]:
        """Who holds each tag now, read from the tag's segment (member.tags stops at 50)."""
        names = list(segment_ids)

        def fetcher(sid: int) -> Callable[[int, int], dict[str, Any]]:
            def fetch(count: int, offset: int) -> dict[str, Any]:
                return self._call("tag members", self.client.lists.get_segment_members_list,
                                  self.list_id, str(sid), count=count, offset=offset,
                                  fields=["members.email_address", "total_items"], **ALL_STATUSES)
            return fetch
        pages = self._pages([fetcher(segment_ids[n]) for n in names], "members")
        return {name: {m["email_address"].lower() for m in members}
                for name, members in zip(names, pages, strict=True)}

    def stores(self) -> list[dict[str, Any]]:
        """The stores connected to the account (id, name, currency); ShopUnavailable when
        the e-commerce API refuses the account or key."""
        def fetch(count: int, offset: int) -> dict[str, Any]:
            return self._call("stores", self.client.ecommerce.stores, count=count,
                              offset=offset, fields=STORE_FIELDS)
        return self._pages([fetch], "stores")[0]

    def order_pages(self, totals: list[int] | None = None,
                    known: Collection[bytes] = frozenset()) -> Iterator[OrderPage]:
        """Every order of every store, page by page as they arrive (the listing has no date
        filter and no sort), each with the digest of its body; a page whose digest is
        ``known`` comes without its orders, not decoded. ``totals`` collects each page's
        ``total_items``."""
        def fetch(count: int, offset: int) -> dict[str, Any]:
            return self._call("orders", self.client.ecommerce.orders, count=count,
                              offset=offset, fields=ORDER_FIELDS)
        for page in self._stream([self._digested(fetch, known)], "orders", totals):
            yield OrderPage(None if page.known else page.items, page.digest)

    # ---- writes ---------------------------------------------------------------------------

    def resolve_tags(self, names: Sequence[str], *, create: bool) -> tuple[dict[str, int], list[str]]:
        """Segment ids of the managed tags; missing ones are created when ``create`` is set."""
        existing = self.tags()
        folded = {name.casefold(): sid for name, sid in existing.items()}
        ids: dict[str, int] = {}
        created: list[str] = []
        for name in names:
            sid = existing.get(name) or folded.get(name.casefold())
            if sid is None and create:
                sid = self.create_tag(name)
                created.append(name)
            if sid is not None:
                ids[name] = sid
        return ids, created

    def create_tag(self, name: str) -> int:
        """A new, empty tag (a static segment); returns its segment id."""
        made = self._call("create tag", self.client.lists.create_segment, self.list_id,
                          {"name": name, "static_segment": []})
        return int(made["id"])

    def write_tags(self, segment_ids: Mapping[str, int], adds: Mapping[str, Iterable[str]],
                   removes: Mapping[str, Iterable[str]], batches: Meter = STILL) -> WriteReport:
        """Send the differences, at most 500 addresses per list per call; per-address errors
        (e.g. an address that left the audience) are collected, not raised; ``batches``
        counts the calls."""
        jobs: list[tuple[int, list[str], list[str]]] = []
        for tag, sid in segment_ids.items():
            plus, minus = sorted(adds.get(tag, ())), sorted(removes.get(tag, ()))
            for start in range(0, max(len(plus), len(minus)), BATCH_LIMIT):
                jobs.append((sid, plus[start:start + BATCH_LIMIT],
                             minus[start:start + BATCH_LIMIT]))

        def send(job: tuple[int, list[str], list[str]]) -> dict[str, Any]:
            sid, plus, minus = job
            body: dict[str, Any] = {}
            if plus:
                body["members_to_add"] = plus
            if minus:
                body["members_to_remove"] = minus
            self._body.summary = True  # counts only, unless it reports errors (batch_summary)
            try:
                answer = self._call("tag update", self.client.lists.batch_segment_members,
                                    body, self.list_id, str(sid))
            finally:
                self._body.summary = False
            return {key: answer.get(key) for key in ("total_added", "total_removed", "errors")}

        report = WriteReport()
        batches.add_total(len(jobs))
        for result in self._parallel(send, jobs):
            batches.advance()
            report.added += int(result.get("total_added") or 0)
            report.removed += int(result.get("total_removed") or 0)
            for error in result.get("errors") or []:
                for address in error.get("email_addresses") or []:
                    report.errors.append((address, str(error.get("error", ""))))
        return report
