"""Score history over a year: how big the local state grows, and what it costs a run.

Run: ``python -m bench.bench_history [--members N] [--days D] [--runs-per-day R]
[--daily-change F]``. It drives the state's own ``record_history`` as syncs do (every
lead offered after every run; a point stored only when its score or tags changed) with
a fake clock: ``R`` runs a day for ``D`` days, a share ``F`` of the leads changing score
each day (spread over the day's runs; the tiers follow the score). Then it reports the
state file's size, the points kept, the bytes per point, and the time of one run's history
work at the end of the year: ``record_history`` over every lead, and reading the history
of every lead (what a run that recomputes everyone reads; an incremental run reads only
its stale leads). Target (issue 16): at 100,000 leads, 4 runs a day, a year: at most
30 MB more state, and the incremental run within 1.2 × of today's.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncbot.state.store import StateStore

TIERS = ("lead:hot", "lead:warm", "lead:cold")
CHUNK = 2000  # leads read at a time, as the pipeline does


def tags_for(score: float) -> str:
    tier = TIERS[0] if score >= 60 else TIERS[1] if score >= 25 else TIERS[2]
    return json.dumps([tier])


def simulate(path: Path, *, members: int, days: int, runs_per_day: int, daily_change: float,
             seed: int = 1) -> tuple[StateStore, datetime, dict[str, float]]:
    rng = random.Random(seed)
    keys = [f"lead{i:06d}@example.com" for i in range(members)]
    scores = {key: float(rng.choice((0, 5, 10, 15, 20, 30, 45, 70))) for key in keys}
    state, _ = StateStore.open(path, list_id="bench", lookback_days=90)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    per_run = int(members * daily_change / runs_per_day)
    for _ in range(days * runs_per_day):
        for key in rng.sample(keys, per_run):
            step = rng.choice((-10, -5, -3, -1, 1, 2, 3, 5, 10, 2.5))
            scores[key] = max(-20.0, min(150.0, scores[key] + step))
        state.record_history(now, ((key, score, tags_for(score)) for key, score in scores.items()),
                             keep_days=400)
        now += timedelta(hours=24 / runs_per_day)
    return state, now, scores


def fill_year(path: Path, *, daily_change: float = 0.2, days: int = 365, runs_per_day: int = 4,
              seed: int = 2) -> int:
    """Give every lead of the state at ``path`` a year of history before its points (as
    ``simulate`` would leave it, written directly: seconds instead of half an hour); returns
    the points added."""
    import sqlite3

    from syncbot.state.history import Stored, decode, encode

    rng = random.Random(seed)
    db = sqlite3.connect(path)
    ids = dict(db.execute("SELECT tags, id FROM tag_sets"))
    for tags in (tags_for(score) for score in (0, 30, 70)):
        if tags not in ids:
            ids[tags] = db.execute("INSERT INTO tag_sets (tags) VALUES (?)", (tags,)).lastrowid
    [(first, start)] = db.execute("SELECT MIN(number), MIN(at) FROM history_runs")
    past = days * runs_per_day  # the year's runs, numbered before the state's own
    db.execute("UPDATE history_runs SET number = number + ?", (past,))
    db.executemany("INSERT INTO history_runs VALUES (?, ?)",
                   [(first + i, start - (past - i) * 86_400 / runs_per_day)
                    for i in range(past)])
    added, rows = 0, []
    for number, data in db.execute("SELECT id, points FROM history").fetchall():
        kept = [Stored(point.run + past, point.score, point.tags) for point in decode(data)]
        count = sum(rng.random() < daily_change for _ in range(days))
        runs = sorted(rng.sample(range(first, first + past), count))
        score, points = 20.0, []
        for run in runs:
            score = max(-20.0, min(150.0, score + rng.choice((-10, -5, -1, 1, 5, 10))))
            points.append(Stored(run, round(score * 100), ids[tags_for(score)]))
        whole = points + kept
        rows.append((encode(whole), whole[-1].run, whole[1].run if len(whole) > 1 else None,
                     number))
        added += len(points)
    db.executemany("UPDATE history SET points = ?, last_run = ?, second_run = ? WHERE id = ?",
                   rows)
    db.commit()
    db.close()
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs-per-day", type=int, default=4)
    parser.add_argument("--daily-change", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.db"
        started = time.perf_counter()
        state, now, scores = simulate(path, members=args.members, days=args.days,
                                      runs_per_day=args.runs_per_day,
                                      daily_change=args.daily_change)
        simulated = time.perf_counter() - started
        keys = sorted(scores)
        before = time.perf_counter()
        points = 0
        for start in range(0, len(keys), CHUNK):
            points += sum(len(found) for found in state.history(keys[start:start + CHUNK])
                          .values())
        read = time.perf_counter() - before
        before = time.perf_counter()
        state.record_history(now, ((key, score + 1, tags_for(score + 1))
                                   for key, score in scores.items()), keep_days=400)
        record = time.perf_counter() - before
        state.close()
        size = path.stat().st_size
    print(f"{args.members:,} leads, {args.days} days × {args.runs_per_day} runs, "
          f"{args.daily_change:.0%} of leads changing a day (simulated in {simulated:.0f} s)")
    print(f"state file: {size / 1e6:.1f} MB; history points kept: {points:,} "
          f"({size / max(points, 1):.1f} bytes a point, the state's other tables empty)")
    print(f"one run at the end of the year: reading every lead's history {read:.2f} s; "
          f"recording a point for every lead {record:.2f} s")


if __name__ == "__main__":
    main()
