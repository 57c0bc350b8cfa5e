"""In-memory emulators of the Mailchimp and Google Sheets HTTP APIs.

First-class code: the tests, the benchmarks and ``syncbot demo`` all run the
real client libraries against these. ``Sandbox`` bundles one account of each
with the network knobs (latency, faults, connection limit) and offers three
ways to reach them: ``session()`` (a mounted transport adapter),
``register(rsps)`` (``responses`` callbacks) and ``syncbot.sandbox.server``
(loopback HTTP in its own process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from syncbot.sandbox.chat import ChatEmulator
from syncbot.sandbox.google_auth import GoogleAuthEmulator
from syncbot.sandbox.http import Faults, Host
from syncbot.sandbox.mailchimp import MailchimpEmulator
from syncbot.sandbox.sheets import SheetsEmulator
from syncbot.sandbox.transport import register_responses, sandbox_session

MAILCHIMP_MAX_CONNECTIONS = 10


class Sandbox:
    """One emulated Mailchimp account, one Google project with Sheets, the team's chat (an
    incoming webhook), and their network."""

    def __init__(self, *, mailchimp_latency: float = 0.0, sheets_latency: float = 0.0,
                 mailchimp_faults: Faults | None = None, sheets_faults: Faults | None = None,
                 chat_faults: Faults | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 sheets_clock: Callable[[], float] = time.monotonic,
                 latency_on_top: bool = False) -> None:
        self.google = GoogleAuthEmulator()
        self.mailchimp = MailchimpEmulator()
        self.sheets = SheetsEmulator(auth=self.google, clock=sheets_clock)
        self.mailchimp_host = Host(self.mailchimp, latency=mailchimp_latency,
                                   faults=mailchimp_faults,
                                   max_connections=MAILCHIMP_MAX_CONNECTIONS, sleep=sleep,
                                   latency_on_top=latency_on_top)
        self.sheets_host = Host(self.sheets, latency=sheets_latency, faults=sheets_faults,
                                sleep=sleep, latency_on_top=latency_on_top)
        self.google_host = Host(self.google, sleep=sleep)
        self.chat = ChatEmulator()
        self.chat_host = Host(self.chat, faults=chat_faults, sleep=sleep)
        self.hosts: dict[str, Host] = {}
        for host in (self.mailchimp_host, self.sheets_host, self.google_host, self.chat_host):
            for pattern in host.emulator.hostnames:
                self.hosts[pattern] = host

    def session(self) -> requests.Session:
        """A ``requests.Session`` whose every request is answered by this sandbox."""
        return sandbox_session(self.hosts)

    def register(self, rsps: Any) -> None:
        """Route a ``responses.RequestsMock`` to this sandbox."""
        register_responses(rsps, self.hosts)


__all__ = ["Faults", "Host", "Sandbox", "MailchimpEmulator", "SheetsEmulator",
           "GoogleAuthEmulator", "ChatEmulator"]
