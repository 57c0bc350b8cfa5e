"""Progress: bars with counts on a terminal, stage lines in logs, nothing with --quiet."""

from __future__ import annotations

import io
from collections import defaultdict

import pytest
from rich.console import Console

from syncbot.config import parse_config
from syncbot.pipeline import RunHooks, RunOptions, run_once
from syncbot.progress import Bars
from tests.conftest import LIST_ID, SAY
from tests.test_e2e import World
from tests.test_fakes import SHEET, FakeWorld


class Recorder:
    """Meters that remember every total and every step, by what they count."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = defaultdict(int)
        self.done: dict[str, int] = defaultdict(int)
        self.stages: list[str] = []
        self.order: list[str] = []  # stage lines and meters, as they began

    def start(self, what: str, total: int | None = None):
        recorder = self
        recorder.order.append(what)
        recorder.totals[what] += total or 0

        class Counting:
            def add_total(self, amount: int) -> None:
                recorder.totals[what] += amount

            def advance(self, amount: int = 1) -> None:
                recorder.done[what] += amount

        return Counting()

    def stage(self, message: str) -> None:
        self.stages.append(message)
        self.order.append(message)


def test_every_long_step_counts_to_its_total(tmp_path):
    world = FakeWorld(tmp_path, "meters")
    meters = Recorder()
    report = run_once(world.config, world.audience, world.sheet, world.now, RunOptions(),
                      RunHooks(meters=meters, texts=SAY))
    assert meters.totals["Leads scored"] == meters.done["Leads scored"] == 120
    assert meters.totals["Leads rows written"] == meters.done["Leads rows written"] == 120
    assert meters.totals["Tag batches sent"] == meters.done["Tag batches sent"] > 0
    assert meters.done["Mailchimp pages read"] >= 2  # members and the campaign's activity
    assert report.new_leads == 120
    assert meters.stages[0] == "Reading the spreadsheet…"


def test_the_orders_listing_is_announced_before_its_pages_are_counted(tmp_path):
    world = FakeWorld(tmp_path, "orders")
    config = parse_config({"mailchimp": {"list_id": LIST_ID}, "sheets": {"spreadsheet_id": SHEET},
                           "state": {"path": str(tmp_path / "orders-state.db")},
                           "orders": {"lookback_days": 365}})
    meters = Recorder()
    run_once(config, world.audience, world.sheet, world.now, RunOptions(),
             RunHooks(meters=meters, texts=SAY))
    assert meters.order[:6] == ["Listing the shops' orders (the rest goes on meanwhile)…",
                                "Order pages read", "Reading the spreadsheet…",
                                "Pulling the audience from Mailchimp…", "Mailchimp pages read",
                                "Bringing the shops' orders up to date…"]


def test_bars_draw_counts_and_time_left_on_a_terminal(tmp_path):
    world = FakeWorld(tmp_path, "bars")
    screen = io.StringIO()
    with Bars(console=Console(file=screen, force_terminal=True, width=100)) as bars:
        run_once(world.config, world.audience, world.sheet, world.now, RunOptions(),
                 RunHooks(meters=bars, texts=SAY))
    drawn = screen.getvalue()
    assert "Leads scored" in drawn and "120/120" in drawn
    assert "Pulling the audience from Mailchimp…" in drawn


@pytest.mark.parametrize("command", [["sync", "--quiet"], ["sync", "-q"]])
def test_quiet_prints_only_the_final_summary(tmp_path, monkeypatch, capsys, command):
    world = World(tmp_path, monkeypatch)
    assert world.run(capsys, "init")[0] == 0
    code, out, err = world.run(capsys, *command)
    assert code == 0 and err == ""
    assert out.strip() == "Full sync of 600 members: 600 new leads, 0 changed leads."


def test_a_log_gets_plain_stage_lines(tmp_path, monkeypatch, capsys):
    world = World(tmp_path, monkeypatch)
    world.run(capsys, "init")
    code, _, err = world.run(capsys, "sync")
    assert code == 0
    assert err.splitlines()[:2] == ["Reading the spreadsheet…", "Pulling the audience from Mailchimp…"]
    assert "\x1b[" not in err  # no terminal drawing in a log
