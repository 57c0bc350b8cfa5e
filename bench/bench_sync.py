"""Full and incremental syncs against the sandbox over loopback HTTP, beside a naive baseline.

Run: ``python -m bench.bench_sync --members 10000 [--members 100000] [--naive]``; with
``--team FORM_ROWS``, ``--history`` or ``--orders ORDERS`` instead: today's incremental run
beside the same run with that capability switched on (see ``--help``); ``--orders-only``
for the ceiling; ``--workers N``: ``[scoring] workers`` of every sync (default: one per
core, at most 4). The week at the default cadence is ``bench.bench_week``.

The sandbox runs in its own process (``syncbot.sandbox.server``) with a
per-request latency (default 100 ms Mailchimp, 300 ms Sheets) that includes
the emulator's own work, as a real service's response time does
(``--latency-on-top`` adds it after that work instead, as the figures measured
before 2026-12-03 had it), and Google's quota of 60 Sheets requests a minute.
Each measured scenario runs in a fresh child process, so wall time, CPU time
and peak RSS are syncbot's alone (CPU time includes the sync's scoring
workers; ``peak_rss_with_workers_mb`` is the most the sync and its workers
held at once):
1. full sync (after ``init``, which is not measured);
2. incremental sync after 1 % of the members got new activity.
The naive baseline is the per-row recipe of a Zapier-style flow: the same
pull, then one row write per lead and one tag request per member per changed
tag. It is executed against a second sandbox with no latency and no quota
(executing it at 300 ms a request would take hours), and its latency-bound
time is computed from its request count.

Lower bound (what any correct sync must send): Mailchimp: member pages of
1000, one campaigns page, activity pages of 1000 recipients per campaign (a
full sync: at least one per campaign; an incremental one: one reports page,
then only the campaign with new activity), one tag listing, one page per 1000 current holders
of each existing managed tag, one creation per missing tag, one batch per
500 changes per tag. Sheets: metadata, one batchGet, one write per ~2 MB,
a grid resize when the tab grows, the Runs row.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

MAX_CONNECTIONS = 5
LATENCY_ON_TOP = False  # ``--latency-on-top``: the sandbox as the benchmarks had it until 2026-12-03


def start_server(folder: Path, members: int, campaigns: int, mc_latency: float,
                 sheets_latency: float, quota: int, orders: int = 0
                 ) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    key_file = folder / "sa.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncbot.sandbox.server", "--members", str(members),
         "--campaigns", str(campaigns), "--mailchimp-latency", str(mc_latency),
         "--sheets-latency", str(sheets_latency), "--quota", str(quota),
         "--orders", str(orders), "--key-file", str(key_file)]
        + (["--latency-on-top"] if LATENCY_ON_TOP else []), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info


@contextlib.contextmanager
def sandbox_world(folder: Path, members: int, campaigns: int, mc_latency: float,
                  sheets_latency: float, quota: int = 60, orders: int = 0
                  ) -> Iterator[dict[str, Any]]:
    """A loopback sandbox in its own process for one world (with ``orders`` orders of a
    connected store), stopped on the way out; yields what a measured child needs (the
    server's answer, the state and key file paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    proc, info = start_server(folder, members, campaigns, mc_latency, sheets_latency, quota,
                              orders)
    try:
        yield info | {"state": str(folder / "state.db"), "key_file": str(folder / "sa.json"),
                      "sandbox_pid": proc.pid}
    finally:
        proc.terminate()
        proc.wait(30)


def add_activity(port: int, fraction: float) -> int:
    """New opens and clicks for ``fraction`` of the newest campaign's recipients; how many."""
    return int(requests.post(f"http://127.0.0.1:{port}/_sandbox/activity",
                             json={"fraction": fraction}, timeout=60).json()["members"])


def server_stats(port: int) -> dict[str, Any]:
    return requests.get(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=60).json()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_cpu(pid: int) -> float:
    """CPU seconds (user and system) a running process has used so far, from /proc (0 where
    there is none): the sandbox's, which shares the machine's cores with the sync."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workers_cpu() -> float:
    """CPU seconds of the processes this one started and saw end: a sync's scoring workers
    (``[scoring] workers``)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class TreeMemory:
    """The most memory this process and its scoring workers held at once (MB), sampled every
    50 ms from /proc (Linux; elsewhere 0). A worker's own ``ru_maxrss`` cannot tell: it
    counts the pages of the process it was forked from, before it started afresh."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak_mb = max(self.peak_mb, sum(map(_rss_mb, [os.getpid(), *_children()])))
            except OSError:  # no /proc here, or a worker ended while it was read
                continue


def _children() -> list[int]:
    tasks = Path("/proc/self/task")
    return [int(pid) for task in tasks.iterdir()
            for pid in (task / "children").read_text().split()]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


WORKERS: int | None = None  # ``--workers``: ``[scoring] workers`` of every measured sync


def add_latency_on_top(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latency-on-top", action="store_true",
                        help="The sandbox waits the whole latency before its own work, so a "
                             "request takes the latency plus that work, as the figures "
                             "measured until 2026-12-03 had it (default: the latency "
                             "includes the work, like a real service's response time).")


def child(args: argparse.Namespace) -> None:
    """One measured scenario, in its own process; prints one JSON line."""
    from syncbot.config import parse_config
    from syncbot.mailchimp.client import MailchimpAudience
    from syncbot.pipeline import RunHooks, RunOptions, run_once
    from syncbot.progress import Lines
    from syncbot.sandbox.server import LoopbackAdapter
    from syncbot.sheets.client import Workbook
    from syncbot.sheets.spreadsheet import Spreadsheet
    from syncbot.sheets.tabs import init_spreadsheet

    info = json.loads(args.child)
    raw: dict[str, Any] = {"mailchimp": {"list_id": info["list_id"],
                                         "max_connections": MAX_CONNECTIONS},
                           "sheets": {"spreadsheet_id": info["spreadsheet_id"]},
                           "state": {"path": info["state"]}}
    if info.get("team"):
        raw["sources"] = {"tabs": [FORM_TAB]}
    if info.get("orders"):
        raw["orders"] = {"lookback_days": 365}
    if info.get("handoff"):
        raw["handoff"] = {"tags": ["lead:hot"]}
    if info.get("workers"):
        raw["scoring"] = {"workers": info["workers"]}
    config = parse_config(raw,
                          require_secrets=True, environ={
                              "MAILCHIMP_API_KEY": info["api_key"],
                              "GOOGLE_APPLICATION_CREDENTIALS": info["key_file"]})
    assert config.secrets is not None
    adapter = LoopbackAdapter(info["port"], pool_connections=2, pool_maxsize=MAX_CONNECTIONS * 2)
    per_minute = 10**6 if info["mode"] == "naive" else 55
    workbook = Workbook.from_key_file(info["spreadsheet_id"],
                                      config.secrets.google_credentials_path, adapter=adapter,
                                      per_minute=per_minute)
    session = requests.Session()
    session.mount("https://", adapter)
    audience = MailchimpAudience(config.secrets.mailchimp_api_key, info["list_id"],
                                 max_connections=MAX_CONNECTIONS, session=session)
    if info["mode"] in ("full", "naive"):
        init_spreadsheet(workbook, config.sheets)
        if info.get("team"):
            set_up_team(workbook, info)
    before = server_stats(info["port"])
    mc0, sh0, bytes0 = audience.requests, workbook.requests, workbook.bytes_written
    wall0, cpu0, workers_cpu0 = time.perf_counter(), time.process_time(), workers_cpu()
    memory = TreeMemory()
    profiler = None
    if info.get("profile") and info["mode"] == "incremental":
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    stages: list[tuple[str, float, float]] = []  # (stage, seconds since start, peak RSS MB)

    def progress(message: str) -> None:
        stages.append((message, time.perf_counter() - wall0, peak_rss_mb()))

    sheet = Spreadsheet(workbook, config.sheets, config.sources.tabs)
    now = datetime.fromisoformat(info["now"]) if info.get("now") else datetime.now(UTC)
    report = run_once(config, audience, sheet, now,
                      RunOptions(full=info["mode"] != "incremental",
                                 dry_run=info["mode"] == "naive"),
                      RunHooks(meters=Lines(progress)))
    progress("done")
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(info["profile"])
    if info["mode"] == "naive":
        naive_recipe(audience, workbook, config, report)
    together = memory.stop()
    scoring_cpu = workers_cpu() - workers_cpu0
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0 + scoring_cpu
    state = Path(info["state"])
    after = server_stats(info["port"])
    audience.close()
    print(json.dumps({
        "mode": info["mode"], "members": report.members, "wall_s": wall, "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(), "peak_rss_with_workers_mb": together,
        "workers_cpu_s": scoring_cpu, "stages": stages,
        "mailchimp_requests": audience.requests - mc0,
        "sheets_requests": workbook.requests - sh0,
        "sheets_429": after["sheets_quota_hits"] - before["sheets_quota_hits"],
        "peak_in_flight": after["mailchimp"]["peak_in_flight"],
        "bytes_written": workbook.bytes_written - bytes0,
        "per_tag": report.per_tag, "new_leads": report.new_leads,
        "shop_requests": {key: after["shop_requests"][key] - before["shop_requests"][key]
                          for key in after["shop_requests"]}, "orders": after["orders"],
        "changed_leads": report.changed_leads, "before": before,
        "evaluated": evaluated(stages, report.members),
        "cells_written": leads_cells(before, after, "cells_written"),
        "cells_changed": leads_cells(before, after, "cells_changed"),
        "state_bytes": state.stat().st_size if state.exists() else 0,  # none for a dry run
        "status": report.status,
        "leads_tab_grew": report.new_leads > 0}))


def leads_cells(before: dict[str, Any], after: dict[str, Any], which: str) -> int:
    """Leads cells the run wrote (or changed), from the sandbox's counts by tab."""
    return after[which].get("Leads", 0) - before[which].get("Leads", 0)


def evaluated(stages: list[tuple[str, float, float]], members: int) -> int:
    """How many leads a run scored, from its stage line ("Scoring 11,182 leads …")."""
    for message, _, _ in stages:
        found = re.match(r"Scoring ([\d,]+) leads", message)
        if found:
            return int(found.group(1).replace(",", ""))
    return members


FORM_TAB = "Form responses 1"  # as syncbot.sandbox.server makes it
TEAM_RULES = [["Demo requested", "=", "yes", 30, "", "fit"],
              ["Budget", "per", "", 0.001, 20, "fit"],
              [f"days_since({FORM_TAB}!Timestamp)", "<=", 14, 20, "", ""],
              [f"{FORM_TAB}!count", "per", "", 5, 10, ""]]


def team_edits(port: int, spreadsheet_id: str, **edits: float) -> dict[str, int]:
    """Ask the sandbox to play the team (``syncbot.sandbox.server.team_edits``)."""
    return requests.post(f"http://127.0.0.1:{port}/_sandbox/team",
                         json={"spreadsheet_id": spreadsheet_id} | edits, timeout=120).json()


def set_up_team(workbook: Any, info: dict[str, Any]) -> None:
    """After ``init``: the team's form tab and two Leads columns, and rules that use them."""
    team_edits(info["port"], info["spreadsheet_id"], form_rows=info["form_rows"])
    [weights] = workbook.read(["'Weights'"])
    workbook.write([{"range": f"'Weights'!A{len(weights) + 1}", "values": TEAM_RULES}])


def naive_recipe(audience: Any, workbook: Any, config: Any, report: Any) -> None:
    """One row write per lead, one tag request per member per changed tag (after growing the
    grid once). The adapters count every request."""
    from syncbot.mailchimp.client import subscriber_hash
    from syncbot.sheets.tabs import read_spreadsheet

    data = read_spreadsheet(workbook, config.sheets)
    leads = data.tabs["Leads"]
    if report.members + 1 > leads.rows:
        workbook.change_structure([{"appendDimension": {
            "sheetId": leads.sheet_id, "dimension": "ROWS", "length": report.members + 1 - leads.rows}}])
    for index in range(report.members):
        workbook.write([{"range": f"'{leads.title}'!A{index + 2}", "values": [[f"lead-{index}"]]}])
    for tag, (adds, removes) in report.per_tag.items():
        for index in range(adds + removes):
            with contextlib.suppress(Exception):  # unknown members answer 404; still a call
                audience.client.lists.update_list_member_tags(
                    audience.list_id, subscriber_hash(f"naive-{index}@example.com"),
                    {"tags": [{"name": tag, "status": "active"}], "is_syncing": True})


def lower_bound(result: dict[str, Any], new_activity: int) -> dict[str, int]:
    before = result["before"]
    members = result["members"]
    campaigns = before["campaigns"]
    mc = math.ceil(members / 1000) + 1 + 1
    if result["mode"] == "incremental":  # the reports, then the newest campaign's activity
        mc += 1 + (math.ceil(new_activity / 1000) if new_activity else 0)
    else:
        mc += sum(max(1, math.ceil(c["recipients"] / 1000)) for c in campaigns.values())
    managed = result["per_tag"]
    mc += sum(max(1, math.ceil(before["tags"][tag] / 1000)) for tag in managed
              if tag in before["tags"])
    mc += sum(1 for tag in managed if tag not in before["tags"])
    mc += sum(math.ceil(max(a, r) / 500) for a, r in managed.values())
    if result["shop_requests"]["stores"]:  # [orders]: the stores, then every order
        mc += 1 + math.ceil(result["orders"] / 1000)
    sheets = 2 + math.ceil(result["bytes_written"] / 2_000_000) + 1 + int(result["leads_tab_grew"])
    return {"mailchimp": mc, "sheets": sheets}


def run_size(members: int, campaigns: int, mc_latency: float, sheets_latency: float,
             naive: bool, profile: Path | None = None) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="syncbot-bench-") as tmp:
        folder = Path(tmp)
        with sandbox_world(folder, members, campaigns, mc_latency, sheets_latency) as world:
            base = world | {"profile": str(profile) if profile else ""}
            new_activity = 0
            for mode in ("full", "incremental"):
                if mode == "incremental":
                    new_activity = add_activity(world["port"], 0.01)
                results.append(_measure(base | {"mode": mode}, new_activity, mc_latency,
                                        sheets_latency))
        if naive:
            with sandbox_world(folder / "naive", members, campaigns, 0, 0, 10**6) as world:
                results.append(_measure(world | {"mode": "naive"}, 0, mc_latency,
                                        sheets_latency))
    return results


def run_team(members: int, campaigns: int, mc_latency: float, sheets_latency: float,
             form_rows: int, gap_s: float = 0.0, profile: Path | None = None
             ) -> list[dict[str, Any]]:
    """Today's incremental run beside the same run with the team's data switched on (two Leads
    columns and a ``form_rows``-row form tab named by rules), in two worlds taken through the
    same steps: full sync; (team: boxes ticked on 5 % of the leads, budgets on 30 %);
    a settling incremental sync; 1 % new activity (team, as a small team's six hours: 0.05 %
    more boxes and budgets, 0.5 % more form rows); the measured incremental sync, ``gap_s``
    after the settling one started
    in both worlds (what an incremental run recomputes grows with the time since the last
    one: decayed sums keep moving)."""
    results = []
    for team in (False, True):
        with tempfile.TemporaryDirectory(prefix="syncbot-bench-") as tmp, \
                sandbox_world(Path(tmp), members, campaigns, mc_latency, sheets_latency) as world:
            base = world | {"team": team, "form_rows": form_rows}
            port, sheet_id = world["port"], world["spreadsheet_id"]
            label = "team data" if team else "no team data"
            full = _measure(base | {"mode": "full"}, 0, mc_latency, sheets_latency)
            if team:
                team_edits(port, sheet_id, tick=0.05, budget=0.3)
            settled = time.monotonic()
            _measure(base | {"mode": "incremental"}, 0, mc_latency, sheets_latency)
            new_activity = add_activity(port, 0.01)
            if team:
                team_edits(port, sheet_id, tick=0.0005, budget=0.0005,
                           form_rows=form_rows // 200)
            time.sleep(max(0.0, settled + gap_s - time.monotonic()))
            profiled = {"profile": str(profile)} if profile and team else {}
            measured = _measure(base | {"mode": "incremental"} | profiled, new_activity,
                                mc_latency, sheets_latency)
            for result, mode in ((full, "full"), (measured, "incremental")):
                result["mode"] = f"{mode} ({label})"
                results.append(result)
    return results


def run_history(members: int, campaigns: int, mc_latency: float, sheets_latency: float,
                gap_s: float = 0.0) -> list[dict[str, Any]]:
    """Today's incremental run beside the same run with a year of score history in the state
    (issue 16), in two worlds taken through the same steps: full sync; (history: a year of
    points written before each lead's, 20 % of the leads changing a day); a settling
    incremental sync; 1 % new activity; the measured incremental sync, ``gap_s`` after the
    settling one started."""
    from bench.bench_history import fill_year

    results = []
    for year in (False, True):
        with tempfile.TemporaryDirectory(prefix="syncbot-bench-") as tmp, \
                sandbox_world(Path(tmp), members, campaigns, mc_latency, sheets_latency) as world:
            label = "a year of history" if year else "history of two runs"
            full = _measure(world | {"mode": "full"}, 0, mc_latency, sheets_latency)
            state = Path(world["state"])
            size = state.stat().st_size
            points = fill_year(state) if year else 0
            settled = time.monotonic()
            _measure(world | {"mode": "incremental"}, 0, mc_latency, sheets_latency)
            new_activity = add_activity(world["port"], 0.01)
            time.sleep(max(0.0, settled + gap_s - time.monotonic()))
            measured = _measure(world | {"mode": "incremental"}, new_activity, mc_latency,
                                sheets_latency)
            measured["mode"] = f"incremental ({label})"
            measured["state_mb"] = (state.stat().st_size, size, points)
            results.extend([full, measured])
    return results


def run_orders(members: int, campaigns: int, mc_latency: float, sheets_latency: float,
               orders: int, gap_s: float = 0.0, baseline: bool = True
               ) -> list[dict[str, Any]]:
    """Today's incremental run beside the same run with ``[orders]`` and ``orders`` orders
    in the window (issue 15), in two worlds taken through the same steps: full sync; a
    settling incremental sync; 1 % new activity (orders: and a day's shop, 0.1 % of the
    orders new and 0.02 % refunded); the measured incremental sync, ``gap_s`` after the
    settling one started."""
    results = []
    for count in (0, orders) if baseline else (orders,):  # without it: the ceiling (issue 19)
        with tempfile.TemporaryDirectory(prefix="syncbot-bench-") as tmp, \
                sandbox_world(Path(tmp), members, campaigns, mc_latency, sheets_latency,
                              orders=count) as world:
            base = world | {"orders": count}
            label = f"{count:,} orders" if count else "no [orders]"
            full = _measure(base | {"mode": "full"}, 0, mc_latency, sheets_latency)
            settled = time.monotonic()
            _measure(base | {"mode": "incremental"}, 0, mc_latency, sheets_latency)
            new_activity = add_activity(world["port"], 0.01)
            if count:
                requests.post(f"http://127.0.0.1:{world['port']}/_sandbox/orders",
                              json={"new": count // 1000, "refunds": count // 5000},
                              timeout=120)
            time.sleep(max(0.0, settled + gap_s - time.monotonic()))
            measured = _measure(base | {"mode": "incremental"}, new_activity, mc_latency,
                                sheets_latency)
            for result, mode in ((full, "full"), (measured, "incremental")):
                result["mode"] = f"{mode} ({label})"
                results.append(result)
    return results


def _measure(info: dict[str, Any], new_activity: int, mc_latency: float,
             sheets_latency: float) -> dict[str, Any]:
    if WORKERS is not None:
        info = info | {"workers": WORKERS}
    done = subprocess.run([sys.executable, "-m", "bench.bench_sync", "--child", json.dumps(info)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{info['mode']} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    bound = lower_bound(result, new_activity)
    result["lower_bound"] = bound
    result["ideal_s"] = (bound["mailchimp"] * mc_latency / MAX_CONNECTIONS
                         + bound["sheets"] * sheets_latency)
    result["latency_bound_s"] = (result["mailchimp_requests"] * mc_latency / MAX_CONNECTIONS
                                 + result["sheets_requests"] * sheets_latency)
    if info["mode"] == "naive":  # a per-row flow runs its steps one after another
        result["latency_bound_s"] = (result["mailchimp_requests"] * mc_latency
                                     + result["sheets_requests"] * sheets_latency)
        result["quota_bound_s"] = result["sheets_requests"] / 60 * 60
    result.pop("before")
    return result


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| members | scenario | Mailchimp req (bound) | Sheets req (bound) | MB written | "
             "ideal s | wall s | CPU s | peak RSS MB | Sheets 429s |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        wall = f"{r['wall_s']:.1f}" if r["mode"] != "naive" else \
            f"({r['latency_bound_s']:.0f} at the latencies)"
        lines.append(
            f"| {r['members']:,} | {r['mode']} | {r['mailchimp_requests']:,} "
            f"({r['lower_bound']['mailchimp']:,}) | {r['sheets_requests']:,} "
            f"({r['lower_bound']['sheets']:,}) | {r['bytes_written'] / 1e6:.1f} | "
            f"{r['ideal_s']:.1f} | {wall} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{r['sheets_429']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, action="append")
    parser.add_argument("--campaigns", type=int, default=12)
    parser.add_argument("--mailchimp-latency", type=float, default=0.1)
    parser.add_argument("--sheets-latency", type=float, default=0.3)
    parser.add_argument("--naive", action="store_true", help="Also run the naive baseline.")
    parser.add_argument("--json", type=Path, help="Also save the raw results here.")
    parser.add_argument("--profile", type=Path,
                        help="cProfile the incremental sync into this file (pstats format).")
    parser.add_argument("--team", type=int, metavar="FORM_ROWS",
                        help="Instead: today's incremental sync beside one with the team's "
                             "data (two Leads columns and a form tab of FORM_ROWS rows).")
    parser.add_argument("--gap", type=float, default=120.0,
                        help="With --team, --history or --orders: seconds from the start of "
                             "the settling incremental sync to the measured one, the same in "
                             "both worlds.")
    parser.add_argument("--history", action="store_true",
                        help="Instead: today's incremental sync beside one with a year of "
                             "score history in the state.")
    parser.add_argument("--orders", type=int, metavar="ORDERS",
                        help="Instead: today's incremental sync beside one with [orders] and "
                             "ORDERS orders of a connected store.")
    parser.add_argument("--orders-only", action="store_true",
                        help="With --orders: only the world with orders (the ceiling: "
                             "--members 250000 --campaigns 24 --orders 500000).")
    parser.add_argument("--workers", type=int,
                        help="[scoring] workers of every sync (default: one per core, at most 4).")
    add_latency_on_top(parser)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    global WORKERS, LATENCY_ON_TOP
    WORKERS, LATENCY_ON_TOP = args.workers, args.latency_on_top
    rows: list[dict[str, Any]] = []
    for members in args.members or [10_000]:
        if args.team:
            rows += run_team(members, args.campaigns, args.mailchimp_latency,
                             args.sheets_latency, args.team, args.gap, args.profile)
            continue
        if args.orders:
            rows += run_orders(members, args.campaigns, args.mailchimp_latency,
                               args.sheets_latency, args.orders, args.gap,
                               baseline=not args.orders_only)
            continue
        if args.history:
            rows += run_history(members, args.campaigns, args.mailchimp_latency,
                                args.sheets_latency, args.gap)
            continue
        rows += run_size(members, args.campaigns, args.mailchimp_latency, args.sheets_latency,
                         args.naive, args.profile)
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
          f"{platform.python_version()}; latency Mailchimp {args.mailchimp_latency}s, "
          f"Sheets {args.sheets_latency}s; {MAX_CONNECTIONS} Mailchimp connections")
    print(table(rows))
    for r in rows:
        if r["shop_requests"]["stores"]:
            print(f"{r['mode']}: {r['shop_requests']['stores']} stores request, "
                  f"{r['shop_requests']['orders']} order pages for {r['orders']:,} orders")
        if r.get("state_mb"):
            now, before, points = r["state_mb"]
            print(f"{r['mode']}: state {before / 1e6:.1f} MB after the full sync, "
                  f"{now / 1e6:.1f} MB after the measured one ({points:,} points added)")
        if r.get("stages"):
            print(f"{r['members']:,} {r['mode']}: " + "; ".join(
                f"{stage} at {at:.1f} s (peak {rss:.0f} MB)" for stage, at, rss in r["stages"]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
