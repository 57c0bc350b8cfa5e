"""A simulated week at the default cadence: syncs six hours apart on an emulated clock.

Run: ``python -m bench.bench_week --members 100000`` (``--runs``, ``--orders``,
``--form-rows``, ``--workers``, latencies as in ``bench_sync``).

One sandbox world (its own process, 100 ms Mailchimp / 300 ms Sheets, Google's
quota) with every part-two capability on: two team columns and a form tab named
by rules, ``[orders]``, score history, ``[handoff]`` and the Dashboard. After
``init`` and a full sync, each of ``--runs`` incremental syncs (default 28: a
week) is preceded by six hours of the audience's life up to its start
(``syncbot.sandbox.server.hours_pass``): a campaign to every subscribed member on
Monday and Thursday mornings, opens fading over 72 hours (30 % of the
recipients open, a quarter of them click), 0.1 % of the members changing their
profile a day, ``--orders`` orders a day with a fifth as many refunds, and
``--form-rows`` form answers a day. Each sync runs in a fresh child process
(``bench_sync.child``) at the emulated time, and reports its wall time, requests,
leads scored, Leads cells written against the cells whose value changed, the
state's size and peak RSS.

The naive per-row recipe, for the week's total: every run pulls everything
again (the full sync's Mailchimp requests), writes one row per member (one
Sheets request each) and sends one tag request per tag change.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench import bench_sync
from bench.bench_sync import (
    _measure,
    add_latency_on_top,
    process_cpu,
    sandbox_world,
    team_edits,
)

SEND_RUNS = {0, 12}  # Monday and Thursday mornings, for runs at 00, 06, 12, 18 h


def post(port: int, what: str, body: dict[str, Any]) -> dict[str, Any]:
    return requests.post(f"http://127.0.0.1:{port}/_sandbox/{what}", json=body,
                         timeout=600).json()


def run_week(members: int, campaigns: int, mc_latency: float, sheets_latency: float, *,
             runs: int = 28, hours: float = 6.0, orders: int = 0, orders_a_day: int = 0,
             form_rows: int = 0) -> dict[str, Any]:
    """The full sync, then ``runs`` incremental ones ``hours`` apart (see the module's
    docstring); returns each run's measurements."""
    with tempfile.TemporaryDirectory(prefix="syncbot-week-") as tmp, \
            sandbox_world(Path(tmp), members, campaigns, mc_latency, sheets_latency,
                          orders=orders) as world:
        port = world["port"]
        now = datetime.now(UTC).replace(microsecond=0)
        post(port, "clock", {"now": now.isoformat()})
        base = world | {"team": True, "form_rows": form_rows, "orders": orders,
                        "handoff": True}
        full = _measure(base | {"mode": "full", "now": now.isoformat()}, 0, mc_latency,
                        sheets_latency)
        week = []
        for number in range(runs):
            now += timedelta(hours=hours)
            post(port, "clock", {"now": now.isoformat()})
            played = post(port, "hours", {"hours": hours, "send": number in SEND_RUNS,
                                          "orders_a_day": orders_a_day, "seed": 100 + number})
            team_edits(port, world["spreadsheet_id"], tick=0.0005, budget=0.0005,
                       form_rows=round(form_rows * hours / 24))
            started, sandbox_cpu = time.monotonic(), process_cpu(world["sandbox_pid"])
            result = _measure(base | {"mode": "incremental", "now": now.isoformat()}, 0,
                              mc_latency, sheets_latency)
            result["sandbox_cpu_s"] = process_cpu(world["sandbox_pid"]) - sandbox_cpu
            result["played"], result["run"] = played, number + 1
            result["bench_s"] = time.monotonic() - started
            week.append(result)
    return {"full": full, "week": week, "members": members, "runs": runs, "hours": hours}


def naive_requests(result: dict[str, Any]) -> int:
    """What the per-row recipe sends over the week (module docstring)."""
    full_pull = result["full"]["mailchimp_requests"]
    return sum(full_pull + run["members"] + 1
               + sum(adds + removes for adds, removes in run["per_tag"].values())
               for run in result["week"])


def summary(result: dict[str, Any]) -> str:
    week = result["week"]
    lines = ["| run | wall s | Mailchimp req | Sheets req | 429s | leads scored | Leads cells "
             "written (changed) | state MB | peak RSS MB | CPU s (workers'; sandbox's) | "
             "opens+clicks before it |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in week:
        played = run["played"]
        lines.append(
            f"| {run['run']} | {run['wall_s']:.1f} | {run['mailchimp_requests']:,} | "
            f"{run['sheets_requests']} | {run['sheets_429']} | {run['evaluated']:,} | "
            f"{run['cells_written']:,} ({run['cells_changed']:,}) | "
            f"{run['state_bytes'] / 1e6:.0f} | {run['peak_rss_mb']:.0f} | "
            f"{run['cpu_s']:.1f} ({run['workers_cpu_s']:.1f}; {run['sandbox_cpu_s']:.1f}) | "
            f"{played['opens'] + played['clicks']:,} |")
    walls = [run["wall_s"] for run in week]
    ours = sum(run["mailchimp_requests"] + run["sheets_requests"] for run in week)
    naive = naive_requests(result)
    written = sum(run["cells_written"] for run in week)
    changed = sum(run["cells_changed"] for run in week)
    lines += ["", f"full sync first: {result['full']['wall_s']:.1f} s; "
              f"cadence runs: median {statistics.median(walls):.1f} s "
              f"(range {min(walls):.1f}–{max(walls):.1f}); Sheets requests at most "
              f"{max(run['sheets_requests'] for run in week)}; 429s "
              f"{sum(run['sheets_429'] for run in week)}; Leads cells written "
              f"{written:,} for {changed:,} changed ({written / max(changed, 1):.2f} ×); "
              f"the week's requests {ours:,} against the per-row recipe's {naive:,} "
              f"({naive / max(ours, 1):.0f} × fewer)"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--campaigns", type=int, default=12)
    parser.add_argument("--runs", type=int, default=28)
    parser.add_argument("--orders", type=int, default=None,
                        help="orders in the shop at the start (default 3 a member)")
    parser.add_argument("--form-rows", type=int, default=None,
                        help="form answers a day (default 1 per 500 members)")
    parser.add_argument("--mailchimp-latency", type=float, default=0.1)
    parser.add_argument("--sheets-latency", type=float, default=0.3)
    parser.add_argument("--workers", type=int,
                        help="[scoring] workers of every sync (default: one per core, at most 4).")
    parser.add_argument("--json", type=Path, help="Also save the raw results here.")
    add_latency_on_top(parser)
    args = parser.parse_args()
    bench_sync.WORKERS = args.workers
    bench_sync.LATENCY_ON_TOP = args.latency_on_top
    orders = 3 * args.members if args.orders is None else args.orders
    result = run_week(args.members, args.campaigns, args.mailchimp_latency,
                      args.sheets_latency, runs=args.runs, orders=orders,
                      orders_a_day=orders // 1000,
                      form_rows=args.members // 500 if args.form_rows is None
                      else args.form_rows)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    print(summary(result))


if __name__ == "__main__":
    main()
