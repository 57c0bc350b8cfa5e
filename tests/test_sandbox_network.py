"""Latency, faults and connection limits, and the three ways of reaching the sandbox."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import gspread
import mailchimp_marketing
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from syncbot.sandbox import Faults, Sandbox
from syncbot.sandbox.http import FaultReset, Host, Request
from syncbot.sandbox.mailchimp import MailchimpEmulator
from syncbot.sandbox.server import LoopbackAdapter, serve
from tests.conftest import LIST_ID, SHEET_ID, authorized_session


def client_over(session: requests.Session, api_key: str) -> mailchimp_marketing.Client:
    """The official client with its per-call connections replaced by ``session``."""
    client = mailchimp_marketing.Client({"api_key": api_key})

    def request(method, url, query_params=None, headers=None, body=None):
        data = json.dumps(body) if method in ("POST", "PUT", "PATCH") else None
        return session.request(method, url, params=query_params, headers=headers, data=data,
                               auth=("user", api_key), timeout=(5, 30))

    client.api_client.request = request
    return client


def test_faults_are_seeded_and_deterministic():
    def draws(seed):
        faults = Faults(rate=0.3, seed=seed)
        return [faults.draw() for _ in range(200)]

    assert draws(4) == draws(4)
    assert draws(4) != draws(5)
    kinds = {k for k in draws(4) if k}
    assert kinds == {"429", "500", "503", "timeout", "reset"}
    assert 40 <= sum(1 for k in draws(4) if k) <= 80
    with pytest.raises(ValueError):
        Faults(kinds=("418",))


@pytest.mark.parametrize(("kind", "expected"), [
    ("429", 429), ("500", 500), ("503", 503),
    ("timeout", requests.exceptions.ReadTimeout),
    ("reset", requests.exceptions.ConnectionError)])
def test_each_fault_kind_reaches_the_client_as_the_real_thing(sandbox, mailchimp, kind, expected):
    sandbox.mailchimp_host.faults.queue(kind)
    with pytest.raises(ApiClientError) as failed:
        mailchimp.ping.get()
    if isinstance(expected, int):
        assert failed.value.status_code == expected
    else:  # the client wraps transport errors without a status
        assert failed.value.status_code is None and isinstance(failed.value.text, expected)
    assert mailchimp.ping.get()["health_status"]  # the next call is fine
    assert sandbox.mailchimp_host.faults.injected == [kind]


def test_a_timeout_loses_the_reply_but_the_write_happened(sandbox, mailchimp):
    sandbox.mailchimp.add_member(LIST_ID, "a@example.com")
    tag = sandbox.mailchimp.create_segment(LIST_ID, "t")
    sandbox.mailchimp_host.faults.queue("timeout")
    with pytest.raises(ApiClientError):
        mailchimp.lists.batch_segment_members({"members_to_add": ["a@example.com"]},
                                              LIST_ID, tag.id)
    assert sandbox.mailchimp.tag_names(LIST_ID, "a@example.com") == ["t"]


def test_sheets_faults_look_like_google(sandbox, gspread_client):
    sandbox.sheets_host.faults.queue("429", "500")
    with pytest.raises(gspread.exceptions.APIError) as quota:
        gspread_client.open_by_key(SHEET_ID)
    assert quota.value.error["status"] == "RESOURCE_EXHAUSTED"
    with pytest.raises(gspread.exceptions.APIError) as html:
        gspread_client.open_by_key(SHEET_ID)
    assert html.value.code == -1 and html.value.response.status_code == 500  # HTML body


def test_more_than_ten_simultaneous_mailchimp_connections_get_429():
    gate = threading.Barrier(12, timeout=10)
    box = Sandbox(mailchimp_latency=1.0, sleep=lambda _: gate.wait())
    client = mailchimp_marketing.Client({"api_key": box.mailchimp.api_key})
    session = box.session()
    statuses = []

    def ping(_):
        reply = session.get(f"{box.mailchimp.base_url}/ping",
                            auth=("user", box.mailchimp.api_key), timeout=5)
        statuses.append(reply.status_code)
        return reply

    with ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(ping, range(12)))
    assert sorted(statuses) == [200] * 10 + [429] * 2
    rejected = next(r for r in replies if r.status_code == 429)
    assert "10 simultaneous connections" in rejected.json()["detail"]
    assert box.mailchimp_host.peak_in_flight == 12
    assert box.mailchimp_host.rejected_for_connections == 2
    assert client.api_client.host  # the official client needs no change to be pointed here


def test_latency_is_paid_per_request_through_the_sleep_knob():
    slept: list[float] = []
    box = Sandbox(mailchimp_latency=0.1, sheets_latency=0.3, sleep=slept.append)
    client = client_over(box.session(), box.mailchimp.api_key)
    client.ping.get()
    client.ping.get()
    assert slept == [pytest.approx(0.1, abs=0.05)] * 2  # less what answering a ping took


def _timed_host(work: float, **knobs) -> tuple[Host, list[float]]:
    """A Mailchimp host with 0.1 s of latency whose emulator takes ``work`` seconds on a
    clock that only the emulator moves; and what the host slept."""
    slept: list[float] = []
    ticks = iter([50.0, 50.0 + work])  # read when a request arrives, then once it is answered
    host = Host(MailchimpEmulator(), latency=0.1, sleep=slept.append,
                clock=lambda: next(ticks), **knobs)
    return host, slept


def _ping(host: Host) -> int:
    key = host.emulator.api_key
    credentials = base64.b64encode(f"user:{key}".encode()).decode()
    dc = key.rsplit("-", 1)[-1]
    request = Request.from_url("GET", f"https://{dc}.api.mailchimp.com/3.0/ping",
                               [("Authorization", f"Basic {credentials}"),
                                ("host", f"{dc}.api.mailchimp.com")], b"")
    return host.serve(request).status


@pytest.mark.parametrize(("work", "rest"), [(0.03, 0.07), (0.0, 0.1), (0.1, None), (0.4, None)])
def test_the_emulators_own_work_is_part_of_the_latency(work, rest):
    """A real service's response time includes its own work: the host sleeps what is left."""
    host, slept = _timed_host(work)
    assert _ping(host) == 200
    assert slept == ([] if rest is None else [pytest.approx(rest)])


def test_latency_on_top_waits_it_all_whatever_the_work():
    host, slept = _timed_host(0.4, latency_on_top=True)
    assert _ping(host) == 200
    assert slept == [0.1]


def test_a_reset_connection_still_takes_the_latency():
    host, slept = _timed_host(0.0, faults=Faults(rate=0.0))
    host.faults.queue("reset")
    with pytest.raises(FaultReset):
        _ping(host)
    assert slept == [pytest.approx(0.1)] and host.in_flight == 0


def test_mounted_adapter_serves_both_clients_without_responses():
    box = Sandbox()
    box.mailchimp.add_audience(LIST_ID)
    box.mailchimp.add_member(LIST_ID, "Ana@Example.com")
    client = client_over(box.session(), box.mailchimp.api_key)
    assert client.lists.get_list_members_info(LIST_ID)["total_items"] == 1
    info = box.google.service_account()
    box.sheets.create(SHEET_ID, editors=(info["client_email"],), tabs=("Leads",))
    sheets = gspread.Client(auth=None, session=authorized_session(box, info))
    sheets.open_by_key(SHEET_ID).worksheet("Leads").update([["hola"]], "A1")
    assert box.sheets.values(SHEET_ID, "Leads") == [["hola"]]
    assert box.google_host.count("POST", "/token") == 1


def test_loopback_server_serves_real_sockets_with_keep_alive():
    box = Sandbox()
    box.mailchimp.add_audience(LIST_ID)
    for i in range(25):
        box.mailchimp.add_member(LIST_ID, f"u{i}@example.com")
    info = box.google.service_account()
    box.sheets.create(SHEET_ID, editors=(info["client_email"],), tabs=("Leads",))
    server = serve(box)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        session = requests.Session()
        session.mount("https://", LoopbackAdapter(server.server_address[1]))
        client = client_over(session, box.mailchimp.api_key)
        for offset in (0, 10, 20):
            client.lists.get_list_members_info(LIST_ID, offset=offset)
        from google.auth.transport.requests import AuthorizedSession
        from google.auth.transport.requests import Request as GoogleRequest
        from google.oauth2.service_account import Credentials

        creds = Credentials.from_service_account_info(info, scopes=["https://www.googleapis.com/auth/spreadsheets"])
        authed = AuthorizedSession(creds, auth_request=GoogleRequest(session))
        authed.mount("https://", LoopbackAdapter(server.server_address[1]))
        gspread.Client(auth=None, session=authed).open_by_key(SHEET_ID)
        stats = session.get(f"http://127.0.0.1:{server.server_address[1]}/_sandbox/stats",
                            timeout=5).json()
        assert stats["mailchimp"]["requests"] == 3 and stats["sheets"]["requests"] == 1
        pool = next(iter(session.get_adapter("https://").poolmanager.pools._container.values()))
        assert pool.num_connections == 1  # three Mailchimp calls, one connection
    finally:
        server.shutdown()
        server.server_close()


def test_server_runs_in_its_own_process(tmp_path):
    key_file = tmp_path / "sa.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncbot.sandbox.server", "--members", "50", "--campaigns", "2",
         "--key-file", str(key_file)], stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        session = requests.Session()
        session.mount("https://", LoopbackAdapter(ready["port"]))
        client = client_over(session, ready["api_key"])
        assert client.lists.get_list_members_info(ready["list_id"])["total_items"] == 50
        assert json.loads(key_file.read_text())["type"] == "service_account"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
