"""Building the real API objects from the configuration (the CLI's and the scheduler's job).

The seams, all real by default: ``transport()`` puts another transport under
both clients (``None`` means the real network; the end-to-end tests use the
sandbox's adapter), ``sleep`` is how retries wait, ``now()`` is the clock.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import requests
from requests.adapters import BaseAdapter

from syncbot.config import Config
from syncbot.mailchimp.client import MailchimpAudience
from syncbot.progress import Meters, Silent
from syncbot.report import RunReport
from syncbot.sheets.client import Workbook
from syncbot.sheets.spreadsheet import Spreadsheet
from syncbot.webhook import Webhook

transport: Callable[[], BaseAdapter | None] = lambda: None  # noqa: E731
sleep: Callable[[float], None] = time.sleep
now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def sync(config: Config, *, dry_run: bool = False, full: bool = False, force: bool = False,
         meters: Meters | None = None) -> RunReport:
    """One ``run_once`` with the real clients, under the run lock (a dry run writes nothing, so
    it takes no lock); used by `sync`, `plan` and every scheduled run of `serve`."""
    from syncbot.pipeline import RunHooks, RunOptions, run_once
    from syncbot.state.lock import lock_for

    with contextlib.ExitStack() as stack:
        if not dry_run:
            stack.enter_context(lock_for(config.state.path))
        meters = meters or Silent()
        mailchimp = audience(config, notify=meters.stage)
        stack.callback(mailchimp.close)
        chat = webhook(config)
        if chat is not None:
            stack.callback(chat.close)
        return run_once(config, mailchimp, spreadsheet(config, notify=meters.stage), now(),
                        RunOptions(dry_run=dry_run, force=force, full=full),
                        RunHooks(meters=meters, clock=now), announcer=chat)


def webhook(config: Config) -> Webhook | None:
    """The chat that hears of hand-offs (``SYNCBOT_HANDOFF_WEBHOOK``), if one is set."""
    if config.handoff is None or config.handoff.webhook is None:
        return None
    adapter = transport()
    session = _session(adapter) if adapter is not None else None
    return Webhook(config.handoff.webhook, session=session, sleep=lambda s: sleep(s))


def _session(adapter: BaseAdapter) -> requests.Session:
    """A session whose every request goes through ``adapter`` (the sandbox's, in tests)."""
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def spreadsheet(config: Config, *, notify: Callable[[str], None] = lambda message: None
                ) -> Spreadsheet:
    """The spreadsheet as a run sees it; ``notify`` hears of every wait for Google."""
    return Spreadsheet(workbook(config, notify=notify), config.sheets, config.sources.tabs)


def workbook(config: Config, *, notify: Callable[[str], None] = lambda message: None
             ) -> Workbook:
    """The spreadsheet; ``notify`` hears of every wait for Google (say, a network outage)."""
    assert config.secrets is not None, "loaded with require_secrets"
    return Workbook.from_key_file(config.sheets.spreadsheet_id,
                                  config.secrets.google_credentials_path, adapter=transport(),
                                  sleep=lambda s: sleep(s), notify=notify)


def audience(config: Config, *, notify: Callable[[str], None] = lambda message: None
             ) -> MailchimpAudience:
    """The audience; ``notify`` hears of every wait for Mailchimp."""
    assert config.secrets is not None, "loaded with require_secrets"
    adapter = transport()
    session = _session(adapter) if adapter is not None else None
    return MailchimpAudience(config.secrets.mailchimp_api_key, config.mailchimp.list_id,
                             max_connections=config.mailchimp.max_connections, session=session,
                             sleep=lambda s: sleep(s), notify=notify)
