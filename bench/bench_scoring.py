"""Scoring micro-benchmark: 100,000 leads × 15 Weights rules (+ the default Segments).

Run: ``python -m bench.bench_scoring [--leads N]``. Prints CPU seconds for
scoring alone (Scorer.score: points and the ``why`` text) and for scoring
plus segment assignment, best of ``--repeat`` runs. Target: ≤ 1.5 s CPU for
scoring 100,000 leads (issue 3); figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from typing import Any

from syncbot.core.rules import parse_rules
from syncbot.core.scoring import Scorer
from syncbot.core.segments import assign_tags
from syncbot.locales import Catalogue
from syncbot.sheets.a1 import cell

WEIGHTS = [
    ["Field", "Operator", "Value", "Points", "Max", "Dimension"],
    ["clicks_30d", "per", "", 5, 25, ""],
    ["opens_30d", "per", "", 1, 10, ""],
    ["clicks_7d", ">", 0, 10, "", ""],
    ["opens_decayed", ">=", "2,5", 5, "", ""],
    ["days_since_last_activity", ">", 90, -15, "", ""],
    ["days_since_last_open", "between", "0..7", 5, "", ""],
    ["member_rating", ">=", 4, 8, "", ""],
    ["orders_count", "per", "", 4, 20, "fit"],
    ["avg_order_value", ">", 100, 6, "", "fit"],
    ["JOBTITLE", "contains", "director, ceo, head, vp, fundador", 15, "", "fit"],
    ["JOBTITLE", "contains", "student", -10, "", "fit"],
    ["country", "in", "ES, MX, AR, CO, CL", 5, "", "fit"],
    ["COMPANY", "is empty", "", -5, "", "fit"],
    ["vip", "=", "true", 10, "", "fit"],
    ["topics", "contains", "pricing", 12, "", ""],
]
SEGMENTS = [["Tag", "Field", "Operator", "Value", "Group"],
            ["lead:hot", "score", ">=", 60, "tier"], ["lead:warm", "score", ">=", 25, "tier"],
            ["lead:cold", "", "", "", "tier"],
            ["lead:sunset", "days_since_last_activity", ">", 180, ""]]


def make_leads(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    jobs = ["CEO", "Director de Marketing", "Student", "Analista", "", "Head of Growth"]
    leads = []
    for i in range(n):
        opens = rng.choice([0, 0, 1, 3, 8, 15])
        leads.append({
            "email": f"lead{i}@example.com", "status": "subscribed",
            "clicks_30d": rng.choice([0, 0, 0, 1, 2, 6]), "opens_30d": opens,
            "clicks_7d": rng.choice([0, 0, 1]), "opens_decayed": round(rng.random() * 5, 3),
            "days_since_last_activity": rng.randint(0, 400),
            "days_since_last_open": rng.choice([None, 1, 5, 20, 60]),
            "member_rating": rng.randint(1, 5), "orders_count": rng.choice([0, 0, 1, 3]),
            "avg_order_value": rng.choice([0, 45.5, 120.0]), "JOBTITLE": rng.choice(jobs),
            "country": rng.choice(["ES", "MX", "US", None]), "COMPANY": rng.choice(["Acme", ""]),
            "vip": rng.random() < 0.05, "topics": rng.choice([None, "Pricing", "SEO, Pricing"]),
        })
    return leads


def run(n: int, repeat: int) -> dict[str, float]:
    rules = parse_rules(weights=WEIGHTS, segments=SEGMENTS, interests=[["Topic", "URL contains"]],
                        lookback_days=90, merge_tags=("JOBTITLE", "COMPANY"),
                        say=Catalogue("en"), cell=cell)
    assert len(rules.weights) == 15
    leads = make_leads(n)
    scorer = Scorer(rules.weights, Catalogue("en"))
    best_score = best_all = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        scores = [scorer.score(lead) for lead in leads]
        middle = time.process_time()
        for lead, result in zip(leads, scores, strict=True):
            lead["score"] = result.total
            assign_tags(lead, rules.segments)
        end = time.process_time()
        best_score = min(best_score, middle - start)
        best_all = min(best_all, end - start)
    return {"leads": n, "score_cpu_s": best_score, "score_and_segments_cpu_s": best_all}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = run(args.leads, args.repeat)
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{result['leads']:,} leads × 15 rules: scoring {result['score_cpu_s']:.2f} s CPU, "
          f"scoring + segments {result['score_and_segments_cpu_s']:.2f} s CPU (best of {args.repeat})")


if __name__ == "__main__":
    main()
