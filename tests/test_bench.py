"""The benchmark scripts still run (on tiny inputs; their timings live in docs/benchmarks.md)."""

from bench.bench_scoring import run


def test_scoring_benchmark_runs():
    result = run(300, 1)
    assert result["leads"] == 300 and result["score_cpu_s"] >= 0
