"""The in-memory fakes behave like the real adapters, and the pipeline runs on them with no HTTP.

``FakeAudience`` is checked against ``MailchimpAudience`` on the sandbox: the same
audience, pulled in full and then incrementally through each, must leave the same
members and events in the local state. Then whole runs go through the fakes.
"""

from __future__ import annotations

import gc
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest

import syncbot.pipeline as pipeline
from syncbot.config import Secret, parse_config
from syncbot.mailchimp.client import MailchimpAudience
from syncbot.mailchimp.fake import FakeAudience
from syncbot.mailchimp.pull import pull
from syncbot.mailchimp.records import stored_members
from syncbot.pipeline import RunHooks, RunOptions, run_once
from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import generate_audience
from syncbot.sheets.client import SheetsError
from syncbot.sheets.fake import FakeWorkbook
from syncbot.sheets.spreadsheet import Spreadsheet
from syncbot.state.store import StateStore
from tests.conftest import LIST_ID, NOW, SAY, metadata_waits_for_a_values_read

SHEET = "1FakeSpreadsheetForTests"


def copy_into_fake(box: Sandbox) -> FakeAudience:
    """The sandbox's audience, record for record, in a FakeAudience."""
    fake = FakeAudience()
    members = box.mailchimp.audiences[LIST_ID].members
    for record in members.values():
        fake.records[record.email_address.lower()] = record.as_json()
    for campaign in box.mailchimp.campaigns.values():
        fake.add_campaign(campaign.id, datetime.fromisoformat(campaign.send_time))
        for key, events in campaign.activity.items():
            for event in events:
                if event["action"] in ("open", "click"):
                    fake.add_event(campaign.id, members[key].email_address, event["action"],
                                   datetime.fromisoformat(event["timestamp"]), event.get("url"))
    return fake


def state_after(source, path, now, *, full=False):
    store, _ = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
    pull(source, store, now=now, lookback_days=90, full=full)
    store.commit_run(now)
    pulled = {m.key: (m, Counter(events))
              for m, events in stored_members(store, sorted(store.member_keys()))}
    store.close()
    return pulled


def test_the_fake_audience_pulls_exactly_what_the_real_client_pulls(tmp_path):
    box = Sandbox(sleep=lambda s: None)
    box.mailchimp.clock = lambda: NOW - timedelta(days=1)
    made = generate_audience(box.mailchimp, list_id=LIST_ID, members=400, campaigns=3, now=NOW,
                             seed=11)
    real = MailchimpAudience(Secret(box.mailchimp.api_key), LIST_ID, session=box.session(),
                             sleep=lambda s: None)
    fake = copy_into_fake(box)
    assert state_after(real, tmp_path / "real.db", NOW) == state_after(fake, tmp_path / "fake.db",
                                                                      NOW)
    later = NOW + timedelta(hours=6)
    box.mailchimp.clock = lambda: later
    members = box.mailchimp.audiences[LIST_ID].members
    newest = box.mailchimp.campaigns[made.campaign_ids[0]]
    recipients = [members[key].email_address for key in newest.recipients[:30]]
    for email in recipients:  # new activity, then a profile change, in both worlds
        for world in (box.mailchimp, fake):
            world.add_event(made.campaign_ids[0], email, "click", later - timedelta(hours=1),
                            "https://shop.example.com/pricing")
    box.mailchimp.update_member(LIST_ID, made.emails[40], merge_fields={"JOBTITLE": "CEO"})
    [changed] = [m for m in members.values() if m.email_address == made.emails[40]]
    fake.records[made.emails[40].lower()] = changed.as_json()
    incremental = state_after(real, tmp_path / "real.db", later)
    assert incremental == state_after(fake, tmp_path / "fake.db", later)
    real.close()


class FakeWorld:
    """A whole run on the fakes: an audience, a spreadsheet set up by ``init``, a state file."""

    def __init__(self, tmp_path, name: str) -> None:
        self.now = NOW
        self.audience = FakeAudience()
        for i in range(120):
            self.audience.add_member(f"Lead{i}@Example.com", changed_at=NOW - timedelta(days=30),
                                     merge_fields={"JOBTITLE": "CEO" if i % 5 == 0 else "Analyst"},
                                     status="subscribed" if i % 9 else "unsubscribed")
        self.audience.add_campaign("c1", NOW - timedelta(days=10))
        for i in range(0, 120, 2):
            self.audience.add_event("c1", f"lead{i}@example.com", "open", NOW - timedelta(days=9))
            if i % 4 == 0:
                self.audience.add_event("c1", f"lead{i}@example.com", "click",
                                        NOW - timedelta(days=8), "https://x.example/pricing")
        self.book = FakeWorkbook(SHEET)
        self.config = parse_config({"mailchimp": {"list_id": LIST_ID},
                                    "sheets": {"spreadsheet_id": SHEET},
                                    "state": {"path": str(tmp_path / f"{name}.db")}})
        self.sheet = Spreadsheet(self.book, self.config.sheets, self.config.sources.tabs)
        self.sheet.init()

    def run(self, **options):
        return run_once(self.config, self.audience, self.sheet, self.now, RunOptions(**options),
                        RunHooks(clock=lambda: self.now, texts=SAY))

    def leads(self) -> dict[str, dict]:
        rows = self.book.values("Leads")
        return {r[0].lower(): dict(zip(rows[0], r, strict=False)) for r in rows[1:]}


def test_a_whole_run_on_the_fakes_writes_leads_and_tags_with_no_http(tmp_path):
    world = FakeWorld(tmp_path, "one")
    report = world.run()
    assert (report.mode, report.status, report.new_leads) == ("full", "ok", 120)
    leads = world.leads()
    assert len(leads) == 120
    for key, row in leads.items():
        wanted = {t.strip() for t in str(row["tags"]).split(",") if t.strip()}
        held = {tag for tag, keys in world.audience.tags.items() if key in keys}
        assert held == wanted, key
    assert world.book.values("Runs")[1][2:4] == ["full", "ok"]
    again = world.run()
    assert (again.mode, again.new_leads, again.changed_leads) == ("incremental", 0, 0)
    assert world.leads() == leads


@pytest.mark.parametrize("gap", [timedelta(minutes=10), timedelta(days=3), timedelta(days=40)])
def test_on_the_fakes_an_incremental_run_equals_a_full_one(tmp_path, gap):
    twins = {name: FakeWorld(tmp_path, name) for name in ("incremental", "full")}
    for name, world in twins.items():
        world.run()
        world.now += gap
        world.audience.add_event("c1", "lead3@example.com", "click", world.now - timedelta(minutes=1),
                                 "https://x.example/pricing")
        world.run(full=name == "full")
    assert twins["incremental"].leads() == twins["full"].leads()
    assert twins["incremental"].audience.tags == twins["full"].audience.tags


def test_the_garbage_collector_rests_while_leads_are_scored_and_comes_back_as_it_was(
        tmp_path, monkeypatch):
    world = FakeWorld(tmp_path, "gc")
    seen: list[bool] = []
    take = pipeline._Leads.take

    def spy(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return take(self, *args, **kwargs)

    monkeypatch.setattr(pipeline._Leads, "take", spy)
    assert gc.isenabled()
    assert world.run().status == "ok"
    assert len(seen) == 120 and not any(seen) and gc.isenabled()

    def broken(self, *args, **kwargs):
        raise RuntimeError("a lead that cannot be scored")

    monkeypatch.setattr(pipeline._Leads, "take", broken)
    with pytest.raises(RuntimeError):
        world.run(full=True)
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.setattr(pipeline._Leads, "take", spy)
        world.run(full=True)
        assert not gc.isenabled()  # a program that runs without it keeps it off
    finally:
        gc.enable()


def leads_writes_wait_for_tags(monkeypatch, world: FakeWorld, *, fail: bool = False
                               ) -> list[bool]:
    """The run's first value write (the Leads rows) waits, up to 5 s, for the tags' write to
    begin, and says whether it did; ``fail``: it then fails as Sheets would."""
    tags_begun, waited = threading.Event(), []
    write_tags, write = FakeAudience.write_tags, FakeWorkbook.write

    def tags(self, *args, **kwargs):
        tags_begun.set()
        return write_tags(self, *args, **kwargs)

    def rows(self, data, meanwhile=()):
        if not waited:
            waited.append(tags_begun.wait(5))
            if fail:
                raise SheetsError("The service is currently unavailable.")
        return write(self, data, meanwhile)

    monkeypatch.setattr(world.audience, "write_tags", tags.__get__(world.audience))
    monkeypatch.setattr(world.book, "write", rows.__get__(world.book))
    return waited


def test_the_tags_are_written_while_the_leads_rows_are(tmp_path, monkeypatch):
    world = FakeWorld(tmp_path, "beside")
    waited = leads_writes_wait_for_tags(monkeypatch, world)
    assert world.run().status == "ok"
    assert waited == [True]
    clean = FakeWorld(tmp_path, "clean")
    clean.run()
    assert world.leads() == clean.leads() and world.audience.tags == clean.audience.tags


def test_rows_that_fail_to_be_written_leave_the_tags_written_and_the_next_run_repairs_them(
        tmp_path, monkeypatch):
    world = FakeWorld(tmp_path, "failing")
    waited = leads_writes_wait_for_tags(monkeypatch, world, fail=True)
    with pytest.raises(SheetsError):
        world.run()
    clean = FakeWorld(tmp_path, "clean")
    clean.run()
    assert waited == [True] and world.audience.tags == clean.audience.tags  # all of them
    assert len(world.leads()) < len(clean.leads())
    monkeypatch.undo()
    report = world.run()
    assert report.status == "ok" and report.new_leads == 120
    assert world.leads() == clean.leads() and world.audience.tags == clean.audience.tags


def test_a_scheduled_run_asks_for_the_tabs_the_last_one_read_beside_the_metadata(tmp_path):
    """The state remembers the ranges of the tabs a run read; the next run asks for them
    before the metadata has answered (here the metadata waits until it has), in as many
    Sheets requests as the run before."""
    world = FakeWorld(tmp_path, "guess")
    world.run()
    calls = world.run().sheets_calls
    metadata_waits_for_a_values_read(world.book)
    report = world.run()
    assert (report.status, report.sheets_calls) == ("ok", calls)
