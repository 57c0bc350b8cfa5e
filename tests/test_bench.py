"""The benchmark scripts still run (on tiny inputs; their timings live in docs/benchmarks.md)."""

from bench.bench_scoring import run


def test_scoring_benchmark_runs():
    result = run(300, 1)
    assert result["leads"] == 300 and result["score_cpu_s"] >= 0


def test_sync_benchmark_runs_end_to_end_and_stays_at_the_bound():
    """The documented command, shrunk: a loopback sandbox in its own process, each scenario in
    a fresh child. Request counts do not depend on the machine, so they are checked here."""
    from bench.bench_sync import run_size, table

    rows = run_size(300, 3, 0.0, 0.0, naive=True)
    by_mode = {r["mode"]: r for r in rows}
    assert set(by_mode) == {"full", "incremental", "naive"}
    full, incremental = by_mode["full"], by_mode["incremental"]
    assert full["mailchimp_requests"] == full["lower_bound"]["mailchimp"]
    assert incremental["mailchimp_requests"] <= 1.1 * incremental["lower_bound"]["mailchimp"] + 1
    assert incremental["sheets_requests"] <= 10 and incremental["sheets_429"] == 0
    assert by_mode["naive"]["mailchimp_requests"] + by_mode["naive"]["sheets_requests"] > \
        10 * (full["mailchimp_requests"] + full["sheets_requests"])
    assert "| 300 | incremental |" in table(rows)


def test_team_data_benchmark_costs_no_more_requests():
    """The team-data scenario, shrunk: the same incremental run with two team columns and a
    form tab named by rules costs no more Sheets requests (they are read with the Leads
    e-mails), and no 429."""
    from bench.bench_sync import run_team

    rows = {r["mode"]: r for r in run_team(300, 3, 0.0, 0.0, form_rows=200)}
    base, team = rows["incremental (no team data)"], rows["incremental (team data)"]
    assert team["sheets_requests"] == base["sheets_requests"]
    assert team["sheets_429"] == 0


def test_orders_benchmark_lists_every_order_in_pages_of_a_thousand():
    """The orders scenario, shrunk: with [orders] a run costs one stores request and
    ⌈orders / 1000⌉ order pages more, full or incremental; without, none."""
    from bench.bench_sync import run_orders

    rows = {r["mode"]: r for r in run_orders(300, 3, 0.0, 0.0, orders=2500)}
    assert rows["incremental (no [orders])"]["shop_requests"] == {"stores": 0, "orders": 0}
    for mode in ("full", "incremental"):
        shop = rows[f"{mode} (2,500 orders)"]
        assert shop["shop_requests"] == {"stores": 1, "orders": 3}
        assert shop["mailchimp_requests"] <= shop["lower_bound"]["mailchimp"] + (
            rows[f"{mode} (no [orders])"]["mailchimp_requests"]
            - rows[f"{mode} (no [orders])"]["lower_bound"]["mailchimp"])


def test_week_benchmark_runs_at_the_cadence_on_an_emulated_clock():
    """The week at the default cadence, shrunk to a day (four runs six hours apart, every
    capability on): counts only. A campaign goes out before the first run and its opens
    arrive over the day; the runs stay incremental, each writes only the Leads cells whose
    value changes, costs a handful of Sheets requests, and the day costs far fewer requests
    than the per-row recipe."""
    from bench.bench_week import naive_requests, run_week, summary

    result = run_week(300, 3, 0.0, 0.0, runs=4, orders=900, orders_a_day=40, form_rows=20)
    week = result["week"]
    assert [run["status"] for run in week] == ["ok"] * 4
    assert week[0]["played"]["campaigns"] == 1 and all(r["played"]["opens"] for r in week)
    # three fixed requests (the metadata, the rules tabs with the Leads columns, the Runs row
    # with the Dashboard), one write of the changed cells, one for any Hand-off rows
    assert all(run["sheets_429"] == 0 and run["sheets_requests"] <= 5 for run in week)
    assert all(run["evaluated"] < run["members"] or run["run"] == 1 for run in week)
    assert all(run["cells_written"] <= 1.1 * run["cells_changed"] + 1 for run in week)
    ours = sum(r["mailchimp_requests"] + r["sheets_requests"] for r in week)
    assert naive_requests(result) > 10 * ours
    assert sum(run["sandbox_cpu_s"] for run in week) > 0  # read from the sandbox's process
    assert "| 4 |" in summary(result)


def test_ceiling_benchmark_runs_the_world_with_orders_alone_at_the_bound():
    """The ceiling (250,000 members, 24 campaigns, 500,000 orders), shrunk: one world with
    orders, full and incremental, each at its lower bound of Mailchimp requests."""
    from bench.bench_sync import run_orders

    rows = run_orders(400, 4, 0.0, 0.0, orders=1200, baseline=False)
    assert [r["mode"] for r in rows] == ["full (1,200 orders)", "incremental (1,200 orders)"]
    full, incremental = rows
    assert full["mailchimp_requests"] == full["lower_bound"]["mailchimp"]
    assert incremental["mailchimp_requests"] <= incremental["lower_bound"]["mailchimp"] + 2
    assert incremental["sheets_429"] == 0
