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


def test_team_data_benchmark_costs_one_more_read_request():
    """The team-data scenario, shrunk: the same incremental run with two team columns and a
    form tab named by rules costs exactly one more Sheets request, and no 429."""
    from bench.bench_sync import run_team

    rows = {r["mode"]: r for r in run_team(300, 3, 0.0, 0.0, form_rows=200)}
    base, team = rows["incremental (no team data)"], rows["incremental (team data)"]
    assert team["sheets_requests"] == base["sheets_requests"] + 1
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
