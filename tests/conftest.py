"""Shared fixtures: a sandbox reached through `responses`, and the real clients pointed at it."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

import gspread
import mailchimp_marketing
import pytest
import responses
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2.service_account import Credentials

from syncbot.locales import Catalogue
from syncbot.sandbox import Sandbox
from syncbot.sheets.a1 import cell

# Messages follow SYNCBOT_LANG, else the system locale: the suite reads English whatever the
# machine's LANG (a test that wants another language sets it itself).
os.environ["SYNCBOT_LANG"] = "en"

SAY = Catalogue("en")  # the core is given its language and its cell names: English, A1
CELL = cell

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LIST_ID = "a1b2c3d4e5"
SHEET_ID = "1SandboxSpreadsheet0001"
SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]

# SYNCBOT_TESTS=quick: a fast subset (the clone test runs it in a fresh clone; never recursive).
QUICK_MODULES = {"test_sandbox_specs", "test_core_rules", "test_config", "test_docs", "test_text"}


def waits_for(condition, seconds: float = 10.0) -> bool:
    """Whether ``condition()`` came true within ``seconds`` (looked at every 10 ms): for what
    another thread does, never a timing."""
    pause = threading.Event()
    for _ in range(int(seconds * 100)):
        if condition():
            return True
        pause.wait(0.01)
    return condition()


def metadata_waits_for_a_values_read(book) -> None:
    """Make ``book``'s metadata read wait until a values read has been sent: a read of the
    spreadsheet that sends them one after the other fails here instead of waiting."""
    sent = threading.Event()
    read, tabs = book.read, book.tabs

    def reading(ranges):
        sent.set()
        return read(ranges)

    def metadata():
        assert sent.wait(timeout=10), "the tabs were not asked for beside the metadata"
        return tabs()
    book.read, book.tabs = reading, metadata


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SYNCBOT_TESTS") != "quick":
        return
    chosen = [item for item in items if item.module.__name__.rsplit(".", 1)[-1] in QUICK_MODULES]
    config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
    items[:] = chosen


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sheets_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(sleeps: list[float], sheets_clock: FakeClock) -> Sandbox:
    box = Sandbox(sleep=sleeps.append, sheets_clock=sheets_clock)
    box.mailchimp.clock = lambda: NOW
    return box


@pytest.fixture
def rsps(sandbox: Sandbox):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        sandbox.register(mock)
        yield mock


@pytest.fixture
def mailchimp(sandbox: Sandbox, rsps) -> mailchimp_marketing.Client:
    """The official client, unchanged, talking to the sandbox through `responses`."""
    sandbox.mailchimp.add_audience(LIST_ID, "Test audience")
    return mailchimp_marketing.Client({"api_key": sandbox.mailchimp.api_key})


@pytest.fixture
def service_account(sandbox: Sandbox) -> dict[str, str]:
    return sandbox.google.service_account()


@pytest.fixture
def gspread_client(sandbox: Sandbox, rsps, service_account: dict[str, str]) -> gspread.Client:
    """gspread with a real service-account token flow, all answered by the sandbox."""
    sandbox.sheets.create(SHEET_ID, editors=(service_account["client_email"],),
                          tabs=("Leads",))
    creds = Credentials.from_service_account_info(service_account, scopes=SCOPES)
    return gspread.Client(auth=creds)


def authorized_session(sandbox: Sandbox, info: dict[str, str]) -> AuthorizedSession:
    """An AuthorizedSession answered by the sandbox's mounted adapter (no `responses`)."""
    creds = Credentials.from_service_account_info(info, scopes=SCOPES)
    session = AuthorizedSession(creds, auth_request=GoogleRequest(sandbox.session()))
    session.mount("https://", sandbox.session().get_adapter("https://"))
    return session


@pytest.fixture
def world(tmp_path, monkeypatch, capsys):
    """A generated audience and a spreadsheet after `syncbot init`, driven through the
    command line (``tests.test_e2e.World``; test_sheets_adapter has a world of its own)."""
    from tests.test_e2e import World

    w = World(tmp_path, monkeypatch)
    assert w.run(capsys, "init")[0] == 0
    return w
