"""The scheduler's promises, with explicit times (nothing waits for the clock)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from syncbot.config import ScheduleConfig
from syncbot.serve import MISFIRE_GRACE, build_scheduler, make_trigger, needs_catch_up

EVERY_6H = ScheduleConfig(cron="0 */6 * * *")
T = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(("last", "now", "expected"), [
    (None, T, True),                                         # never synced: run now
    (T.replace(hour=6, minute=5), T, False),                 # synced after the 06:00 slot
    (T.replace(hour=5, minute=59), T, True),                 # the 06:00 slot was missed
    (T - timedelta(days=2), T, True),                        # long downtime: one catch-up
])
def test_catch_up_only_when_a_scheduled_time_passed(last, now, expected):
    assert needs_catch_up(make_trigger(EVERY_6H), last, now) is expected


def test_triggers_from_cron_or_interval():
    assert make_trigger(EVERY_6H).get_next_fire_time(None, T) == T.replace(hour=12, minute=0)
    interval = make_trigger(ScheduleConfig(cron=None, interval_minutes=90))
    assert interval.get_next_fire_time(None, T) is not None


def test_the_job_is_declared_with_coalesce_one_instance_and_a_grace_time():
    scheduler = BackgroundScheduler(timezone=UTC)
    _, first = build_scheduler(EVERY_6H, lambda: None, last_success=T - timedelta(hours=1),
                               now=T, scheduler=scheduler)
    job = scheduler.get_job("sync")
    assert (job.coalesce, job.max_instances) == (True, 1)
    assert job.misfire_grace_time == MISFIRE_GRACE.total_seconds()
    assert first == T.replace(hour=12, minute=0)  # no catch-up needed: the next slot


def test_a_failing_job_is_logged_and_the_scheduler_carries_on(caplog):
    calls = []
    done = threading.Event()

    def job():
        calls.append(1)
        done.set()
        raise RuntimeError("Mailchimp is down")

    scheduler = BackgroundScheduler(timezone=UTC)
    now = datetime.now(UTC)
    build_scheduler(EVERY_6H, job, last_success=None, now=now, scheduler=scheduler)
    scheduler.start()
    try:
        assert done.wait(10)
        for _ in range(100):
            if "The scheduled sync failed: Mailchimp is down" in caplog.text:
                break
            threading.Event().wait(0.01)
        assert scheduler.running and scheduler.get_job("sync") is not None
    finally:
        scheduler.shutdown(wait=True)
    assert calls == [1]
    assert "The scheduled sync failed: Mailchimp is down" in caplog.text
