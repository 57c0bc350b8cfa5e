"""Bounded retries with exponential backoff and jitter, honouring ``Retry-After``.

The mechanism is shared; what is retriable, and how many attempts and
seconds a call may take, is each API module's own ``RetryPolicy``. Sleeping
goes through an injectable function so tests never wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
)

TRANSPORT_ERRORS = (requests.exceptions.Timeout, requests.exceptions.ConnectionError)


@dataclass(frozen=True)
class RetryPolicy:
    retry_statuses: frozenset[int]
    attempts: int = 6
    max_seconds: float = 180.0
    base_seconds: float = 1.0
    cap_seconds: float = 32.0


class RetriesExhausted(Exception):
    """The last attempt failed too; carries what happened, never the request's credentials."""

    def __init__(self, attempts: int, last: str) -> None:
        super().__init__(f"{attempts} attempts, last: {last}")
        self.attempts = attempts
        self.last = last


def retry_after_seconds(response: requests.Response) -> float | None:
    """The server's ``Retry-After`` (seconds or an HTTP date), if it sent one."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def describe(outcome: Any) -> str:
    if isinstance(outcome, requests.Response):
        return f"HTTP {outcome.status_code}"
    return type(outcome).__name__


def send_with_retries(send: Callable[[], requests.Response], policy: RetryPolicy, *,
                      sleep: Callable[[float], None] = time.sleep,
                      rng: random.Random | None = None,
                      on_attempt: Callable[[], None] | None = None,
                      transient: tuple[type[BaseException], ...] = ()) -> requests.Response:
    """Call ``send`` until it gives a non-retriable response; raise RetriesExhausted when the
    attempts or the time budget run out. Transport errors (timeouts, resets, and the API's own
    ``transient`` exception types) are retriable."""
    retriable = TRANSPORT_ERRORS + transient
    jitter = rng or random.Random()

    def wait(state: RetryCallState) -> float:
        if state.outcome is not None and not state.outcome.failed:
            hinted = retry_after_seconds(state.outcome.result())
            if hinted is not None:
                return min(hinted, policy.max_seconds)
        backoff = policy.base_seconds * 2 ** (state.attempt_number - 1)
        return min(backoff, policy.cap_seconds) + jitter.uniform(0, policy.base_seconds)

    def attempt() -> requests.Response:
        if on_attempt is not None:
            on_attempt()
        return send()

    def give_up(state: RetryCallState) -> requests.Response:
        assert state.outcome is not None
        last = state.outcome.exception() if state.outcome.failed else state.outcome.result()
        raise RetriesExhausted(state.attempt_number, describe(last))

    retrying = Retrying(
        retry=(retry_if_exception(lambda e: isinstance(e, retriable))
               | retry_if_result(lambda r: r.status_code in policy.retry_statuses)),
        wait=wait,
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.max_seconds),
        sleep=sleep,
        retry_error_callback=give_up,
        reraise=True,
    )
    return retrying(attempt)
