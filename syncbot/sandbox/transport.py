"""Serving the emulators to the real client libraries inside this process.

Two ways, same behaviour (both go through ``Host.serve``):
- ``SandboxAdapter``: a ``requests`` transport adapter mounted on a
  ``requests.Session``; used by ``syncbot demo``, whose clients get that
  session exactly as a real sync gets a pooled one.
- ``register_responses``: ``responses`` callbacks, for tests that also want
  to see every call the libraries make (``responses`` patches all sessions).
"""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPSConnection
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from syncbot.sandbox.http import FaultReset, FaultTimeout, FaultUnreachable, Host, Request

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _host_for(hosts: Mapping[str, Host], url: str) -> Host | None:
    hostname = urlsplit(url).hostname or ""
    for pattern, host in hosts.items():
        if re.fullmatch(pattern, hostname):
            return host
    return None


def _serve(hosts: Mapping[str, Host], prepared: requests.PreparedRequest) -> Any:
    """The emulator's answer to ``prepared``, or the requests exception a real network would raise."""
    host = _host_for(hosts, prepared.url or "")
    if host is None:
        raise requests.exceptions.ConnectionError(
            f"sandbox: no emulated host for {urlsplit(prepared.url or '').hostname}",
            request=prepared)
    body = prepared.body
    if body is not None and not isinstance(body, bytes | str):
        raise TypeError("sandbox: streamed request bodies are not emulated; send bytes or text")
    headers = [(k, v.decode("latin-1") if isinstance(v, bytes) else v)
               for k, v in prepared.headers.items()]
    request = Request.from_url(prepared.method or "GET", prepared.url or "", headers, body)
    try:
        return host.serve(request)
    except FaultUnreachable as fault:
        raise _unreachable(fault.kind, prepared) from None
    except FaultTimeout:
        raise requests.exceptions.ReadTimeout("sandbox: read timed out", request=prepared) from None
    except FaultReset:
        raise requests.exceptions.ConnectionError(
            ConnectionResetError(104, "Connection reset by peer"), request=prepared) from None


def _unreachable(kind: str, prepared: requests.PreparedRequest) -> requests.ConnectionError:
    """The exception ``requests`` raises when a host's name does not resolve or it refuses the
    connection, built the way requests and urllib3 build it."""
    parts = urlsplit(prepared.url or "")
    hostname = parts.hostname or ""
    conn = HTTPSConnection(hostname, parts.port or 443)
    if kind == "name":
        reason: NewConnectionError = NameResolutionError(
            hostname, conn, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    else:
        reason = NewConnectionError(
            conn, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.exceptions.ConnectionError(MaxRetryError(None, parts.path or "/", reason),  # type: ignore[arg-type]
                                               request=prepared)


class SandboxAdapter(BaseAdapter):
    """A ``requests`` adapter that answers from the emulators instead of the network."""

    def __init__(self, hosts: Mapping[str, Host]) -> None:
        super().__init__()
        self.hosts = dict(hosts)

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        answer = _serve(self.hosts, request)
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response.reason = http.client.responses.get(answer.status, "")
        response.url = request.url or ""
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def close(self) -> None:
        pass

    def __deepcopy__(self, memo: dict[int, Any]) -> SandboxAdapter:
        # google-auth deep-copies its transport for a background thread; the
        # copy must talk to the same emulators, not to a frozen copy of them.
        return self


def sandbox_session(hosts: Mapping[str, Host]) -> requests.Session:
    session = requests.Session()
    adapter = SandboxAdapter(hosts)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def register_responses(rsps: Any, hosts: Mapping[str, Host]) -> None:
    """Answer every request to an emulated host from the emulators (``rsps`` is a RequestsMock)."""

    def callback(prepared: requests.PreparedRequest) -> Any:
        answer = _serve(hosts, prepared)
        return answer.status, answer.headers, answer.body

    for pattern in hosts:
        url = re.compile(rf"https?://{pattern}(:\d+)?/.*")
        for method in _METHODS:
            rsps.add_callback(method, url, callback=callback, content_type=None)
