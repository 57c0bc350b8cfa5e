"""An emulated incoming webhook, the kind Slack, Google Chat and Microsoft Teams give a team:
a secret URL that takes ``POST {"text": …}`` and posts the text in a channel.

It answers as Slack's does: ``200 ok`` for a message, ``400 invalid_payload`` for a body
that is not JSON and ``400 no_text`` for one without text, ``404 no_service`` for a path
that is not the hook's. What it received is kept in ``messages``, for the demo and tests.
"""

from __future__ import annotations

import json
import secrets

from syncbot.sandbox.http import Emulator, Request, Response


def _text(status: int, body: str) -> Response:
    return Response(status, {"Content-Type": "text/plain; charset=utf-8"}, body.encode("utf-8"))


class ChatEmulator(Emulator):
    hostnames = (r"chat\.sandbox\.invalid",)

    def __init__(self) -> None:
        self.path = f"/hooks/{secrets.token_hex(4)}/{secrets.token_hex(12)}"
        self.messages: list[str] = []

    @property
    def url(self) -> str:
        """The hook's secret address."""
        return f"https://chat.sandbox.invalid{self.path}"

    def handle(self, request: Request) -> Response:
        if request.path != self.path or request.method != "POST":
            return _text(404, "no_service")
        try:
            body = request.json()
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _text(400, "invalid_payload")
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) \
                or not body["text"].strip():
            return _text(400, "no_text")
        self.messages.append(body["text"])
        return _text(200, "ok")

    def fault_response(self, kind: str) -> Response:
        return _text(int(kind), "service_unavailable" if kind != "429" else "rate_limited")
