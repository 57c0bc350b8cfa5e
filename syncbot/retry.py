"""Bounded retries with exponential backoff and jitter, honouring ``Retry-After``.

The mechanism is shared; what is retriable, and how many attempts and
seconds a call may take, is each API module's own ``RetryPolicy``. Sleeping
goes through an injectable function so tests never wait.

A host that cannot be reached at all (its name does not resolve, or it
refuses the connection) is not a busy API: such failures get a short budget
of their own (``unreachable_attempts``, about ten seconds of waiting), and the
caller learns which host it was (``RetriesExhausted.unreachable``), so the
message can say "check the network" instead of "try again later".
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
)
from tenacity.stop import stop_base
from urllib3.exceptions import NameResolutionError, NewConnectionError

from syncbot.locales import t

TRANSPORT_ERRORS = (requests.exceptions.Timeout, requests.exceptions.ConnectionError)


@dataclass(frozen=True)
class RetryPolicy:
    retry_statuses: frozenset[int]
    attempts: int = 6
    max_seconds: float = 180.0
    base_seconds: float = 1.0
    cap_seconds: float = 32.0
    unreachable_attempts: int = 4  # waits of about 1 + 2 + 4 s, plus jitter


@dataclass(frozen=True)
class Unreachable:
    """A host that could not be reached at all: ``reason`` is "name" (it does not resolve)
    or "refused" (nothing accepts connections there)."""

    host: str
    reason: str


class RetriesExhausted(Exception):
    """The last attempt failed too; carries what happened, never the request's credentials."""

    def __init__(self, attempts: int, last: str, unreachable: Unreachable | None = None) -> None:
        super().__init__(f"{attempts} attempts, last: {last}")
        self.attempts = attempts
        self.last = last
        self.unreachable = unreachable


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it wraps (causes, contexts, exception arguments, and
    urllib3's ``MaxRetryError.reason``), each once."""
    found: list[BaseException] = []
    stack = [error]
    while stack:
        current = stack.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None),
                   *current.args]
        stack.extend(e for e in wrapped if isinstance(e, BaseException))
    return found


def unreachable(error: BaseException) -> Unreachable | None:
    """The host ``error`` says cannot be reached at all, or None for anything else (timeouts,
    dropped connections and HTTP errors are worth the longer budget)."""
    causes = _causes(error)
    reason = None
    for cause in causes:
        if isinstance(cause, NameResolutionError | socket.gaierror):
            reason = "name"
            break
        if isinstance(cause, ConnectionRefusedError) or (
                isinstance(cause, NewConnectionError) and "refused" in str(cause).lower()):
            reason = "refused"
    if reason is None:
        return None
    host = ""
    for cause in causes:
        request = getattr(cause, "request", None)
        if isinstance(cause, requests.RequestException) and request is not None and request.url:
            host = urlsplit(request.url).hostname or ""
            break
        conn_host = getattr(getattr(cause, "conn", None), "host", None)
        if isinstance(conn_host, str) and conn_host:
            host = conn_host
    return Unreachable(host, reason)


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


@dataclass(frozen=True)
class Waiting:
    """What a caller is told before each pause: the last failure, the pause, the attempt."""

    last: str
    seconds: float
    attempt: int
    attempts: int
    unreachable: Unreachable | None


def _last_failure(state: RetryCallState) -> Any:
    assert state.outcome is not None
    return state.outcome.exception() if state.outcome.failed else state.outcome.result()


def _failed_to_reach(state: RetryCallState) -> Unreachable | None:
    last = _last_failure(state)
    return unreachable(last) if isinstance(last, BaseException) else None


class _ShortBudgetSpent(stop_base):
    """Stop once an unreachable host has had its short budget of attempts."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts

    def __call__(self, state: RetryCallState) -> bool:
        return state.attempt_number >= self.attempts and _failed_to_reach(state) is not None


def send_with_retries(send: Callable[[], requests.Response], policy: RetryPolicy, *,
                      sleep: Callable[[float], None] = time.sleep,
                      rng: random.Random | None = None,
                      on_attempt: Callable[[], None] | None = None,
                      on_wait: Callable[[Waiting], None] | None = None,
                      transient: tuple[type[BaseException], ...] = ()) -> requests.Response:
    """Call ``send`` until it gives a non-retriable response; raise RetriesExhausted when the
    attempts or the time budget run out (or, for an unreachable host, its short budget).
    Transport errors (timeouts, resets, and the API's own ``transient`` exception types) are
    retriable; ``on_wait`` hears of every pause before it starts."""
    retriable = TRANSPORT_ERRORS + transient
    jitter = rng or random.Random()

    def wait(state: RetryCallState) -> float:
        if state.outcome is not None and not state.outcome.failed:
            hinted = retry_after_seconds(state.outcome.result())
            if hinted is not None:
                return min(hinted, policy.max_seconds)
        backoff = policy.base_seconds * 2 ** (state.attempt_number - 1)
        return min(backoff, policy.cap_seconds) + jitter.uniform(0, policy.base_seconds)

    def pause(state: RetryCallState) -> None:
        if on_wait is not None:
            assert state.next_action is not None
            on_wait(Waiting(describe(_last_failure(state)), state.next_action.sleep,
                            state.attempt_number + 1, policy.attempts, _failed_to_reach(state)))

    def attempt() -> requests.Response:
        if on_attempt is not None:
            on_attempt()
        return send()

    def give_up(state: RetryCallState) -> requests.Response:
        raise RetriesExhausted(state.attempt_number, describe(_last_failure(state)),
                               _failed_to_reach(state))

    retrying = Retrying(
        retry=(retry_if_exception(lambda e: isinstance(e, retriable))
               | retry_if_result(lambda r: r.status_code in policy.retry_statuses)),
        wait=wait,
        stop=stop_any(stop_after_attempt(policy.attempts), stop_after_delay(policy.max_seconds),
                      _ShortBudgetSpent(policy.unreachable_attempts)),
        sleep=sleep,
        before_sleep=pause,
        retry_error_callback=give_up,
        reraise=True,
    )
    return retrying(attempt)


WHY_UNREACHABLE = {"name": "network.why_name", "refused": "network.why_refused"}


def say_waiting(service: str, notify: Callable[[str], None]) -> Callable[[Waiting], None]:
    """An ``on_wait`` that tells the user, in words, which service is being waited for."""

    def tell(waiting: Waiting) -> None:
        if waiting.unreachable is not None:
            notify(t("network.waiting_unreachable", service=service,
                     host=waiting.unreachable.host,
                     why=t(WHY_UNREACHABLE[waiting.unreachable.reason]),
                     seconds=waiting.seconds))
        else:
            notify(t("network.waiting", service=service, last=waiting.last,
                     seconds=waiting.seconds, attempt=waiting.attempt, attempts=waiting.attempts))

    return tell


def unreachable_message(service: str, where: Unreachable) -> str:
    return t("network.unreachable", service=service, host=where.host,
             why=t(WHY_UNREACHABLE[where.reason]))
