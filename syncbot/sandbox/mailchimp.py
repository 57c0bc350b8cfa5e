"""An in-memory Mailchimp Marketing API v3: the subset syncbot uses, with its real rules.

Follows Mailchimp's API description (kept for the tests in ``tests/api_specs/mailchimp``):
basic auth with the key, whose ``-usNN`` suffix must match the host's data
centre (401 otherwise); ``count`` ≤ 1000 / ``offset`` / ``total_items``
paging; ``fields`` / ``exclude_fields`` in dot notation; ``member.tags``
capped at 50 (``tags_count`` is the true count); tags are static segments,
batch-changed at most 500 addresses per list per call; saved segments cannot
be batch-changed; errors are ``application/problem+json``.

Emulation choices where the real API is undocumented (listed in
``docs/reference.md``, "Where Mailchimp's documentation is silent"):
``since_last_changed`` moves only on profile changes, never on opens or
clicks. Email activity with ``since``: the documentation says only
"restrict results to email activity events that occur after a specific
time", so the emulator plays each reading (``MailchimpEmulator.since_reading``,
one of ``SINCE_READINGS``): ``"filtered"`` (the default) lists the recipients
with an event after ``since`` and only those events; ``"whole-arrays"`` lists
the same recipients with their whole activity; ``"all-recipients"`` lists
every recipient, each with only the events after ``since`` (often none).
A campaign report's ``opens.last_open`` / ``clicks.last_click`` ("the date and
time of the last recorded open"): the documentation does not say how soon a
new event shows there (``MailchimpEmulator.report_reading``, one of
``REPORT_READINGS``): ``"live"`` (the default) at once; ``"lagging"`` only
``REPORT_LAG`` after the event; ``"blank"`` never (both fields empty).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from syncbot.sandbox.ecommerce import Shop, iso
from syncbot.sandbox.fields import project
from syncbot.sandbox.http import Emulator, HttpError, Request, Response, Router
from syncbot.sandbox.member import StoredMember

MAX_COUNT = 1000
MAX_BATCH = 500
REPORT_READINGS = ("live", "lagging", "blank")
REPORT_LAG = timedelta(minutes=30)
MAX_MEMBER_TAGS = 50
PROBLEM_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEM_JSON = "application/problem+json; charset=utf-8"
HIDDEN_BY_DEFAULT = ("unsubscribed", "cleaned", "transactional")
SINCE_READINGS = ("filtered", "whole-arrays", "all-recipients")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode("utf-8")).hexdigest()


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def later_than(moment: datetime) -> Callable[[str], bool]:
    """Whether an event's time (as ``iso`` writes it: whole seconds, UTC) is after
    ``moment``: compared as text, which for that one format is the order of time, and for
    whole seconds is exact whatever ``moment``'s fraction of a second. (Parsing every event's
    time made one report of a large audience take seconds, holding up every other call.)"""
    bound = iso(moment)
    return lambda timestamp: timestamp > bound


@dataclass
class Segment:
    id: int
    name: str
    type: str  # "static" (a tag) or "saved"
    created_at: str
    updated_at: str
    members: set[str] = field(default_factory=set)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Audience:
    id: str
    name: str
    members: dict[str, StoredMember] = field(default_factory=dict)  # by subscriber hash
    segments: dict[int, Segment] = field(default_factory=dict)
    tags_of: dict[str, list[int]] = field(default_factory=dict)  # hash -> segment ids, in tag
    #                                                       order (only members with a tag)


EVENT_IP = "203.0.113.9"  # every event's ``ip`` (a documentation address)


class SentEvent:
    """One open, click or bounce of a campaign's recipient, as small as a Python object gets
    (an audience of 100,000 has about 760,000 of them: as dicts, 200 MB): read like the
    API's activity object (``event["timestamp"]``, ``event.get("url")``), written out as one
    by ``as_json``. Never changed once made, so equal events (an open in the same minute,
    a click on the same link then) are one object however many recipients share them."""

    __slots__ = ("action", "timestamp", "url")

    def __init__(self, action: str, timestamp: str, url: str | None = None) -> None:
        self.action, self.timestamp, self.url = action, timestamp, url

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SentEvent) and (self.action, self.timestamp, self.url) == (
            other.action, other.timestamp, other.url)

    def __hash__(self) -> int:
        return hash((self.action, self.timestamp, self.url))

    def as_json(self) -> dict[str, Any]:
        event: dict[str, Any] = {"action": self.action, "timestamp": self.timestamp,
                                 "ip": EVENT_IP}
        if self.action == "click":
            event["url"] = self.url or ""
        if self.action == "bounce":
            event["type"] = "soft"
        return event

    def __getitem__(self, name: str) -> Any:
        return self.as_json()[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.as_json().get(name, default)


@dataclass
class Campaign:
    id: str
    list_id: str
    send_time: str
    title: str
    status: str = "sent"
    type: str = "regular"
    recipients: list[str] = field(default_factory=list)  # subscriber hashes, send order
    activity: dict[str, tuple[SentEvent, ...]] = field(default_factory=dict)  # a tuple: most
    #                    recipients have one event, and a list grown by appending keeps room for 4
    events_added: int = 0  # its report is built again only when this moves


def problem(status: int, title: str, detail: str, instance: str) -> Response:
    return Response.json(status, {"type": PROBLEM_TYPE, "title": title, "status": status,
                                  "detail": detail, "instance": instance},
                         content_type=PROBLEM_JSON)


class MailchimpEmulator(Emulator):
    """The state of one Mailchimp account plus the HTTP routes over it."""

    hostnames = (r"[a-z]+\d+\.api\.mailchimp\.com",)

    def __init__(self, api_key: str = "0123456789abcdef0123456789abcdef-us21",
                 clock: Callable[[], datetime] | None = None) -> None:
        self.api_keys = {api_key}
        self.api_key = api_key
        self.clock = clock or (lambda: datetime.now(UTC))
        self.audiences: dict[str, Audience] = {}
        self.campaigns: dict[str, Campaign] = {}
        self._ids = itertools.count(1)
        self._segment_ids = itertools.count(10001)
        self._errors = itertools.count(1)
        self._lock = threading.RLock()
        self._memo: dict[tuple[Any, ...], list[Any]] = {}  # filtered lists, until state changes
        self._texts: dict[str, str] = {}  # see shared
        self._events: dict[SentEvent, SentEvent] = {}  # one object per distinct event
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}  # see shared_tuple
        self._rates: dict[float, float] = {}  # see shared_rate
        self._reports: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}  # campaign id
        #                                      → (what it was built from, the report)
        self.since_reading = "filtered"  # how email activity's ``since`` is read (module doc)
        self.report_reading = "live"  # how soon a report shows its last open and click (idem)
        self.shop = Shop(self)  # the connected stores and their orders (``sandbox.ecommerce``)
        self.router = Router("/3.0")
        self._routes()

    @property
    def data_center(self) -> str:
        return self.api_key.rsplit("-", 1)[1]

    @property
    def base_url(self) -> str:
        return f"https://{self.data_center}.api.mailchimp.com/3.0"

    # ---- state changes used by the generator and by tests ----------------------------------

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """A change to the account's data: served lists are built again after it."""
        with self._lock:
            self._memo.clear()
            yield

    def now_iso(self) -> str:
        return iso(self.clock())

    def add_audience(self, list_id: str, name: str = "Audience") -> Audience:
        with self._lock:
            audience = self.audiences.setdefault(list_id, Audience(list_id, name))
            return audience

    def add_member(self, list_id: str, email: str, *, status: str = "subscribed",
                   merge_fields: dict[str, Any] | None = None, member_rating: int = 2,
                   avg_open_rate: float = 0.0, avg_click_rate: float = 0.0,
                   orders: int = 0, revenue: float = 0.0, country_code: str = "",
                   language: str = "", source: str = "API - Generic", vip: bool = False,
                   timestamp_opt: datetime | None = None) -> StoredMember:
        with self._lock:
            self._memo.clear()
            audience = self.audiences[list_id]
            key = self.shared(subscriber_hash(email))
            opted_text = iso(timestamp_opt or self.clock())
            tags, values = self._merge_tuples(dict(merge_fields or {}))
            member = StoredMember(
                key=key, email_address=email, status=status,
                merge_tags=tags, merge_values=values, web_id=next(self._ids),
                member_rating=member_rating, avg_open_rate=self.shared_rate(avg_open_rate),
                avg_click_rate=self.shared_rate(avg_click_rate), number_of_orders=orders,
                total_revenue=revenue,
                country_code=country_code, language=language, source=source, vip=vip,
                timestamp_opt=opted_text, last_changed=opted_text,  # untouched since opting in
                list_id=list_id)
            audience.members[key] = member
            return member

    def update_member(self, list_id: str, email: str, **changes: Any) -> None:
        """Change profile data the way a form or an import would (``last_changed`` moves):
        ``merge_fields`` (merged into the member's) or any other ``StoredMember`` field."""
        merged = changes.pop("merge_fields", None)
        with self._lock:
            member = self._changed(list_id, email, changes)
            if merged is not None:
                member.merge_tags, member.merge_values = self._merge_tuples(
                    member.merge_fields | dict(merged))
            member.last_changed = iso(self.clock())

    def update_stats(self, list_id: str, email: str, **changes: Any) -> None:
        """Change what Mailchimp computes itself (``member_rating``, ``avg_open_rate``,
        ``number_of_orders``, ``total_revenue``…): ``last_changed`` stays, as it does when a
        rating moves or a store reports an order."""
        with self._lock:
            self._changed(list_id, email, changes)

    def _changed(self, list_id: str, email: str, changes: dict[str, Any]) -> StoredMember:
        """A member with ``changes`` made to its stored fields (``StoredMember.change``)."""
        self._memo.clear()
        member = self.audiences[list_id].members[subscriber_hash(email)]
        for name, value in changes.items():
            member.change(name, value)
        return member

    def _merge_tuples(self, merge_fields: dict[str, Any]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """Merge fields as a member keeps them: the tags' tuple shared by every member whose
        fields have the same tags in the same order, and the values."""
        return self.shared_tuple(merge_fields), tuple(merge_fields.values())

    def delete_member(self, list_id: str, email: str) -> None:
        """Remove a member for good, as a permanent delete does: out of every tag too."""
        with self._lock:
            self._memo.clear()
            audience = self.audiences[list_id]
            key = subscriber_hash(email)
            audience.members.pop(key, None)
            for sid in audience.tags_of.pop(key, []):
                audience.segments[sid].members.discard(key)
            for segment in audience.segments.values():
                segment.members.discard(key)

    def create_segment(self, list_id: str, name: str, *, type: str = "static",
                       emails: Iterable[str] = (), options: dict[str, Any] | None = None
                       ) -> Segment:
        with self._lock:
            self._memo.clear()
            audience = self.audiences[list_id]
            now = iso(self.clock())
            segment = Segment(next(self._segment_ids), name, type, now, now,
                              options=options or {})
            audience.segments[segment.id] = segment
            for email in emails:
                self._tag(audience, segment, subscriber_hash(email))
            return segment

    def add_campaign(self, list_id: str, send_time: datetime, title: str = "",
                     recipients: Iterable[str] = (), status: str = "sent") -> Campaign:
        with self._lock:
            self._memo.clear()
            cid = f"c{next(self._ids):09x}"
            campaign = Campaign(cid, list_id, iso(send_time), title or cid, status=status,
                                recipients=[self.shared(subscriber_hash(e)) for e in recipients])
            self.campaigns[cid] = campaign
            return campaign

    def add_event(self, campaign_id: str, email: str, action: str, when: datetime,
                  url: str | None = None) -> None:
        with self._lock:
            self._memo.clear()
            event = SentEvent(action, self.shared(iso(when)),
                              self.shared(url or "") if action == "click" else None)
            event = self._events.setdefault(event, event)
            campaign = self.campaigns[campaign_id]
            key = self.shared(subscriber_hash(email))
            campaign.activity[key] = campaign.activity.get(key, ()) + (event,)
            campaign.events_added += 1

    def shared(self, text: str) -> str:
        """One string object for every equal ``text``: the same member's hash in every
        campaign, the same minute in many events and orders, the same link in many clicks."""
        return self._texts.setdefault(text, text)

    def shared_tuple(self, texts: Iterable[str]) -> tuple[str, ...]:
        """One tuple object for every equal sequence of texts (an order's products)."""
        made = tuple(map(self.shared, texts))
        return self._tuples.setdefault(made, made)

    def shared_rate(self, rate: float) -> float:
        """One float object for every equal rate: the generator's are rounded to hundredths,
        so 100,000 members have about a hundred distinct ones. (A float is not a key of
        ``_texts``: 1.0 would come back as an equal int or bool stored there first; a zero is
        kept as it comes, -0.0 being equal to 0.0.)"""
        return self._rates.setdefault(rate, rate) if rate else rate

    def segment_by_name(self, list_id: str, name: str) -> Segment | None:
        return next((s for s in self.audiences[list_id].segments.values() if s.name == name), None)

    def tag_names(self, list_id: str, email: str) -> list[str]:
        audience = self.audiences[list_id]
        return [audience.segments[sid].name for sid in audience.tags_of.get(subscriber_hash(email), [])]

    def _tag(self, audience: Audience, segment: Segment, key: str) -> bool:
        if key not in audience.members or key in segment.members:
            return False
        segment.members.add(key)
        if segment.type == "static":
            audience.tags_of.setdefault(key, []).append(segment.id)
        return True

    def _untag(self, audience: Audience, segment: Segment, key: str) -> bool:
        if key not in segment.members:
            return False
        segment.members.discard(key)
        if segment.id in audience.tags_of.get(key, []):
            audience.tags_of[key].remove(segment.id)
        return True

    # ---- HTTP -------------------------------------------------------------------------------

    def error(self, status: int, title: str, detail: str) -> HttpError:
        return HttpError(problem(status, title, detail, f"sandbox-{next(self._errors):08d}"))

    def fault_response(self, kind: str) -> Response:
        if kind == "503":  # the edge answers with HTML, not problem+json
            return Response(503, {"Content-Type": "text/html"},
                            b"<html><body><h1>503 Service Unavailable</h1></body></html>")
        titles = {"429": "Too Many Requests", "500": "Internal Server Error"}
        return problem(int(kind), titles[kind], "Injected by the sandbox.",
                       f"sandbox-{next(self._errors):08d}")

    def too_many_connections(self) -> Response:
        return problem(429, "Too Many Requests",
                       "You have exceeded the limit of 10 simultaneous connections.",
                       f"sandbox-{next(self._errors):08d}")

    def handle(self, request: Request) -> Response:
        self._authenticate(request)
        with self._lock:
            if request.method != "GET":
                self._memo.clear()
            return self.router.dispatch(request, self._not_found)

    def filtered(self, key: tuple[Any, ...], build: Callable[[], list[Any]]) -> list[Any]:
        """A filtered list for paging, built once per state (pages would rebuild it each time)."""
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = build()
        return found

    def _not_found(self, request: Request) -> Response:
        return self.error(404, "Resource Not Found",
                           "The requested resource could not be found.").response

    def _authenticate(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        key = ""
        if auth.lower().startswith("basic "):
            try:
                key = base64.b64decode(auth[6:]).decode("utf-8").split(":", 1)[1]
            except (ValueError, IndexError):
                key = ""
        host_dc = (request.headers.get("host", "").split(".", 1)[0])
        if key not in self.api_keys or key.rsplit("-", 1)[-1] != host_dc:
            raise self.error(401, "API Key Invalid",
                              "Your API key may be invalid, or you've attempted to access "
                              "the wrong datacenter.")

    def page(self, request: Request) -> tuple[int, int]:
        try:
            count = int(request.arg("count", "10") or 10)
            offset = int(request.arg("offset", "0") or 0)
        except ValueError:
            raise self.error(400, "Invalid Resource", "count and offset must be integers.") from None
        if count > MAX_COUNT or count < 0 or offset < 0:
            raise self.error(400, "Invalid Resource",
                              f"count must be between 0 and {MAX_COUNT}.")
        return count, offset

    def _audience(self, list_id: str) -> Audience:
        audience = self.audiences.get(list_id)
        if audience is None:
            raise self.error(404, "Resource Not Found",
                              "The requested resource could not be found.")
        return audience

    def _render_member(self, audience: Audience, key: str) -> dict[str, Any]:
        member = audience.members[key].as_json()
        tag_ids = audience.tags_of.get(key, [])
        member["tags_count"] = len(tag_ids)
        member["tags"] = [{"id": sid, "name": audience.segments[sid].name}
                          for sid in tag_ids[:MAX_MEMBER_TAGS]]
        return member

    def reply(self, request: Request, payload: dict[str, Any], status: int = 200) -> Response:
        return Response.json(status, project(payload, request))

    def _routes(self) -> None:
        r = self.router
        r.add("GET", "/ping", (), self.ping)
        r.add("GET", "/lists", ("fields", "exclude_fields", "count", "offset"), self.get_lists)
        r.add("GET", "/lists/{list_id}", ("fields", "exclude_fields"), self.get_list)
        r.add("GET", "/lists/{list_id}/members",
              ("fields", "exclude_fields", "count", "offset", "status", "since_last_changed"),
              self.get_members)
        r.add("GET", "/lists/{list_id}/members/{subscriber_hash}", ("fields", "exclude_fields"),
              self.get_member)
        r.add("GET", "/lists/{list_id}/members/{subscriber_hash}/tags",
              ("fields", "exclude_fields", "count", "offset"), self.get_member_tags)
        r.add("POST", "/lists/{list_id}/members/{subscriber_hash}/tags", (), self.post_member_tags)
        r.add("GET", "/lists/{list_id}/segments",
              ("fields", "exclude_fields", "count", "offset", "type"), self.get_segments)
        r.add("POST", "/lists/{list_id}/segments", (), self.post_segment)
        r.add("POST", "/lists/{list_id}/segments/{segment_id}", (), self.post_segment_batch)
        r.add("GET", "/lists/{list_id}/segments/{segment_id}/members",
              ("fields", "exclude_fields", "count", "offset", "include_cleaned",
               "include_transactional", "include_unsubscribed"), self.get_segment_members)
        r.add("GET", "/campaigns",
              ("fields", "exclude_fields", "count", "offset", "type", "status", "list_id",
               "since_send_time", "before_send_time", "sort_field", "sort_dir"),
              self.get_campaigns)
        r.add("GET", "/reports",
              ("fields", "exclude_fields", "count", "offset", "type", "before_send_time",
               "since_send_time"), self.get_reports)
        r.add("GET", "/reports/{campaign_id}/email-activity",
              ("fields", "exclude_fields", "count", "offset", "since"), self.get_email_activity)
        self.shop.routes(r)

    def ping(self, request: Request) -> Response:
        return self.reply(request, {"health_status": "Everything's Chimpy!"})

    def _list_object(self, audience: Audience) -> dict[str, Any]:
        counts = {s: 0 for s in ("subscribed", "unsubscribed", "cleaned")}
        for member in audience.members.values():
            if member.status in counts:
                counts[member.status] += 1
        return {"id": audience.id, "web_id": 1, "name": audience.name,
                "stats": {"member_count": counts["subscribed"],
                          "unsubscribe_count": counts["unsubscribed"],
                          "cleaned_count": counts["cleaned"]}}

    def get_lists(self, request: Request) -> Response:
        count, offset = self.page(request)
        lists = [self._list_object(a) for a in self.audiences.values()]
        return self.reply(request, {"lists": lists[offset:offset + count],
                                     "total_items": len(lists)})

    def get_list(self, request: Request, list_id: str) -> Response:
        return self.reply(request, self._list_object(self._audience(list_id)))

    def get_members(self, request: Request, list_id: str) -> Response:
        audience = self._audience(list_id)
        count, offset = self.page(request)
        status = request.arg("status")
        since = request.arg("since_last_changed")
        since_at = parse_iso(since) if since else None
        keys = self.filtered(("members", list_id, status, since), lambda: [
            k for k, m in audience.members.items()
            if (not status or m.status == status)
            and (since_at is None or parse_iso(m.last_changed) > since_at)])
        page = [self._render_member(audience, k) for k in keys[offset:offset + count]]
        return self.reply(request, {"members": page, "list_id": list_id,
                                     "total_items": len(keys)})

    def get_member(self, request: Request, list_id: str, subscriber_hash: str) -> Response:
        audience = self._audience(list_id)
        if subscriber_hash.lower() not in audience.members:
            raise self.error(404, "Resource Not Found",
                              "The requested resource could not be found.")
        return self.reply(request, self._render_member(audience, subscriber_hash.lower()))

    def get_member_tags(self, request: Request, list_id: str, subscriber_hash: str) -> Response:
        audience = self._audience(list_id)
        count, offset = self.page(request)
        if subscriber_hash.lower() not in audience.members:
            raise self.error(404, "Resource Not Found",
                              "The requested resource could not be found.")
        ids = audience.tags_of.get(subscriber_hash.lower(), [])
        tags = [{"id": sid, "name": audience.segments[sid].name,
                 "date_added": audience.segments[sid].created_at} for sid in ids]
        return self.reply(request, {"tags": tags[offset:offset + count],
                                     "total_items": len(tags)})

    def post_member_tags(self, request: Request, list_id: str, subscriber_hash: str) -> Response:
        """One member's tags, one request: what per-contact automations call (204, no body)."""
        audience = self._audience(list_id)
        key = subscriber_hash.lower()
        if key not in audience.members:
            raise self.error(404, "Resource Not Found",
                              "The requested resource could not be found.")
        for item in (request.json() or {}).get("tags") or []:
            segment = next((s for s in audience.segments.values()
                            if s.type == "static" and s.name == item.get("name")), None)
            if item.get("status") == "active":
                segment = segment or self.create_segment(list_id, str(item.get("name")))
                self._tag(audience, segment, key)
            elif segment is not None:
                self._untag(audience, segment, key)
        return Response(204, {"Content-Type": "application/json; charset=utf-8"}, b"")

    def _segment_object(self, audience: Audience, segment: Segment) -> dict[str, Any]:
        active = sum(1 for k in segment.members
                     if audience.members[k].status == "subscribed")
        return {"id": segment.id, "name": segment.name, "member_count": active,
                "type": segment.type, "created_at": segment.created_at,
                "updated_at": segment.updated_at, "options": segment.options,
                "list_id": audience.id}

    def get_segments(self, request: Request, list_id: str) -> Response:
        audience = self._audience(list_id)
        count, offset = self.page(request)
        wanted = request.arg("type")
        segments = [s for s in audience.segments.values() if not wanted or s.type == wanted]
        page = [self._segment_object(audience, s) for s in segments[offset:offset + count]]
        return self.reply(request, {"segments": page, "list_id": list_id,
                                     "total_items": len(segments)})

    def post_segment(self, request: Request, list_id: str) -> Response:
        audience = self._audience(list_id)
        body = request.json() or {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.error(400, "Invalid Resource", "The resource submitted could not be "
                              "validated. Field: name, message: This value should not be blank.")
        if "static_segment" in body and "options" in body:
            raise self.error(400, "Invalid Resource",
                              "A segment cannot have both static_segment and options.")
        if any(s.name == name for s in audience.segments.values()):
            raise self.error(400, "Invalid Resource", f'A segment named "{name}" already exists.')
        static = "static_segment" in body or "options" not in body
        segment = self.create_segment(list_id, name, type="static" if static else "saved",
                                      emails=body.get("static_segment") or [],
                                      options=body.get("options"))
        return self.reply(request, self._segment_object(audience, segment))

    def post_segment_batch(self, request: Request, list_id: str, segment_id: str) -> Response:
        audience = self._audience(list_id)
        segment = audience.segments.get(int(segment_id)) if segment_id.isdigit() else None
        if segment is None:
            raise self.error(404, "Resource Not Found",
                              "The requested resource could not be found.")
        if segment.type != "static":
            raise self.error(400, "Bad Request",
                              "Members can only be added to or removed from static segments (tags).")
        body = request.json() or {}
        to_add, to_remove = body.get("members_to_add") or [], body.get("members_to_remove") or []
        if len(to_add) > MAX_BATCH or len(to_remove) > MAX_BATCH:
            raise self.error(400, "Invalid Resource",
                              f"Maximum allowed member items exceeded. ({MAX_BATCH})")
        added: list[str] = []  # each member changed, in full, as JSON text (500 members
        removed: list[str] = []  # as objects at once weighed some 3 MB per call)
        missing: list[str] = []
        for emails, change, changed in ((to_add, self._tag, added),
                                        (to_remove, self._untag, removed)):
            for email in emails:
                key = subscriber_hash(email)
                if key not in audience.members:
                    missing.append(email)
                elif change(audience, segment, key):
                    changed.append(json.dumps(self._render_member(audience, key),
                                              ensure_ascii=False))
        if added or removed:
            segment.updated_at = iso(self.clock())
        errors = ([{"email_addresses": missing,
                    "error": "Email addresses are not subscribed to this list"}]
                  if missing else [])
        counts = json.dumps({"errors": errors, "total_added": len(added),
                             "total_removed": len(removed), "error_count": len(missing)},
                            ensure_ascii=False)
        body = (f'{{"members_added": [{", ".join(added)}], '
                f'"members_removed": [{", ".join(removed)}], {counts[1:]}')
        return Response.json_text(200, body)

    def get_segment_members(self, request: Request, list_id: str, segment_id: str) -> Response:
        audience = self._audience(list_id)
        count, offset = self.page(request)
        segment = audience.segments.get(int(segment_id)) if segment_id.isdigit() else None
        if segment is None:
            raise self.error(404, "Resource Not Found",
                              "The requested resource could not be found.")
        shown = {s for s in HIDDEN_BY_DEFAULT
                 if (request.arg(f"include_{s}") or "").lower() != "true"}
        keys = self.filtered(("segment", list_id, segment.id, tuple(sorted(shown))), lambda: [
            k for k in audience.members
            if k in segment.members and audience.members[k].status not in shown])
        page = [self._render_member(audience, k) for k in keys[offset:offset + count]]
        return self.reply(request, {"members": page, "total_items": len(keys)})

    def _campaign_object(self, c: Campaign) -> dict[str, Any]:
        return {"id": c.id, "web_id": 1, "type": c.type, "status": c.status,
                "create_time": c.send_time, "send_time": c.send_time,
                "emails_sent": len(c.recipients),
                "recipients": {"list_id": c.list_id, "list_is_active": True,
                               "recipient_count": len(c.recipients)},
                "settings": {"title": c.title, "subject_line": c.title}}

    def get_campaigns(self, request: Request) -> Response:
        count, offset = self.page(request)
        since = request.arg("since_send_time")
        before = request.arg("before_send_time")
        wanted = {k: request.arg(k) for k in ("status", "type", "list_id")}
        found = [c for c in self.campaigns.values()
                 if (not wanted["status"] or c.status == wanted["status"])
                 and (not wanted["type"] or c.type == wanted["type"])
                 and (not wanted["list_id"] or c.list_id == wanted["list_id"])
                 and (not since or parse_iso(c.send_time) > parse_iso(since))
                 and (not before or parse_iso(c.send_time) < parse_iso(before))]
        if request.arg("sort_field") in ("send_time", "create_time"):
            found.sort(key=lambda c: c.send_time, reverse=request.arg("sort_dir") == "DESC")
        page = [self._campaign_object(c) for c in found[offset:offset + count]]
        return self.reply(request, {"campaigns": page, "total_items": len(found)})

    def get_reports(self, request: Request) -> Response:
        """Every sent campaign's report (of any audience), oldest first."""
        count, offset = self.page(request)
        since, before = request.arg("since_send_time"), request.arg("before_send_time")
        kind = request.arg("type")
        found = [c for c in self.campaigns.values()
                 if c.status == "sent" and (not kind or c.type == kind)
                 and (not since or parse_iso(c.send_time) > parse_iso(since))
                 and (not before or parse_iso(c.send_time) < parse_iso(before))]
        page = [self._report_object(c) for c in found[offset:offset + count]]
        return self.reply(request, {"reports": page, "total_items": len(found)})

    def _report_object(self, c: Campaign) -> dict[str, Any]:
        """A campaign's report: its opens and clicks as the report reading shows them."""
        seen_until = self.clock() - REPORT_LAG if self.report_reading == "lagging" else None
        key = (c.events_added, self.report_reading, seen_until)
        built = self._reports.get(c.id)
        if built is None or built[0] != key:  # not after another campaign's events
            built = self._reports[c.id] = (key, self._build_report(c, seen_until))
        return dict(built[1])

    def _build_report(self, c: Campaign, seen_until: datetime | None) -> dict[str, Any]:
        audience = self.audiences.get(c.list_id)
        last = {"open": "", "click": ""}
        total = {"open": 0, "click": 0}
        who: dict[str, set[str]] = {"open": set(), "click": set()}
        unseen = later_than(seen_until) if seen_until is not None else None
        for member, events in c.activity.items():
            for event in events:
                action, timestamp = event.action, event.timestamp
                if action not in last or (unseen is not None and unseen(timestamp)):
                    continue
                total[action] += 1
                who[action].add(member)
                if timestamp > last[action]:  # iso's times: text order is time order
                    last[action] = timestamp
        if self.report_reading == "blank":
            last = {"open": "", "click": ""}
        sent = len(c.recipients)

        def rate(count: int) -> float:
            return count / sent if sent else 0.0
        return {"id": c.id, "campaign_title": c.title, "type": c.type, "list_id": c.list_id,
                "list_is_active": True, "list_name": audience.name if audience else "",
                "subject_line": c.title, "emails_sent": sent, "send_time": c.send_time,
                "opens": {"opens_total": total["open"], "unique_opens": len(who["open"]),
                          "open_rate": rate(len(who["open"])), "last_open": last["open"]},
                "clicks": {"clicks_total": total["click"],
                           "unique_clicks": len(who["click"]),
                           "unique_subscriber_clicks": len(who["click"]),
                           "click_rate": rate(len(who["click"])),
                           "last_click": last["click"]}}

    def get_email_activity(self, request: Request, campaign_id: str) -> Response:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise self.error(404, "Resource Not Found",
                              "The requested resource could not be found.")
        count, offset = self.page(request)
        since = request.arg("since")
        since_at = parse_iso(since) if since else None
        audience = self.audiences.get(campaign.list_id)

        reading = self.since_reading

        def recent() -> list[tuple[str, tuple[SentEvent, ...]]]:
            assert since_at is not None
            after = later_than(since_at)
            found = []
            for key in campaign.recipients:
                every = campaign.activity.get(key, ())
                events = tuple(e for e in every if after(e.timestamp))
                if events or reading == "all-recipients":
                    found.append((key, every if reading == "whole-arrays" else events))
            return found

        if since_at is None:
            total = len(campaign.recipients)
            chosen = [(k, campaign.activity.get(k, ()))
                      for k in campaign.recipients[offset:offset + count]]
        else:
            matching = self.filtered(("activity", campaign_id, since, reading), recent)
            total, chosen = len(matching), matching[offset:offset + count]
        page = []
        for key, events in chosen:
            member = audience.members.get(key) if audience else None
            page.append({"campaign_id": campaign.id, "list_id": campaign.list_id,
                         "list_is_active": True, "email_id": key,
                         "email_address": member.email_address if member else "",
                         "activity": [event.as_json() for event in events]})
        return self.reply(request, {"emails": page, "campaign_id": campaign.id,
                                     "total_items": total})
