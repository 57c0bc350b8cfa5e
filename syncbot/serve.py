"""`syncbot serve`: syncs on the [schedule], with APScheduler 3.

Said out loud: never two syncs at once (``max_instances=1`` plus
the file lock), missed runs collapse into one (``coalesce``), a run up to
``MISFIRE_GRACE`` late still happens, and one catch-up run starts at once
when the last successful sync is older than the last scheduled time (after
downtime, or on the very first start). A failing sync is logged and the
scheduler carries on. SIGINT/SIGTERM stop the scheduler after the sync in
progress has finished.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncbot.config import ScheduleConfig
from syncbot.locales import t

log = logging.getLogger("syncbot.serve")
MISFIRE_GRACE = timedelta(minutes=30)


def make_trigger(schedule: ScheduleConfig) -> BaseTrigger:
    if schedule.interval_minutes:
        return IntervalTrigger(minutes=schedule.interval_minutes, timezone=UTC)
    assert schedule.cron is not None
    return CronTrigger.from_crontab(schedule.cron, timezone=UTC)


def needs_catch_up(trigger: BaseTrigger, last_success: datetime | None, now: datetime) -> bool:
    """Whether a scheduled time passed since the last successful sync (or there never was one)."""
    if last_success is None:
        return True
    due = trigger.get_next_fire_time(None, last_success + timedelta(seconds=1))
    return due is not None and due <= now


def build_scheduler(schedule: ScheduleConfig, job: Callable[[], None], *,
                    last_success: datetime | None, now: datetime,
                    scheduler: BaseScheduler | None = None) -> tuple[BaseScheduler, datetime]:
    """The scheduler with the sync job, and when the first sync will run."""
    scheduler = scheduler or BlockingScheduler(timezone=UTC)
    trigger = make_trigger(schedule)
    options: dict[str, Any] = {"id": "sync", "coalesce": True, "max_instances": 1,
                               "misfire_grace_time": int(MISFIRE_GRACE.total_seconds())}
    first = trigger.get_next_fire_time(None, now) or now
    if needs_catch_up(trigger, last_success, now):
        options["next_run_time"] = first = now  # one catch-up run now, then the schedule
    scheduler.add_job(job, trigger, **options)

    def on_event(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error(t("serve.job_failed", error=event.exception))
        else:
            log.warning(t("serve.job_missed", when=event.scheduled_run_time))

    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler, first


def install_stop_signals(scheduler: BaseScheduler) -> None:
    def stop(signum: int, frame: Any) -> None:
        log.warning(t("serve.stopping"))
        scheduler.shutdown(wait=True)  # lets a sync in progress finish

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
