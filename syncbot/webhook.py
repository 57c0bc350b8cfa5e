"""Announcing hand-offs in the team's chat: one POST of ``{"text": …}`` to an incoming
webhook (the shape Slack, Google Chat and Microsoft Teams incoming webhooks accept).

The URL is a secret (whoever has it can post in the channel): it is never printed or
logged. A failure says what happened (``HTTP 500``, ``ConnectionError``), never where, and
urllib3's debug line for the request (``-vv``) has the URL's path replaced by ``***``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from syncbot.config import Secret
from syncbot.errors import SyncbotError
from syncbot.retry import RetriesExhausted, RetryPolicy, describe, send_with_retries

WEBHOOK_RETRY = RetryPolicy(retry_statuses=frozenset({408, 429, 500, 502, 503, 504}),
                            attempts=4, max_seconds=60.0, unreachable_attempts=3)
TIMEOUT = (5.0, 20.0)  # seconds to connect, to answer


class AnnouncementFailed(SyncbotError):
    """The chat did not take the message; the reason names no URL."""


class _HidePath(logging.Filter):
    """Replace a secret path in log records (urllib3 logs ``"POST /services/… HTTP/1.1"``)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self.path and self.path in text:
            record.msg, record.args = text.replace(self.path, "/***"), ()
        return True


class Webhook:
    """The team's incoming webhook."""

    def __init__(self, url: Secret, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = url
        self.session = session or requests.Session()
        self.sleep = sleep
        self.requests = 0
        parts = urlsplit(url.reveal())
        self._hide = _HidePath(parts.path + (f"?{parts.query}" if parts.query else ""))
        logging.getLogger("urllib3.connectionpool").addFilter(self._hide)

    def announce(self, text: str) -> None:
        """Post ``text``; AnnouncementFailed when the chat refuses it or cannot be reached."""
        def send() -> requests.Response:
            self.requests += 1
            return self.session.post(self._url.reveal(), json={"text": text}, timeout=TIMEOUT)

        try:
            response = send_with_retries(send, WEBHOOK_RETRY, sleep=self.sleep)
        except RetriesExhausted as exc:
            raise AnnouncementFailed(f"{exc.last}, {exc.attempts}×") from None
        except requests.RequestException as exc:  # not retriable (an invalid URL, say)
            raise AnnouncementFailed(describe(exc)) from None
        if not 200 <= response.status_code < 300:
            raise AnnouncementFailed(describe(response))

    def close(self) -> None:
        logging.getLogger("urllib3.connectionpool").removeFilter(self._hide)
        self.session.close()
