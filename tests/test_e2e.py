"""End to end through the command line, against the sandbox
(docs/reference.md: commands, exit codes, safety)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncbot import wiring
from syncbot.cli import main
from syncbot.sandbox import Faults, Sandbox
from syncbot.sandbox.generator import generate_audience
from syncbot.sandbox.mailchimp import SINCE_READINGS, subscriber_hash
from syncbot.sheets import client as sheets_client
from syncbot.state import store as state_store
from syncbot.state.lock import lock_for
from tests.conftest import LIST_ID, NOW, SHEET_ID, waits_for

TIERS = ("lead:hot", "lead:warm", "lead:cold")


class TickingClock:
    """Each reading is two seconds after the last: quota windows pass without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 2.0
        return self.now


class World:
    def __init__(self, tmp: Path, monkeypatch, *, faults: float = 0.0, seed: int = 3,
                 locale: str = "en_US") -> None:
        self.tmp = tmp
        self.box = Sandbox(sleep=lambda s: None, sheets_clock=TickingClock(),
                           mailchimp_faults=Faults(rate=faults, seed=seed),
                           sheets_faults=Faults(rate=faults, seed=seed + 1))
        self.now = NOW - timedelta(days=1)  # the audience's profiles date from the day before
        self.box.mailchimp.clock = lambda: self.now
        self.audience = generate_audience(self.box.mailchimp, list_id=LIST_ID, members=600,
                                          campaigns=4, now=NOW, seed=seed)
        self.now = NOW
        self.account = self.box.google.service_account()
        self.box.sheets.create(SHEET_ID, locale=locale, editors=(self.account["client_email"],))
        key_file = tmp / "sa.json"
        key_file.write_text(json.dumps(self.account))
        self.config = tmp / "syncbot.toml"
        self.config.write_text(f'[mailchimp]\nlist_id = "{LIST_ID}"\n[sheets]\n'
                               f'spreadsheet_id = "{SHEET_ID}"\n')
        self.env = {"MAILCHIMP_API_KEY": self.box.mailchimp.api_key,
                    "GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
        self.monkeypatch = monkeypatch
        self.activate()

    def activate(self) -> None:
        for key, value in self.env.items():
            self.monkeypatch.setenv(key, value)
        adapter = self.box.session().get_adapter("https://")
        self.monkeypatch.setattr(wiring, "transport", lambda: adapter)
        self.monkeypatch.setattr(wiring, "sleep", lambda s: None)
        self.monkeypatch.setattr(wiring, "now", lambda: self.now)

    def run(self, capsys, *argv: str) -> tuple[int, str, str]:
        self.activate()
        with pytest.raises(SystemExit) as done:
            main([*argv, "--config", str(self.config)])
        out, err = capsys.readouterr()
        return int(done.value.code or 0), out, err

    def leads(self) -> dict[str, dict]:
        rows = self.box.sheets.values(SHEET_ID, "Leads")
        return {r[0].lower(): dict(zip(rows[0], r, strict=False)) for r in rows[1:]}

    def tags(self) -> dict[str, set[str]]:
        audience = self.box.mailchimp.audiences[LIST_ID]
        return {s.name: {audience.members[k].email_address.lower() for k in s.members}
                for s in audience.segments.values()}

    def runs(self) -> list[list]:
        return self.box.sheets.values(SHEET_ID, "Runs")[1:]

    def writes(self) -> tuple[int, int]:
        sheets = self.box.sheets_host.count("POST") + self.box.sheets_host.count("PUT")
        return sheets, self.box.mailchimp_host.count("POST")

    def set_weights(self, rows) -> None:
        book = self.box.sheets.spreadsheets[SHEET_ID].sheet("Weights")
        book.rows = [book.rows[0]] + [list(r) for r in rows]


def test_first_sync_creates_leads_and_tags_as_the_rules_say(world, capsys):
    code, out, err = world.run(capsys, "sync")
    assert code == 0, err
    assert "Full sync of 600 members: 600 new leads" in out
    leads = world.leads()
    tags = world.tags()
    assert len(leads) == 600
    for email, row in leads.items():
        member = world.box.mailchimp.audiences[LIST_ID].members[subscriber_hash(email)]
        wanted = {t.strip() for t in str(row["tags"]).split(",") if t.strip()}
        if member.status != "subscribed":
            assert wanted == set()
            continue
        tier = "lead:hot" if row["score"] >= 60 else "lead:warm" if row["score"] >= 25 else \
            "lead:cold"
        assert wanted & set(TIERS) == {tier}
        assert ("lead:sunset" in wanted) == (row["days_since_last_activity"] not in ("", None)
                                             and row["days_since_last_activity"] > 180)
        for tag in TIERS + ("lead:sunset",):
            assert (email in tags.get(tag, set())) == (tag in wanted)
    assert tags["webinar-2026"]  # the team's own tag is still there
    [run] = world.runs()
    assert run[2:4] == ["full", "ok"] and run[4] == 600


def test_a_second_sync_changes_nothing(world, capsys):
    world.run(capsys, "sync")
    before_leads, before_tags, writes = world.leads(), world.tags(), world.writes()
    code, out, _ = world.run(capsys, "sync")
    assert code == 0 and "0 new leads, 0 changed leads" in out
    assert world.leads() == before_leads and world.tags() == before_tags
    sheets_writes, mailchimp_writes = world.writes()
    assert mailchimp_writes == writes[1]
    assert sheets_writes == writes[0] + 1  # the Runs row with the Dashboard's tables
    assert [r[2] for r in world.runs()] == ["full", "incremental"]


def twin_worlds(tmp_path, monkeypatch, capsys, extra_config: str = "",
                since_reading: str = "filtered") -> dict[str, World]:
    """The same generated audience twice, spreadsheet set up: "incremental" and "full";
    the incremental twin's Mailchimp reads email activity's ``since`` as ``since_reading``."""
    worlds = {}
    for name in ("incremental", "full"):
        (tmp_path / name).mkdir()
        worlds[name] = w = World(tmp_path / name, monkeypatch)
        w.config.write_text(w.config.read_text() + extra_config)
        w.run(capsys, "init")
    worlds["incremental"].box.mailchimp.since_reading = since_reading
    return worlds


def sync_twin(name: str, world: World, capsys) -> tuple[str, str]:
    """A sync as the twin named ``name`` runs it: the "full" twin always with --full."""
    code, out, err = world.run(capsys, "sync", *(("--full",) if name == "full" else ()))
    assert code == 0, err
    return out, err


@pytest.mark.parametrize("reading", SINCE_READINGS)
def test_an_incremental_sync_equals_a_full_one(tmp_path, monkeypatch, capsys, reading):
    worlds = twin_worlds(tmp_path, monkeypatch, capsys, since_reading=reading)
    for name, w in worlds.items():
        w.run(capsys, "sync")
        w.now = NOW + timedelta(hours=8)
        mc = w.box.mailchimp
        mc.add_member(LIST_ID, "nueva@correo.es", merge_fields={"JOBTITLE": "CEO"})
        mc.update_member(LIST_ID, w.audience.emails[2], merge_fields={"JOBTITLE": "Director"})
        for email in w.audience.emails[:80]:
            mc.add_event(w.audience.campaign_ids[0], email, "click", w.now - timedelta(hours=1),
                         "https://shop.example.com/pricing")
        out, _ = sync_twin(name, w, capsys)
        assert ("Full" if name == "full" else "Incremental") + " sync" in out
    incremental, full = worlds["incremental"], worlds["full"]
    assert incremental.leads() == full.leads()
    assert incremental.tags() == full.tags()


def test_syncbot_cells_edited_by_hand_are_put_right_by_sync_full(world, capsys):
    world.run(capsys, "sync")
    book = world.box.sheets.spreadsheets[SHEET_ID].sheet("Leads")
    score = book.rows[0].index("score")
    first = book.rows[1][0].lower()
    right = book.rows[1][score]
    book.rows[1][score] = 999  # typed over syncbot's own column
    assert world.run(capsys, "sync")[0] == 0
    assert world.leads()[first]["score"] == 999  # the ledger vouches for the row (documented)
    code, out, _ = world.run(capsys, "sync", "--full")
    assert code == 0 and "0 new leads, 1 changed leads" in out
    assert world.leads()[first]["score"] == right


def test_a_deleted_cache_costs_reads_not_rewrites(world, capsys):
    world.run(capsys, "sync")
    before, writes = world.leads(), world.writes()
    (world.tmp / ".syncbot" / "state.db").unlink()
    code, out, _ = world.run(capsys, "sync")
    assert code == 0 and "0 new leads, 0 changed leads" in out
    assert world.leads() == before  # synced_at included: no row was rewritten
    assert world.writes()[0] == writes[0] + 1  # the Runs row with the Dashboard's tables
    charts = [len(s.charts) for s in world.box.sheets.spreadsheets[SHEET_ID].sheets]
    assert sum(charts) == 4  # the Dashboard was found by its name and title: not made again


@pytest.mark.parametrize("reading", SINCE_READINGS)
def test_incremental_syncs_that_reuse_unchanged_leads_equal_full_ones_over_time(
        tmp_path, monkeypatch, capsys, reading):
    """Leads whose inputs did not change and whose values hold are taken from the ledger;
    whatever time passes (and whichever way Mailchimp reads ``since``), the sheet and the
    tags are what a full sync gives."""
    worlds = twin_worlds(tmp_path, monkeypatch, capsys, since_reading=reading)
    for w in worlds.values():
        w.run(capsys, "sync")
    for step, gap in enumerate((timedelta(minutes=10), timedelta(hours=5), timedelta(days=12),
                                timedelta(days=40))):
        for name, w in worlds.items():
            w.now += gap
            mc = w.box.mailchimp
            for email in w.audience.emails[step * 7:step * 7 + 5]:
                mc.add_event(w.audience.campaign_ids[0], email, "open", w.now - timedelta(minutes=3))
            mc.update_member(LIST_ID, w.audience.emails[100 + step],
                             merge_fields={"JOBTITLE": "Director"})
            for email in w.audience.emails[200 + 20 * step:220 + 20 * step]:
                rating = mc.audiences[LIST_ID].members[subscriber_hash(email)].member_rating
                mc.update_stats(LIST_ID, email, member_rating=5 - rating % 5)  # not last_changed
            _, err = sync_twin(name, w, capsys)
            if name == "incremental" and step == 0:
                assert "unchanged since the last run" in err
                reused = int(err.split(" unchanged since")[0].rsplit("(", 1)[1])
                assert reused > 400  # ten minutes later most leads still hold
        assert worlds["incremental"].leads() == worlds["full"].leads(), gap
        assert worlds["incremental"].tags() == worlds["full"].tags(), gap


def test_a_campaign_leaving_the_window_takes_its_events_with_it_at_once(
        tmp_path, monkeypatch, capsys):
    """Fields count only events of campaigns sent within the lookback: when the oldest
    campaign leaves, its still-recent events go too, although no lead's own clock ticked."""
    worlds = twin_worlds(tmp_path, monkeypatch, capsys, "[scoring]\nhalf_life_days = 3650\n")
    for name, w in worlds.items():
        oldest = min(w.box.mailchimp.campaigns.values(), key=lambda c: c.send_time)
        leaves = datetime.fromisoformat(oldest.send_time) + timedelta(days=90)
        for moment in (leaves - timedelta(minutes=5), leaves + timedelta(minutes=5)):
            w.now = moment
            sync_twin(name, w, capsys)
    assert worlds["incremental"].leads() == worlds["full"].leads()


def test_dry_run_and_plan_write_nothing(world, capsys):
    world.run(capsys, "sync")
    world.now += timedelta(days=3)
    state = (world.tmp / ".syncbot" / "state.db").read_bytes()
    before, leads, runs = world.writes(), world.leads(), world.runs()
    for command in (("sync", "--dry-run"), ("plan",)):
        code, out, _ = world.run(capsys, *command)
        assert code == 0 and out.startswith("Plan only (dry run): nothing was written anywhere.")
        assert "lead:cold:" in out and "Safety check: passed." in out
        assert "Leads whose tags change (sample):" in out
    assert world.writes() == before and world.leads() == leads and world.runs() == runs
    assert (world.tmp / ".syncbot" / "state.db").read_bytes() == state


def test_an_invalid_weights_cell_stops_everything_with_exit_2(world, capsys):
    world.set_weights([["clikcs_30d", "per", "", 5, "", "engagement"]])
    before = world.writes()
    code, out, err = world.run(capsys, "sync")
    assert code == 2
    assert 'Weights!A2: unknown field "clikcs_30d" (did you mean "clicks_30d"?)' in err
    assert "Traceback" not in err
    assert world.leads() == {} and world.writes()[1] == before[1]
    assert world.runs()[0][3] == "invalid-rules"
    assert world.box.mailchimp_host.count("GET", "/members") == 0  # stopped before the pull


def test_a_rule_on_a_merge_field_the_same_sync_brings_is_applied(world, capsys):
    """Before its pull, a scheduled run prepares its rules from the merge fields the state
    has; a rule naming one that only this pull brings must wait for the pull, not fail."""
    assert world.run(capsys, "sync")[0] == 0
    first = world.audience.emails[0]
    world.box.mailchimp.update_member(LIST_ID, first, merge_fields={"SHOESIZE": "42"})
    world.set_weights([["SHOESIZE", "=", "42", 50, "", "fit"]])
    code, out, err = world.run(capsys, "sync")
    assert code == 0, out + err
    row = world.leads()[first.lower()]
    assert row["SHOESIZE"] == "42" and "SHOESIZE = 42 +50" in row["why"]


def test_the_safety_stop_and_force(world, capsys):
    world.set_weights([["opens_90d", "per", "", 10, "", "engagement"]])  # many warm and hot
    world.run(capsys, "sync")
    tagged = world.tags()
    leads = world.leads()
    world.set_weights([["clicks_30d", "per", "", 0, "", "engagement"]])  # an emptied tab
    code, out, err = world.run(capsys, "sync")
    assert code == 3
    assert "would lose one, more than [safety] max_removal_fraction = 0.25" in err
    assert world.tags() == tagged and world.leads() == leads  # nothing written
    assert world.runs()[-1][3] == "safety-stop"
    code, out, err = world.run(capsys, "sync", "--force")
    assert code == 0, err
    assert not world.tags().get("lead:hot") and not world.tags().get("lead:warm")


def test_the_pull_looking_wrong_is_a_safety_stop_too(world, capsys):
    world.run(capsys, "sync")
    for email in world.audience.emails[:400]:  # two thirds of the audience vanish
        world.box.mailchimp.delete_member(LIST_ID, email)
    code, _, err = world.run(capsys, "sync")
    assert code == 3 and "Mailchimp returned 200 members but the Leads tab already lists 600" in err


def test_a_wrong_api_key_is_explained_without_showing_it(world, capsys, monkeypatch):
    wrong = "ffffffffffffffffffffffffffffffff-us21"
    world.env["MAILCHIMP_API_KEY"] = wrong
    code, out, err = world.run(capsys, "sync")
    assert code == 1 and "Mailchimp rejected the API key (401)" in err
    assert wrong not in out + err and wrong[:-5] not in out + err
    assert "Traceback" not in err
    assert world.runs()[-1][3] == "failed"


def test_eight_percent_faults_end_in_the_same_state_within_two_runs(tmp_path, monkeypatch,
                                                                    capsys):
    (tmp_path / "calm").mkdir()
    (tmp_path / "stormy").mkdir()
    calm = World(tmp_path / "calm", monkeypatch)
    calm.run(capsys, "init")
    calm.run(capsys, "sync")
    stormy = World(tmp_path / "stormy", monkeypatch, faults=0.08)
    stormy.box.sheets_host.faults.rate = 0  # init is not what is tested here
    stormy.run(capsys, "init")
    stormy.box.sheets_host.faults.rate = 0.08
    codes = [stormy.run(capsys, "sync")[0]]
    if codes[0] != 0:
        codes.append(stormy.run(capsys, "sync")[0])
    assert codes[-1] == 0
    injected = (stormy.box.mailchimp_host.faults.injected + stormy.box.sheets_host.faults.injected)
    assert len(injected) >= 2  # seeded: the same faults every run
    assert stormy.leads() == calm.leads()
    assert stormy.tags() == calm.tags()


def _ledger(world: World) -> list[tuple]:
    """The ledger as the state file holds it (what another process would read)."""
    with contextlib.closing(sqlite3.connect(world.tmp / ".syncbot" / "state.db")) as db:
        return db.execute("SELECT * FROM leads ORDER BY key").fetchall()


def test_a_ledger_staged_while_its_rows_went_out_is_kept_only_if_they_all_arrived(
        tmp_path, monkeypatch, capsys):
    """The ledger is staged while the Leads writes are on their way and committed once they
    are all answered: a write refused after part of it was staged leaves the ledger as it was,
    and the next run writes what the refused one did not."""
    worlds = {}
    for name in ("calm", "refused"):
        (tmp_path / name).mkdir()
        worlds[name] = w = World(tmp_path / name, monkeypatch)
        w.run(capsys, "init")
        assert w.run(capsys, "sync")[0] == 0
        w.now += timedelta(hours=5)  # decayed sums and day counts move: most rows change
    calm, world = worlds["calm"], worlds["refused"]
    assert calm.run(capsys, "sync")[0] == 0

    monkeypatch.setattr(sheets_client, "CHUNK_BYTES", 8_000)  # many requests of changed cells
    monkeypatch.setattr(state_store, "STAGED_AT_A_TIME", 20)
    stage, staged = state_store.StateStore.stage_leads, []

    def counted(self, *args, **kwargs):
        for step in stage(self, *args, **kwargs):
            staged.append(step)
            yield step
    monkeypatch.setattr(state_store.StateStore, "stage_leads", counted)
    send, leads_writes = sheets_client.Workbook._send_values, []

    def slow_then_refused(self, body):
        if b"'Leads'!" not in bytes(body):
            return send(self, body)
        leads_writes.append(len(staged))
        if len(leads_writes) == 1:  # answered once part of the ledger is staged
            assert waits_for(lambda: staged, 5)
        if len(leads_writes) != 3:
            return send(self, body)
        world.box.sheets_host.faults.queue(*["500"] * 60)  # until the retries give up
        try:
            return send(self, body)
        finally:
            world.box.sheets_host.faults.script.clear()
    monkeypatch.setattr(sheets_client.Workbook, "_send_values", slow_then_refused)
    ledger = _ledger(world)
    code, _, err = world.run(capsys, "sync")
    assert code == 1 and "Traceback" not in err
    assert len(leads_writes) == 3 and leads_writes[-1] > 0  # steps were staged before it
    assert _ledger(world) == ledger  # and none of them kept
    assert world.leads() != calm.leads()  # the refused request's rows, and the rest, missing

    monkeypatch.setattr(sheets_client.Workbook, "_send_values", send)
    assert world.run(capsys, "sync")[0] == 0
    assert world.leads() == calm.leads()
    assert world.tags() == calm.tags()


def test_two_syncs_never_run_at_once(world, capsys):
    with lock_for(world.tmp / ".syncbot" / "state.db"):
        code, _, err = world.run(capsys, "sync")
    assert code == 1 and "Another syncbot sync is running" in err
    assert world.leads() == {}
    assert world.run(capsys, "sync")[0] == 0  # free again afterwards


def test_check_finds_problems_without_writing(world, capsys):
    before = world.writes()
    code, out, _ = world.run(capsys, "check")
    assert code == 0 and "Everything is ready" in out
    world.set_weights([["clicks_7d", ">", "many", 5]])
    code, out, _ = world.run(capsys, "check")
    assert code == 2 and '✗ Weights!C2: ">" compares numbers' in out
    world.config.write_text('[mailchimp]\nlist_id = "nope"\n[sheets]\n'
                            f'spreadsheet_id = "{SHEET_ID}"\n')
    code, out, _ = world.run(capsys, "check")
    assert code == 2 or code == 1
    assert 'no audience with id "nope"' in out and f"{LIST_ID} (Sandbox audience)" in out
    assert world.writes() == before


def test_check_says_what_the_local_state_holds_or_what_losing_it_costs(world, capsys):
    code, out, _ = world.run(capsys, "check")
    assert code == 0 and "Note: no usable local state at" in out and "there is none yet" in out
    world.run(capsys, "sync")
    world.now += timedelta(hours=6)
    world.run(capsys, "sync")
    code, out, _ = world.run(capsys, "check")
    assert code == 0 and "last successful sync 2026-11-22 18:00, 2 runs of Dashboard history" in out
    (world.tmp / ".syncbot" / "state.db").write_bytes(b"not a database")
    code, out, _ = world.run(capsys, "check")
    assert code == 0 and "(it cannot be read)" in out and "starts again" in out
    assert (world.tmp / ".syncbot" / "state.db").read_bytes() == b"not a database"  # read only


def test_serve_runs_a_catch_up_sync_and_stops_cleanly(world, capsys, monkeypatch, caplog):
    import signal

    from apscheduler.schedulers.background import BackgroundScheduler

    import syncbot.serve as serve_module

    ran = threading.Event()

    class OneShot(BackgroundScheduler):
        """Starts like the real one, then stops itself the way SIGTERM does once a sync ran."""

        def start(self, *args, **kwargs):
            self.add_listener(lambda event: ran.set())
            super().start(*args, **kwargs)
            assert ran.wait(30), "the catch-up sync did not run"
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)

    monkeypatch.setattr(serve_module, "BlockingScheduler", OneShot)
    from datetime import UTC, datetime

    world.now = datetime.now(UTC)  # APScheduler runs on the real clock
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code, _, err = world.run(capsys, "serve")
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert code == 0, err
    assert f"next sync at {world.now:%Y-%m-%d %H:%M}" in err  # the catch-up run: at once
    assert "Stopping: waiting for a sync in progress to finish" in caplog.text
    assert [r[3] for r in world.runs()] == ["ok"]


def test_demo_runs_with_no_credentials_and_no_network(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAILCHIMP_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")}
    env.update({"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    output = tmp_path / "demo.xlsx"
    done = subprocess.run([sys.executable, "-m", "syncbot", "demo", "--members", "400",
                           "--output", str(output)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Full sync of 400 members: 400 new leads" in done.stdout
    assert "Incremental sync of 400 members" in done.stdout and "Top leads:" in done.stdout
    from openpyxl import load_workbook

    book = load_workbook(output)
    assert {"Leads", "Weights", "Segments", "Interests", "Runs"} <= set(book.sheetnames)
    assert book["Leads"].max_row == 401


def test_rules_written_in_spanish_score_like_english_ones(tmp_path, monkeypatch, capsys):
    """A Weights tab with Spanish operators, fields and dimensions gives the same sheet and
    tags as the same rules in English (docs/reference.md, "Rules in Spanish")."""
    english = [["clicks_30d", "per", "", 5, 20, "engagement"],
               ["days_since_last_activity", "is not empty", "", 1, "", "engagement"],
               ["JOBTITLE", "contains", "director, ceo", 15, "", "fit"],
               ["best_send_weekday", "in", "Mon, Tue", 3, "", "engagement"]]
    spanish = [["clics_30d", "por", "", 5, 20, "compromiso"],
               ["días_desde_última_actividad", "no está vacío", "", 1, "", "compromiso"],
               ["JOBTITLE", "contiene", "director, ceo", 15, "", "perfil"],
               ["mejor_dia_envio", "en", "lun, mar", 3, "", "compromiso"]]
    worlds = {}
    for name, weights in (("english", english), ("spanish", spanish)):
        (tmp_path / name).mkdir()
        worlds[name] = w = World(tmp_path / name, monkeypatch)
        w.run(capsys, "init")
        w.set_weights(weights)
        code, _, err = w.run(capsys, "sync")
        assert code == 0, err
    assert worlds["spanish"].leads() == worlds["english"].leads()
    assert worlds["spanish"].tags() == worlds["english"].tags()
    assert any("best_send_weekday in Mon, Tue +3" in str(row["why"])
               for row in worlds["spanish"].leads().values())
