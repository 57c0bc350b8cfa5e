"""Leads scored by worker processes (docs/reference.md, ``[scoring] workers``): end to end
through the command line, gspread and the sandbox, a run gives the same Leads tab, tags,
Hand-off rows and score history whether one process scored its leads or several; how many
there are; and what becomes of a run whose worker is killed, is sent a signal, or cannot
start."""

from __future__ import annotations

import dataclasses
import errno
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncbot import evaluation, pipeline
from syncbot.config import ConfigError, parse_config
from syncbot.state.store import StateStore
from tests.conftest import LIST_ID, SHEET_ID
from tests.test_e2e import World
from tests.test_handoff import HANDOFF, handoff_rows, heat_up
from tests.test_orders import WEIGHTS, with_orders
from tests.test_team_data import RULES, SOURCES, add_form, add_team_column, form_rows, tick


def scored_by(tmp_path, monkeypatch, capsys, workers: int) -> tuple[World, int]:
    """A world with every input a lead can have (orders, a team column, a form tab, history,
    hand-off), whose leads ``workers`` processes score; and its team column."""
    (tmp_path / str(workers)).mkdir()
    world = World(tmp_path / str(workers), monkeypatch)
    world.config.write_text(world.config.read_text() + HANDOFF + SOURCES
                            + f"[scoring]\nworkers = {workers}\n")
    assert world.run(capsys, "init")[0] == 0
    with_orders(world, count=600)  # [orders] too
    world.set_weights([*WEIGHTS, *RULES])
    add_form(world, form_rows(world, 0, 40))
    return world, add_team_column(world)


def history(world: World) -> dict[str, list]:
    store = StateStore.reader(world.tmp / ".syncbot" / "state.db")
    try:
        keys = sorted(world.leads())
        return {key: [tuple(point) for point in points]
                for key, points in store.history(keys).items()}
    finally:
        store.close()


def test_worker_processes_score_every_run_as_one_process_does(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(evaluation, "PARALLEL_FROM", 1)  # any run's due leads are enough
    pools = []
    in_order = evaluation._in_order

    def spy(workers, chunks):
        pools.append(workers.count)
        yield from in_order(workers, chunks)

    monkeypatch.setattr(evaluation, "_in_order", spy)
    twins = {workers: scored_by(tmp_path, monkeypatch, capsys, workers) for workers in (1, 2)}
    steps = [timedelta(0), timedelta(hours=6), timedelta(days=8)]
    for step, gap in enumerate(steps):
        for world, column in twins.values():
            world.now += gap
            world.box.mailchimp.clock = lambda w=world: w.now
            tick(world, world.audience.emails[10 + step * 5:20 + step * 5], column)
            code, out, err = world.run(capsys, "sync")
            assert code == 0, out + err
            heat_up(world, 3, start=step * 3)  # hot next run: handed off
        one, two = twins[1][0], twins[2][0]
        assert one.leads() == two.leads(), gap
        assert one.tags() == two.tags(), gap
        assert handoff_rows(one) == handoff_rows(two), gap
        assert history(one) == history(two), gap
    assert pools == [2] * len(steps)  # every run of the second twin, and none of the first
    assert len(handoff_rows(one)) > 1  # hand-offs happened, and the same ones
    leads = one.leads()
    assert any(row["Demo requested"] is True and "Demo requested = yes +30" in row["why"]
               for row in leads.values())
    assert any(row["orders_365d"] for row in leads.values())
    assert any(row["score_change_7d"] not in ("", None) for row in leads.values())


def test_a_dry_run_s_workers_read_its_copy_of_the_state(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(evaluation, "PARALLEL_FROM", 1)
    world, _ = scored_by(tmp_path, monkeypatch, capsys, 2)
    assert world.run(capsys, "sync")[0] == 0
    world.now += timedelta(hours=6)
    heat_up(world, 3)
    state = world.tmp / ".syncbot" / "state.db"
    before = state.read_bytes()
    code, out, err = world.run(capsys, "plan")
    assert code == 0, out + err
    assert "0 new leads, 0 changed leads" not in out
    assert state.read_bytes() == before


def test_where_processes_cannot_share_work_the_run_scores_in_its_own(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.setattr(evaluation, "PARALLEL_FROM", 1)

    def no_semaphores(*args, **kwargs):
        raise NotImplementedError("This platform lacks a functioning sem_open implementation")

    monkeypatch.setattr(evaluation, "ProcessPoolExecutor", no_semaphores)
    world, _ = scored_by(tmp_path, monkeypatch, capsys, 2)
    code, out, err = world.run(capsys, "sync")
    assert code == 0, out + err
    assert len(world.leads()) == 600 and world.tags()


def test_a_system_that_will_not_start_the_workers_fails_the_run_saying_what_to_do(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(evaluation, "PARALLEL_FROM", 1)

    class NoMoreProcesses(ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(evaluation, "ProcessPoolExecutor", NoMoreProcesses)
    world, _ = scored_by(tmp_path, monkeypatch, capsys, 2)
    code, out, err = world.run(capsys, "sync")
    assert code == 1 and "Traceback" not in out + err
    assert ("The system would not start the 2 processes that score the leads (Resource "
            "temporarily unavailable); no lead or tag was changed. Set workers = 1" in err)
    assert world.leads() == {} and not world.tags().get("lead:hot")


def _stop_at_once() -> None:
    """A worker's rules made with this: the worker stops dead, as one the system killed."""
    os._exit(3)


def test_a_scoring_process_that_stops_fails_the_run_saying_what_to_do(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setattr(evaluation, "PARALLEL_FROM", 1)
    world, _ = scored_by(tmp_path, monkeypatch, capsys, 2)
    assert world.run(capsys, "sync")[0] == 0
    world.now += timedelta(hours=6)
    heat_up(world, 3)
    leads, tags = world.leads(), world.tags()
    job = pipeline._Leads.job
    monkeypatch.setattr(pipeline._Leads, "job", lambda self, state, rules: dataclasses.replace(
        job(self, state, rules), rules=_stop_at_once))
    code, out, err = world.run(capsys, "sync")
    assert code == 1 and "Traceback" not in out + err
    assert ("One of the 2 processes scoring the leads stopped before it finished" in err
            and "set workers = 1 in [scoring]" in err)
    assert world.leads() == leads and world.tags() == tags
    assert world.runs()[-1][3] == "failed"
    monkeypatch.setattr(pipeline._Leads, "job", job)
    assert world.run(capsys, "sync")[0] == 0
    assert world.leads() != leads


LEFT_BEHIND = """
import multiprocessing, os, signal
from concurrent.futures import ProcessPoolExecutor
from syncbot.evaluation import stay_with_the_run

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=stay_with_the_run)
    worker = pool.submit(os.getpid).result()
    os.kill(worker, signal.SIGTERM)  # what systemd sends every process of a service
    os.kill(worker, signal.SIGINT)  # what Ctrl-C sends every process of a terminal
    assert pool.submit(os.getpid).result() == worker  # still there: the run decides
    print(worker, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the run dies without a word to its workers
"""


def running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # an ended worker nobody reaped yet counts as ended


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_worker_leaves_stop_signals_to_its_run_and_ends_with_it(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(LEFT_BEHIND)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, check=False)
    worker = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = running(worker)
    if left:
        os.kill(worker, signal.SIGKILL)  # not left behind by this test either
    assert not left


@pytest.mark.skipif(not hasattr(os, "nice"), reason="process priorities (Unix)")
def test_a_worker_gives_way_to_its_run():
    """Scoring ahead takes the cores the pull leaves: the workers run at a lower priority."""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=evaluation.give_way)
    with pool:
        niceness = pool.submit(os.nice, 0).result()
    assert niceness == min(os.nice(0) + evaluation.NICENESS, 19)


@pytest.mark.parametrize(("due", "configured", "cores", "expected"), [
    (19_999, None, 8, 1),  # too few to be worth starting processes for
    (19_999, 4, 8, 1),
    (20_000, None, 2, 2),  # every core
    (20_000, None, 8, 4),  # ... up to four
    (20_000, None, 1, 1),
    (80_000, 3, 8, 3),  # as configured
    (80_000, 1, 8, 1),
])
def test_how_many_processes_score_the_due_leads(monkeypatch, due, configured, cores, expected):
    monkeypatch.setattr(evaluation, "_cores", lambda: cores)
    assert evaluation.processes(due, configured) == expected


def test_workers_is_a_whole_number_of_at_least_one(tmp_path):
    base = {"mailchimp": {"list_id": LIST_ID}, "sheets": {"spreadsheet_id": SHEET_ID}}
    assert parse_config(base | {"scoring": {"workers": 2}}).scoring.workers == 2
    assert parse_config(base).scoring.workers is None
    for wrong in (0, 2.5, "all"):
        with pytest.raises(ConfigError) as raised:
            parse_config(base | {"scoring": {"workers": wrong}})
        assert "[scoring] workers" in str(raised.value), wrong


READINGS = ["before the pull", "after the pull"]


def watch_ahead(monkeypatch, reading: str) -> list:
    """Every ``Ahead`` the runs make, recorded; its workers read the state ``reading``: all
    their chunks are scored before the pull starts, or none is handed out before the pull
    committed (the orders are listed after it: a state half way). Both are what a real run
    may meet, and every mix of them."""
    made: list = []
    gate = threading.Event()

    class Watched(evaluation.Ahead):
        def __init__(self, *args) -> None:
            self.used = self.kept = self.dropped = 0
            made.append(self)
            super().__init__(*args)

        def _feed(self) -> None:
            if reading == "after the pull":
                gate.wait()
            super()._feed()

        def scored(self) -> None:
            """Until every chunk is handed out and scored."""
            self._feeder.join()
            futures.wait(self._handed)

        def leads(self, discard):
            self.used, self.dropped = 1, len(discard)
            for lead in super().leads(discard):
                self.kept += 1
                yield lead

    real_pull = pipeline.pull

    def pull(*args, **kwargs):
        ahead = made[-1] if made else None
        if ahead is not None and reading == "before the pull":
            ahead.scored()
        pulled = real_pull(*args, **kwargs)
        if ahead is not None and reading == "after the pull":
            gate.set()
            ahead.scored()
            gate.clear()
        return pulled

    monkeypatch.setattr(pipeline, "Ahead", Watched)
    monkeypatch.setattr(pipeline, "pull", pull)
    return made


@pytest.mark.parametrize("reading", READINGS)
def test_leads_scored_ahead_during_the_pull_make_the_run_one_process_makes(
        tmp_path, monkeypatch, capsys, reading):
    """The leads due before the pull are scored while it runs, from the state as it then
    stands; those the pull changed, new members and members gone are put right after it,
    and a pull bringing a new merge field drops what was scored ahead."""
    monkeypatch.setattr(evaluation, "PARALLEL_FROM", 1)
    twins = {workers: scored_by(tmp_path, monkeypatch, capsys, workers) for workers in (1, 2)}
    for world, _ in twins.values():
        assert world.run(capsys, "sync")[0] == 0
    made = watch_ahead(monkeypatch, reading)
    plans = {}
    for step, gap in enumerate([timedelta(hours=6), timedelta(days=3), timedelta(hours=6)]):
        for workers, (world, column) in twins.items():
            made.clear()
            world.now += gap
            world.box.mailchimp.clock = lambda w=world: w.now
            mc, emails = world.box.mailchimp, world.audience.emails
            tick(world, emails[30 + step * 5:40 + step * 5], column)
            heat_up(world, 3, start=step * 3)
            mc.add_member(LIST_ID, f"nuevo{step}@correo.es", merge_fields={"JOBTITLE": "CEO"})
            mc.update_member(LIST_ID, emails[100 + step], merge_fields={"JOBTITLE": "Director"})
            mc.delete_member(LIST_ID, emails[200 + step])
            if step == 1:  # a merge field no member had: other columns, other rules
                mc.update_member(LIST_ID, emails[300], merge_fields={"SHOESIZE": "42"})
            plans[workers] = world.run(capsys, "plan")[1]  # its sample: leads whose tags change
            made.clear()
            code, out, err = world.run(capsys, "sync")
            assert code == 0, out + err
            assert not (world.tmp / ".syncbot" / "state.db-wal").exists()  # only during a run
            if workers == 1:
                assert made == [], step  # one process: nothing is scored ahead
            elif step == 1:
                assert [ahead.used for ahead in made] == [0], step  # made, then dropped
            else:
                (ahead,) = made
                dropped = 3 + 1 + 1  # heated up, updated, deleted (the new one was not due)
                assert ahead.used and ahead.kept > 100 and ahead.dropped >= dropped, step
        one, two = twins[1][0], twins[2][0]
        assert plans[1] == plans[2] and "→" in plans[1], step
        assert one.leads() == two.leads(), step
        assert one.tags() == two.tags(), step
        assert handoff_rows(one) == handoff_rows(two), step
        assert history(one) == history(two), step
    assert "SHOESIZE" in one.box.sheets.values(SHEET_ID, "Leads")[0]  # the new merge field


@given(st.lists(st.sampled_from("abcdefghij"), unique=True),
       st.lists(st.sampled_from("abcdefghij"), unique=True),
       st.sets(st.sampled_from("abcdefghij")))
def test_after_the_pull_every_due_lead_is_taken_once_from_what_holds(handed, due, dirty):
    handed, due = sorted(handed), sorted(due)
    rescoring = evaluation.after_the_pull(handed, iter(due), dirty)
    kept = [key for key in handed if key not in rescoring.discard]
    assert sorted(kept + rescoring.fresh) == due  # each due key once
    assert rescoring.fresh == [key for key in due if key in rescoring.fresh]  # in order
    assert not set(kept) & dirty  # what the pull changed is scored again
    assert set(rescoring.discard) <= set(handed)
