"""Everything syncbot reads from and writes to the spreadsheet, through gspread.

This module owns the Sheets transport: a service-account ``AuthorizedSession``
with a connection pool and explicit timeouts (gspread sets none), syncbot's
own bounded retries (``SHEETS_RETRY``; gspread's BackOffHTTPClient retries
forever), a pacer that keeps each kind of request (read, write) under the
per-user quota of 60 a minute, and error mapping. It only uses gspread's
low-level calls, so every request is one we chose: one metadata read, one
``values:batchGet`` for all tabs, structural changes in one
``spreadsheets:batchUpdate``, values in ``values:batchUpdate`` requests of at
most about 2 MB, always with explicit ranges (idempotent when retried).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gspread
import requests
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2.service_account import Credentials
from gspread.exceptions import APIError
from requests.adapters import BaseAdapter, HTTPAdapter

from syncbot.errors import InvalidInputError, SyncbotError
from syncbot.locales import t
from syncbot.retry import (
    RetriesExhausted,
    RetryPolicy,
    Waiting,
    say_waiting,
    send_with_retries,
    unreachable_message,
)
from syncbot.sheets.wire import Encoded, ValueRange, chunk_by_size, wire_json

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
SHEETS_RETRY = RetryPolicy(retry_statuses=frozenset({408, 429, 500, 502, 503, 504}),
                           attempts=7, max_seconds=300.0, cap_seconds=64.0)
TIMEOUT = (10.0, 180.0)  # Sheets gives up on a request after 180 s
REQUESTS_PER_MINUTE = 55  # per user and kind; the quota is 60
CHUNK_BYTES = 2_000_000


CELL_LIMIT = 10_000_000


class SheetsError(SyncbotError):
    """The spreadsheet could not be used for this run (exit code 1)."""


class SheetSetupError(InvalidInputError):
    """The spreadsheet is not set up as syncbot needs (a tab or header missing): exit code 2."""


class Pacer:
    """Waits before a request that would exceed ``per_minute`` requests of its kind in 60 s."""

    def __init__(self, per_minute: int = REQUESTS_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_minute, self.clock, self.sleep = per_minute, clock, sleep
        self._sent: dict[str, deque[float]] = {"read": deque(), "write": deque()}
        self._lock = threading.Lock()
        self.waited = 0.0

    def wait(self, kind: str) -> None:
        with self._lock:
            sent = self._sent[kind]
            now = self.clock()
            while sent and sent[0] <= now - 60:
                sent.popleft()
            if len(sent) >= self.per_minute:
                delay = sent[0] + 60 - now
                self.waited += delay
                self.sleep(delay)
                now = self.clock()
                while sent and sent[0] <= now - 60:
                    sent.popleft()
            sent.append(now)


class PacedHTTPClient(gspread.HTTPClient):
    """gspread's HTTP client with syncbot's pacing, retries and counting."""

    def __init__(self, auth: Any, session: requests.Session, *, pacer: Pacer, policy: RetryPolicy,
                 sleep: Callable[[float], None], timeout: tuple[float, float],
                 on_wait: Callable[[Waiting], None] | None = None) -> None:
        super().__init__(auth, session)
        self.pacer, self.policy, self.sleep, self.on_wait = pacer, policy, sleep, on_wait
        self.timeout = timeout
        self.requests = 0
        self.retries_for_quota = 0
        self._counting = threading.Lock()  # a read may go beside another (tabs.read_spreadsheet)

    def login(self) -> None:  # the AuthorizedSession fetches tokens itself
        pass

    def request(self, method: str, endpoint: str, params: Any = None, data: Any = None,
                json: Any = None, files: Any = None, headers: Any = None) -> requests.Response:
        kind = "read" if method.lower() == "get" else "write"
        if json is not None:  # compact UTF-8, as ``chunk_by_size`` measured it
            data, json = wire_json(json), None
            headers = {**(headers or {}), "Content-Type": "application/json"}

        def send() -> requests.Response:
            self.pacer.wait(kind)
            with self._counting:
                self.requests += 1
            response = self.session.request(method=method, url=endpoint, json=json, params=params,
                                            data=data, files=files, headers=headers,
                                            timeout=self.timeout)
            if response.status_code == 429:
                with self._counting:
                    self.retries_for_quota += 1
            return response

        response = send_with_retries(send, self.policy, sleep=self.sleep, on_wait=self.on_wait,
                                     transient=(TransportError,))
        if response.ok:
            return response
        raise APIError(response)


class Grid(Protocol):
    """The calls the rest of the Sheets package makes: ``Workbook`` over HTTP, or
    ``fake.FakeWorkbook`` in memory."""

    @property
    def requests(self) -> int: ...
    @property
    def time_zone(self) -> str: ...  # the spreadsheet's, as the last ``tabs()`` read it
    @property
    def locale(self) -> str: ...  # the spreadsheet's (``es_ES``), as the last ``tabs()`` read it
    def tabs(self) -> dict[str, Tab]: ...
    def read(self, ranges: Sequence[str]) -> list[list[list[Any]]]: ...
    def change_structure(self, requests_: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]: ...
    def write(self, data: Iterable[ValueRange], meanwhile: Iterable[object] = ...) -> int: ...


@dataclass(frozen=True)
class Tab:
    sheet_id: int
    title: str
    rows: int
    columns: int
    charts: tuple[int, ...] = ()  # the ids of the charts on it


def next_sheet_id(tabs: Mapping[str, Tab]) -> int:
    """An id no tab of ``tabs`` has, for a tab about to be made (the ids are ours to choose)."""
    return max([tab.sheet_id for tab in tabs.values()] + [0]) + 1


_NO_MORE = object()


def _answered(request: Future[Any], meanwhile: Iterator[object]) -> Any:
    """``request``'s answer, taking steps of ``meanwhile`` until it comes (or they run out):
    a step is short, so the next request waits for one at most."""
    while not request.done() and next(meanwhile, _NO_MORE) is not _NO_MORE:
        pass
    return request.result()


class Workbook:
    """One spreadsheet, reached with one service account."""

    def __init__(self, spreadsheet_id: str, credentials: Credentials, *,
                 adapter: BaseAdapter | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 policy: RetryPolicy = SHEETS_RETRY, timeout: tuple[float, float] = TIMEOUT,
                 per_minute: int = REQUESTS_PER_MINUTE,
                 notify: Callable[[str], None] = lambda message: None) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.account = getattr(credentials, "service_account_email", "")
        self._time_zone = "UTC"
        self._locale = ""
        transport = adapter or HTTPAdapter(pool_connections=1, pool_maxsize=4, max_retries=0)
        token_session = requests.Session()
        token_session.mount("https://", transport)
        session = AuthorizedSession(credentials, auth_request=GoogleRequest(token_session))
        session.mount("https://", transport)
        session.mount("http://", transport)
        self.bytes_written = 0  # JSON bytes of value writes (for the benchmarks' lower bound)
        self.http = PacedHTTPClient(credentials, session, pacer=Pacer(per_minute, clock, sleep),
                                    policy=policy, sleep=sleep, timeout=timeout,
                                    on_wait=say_waiting("Google Sheets", notify))

    @classmethod
    def from_key_file(cls, spreadsheet_id: str, path: Path, **options: Any) -> Workbook:
        try:
            credentials = Credentials.from_service_account_file(str(path), scopes=SCOPES)
        except (OSError, ValueError, TypeError) as exc:  # changed since the config was checked
            raise InvalidInputError([t("config.credentials_bad_file", path=path,
                                       reason=type(exc).__name__)]) from None
        return cls(spreadsheet_id, credentials, **options)

    @property
    def requests(self) -> int:
        return self.http.requests

    @property
    def time_zone(self) -> str:
        """The spreadsheet's time zone (File → Settings), in which its dates are written:
        read with the tabs, UTC until then."""
        return self._time_zone

    @property
    def locale(self) -> str:
        """The spreadsheet's locale (File → Settings: ``en_US``, ``es_ES``), read with the tabs."""
        return self._locale

    # ---- errors ---------------------------------------------------------------------------

    def _guard(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except RetriesExhausted as exc:
            if exc.unreachable is not None:
                raise SheetsError(unreachable_message("Google Sheets", exc.unreachable)) from None
            raise SheetsError(t("sheets.retries_exhausted", call=what, attempts=exc.attempts,
                                last=exc.last)) from None
        except RefreshError as exc:
            raise SheetsError(t("sheets.key_rejected", account=self.account,
                                reason=str(exc.args[0] if exc.args else exc)[:200])) from None
        except (requests.exceptions.RequestException, TransportError) as exc:
            raise SheetsError(t("sheets.unreachable", call=what,
                                reason=type(exc).__name__)) from None
        except APIError as exc:
            status = exc.response.status_code
            message = str((exc.error or {}).get("message", ""))[:300]
            if status == 404:
                raise SheetsError(t("sheets.not_found", id=self.spreadsheet_id)) from None
            if status == 403:
                raise SheetsError(t("sheets.not_shared", account=self.account)) from None
            if "above the limit of" in message:
                raise SheetsError(t("sheets.cell_limit")) from None
            raise SheetsError(t("sheets.refused", call=what, status=status,
                                message=message)) from None

    # ---- reads ----------------------------------------------------------------------------

    def tabs(self) -> dict[str, Tab]:
        meta = self._guard("spreadsheet lookup",
                           lambda: self.http.fetch_sheet_metadata(self.spreadsheet_id))
        properties = meta.get("properties") or {}
        self._time_zone = str(properties.get("timeZone") or "UTC")
        self._locale = str(properties.get("locale") or "")
        found = {}
        for sheet in meta.get("sheets", []):
            props = sheet["properties"]
            grid = props.get("gridProperties", {})
            found[props["title"]] = Tab(props["sheetId"], props["title"],
                                        grid.get("rowCount", 0), grid.get("columnCount", 0),
                                        tuple(c["chartId"] for c in sheet.get("charts", [])))
        return found

    def read(self, ranges: Sequence[str]) -> list[list[list[Any]]]:
        """The values of each A1 range (numbers as numbers, dates as serial numbers), one request."""
        params = {"valueRenderOption": "UNFORMATTED_VALUE",
                  "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"}
        answer = self._guard("read", lambda: self.http.values_batch_get(
            self.spreadsheet_id, list(ranges), params=dict(params)))
        return [list(vr.get("values", [])) for vr in answer.get("valueRanges", [])]

    # ---- writes ---------------------------------------------------------------------------

    def _send_values(self, body: Encoded) -> Any:
        """One values:batchUpdate of a body in wire JSON (gspread hands it to ``request``,
        which sends it as it is)."""
        return self._guard("write", lambda: self.http.values_batch_update(
            self.spreadsheet_id, body))  # type: ignore[arg-type]

    def change_structure(self, requests_: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One all-or-nothing ``spreadsheets:batchUpdate``."""
        if not requests_:
            return []
        body = {"requests": list(requests_)}
        answer = self._guard("layout change",
                             lambda: self.http.batch_update(self.spreadsheet_id, body))
        return list(answer.get("replies", []))

    def write(self, data: Iterable[ValueRange], meanwhile: Iterable[object] = ()) -> int:
        """Write ValueRanges RAW (text stays text), in requests of at most ~2 MB; returns how many.
        ``data`` may be a generator: it is consumed one request at a time, in the caller's
        thread, and the next request is made up while the one before is on its way (one at a
        time, so they arrive in order; a failed one stops the rest). Each range is encoded
        once: the request's body is made of the very bytes that were measured.
        ``meanwhile``: small steps of the caller's own work, taken in the caller's thread
        whenever it would otherwise wait for a request's answer (what is left of them is the
        caller's to finish)."""
        sent, steps = 0, iter(meanwhile)
        with ThreadPoolExecutor(1) as sender:
            on_its_way: Future[Any] | None = None
            for chunk, size in chunk_by_size(data, CHUNK_BYTES):
                body = Encoded(b'{"valueInputOption":"RAW","data":[' + b",".join(chunk) + b"]}")
                if on_its_way is not None:
                    _answered(on_its_way, steps)
                self.bytes_written += size
                on_its_way = sender.submit(self._send_values, body)
                sent += 1
            if on_its_way is not None:
                _answered(on_its_way, steps)
        return sent
