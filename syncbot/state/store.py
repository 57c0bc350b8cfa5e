"""The local cache behind incremental pulls: members and events of one audience, in SQLite.

It is only a cache: deleting it costs one full pull. It is versioned and
tied to one audience and lookback; anything else (missing, corrupt, another
audience, another schema) means "start empty", and the caller says why.
Changes are made durable by ``save`` (once per pull); the cursor (the start of
the last successful run) moves only through ``commit_run``.

It also keeps the **Leads ledger**: the values syncbot last wrote in each
lead's row, with that row's ``synced_at``. A run compares its new values with
the ledger instead of reading the whole Leads tab back; the tab's
``synced_at`` column tells which rows still hold what the ledger says. With
each lead the ledger keeps until when its values hold without new inputs
(``stable_until``), and every change a pull makes to a member or its events
marks that member **dirty**: a run recomputes only dirty leads, leads past
their ``stable_until`` and all leads when the rules changed; the others are
taken from the ledger as they are.

The file is in SQLite's write-ahead-log mode: a run's worker processes read the
state as it was last committed while the run itself writes the pull into it
(``syncbot.evaluation.Ahead``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import sqlite3
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syncbot.core.dashboard import RUNS_SHOWN, TagCounts
from syncbot.core.history import HistoryPoint
from syncbot.core.model import Event
from syncbot.locales import t
from syncbot.ports import (
    ColumnRead,
    DashboardMemory,
    Known,
    LedgerEntry,
    ListedPage,
    ScannedMember,
    StoredMember,
    StoredOrder,
)
from syncbot.state.history import Stored, decode, encode, hundredths, lead_id

STATE_REASONS = {"missing": "unusable.missing", "corrupt": "unusable.corrupt",  # why it is unusable
                 "version": "unusable.version", "audience": "unusable.audience",
                 "lookback": "unusable.lookback", "incomplete": "unusable.incomplete"}
FULL_PULL_REASONS = {"missing": "cache.missing", "corrupt": "cache.corrupt",
                     "audience": "cache.audience", "lookback": "cache.lookback",
                     "version": "cache.version", "incomplete": "cache.incomplete"}


def full_pull_warning(reason: str, path: Path) -> str:
    """What to tell the user when the cache could not be used."""
    return t(FULL_PULL_REASONS[reason], path=path)

SCHEMA_VERSION = 11
STAGED_AT_A_TIME = 1000  # ledger entries a step of ``stage_leads`` stages: a few milliseconds
EVENTS_BY_MEMBER = "CREATE INDEX events_by_member ON events (member_key, at, kind, url)"
#  covering: a lead's events are read from the index alone, not looked up row by row in the
#  table (2.4 times faster to read, for a file 2.5 % larger: docs/benchmarks.md)
EVENTS_OF = ("SELECT member_key, kind, at, url FROM events WHERE member_key IN ({marks}) "
             "ORDER BY member_key, at")  # the events of the leads a run evaluates
SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE members (key TEXT PRIMARY KEY, raw TEXT NOT NULL, scan TEXT NOT NULL);
CREATE TABLE campaigns (id TEXT PRIMARY KEY, send_time TEXT NOT NULL, read_at TEXT);
CREATE TABLE events (campaign_id TEXT NOT NULL, member_key TEXT NOT NULL, kind TEXT NOT NULL,
                     at TEXT NOT NULL, url TEXT);
CREATE INDEX events_by_campaign ON events (campaign_id, at);
{EVENTS_BY_MEMBER};
CREATE TABLE leads (key TEXT PRIMARY KEY, cells TEXT NOT NULL, synced_at REAL,
                    stable_until REAL, status TEXT, email TEXT, tags TEXT, score REAL,
                    inputs TEXT, topics TEXT);
CREATE TABLE dirty (key TEXT PRIMARY KEY);
CREATE TABLE tag_history (at TEXT PRIMARY KEY, counts TEXT NOT NULL);
"""
HISTORY = ("CREATE TABLE history (id INTEGER PRIMARY KEY, points BLOB NOT NULL, "  # one row
           "last_run INTEGER NOT NULL, last_score INTEGER NOT NULL, last_tags INTEGER NOT NULL, "
           "second_run INTEGER)",  # a lead (by lead_id): state.history's BLOB, its last point
           "CREATE TABLE history_runs (number INTEGER PRIMARY KEY, at REAL NOT NULL)",
           "CREATE TABLE tag_sets (id INTEGER PRIMARY KEY, tags TEXT NOT NULL UNIQUE)")
ORDERS = ("CREATE TABLE orders (id TEXT PRIMARY KEY, key TEXT NOT NULL, data TEXT NOT NULL, "
          "fingerprint INTEGER NOT NULL)",  # of the three others (StoredOrder.fingerprint)
          "CREATE INDEX orders_by_key ON orders (key)")  # reference.md, "Purchases"
ORDER_PAGES = ("CREATE TABLE order_pages (digest BLOB PRIMARY KEY, fingerprints BLOB NOT NULL, "
               "stores TEXT NOT NULL)",)  # the last listing's pages (ports.ListedPage)
SCHEMA += "".join(f"{statement};\n" for statement in (*HISTORY, *ORDERS, *ORDER_PAGES))
Migration = str | Callable[[sqlite3.Connection], None]  # SQL, or Python for what SQL cannot
MIGRATIONS: dict[int, list[Migration]] = {  # from version N to N + 1: what a cache written by
    #                                         an older syncbot needs
    2: ["ALTER TABLE leads ADD COLUMN inputs TEXT"],  # the team's values each lead was scored with
    3: ["ALTER TABLE leads ADD COLUMN topics TEXT",  # each lead's topics, for the Dashboard:
        "DELETE FROM meta WHERE key = 'leads_rules'",  # known once every lead is evaluated again
        "CREATE TABLE tag_history (at TEXT PRIMARY KEY, counts TEXT NOT NULL)"],
    4: ["CREATE TABLE history (key TEXT NOT NULL, at REAL NOT NULL, score REAL NOT NULL, "
        "tags TEXT NOT NULL, PRIMARY KEY (key, at))",  # score history starts here
        "DELETE FROM meta WHERE key = 'leads_rules'"],  # every lead gains its history fields
    5: ["ALTER TABLE history RENAME TO history_rows", *HISTORY,
        lambda db: _compact_history(db)],  # a point in ~3 bytes instead of ~110
    6: ["CREATE TABLE orders (id TEXT PRIMARY KEY, key TEXT NOT NULL, data TEXT NOT NULL)",
        "CREATE INDEX orders_by_key ON orders (key)"],  # purchases with their dates
    7: ["ALTER TABLE orders ADD COLUMN fingerprint INTEGER NOT NULL DEFAULT 0",
        lambda db: _fingerprint_orders(db)],  # compared in memory, not looked up one by one
    8: ["ALTER TABLE campaigns ADD COLUMN read_at TEXT"],  # quiet campaigns are not read
    9: [*ORDER_PAGES],  # unchanged order pages are not taken apart
    10: ["DROP INDEX events_by_member", EVENTS_BY_MEMBER],  # it was on (member_key, at)
}
DASHBOARD = "dashboard"  # meta key: the Dashboard tab syncbot made, as JSON
HISTORY_AT = "history_at"  # meta key: when the last run that recorded history ran
ANNOUNCED_THROUGH = "announced_through"  # meta key: Hand-off rows up to then were announced
LEDGER_LAYOUT = "leads_layout"
LEDGER_RULES = "leads_rules"
COLUMNS_READ = "columns_read"  # meta key: the columns the last run read of Leads and sources
TABS_READ = "tabs_read"  # meta key: the ranges of the tabs the last run's values read asked for




class StateStore:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.db = connection
        self.path = path
        self._marking = True  # whether changes are marked (see ``clear_members``)

    @classmethod
    def open(cls, path: Path, *, list_id: str, lookback_days: int) -> tuple[StateStore, str | None]:
        """The cache at ``path``, and why it had to start empty (None when it is usable)."""
        reason = None
        if path.exists():
            try:
                db = _writer(path)
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
                if _upgrade(db, meta.get("version")):
                    meta["version"] = str(SCHEMA_VERSION)
                reason = _unusable(meta, list_id, lookback_days)
                if reason is None:
                    return cls(db, path), None
                db.close()
            except sqlite3.DatabaseError:
                reason = "corrupt"
            path.unlink()
        else:
            reason = "missing"
        path.parent.mkdir(parents=True, exist_ok=True)
        db = _writer(path)
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("version", str(SCHEMA_VERSION)), ("list_id", list_id),
            ("lookback_days", str(lookback_days))])
        db.commit()
        return cls(db, path), reason

    @classmethod
    def read_only(cls, path: Path, *, list_id: str, lookback_days: int
                  ) -> tuple[StateStore | None, str | None]:
        """The state at ``path`` opened only to read (``syncbot why``): nothing is created,
        upgraded or set aside; None and the reason when it cannot be used as it is."""
        if not path.exists():
            return None, "missing"
        try:
            db = _read_only(path)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError:
            return None, "corrupt"
        reason = _unusable(meta, list_id, lookback_days)
        if reason is not None:
            db.close()
            return None, reason
        return cls(db, path), None

    @staticmethod
    def copy(path: Path, to: Path) -> None:
        """A copy of the state at ``path`` as last committed (a dry run works on one), taken
        through SQLite: the file alone may lack what its write-ahead log still holds. A file
        SQLite cannot read is copied as it is, for ``open`` to find it unusable as before."""
        try:
            with contextlib.closing(_read_only(path)) as source, \
                    contextlib.closing(sqlite3.connect(to)) as target:
                source.backup(target)
        except sqlite3.DatabaseError:
            shutil.copyfile(path, to)

    @classmethod
    def reader(cls, path: Path) -> StateStore:
        """The state at ``path`` opened only to read, as it is (a worker of the run that opened
        and checked it: ``syncbot.evaluation``). It sees what that run committed."""
        return cls(_read_only(path), path)

    def close(self) -> None:
        self.db.close()

    # ---- cursor -----------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def cursor(self) -> datetime | None:
        return self._moment("cursor")

    def commit_run(self, started_at: datetime) -> None:
        """A run that started at ``started_at`` succeeded: the next pull starts from there."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (started_at.isoformat(),))
        self.db.commit()

    # ---- members ----------------------------------------------------------------------------

    def runs_recorded(self) -> int:
        """How many runs the Dashboard's leads-per-tag history holds."""
        return int(self.db.execute("SELECT COUNT(*) FROM tag_history").fetchone()[0])

    def member(self, key: str) -> tuple[dict[str, Any], list[Event]] | None:
        """One member's record and its events (oldest first), if the last pull had it."""
        found = self.members_of([key])
        return found[0] if found else None

    def member_keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM members")}

    def clear_members(self) -> None:
        """Before a full pull. With no ledger yet (a first sync, or a state started afresh)
        the pull marks no member as changed (``_mark``): every lead is computed anew, and the
        marks only single out leads the ledger vouches for (``mark_stale``); nothing is scored
        ahead of a full pull. At 225,000 members that is millions of inserts fewer."""
        self.db.execute("DELETE FROM members")
        self._marking = self.db.execute("SELECT 1 FROM leads LIMIT 1").fetchone() is not None

    def upsert_members(self, members: Iterable[StoredMember]) -> None:
        rows = list(members)
        self.db.executemany("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", rows)
        self._mark((member.key,) for member in rows)

    def dirty_keys(self) -> set[str]:
        """The members whose inputs changed since the last run was recorded (``_mark``)."""
        return {key for (key,) in self.db.execute("SELECT key FROM dirty")}

    def _mark(self, keys: Iterable[tuple[str]]) -> None:
        """These members' inputs changed: their leads must be recomputed."""
        if self._marking:
            self.db.executemany("INSERT OR IGNORE INTO dirty VALUES (?)", keys)

    def _mark_events(self, where: str, params: Sequence[Any]) -> None:
        if self._marking:
            self.db.execute(f"INSERT OR IGNORE INTO dirty SELECT DISTINCT member_key FROM events "
                            f"WHERE {where}", params)

    def refresh_members(self, partial: Sequence[ScannedMember]) -> list[str]:
        """Overlay fresh values (status, rating, stats: one page of the scan) on the stored
        members whose scan changed; returns the keys the store does not know."""
        fresh = {member.key: member for member in partial}
        known = {key: scan for key, scan in self.db.execute(
            f"SELECT key, scan FROM members WHERE key IN ({','.join('?' * len(fresh))})",
            list(fresh))} if fresh else {}
        updated = []
        for key, scan in known.items():
            if scan != fresh[key].scan:
                (raw,) = self.db.execute("SELECT raw FROM members WHERE key = ?", (key,)).fetchone()
                merged = json.loads(raw) | dict(fresh[key].fields)
                updated.append(StoredMember(key, json.dumps(merged), fresh[key].scan))
        self.db.executemany("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", updated)
        self._mark((member.key,) for member in updated)
        return [key for key in fresh if key not in known]

    def keep_members(self, keys: set[str]) -> None:
        """Forget the members Mailchimp no longer lists."""
        self.db.executemany("DELETE FROM members WHERE key = ?",
                            ((k,) for k in self.member_keys() - keys))

    def member_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM members").fetchone()[0])

    def merge_tags(self) -> list[str]:
        """Every merge tag the members have, in order of first appearance."""
        return [tag for (tag,) in self.db.execute(
            "SELECT j.key FROM members AS m, json_each(m.raw, '$.merge_fields') AS j "
            "GROUP BY j.key ORDER BY MIN(m.rowid * 1000000 + j.id)")]

    def members_of(self, keys: Sequence[str]) -> list[tuple[dict[str, Any], list[Event]]]:
        """The records of those of ``keys`` the last pull kept, with their events (oldest
        first), in the order of ``keys``."""
        raws: dict[str, str] = {}
        events: dict[str, list[Event]] = {}
        for part, marks in _in_parts(keys):
            raws.update(self.db.execute(f"SELECT key, raw FROM members WHERE key IN ({marks})",
                                        part))
            for key, kind, at, url in self.db.execute(EVENTS_OF.format(marks=marks), part):
                own = events.get(key)
                if own is None:
                    own = events[key] = []
                own.append(Event(kind, datetime.fromisoformat(at), url))
        return [(json.loads(raws[key]), events.get(key, [])) for key in keys if key in raws]

    # ---- orders -----------------------------------------------------------------------------

    def order_fingerprints(self) -> Iterator[int]:
        """The fingerprint of every cached order, for a listing to find the orders that
        changed without looking each one up."""
        return (fingerprint for (fingerprint,) in self.db.execute("SELECT fingerprint FROM orders"))

    def listed_pages(self) -> dict[bytes, ListedPage]:
        """The pages the last orders listing read, by digest."""
        return {bytes(digest): ListedPage(bytes(digest), _unpack(fingerprints),
                                          tuple(json.loads(stores)))
                for digest, fingerprints, stores in self.db.execute(
                    "SELECT digest, fingerprints, stores FROM order_pages")}

    def remember_pages(self, pages: Sequence[ListedPage]) -> None:
        """The pages of a complete listing, in place of the last one's."""
        self.db.execute("DELETE FROM order_pages")
        self.db.executemany("INSERT OR REPLACE INTO order_pages VALUES (?, ?, ?)",
                            ((page.digest, _pack(page.fingerprints), json.dumps(page.stores))
                             for page in pages))

    def upsert_orders(self, orders: Sequence[StoredOrder]) -> None:
        """New and changed orders (by their fingerprints) replace what the cache holds, and
        mark their leads (before and after: an order may change hands) for evaluation."""
        known: dict[str, tuple[str, str]] = {}
        for part, marks in _in_parts([order.id for order in orders]):
            known.update((oid, (key, data)) for oid, key, data in self.db.execute(
                f"SELECT id, key, data FROM orders WHERE id IN ({marks})", part))
        changed = [order for order in orders if known.get(order.id) != (order.key, order.data)]
        self.db.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
                            ((*order, order.fingerprint) for order in changed))
        self._mark({(order.key,) for order in changed}
                   | {(known[order.id][0],) for order in changed if order.id in known})

    def unlisted_orders(self, was_listed: Callable[[int], bool | None]) -> list[StoredOrder]:
        """The cached orders a listing did not show (``was_listed`` by fingerprint), by id and
        lead only (``data`` blank: forgetting needs no more, and every order is read here)."""
        return [StoredOrder(oid, key, "") for oid, key, fingerprint in self.db.execute(
                "SELECT id, key, fingerprint FROM orders") if not was_listed(fingerprint)]

    def forget_orders(self, orders: Sequence[StoredOrder]) -> None:
        """Orders the stores no longer list: forgotten, their leads marked."""
        self.db.executemany("DELETE FROM orders WHERE id = ?", ((order.id,) for order in orders))
        self._mark({(order.key,) for order in orders})

    def orders_of(self, keys: Sequence[str]) -> dict[str, list[str]]:
        """The counted orders (as stored) of those of ``keys`` that have any."""
        found: dict[str, list[str]] = {}
        for part, marks in _in_parts(keys):
            for key, data in self.db.execute(
                    f"SELECT key, data FROM orders WHERE key IN ({marks}) AND data != ''", part):
                found.setdefault(key, []).append(data)
        return found

    def order_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM orders").fetchone()[0])

    # ---- the Leads ledger -------------------------------------------------------------------

    def ledger_layout(self) -> Any:
        """What the ledger describes (spreadsheet, tab, columns), as ``stage_leads`` stored it."""
        value = self._meta(LEDGER_LAYOUT)
        return None if value is None else json.loads(value)

    def mark_stale(self, now: datetime, *, everyone: bool,
                   inputs: Mapping[str, str] | None = None) -> int:
        """Choose the members whose leads a run must recompute: all of them (``everyone``), or
        those with no ledger entry, dirty ones, those past their ``stable_until`` and those
        whose team values (``inputs``: key → fingerprint, blank ones left out) are not the
        ones their entry was computed with. Returns how many."""
        self.db.execute("DROP TABLE IF EXISTS temp.stale")
        self.db.execute("DROP TABLE IF EXISTS temp.team_changed")
        self.db.execute("CREATE TEMP TABLE stale (key TEXT PRIMARY KEY)")
        self.db.execute("CREATE TEMP TABLE team_changed (key TEXT PRIMARY KEY)")
        if not everyone:
            self.db.executemany("INSERT INTO team_changed VALUES (?)",
                                ((key,) for key in self._team_changed(inputs or {})))
        self.db.execute(
            "INSERT INTO stale SELECT m.key FROM members AS m LEFT JOIN leads AS l ON l.key = m.key "
            "WHERE ? OR l.key IS NULL OR l.stable_until IS NULL OR l.stable_until <= ? "
            "OR m.key IN (SELECT key FROM dirty) OR m.key IN (SELECT key FROM team_changed)",
            (everyone, now.timestamp()))
        return int(self.db.execute("SELECT COUNT(*) FROM stale").fetchone()[0])

    def stale_keys(self, chunk: int) -> Iterator[list[str]]:
        """The keys ``mark_stale`` chose, in order, ``chunk`` at a time."""
        keys = self.db.execute("SELECT key FROM stale ORDER BY key")
        while part := [key for (key,) in keys.fetchmany(chunk)]:
            yield part

    def _team_changed(self, inputs: Mapping[str, str]) -> list[str]:
        """The leads whose team values are not the ones their ledger entry was computed with
        (compared here rather than in SQL: one pass over the ledger, no temporary table of
        every fingerprint)."""
        recorded = dict(self.db.execute(
            "SELECT key, inputs FROM leads WHERE inputs IS NOT NULL AND inputs != ''"))
        changed = [key for key, text in recorded.items() if inputs.get(key, "") != text]
        changed += [key for key, text in inputs.items() if text and key not in recorded]
        return changed

    def settled_leads(self) -> Iterator[LedgerEntry]:
        """The ledger entries of the members ``mark_stale`` did not choose, as recorded."""
        yield from map(LedgerEntry._make, self.db.execute(
            "SELECT l.key, l.cells, l.synced_at, l.stable_until, l.status, l.email, l.tags, "
            "l.score, l.inputs, l.topics FROM leads AS l JOIN members AS m ON m.key = l.key "
            "WHERE l.key NOT IN (SELECT key FROM stale)"))

    def _meta_list(self, key: str) -> list[Any]:
        """A meta value kept as a JSON list; empty when there is none or it is not one."""
        try:
            value = json.loads(self._meta(key) or "[]")
        except ValueError:
            return []
        return value if isinstance(value, list) else []

    def columns_read(self) -> list[ColumnRead]:
        """The columns the last run read of Leads and the source tabs (``remember_reads``);
        none when it never said, or said something this version cannot take."""
        try:
            return [ColumnRead(str(tab), int(column))
                    for tab, column in self._meta_list(COLUMNS_READ)]
        except (ValueError, TypeError):
            return []

    def tabs_read(self) -> list[str]:
        """The ranges of the tabs the last run's values read asked for (``remember_reads``);
        none when it never said, or said something this version cannot take."""
        ranges = self._meta_list(TABS_READ)
        return ranges if all(isinstance(range_, str) for range_ in ranges) else []

    def remember_reads(self, columns: Sequence[ColumnRead], tabs: Sequence[str]) -> None:
        """What this run read of Leads and the source tabs (``columns``) and the ranges of
        the tabs its values read asked for (``tabs``), for the next run to ask for at once
        (kept by the next commit: the ledger's)."""
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            (COLUMNS_READ, json.dumps([list(column) for column in columns])),
            (TABS_READ, json.dumps(list(tabs)))])

    def ledger_rules(self) -> str | None:
        """The rules fingerprint every ledger entry was computed with."""
        return self._meta(LEDGER_RULES)

    def ledger(self, keys: Sequence[str]) -> dict[str, Known]:
        """What the ledger knows of those of ``keys`` it holds."""
        found: dict[str, Known] = {}
        for part, marks in _in_parts(keys):
            found.update((key, Known(cells, stamp)) for key, cells, stamp in self.db.execute(
                f"SELECT key, cells, synced_at FROM leads WHERE key IN ({marks})", part))
        return found

    def stage_leads(self, entries: Iterable[LedgerEntry], layout: Any, rules: str, *,
                    replace: bool) -> Iterator[None]:
        """What the Leads tab holds once a run's writes are in (``entries``), and that every
        lead was recomputed with ``rules``; ``replace`` forgets the rest first (the ledger
        described another layout). In steps of ``STAGED_AT_A_TIME`` entries, which a run takes
        while its rows are on their way to the sheet, and uncommitted: nothing is durable, or
        seen by another connection, before ``save``, which the run calls once every row is
        in, so a run that stops before leaves the ledger as it was."""
        if replace:
            self.db.execute("DELETE FROM leads")
        entries = iter(entries)
        while step := list(itertools.islice(entries, STAGED_AT_A_TIME)):
            self.db.executemany("INSERT OR REPLACE INTO leads VALUES "
                                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", step)
            yield
        self.db.execute("DELETE FROM dirty")
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [(LEDGER_LAYOUT, json.dumps(layout)), (LEDGER_RULES, rules)])

    # ---- score history ----------------------------------------------------------------------

    def history(self, keys: Sequence[str]) -> dict[str, list[HistoryPoint]]:
        """The history points of those of ``keys`` that have any, oldest first."""
        tag_sets = self._tag_sets()
        runs = {number: datetime.fromtimestamp(at, UTC) for number, at in
                self.db.execute("SELECT number, at FROM history_runs")}
        return {key: [HistoryPoint(runs[run], score / 100, tag_sets[tags])
                      for run, score, tags in decode(points)]
                for key, points in self._per_lead(keys, "points")}

    def last_tags(self, keys: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The tags of each of ``keys``' latest point (the lead's tags after the previous run
        that recorded history), read from beside its points: nothing is decoded."""
        tag_sets = self._tag_sets()
        return {key: tag_sets[tags] for key, tags in self._per_lead(keys, "last_tags")}

    def _per_lead(self, keys: Sequence[str], column: str) -> Iterator[tuple[str, Any]]:
        """``column`` of the history record of each of ``keys`` that has one."""
        ids = {lead_id(key): key for key in keys}
        for part, marks in _in_parts(list(ids)):
            for number, value in self.db.execute(
                    f"SELECT id, {column} FROM history WHERE id IN ({marks})", part):
                yield ids[number], value

    def record_history(self, at: datetime, leads: Iterable[tuple[str, float, str]], *,
                       keep_days: int) -> None:
        """After a successful run: a point for each lead (key, score, tags as a JSON list)
        whose score or tags differ from its latest point; points older than ``keep_days``
        dropped, except each lead's latest one before that (its score as of then)."""
        run = self.db.execute("INSERT INTO history_runs (at) VALUES (?)",
                              (at.timestamp(),)).lastrowid or 0
        latest = {number: Stored(last_run, score, tags) for number, last_run, score, tags in
                  self.db.execute("SELECT id, last_run, last_score, last_tags FROM history")}
        ids = {tags: number for number, tags in self._tag_sets(as_json=True).items()}
        new, added = [], []
        for key, score, tags in leads:
            if tags not in ids:
                ids[tags] = self.db.execute("INSERT INTO tag_sets (tags) VALUES (?)",
                                            (tags,)).lastrowid or 0
            point = Stored(run, hundredths(score), ids[tags])
            number = lead_id(key)
            before = latest.get(number)
            if before is None:
                new.append((number, encode([point]), run, point.score, point.tags))
            elif (before.score, before.tags) != (point.score, point.tags):
                added.append((encode([point], before), run, point.score, point.tags, run,
                              number))
        self.db.executemany("INSERT OR REPLACE INTO history VALUES (?, ?, ?, ?, ?, NULL)", new)
        self.db.executemany(
            "UPDATE history SET points = CAST(points || ? AS BLOB), last_run = ?,"
            " last_score = ?, last_tags = ?, second_run = COALESCE(second_run, ?) WHERE id = ?",
            added)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (HISTORY_AT, at.isoformat()))
        self._forget_before(at - timedelta(days=keep_days))
        self.db.commit()

    def _forget_before(self, cutoff: datetime) -> None:
        """Drop the points older than ``cutoff`` of the leads that have two or more, keeping
        the latest of them (only those leads' points are decoded)."""
        [(first,)] = self.db.execute("SELECT MIN(number) FROM history_runs WHERE at >= ?",
                                     (cutoff.timestamp(),))  # the first run to keep
        rows = self.db.execute("SELECT id, points FROM history WHERE second_run < ?",
                               (first,)).fetchall()
        for number, data in rows:
            points = list(decode(data))
            keep = points[max(i for i, point in enumerate(points) if point.run < first):]
            self.db.execute("UPDATE history SET points = ?, second_run = ? WHERE id = ?",
                            (encode(keep), keep[1].run if len(keep) > 1 else None, number))

    def _tag_sets(self, *, as_json: bool = False) -> dict[int, Any]:
        """Every tag combination the history holds, by id (as a tuple, or as stored): a
        handful of rows."""
        return {number: tags if as_json else tuple(json.loads(tags))
                for number, tags in self.db.execute("SELECT id, tags FROM tag_sets")}

    def history_recorded_at(self) -> datetime | None:
        """When the last run that recorded history ran (None: no run did, so the next one is
        the baseline that hands off no one)."""
        return self._moment(HISTORY_AT)

    # ---- hand-off announcements -------------------------------------------------------------

    def announced_through(self) -> datetime | None:
        """Up to when the Hand-off rows were announced (or the announcement reported failed)."""
        return self._moment(ANNOUNCED_THROUGH)

    def remember_announced(self, at: datetime) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        (ANNOUNCED_THROUGH, at.isoformat()))
        self.db.commit()

    def _moment(self, key: str) -> datetime | None:
        value = self._meta(key)
        return None if value is None else datetime.fromisoformat(value)

    # ---- the Dashboard ----------------------------------------------------------------------

    def record_tag_counts(self, counts: TagCounts, keep: int = RUNS_SHOWN) -> None:
        """Remember how many leads had each managed tag after a run (the last ``keep`` runs)."""
        self.db.execute("INSERT OR REPLACE INTO tag_history VALUES (?, ?)",
                        (_stamp(counts.at), json.dumps(dict(counts.counts))))
        self.db.execute("DELETE FROM tag_history WHERE at NOT IN "
                        "(SELECT at FROM tag_history ORDER BY at DESC LIMIT ?)", (keep,))
        self.db.commit()

    def tag_history(self) -> list[TagCounts]:
        """The runs' tag counts, oldest first."""
        return [TagCounts(datetime.fromisoformat(at), json.loads(counts)) for at, counts in
                self.db.execute("SELECT at, counts FROM tag_history ORDER BY at")]

    def dashboard(self, spreadsheet_id: str) -> DashboardMemory | None:
        """The Dashboard tab syncbot made in this spreadsheet, if it remembers one."""
        raw = self._meta(DASHBOARD)
        if raw is None:
            return None
        found = json.loads(raw)
        memory = DashboardMemory(str(found["spreadsheet_id"]), int(found["sheet_id"]),
                                 tuple(found.get("charts", ())))
        return memory if memory.spreadsheet_id == spreadsheet_id else None

    def remember_dashboard(self, memory: DashboardMemory) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        (DASHBOARD, json.dumps(asdict(memory))))
        self.db.commit()

    # ---- campaigns and events ---------------------------------------------------------------

    def campaigns(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, send_time FROM campaigns").fetchall())

    def keep_campaigns(self, current: Mapping[str, str]) -> None:
        """Forget campaigns no longer in the window (and their events); record the new ones."""
        stale = set(self.campaigns()) - set(current)
        for campaign_id in stale:
            self._mark_events("campaign_id = ?", (campaign_id,))
        self.db.executemany("DELETE FROM events WHERE campaign_id = ?", ((c,) for c in stale))
        self.db.executemany("DELETE FROM campaigns WHERE id = ?", ((c,) for c in stale))
        self.db.executemany("INSERT INTO campaigns (id, send_time) VALUES (?, ?) "
                            "ON CONFLICT (id) DO UPDATE SET send_time = excluded.send_time",
                            current.items())

    def read_times(self) -> dict[str, datetime]:
        """When each campaign's activity was last read (the start of the pull that read it);
        campaigns not read since they gained the time are left out: read from the cursor."""
        return {cid: datetime.fromisoformat(at) for cid, at in self.db.execute(
            "SELECT id, read_at FROM campaigns WHERE read_at IS NOT NULL")}

    def mark_read(self, campaign_ids: Iterable[str], at: datetime) -> None:
        """These campaigns' activity was read by a pull that started at ``at`` (durable with
        the pull: what it read is in the cache, whatever becomes of the run)."""
        self.db.executemany("UPDATE campaigns SET read_at = ? WHERE id = ?",
                            ((at.isoformat(), cid) for cid in campaign_ids))

    def clear_events(self, campaign_id: str, since: datetime | None) -> None:
        """Forget a campaign's events after ``since`` (all of them when None) before its fresh
        events are added, so an overlap is replaced exactly, not merged."""
        where, params = (("campaign_id = ?", (campaign_id,)) if since is None else
                         ("campaign_id = ? AND at > ?", (campaign_id, _stamp(since))))
        self._mark_events(where, params)
        self.db.execute(f"DELETE FROM events WHERE {where}", params)

    def add_events(self, campaign_id: str, events: Iterable[tuple[str, Event]]) -> None:
        rows = [(campaign_id, key, e.kind, _stamp(e.at), e.url) for key, e in events]
        self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
        self._mark({(row[1],) for row in rows})

    def drop_events_before(self, oldest: datetime) -> None:
        self._mark_events("at < ?", (_stamp(oldest),))
        self.db.execute("DELETE FROM events WHERE at < ?", (_stamp(oldest),))

    def save(self) -> None:
        """Make what was changed since the last commit durable: a pull's changes in one go
        (so a pull that fails half way leaves the cache as the last complete pull left it),
        or a ledger staged while its rows were on their way (``stage_leads``)."""
        self.db.commit()


def _unusable(meta: Mapping[str, str], list_id: str, lookback_days: int) -> str | None:
    """Why a state with this ``meta`` cannot serve this audience and lookback (None: it can)."""
    if meta.get("version") != str(SCHEMA_VERSION):
        return "version"
    if meta.get("list_id") != list_id:
        return "audience"
    if meta.get("lookback_days") != str(lookback_days):
        return "lookback"
    return "incomplete" if meta.get("cursor") is None else None


def _writer(path: Path) -> sqlite3.Connection:
    """The run's own connection, the file in write-ahead-log mode (see the module's
    docstring)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    return db


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _in_parts(keys: Sequence[Any], size: int = 900) -> Iterator[tuple[Sequence[Any], str]]:
    """``keys`` in parts under SQLite's limit of bound parameters, each with its ``?, ?…``."""
    for start in range(0, len(keys), size):
        part = keys[start:start + size]
        yield part, ",".join("?" * len(part))


def _upgrade(db: sqlite3.Connection, version: str | None) -> bool:
    """Bring a cache written by an older syncbot to this schema, keeping what it holds;
    False when there is no way (unknown version: the cache starts empty)."""
    if version is None or not version.isdigit() or int(version) >= SCHEMA_VERSION:
        return False
    steps = range(int(version), SCHEMA_VERSION)
    if any(step not in MIGRATIONS for step in steps):
        return False
    with db:
        for step in steps:
            for statement in MIGRATIONS[step]:
                if callable(statement):
                    statement(db)
                else:
                    db.execute(statement)
        db.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(SCHEMA_VERSION),))
    return True


def _stamp(when: datetime) -> str:
    """Fixed-width UTC text (``2026-11-01T10:00:05.000123+00:00``), so SQLite's string
    comparison orders times correctly; ``isoformat`` writes it in half the time ``strftime``
    takes, once for every event a pull stores."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _pack(fingerprints: Sequence[int]) -> bytes:
    """Signed 64-bit integers as 8 bytes each (little-endian)."""
    return struct.pack(f"<{len(fingerprints)}q", *fingerprints)


def _unpack(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(blob) // 8}q", blob)


def _fingerprint_orders(db: sqlite3.Connection) -> None:
    """Schema 7 → 8: each cached order gains its fingerprint."""
    db.executemany("UPDATE orders SET fingerprint = ? WHERE id = ?", [
        (StoredOrder(*row).fingerprint, row[0])
        for row in db.execute("SELECT id, key, data FROM orders").fetchall()])


def _compact_history(db: sqlite3.Connection) -> None:
    """Schema 5 → 6: the history's rows (one per point) become one BLOB per lead."""
    runs = {at: db.execute("INSERT INTO history_runs (at) VALUES (?)", (at,)).lastrowid or 0
            for (at,) in db.execute("SELECT DISTINCT at FROM history_rows ORDER BY at")}
    ids: dict[str, int] = {}
    leads: dict[str, list[Stored]] = {}
    for key, at, score, tags in db.execute(
            "SELECT key, at, score, tags FROM history_rows ORDER BY key, at"):
        if tags not in ids:
            ids[tags] = db.execute("INSERT INTO tag_sets (tags) VALUES (?)",
                                   (tags,)).lastrowid or 0
        leads.setdefault(key, []).append(Stored(runs[at], hundredths(score), ids[tags]))
    db.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?)", [
        (lead_id(key), encode(points), points[-1].run, points[-1].score, points[-1].tags,
         points[1].run if len(points) > 1 else None) for key, points in leads.items()])
    db.execute("DROP TABLE history_rows")
