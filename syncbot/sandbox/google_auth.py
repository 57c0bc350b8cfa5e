"""Google's OAuth token endpoint for service accounts, as google-auth talks to it.

A service account is registered with its public key; a JWT-bearer grant
signed by the matching private key gets an access token, anything else gets
``invalid_grant``. The Sheets emulator asks this object whose token a request
carries. Also answers google-auth's background "allowedLocations" lookup.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from syncbot.sandbox.http import Emulator, Request, Response

TOKEN_URI = "https://oauth2.googleapis.com/token"


@cache
def _shared_key() -> rsa.RSAPrivateKey:
    # One key per process: generating RSA keys is the slow part of a fake account.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class GoogleAuthEmulator(Emulator):
    hostnames = (r"oauth2\.googleapis\.com", r"iamcredentials\.googleapis\.com")

    def __init__(self) -> None:
        self.accounts: dict[str, Any] = {}  # client_email -> public key
        self.tokens: dict[str, str] = {}  # access token -> client_email
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def service_account(self, client_email: str = "syncbot@sandbox-project.iam.gserviceaccount.com",
                        project_id: str = "sandbox-project") -> dict[str, str]:
        """Register an account and return the key file's contents (what Google lets you download)."""
        key = _shared_key()
        self.accounts[client_email] = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return {"type": "service_account", "project_id": project_id,
                "private_key_id": "sandbox-key-1", "private_key": pem,
                "client_email": client_email, "client_id": "100000000000000000001",
                "token_uri": TOKEN_URI}

    def issue_token(self, client_email: str) -> str:
        with self._lock:
            token = f"ya29.sandbox-{next(self._counter):06d}"
            self.tokens[token] = client_email
            return token

    def user_of(self, authorization: str) -> str | None:
        if not authorization.lower().startswith("bearer "):
            return None
        return self.tokens.get(authorization[7:].strip())

    def handle(self, request: Request) -> Response:
        if request.headers.get("host", "").startswith("iamcredentials"):
            return Response.json(200, {"encodedLocations": "0x0", "locations": []})
        if request.method != "POST" or not request.path.endswith("/token"):
            return Response.json(404, {"error": "not_found"})
        form = parse_qs(request.body.decode("utf-8"))
        email = self._verify(form.get("assertion", [""])[0]) \
            if form.get("grant_type") == ["urn:ietf:params:oauth:grant-type:jwt-bearer"] else None
        if email is None:
            return Response.json(400, {"error": "invalid_grant",
                                       "error_description": "Invalid JWT Signature."})
        return Response.json(200, {"access_token": self.issue_token(email), "expires_in": 3599,
                                   "token_type": "Bearer"})

    def _verify(self, assertion: str) -> str | None:
        try:
            header, payload, signature = assertion.split(".")
            claims = json.loads(_b64url(payload))
            public_key = self.accounts[claims["iss"]]
            public_key.verify(_b64url(signature), f"{header}.{payload}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, KeyError, InvalidSignature):
            return None
        return str(claims["iss"])
