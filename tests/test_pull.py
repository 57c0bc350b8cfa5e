"""Incremental pulls give exactly what a full pull gives; the cache falls back to full safely."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest

from syncbot.config import Secret
from syncbot.core.fields import compute_features
from syncbot.mailchimp.client import MailchimpAudience
from syncbot.mailchimp.pull import pull
from syncbot.mailchimp.records import stored_members
from syncbot.ports import ColumnRead, Known, LeadNote, LedgerEntry
from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import generate_audience
from syncbot.sandbox.mailchimp import REPORT_LAG, REPORT_READINGS, SINCE_READINGS, subscriber_hash
from syncbot.state.store import StateStore
from tests.conftest import LIST_ID, NOW

LOOKBACK = 90


class World:
    def __init__(self) -> None:
        self.now = NOW - timedelta(days=1)  # profiles were last changed a day before the first run
        self.box = Sandbox(sleep=lambda s: None)
        self.box.mailchimp.clock = lambda: self.now
        self.audience = generate_audience(self.box.mailchimp, list_id=LIST_ID, members=1500,
                                          campaigns=4, now=NOW, seed=5)
        self.now = NOW
        newest = self.audience.campaign_ids[0]  # an open inside the overlap before the cursor
        self.box.mailchimp.add_event(newest, self.audience.emails[0], "open",
                                     NOW - timedelta(minutes=5))
        self.api = MailchimpAudience(Secret(self.box.mailchimp.api_key), LIST_ID,
                                     session=self.box.session(), sleep=lambda s: None)

    def pull(self, path, full=False):
        """Pull, then read the whole audience back the way the pipeline does (in chunks of
        keys)."""
        cache, reason = StateStore.open(path, list_id=LIST_ID, lookback_days=LOOKBACK)
        result = pull(self.api, cache, now=self.now, lookback_days=LOOKBACK, full=full)
        keys = sorted(cache.member_keys())
        loaded = [pair for start in range(0, len(keys), 97)
                  for pair in stored_members(cache, keys[start:start + 97])]
        assert result.members == len(loaded)
        return cache, reason, SimpleNamespace(
            mode=result.mode, mailchimp_requests=result.mailchimp_requests,
            members=[member for member, _ in loaded],
            events={member.key: events for member, events in loaded if events})


def snapshot(result, now):
    """Everything the scoring core sees: members, their event multisets and their features."""
    members = {m.key: m for m in result.members}
    events = {k: Counter(v) for k, v in result.events.items() if k in members}
    features = {k: compute_features(m, result.events.get(k, []), now=now,
                                    lookback_days=LOOKBACK, half_life_days=30)
                for k, m in members.items()}
    return members, events, features


def change_everything(world: World) -> None:
    mc = world.box.mailchimp
    emails = world.audience.emails
    world.now = NOW + timedelta(days=15)  # time passes: the oldest campaign leaves the window
    later = world.now - timedelta(hours=1)
    for i in range(30):  # new members, some with activity on a new campaign
        mc.add_member(LIST_ID, f"nuevo{i}@correo.es", merge_fields={"JOBTITLE": "CEO"},
                      timestamp_opt=later)
    mc.update_member(LIST_ID, emails[3], merge_fields={"JOBTITLE": "Director"})  # profile change
    mc.update_member(LIST_ID, emails[4], status="unsubscribed")
    mc.update_stats(LIST_ID, emails[5], member_rating=5,  # stats move without last_changed
                    number_of_orders=9)
    mc.delete_member(LIST_ID, emails[6])  # deleted from the audience
    members = mc.audiences[LIST_ID].members
    subscribed = [e for e in emails if subscriber_hash(e) in members
                  and members[subscriber_hash(e)].status == "subscribed"]
    old = next(iter(world.audience.campaign_ids))
    for email in subscribed[:40]:  # new activity on a known campaign, two in the same second
        mc.add_event(old, email, "open", later)
        mc.add_event(old, email, "open", later)
        mc.add_event(old, email, "click", later, "https://shop.example.com/pricing")
    fresh = mc.add_campaign(LIST_ID, world.now - timedelta(days=1), "New one",
                            recipients=subscribed[:200] + ["nuevo1@correo.es"])
    for email in subscribed[:50] + ["nuevo1@correo.es"]:
        mc.add_event(fresh.id, email, "open", later)


@pytest.mark.parametrize(("reading", "report"), [
    *((reading, "live") for reading in SINCE_READINGS),
    *(("filtered", report) for report in REPORT_READINGS if report != "live")])
def test_incremental_equals_full_after_every_kind_of_change(tmp_path, reading, report):
    """Whichever way Mailchimp reads email activity's ``since``, and however soon a campaign
    report shows its last open and click (the sandbox plays each)."""
    world = World()
    world.box.mailchimp.since_reading = reading
    world.box.mailchimp.report_reading = report
    cache, reason, first = world.pull(tmp_path / "state.db")
    assert (reason, first.mode) == ("missing", "full")
    cache.commit_run(world.now)
    cache.close()

    change_everything(world)
    cache, reason, incremental = world.pull(tmp_path / "state.db")
    assert (reason, incremental.mode) == (None, "incremental")
    _, _, full = world.pull(tmp_path / "other.db", full=True)
    assert snapshot(incremental, world.now) == snapshot(full, world.now)

    members = {m.key for m in incremental.members}
    assert "nuevo1@correo.es" in members and len(members) == 1500 + 30 - 1
    if reading != "all-recipients":  # a Mailchimp listing every recipient costs full pages
        assert incremental.mailchimp_requests < full.mailchimp_requests


def test_request_counts_of_full_and_incremental_pulls(tmp_path):
    world = World()
    cache, _, full = world.pull(tmp_path / "state.db")
    cache.commit_run(world.now)
    # 2 member pages + 1 campaigns page + 4 campaigns x 2 activity pages (1230 recipients each)
    assert full.mailchimp_requests == 2 + 1 + 4 * 2
    cache.close()
    world.now += timedelta(hours=6)
    cache, _, incremental = world.pull(tmp_path / "state.db")
    cache.commit_run(world.now)
    cache.close()
    # 1 changed-members page + 2 stats pages + 1 campaigns page + 1 reports page, and the
    # activity of the one campaign whose last open falls in the overlap before the last read
    assert incremental.mailchimp_requests == 1 + 2 + 1 + 1 + 1
    world.now += timedelta(hours=6)
    _, _, quiet = world.pull(tmp_path / "state.db")
    assert quiet.mailchimp_requests == 1 + 2 + 1 + 1  # every campaign quiet: none read


def test_an_event_a_report_shows_late_is_read_when_it_shows(tmp_path):
    """A report may show a new open only some time after it (the sandbox's "lagging"
    reading): its campaign looks quiet and is left unread, keeping its last read, so the
    open is read by the first pull after the report shows it, and nothing is lost."""
    world = World()
    world.box.mailchimp.report_reading = "lagging"
    cache, _, _ = world.pull(tmp_path / "state.db")
    cache.commit_run(world.now)
    cache.close()
    oldest, email = world.audience.campaign_ids[-1], world.audience.emails[9].lower()
    world.now += timedelta(hours=6)
    opened = world.now - REPORT_LAG / 2
    world.box.mailchimp.add_event(oldest, email, "open", opened)
    cache, _, early = world.pull(tmp_path / "state.db")
    assert opened not in {e.at for e in early.events.get(email, [])}  # not shown yet
    cache.commit_run(world.now)
    cache.close()
    world.now += timedelta(hours=6)
    _, _, later = world.pull(tmp_path / "state.db")
    assert opened in {e.at for e in later.events[email]}
    _, _, full = world.pull(tmp_path / "full.db", full=True)
    assert snapshot(later, world.now) == snapshot(full, world.now)


def test_a_failed_run_does_not_move_the_cursor(tmp_path):
    world = World()
    cache, _, _ = world.pull(tmp_path / "state.db")
    cache.commit_run(world.now)
    first_cursor = cache.cursor()
    cache.close()
    change_everything(world)
    cache, _, _ = world.pull(tmp_path / "state.db")  # the run then fails: no commit_run
    cache.close()
    cache, _, again = world.pull(tmp_path / "state.db")
    assert cache.cursor() == first_cursor
    _, _, full = world.pull(tmp_path / "full.db", full=True)
    assert snapshot(again, world.now) == snapshot(full, world.now)  # repeating is harmless


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda p: p.write_bytes(b"this is not a database at all" * 100), "corrupt"),
    (lambda p: None, "audience"),
])
def test_a_corrupt_or_foreign_cache_means_a_full_pull(tmp_path, damage, reason):
    world = World()
    path = tmp_path / "state.db"
    cache, _, _ = world.pull(path)
    cache.commit_run(world.now)
    cache.close()
    damage(path)
    list_id = "another" if reason == "audience" else LIST_ID
    cache, why = StateStore.open(path, list_id=list_id, lookback_days=LOOKBACK)
    assert why == reason and cache.cursor() is None
    cache.close()
    change_everything(world)
    cache, why, result = world.pull(path)
    assert result.mode == "full"
    _, _, full = world.pull(tmp_path / "full.db", full=True)
    assert snapshot(result, world.now) == snapshot(full, world.now)


def test_a_cache_for_another_lookback_or_version_starts_empty(tmp_path):
    path = tmp_path / "state.db"
    cache, _ = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
    cache.commit_run(NOW)
    cache.close()
    cache, why = StateStore.open(path, list_id=LIST_ID, lookback_days=30)
    assert why == "lookback"
    cache.db.execute("UPDATE meta SET value = '0' WHERE key = 'version'")
    cache.commit_run(NOW)
    cache.close()
    assert StateStore.open(path, list_id=LIST_ID, lookback_days=30)[1] == "version"


def test_what_a_run_read_is_kept_with_its_ledger_and_garbage_reads_as_none(tmp_path):
    path = tmp_path / "state.db"
    cache, _ = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
    assert cache.columns_read() == [] and cache.tabs_read() == []
    cache.remember_reads([ColumnRead("Leads", 0), ColumnRead("Form 'A'", 27)],
                         ["Weights", "'Form A'!1:1"])
    list(cache.stage_leads([], ["layout"], "rules", replace=True))  # committed by the run's
    cache.commit_run(NOW)
    cache.close()
    cache, _ = StateStore.read_only(path, list_id=LIST_ID, lookback_days=90)
    assert cache is not None
    assert cache.columns_read() == [ColumnRead("Leads", 0), ColumnRead("Form 'A'", 27)]
    assert cache.tabs_read() == ["Weights", "'Form A'!1:1"]
    cache.close()
    for garbage in ("not json", '[["Leads"]]', '{"Leads": 1}', '[["Leads", "B"]]'):
        cache, _ = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
        cache.db.execute("UPDATE meta SET value = ? WHERE key IN ('columns_read', 'tabs_read')",
                         (garbage,))
        assert cache.columns_read() == [] and cache.tabs_read() == [], garbage
        cache.close()


def test_events_leave_the_cache_as_they_leave_the_window(tmp_path):
    world = World()
    cache, _, first = world.pull(tmp_path / "state.db")
    cache.commit_run(world.now)
    oldest_before = min(e.at for events in first.events.values() for e in events)
    world.now += timedelta(days=40)
    cache, _, later = world.pull(tmp_path / "state.db")
    remaining = [e.at for events in later.events.values() for e in events]
    assert min(remaining) >= world.now - timedelta(days=LOOKBACK) > oldest_before
    assert len(cache.campaigns()) < 4


def test_every_full_pull_reason_has_a_message(tmp_path):
    from syncbot.state.store import FULL_PULL_REASONS, full_pull_warning

    for reason in FULL_PULL_REASONS:
        assert "whole audience" in full_pull_warning(reason, tmp_path / "s.db")
    assert str(tmp_path / "s.db") in full_pull_warning("corrupt", tmp_path / "s.db")


V2_LEADS = """CREATE TABLE leads (key TEXT PRIMARY KEY, cells TEXT NOT NULL, synced_at REAL,
                    stable_until REAL, status TEXT, email TEXT, tags TEXT, score REAL);"""


def test_a_cache_from_the_previous_version_is_upgraded_keeping_what_it_holds(tmp_path):
    """A cache written before team data existed (version 2) keeps its members, cursor and
    ledger: the upgrade costs no full pull."""
    import sqlite3

    from syncbot.state import store

    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    old_schema = store.SCHEMA[:store.SCHEMA.index("CREATE TABLE tag_history")]  # none in v2
    old_schema = old_schema.replace(", read_at TEXT)", ")")  # schema 9's
    db.executescript(old_schema.replace(old_schema[old_schema.index("CREATE TABLE leads"):
                                                   old_schema.index("CREATE TABLE dirty")],
                                        V2_LEADS + "\n"))
    db.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("version", "2"), ("list_id", LIST_ID), ("lookback_days", "90"),
        ("cursor", NOW.isoformat())])
    db.execute("INSERT INTO members VALUES ('ana@example.es', '{}', '')")
    db.execute("INSERT INTO leads VALUES ('ana@example.es', '[]', 46000.5, 1e12, 'subscribed', "
               "'ana@example.es', '[]', 12.5)")
    db.commit()
    db.close()
    cache, why = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
    assert why is None and cache.cursor() == NOW
    [entry] = cache.settled_leads() if cache.mark_stale(NOW, everyone=False) == 0 else [None]
    assert entry.score == 12.5 and entry.note.inputs == ""
    assert cache.mark_stale(NOW, everyone=False, inputs={"ana@example.es": '{"x":1}'}) == 1
    assert cache.ledger_rules() is None  # every lead is evaluated once more (its topics)
    assert cache.tag_history() == [] and cache.history(["ana@example.es"]) == {}
    cache.close()
    assert StateStore.open(path, list_id=LIST_ID, lookback_days=90)[1] is None  # stays upgraded


def test_a_leads_events_are_read_from_the_index_alone_also_after_an_upgrade(tmp_path):
    """Scoring reads every due lead's events: from the covering index, not row by row from
    the table. A cache of version 10 had the index without kind and url."""
    from syncbot.state import store

    def plan(cache):
        return " ".join(row[-1] for row in cache.db.execute(
            "EXPLAIN QUERY PLAN " + store.EVENTS_OF.format(marks="?, ?"), ["a", "b"]))

    path = tmp_path / "state.db"
    cache, _ = StateStore.open(path, list_id=LIST_ID, lookback_days=LOOKBACK)
    assert "USING COVERING INDEX events_by_member" in plan(cache)
    cache.db.executescript(
        "DROP INDEX events_by_member; CREATE INDEX events_by_member ON events (member_key, at);"
        "UPDATE meta SET value = '10' WHERE key = 'version';"
        "INSERT INTO meta VALUES ('cursor', '2026-11-02T00:00:00+00:00');"
        "INSERT INTO members VALUES ('k', '{\"email_address\": \"ana@example.es\"}', '');"
        "INSERT INTO events VALUES ('c1', 'k', 'click', '2026-11-01T10:00:00+00:00', 'https://x');")
    assert "COVERING" not in plan(cache)
    cache.close()
    cache, why = StateStore.open(path, list_id=LIST_ID, lookback_days=LOOKBACK)
    assert why is None and "USING COVERING INDEX events_by_member" in plan(cache)
    [(_, events)] = cache.members_of(["k"])
    assert [(e.kind, e.url) for e in events] == [("click", "https://x")]


def test_a_copy_of_the_state_holds_what_its_log_still_holds(tmp_path):
    """A dry run works on a copy: one of the file alone would miss the last commits of a run
    that died before SQLite moved its write-ahead log into the file."""
    path = tmp_path / "state.db"
    cache, _ = StateStore.open(path, list_id=LIST_ID, lookback_days=LOOKBACK)
    cache.commit_run(NOW)  # still in the log: the run "dies" holding it open
    assert path.with_name("state.db-wal").stat().st_size > 0
    StateStore.copy(path, tmp_path / "copy.db")
    copied, why = StateStore.open(tmp_path / "copy.db", list_id=LIST_ID, lookback_days=LOOKBACK)
    assert why is None and copied.cursor() == NOW
    copied.close()
    (tmp_path / "file-alone.db").write_bytes(path.read_bytes())
    alone, why = StateStore.open(tmp_path / "file-alone.db", list_id=LIST_ID,
                                 lookback_days=LOOKBACK)
    assert why is not None and alone.cursor() is None  # the file alone misses the cursor
    alone.close()
    cache.close()
    (tmp_path / "garbage.db").write_bytes(b"not a database" * 100)
    StateStore.copy(tmp_path / "garbage.db", tmp_path / "garbage-copy.db")  # as it is
    assert (tmp_path / "garbage-copy.db").read_bytes() == b"not a database" * 100



def test_a_full_pull_marks_changes_only_where_a_ledger_vouches_for_leads(tmp_path):
    """The marks single out leads whose ledger entries no longer hold (``mark_stale``); with
    no ledger yet every lead is computed anew, so a first pull marks nothing, and a full pull
    over a state with a ledger marks what it brings."""
    world = World()
    cache, _, first = world.pull(tmp_path / "state.db")
    assert cache.dirty_keys() == set()  # a first sync: nothing to single out
    assert cache.mark_stale(world.now, everyone=False) == len(first.members)  # all the same
    key = first.members[0].key
    list(cache.stage_leads([LedgerEntry.of(key, Known("[]", 1.0), LeadNote(
        world.now.timestamp() + 86400, "subscribed", key, "[]", 0.0))], ["layout"], "rules",
        replace=True))
    cache.commit_run(world.now)
    cache.close()
    cache, _, _ = world.pull(tmp_path / "state.db", full=True)
    assert key in cache.dirty_keys()  # its entry no longer vouches for it
    assert cache.mark_stale(world.now, everyone=False) == len(first.members)
