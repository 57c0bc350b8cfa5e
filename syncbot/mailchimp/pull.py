"""Pulling an audience's members and engagement, in full or incrementally through the cache.

A full pull fetches everything and rebuilds the cache. An incremental pull
(cache present, and its cursor set by a successful run) fetches:
- members whose profile changed since the cursor (``since_last_changed``),
  plus a ``fields``-trimmed scan of every member's status, rating and stats,
  because Mailchimp does not move ``last_changed`` for those (and the scan
  also shows who left the audience);
- each known campaign's activity ``since`` the cursor, which replaces the
  cache's events after that time exactly. Mailchimp does not say whether
  ``since`` filters each recipient's activity or only which recipients are
  listed, so only events after that time are kept, whatever the answer holds;
- campaigns new to the window in full.
Both use a small overlap before the cursor, so clock skew loses nothing. The
result is the same members and events a full pull gives; the tests prove it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from syncbot.mailchimp.client import SCAN_KEYS, STATS_FIELDS, subscriber_hash
from syncbot.mailchimp.records import to_events
from syncbot.ports import AudienceSource, Mode, PulledStore, ScannedMember, StoredMember
from syncbot.progress import STILL, Meter

OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Pulled:
    members: int
    mode: Mode
    mailchimp_requests: int
    campaigns: int = 0  # in the window
    quiet: int = 0  # of them, not read: their reports showed no activity since their last read


def _scan(raw: Mapping[str, Any]) -> str:
    """The part of a member record the stats scan sees, as comparable text."""
    return json.dumps({k: raw[k] for k in SCAN_KEYS if k in raw}, sort_keys=True)


def stored(raws: Iterable[Mapping[str, Any]]) -> list[StoredMember]:
    """Member records as the store keeps them: by lower-cased address, whole, with their scan."""
    return [StoredMember(raw["email_address"].lower(), json.dumps(raw), _scan(raw))
            for raw in raws]


def scanned(page: Iterable[Mapping[str, Any]]) -> list[ScannedMember]:
    """A page of the stats scan as the store compares it."""
    return [ScannedMember(raw["email_address"].lower(), _scan(raw), raw) for raw in page]


def pull(api: AudienceSource, cache: PulledStore, *, now: datetime, lookback_days: int,
         full: bool = False, pages: Meter = STILL) -> Pulled:
    """Bring the cache up to date with Mailchimp (read it back with ``stored_members``)."""
    cursor = None if full else cache.cursor()
    since = cursor - OVERLAP if cursor is not None else None
    before = api.requests

    if since is None:
        cache.clear_members()
        for page in api.member_pages():  # stored page by page: never all in memory at once
            cache.upsert_members(stored(page))
            pages.advance()
    else:
        cache.upsert_members(stored(api.members(since_last_changed=since)))
        listed: set[str] = set()
        unknown: list[str] = []
        for page in api.member_pages(fields=STATS_FIELDS):  # page by page, changes only
            unknown += cache.refresh_members(scanned(page))
            pages.advance()
            listed.update(m["email_address"].lower() for m in page)
        cache.keep_members(listed)
        if unknown:  # not seen by any earlier pull: fetch their whole record
            cache.upsert_members(stored(api.members_by_hash([subscriber_hash(k)
                                                             for k in sorted(unknown)])))

    oldest = now - timedelta(days=lookback_days)
    known = cache.campaigns()
    current = {c["id"]: c["send_time"] for c in api.campaigns(oldest)}
    cache.keep_campaigns(current)
    last_reads = cache.read_times()
    starts = {cid: _read_from(last_reads.get(cid), since) if cid in known else None
              for cid in current}
    windows = _unquiet(api, starts, oldest)
    for cid, first, entries in api.activity_pages(windows):
        start = windows[cid]
        if first:
            cache.clear_events(cid, start)
        cache.add_events(cid, ((entry["email_address"].lower(), event)
                               for entry in entries
                               for event in to_events(entry.get("activity") or [])
                               if start is None or event.at > start))
        pages.advance()
    cache.mark_read(windows, now)
    cache.drop_events_before(oldest)
    cache.save()

    return Pulled(members=cache.member_count(), mode="full" if since is None else "incremental",
                  mailchimp_requests=api.requests - before, campaigns=len(current),
                  quiet=len(starts) - len(windows))


def _read_from(last_read: datetime | None, since: datetime | None) -> datetime | None:
    """From when a known campaign's activity is read: from its last read (the start of the
    pull that read it), else from the cursor (``since`` has the overlap taken off already),
    each less the overlap; None (a full pull): all of it."""
    if since is None:
        return None
    return since if last_read is None else last_read - OVERLAP


def _unquiet(api: AudienceSource, starts: Mapping[str, datetime | None], oldest: datetime
             ) -> dict[str, datetime | None]:
    """The campaigns whose activity must be read, each from its start: every one read in
    full, and of the others those whose report shows an open or a click after their start,
    or does not tell (one request for the reports). A quiet campaign keeps its last read,
    so an event its report shows late is read the next time it shows."""
    if all(start is None for start in starts.values()):
        return dict(starts)
    latest = api.activity_times(oldest)
    return {cid: start for cid, start in starts.items()
            if start is None or (moment := latest.get(cid)) is None or moment > start}
