"""Score history (docs/reference.md, "Score history"): the points the state keeps, the fields
made from them (``score_change_7d``, ``score_change_30d``, ``tags_since``), and an
incremental run equal to a full one across gaps of minutes to weeks."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from syncbot.core.history import (
    HistoryPoint,
    next_change,
    score_at,
    score_changes,
    tags_since,
)
from syncbot.state.store import StateStore
from tests.conftest import LIST_ID, SHEET_ID
from tests.test_e2e import sync_twin, twin_worlds

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def point(days_ago: float, score: float, *tags: str) -> HistoryPoint:
    return HistoryPoint(NOW - days_ago * DAY, score, tuple(tags))


POINTS = [point(40, 10, "lead:cold"), point(20, 30, "lead:warm"), point(3, 50, "lead:warm")]


# ---- the fields, from the core alone ---------------------------------------------------------

def test_the_score_at_a_moment_is_the_latest_run_s_at_or_before_it():
    assert score_at(POINTS, NOW - 41 * DAY) is None
    assert score_at(POINTS, NOW - 40 * DAY) == 10
    assert score_at(POINTS, NOW - 7 * DAY) == 30


def test_score_changes_compare_with_the_latest_run_at_least_7_and_30_days_ago():
    assert score_changes(POINTS, 62.5, NOW) == {"score_change_7d": 32.5, "score_change_30d": 52.5}
    assert score_changes(POINTS[2:], 50, NOW) == {"score_change_7d": None,
                                                  "score_change_30d": None}
    assert score_changes([], 5, NOW) == {"score_change_7d": None, "score_change_30d": None}


def test_tags_since_is_when_the_current_tags_began():
    assert tags_since(POINTS, ["lead:warm"], NOW) == NOW - 20 * DAY
    assert tags_since(POINTS, ["lead:hot"], NOW) == NOW  # they change with this run
    assert tags_since([], [], NOW) == NOW


def test_the_fields_next_change_when_a_point_turns_7_or_30_days_old():
    warm, cold = ["lead:warm"], ["lead:cold"]

    def when(points, tags, recorded, read=True):
        return next_change(points, NOW, tags, recorded=recorded, segments_use_tags_since=read)
    assert when(POINTS, warm, False) == NOW + 4 * DAY  # the 3-day-old point
    assert when(POINTS[:1], cold, False) == datetime.max.replace(tzinfo=UTC)
    assert when(POINTS[:1], cold, True) == NOW + 7 * DAY
    assert when(POINTS, cold, True) == NOW  # new tags: the next run's Segments see a new
    assert when([], [], True) == NOW  # tags_since
    assert when(POINTS, cold, True, read=False) == NOW + 4 * DAY  # no rule reads it


# ---- the state --------------------------------------------------------------------------------

def test_the_state_records_a_point_only_on_change_and_drops_old_ones(tmp_path):
    state, _ = StateStore.open(tmp_path / "state.db", list_id=LIST_ID, lookback_days=90)
    hot, cold = json.dumps(["lead:hot"]), json.dumps(["lead:cold"])
    state.record_history(NOW - 500 * DAY, [("a", 1.0, cold), ("b", 2.0, cold)], keep_days=400)
    state.record_history(NOW - 450 * DAY, [("a", 1.0, cold), ("b", 3.0, cold)], keep_days=400)
    state.record_history(NOW - 10 * DAY, [("a", 1.0, cold), ("b", 3.0, hot)], keep_days=400)
    state.record_history(NOW, [("a", 9.0, cold), ("b", 3.0, hot)], keep_days=400)
    found = state.history(["a", "b", "c"])
    assert [(p.at, p.score) for p in found["a"]] == [(NOW - 500 * DAY, 1.0), (NOW, 9.0)]
    assert [(p.at, p.tags) for p in found["b"]] == [  # the 500-day-old point is gone; the
        (NOW - 450 * DAY, ("lead:cold",)), (NOW - 10 * DAY, ("lead:hot",))]  # score as of then stays
    assert "c" not in found


# ---- through the command line, gspread and the sandbox ----------------------------------------

@pytest.mark.parametrize("gaps", [(timedelta(minutes=10), 8 * DAY, 31 * DAY),
                                  (DAY, DAY, 40 * DAY)])
def test_an_incremental_run_equals_a_full_one_for_the_history_fields(tmp_path, monkeypatch,
                                                                      capsys, gaps):
    segments = [["lead:heating", "score_change_7d", ">", 0, "", "Warming up this week"],
                ["lead:steady", "dias_desde(etiquetas_desde)", ">", 20, "", "Same tags a while"]]
    worlds = twin_worlds(tmp_path, monkeypatch, capsys,  # weeks pass: many tags change
                         extra_config="[safety]\nmax_removal_fraction = 1\n")
    for name, w in worlds.items():
        tab = w.box.sheets.spreadsheets[SHEET_ID].sheet("Segments")
        tab.rows = tab.rows + [list(row) for row in segments]
        w.run(capsys, "sync")
        for step, gap in enumerate(gaps):
            w.now += gap
            w.box.mailchimp.clock = lambda w=w: w.now
            for email in w.audience.emails[step * 40:step * 40 + 60]:
                w.box.mailchimp.add_event(w.audience.campaign_ids[0], email, "click",
                                          w.now - timedelta(minutes=5),
                                          "https://shop.example.com/pricing")
            sync_twin(name, w, capsys)
    incremental, full = worlds["incremental"], worlds["full"]
    leads = incremental.leads()
    assert leads == full.leads() and incremental.tags() == full.tags()
    changes = [lead["score_change_7d"] for lead in leads.values()]
    assert any(change not in ("", None, 0) for change in changes)
    assert incremental.tags().get("lead:heating") and incremental.tags().get("lead:steady")
    assert {lead["tags_since"] for lead in leads.values()} - {""}


def test_history_fields_belong_to_segments_not_weights(world, capsys):
    world.set_weights([["score_change_7d", ">", 0, 5]])
    code, out, _ = world.run(capsys, "check")
    assert code == 2 and "is the result of the Weights tab itself" in out


# ---- the compact store -------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from syncbot.state.history import Stored, decode, encode  # noqa: E402

POINTS_ST = st.lists(st.tuples(st.integers(0, 10**6), st.integers(-10**7, 10**7),
                               st.integers(0, 300)), max_size=30)


@given(POINTS_ST, st.integers(0, 30))
def test_points_decode_as_they_were_encoded_however_they_were_appended(raw, cut):
    points, at = [], 0
    for gap, score, tags in raw:  # times only move forward
        at += gap
        points.append(Stored(at, score, tags))
    cut = min(cut, len(points))
    data = encode(points[:cut]) + encode(points[cut:], points[cut - 1] if cut else None)
    assert list(decode(data)) == points


def test_a_point_costs_a_few_bytes():
    points = [Stored(1000 + 12 * i, 4500 + 500 * (i % 3), i // 10) for i in range(40)]
    assert len(encode(points)) <= 40 * 2.5  # a byte for the runs between, one for the score,
    #                                         the tags now and then
    assert len(encode([Stored(1004, 2550, 1)], Stored(1000, 2500, 1))) == 3  # 0.5 points


def test_history_written_row_by_row_is_kept_when_the_state_is_upgraded(tmp_path):
    """Schema 5 kept a row per point; schema 6 one BLOB per lead, the same points."""
    import sqlite3

    path = tmp_path / "state.db"
    state, _ = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
    state.commit_run(NOW - DAY)
    state.close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE history; DROP TABLE tag_sets; DROP TABLE history_runs; "
                     "DROP TABLE orders; "  # schema 7's
                     "ALTER TABLE campaigns DROP COLUMN read_at; "  # schema 9's
                     "DROP TABLE order_pages; "  # schema 10's
                     "CREATE TABLE history (key TEXT "
                     "NOT NULL, at REAL NOT NULL, score REAL NOT NULL, tags TEXT NOT NULL, "
                     "PRIMARY KEY (key, at)); UPDATE meta SET value = '5' WHERE key = 'version'")
    rows = [("a", NOW - 40 * DAY, 10.0, '["lead:cold"]'), ("a", NOW - 3 * DAY, 62.5, '["lead:hot"]'),
            ("b", NOW - DAY, 7.0, "[]")]
    db.executemany("INSERT INTO history VALUES (?, ?, ?, ?)",
                   [(key, at.timestamp(), score, tags) for key, at, score, tags in rows])
    db.commit()
    db.close()
    state, why = StateStore.open(path, list_id=LIST_ID, lookback_days=90)
    assert why is None
    found = state.history(["a", "b"])
    assert found == {"a": [point(40, 10, "lead:cold"), point(3, 62.5, "lead:hot")],
                     "b": [point(1, 7)]}
    state.record_history(NOW, [("a", 62.5, '["lead:hot"]'), ("b", 8.25, "[]")], keep_days=400)
    assert state.history(["a", "b"])["b"] == [point(1, 7), point(0, 8.25)]
    assert len(state.history(["a"])["a"]) == 2  # unchanged: no point
