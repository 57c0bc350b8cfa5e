"""The sandbox over loopback HTTP, in its own process (for benchmarks).

Every emulated host is served under a path prefix naming it:
``http://127.0.0.1:PORT/us21.api.mailchimp.com/3.0/ping`` is what
``https://us21.api.mailchimp.com/3.0/ping`` means. ``LoopbackAdapter``
rewrites a client's URLs that way while keeping real pooled connections, so
the measured process sees real sockets, keep-alive and latency.

Run ``python -m syncbot.sandbox.server --members 10000 --campaigns 12``; it
prints one JSON line (port, api key, list id, spreadsheet id, key file) and
serves until stopped. ``GET /_sandbox/stats`` returns request counts;
``POST /_sandbox/activity`` adds opens and clicks, ``POST /_sandbox/orders`` a
shop's new orders and refunds, ``POST /_sandbox/team``
plays the team editing its spreadsheet (``team_edits``), ``POST /_sandbox/clock``
sets the emulated time (``{"now": ISO}``) and ``POST /_sandbox/hours`` plays
some hours of an audience's life up to it (``hours_pass``).
A ``timeout`` fault holds the reply for ``--hold`` seconds and then closes the
connection; a ``reset`` fault closes it at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from syncbot.sandbox import Sandbox
from syncbot.sandbox.generator import PRODUCTS
from syncbot.sandbox.http import FaultReset, Faults, FaultTimeout, FaultUnreachable, Host, Request
from syncbot.sandbox.sheets import to_serial
from syncbot.sandbox.transport import _host_for


class LoopbackAdapter(HTTPAdapter):
    """A pooled HTTP adapter that sends ``https://HOST/path`` to ``http://127.0.0.1:PORT/HOST/path``."""

    def __init__(self, port: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = f"http://127.0.0.1:{port}"

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
             ) -> requests.Response:
        parts = urlsplit(request.url or "")
        if parts.hostname and parts.hostname != "127.0.0.1":
            request.url = f"{self.base}/{parts.hostname}{parts.path}" + (
                f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


def make_handler(sandbox: Sandbox, hold: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else each small reply waits ~40 ms for a delayed ACK

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/_sandbox/stats"):
                self._send(200, {"Content-Type": "application/json"}, json.dumps(stats(sandbox))
                           .encode())
                return
            if self.path.startswith("/_sandbox/team"):
                edited = team_edits(sandbox, **json.loads(body or b"{}"))
                self._send(200, {"Content-Type": "application/json"}, json.dumps(edited).encode())
                return
            if self.path.startswith("/_sandbox/orders"):
                changed = shop_day(sandbox, **json.loads(body or b"{}"))
                self._send(200, {"Content-Type": "application/json"}, json.dumps(changed).encode())
                return
            if self.path.startswith("/_sandbox/clock"):
                moment = datetime.fromisoformat(json.loads(body)["now"])
                sandbox.mailchimp.clock = lambda: moment
                self._send(200, {"Content-Type": "application/json"}, b"{}")
                return
            if self.path.startswith("/_sandbox/hours"):
                played = hours_pass(sandbox, **json.loads(body or b"{}"))
                self._send(200, {"Content-Type": "application/json"}, json.dumps(played).encode())
                return
            if self.path.startswith("/_sandbox/activity"):
                fraction = float(json.loads(body or b"{}").get("fraction", 0.01))
                added = add_activity(sandbox, fraction)
                self._send(200, {"Content-Type": "application/json"},
                           json.dumps({"members": added}).encode())
                return
            _, hostname, rest = self.path.split("/", 2) if self.path.count("/") >= 2 \
                else ("", "", "")
            host: Host | None = _host_for(sandbox.hosts, f"https://{hostname}/")
            if host is None:
                self._send(404, {"Content-Type": "text/plain"}, b"no such emulated host")
                return
            headers = [(k, v) for k, v in self.headers.items() if k.lower() != "host"]
            headers.append(("host", hostname))
            request = Request.from_url(self.command, f"https://{hostname}/{rest}", headers, body)
            try:
                answer = host.serve(request)
            except FaultTimeout:
                time.sleep(hold)
                self.close_connection = True
                return
            except (FaultReset, FaultUnreachable):  # as near as a live socket can come
                self.close_connection = True
                return
            self._send(answer.status, answer.headers, answer.body)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    return Handler


def stats(sandbox: Sandbox) -> dict[str, Any]:
    """Request counts, and what a benchmark needs to compute its lower bound."""
    mc = sandbox.mailchimp
    hosts = {name: {"requests": host.requests, "peak_in_flight": host.peak_in_flight,
                    "rejected_for_connections": host.rejected_for_connections}
             for name, host in (("mailchimp", sandbox.mailchimp_host),
                                ("sheets", sandbox.sheets_host), ("google", sandbox.google_host))}
    with mc._lock:
        campaigns = {c.id: {"recipients": len(c.recipients), "send_time": c.send_time,
                            "last_event": max((e.timestamp for ev in c.activity.values()
                                               for e in ev), default="")}
                     for c in mc.campaigns.values()}
        segments = {s.name: len(s.members) for a in mc.audiences.values()
                    for s in a.segments.values() if s.type == "static"}
        members = sum(len(a.members) for a in mc.audiences.values())
        orders = mc.shop.order_count()
    shop_requests = {"stores": sandbox.mailchimp_host.count("GET", "/ecommerce/stores"),
                     "orders": sandbox.mailchimp_host.count("GET", "/ecommerce/orders")}
    return hosts | {"sheets_quota_hits": sandbox.sheets.quota_hits,
                    "cells_written": sandbox.sheets.cells_written,
                    "cells_changed": sandbox.sheets.cells_changed, "campaigns": campaigns,
                    "tags": segments, "members": members, "orders": orders,
                    "shop_requests": shop_requests}


def shop_day(sandbox: Sandbox, *, new: int = 0, refunds: int = 0, seed: int = 7
             ) -> dict[str, int]:
    """A shop's day between syncs, for the benchmarks: ``new`` orders now from members of the
    audience, and ``refunds`` refunded orders among the existing ones."""
    import random

    mc, rng = sandbox.mailchimp, random.Random(seed + new + refunds)
    now = mc.clock()
    with mc._lock:
        store = next(iter(mc.shop.stores.values()))
        emails = [m.email_address for a in mc.audiences.values() for m in a.members.values()]
        for number in range(new):
            mc.shop.add_order(store.id, f"day-{seed}-{number}", rng.choice(emails), now,
                              rng.uniform(15, 250), products=[rng.choice(PRODUCTS)])
        for order_id in rng.sample(list(store.orders), min(refunds, len(store.orders))):
            mc.shop.update_order(store.id, order_id, financial_status="refunded")
    return {"orders": mc.shop.order_count()}


OPEN_SHARE, CLICK_SHARE = 0.3, 0.25  # of a campaign's recipients who open; of openers who click
OPEN_HOURS = 18.0  # a campaign's opens fade with this time constant (nearly all within 72 h)


def hours_pass(sandbox: Sandbox, *, hours: float, send: bool = False, profiles: float = 0.001,
               orders_a_day: int = 0, seed: int = 11) -> dict[str, int]:
    """``hours`` of an audience's life up to the emulated now, for the cadence benchmark: a
    new campaign to every subscribed member if ``send``; opens on each campaign of the last
    72 hours as its share of ``OPEN_SHARE`` fades over those hours (``CLICK_SHARE`` of the
    openers click too), at random times within the hours; ``profiles`` (a fraction a day) of
    the members change their job title; ``orders_a_day`` orders a day, a fifth as many
    refunds."""
    import math
    import random

    mc, rng = sandbox.mailchimp, random.Random(seed)
    now = mc.clock()
    start = now - timedelta(hours=hours)
    played = {"campaigns": 0, "opens": 0, "clicks": 0, "profiles": 0}
    with mc.changing():
        audience = next(iter(mc.audiences.values()))
        subscribed = [m.email_address for m in audience.members.values()
                      if m.status == "subscribed"]
        if send:
            mc.add_campaign(audience.id, start, f"Newsletter {seed}", recipients=subscribed)
            played["campaigns"] += 1
        for campaign in list(mc.campaigns.values()):
            sent = datetime.fromisoformat(campaign.send_time)
            if not start - timedelta(hours=72) < sent <= now:
                continue
            age = [max(0.0, (moment - sent).total_seconds() / 3600) for moment in (start, now)]
            share = OPEN_SHARE * (math.exp(-age[0] / OPEN_HOURS) - math.exp(-age[1] / OPEN_HOURS))
            first = max(start, sent)
            for key in rng.sample(campaign.recipients, int(len(campaign.recipients) * share)):
                member = audience.members.get(key)
                if member is None:
                    continue
                moment = first + (now - first) * rng.random()
                mc.add_event(campaign.id, member.email_address, "open", moment)
                played["opens"] += 1
                if rng.random() < CLICK_SHARE:
                    mc.add_event(campaign.id, member.email_address, "click", moment,
                                 "https://shop.example.com/pricing")
                    played["clicks"] += 1
        for email in rng.sample(subscribed, int(len(subscribed) * profiles * hours / 24)):
            mc.update_member(audience.id, email,
                             merge_fields={"JOBTITLE": rng.choice(["CEO", "Director", "Analyst"])})
            played["profiles"] += 1
    new = round(orders_a_day * hours / 24)
    if new:
        played |= shop_day(sandbox, new=new, refunds=new // 5, seed=seed)
    return played


def add_activity(sandbox: Sandbox, fraction: float, seed: int = 99) -> int:
    """New opens and clicks now, on the newest campaign, for ``fraction`` of its recipients."""
    import random

    mc = sandbox.mailchimp
    now = mc.clock()
    with mc._lock:
        newest = max(mc.campaigns.values(), key=lambda c: c.send_time)
        audience = mc.audiences[newest.list_id]
        rng = random.Random(seed)
        chosen = rng.sample(newest.recipients, max(1, int(len(newest.recipients) * fraction)))
        for key in chosen:
            email = audience.members[key].email_address if key in audience.members else None
            if email:
                mc.add_event(newest.id, email, "open", now)
                mc.add_event(newest.id, email, "click", now, "https://shop.example.com/pricing")
    return len(chosen)


FORM_TAB = "Form responses 1"
FORM_HEADER = ["Timestamp", "Email Address", "Which product?"]
TEAM_COLUMNS = ("Demo requested", "Budget")


def team_edits(sandbox: Sandbox, *, spreadsheet_id: str, form_rows: int = 0,
               tick: float = 0.0, budget: float = 0.0, seed: int = 5) -> dict[str, int]:
    """What a marketing team does to its spreadsheet between syncs, for the benchmarks: adds
    ``form_rows`` answers to the "Form responses 1" tab (created with its header if missing;
    about one in a hundred with no usable address), ticks "Demo requested" for a ``tick``
    fraction of the Leads rows and sets "Budget" on a ``budget`` fraction (both columns
    found by header, added at the right when missing). Dates are serial numbers, boxes
    booleans, as Google stores them."""
    import random

    rng = random.Random(seed + form_rows)
    now = to_serial(sandbox.mailchimp.clock())
    sheets = sandbox.sheets
    with sheets._lock:
        book = sheets.spreadsheets[spreadsheet_id]
        form = book.sheet(FORM_TAB) or sheets.add_tab(spreadsheet_id, FORM_TAB, [FORM_HEADER])
        audience = next(iter(sandbox.mailchimp.audiences.values()))
        emails = [m.email_address for m in audience.members.values()]
        for _ in range(form_rows):
            address = rng.choice(emails) if rng.random() > 0.01 else "no address"
            form.rows.append([now - rng.uniform(0, 60), address.upper() if rng.random() < 0.1
                              else address, rng.choice(["CRM", "Shop", "Both"])])
        form.row_count = max(form.row_count, len(form.rows) + 100)
        leads = book.sheet("Leads")
        changed = 0
        if leads is not None and leads.rows:
            header = leads.rows[0]
            for name in TEAM_COLUMNS:
                if name not in header:
                    header.append(name)
            leads.column_count = max(leads.column_count, len(header))
            demo, money = header.index(TEAM_COLUMNS[0]), header.index(TEAM_COLUMNS[1])
            for row in leads.rows[1:]:
                for column, fraction, value in ((demo, tick, True),
                                                (money, budget, rng.randrange(500, 50_000))):
                    if fraction and rng.random() < fraction:
                        row.extend([None] * (column + 1 - len(row)))
                        row[column] = value
                        changed += 1
    return {"form_rows": len(form.rows) - 1, "team_cells_changed": changed}


def serve(sandbox: Sandbox, port: int = 0, hold: float = 5.0) -> ThreadingHTTPServer:
    """A started-but-not-running server (call ``serve_forever``, e.g. in a thread)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(sandbox, hold))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    from syncbot.sandbox.generator import generate_audience, generate_orders

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--campaigns", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mailchimp-latency", type=float, default=0.0)
    parser.add_argument("--sheets-latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--hold", type=float, default=5.0)
    parser.add_argument("--spreadsheet-id", default="1SandboxSpreadsheet0001")
    parser.add_argument("--key-file", default="sandbox-service-account.json")
    parser.add_argument("--orders", type=int, default=0,
                        help="Orders of a connected store, over the last 400 days.")
    parser.add_argument("--quota", type=int, default=60,
                        help="Sheets requests per minute per user before 429 (Google's is 60).")
    parser.add_argument("--latency-on-top", action="store_true",
                        help="Wait the whole latency, then answer: a request takes the latency "
                             "plus the emulator's own work (default: the work is part of it).")
    args = parser.parse_args(argv)

    sandbox = Sandbox(mailchimp_latency=args.mailchimp_latency,
                      sheets_latency=args.sheets_latency, latency_on_top=args.latency_on_top,
                      mailchimp_faults=Faults(rate=args.fault_rate, seed=args.seed),
                      sheets_faults=Faults(rate=args.fault_rate, seed=args.seed + 1))
    sandbox.sheets.quota_per_minute = args.quota
    sandbox.mailchimp.shop.keep_rendered = True  # the benchmarks measure syncbot, not this
    audience = generate_audience(sandbox.mailchimp, members=args.members,
                                 campaigns=args.campaigns, now=datetime.now(UTC), seed=args.seed)
    if args.orders:
        generate_orders(sandbox.mailchimp, audience, now=datetime.now(UTC), orders=args.orders,
                        seed=args.seed)
    account = sandbox.google.service_account()
    Path(args.key_file).write_text(json.dumps(account), "utf-8")
    sandbox.sheets.create(args.spreadsheet_id, editors=(account["client_email"],))
    server = serve(sandbox, args.port, args.hold)
    print(json.dumps({"port": server.server_address[1], "api_key": sandbox.mailchimp.api_key,
                      "list_id": audience.list_id, "spreadsheet_id": args.spreadsheet_id,
                      "key_file": str(Path(args.key_file).resolve())}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
