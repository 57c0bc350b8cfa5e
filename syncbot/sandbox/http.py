"""Transport-neutral HTTP for the emulators: requests, responses, routes, faults.

An emulator is a plain object that turns a ``Request`` into a ``Response``.
``Host`` wraps one emulator with what the network adds (latency, injected
faults, a limit on simultaneous connections) so that the ``responses``
callbacks, the mounted ``requests`` adapter and the loopback HTTP server all
behave the same.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FAULT_KINDS = ("429", "500", "503", "timeout", "reset")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # percent-decoded path, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    @classmethod
    def from_url(cls, method: str, url: str, headers: Iterable[tuple[str, str]],
                 body: bytes | str | None) -> Request:
        parts = urlsplit(url)
        if isinstance(body, str):
            body = body.encode("utf-8")
        lowered = {k.lower(): v for k, v in headers}
        lowered.setdefault("host", parts.hostname or "")
        return cls(
            method=method.upper(),
            path=unquote(parts.path),
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=lowered,
            body=body or b"",
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, payload: Any, content_type: str = "application/json; charset=utf-8",
             headers: dict[str, str] | None = None) -> Response:
        return cls.json_text(status, json.dumps(payload, ensure_ascii=False), content_type,
                             headers)

    @classmethod
    def json_text(cls, status: int, text: str,
                  content_type: str = "application/json; charset=utf-8",
                  headers: dict[str, str] | None = None) -> Response:
        """A JSON answer already written as text (an emulator that puts it together from
        pieces it keeps or writes one at a time)."""
        return cls(status, {"Content-Type": content_type, **(headers or {})}, text.encode("utf-8"))


class HttpError(Exception):
    """Raised inside an emulator to answer with an error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    """One served endpoint; ``params`` are the query parameters it honours (checked against the specs)."""

    method: str
    template: str  # as in the API's spec, e.g. /lists/{list_id}/members
    params: tuple[str, ...]
    handler: Handler
    pattern: re.Pattern[str]


class Router:
    """Regex routes generated from spec-style path templates."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def add(self, method: str, template: str, params: Iterable[str], handler: Handler) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+?)", re.escape(self.prefix + template))
        self.routes.append(Route(method, template, tuple(params), handler,
                                 re.compile(f"^{regex}/?$")))

    def dispatch(self, request: Request, not_found: Callable[[Request], Response]) -> Response:
        for route in self.routes:
            match = route.pattern.match(request.path)
            if match and route.method == request.method:
                try:
                    return route.handler(request, **match.groupdict())
                except HttpError as exc:
                    return exc.response
        return not_found(request)


class Emulator:
    """What a Host serves: turns requests into responses and names its own fault replies."""

    hostnames: tuple[str, ...] = ()

    def handle(self, request: Request) -> Response:  # pragma: no cover - interface
        raise NotImplementedError

    def fault_response(self, kind: str) -> Response:
        return Response.json(int(kind), {"error": kind})

    def too_many_connections(self) -> Response:
        return Response.json(429, {"error": "too many connections"})


class FaultTimeout(Exception):
    """The client should see a read timeout."""


class FaultReset(Exception):
    """The client should see the connection reset."""


class FaultUnreachable(Exception):
    """The client should see the host unreachable: ``kind`` is "name" (the name does not
    resolve: no DNS, no network) or "refused" (nothing listens there, or a firewall says no)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class Faults:
    """Seeded, deterministic fault injection.

    ``rate`` of requests fail with one of ``kinds``; ``script`` is a queue of
    faults (or ``None`` for "let it through") used before the random draw, so a
    test can say exactly "503, 503, then fine". A ``timeout`` is injected
    *after* the emulator applied the request (the reply is lost, like a real
    timeout on a slow write); the other kinds fail before anything is applied.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    retry_after: float | None = None  # seconds sent as Retry-After with injected 429 and 503
    script: deque[str | None] = field(default_factory=deque)
    injected: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {FAULT_KINDS}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def queue(self, *kinds: str | None) -> None:
        self.script.extend(kinds)

    def draw(self) -> str | None:
        with self._lock:
            if self.script:
                kind = self.script.popleft()
            elif self.rate and self._rng.random() < self.rate:
                kind = self._rng.choice(self.kinds)
            else:
                kind = None
            if kind:
                self.injected.append(kind)
            return kind


class Host:
    """One emulator as the network sees it: latency, faults, simultaneous-connection limit.

    ``latency`` is how long every answer takes, the emulator's own work included, as a
    real service's response time includes its own: the host waits out what the work left
    of it. With ``latency_on_top`` it waits the whole latency and then works, so an answer
    takes the latency plus the work (how the benchmarks measured until 2026-12-03; kept to
    compare with those figures)."""

    def __init__(self, emulator: Emulator, *, latency: float = 0.0,
                 faults: Faults | None = None, max_connections: int | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 latency_on_top: bool = False) -> None:
        self.emulator = emulator
        self.latency = latency
        self.latency_on_top = latency_on_top
        self.clock = clock
        self.faults = faults or Faults()
        self.max_connections = max_connections
        self.sleep = sleep
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.rejected_for_connections = 0
        self.log: list[tuple[str, str]] = []  # (method, path) of every request served
        self.offline: str | None = None  # "name" or "refused": the network cannot reach it
        self.unreachable_attempts = 0
        self._lock = threading.Lock()

    def serve(self, request: Request) -> Response:
        if self.offline:
            with self._lock:
                self.unreachable_attempts += 1
            raise FaultUnreachable(self.offline)
        with self._lock:
            self.requests += 1
            self.log.append((request.method, request.path))
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            over = self.max_connections is not None and self.in_flight > self.max_connections
            if over:
                self.rejected_for_connections += 1
        started = self.clock()
        try:
            if self.latency and self.latency_on_top:
                self.sleep(self.latency)
            return self._answer(request, over)
        finally:
            self._wait_out(started)  # nothing is left of it when it went on top
            with self._lock:
                self.in_flight -= 1

    def _wait_out(self, started: float) -> None:
        """Sleep what the emulator's work (and a latency slept on top) left of the latency:
        nothing when that took as long, or there is none."""
        rest = self.latency - (self.clock() - started)
        if rest > 0:
            self.sleep(rest)

    def _answer(self, request: Request, over: bool) -> Response:
        """The emulator's answer, or the fault drawn for this request."""
        if over:
            return self.emulator.too_many_connections()
        kind = self.faults.draw()
        if kind == "reset":
            raise FaultReset()
        if kind in ("429", "500", "503"):
            response = self.emulator.fault_response(kind)
            if self.faults.retry_after is not None and kind != "500":
                response.headers["Retry-After"] = f"{self.faults.retry_after:g}"
            return response
        try:
            response = self.emulator.handle(request)
        except HttpError as exc:
            response = exc.response
        if kind == "timeout":
            raise FaultTimeout()
        return response

    def count(self, method: str | None = None, pattern: str = "") -> int:
        """How many served requests match ``method`` and contain ``pattern`` in the path."""
        return sum(1 for m, p in list(self.log)
                   if (method is None or m == method) and pattern in p)
